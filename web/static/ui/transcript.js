//# allFunctionsCalledOnLoad
/**
 * transcript.js — the transcript table: one row per event in row groups of
 * CHUNK, a backlog's groups given their rows when they come into view, a
 * live session's rows given their cells when they are shown, following the
 * newest.
 */
import { CHUNK } from '../core/layout.js';
import { renderTranscriptRow, renderTranscriptCells } from '../core/markup.js';
import { Follow } from '../core/follow.js';

/** A live session's transcript follows its newest row at most this often. */
const TRANSCRIPT_FOLLOW_MS = 100;

/** Live, new transcript rows are appended at most this often. */
const TRANSCRIPT_APPEND_MS = 250;

/**
 * The least height of a transcript row with its cells, in CSS pixels,
 * until the rows shown say theirs: a follow gives cells to as many of the
 * newest rows as the transcript's height holds of the shortest row shown
 * (a desktop row with a note is 50 px, one without 22 px, a phone's more).
 */
const ROW_MIN_PX = 16;

/** A session's end fills its bare rows at once up to this many; more, in idle time. */
const FILL_AT_END = 2 * CHUNK;

/**
 * The event of the row warmUp lays out: a write of a line, the commonest
 * row (a call, its fd, result, bytes, data and note cells).
 */
const SAMPLE_EVENT = { seq: 0, t_ns: 1000, actor: 'client', kind: 'send', fd: 3, ret: 6, want: 6, bytes: 6, data: 'hello\n', tcp_state: 'ESTABLISHED' };

/** A row's note: what the kernel did, and how the class voted on the call, if it was asked. */
const rowNote = (m) => [m?.note, m?.votes].filter(Boolean).join('; ');

export class Transcript {
  /** The element's shared context: ui, record, layout, live, gen, and the controllers it wires. */
  c;
  rowsDrawn = 0;
  followState = new Follow(2); // whether the transcript follows its newest row
  newestBody = null; // live, the row group rows are appended to
  retiring = null; // live, the group that was newest until the last batch
  transcriptMoved = 0;
  transcriptShown = true; // the transcript's box intersects the document's viewport
  rowsFilled = []; // row group k → true once it has its rows
  emptyGroups = false; // some row group is still left empty
  bareIn = []; // row group k → how many of its rows are bare (the row, no cells)
  viewHeight = 400; // the transcript's scroller's height (a ResizeObserver's)
  maxViewHeight = 0; // the height it grows to as rows come (its max-height), or 0
  rowPx = ROW_MIN_PX; // the height of the shortest row with cells the follow last showed
  fillFrame = 0; // gives cells to the bare rows the reader scrolled to
  idleFill = 0;
  appendedAt = 0; // when rows were last appended
  appendTimer = 0; // brings the rows held back, live, to the next frame
  appendFrame = 0; // appends the rows held back, in an animation frame
  followWanted = false; // the follow scrolls to the end once the rows are laid out
  afterLayout = null; // a ResizeObserver of the table: runs the follow's scroll after layout

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
      if (!shown || was) return;
      this.appendTranscript(true);
      if (this.followState.following && this.c.record?.state === 'running') {
        this.fillLast(this.rowsInView());
        ui.transcriptScroll.scrollTop = 1e9;
      } else this.fillInViewSoon();
    }).observe(ui.transcriptScroll);
    ui.transcriptScroll.addEventListener('scroll', () => {
      const sc = ui.transcriptScroll;
      if (!this.followState.scrolled(sc.scrollTop, sc.clientHeight, sc.scrollHeight, performance.now())) this.fillInViewSoon();
      else if (this.liveRows()) this.measureNewest(sc);
    }, { passive: true });
    this.followState.watch(ui.transcriptScroll);
    this.afterLayout = new ResizeObserver(() => {
      this.afterLayout.unobserve(ui.table); // once: follow observes again
      if (!this.followWanted) return;
      this.followWanted = false;
      if (this.followState.scrollsToEnd) ui.transcriptScroll.scrollTop = 1e9; // the browser clamps it to the end
    });
    new ResizeObserver(([entry]) => {
      this.viewHeight = entry.contentRect.height;
      // After layout: reading the style costs nothing here.
      this.maxViewHeight = parseFloat(getComputedStyle(ui.transcriptScroll).maxHeight) || 0;
      if (this.followState.following) this.fillLast(this.rowsInView());
      else this.fillInViewSoon(); // opened, or made taller
    }).observe(ui.transcriptScroll);
    ui.table.addEventListener('pointerover', (e) => {
      const tr = e.target.closest('tr[data-seq]');
      if (tr && !this.c.inspector.pinned) this.c.inspector.highlight([Number(tr.dataset.seq)]);
    });
    ui.table.addEventListener('click', (e) => {
      const tr = e.target.closest('tr[data-seq]');
      if (tr) this.c.inspector.activateRow(tr);
    });
    ui.table.addEventListener('keydown', (e) => this.onRowKey(e));
    this.warmUp();
    ui.transcriptScroll.addEventListener('keydown', (e) => {
      if (e.target !== ui.transcriptScroll || e.key !== 'Enter') return;
      e.preventDefault();
      const hl = this.c.inspector.hl.find((el) => el.localName === 'tr');
      (hl ? this.rowAt(this.c.layout.pos.get(Number(hl.dataset.seq))) : this.firstVisibleRow())?.focus(); // with its cells
    });
  }

  /**
   * Lays out a sample row once the page is idle after the element is made,
   * and takes it away before anything paints it: a page's first rows with
   * cells cost it 30–80 ms more than the next ones (their fonts looked up,
   * their styles matched for the first time), and a live session's first
   * batch of rows, 250 ms into the session, missed a frame in nearly every
   * cold page (docs/performance.md). Nothing if rows came first or the
   * transcript is not shown.
   */
  warmUp() {
    const idle = globalThis.requestIdleCallback ?? ((f) => setTimeout(f, 50));
    idle(() => {
      const table = this.c.ui.table;
      if (this.rowsDrawn || table.tBodies.length || !this.c.el.isConnected || !this.c.ui.transcriptBox.open) return;
      const body = table.createTBody();
      body.setAttribute('aria-hidden', 'true');
      body.style.visibility = 'hidden';
      body.innerHTML = renderTranscriptRow(SAMPLE_EVENT, 0, 'the kernel copied the bytes');
      void body.offsetHeight; // lays it out now, in idle time
      body.remove();
    }, { timeout: 1000 });
  }

  /**
   * Ctrl+F or ⌘F, the page's find: the rows held back by the live batch
   * timer are appended and every row gets its cells first, so the find
   * reaches all the events drawn (live rows come bare, a backlog's groups
   * empty, until they are shown or the drawing ends). The cost is making
   * the rows (groups out of view skip their layout); a live session's
   * rows that come after are bare again. Not for a transcript the find
   * cannot reach (not shown, or the element hidden); a closed one it can.
   */
  docKey(e) {
    if (e.defaultPrevented || e.shiftKey || e.altKey || e.ctrlKey === e.metaKey) return;
    if (e.key?.toLowerCase?.() !== 'f' && e.code !== 'KeyF') return; // by its place too, for other layouts
    if (!this.c.ui.transcriptBox.checkVisibility()) return;
    if (this.appendTimer || this.appendFrame) this.appendTranscript(true);
    const bodies = this.c.ui.table.tBodies.length;
    for (let k = 0; k < bodies; k++) this.fillRows(k);
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

  /** The transcript row of the event at index i, with its cells (its row group given its rows if it had none). */
  rowAt(i) {
    const k = Math.floor(i / CHUNK);
    if (!this.rowsFilled[k]) this.fillRows(k);
    const row = this.c.ui.table.tBodies[k]?.rows[i % CHUNK] ?? null;
    if (row && !row.firstChild) this.fillRow(row, i);
    return row;
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
   * its drawing's time. Live, rows come bare (the row, no cells): the
   * follow gives cells to the newest, which it shows, the reader's
   * scrolling to those scrolled to, and the session's end to the rest; a
   * batch of 125 rows with their cells took 35 to 80 ms to lay out on a
   * slow laptop, and the follow scrolls past most of them at once.
   */
  appendTranscript(now = false) {
    const events = this.c.record?.events ?? [];
    // Live, rows come in batches (laying out the transcript every frame was
    // most of a live frame's cost); a timer brings each batch, coming into
    // view or the end of the drawing all.
    if (!now && this.c.record?.state === 'running' && !this.c.painter.quiet) {
      const wait = this.appendedAt + TRANSCRIPT_APPEND_MS - performance.now();
      if (wait > 0) {
        // The batch is appended in a frame, with the drawing's new marks:
        // appended in a task between frames, its rows were laid out by the
        // next frame's first read of the layout (the viewport's scroll
        // event), and the frame's own changes laid out again after it.
        if (!this.appendTimer && !this.appendFrame) {
          this.appendTimer = setTimeout(() => {
            this.appendTimer = 0;
            this.appendFrame = requestAnimationFrame(() => { this.appendFrame = 0; this.appendTranscript(true); });
          }, wait);
        }
        return;
      }
    }
    this.cancelAppend();
    this.appendedAt = performance.now();
    const table = this.c.ui.table;
    // Live, the rows before the newest that the view holds come bare: the
    // last batch of a session that ended live too (the idle fill gives them
    // cells), else the session's last frame lays out a batch of rows.
    const live = this.c.record?.state === 'running' && !this.c.painter.quiet;
    const cellsFrom = live ? events.length - this.rowsInView() : 0;
    let i = this.rowsDrawn;
    const later = this.c.painter.quiet && this.c.painter.pending.length - this.c.painter.pendingAt + events.length - i > CHUNK;
    while (i < events.length) {
      const k = Math.floor(i / CHUNK);
      let body = table.tBodies[k];
      if (!body) {
        body = table.createTBody();
        body.setAttribute('role', 'rowgroup');
        // An empty group gets its rows as it comes into view; bare rows get
        // their cells from the follow and the reader's scrolling instead (the
        // newest group comes into view with a batch's bare rows).
        body.addEventListener('contentvisibilityautostatechange', (e) => { if (!e.skipped && !this.rowsFilled[k]) this.fillRows(k); });
        if (k === 0 || !later) this.rowsFilled[k] = true;
        else this.emptyGroups = true;
      }
      const end = Math.min(events.length, (k + 1) * CHUNK);
      if (this.rowsFilled[k] === true) {
        const from = Math.min(end, Math.max(i, cellsFrom));
        body.insertAdjacentHTML('beforeend', this.rowsHTML(events, i, from, false) + this.rowsHTML(events, from, end));
        this.bareIn[k] = (this.bareIn[k] ?? 0) + from - i;
      }
      i = end;
    }
    this.rowsDrawn = events.length;
    const last = table.tBodies[table.tBodies.length - 1] ?? null;
    // A group's content-visibility changed while it is in view lays out
    // all its rows again (Chromium rebuilds their layout objects): the
    // group that was newest keeps its class until the next batch, when the
    // follow has left it; once the session ends, both keep it (in view or
    // next to it, two groups at most).
    this.retiring?.classList.remove('newest');
    this.retiring = null;
    if (live && last !== this.newestBody) {
      // Live, the newest group is laid out although it starts below the
      // view: else its height is content-visibility's guess, and the
      // follow, scrolled to the guess's end, shows the group's bare rows.
      // A group gets the class as it is made: made without it, its first
      // layout would be done twice.
      this.retiring = this.newestBody;
      last?.classList.add('newest');
      this.newestBody = last;
    }
  }

  /** How many of the newest rows a follow shows, at most: they get cells. */
  rowsInView() {
    // The height the scroller grows to, while it grows: counted by its
    // height then, a live session's first batch gave cells to the rows of
    // an empty transcript's view (three), and the scroller, grown to its
    // full height, to the rest in a second layout of the same frame.
    return Math.ceil((Math.max(this.viewHeight, this.maxViewHeight) || 400) / this.rowPx) + 1;
  }

  /**
   * After a follow's scroll (its layout done, so reading it costs
   * nothing): takes the shortest of the newest rows with cells as the
   * height the next follows count rows by, and gives cells in the next
   * frame to bare rows that show all the same (rows shorter than those
   * counted by).
   */
  measureNewest(sc) {
    let least = Infinity, bareShown = false;
    const top = sc.scrollTop;
    // The rows in view, newest first: as many as end below the top.
    for (let i = this.rowsDrawn - 1; i >= 0; i--) {
      const row = this.drawnRowAt(i);
      if (!row || row.offsetTop + row.offsetHeight <= top) break;
      if (row.firstChild) least = Math.min(least, row.offsetHeight);
      else bareShown = true;
    }
    if (least !== Infinity) this.rowPx = Math.max(ROW_MIN_PX, least);
    if (bareShown) this.fillInViewSoon();
  }

  /**
   * Whether new rows come bare: a running session drawn as its events
   * come (not a backlog drawn at once, nor the last rows of one that
   * ended).
   */
  liveRows() {
    const p = this.c.painter;
    return this.c.record?.state === 'running' && !p.quiet && !p.pendingFinal;
  }

  /** Forgets the batch of rows held back (they are appended now, or dropped). */
  cancelAppend() {
    clearTimeout(this.appendTimer);
    cancelAnimationFrame(this.appendFrame);
    this.appendTimer = this.appendFrame = 0;
  }

  /** Removes every row; the transcript follows the newest again. */
  clear() {
    this.cancelAppend();
    this.followWanted = false;
    cancelAnimationFrame(this.fillFrame);
    (globalThis.cancelIdleCallback ?? clearTimeout)(this.idleFill);
    this.fillFrame = this.idleFill = 0;
    this.newestBody = this.retiring = null;
    for (const tb of [...this.c.ui.table.tBodies]) tb.remove();
    this.rowsDrawn = 0;
    this.rowsFilled = [];
    this.emptyGroups = false;
    this.bareIn = [];
    this.rowPx = ROW_MIN_PX;
    this.followState.reset();
  }

  /**
   * Once every event queued is drawn: fills the row groups left empty, in
   * idle time; a session that ended live gives its bare rows their cells,
   * at once when they are few.
   */
  fillWhenDrained() {
    if (this.liveRows()) return;
    this.newestBody = this.retiring = null; // their class stays: see appendTranscript
    const bare = this.bareRows();
    if (bare) {
      if (bare <= FILL_AT_END) {
        for (let k = 0; k < this.bareIn.length; k++) if (this.bareIn[k]) this.fillRows(k);
      } else this.emptyGroups = true;
    }
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
    if (this.followState.scrollsToEnd && this.transcriptShown && (rec.state !== 'running' || now - this.transcriptMoved >= TRANSCRIPT_FOLLOW_MS)) {
      this.transcriptMoved = now;
      this.fillLast(this.rowsInView());
      // Scrolled once the rows are laid out (observing the table again
      // makes its ResizeObserver report after the next layout): set here,
      // in the frame's script, scrollTop laid the page out at once, and
      // again after the frame's other changes.
      this.followWanted = true;
      this.afterLayout.unobserve(this.c.ui.table);
      this.afterLayout.observe(this.c.ui.table);
    }
  }

  /** How many rows are bare, in all. */
  bareRows() {
    return this.bareIn.reduce((n, b) => n + (b ?? 0), 0);
  }

  /** Gives the bare rows among the last n their cells. */
  fillLast(n) {
    const bodies = this.c.ui.table.tBodies;
    for (let i = Math.max(0, this.rowsDrawn - n); i < this.rowsDrawn; i++) {
      const row = bodies[Math.floor(i / CHUNK)]?.rows[i % CHUNK];
      if (row && !row.firstChild) this.fillRow(row, i);
    }
  }

  /**
   * The reader scrolled away from the newest row: the bare rows in view
   * (and a screen on either side) get their cells in the next frame.
   */
  fillInViewSoon() {
    if (this.fillFrame || !this.bareRows()) return;
    this.fillFrame = requestAnimationFrame(() => {
      this.fillFrame = 0;
      const sc = this.c.ui.transcriptScroll;
      const top = sc.scrollTop - sc.clientHeight, bottom = sc.scrollTop + 2 * sc.clientHeight;
      const bodies = this.c.ui.table.tBodies;
      for (let k = 0; k < bodies.length; k++) {
        if (!this.bareIn[k]) continue;
        const body = bodies[k];
        if (body.offsetTop > bottom || body.offsetTop + body.offsetHeight < top) continue;
        for (let j = 0; j < body.rows.length; j++) {
          const row = body.rows[j];
          if (!row.firstChild && row.offsetTop + row.offsetHeight >= top && row.offsetTop <= bottom) this.fillRow(row, k * CHUNK + j);
        }
      }
    });
  }

  /** Gives the bare row of the event at index i its cells. */
  fillRow(row, i) {
    const events = this.c.record?.events ?? [];
    if (!events[i]) return;
    row.innerHTML = renderTranscriptCells(...this.rowArgs(events, i));
    row.removeAttribute('aria-hidden');
    const k = Math.floor(i / CHUNK);
    if (this.bareIn[k] > 0) this.bareIn[k]--;
  }

  /**
   * Gives row group k, left empty, its rows, or its bare rows their cells
   * (highlighted if their events are).
   */
  fillRows(k) {
    const body = this.c.ui.table.tBodies[k];
    if (!body) return;
    if (this.rowsFilled[k]) {
      if (!this.bareIn[k]) return;
      for (let j = 0; j < body.rows.length; j++) if (!body.rows[j].firstChild) this.fillRow(body.rows[j], k * CHUNK + j);
      return;
    }
    this.rowsFilled[k] = true;
    const events = this.c.record?.events ?? [];
    body.insertAdjacentHTML('beforeend', this.rowsHTML(events, k * CHUNK, Math.min(this.rowsDrawn, (k + 1) * CHUNK)));
    this.c.inspector.rehighlightSoon();
  }

  /** The rows of events[from] to events[to - 1], with their cells or bare. */
  rowsHTML(events, from, to, cells = true) {
    let s = '';
    for (let i = from; i < to; i++) s += renderTranscriptRow(...this.rowArgs(events, i), cells);
    return s;
  }

  /** What a row of events[i] shows beside the event: its Δt, its note and its mark. */
  rowArgs(events, i) {
    const m = this.c.layout.marks[i];
    return [events[i], i ? Math.max(0, events[i].t_ns - events[i - 1].t_ns) : 0, rowNote(m), m];
  }

  /** Fills the row groups left empty or with bare rows, a few at a time in idle periods. */
  fillRowsWhenIdle() {
    if (this.idleFill) return;
    const idle = globalThis.requestIdleCallback ?? ((f) => setTimeout(() => f({ timeRemaining: () => 8 }), 16));
    const step = (deadline) => {
      this.idleFill = 0;
      if (this.liveRows()) {
        // Live rows come bare to spare their layout: the session's end
        // fills them and the groups left (fillWhenDrained).
        this.emptyGroups = true;
        return;
      }
      const n = this.c.ui.table.tBodies.length;
      const done = (k) => this.rowsFilled[k] && !this.bareIn[k];
      let k = 0;
      while (k < n && done(k)) k++;
      // One group at least: a busy page's idle callbacks come by their
      // timeout, with no time remaining.
      if (k < n) {
        do this.fillRows(k++);
        while (k < n && deadline.timeRemaining() > 3);
      }
      while (k < n && done(k)) k++;
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
      const j = [...body.rows].findIndex((row) => row.getBoundingClientRect().bottom > top + 30);
      if (j >= 0) return this.rowAt(k * CHUNK + j);
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
