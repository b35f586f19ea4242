//# allFunctionsCalledOnLoad
/**
 * painter.js — draws the layout into the SVG, frame-budgeted: events queued by the
 * feed (or a load) are laid out and appended a slice at a time within a
 * frame's budget, a backlog in tasks between frames; chunks of rows far
 * from the viewport are drawn only when they come near (their long arrows,
 * which may cross the viewport, as one path a chunk until then); open bars
 * grow live.
 */
import { G, CHUNK, fitPxPerNs, Layout } from '../core/layout.js';
import { actorClass, arrowPath, nameBox, renderLifeline, renderSegment, SVG_NS, renderMark, renderArrow, renderBar, barHeight, renderGutter, renderPending, renderCallout } from '../core/markup.js';
import { fitGeometry, geometryWidth } from '../core/place.js';
import { cleanEvent } from '../core/record.js';
import { beginLabel, plural, burstKey } from '../core/words.js';
import { Follow } from '../core/follow.js';

/**
 * The element draws events SLICE at a time, and stops for the frame after
 * FRAME_BUDGET_MS of work; a backlog (a saved session, a live one's
 * history) goes on in tasks of BACKLOG_BUDGET_MS between frames.
 */
const SLICE = 32;

/**
 * Until the first screen of a long backlog (a saved session) is full,
 * slices are of FIRST_SLICE events: the first screen shows once the rows
 * fill the viewport, which 32 at a time overshot (cold code lays out the
 * first events at about half a millisecond each). A short one is drawn
 * whole at once, as before.
 */
const FIRST_SLICE = 8;
const FRAME_BUDGET_MS = 8;
const BACKLOG_BUDGET_MS = 45;

/**
 * The SVG root's height while it draws anything: small and fixed, since resizing
 * the root lays out all its text again (see sizeSVG); 0 would draw nothing.
 */
const SVG_ROOT_HEIGHT = 1;

/** A live open bar's "blocked 120 ms" changes at most this often. */
const OPEN_LABEL_MS = 100;

export class Painter {
  /** The element's shared context: ui, record, layout, live, gen, and the controllers it wires. */
  c;
  pending = [];
  pendingActors = null; // the server's latest list of actors, in its order
  pendingFinal = null;
  quiet = false; // the pending events are history: summarise, don't announce
  frame = 0;
  timer = 0;
  drawn = null;
  openLines = new Map();
  followState = new Follow(40); // whether the view follows the newest call
  ghostKey = '';
  calloutKey = '';
  pendingAt = 0; // pending[pendingAt…] are still to draw
  uncheckedTo = 0; // pending[…uncheckedTo) are a record's events, cleaned as they are drawn
  task = false; // a continue task is queued
  channel = null;
  firstScreen = false; // the first screen of the drawing begun last is still to announce
  decorated = []; // chunk k → true once its marks, arrows and Δt labels are drawn, whole
  chunkItems = { arrows: [], gutter: [] }; // chunk k → indices of its arrows, Δt labels
  bundles = []; // chunk k → its bundle paths ({plain, inferred}) while it is not drawn
  bundleHl = -1; // the seq whose bundled arrows are drawn highlighted, or -1
  openBars = new Map(); // bar → its rect, while the call is open
  barFrame = 0;
  barLabelAt = 0; // when the open bars' labels were last written
  clock = { t: 0, at: 0 }; // the newest event's t_ns, and performance.now() when it was drawn
  near = null; // [first, last] chunk whose labels show
  scrollTop = 0;
  viewHeight = 800;
  canvas = { w: -1, h: -1 }; // the drawing's size
  widthShown = 0; // the diagram width the code pane leaves room for

  constructor(c) {
    this.c = c;
  }

  /** Whether the view follows the newest call: the reader has not moved up since it was at the end. */
  get following() {
    return this.followState.following;
  }

  /** Listens to the follow button and the viewport's scrolling and size. */
  wire() {
    const ui = this.c.ui;
    ui.follow.addEventListener('click', () => {
      this.followState.reset();
      ui.viewport.scrollTop = this.c.layout.height;
      this.c.updateInfo();
    });
    ui.viewport.addEventListener('scroll', () => {
      const vp = ui.viewport;
      this.scrollTop = vp.scrollTop;
      this.viewHeight = vp.clientHeight;
      this.followState.scrolled(vp.scrollTop, vp.clientHeight, vp.scrollHeight, performance.now());
      this.showNearLabels();
      vp.classList.toggle('scrolled', vp.scrollTop > G.nameTop + G.nameHeight);
      if (!this.c.inspector.pinned) this.c.inspector.hideDetails();
      this.c.updateInfo();
    }, { passive: true });
    this.followState.watch(ui.viewport);
    new ResizeObserver(([entry]) => {
      const lower = entry.contentRect.height < this.viewHeight;
      this.viewHeight = entry.contentRect.height;
      // Made lower while following (a question came above): the newest call back in view.
      if (lower && this.followState.scrollsToEnd && this.c.record?.state === 'running') ui.viewport.scrollTop = this.c.layout.height + this.extra();
      this.showNearLabels();
    }).observe(ui.viewport);
    // A bundle under the pointer is drawn one by one: its arrows then take
    // the pointer (details, highlight) as every drawn arrow does.
    ui.bundles.addEventListener('pointerover', (e) => {
      const k = Number(e.target.dataset?.chunk);
      if (Number.isInteger(k)) this.decorate(k);
    });
    // Following the newest call: the scroll is made once the browser has
    // laid out the rows just drawn (a ResizeObserver runs after layout),
    // not in the frame's script, where writing scrollTop made the browser
    // lay out the whole page at once and then again before painting.
    new ResizeObserver(() => {
      if (!this.followWanted) return;
      this.followWanted = false;
      ui.viewport.scrollTop = this.c.layout.height + this.extra();
    }).observe(ui.canvas);
  }

  /** The session ended: calls still open never returned in the record, and their bars say so. */
  endOpenBars() {
    this.barLabelAt = 0;
    this.growOpenBars();
  }

  /** Finishes the drawing in state (with error) once every event queued is drawn, in a frame. */
  finishLater(state, error) {
    this.pendingFinal = { state, error };
    this.schedule();
  }

  /** Takes the server's order of lifelines (actors) in the next frame. */
  takeActorsLater(actors) {
    this.pendingActors = actors;
    this.schedule();
  }

  /**
   * Queues events for the next frame. counted says next already counts
   * them; unchecked, that they are a record's events in seq order, still
   * to be cleaned (recordHead): each is as it is drawn.
   */
  enqueue(events, quiet = false, counted = false, unchecked = false) {
    if (!events.length) return;
    if (this.pendingAt >= this.pending.length) this.quiet = quiet;
    for (const ev of events) this.pending.push(ev);
    if (unchecked) this.uncheckedTo = this.pending.length;
    if (!counted) this.c.feed.skipTo(events[events.length - 1].seq + 1);
    this.schedule();
  }

  /** Flushes on the next animation frame, or soon if frames are not coming (hidden tab). */
  schedule() {
    if (this.frame) return;
    const run = () => this.flush();
    this.frame = requestAnimationFrame(run);
    this.timer = setTimeout(run, 250);
  }

  /**
   * Goes on drawing a backlog in a task of its own, right after this one:
   * the browser renders frames in between, so a big session fills in
   * while the page stays responsive.
   */
  continue() {
    if (this.task) return;
    this.task = true;
    if (!this.channel) {
      this.channel = new MessageChannel();
      this.channel.port1.onmessage = () => {
        this.task = false;
        if (this.pendingAt < this.pending.length || this.pendingFinal) this.flush();
      };
    }
    this.channel.port2.postMessage(0);
  }

  /**
   * Whether the drawing would finish with the state final now: only once
   * every event queued is drawn.
   */
  finishWhenDrawn(state, error) {
    if (this.pendingAt >= this.pending.length) this.c.finish(state, error);
    else this.pendingFinal = { state, error }; // the drawing under way finishes it
  }

  /**
   * Adds pending events to the record, the layout, the drawing and the
   * transcript: as many as FRAME_BUDGET_MS of work allows, the rest in
   * the next task or frame. The state changes to done or failed only once
   * every event is drawn.
   */
  flush() {
    cancelAnimationFrame(this.frame);
    clearTimeout(this.timer);
    this.frame = 0;
    this.timer = 0;
    const rec = this.c.record;
    if (!rec) return;
    const t0 = performance.now();
    const reordered = this.takeActors(rec);
    const queue = this.pending;
    const from = this.pendingAt;
    // The first screen of a drawing first, within a frame's budget; then
    // a backlog in bigger tasks between frames.
    const budget = !this.firstScreen && queue.length - from > 4 * CHUNK ? BACKLOG_BUDGET_MS : FRAME_BUDGET_MS;
    const screen = this.scrollTop + this.viewHeight;
    const firstMark = this.c.layout.marks.length;
    const at = this.drawSlices(rec, from, reordered, () => performance.now() - t0 >= budget || (this.firstScreen && this.c.layout.height >= screen));
    if (at > from) this.clock = { t: queue[at - 1].t_ns ?? 0, at: performance.now() };
    const drained = at >= queue.length;
    if (drained) {
      this.pending = [];
      this.pendingAt = 0;
      this.uncheckedTo = 0;
    } else this.pendingAt = at;
    const events = at > from ? queue.slice(from, at) : [];
    rec.event_count = rec.events.length;
    if (this.c.stepper.afterEvents(events, drained)) this.render();
    this.c.code.syncCode();
    this.announce(rec, events, drained, firstMark);
    let shown = false;
    if (this.firstScreen && (drained || this.c.layout.height >= screen)) {
      // What the viewer sees is drawn; the rest fills in below, after the
      // browser has painted it.
      this.firstScreen = false;
      shown = true;
      performance.mark?.('seq-diagram:first-screen');
      this.c.emit('seq-diagram:first-screen', { id: rec.id ?? '', count: rec.events.length, total: rec.events.length + queue.length - at });
    }
    if (drained) {
      // Every row, before the state says done (live, rows come in batches).
      if (this.pendingFinal || rec.state !== 'running') this.c.transcript.appendTranscript(true);
      this.c.transcript.fillWhenDrained();
    }
    const final = drained ? this.pendingFinal : null;
    if (final) {
      this.pendingFinal = null;
      this.c.finish(final.state, final.error);
    }
    this.c.updateInfo();
    if (events.length) this.c.emit('seq-diagram:progress', { id: rec.id, count: rec.events.length, state: rec.state });
    if (!drained && shown) {
      const gen = this.c.gen;
      requestAnimationFrame(() => setTimeout(() => { if (gen === this.c.gen) this.continue(); }, 0));
      this.timer = setTimeout(() => this.flush(), 250); // frames may not come (a hidden tab)
    } else if (!drained) this.continue();
    // Follow the newest event, unless this was a finished session drawn at once
    // (read it from the top) or the viewer scrolled away.
    if (this.quiet && rec.state !== 'running') return;
    if (!events.length && !final) return;
    if (this.followState.scrollsToEnd) this.followWanted = true; // done after layout (wire)
    this.c.transcript.follow(rec);
  }

  /** Takes the server's order of lifelines, which wins over the order events showed them in; reports whether it changed. */
  takeActors(rec) {
    if (!this.pendingActors) return false;
    const order = [...new Set([...this.pendingActors, ...rec.actors])];
    const reordered = rec.actors.some((a, i) => order[i] !== a);
    rec.actors = order;
    for (const name of order) this.c.layout.actor(name);
    this.pendingActors = null;
    return reordered;
  }

  /**
   * Adds the pending events from index from to the record, the layout,
   * the drawing and the transcript, in slices of SLICE events, until
   * spent() says the budget is; returns the index of the first event left.
   */
  drawSlices(rec, from, reordered, spent) {
    const queue = this.pending;
    let L = this.c.layout;
    let at = from;
    if (reordered || L.needsRelayout || L.scale !== this.c.el.scale) {
      this.redraw();
      L = this.c.layout;
    }
    while (at < queue.length) {
      const slice = this.firstScreen && queue.length - at > 4 * CHUNK ? FIRST_SLICE : SLICE;
      const end = Math.min(queue.length, at + slice);
      for (; at < end; at++) {
        const ev = at < this.uncheckedTo ? cleanEvent(queue[at]) : queue[at];
        queue[at] = ev;
        rec.events.push(ev);
        if (ev.actor && !rec.actors.includes(ev.actor)) rec.actors.push(ev.actor);
        L.add(ev);
      }
      if (L.needsRelayout || L.scale !== this.c.el.scale) {
        this.redraw();
        L = this.c.layout;
      } else this.render();
      this.c.transcript.appendTranscript();
      if (spent()) break;
    }
    if (at === from) this.render(); // nothing new: the ghost or the actors may have changed
    return at;
  }

  /** Tells screen readers about the events just drawn: each call, or a summary of a history. */
  announce(rec, events, drained, firstMark) {
    if (events.length && !this.quiet) {
      const marks = this.c.layout.marks;
      for (let i = Math.min(firstMark, marks.length); i < marks.length; i++) {
        if (marks[i].kind !== 'segment') this.c.announcer.say(marks[i].sentence, burstKey(marks[i]));
      }
    } else if (drained && this.quiet && rec.events.length && (events.length || this.pendingFinal)) {
      this.c.announcer.say(`Showing ${plural(rec.events.length, 'event')} of ${rec.scenario || 'the'} session`);
    }
  }

  /** Starts drawing a session afresh: nothing queued, its first screen still to show. */
  begin() {
    this.pending = [];
    this.pendingAt = 0;
    this.pendingActors = null;
    this.pendingFinal = null;
    this.uncheckedTo = 0;
    this.firstScreen = true;
  }

  /** Empties the drawing's layers. */
  clearLayers() {
    const ui = this.c.ui;
    for (const g of [ui.gutter, ui.lifelines, ui.bars, ui.bundles, ui.bundleHl, ui.msgs, ui.events, ui.heads, ui.noteLayer, ui.pendingLayer]) g.replaceChildren();
    this.ghostKey = '';
    this.calloutKey = '';
  }

  /** Forgets the drawing (after clearLayers and a new layout) and scrolls back to the top, following. */
  clear() {
    this.near = null;
    this.resetDrawing();
    this.scrollTop = 0;
    this.c.ui.viewport.scrollTop = 0;
    this.followState.reset();
  }

  /** Forgets what has been drawn, so that render draws the layout from the start. */
  resetDrawing() {
    this.drawn = { actors: 0, segments: 0, marks: 0, arrows: 0, bars: 0, closed: 0, gutter: 0, paired: 0, unlabeled: 0 };
    this.openLines.clear();
    this.openBars.clear();
    cancelAnimationFrame(this.barFrame);
    this.barFrame = 0;
    this.barLabelAt = 0;
    this.decorated = [];
    this.chunkItems = { arrows: [], gutter: [] };
    this.bundles = [];
    this.bundleHl = -1;
  }

  /**
   * Draws chunk k's marks, arrows and Δt labels, whole (texts, hit areas),
   * once: a chunk is drawn when it first comes near the viewport, or when
   * one of its marks is asked for (markAt). Until then its marks are not
   * in the DOM (they would be display: none) and its long arrows, which
   * may cross the viewport, are drawn as one path (bundle): a saved session
   * of 10,000 reads is 40,000 elements fewer, most of its drawing's time.
   * Reports whether it drew the chunk (false: drawn before).
   */
  decorate(k) {
    if (this.decorated[k]) return false;
    this.decorated[k] = true;
    const L = this.c.layout;
    const ui = this.c.ui;
    let s = '';
    for (let i = k * CHUNK, end = Math.min(this.drawn.marks, (k + 1) * CHUNK); i < end; i++) s += renderMark(L.marks[i]);
    if (s) this.chunk(ui.events, k).insertAdjacentHTML('beforeend', s);
    const arrows = this.chunkItems.arrows[k];
    if (arrows?.length) this.chunk(ui.msgs, k).insertAdjacentHTML('beforeend', arrows.map((i) => renderArrow(L.arrows[i])).join(''));
    const bundle = this.bundles[k];
    if (bundle) {
      bundle.plain?.remove();
      bundle.inferred?.remove();
      this.bundles[k] = null;
    }
    const dts = this.chunkItems.gutter[k];
    if (dts?.length) this.chunk(ui.gutter, k).insertAdjacentHTML('beforeend', dts.map((i) => renderGutter(L.gutter[i])).join(''));
    // What is highlighted may have marks and arrows in the chunk.
    this.c.inspector.rehighlightSoon();
    return true;
  }

  /** Adds the long arrows of arrows[from…to), all of chunk k, which is not drawn yet, to its bundle. */
  bundle(k, arrows, from, to) {
    let plain = '';
    let inferred = '';
    for (let i = from; i < to; i++) {
      const a = arrows[i];
      if (!a.long) continue; // in its own rows, far from the viewport: not seen
      if (a.inferred) inferred += arrowPath(a);
      else plain += arrowPath(a);
    }
    if (!plain && !inferred) return;
    const b = (this.bundles[k] ??= { plain: null, inferred: null });
    for (const [key, d] of [['plain', plain], ['inferred', inferred]]) {
      if (!d) continue;
      if (b[key]) {
        b[key].setAttribute('d', b[key].getAttribute('d') + d);
        continue;
      }
      const path = document.createElementNS(SVG_NS, 'path');
      path.setAttribute('class', key === 'inferred' ? 'bundle inferred' : 'bundle');
      path.setAttribute('data-chunk', k);
      path.setAttribute('d', d);
      this.c.ui.bundles.append(path);
      b[key] = path;
    }
  }

  /**
   * Draws highlighted, over the bundles, the arrows of event seq that are
   * drawn only in a bundle (the inspector highlights the others); -1: none.
   */
  highlightBundled(seq) {
    let d = '';
    const arrows = this.c.layout.arrows;
    if (seq >= 0) {
      for (let i = 0; i < this.drawn.arrows; i++) {
        const a = arrows[i];
        if ((a.sendSeq === seq || a.recvSeq === seq) && a.long && !this.decorated[a.chunk]) d += arrowPath(a);
      }
    }
    if (!d && this.bundleHl < 0) return;
    this.bundleHl = d ? seq : -1;
    this.c.ui.bundleHl.innerHTML = d ? `<path class="bundle" d="${d}"></path>` : '';
  }

  /** Draws every chunk (for exports, which show every mark and label). */
  decorateAll() {
    const n = Math.max(this.c.ui.events.children.length, this.c.ui.msgs.children.length, this.c.ui.gutter.children.length);
    let drawn = false;
    for (let k = 0; k < n; k++) drawn = this.decorate(k) || drawn;
    if (drawn) this.c.inspector.rehighlight(); // now, before the export copies the drawing
  }

  /** Lays every event out afresh (the scale changed) and draws it. */
  redraw() {
    const rec = this.c.record;
    const ui = this.c.ui;
    // A mark with the keyboard's focus is drawn anew: the focus goes to
    // its new mark (removed with the old, it fell to the page's body).
    const focused = ui.root.activeElement?.closest?.('.event[data-seq]');
    this.clearLayers();
    this.near = null;
    this.resetDrawing();
    this.c.layout = this.newLayout(rec?.events ?? [], rec?.actors ?? []);
    for (const ev of rec?.events ?? []) this.c.layout.add(ev);
    this.render();
    this.c.inspector.rehighlight();
    if (focused) this.c.inspector.refocus(Number(focused.dataset.seq));
  }

  /** A new layout in the element's scale, fitting the width the zoom says, for events (to scale time) and actors. */
  newLayout(events = [], actors = []) {
    return new Layout({ scale: this.c.el.scale, pxPerNs: fitPxPerNs(events), actors, width: this.c.zoom?.layoutWidth() ?? 0 });
  }

  /** Appends what the layout holds that is not drawn yet; writes only, no layout reads. */
  render() {
    const L = this.c.layout;
    const d = this.drawn;
    const ui = this.c.ui;
    // Appends the new items of a chunked layer, a run of one chunk at a
    // time, to the chunks drawn (decorate draws the others when they come
    // near; meanwhile their long arrows go in a bundle).
    const append = (layer, items, key, render) => {
      let i = d[key];
      const index = this.chunkItems[key];
      while (i < items.length) {
        const k = items[i].chunk;
        const start = i;
        while (i < items.length && items[i].chunk === k) i++;
        if (index) {
          const list = (index[k] ??= []);
          for (let j = start; j < i; j++) list.push(j);
        }
        const group = this.chunk(layer, k);
        if (this.decorated[k] === true) {
          let s = '';
          for (let j = start; j < i; j++) s += render(items[j]);
          if (s) group.insertAdjacentHTML('beforeend', s);
        } else if (key === 'arrows') this.bundle(k, items, start, i);
      }
      d[key] = items.length;
    };
    if (!d.actors && L.actors.length) requestAnimationFrame(() => this.centerLifelines());
    for (; d.actors < L.actors.length; d.actors++) {
      const a = L.actors[d.actors];
      ui.lifelines.insertAdjacentHTML('beforeend', renderLifeline(a, L.spacing));
      const head = document.createElement('span');
      head.className = `actor-head ${actorClass(a.name)}`;
      // The lifeline's own name box, width and cut name alike: no wider
      // than the room between two lifelines (they overlapped on a phone),
      // whole in its tooltip.
      const box = nameBox(a, L.spacing);
      head.textContent = box.text;
      head.style.left = `${a.x}px`;
      head.style.width = `${box.w}px`;
      head.title = a.name;
      ui.heads.append(head);
    }
    const bottom = L.bottom + this.extra();
    for (const [seg, line] of this.openLines) {
      line.setAttribute('y2', seg.y2 ?? bottom);
      if (seg.y2 != null) this.openLines.delete(seg);
    }
    for (; d.segments < L.segments.length; d.segments++) {
      const seg = L.segments[d.segments];
      const group = ui.lifelines.children[seg.index];
      group.insertAdjacentHTML('beforeend', renderSegment(seg, bottom));
      if (seg.y2 == null) this.openLines.set(seg, group.lastElementChild);
    }
    const marksBefore = d.marks;
    append(ui.gutter, L.gutter, 'gutter', renderGutter);
    append(ui.msgs, L.arrows, 'arrows', renderArrow);
    append(ui.events, L.marks, 'marks', renderMark);
    this.renderBars(bottom);
    this.unlabel();
    for (; d.paired < L.paired.length; d.paired++) {
      const i = L.pos.get(L.paired[d.paired]);
      if (i < marksBefore && L.marks[i].paired) this.drawnMarkAt(i)?.setAttribute('data-paired', '');
    }
    this.sizeSVG();
    this.showNearLabels(true);
    this.drawPending();
    this.drawCallout();
  }

  /** Takes away the drawn labels of arrows that a later arrow's shaft crosses (Layout.unlabeled). */
  unlabel() {
    const L = this.c.layout;
    const d = this.drawn;
    for (; d.unlabeled < L.unlabeled.length; d.unlabeled++) {
      const i = L.unlabeled[d.unlabeled];
      const k = L.arrows[i]?.chunk;
      const j = this.chunkItems.arrows[k]?.indexOf(i) ?? -1;
      // Drawn already: its text goes; not yet: it is drawn without.
      this.c.ui.msgs.children[k]?.children[j]?.querySelector('.label')?.remove();
      // A whole write's mark then says what the write did itself.
      const m = L.arrows[i]?.whole ? L.pos.get(L.arrows[i].sendSeq) : undefined;
      if (m < d.marks) this.drawnMarkAt(m)?.removeAttribute('data-paired');
    }
  }

  /**
   * Appends the new bars and closes the open ones whose end came: the bar
   * then spans begin to end, and the begin's label says how long it was
   * blocked. Open bars are kept to grow in the painter's frames.
   */
  renderBars(bottom) {
    const L = this.c.layout;
    const d = this.drawn;
    const ui = this.c.ui;
    if (d.bars < L.bars.length) {
      const start = ui.bars.children.length;
      ui.bars.insertAdjacentHTML('beforeend', L.bars.slice(d.bars).map((b) => renderBar(b, bottom)).join(''));
      for (let i = d.bars; i < L.bars.length; i++) {
        if (L.bars[i].open) this.openBars.set(L.bars[i], ui.bars.children[start + i - d.bars]);
      }
      d.bars = L.bars.length;
    }
    for (; d.closed < L.closed.length; d.closed++) {
      const bar = L.closed[d.closed];
      const rect = this.openBars.get(bar);
      this.openBars.delete(bar);
      if (rect) {
        rect.setAttribute('height', barHeight(bar, bottom));
        rect.removeAttribute('data-open');
        rect.setAttribute('data-end-seq', bar.endSeq);
        rect.classList.remove('open');
      }
      this.relabel(bar.seq);
    }
    if (this.openBars.size) this.growOpenBars();
  }

  /** Writes the label the layout holds for event seq's mark into its drawn text, if drawn. */
  relabel(seq) {
    const i = this.c.layout.pos.get(seq);
    const text = this.drawnMarkAt(i)?.querySelector('.label');
    const label = this.c.layout.marks[i]?.label;
    if (text && label != null && text.textContent !== label) text.textContent = label;
  }

  /**
   * The session's time now, in ns, estimated from the newest event drawn
   * and the time since; for a live session also from its start on the
   * wall clock (a viewer who joins while a call blocks sees how long it
   * has blocked), when that is later and not absurdly so.
   */
  sessionNow() {
    let now = this.clock.t + (performance.now() - this.clock.at) * 1e6;
    const rec = this.c.record;
    const started = this.c.live && rec?.state === 'running' ? Date.parse(String(rec.started_at ?? '').replace(/(\.\d{3})\d+/, '$1')) : NaN;
    if (Number.isFinite(started)) {
      const wall = (Date.now() - started) * 1e6;
      if (wall > now && wall - now < 60e9) now = wall;
    }
    return now;
  }

  /**
   * Grows the open bars to where the newest row is (and, in the
   * proportional scale, to where time has got to), and writes "read…
   * blocked 120 ms" into their begins' labels: one rect and one text per
   * open call, in animation frames, while the session runs.
   */
  growOpenBars() {
    if (this.barFrame || !this.openBars.size) return;
    this.barFrame = requestAnimationFrame(() => {
      this.barFrame = 0;
      const rec = this.c.record;
      if (!this.openBars.size || !rec) return;
      const L = this.c.layout;
      const running = rec.state === 'running';
      const now = running ? this.sessionNow() : L.rows[L.rows.length - 1]?.t ?? 0;
      const bottom = L.openBottom(now);
      const relabel = performance.now() - this.barLabelAt >= OPEN_LABEL_MS;
      if (relabel) this.barLabelAt = performance.now();
      for (const [bar, rect] of this.openBars) {
        const h = String(Math.round(barHeight(bar, bottom) * 10) / 10);
        if (rect.getAttribute('height') !== h) rect.setAttribute('height', h);
        if (!relabel) continue;
        const mark = L.marks[L.pos.get(bar.seq)];
        const ev = rec.events[L.pos.get(bar.seq)];
        if (!mark || !ev) continue;
        L.fitLabel(mark, running ? beginLabel(ev, Math.max(0, now - bar.t)) : `${beginLabel(ev, Math.max(0, now - bar.t))}, no end recorded`);
        this.relabel(bar.seq);
      }
      if (running) this.growOpenBars();
    });
  }

  /**
   * On a viewport narrower than the diagram (a phone), scrolls it across
   * to show the lifelines and what passes between them rather than the
   * gutter and the outer labels. Once a drawing: one layout read.
   */
  centerLifelines() {
    const vp = this.c.ui.viewport;
    const actors = this.c.layout.actors;
    if (!actors.length || vp.scrollLeft > 0) return;
    const width = vp.clientWidth;
    const first = actors[0].x;
    const last = actors[actors.length - 1].x;
    // Unscrolled, the lifelines show (and the Δt gutter with them): leave it.
    if (!width || last + G.r + 20 <= width) return;
    // The lifelines in the middle when they fit, else from the first one on.
    const left = last - first + 2 * G.r + 40 <= width ? (first + last) / 2 - width / 2 : first - 40;
    vp.scrollLeft = Math.max(0, left);
  }

  /** The chunk group k of a layer, made (with any before it) if new. */
  chunk(layer, k) {
    while (layer.children.length <= k) {
      const g = document.createElementNS(SVG_NS, 'g');
      g.setAttribute('class', 'chunk');
      layer.append(g);
    }
    return layer.children[k];
  }

  /** The mark of the event at index i, its chunk drawn if it was not; null if there is none. */
  markAt(i) {
    if (!(i >= 0 && i < this.drawn.marks)) return null;
    this.decorate(Math.floor(i / CHUNK));
    return this.drawnMarkAt(i);
  }

  /** The mark of the event at index i if drawn, else null. */
  drawnMarkAt(i) {
    return this.c.ui.events.children[Math.floor(i / CHUNK)]?.children[i % CHUNK] ?? null;
  }

  /**
   * Shows the labels of the chunks in and next to the viewport, hides the
   * others'. near is null when the layers were emptied. Uses the scroll position the scroll handler last read, or the
   * bottom while following: no layout reads.
   */
  showNearLabels(force = false) {
    const L = this.c.layout;
    const rows = L.rows;
    if (!rows.length) return;
    const z = this.c.zoom?.z ?? 1;
    const view = this.viewHeight / z;
    const top = this.following && this.c.record?.state === 'running' ? Math.max(0, L.height - view) : this.scrollTop / z;
    const rowAt = (y) => {
      let lo = 0;
      let hi = rows.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (rows[mid].y < y) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    };
    const first = Math.max(0, Math.floor(rowAt(top) / CHUNK) - 1);
    const last = Math.floor(rowAt(top + view) / CHUNK) + 1;
    // force: chunks may have been added in the range since it was shown.
    if (!force && this.near && this.near[0] === first && this.near[1] === last) return;
    const ui = this.c.ui;
    const chunks = Math.max(ui.events.children.length, ui.msgs.children.length, ui.gutter.children.length);
    for (let k = first; k <= last && k < chunks; k++) this.decorate(k);
    // Only the chunks that leave or enter the range change class: toggling
    // a chunk off and on again would restyle (and relayout) all its labels.
    const [was0, was1] = this.near ?? [0, -1];
    for (const layer of [ui.events, ui.msgs, ui.gutter]) {
      const groups = layer.children;
      for (let k = was0; k <= was1 && k < groups.length; k++) if (k < first || k > last) groups[k].classList.remove('near');
      for (let k = first; k <= last && k < groups.length; k++) if (!groups[k].classList.contains('near')) groups[k].classList.add('near');
    }
    this.near = [first, last];
  }

  /**
   * Sizes the drawing (and the sticky names) to the layout. Any change to
   * the SVG root's size makes Chromium lay out every text in it again (SVG
   * text counts as sized relative to the viewport: 80–110 ms with 10,000
   * elements), so the root keeps one small height and shows what lies
   * below it (overflow: visible); the drawing's height is its background's
   * and its clipping box's, a div, which follow the layout row by row. Its
   * width changes with the lifelines and the fit only. Attributes are
   * written only when they change.
   */
  sizeSVG() {
    const { width, height } = this.c.layout;
    const w = this.c.layout.actors.length ? width : 0;
    const h = this.c.layout.actors.length ? height + this.extra() : 0;
    const ui = this.c.ui;
    if (w !== this.canvas.w) {
      this.canvas.w = w;
      ui.svg.setAttribute('width', w);
      ui.bg.setAttribute('width', w);
      ui.heads.style.width = `${w}px`;
      ui.canvas.style.width = `${w}px`;
    }
    if (h !== this.canvas.h) {
      if (h > 0 !== this.canvas.h > 0) ui.svg.setAttribute('height', h ? SVG_ROOT_HEIGHT : 0);
      this.canvas.h = h;
      ui.bg.setAttribute('height', h);
      ui.canvas.style.height = `${h}px`;
    }
    ui.svg.classList.toggle('phone', this.c.layout.geo.phone);
    // The code pane takes the room the widest drawing would leave: not the
    // fitted one's, which follows the room the code pane leaves.
    const n = this.c.layout.actors.length;
    const natural = n ? geometryWidth(fitGeometry(0, n), n) : 0;
    if (natural && natural !== this.widthShown) {
      this.widthShown = natural;
      this.c.ui.split.style.setProperty('--seq-diagram-width', `${natural}px`);
    }
  }

  /** Room below the last row for the pending call's ghost. */
  extra() {
    return this.c.stepper.stepPending ? G.row : 0;
  }

  /** Draws the pending call as a ghost mark on its lifeline, a row below the last. */
  drawPending() {
    const p = this.c.stepper.stepPending;
    const L = this.c.layout;
    const layer = this.c.ui.pendingLayer;
    const actor = p ? L.actors.find((a) => a.name === p.actor) : null;
    if (!actor) {
      if (this.ghostKey) layer.replaceChildren();
      this.ghostKey = '';
      return;
    }
    const last = L.rows[L.rows.length - 1];
    const y = last ? last.y + G.row : G.top + G.row / 2;
    const key = `${actor.x} ${y} ${p.kind} ${p.fd} ${p.src} ${p.line} ${Boolean(p.question)}`;
    if (key === this.ghostKey) return;
    this.ghostKey = key;
    layer.innerHTML = renderPending(p, { x: actor.x, y, side: actor.side, max: Math.floor((actor.room - 2) / L.geo.charW) });
  }

  /** Draws the note of the event picked under its mark, or none. */
  drawCallout() {
    const L = this.c.layout;
    const seq = this.c.inspector.selectedSeq;
    const m = seq == null ? null : L.marks[L.pos.get(seq)];
    const key = m?.note ? `${m.seq} ${m.x} ${m.y} ${L.width}` : '';
    if (key === this.calloutKey) return;
    this.calloutKey = key;
    this.c.ui.noteLayer.innerHTML = key ? renderCallout(m, L.width) : '';
  }
}
