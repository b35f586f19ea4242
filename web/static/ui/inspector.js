//# allFunctionsCalledOnLoad
/**
 * inspector.js — selection and details: hover, focus, click and keys on
 * marks, arrows and rows; the details popup; highlights.
 */
import { formatDuration, formatTime, escapeText, utf8Decoder, payloadBytes, hexdump } from '../core/format.js';
import { isError, isBegin, isEnd, sourceOf } from '../core/record.js';
import { eventLabel, callSignature, detailRows } from '../core/words.js';

/** Fills a description list with [term, value] rows. */
function fillDL(dl, rows) {
  for (const [term, value] of rows) {
    const dt = document.createElement('dt');
    dt.textContent = term;
    const dd = document.createElement('dd');
    dd.textContent = String(value);
    dl.append(dt, dd);
  }
}

/**
 * The least height the details keep above or below a mark's row; with
 * less room on both sides they go over the drawing beside it as before.
 */
const MIN_DETAILS_PX = 120;

export class Inspector {
  /** The element's shared context: ui, record, layout, live, gen, and the controllers it wires. */
  c;
  hl = []; // the elements highlighted
  hlSeqs = []; // the events highlighted, and hlExtra, an arrow hovered: what rehighlight redoes
  hlExtra = null;
  rehighlightQueued = false;
  pinned = false;
  selectedSeq = null; // the event picked (click, Enter): its note shows and its line is marked
  described = null; // the element the details popup describes (aria-describedby), or null
  refocusing = false; // refocus is giving a mark drawn anew the focus: not the reader's move

  constructor(c) {
    this.c = c;
  }

  /** Listens to pointer, focus, clicks and keys on the marks and arrows. */
  wire() {
    const ui = this.c.ui;
    const item = (e) => e.target.closest?.('.event, .msg');
    ui.svg.addEventListener('pointerover', (e) => {
      const el = item(e);
      if (el && !this.pinned) this.inspect(el);
    });
    ui.svg.addEventListener('pointerout', (e) => {
      const el = item(e);
      if (el && !el.contains(e.relatedTarget) && !this.pinned) this.inspect(null);
    });
    ui.svg.addEventListener('focusin', (e) => {
      const el = item(e);
      if (el && !this.refocusing) {
        this.pinned = false;
        this.inspect(el);
        this.c.transcript.scrollRowIntoView(Number(el.dataset.seq));
      }
    });
    // Focus leaving the marks, or the pinned details, for elsewhere hides
    // them; a click inside the details (they take the focus: tabindex
    // -1), to select their text or scroll them, keeps them. Else the
    // click closed them under the pointer, and the mark below them
    // showed its own.
    const leaves = (e) => {
      if (ui.svg.contains(e.relatedTarget) || ui.details.contains(e.relatedTarget)) return;
      this.pinned = false;
      this.inspect(null);
    };
    ui.svg.addEventListener('focusout', leaves);
    ui.details.addEventListener('focusout', leaves);
    ui.svg.addEventListener('click', (e) => this.onClick(item(e)));
    ui.svg.addEventListener('keydown', (e) => this.onKey(e));
    ui.viewport.addEventListener('keydown', (e) => this.onViewportKey(e));
    ui.root.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && !ui.details.hidden) {
        // From inside the details, back to the mark they described.
        const back = ui.details.contains(e.target) ? Number(this.described?.dataset.seq) : NaN;
        this.pinned = false;
        this.inspect(null);
        if (Number.isInteger(back)) this.refocus(back);
      }
    });
  }

  /** Highlights again what was highlighted, on a drawing made afresh or grown by a chunk. */
  rehighlight() {
    this.highlight(this.hlSeqs, this.hlExtra?.isConnected ? this.hlExtra : null);
  }

  /**
   * Highlights again once the code under way is done, if anything is
   * highlighted: a chunk of the drawing or a row group of the transcript
   * got its elements (several may, one highlight under way).
   */
  rehighlightSoon() {
    if (!this.hlSeqs.length || this.rehighlightQueued) return;
    this.rehighlightQueued = true;
    queueMicrotask(() => {
      this.rehighlightQueued = false;
      this.rehighlight();
    });
  }

  /** Forgets the highlights and hides the details. */
  clear() {
    this.hl = [];
    this.hlSeqs = [];
    this.hlExtra = null;
    this.hideDetails();
  }

  /** A click on mark or arrow el pins its details and picks it; elsewhere unpicks. */
  onClick(el) {
    if (!el) {
      this.pinned = false;
      this.inspect(null);
      this.unselect();
      return;
    }
    this.pinned = true;
    this.inspect(el);
    const seq = Number(el.dataset.seq ?? el.dataset.recvSeq);
    this.c.transcript.scrollRowIntoView(seq);
    this.select(seq);
  }

  /** Picks a transcript row: highlights its mark and its line, and scrolls the diagram to it. */
  activateRow(tr) {
    const seq = Number(tr.dataset.seq);
    this.pinned = false;
    this.hideDetails();
    this.highlight([seq]);
    this.scrollMarkIntoView(seq);
    this.select(seq);
  }

  /** Highlights the calls of seqs (a line's), no details shown; picked, if one, gets its note. */
  showCalls(seqs, picked) {
    this.pinned = false;
    this.hideDetails();
    this.highlight(seqs);
    this.selectedSeq = picked;
    this.c.painter.drawCallout();
  }

  /** Keys on a focused mark: ↑/↓ the previous/next event, ←/→ along its arrows, Enter selects. */
  onKey(e) {
    const el = e.target.closest?.('.event');
    if (!el) return;
    const seq = Number(el.dataset.seq);
    let to;
    const rows = this.c.layout.rows;
    if (e.key === 'ArrowDown') to = this.markEl(seq + 1);
    else if (e.key === 'ArrowUp') to = this.markEl(seq - 1);
    else if (e.key === 'Home' && rows.length) to = this.markEl(rows[0].seq);
    else if (e.key === 'End' && rows.length) to = this.markEl(rows[rows.length - 1].seq);
    else if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
      const arrow = this.arrowsOf(seq)[0];
      if (arrow) to = this.markEl(arrow.sendSeq === seq ? arrow.recvSeq : arrow.sendSeq);
    } else if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      this.pinned = true;
      this.inspect(el);
      this.select(seq);
      return;
    } else return;
    e.preventDefault();
    to?.focus();
  }

  /**
   * Keys on the diagram itself (its one Tab stop): ↑, ↓, Home or End moves the focus into its marks — to the one picked, else the
   * first in view (Home: the first, End: the last).
   */
  onViewportKey(e) {
    const ui = this.c.ui;
    // ← and → are left to step mode (→ lets the next call happen).
    if (e.target !== ui.viewport || !/^(Arrow(Up|Down)|Home|End)$/.test(e.key)) return;
    const L = this.c.layout;
    if (!L.rows.length) return;
    let seq;
    if (e.key === 'Home') seq = L.rows[0].seq;
    else if (e.key === 'End') seq = L.rows[L.rows.length - 1].seq;
    else if (this.selectedSeq != null && this.markEl(this.selectedSeq)) seq = this.selectedSeq;
    else {
      const top = ui.viewport.scrollTop / (this.c.zoom?.z ?? 1);
      seq = (L.rows.find((r) => r.y >= top + 40) ?? L.rows[L.rows.length - 1]).seq;
    }
    const to = this.markEl(seq);
    if (!to) return;
    e.preventDefault();
    to.focus();
  }

  /**
   * Gives the keyboard's focus back to event seq's mark, drawn anew: as
   * it was, pinned details and the transcript's scroll left as they are.
   */
  refocus(seq) {
    this.refocusing = true;
    try {
      this.markEl(seq)?.focus({ preventScroll: true });
    } finally {
      this.refocusing = false;
    }
  }

  /** The mark of event seq, if drawn. */
  markEl(seq) {
    const i = this.c.layout.pos.get(seq);
    return i === undefined ? null : this.c.painter.markAt(i);
  }

  /** The arrows that start or end at event seq. */
  arrowsOf(seq) {
    return this.c.layout.arrows.filter((a) => a.sendSeq === seq || a.recvSeq === seq);
  }

  /** Tells listeners that the viewer picked event seq (seq-diagram:event-selected). */
  select(seq) {
    const event = this.c.record?.events[this.c.layout.pos.get(seq)];
    if (!event) return;
    this.selectedSeq = seq;
    this.c.painter.drawCallout();
    if (this.c.code.markLine('hl', sourceOf(event), true)) {
      const [file, line] = sourceOf(event);
      this.c.ui.codeInfo.textContent = `#${seq} ${event.actor}: ${eventLabel(event)} — ${file} line ${line}`;
    }
    this.c.emit('seq-diagram:event-selected', { seq, event });
  }

  /** Forgets the event picked: its note and its line go. */
  unselect() {
    if (this.selectedSeq == null) return;
    this.selectedSeq = null;
    this.c.painter.drawCallout();
    this.c.code.markLine('hl', null);
  }

  /** Shows the details of a mark or arrow and highlights it with its rows; null hides them. */
  inspect(el) {
    if (!el) {
      this.hideDetails();
      this.highlight([]);
      return;
    }
    const seqs = el.classList.contains('msg') ? [Number(el.dataset.sendSeq), Number(el.dataset.recvSeq)] : [Number(el.dataset.seq)];
    this.highlight(seqs, el);
    this.showDetails(el, seqs);
  }

  /**
   * Highlights the marks, rows and arrows of seqs (and extra, an arrow
   * hovered). One event's chunk and its other half's are drawn first
   * (markAt), so that its arrows are found, and those still in far
   * chunks' bundles drawn over them; of many events (a line's calls) only
   * the marks and transcript rows drawn: the painter and the transcript
   * highlight again when they draw a chunk or a row group.
   */
  highlight(seqs, extra) {
    for (const el of this.hl) el.classList.remove('hl');
    this.hlSeqs = seqs;
    this.hlExtra = extra ?? null;
    const ui = this.c.ui;
    const painter = this.c.painter;
    const one = seqs.length === 1;
    const hl = [];
    for (const seq of seqs) {
      const i = this.c.layout.pos.get(seq);
      if (i === undefined) continue;
      const mark = one ? painter.markAt(i) : painter.drawnMarkAt(i);
      const row = one ? this.c.transcript.rowAt(i) : this.c.transcript.drawnRowAt(i);
      if (mark) hl.push(mark);
      if (row) hl.push(row);
      if (!one) continue;
      // Either half of a split call lights up the other half and its bar.
      const other = this.c.layout.partnerOf(seq);
      const j = other === undefined ? undefined : this.c.layout.pos.get(other);
      if (j !== undefined) hl.push(...[painter.markAt(j), this.c.transcript.rowAt(j)].filter(Boolean));
      hl.push(...ui.msgs.querySelectorAll(`.msg[data-send-seq="${seq}"], .msg[data-recv-seq="${seq}"]`));
      const call = this.c.layout.marks[i]?.call;
      if (call) hl.push(...ui.bars.querySelectorAll(`.bar[data-call="${call}"]`));
    }
    if (extra) hl.push(extra);
    painter.highlightBundled(one ? seqs[0] : -1);
    for (const el of hl) el.classList.add('hl');
    this.hl = hl;
  }

  /** Scrolls the diagram (only) to show event seq's mark, from the layout: no page jump. */
  scrollMarkIntoView(seq) {
    const m = this.c.layout.marks[this.c.layout.pos.get(seq)];
    const vp = this.c.ui.viewport;
    if (!m) return;
    vp.scrollTop = m.y - vp.clientHeight / 2;
    if (m.x < vp.scrollLeft || m.x > vp.scrollLeft + vp.clientWidth) vp.scrollLeft = m.x - vp.clientWidth / 2;
  }

  /**
   * Hides the details popup. Every scroll of the drawing calls it (a live
   * view scrolls every frame): once hidden, it touches nothing, and it
   * knows which element the popup described instead of looking for it
   * among thousands.
   */
  hideDetails() {
    const d = this.c.ui.details;
    if (d.hidden && !this.described) return;
    d.hidden = true;
    d.classList.remove('pinned');
    this.described?.removeAttribute('aria-describedby');
    this.described = null;
  }

  /** Fills and places the details popup beside el. */
  showDetails(el, seqs) {
    const d = this.c.ui.details;
    const events = this.c.record?.events ?? [];
    const L = this.c.layout;
    const evs = seqs.map((s) => events[L.pos.get(s)]).filter(Boolean);
    if (!evs.length) return;
    d.replaceChildren();
    const h = (tag, text, cls) => {
      const n = document.createElement(tag);
      n.textContent = text;
      if (cls) n.className = cls;
      d.append(n);
      return n;
    };
    if (evs.length === 2) {
      const [s, r] = evs;
      const arrow = L.arrows.find((a) => a.sendSeq === s.seq && a.recvSeq === r.seq);
      h('h3', `${s.actor} → ${r.actor}: ${arrow ? arrow.hi - arrow.lo : 0} bytes`);
      const dl = document.createElement('dl');
      const rows = [
        ['write', `#${s.seq} ${eventLabel(s)} at ${formatTime(s.t_ns)}`],
        ['read', `#${r.seq} ${eventLabel(r)} at ${formatTime(r.t_ns)}`],
      ];
      if (arrow) rows.push(['stream bytes', `${arrow.lo} – ${arrow.hi - 1}`]);
      rows.push(['read after write', formatDuration(r.t_ns - s.t_ns)]);
      fillDL(dl, rows);
      d.append(dl);
      if (arrow) {
        const bytes = payloadBytes(s);
        this.payload(h, bytes.subarray(arrow.lo - (s.offset ?? 0), arrow.hi - (s.offset ?? 0)), !!s.data_b64);
      }
    } else {
      const ev = evs[0];
      const mark = L.marks[L.pos.get(ev.seq)];
      const title = ev.kind === 'segment' ? `${ev.actor} → ${mark?.to || ev.peer || '?'}: segment ${eventLabel(ev)}` : `${ev.actor}: ${eventLabel(ev)}`;
      h('h3', `#${ev.seq} ${title}`, isError(ev) || mark?.rst ? 'error' : '');
      const note = mark?.note;
      if (note) h('p', note, 'note');
      const partnerSeq = L.partnerOf(ev.seq);
      const partner = partnerSeq === undefined ? null : events[L.pos.get(partnerSeq)] ?? null;
      const dl = document.createElement('dl');
      fillDL(dl, detailRows(ev, mark, partner));
      d.append(dl);
      if (isBegin(ev) || isEnd(ev)) this.splitCall(h, ev, partner);
      const links = this.arrowsOf(ev.seq);
      if (links.length) {
        h('h4', 'Arrows');
        const lines = links.slice(0, 8).map((a) => (a.sendSeq === ev.seq ? `→ read #${a.recvSeq} by ${a.to}` : `← write #${a.sendSeq} by ${a.from}`) + `, bytes ${a.lo}–${a.hi - 1}`);
        if (links.length > 8) lines.push(`… ${links.length - 8} more`);
        h('pre', lines.join('\n'));
      }
      if (ev.data || ev.data_b64) this.payload(h, payloadBytes(ev), !!ev.data_b64, ev.truncated);
    }
    d.hidden = false;
    d.classList.toggle('pinned', this.pinned);
    this.described?.removeAttribute('aria-describedby');
    el.setAttribute('aria-describedby', 'details');
    this.described = el;
    this.place(d, el.getBoundingClientRect());
  }

  /**
   * Places the details d beside the box r of what they describe, right
   * or left, else above or below its row, whichever has more room (their
   * height held to it, scrolling inside): never over the mark itself,
   * which they covered where neither side had room (a phone, or a mark in
   * the middle of a wide diagram). Reads layout once, on interaction only.
   */
  place(d, r) {
    d.style.maxHeight = '';
    const w = d.offsetWidth;
    const hgt = d.offsetHeight;
    const fits = (x) => x >= 8 && x + w <= innerWidth - 8;
    let left = r.right + 12;
    let top = Math.min(Math.max(8, r.top - 8), Math.max(8, innerHeight - hgt - 8));
    if (!fits(left)) left = r.left - w - 12;
    if (!fits(left)) {
      left = Math.min(Math.max(8, r.left), Math.max(8, innerWidth - w - 8));
      const below = innerHeight - r.bottom - 16;
      const above = r.top - 16;
      if (Math.max(below, above) >= Math.min(hgt, MIN_DETAILS_PX)) {
        const room = Math.max(below, above);
        if (hgt > room) d.style.maxHeight = `${room}px`;
        top = below >= above ? r.bottom + 8 : r.top - 8 - Math.min(hgt, room);
      }
    }
    d.style.left = `${left}px`;
    d.style.top = `${top}px`;
  }

  /**
   * Adds both halves of a split call to the details, the way strace shows
   * them: `read(5, 1024) <unfinished …>` at its entry, `<… read resumed> = 16`
   * when it returned.
   */
  splitCall(h, ev, partner) {
    const begin = isBegin(ev) ? ev : partner;
    const end = isEnd(ev) ? ev : partner;
    h('h4', 'Blocked call: both halves');
    const lines = [];
    if (begin) lines.push(`#${begin.seq} ${formatTime(begin.t_ns)}  ${callSignature(begin)}`);
    if (end) {
      const result = isError(end) ? `${end.ret} ${end.errno ?? ''}`.trim() : String(end.ret);
      lines.push(`#${end.seq} ${formatTime(end.t_ns)}  ${callSignature(end)} = ${result}  (blocked ${formatDuration(end.dur_ns ?? 0)})`);
    } else lines.push('  … still blocked: no end recorded yet');
    h('pre', lines.join('\n'));
  }

  /** Adds a payload to the details: as text (unless binary) and as a hex dump. */
  payload(h, bytes, binary, truncated = false) {
    if (!bytes.length) return;
    if (!binary) {
      let text;
      try {
        text = utf8Decoder().decode(bytes.subarray(0, 2048));
      } catch {
        text = new TextDecoder().decode(bytes.subarray(0, 2048));
      }
      h('h4', `Payload as text${truncated || bytes.length > 2048 ? ' (preview)' : ''}`);
      h('pre', escapeText(text).replace(/\\n/g, '\\n\n'));
    }
    h('h4', `Payload as hex${bytes.length > 256 ? ' (first 256 bytes)' : ''}`);
    h('pre', hexdump(bytes, 256), 'hex');
  }
}
