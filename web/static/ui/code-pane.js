//# allFunctionsCalledOnLoad
/**
 * code-pane.js — the C listings beside the diagram: lines that made calls,
 * the newest call's line, the pending call's, blocked calls' lines;
 * picking a line highlights its calls.
 */
import { scenariosOf, scenariosNow } from '../core/api.js';
import { renderListing } from '../core/markup.js';
import { sourceOf } from '../core/record.js';
import { plural } from '../core/words.js';

/** A listing's line height and top padding in pixels (its CSS says the same). */
const LINE_PX = 18;
const LISTING_PAD = 4;

/** Picking a line highlights at most this many of its calls. */
const MAX_HIGHLIGHT = 5000;

export class CodePane {
  /** The element's shared context: ui, record, layout, live, gen, and the controllers it wires. */
  c;
  sources = null; // the listings shown: [{file, text}]
  sourcesKey = '';
  codeLines = new Map(); // file → its line elements
  codeMarks = { current: null, pending: null, hl: null };
  called = new Set(); // "file:line" of the lines that made calls
  calledUpTo = 0; // events whose lines are marked called
  codeOpen = true;
  listingBox = new Map(); // listing <pre> → {height, top}: read by observers, not in frames
  listingObserver = null;
  blockedLines = new Set(); // the code lines of calls still blocked

  constructor(c) {
    this.c = c;
  }

  /** Listens to the code pane: clicking (or Enter on) a line marks the calls it made. */
  wire() {
    const ui = this.c.ui;
    ui.codeToggle.addEventListener('click', () => this.setCodeOpen(!this.codeOpen, true));
    ui.codeFiles.addEventListener('click', (e) => {
      const line = e.target.closest('.line');
      if (line) this.activateLine(line);
    });
    ui.codeFiles.addEventListener('keydown', (e) => this.onCodeKey(e));
    ui.codeFiles.addEventListener('scroll', (e) => {
      const box = this.listingBox.get(e.target);
      if (box) box.top = e.target.scrollTop;
    }, { capture: true, passive: true });
    this.listingObserver = new ResizeObserver((entries) => {
      for (const entry of entries) {
        const box = this.listingBox.get(entry.target);
        if (!box) continue;
        const shown = !box.height;
        box.height = entry.contentRect.height;
        box.top = entry.target.scrollTop;
        // Just shown: bring the lines marked meanwhile into view.
        if (shown) for (const el of [this.codeMarks.current, this.codeMarks.pending]) if (el?.parentElement === entry.target) this.scrollLine(el);
      }
    });
  }

  /** Shows the programs' source when the code attribute asks for it and the record's scenario has some. */
  loadSources() {
    const rec = this.c.record;
    if (!this.c.el.code || !rec) {
      this.showCode(null, '');
      return;
    }
    if (Array.isArray(rec.sources) && rec.sources.length) {
      this.showCode(rec.sources, `record ${rec.id ?? ''} ${rec.scenario ?? ''}`);
      return;
    }
    // A saved record without sources, and no server to ask: no pane.
    if (!rec.scenario || !(this.c.live || this.c.el.hasAttribute('server'))) {
      this.showCode(null, '');
      return;
    }
    const base = this.c.el.server;
    const key = `api ${base} ${rec.scenario}`;
    if (key === this.sourcesKey) {
      this.showCode(this.sources, key);
      return;
    }
    const show = (list) => {
      const sc = Array.isArray(list) ? list.find((s) => s?.name === rec.scenario) : null;
      this.showCode(Array.isArray(sc?.sources) && sc.sources.length ? sc.sources : null, key);
    };
    // Had already (the page asked for the list): shown now, before the
    // diagram is laid out, for the width the pane leaves it.
    const had = scenariosNow(base);
    if (had) {
      show(had);
      return;
    }
    const gen = this.c.gen;
    scenariosOf(base).then(
      (list) => {
        if (gen === this.c.gen && this.c.el.code) show(list);
      },
      () => {
        if (gen === this.c.gen) this.showCode(null, '');
      },
    );
  }

  /** Fills the code pane with sources (server.c first), or hides it (null). */
  showCode(sources, key) {
    const ui = this.c.ui;
    if (!sources) {
      this.sources = null;
      this.sourcesKey = '';
      ui.code.hidden = true;
      if (ui.split.classList.contains('with-code')) this.c.zoom?.boxChanged();
      ui.split.classList.remove('with-code');
      ui.codeFiles.replaceChildren();
      this.codeLines.clear();
      this.listingBox.clear();
      this.listingObserver.disconnect();
      this.codeMarks = { current: null, pending: null, hl: null };
      return;
    }
    if (key !== this.sourcesKey || sources !== this.sources) {
      this.sources = sources;
      this.sourcesKey = key;
      const order = (f) => (f === 'server.c' ? 0 : f === 'client.c' ? 1 : 2);
      const files = sources.filter((f) => typeof f?.file === 'string').sort((a, b) => order(a.file) - order(b.file));
      ui.codeFiles.innerHTML = files.map((f) => renderListing(f.file, String(f.text ?? ''))).join('');
      this.codeLines = new Map();
      this.listingBox.clear();
      this.listingObserver.disconnect();
      for (const section of ui.codeFiles.children) {
        const pre = section.querySelector('.listing');
        this.codeLines.set(section.dataset.file, Array.from(pre.children));
        this.listingBox.set(pre, { height: 0, top: 0 });
        this.listingObserver.observe(pre);
      }
      this.codeMarks = { current: null, pending: null, hl: null };
      this.called.clear();
      this.calledUpTo = 0;
    }
    ui.code.hidden = false;
    if (!ui.split.classList.contains('with-code')) this.c.zoom?.boxChanged();
    ui.split.classList.add('with-code');
    this.syncCode();
  }

  /** Forgets the marks of the session drawn before: called lines, current, pending, picked. */
  resetCode() {
    for (const cls of Object.keys(this.codeMarks)) this.markLine(cls, null);
    for (const el of this.blockedLines) el.classList.remove('blocked');
    this.blockedLines = new Set();
    for (const k of this.called) {
      const i = k.lastIndexOf(':');
      this.codeLines.get(k.slice(0, i))?.[Number(k.slice(i + 1)) - 1]?.classList.remove('called');
    }
    this.called.clear();
    this.calledUpTo = 0;
    this.c.ui.codeInfo.textContent = '';
  }

  /** Marks the lines that made calls, the newest call's line (current) and the pending call's. */
  syncCode() {
    if (!this.sources) return;
    const events = this.c.record?.events ?? [];
    for (let i = this.calledUpTo; i < events.length; i++) {
      const [file, line] = sourceOf(events[i]);
      const k = `${file}:${line}`;
      if (this.called.has(k)) continue;
      this.called.add(k);
      this.codeLines.get(file)?.[line - 1]?.classList.add('called');
    }
    this.calledUpTo = events.length;
    // The newest call that names a line (captured segments and inferred
    // calls name none).
    let last = null;
    for (let i = events.length - 1; i >= Math.max(0, events.length - 64) && !last; i--) if (events[i].line > 0) last = events[i];
    this.markLine('current', last ? sourceOf(last) : null, true);
    this.markLine('pending', this.c.stepper.stepPending ? sourceOf(this.c.stepper.stepPending) : null, true);
    this.markBlockedLines();
  }

  /** Marks the lines of the calls still blocked (a begin without its end): "◂ blocked". */
  markBlockedLines() {
    const events = this.c.record?.events ?? [];
    const L = this.c.layout;
    const lines = new Set();
    for (const bar of L.openBars) {
      const ev = events[L.pos.get(bar.seq)];
      if (!ev?.line) continue;
      const [file, line] = sourceOf(ev);
      const el = this.codeLines.get(file)?.[line - 1];
      if (el) lines.add(el);
    }
    for (const el of this.blockedLines) if (!lines.has(el)) el.classList.remove('blocked');
    for (const el of lines) el.classList.add('blocked');
    this.blockedLines = lines;
  }

  /** Moves class cls (current, pending, hl) to the line [file, line]; null takes it away. */
  markLine(cls, where, scroll = false) {
    const el = where ? this.codeLines.get(where[0])?.[where[1] - 1] ?? null : null;
    const old = this.codeMarks[cls];
    if (old !== el) {
      old?.classList.remove(cls);
      el?.classList.add(cls);
      this.codeMarks[cls] = el;
      if (el && scroll) this.scrollLine(el);
    }
    return Boolean(el);
  }

  /**
   * Scrolls a listing (only) to show line el, from the line's number and
   * the listing's size its observer read: no layout reads in a frame.
   */
  scrollLine(el) {
    const pre = el.parentElement;
    const box = this.listingBox.get(pre);
    if (!box?.height) return;
    const top = LISTING_PAD + (Number(el.dataset.line) - 1) * LINE_PX;
    if (top >= box.top + LINE_PX && top + 2 * LINE_PX <= box.top + box.height) return;
    box.top = Math.max(0, Math.round(top - box.height / 3));
    pre.scrollTop = box.top;
  }

  /** Picks a line: highlights the marks and rows of the calls it made. */
  activateLine(el) {
    const file = el.dataset.src;
    const line = Number(el.dataset.line);
    this.rove(el);
    const seqs = [];
    for (const ev of this.c.record?.events ?? []) {
      const [f, l] = sourceOf(ev);
      if (f === file && l === line) seqs.push(ev.seq);
    }
    this.c.inspector.showCalls(seqs.length > MAX_HIGHLIGHT ? seqs.slice(0, MAX_HIGHLIGHT) : seqs, seqs.length === 1 ? seqs[0] : null);
    this.markLine('hl', [file, line]);
    const p = this.c.stepper.stepPending;
    const next = p && sourceOf(p)[0] === file && sourceOf(p)[1] === line ? '; it makes the next call' : '';
    this.c.ui.codeInfo.textContent = `${file} line ${line}: ${seqs.length ? plural(seqs.length, 'call') : 'no calls yet'}${next}`;
    if (seqs.length && !this.anyMarkInView(seqs)) this.c.inspector.scrollMarkIntoView(seqs[0]);
    this.c.emit('seq-diagram:line-selected', { src: file, line, seqs });
  }

  /** Whether the diagram shows one of the marks of seqs (reads the scroll position: on interaction only). */
  anyMarkInView(seqs) {
    const vp = this.c.ui.viewport;
    const top = vp.scrollTop;
    const bottom = top + vp.clientHeight;
    const L = this.c.layout;
    return seqs.some((seq) => {
      const m = L.marks[L.pos.get(seq)];
      return m && m.y >= top && m.y <= bottom;
    });
  }

  /** Keys in a listing: ↑ ↓ PageUp PageDown Home End move between lines; Enter or Space picks one. */
  onCodeKey(e) {
    const el = e.target.closest?.('.line');
    if (!el) return;
    const lines = this.codeLines.get(el.dataset.src) ?? [];
    const i = Number(el.dataset.line) - 1;
    let to;
    switch (e.key) {
      case 'ArrowDown': to = lines[i + 1]; break;
      case 'ArrowUp': to = lines[i - 1]; break;
      case 'PageDown': to = lines[Math.min(lines.length - 1, i + 15)]; break;
      case 'PageUp': to = lines[Math.max(0, i - 15)]; break;
      case 'Home': to = lines[0]; break;
      case 'End': to = lines[lines.length - 1]; break;
      case 'Enter':
      case ' ':
        e.preventDefault();
        this.activateLine(el);
        return;
      default:
        return;
    }
    e.preventDefault();
    if (to) {
      this.rove(to);
      to.focus();
    }
  }

  /** Makes line el its listing's one tab stop. */
  rove(el) {
    for (const l of this.codeLines.get(el.dataset.src) ?? []) if (l !== el && l.tabIndex === 0) l.tabIndex = -1;
    el.tabIndex = 0;
  }

  /** Folds or unfolds the code pane; by the viewer, it tells the page (seq-diagram:code). */
  setCodeOpen(open, byViewer) {
    const ui = this.c.ui;
    this.codeOpen = open;
    ui.split.classList.toggle('code-collapsed', !open);
    ui.codeToggle.setAttribute('aria-expanded', String(open));
    ui.codeToggle.textContent = open ? 'Hide code' : 'Show code';
    if (byViewer) this.c.emit('seq-diagram:code', { open });
  }
}
