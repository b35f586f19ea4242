//# allFunctionsCalledOnLoad
/**
 * feed.js — follows a live session over its WebSocket from= the next seq
 * wanted, reconnecting with backoff, until the final state.
 */
import { fetchJSON } from '../core/api.js';
import { asRecord, cleanEvents, cleanPending, stringList } from '../core/record.js';

/**
 * The feed asks the server for at most one message this often (batch_ms):
 * the page draws once a frame, and each message costs it a task.
 */
const BATCH_MS = 16;

export class Feed {
  /** The element's shared context: ui, record, layout, live, gen, and the controllers it wires. */
  c;
  feed = null; // {close()} of the live WebSocket feed
  next = 0; // the next seq wanted from the server
  gap = false; // the feed skipped a seq: reconnect from next

  constructor(c) {
    this.c = c;
  }

  /** Follows the record's session over a WebSocket from next, reconnecting with backoff. */
  connect(gen) {
    const id = this.c.record.id;
    let attempt = 0;
    let timer = 0;
    let ws = null;
    let ended = false;
    const feed = {
      close: () => {
        end();
        clearTimeout(timer);
        ws?.close(1000);
      },
    };
    this.feed = feed;
    const retry = (fast) => {
      const delay = fast && attempt === 0 ? 100 : Math.min(10000, 400 * 2 ** attempt) * (0.75 + Math.random() / 2);
      attempt++;
      // Said from the second try on: a server back within a second (a
      // restart, a replica's handover) does not flash a warning.
      if (attempt >= 2) this.c.connection(true);
      timer = setTimeout(open, delay);
    };
    const end = () => {
      ended = true;
      this.c.connection(false);
    };
    const open = async () => {
      if (ended || gen !== this.c.gen) return;
      if (attempt >= 3) {
        // The socket keeps failing: ask what became of the session.
        const ending = await this.ending(id);
        if (ended || gen !== this.c.gen) return;
        if (ending) {
          end();
          this.c.painter.enqueue(ending.events.filter((ev) => ev.seq >= this.next));
          this.unsaved(ending.unsaved);
          this.c.painter.finishLater(ending.state, ending.error);
          return;
        }
      }
      const url = new URL(this.c.api(`/api/sessions/${encodeURIComponent(id)}/ws?from=${this.next}&batch_ms=${BATCH_MS}`), location.href);
      url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
      let sock;
      try {
        sock = ws = new WebSocket(url);
      } catch {
        retry(false);
        return;
      }
      sock.onmessage = (e) => {
        if (ended || ws !== sock) return;
        attempt = 0;
        this.c.connection(false); // the server answers: not an open that it then closes (a viewer limit's 1008)
        let msg;
        try {
          msg = JSON.parse(e.data);
        } catch {
          return;
        }
        if (this.receive(msg)) {
          end();
        } else if (this.gap) {
          this.gap = false;
          ws = null;
          sock.close(4000, 'gap');
          retry(true);
        }
      };
      sock.onclose = (e) => {
        if (ended || ws !== sock || gen !== this.c.gen) return;
        ws = null;
        retry(e.code === 1008 || e.code === 1001);
      };
    };
    open();
  }

  /**
   * How the session id ended, asked of the server when its socket keeps
   * failing: {state, error, events}, or null while it runs or the server
   * cannot be reached.
   */
  async ending(id) {
    try {
      const rec = asRecord(await fetchJSON(this.c.api(`/api/sessions/${encodeURIComponent(id)}`)));
      return rec.state === 'running' ? null : { state: rec.state ?? 'done', error: rec.error, events: rec.events, unsaved: rec.unsaved };
    } catch (err) {
      if (err.status !== 404) return null;
      const error = `Session ${id} is gone: the server no longer has it (it restarted before the session finished, or the session expired)`;
      return { state: 'failed', error, events: [] };
    }
  }

  /** Follows from the first event again (a session begun afresh). */
  restart() {
    this.next = 0;
  }

  /** Follows feed ({close()}, a replay's timer) instead of a WebSocket. */
  use(feed) {
    this.feed = feed;
  }

  /** Notes that the events before seq are had (a load or replay queued them): the feed goes on from there. */
  skipTo(seq) {
    this.next = Math.max(this.next, seq);
  }

  /** Takes one feed message; returns true when it was the final state. */
  receive(msg) {
    if (!msg || typeof msg !== 'object') return false;
    if (typeof msg.viewer === 'string') this.c.viewer = msg.viewer;
    if (Array.isArray(msg.actors)) {
      this.c.painter.takeActorsLater(stringList(msg.actors));
    }
    if (Array.isArray(msg.events)) {
      const fresh = [];
      for (const ev of cleanEvents(msg.events)) {
        if (ev.seq < this.next) continue;
        if (ev.seq > this.next) {
          this.gap = true;
          break;
        }
        fresh.push(ev);
        this.next++;
      }
      this.c.painter.enqueue(fresh, false, true);
    }
    if ('pending' in msg) {
      this.c.stepper.pendingLater(cleanPending(msg.pending));
      this.c.painter.schedule();
    }
    if (typeof msg.state === 'string' && msg.state && msg.state !== 'running') {
      this.unsaved(msg.unsaved);
      this.c.painter.finishLater(msg.state === 'failed' ? 'failed' : 'done', typeof msg.error === 'string' ? msg.error : '');
      return true;
    }
    return false;
  }

  /** Notes why the server did not save the session (its end says so), for the element to tell. */
  unsaved(why) {
    if (typeof why === 'string' && why && this.c.record) this.c.record.unsaved = why;
  }

  /** Stops following: closes the WebSocket (or the replay) and its retries. */
  closeFeed() {
    this.feed?.close();
    this.feed = null;
  }
}
