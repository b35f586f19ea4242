/**
 * transcript.js — the transcript table: one row per event in row groups of
 * CHUNK, a backlog's groups given their rows when they come into view,
 * following the newest.
 */
import { CHUNK } from '../core/layout.js';
import { renderTranscriptRow } from '../core/markup.js';

/** A live session's transcript follows its newest row at most this often. */
const TRANSCRIPT_FOLLOW_MS = 100;

/** Live, new transcript rows are appended at most this often. */
const TRANSCRIPT_APPEND_MS = 250;

/** A row's note: what the kernel did, and how the class voted on the call, if it was asked. */
const rowNote = (m) => [m?.note, m?.votes].filter(Boolean).join('; ');

export class Transcript {
  /** The element's shared context: ui, record, layout, live, gen, and the controllers it wires. */
  c;
  rowsDrawn = 0;
  followingTranscript = true;
  transcriptMoved = 0;
  transcriptShown = true; // the transcript's box intersects the document's viewport
  rowsFilled = []; // row group k → true once it has its rows
  emptyGroups = false; // some row group is still left empty
  idleFill = 0;
  appendedAt = 0; // when rows were last appended
  appendTimer = 0; // brings the rows held back, live

  constructor(c) {
    this.c = c;
  }

  /** Listens to the transcript's scrolling, visibility, pointer and keys. */
  wire() {
    const ui = this.c.ui;
    new IntersectionObserver((entries) => {
      const shown = entries[entries.length - 1].isIntersecting;
      const was = this.transcriptShown;
      this.transcriptShown = shown;
      if (shown && !was) this.appendTranscript(true);
      if (shown && !was && this.followingTranscript && this.c.record?.state === 'running') ui.transcriptScroll.scrollTop = 1e9;
    }).observe(ui.transcriptScroll);
    ui.transcriptScroll.addEventListener('scroll', () => {
      const sc = ui.transcriptScroll;
      this.followingTranscript = sc.scrollTop + sc.clientHeight >= sc.scrollHeight - 40;
    }, { passive: true });
    ui.table.addEventListener('pointerover', (e) => {
      const tr = e.target.closest('tr[data-seq]');
      if (tr && !this.c.inspector.pinned) this.c.inspector.highlight([Number(tr.dataset.seq)]);
    });
    ui.table.addEventListener('click', (e) => {
      const tr = e.target.closest('tr[data-seq]');
      if (tr) this.c.inspector.activateRow(tr);
    });
    ui.table.addEventListener('keydown', (e) => this.onRowKey(e));
    ui.transcriptScroll.addEventListener('keydown', (e) => {
      if (e.target !== ui.transcriptScroll || e.key !== 'Enter') return;
      e.preventDefault();
      const hl = this.c.inspector.hl.find((el) => el.localName === 'tr');
      (hl ?? this.firstVisibleRow())?.focus();
    });
  }

  /**
   * Rows take focus from the keyboard: Enter in the transcript moves into
   * them, ↑ ↓ move between them, Enter or Space picks one, Escape leaves.
   */
  onRowKey(e) {
    const tr = e.target.closest?.('tr[data-seq]');
    if (!tr) return;
    const i = this.c.layout.pos.get(Number(tr.dataset.seq));
    let to = null;
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      this.c.inspector.activateRow(tr);
      return;
    } else if (e.key === 'ArrowDown') to = this.rowAt(i + 1);
    else if (e.key === 'ArrowUp') to = this.rowAt(i - 1);
    else if (e.key === 'Escape') to = this.c.ui.transcriptScroll;
    else return;
    e.preventDefault();
    to?.focus();
  }

  /** The transcript row of the event at index i, its row group given its rows if it had none. */
  rowAt(i) {
    const k = Math.floor(i / CHUNK);
    if (!this.rowsFilled[k]) this.fillRows(k);
    return this.c.ui.table.tBodies[k]?.rows[i % CHUNK] ?? null;
  }

  /**
   * The transcript row of the event at index i if its row group has its
   * rows, else null: a highlight of many events (a code line's 10,000
   * reads) would otherwise make every row of a long session at once.
   */
  drawnRowAt(i) {
    const k = Math.floor(i / CHUNK);
    return this.rowsFilled[k] ? (this.c.ui.table.tBodies[k]?.rows[i % CHUNK] ?? null) : null;
  }

  /**
   * Appends the new events' transcript rows, CHUNK rows a row group. A
   * backlog's row groups after the first are left empty (their room kept
   * by the style): fillRows gives them their rows when the group comes
   * into view (content-visibility tells), when a row is asked for, and in
   * idle time once the drawing is done. Creating the 10,000 rows of a long
   * saved session up front, even without their cells, was a quarter of
   * its drawing's time.
   */
  appendTranscript(now = false) {
    const events = this.c.record?.events ?? [];
    // Live, rows come in batches (laying out the transcript every frame was
    // most of a live frame's cost); a timer brings each batch, coming into
    // view or the end of the drawing all.
    if (!now && this.c.record?.state === 'running' && !this.c.painter.quiet) {
      const wait = this.appendedAt + TRANSCRIPT_APPEND_MS - performance.now();
      if (wait > 0) {
        this.appendTimer ||= setTimeout(() => { this.appendTimer = 0; this.appendTranscript(true); }, wait);
        return;
      }
    }
    clearTimeout(this.appendTimer);
    this.appendTimer = 0;
    this.appendedAt = performance.now();
    const table = this.c.ui.table;
    let i = this.rowsDrawn;
    const later = this.c.painter.quiet && this.c.painter.pending.length - this.c.painter.pendingAt + events.length - i > CHUNK;
    while (i < events.length) {
      const k = Math.floor(i / CHUNK);
      let body = table.tBodies[k];
      if (!body) {
        body = table.createTBody();
        body.setAttribute('role', 'rowgroup');
        body.addEventListener('contentvisibilityautostatechange', (e) => { if (!e.skipped) this.fillRows(k); });
        if (k === 0 || !later) this.rowsFilled[k] = true;
        else this.emptyGroups = true;
      }
      const end = Math.min(events.length, (k + 1) * CHUNK);
      if (this.rowsFilled[k] === true) body.insertAdjacentHTML('beforeend', this.rowsHTML(events, i, end));
      i = end;
    }
    this.rowsDrawn = events.length;
  }

  /** Removes every row; the transcript follows the newest again. */
  clear() {
    clearTimeout(this.appendTimer);
    this.appendTimer = 0;
    for (const tb of [...this.c.ui.table.tBodies]) tb.remove();
    this.rowsDrawn = 0;
    this.rowsFilled = [];
    this.emptyGroups = false;
    this.followingTranscript = true;
  }

  /** Once every event queued is drawn: fills the row groups left empty, in idle time. */
  fillWhenDrained() {
    if (!this.emptyGroups) return;
    this.emptyGroups = false;
    this.fillRowsWhenIdle();
  }

  /**
   * Follows the newest row while the transcript is on screen: scrolled to
   * its end it lays out and paints every new row, which is wasted off
   * screen; it jumps to the end when it comes into view. Live, it moves at
   * most every TRANSCRIPT_FOLLOW_MS: each move costs a layout and paint of
   * the rows in view.
   */
  follow(rec) {
    const now = performance.now();
    if (this.followingTranscript && this.transcriptShown && (rec.state !== 'running' || now - this.transcriptMoved >= TRANSCRIPT_FOLLOW_MS)) {
      this.transcriptMoved = now;
      this.c.ui.transcriptScroll.scrollTop = 1e9; // the browser clamps it to the end
    }
  }

  /** Gives row group k, left empty, its rows (highlighted if their events are). */
  fillRows(k) {
    if (this.rowsFilled[k]) return;
    const body = this.c.ui.table.tBodies[k];
    if (!body) return;
    this.rowsFilled[k] = true;
    const events = this.c.record?.events ?? [];
    body.insertAdjacentHTML('beforeend', this.rowsHTML(events, k * CHUNK, Math.min(this.rowsDrawn, (k + 1) * CHUNK)));
    this.c.inspector.rehighlightSoon();
  }

  /** The rows of events[from] to events[to - 1]. */
  rowsHTML(events, from, to) {
    let s = '';
    for (let i = from; i < to; i++) {
      const m = this.c.layout.marks[i];
      s += renderTranscriptRow(events[i], i ? Math.max(0, events[i].t_ns - events[i - 1].t_ns) : 0, rowNote(m), m);
    }
    return s;
  }

  /** Fills the row groups left empty, a few at a time in idle periods. */
  fillRowsWhenIdle() {
    if (this.idleFill) return;
    // Works on whatever is drawn when it runs (a later drawing's rows too).
    const idle = globalThis.requestIdleCallback ?? ((f) => setTimeout(() => f({ timeRemaining: () => 8 }), 16));
    const step = (deadline) => {
      this.idleFill = 0;
      const n = this.c.ui.table.tBodies.length;
      let k = 0;
      while (k < n && this.rowsFilled[k]) k++;
      // One group at least: a busy page's idle callbacks come by their
      // timeout, with no time remaining.
      if (k < n) {
        do this.fillRows(k++);
        while (k < n && deadline.timeRemaining() > 3);
      }
      while (k < n && this.rowsFilled[k]) k++;
      if (k < n) this.idleFill = idle(step, { timeout: 500 });
    };
    this.idleFill = idle(step, { timeout: 500 });
  }

  /** The first transcript row in view (reads layout: on a key press only). */
  firstVisibleRow() {
    const sc = this.c.ui.transcriptScroll;
    const top = sc.getBoundingClientRect().top;
    const bodies = this.c.ui.table.tBodies;
    for (let k = 0; k < bodies.length; k++) {
      const body = bodies[k];
      const r = body.getBoundingClientRect();
      if (r.bottom < top) continue;
      this.fillRows(k); // a group in view may not have its rows yet
      for (const row of body.rows) if (row.getBoundingClientRect().bottom > top + 30) return row;
    }
    return this.rowAt(0);
  }

  /** Scrolls the transcript (only) to show event seq's row. */
  scrollRowIntoView(seq) {
    const row = this.rowAt(this.c.layout.pos.get(seq));
    const sc = this.c.ui.transcriptScroll;
    if (!row || !this.c.ui.transcriptBox.open) return;
    const top = row.offsetTop - sc.clientHeight / 2;
    if (row.offsetTop < sc.scrollTop + 30 || row.offsetTop + row.offsetHeight > sc.scrollTop + sc.clientHeight) sc.scrollTop = top;
  }
}
