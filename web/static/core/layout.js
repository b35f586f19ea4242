//# allFunctionsCalledOnLoad
/**
 * layout.js — events → rows, marks, arrows (paired by byte range), bars and
 * lifeline segments: the diagram's geometry, a pure function of the record.
 */
import { formatDuration, showInvisible } from './format.js';
import { isError, isBegin, isEnd, hasFlag, isData, isEOF } from './record.js';
import { beginLabel, segmentLabel, eventLabel, transcriptSentence, explain, explainSegment, votesNote } from './words.js';
import { fitGeometry, elide, charCount, textBox, BoxIndex, placeArrowLabel, shaftBox } from './place.js';

// ---------------------------------------------------------------------------
// Geometry

/** Geometry of the diagram, in CSS pixels. */
export const G = Object.freeze({
  gutter: 84, // left column holding the Δt labels
  side: 300, // room for labels beside the outermost lifelines
  spacing: 300, // between two lifelines
  narrow: 210, // between two lifelines when there are many actors
  manyActors: 5, // more actors than this use the narrow spacing
  nameTop: 10, // top of an actor's name box
  nameHeight: 30,
  top: 64, // the first row's top
  row: 30, // one row in the compact scale
  minGap: 20, // the proportional scale's least gap between rows: room for a label
  pad: 40, // below the last row
  r: 5, // a mark's radius
  logMin: 22, // the logarithmic scale's least step…
  logK: 12, // …plus this much per decade of microseconds…
  logMax: 110, // …up to this
  gutterGap: 15, // least vertical room between two Δt labels
  blockNs: 1e6, // calls that took at least this long get an activation bar
  maxFit: 200000, // the proportional scale fits the session into at most this height
});

/**
 * Rows are drawn in chunks of this many: the element shows the labels of
 * the chunks near the viewport only, which keeps big sessions fast.
 */
export const CHUNK = 128;

/**
 * A stretch of the diagram is crowded (placeArrowLabel) where more than
 * CROWDED of about the latest CROWDED_SPAN arrows found no room for a
 * label or took one away: a fan of arrows from one write. It takes 22
 * such arrows in a row to get there from none, and the stretch ends where
 * the share falls below UNCROWDED (a crowded stretch keeps fewer labels).
 */
const CROWDED = 0.6;
const UNCROWDED = 0.2;
const CROWDED_SPAN = 24;

/** The time scales, the first being the default. */
export const SCALES = Object.freeze(['compact', 'proportional', 'logarithmic']);

/** Returns the scale a name means: one of SCALES, "log" for logarithmic. */
export function normalizeScale(name) {
  if (name === 'log') return 'logarithmic';
  return SCALES.includes(name) ? name : SCALES[0];
}

// Layout: events → rows, marks, arrows, bars, lifeline segments

/** The height the proportional scale gives a session of n events. */
export function fitHeight(n) {
  return Math.min(G.maxFit, Math.max(600, n * G.row));
}

/** The proportional scale's pixels per nanosecond that fit events. */
export function fitPxPerNs(events) {
  const last = events.length ? Number(events[events.length - 1].t_ns) : 0; // events not cleaned yet too
  const span = Math.max(1e6, Number.isFinite(last) ? last : 0);
  return fitHeight(events.length) / span;
}

/** The first index of a sorted list of byte ranges whose end is past off. */
export function firstEndingAfter(list, off) {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid].hi > off) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Inserts a byte range into a list kept sorted by its start. */
export function insertRange(list, item) {
  if (!list.length || list[list.length - 1].lo <= item.lo) {
    list.push(item);
    return;
  }
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid].lo <= item.lo) lo = mid + 1;
    else hi = mid;
  }
  list.splice(lo, 0, item);
}

/** map's value for key, made by make() and stored if absent. */
export function getOrMake(map, key, make) {
  let v = map.get(key);
  if (v === undefined) map.set(key, (v = make()));
  return v;
}

/**
 * Layout places events incrementally: add them in seq order, and the arrays
 * grow. Items already placed never move, except that an open lifeline
 * segment (y2 null) gets an end and a send mark gets paired; needsRelayout
 * turns true when the layout can no longer grow in place (the proportional
 * scale outgrew its fit, or so many actors came that they need narrower
 * spacing).
 */
export class Layout {
  /**
   * @param {{scale?: string, pxPerNs?: number, actors?: string[], width?: number}} options
   *   actors seeds the lifelines' order; pxPerNs is the proportional
   *   scale's; width, the CSS pixels to fit into (0: the widest geometry).
   */
  constructor({ scale, pxPerNs = 0, actors = [], width = 0 } = {}) {
    this.scale = normalizeScale(scale);
    this.pxPerNs = pxPerNs > 0 ? pxPerNs : fitPxPerNs([]);
    this.fitWidth = width > 0 ? width : 0;
    this._geoN = Math.max(1, actors.length);
    this.geo = fitGeometry(this.fitWidth, this._geoN);
    this.spacing = this.geo.spacing;
    this.boxes = new BoxIndex(); // the boxes of the labels and marks placed, for placing more without overlap
    this.unlabeled = []; // indices of arrows whose label a later arrow's shaft took away, in that order
    this.crowding = 0; // the share of the latest arrows that found no room for a label or took one away
    this.crowded = false;
    this.actors = []; // {name, index, x, side}
    this.rows = []; // {seq, t, y, dt}, in seq order
    this.marks = []; // one per event, in seq order; chunk = its row's index / CHUNK
    this.arrows = []; // one per overlapping send/recv pair; chunk: that of its middle row
    this.bars = []; // activation bars of blocked or slow calls; y2 null while open
    this.gutter = []; // Δt labels, chunked as their rows
    this.segments = []; // lifeline pieces: {actor, index, x, y1, y2, half}
    this.paired = []; // seqs of send marks whose labelled arrow, the whole write's, says what the write did, as each gets one
    this.pos = new Map(); // seq → index in rows and marks
    this.needsRelayout = false;
    this._life = new Map(); // actor → {open, half, seg}: its connections' state
    this._sends = new Map(); // conn → actor → byte ranges written
    this._recvs = new Map(); // conn → actor → byte ranges read
    this._connActors = new Map(); // conn → actors seen on it
    this._listeners = new Map(); // bound address → actor
    this._fdConn = new Map(); // "actor fd" → conn
    this._tcp = new Map(); // "actor fd" → the TCP state shown last
    this._readHi = new Map(); // "actor fd" → the stream offset its reads reached
    this._inq = new Map(); // "actor fd" → bytes left queued after its last read
    this._listening = new Set(); // "actor fd" of listening sockets
    this._shut = new Set(); // "actor fd" that sent their FIN with shutdown
    this._reset = new Set(); // "actor fd" whose connection the peer reset
    this._addrs = new Map(); // socket address → the actor whose socket it is
    this._isn = new Map(); // "from>to" address pair → the first tcp_seq seen that way
    this.segCount = 0; // segments placed (not calls)
    this._open = new Map(); // call id → {bar, mark, ev} of a begin whose end has not come
    this._flowing = new Set(); // call ids of Flowing sends: paired at their begin
    this.calls = new Map(); // call id → {begin, end}: the seqs of a split call's halves
    this.closed = []; // bars closed by their end, in the order they closed
    this._gutterY = -Infinity;
    for (const name of actors) this.actor(name);
  }

  /** The diagram's width. */
  get width() {
    return this.geo.gutter + 2 * this.geo.side + Math.max(0, this.actors.length - 1) * this.spacing;
  }

  /** The diagram's height. */
  get height() {
    return (this.rows.length ? this.rows[this.rows.length - 1].y : G.top) + G.pad;
  }

  /** The bottom of the lifelines. */
  get bottom() {
    return this.height - G.pad / 2;
  }

  /** Returns the lifeline of the actor named, adding it if new. */
  actor(name) {
    const known = this._life.get(name);
    if (known) return known.actor;
    const index = this.actors.length;
    const actor = {
      name,
      index,
      x: this.geo.gutter + this.geo.side + index * this.spacing,
      side: index === 0 ? 'left' : 'right',
    };
    // The room for its labels: the side beside an outer lifeline, else up to the next one.
    actor.room = (index === 0 || index >= this._geoN - 1 ? this.geo.side : this.spacing) - 16;
    this.actors.push(actor);
    const life = { actor, open: new Set(), half: new Set(), seg: null };
    this._life.set(name, life);
    this._segment(life, G.nameTop + G.nameHeight, false);
    if (this.actors.length > this._geoN) this.needsRelayout = true; // the geometry was for fewer
    return actor;
  }

  /** Places the next event (events come in seq order) and returns its mark. */
  add(ev) {
    const actor = this.actor(ev.actor ?? '?');
    const prev = this.rows[this.rows.length - 1];
    const dt = prev ? Math.max(0, ev.t_ns - prev.t) : 0;
    const y = this._y(ev, prev, dt);
    const index = this.rows.length;
    this.rows.push({ seq: ev.seq, t: ev.t_ns, y, dt });
    this.pos.set(ev.seq, index);

    if (this.geo.gutter && y - this._gutterY >= G.gutterGap) {
      const text = index ? `+${formatDuration(dt)}` : '0';
      this.gutter.push({ seq: ev.seq, y, x: this.geo.gutter - 8, chunk: Math.floor(index / CHUNK), text: this.geo.phone ? compactDuration(text) : text });
      this._gutterY = y;
    }
    if (this.scale === 'proportional' && y > G.top + 2 * fitHeight(index + 1)) this.needsRelayout = true;
    if (ev.kind === 'segment') return this._addSegment(ev, actor, index, y);
    if (isBegin(ev)) return this._addBegin(ev, actor, index, y);
    this._bar(ev, actor, index, y);

    const key = `${actor.name} ${ev.kind === 'accept' && ev.ret > 0 ? ev.ret : ev.fd}`;
    if (ev.conn) {
      getOrMake(this._connActors, ev.conn, () => new Set()).add(actor.name);
      this._fdConn.set(key, ev.conn);
    }
    if ((ev.kind === 'bind' || ev.kind === 'listen') && ev.local && !isError(ev)) {
      this._listeners.set(ev.local, actor.name);
    }
    if (ev.local && !isError(ev)) this._addrs.set(ev.local, actor.name);

    let tcp = '';
    if (ev.kind === 'close') this._tcp.delete(key);
    else if (ev.tcp_state && this._tcp.get(key) !== ev.tcp_state) {
      tcp = ev.tcp_state;
      this._tcp.set(key, tcp);
    }

    const mark = this._mark(ev, actor, index, y, { label: eventLabel(ev), tcp });
    const flowed = isEnd(ev) && this._flowing.delete(ev.call);
    const sends = isData(ev) && ev.conn && !flowed ? this._pair(ev, mark) : [];
    const peer = this._peer(ev);
    mark.sentence = transcriptSentence(ev, { peer, sends });
    mark.note = explain(ev, ev.kind === 'close' ? this._closing(ev, key) : { peer });
    if (ev.asked) mark.votes = votesNote(ev); // the transcript shows it by the note
    this._inferredNote(mark);
    this._track(ev, key);
    this._lifeline(ev, key, y);
    return mark;
  }

  /** A call's mark, with what every mark has; extra adds or overrides fields. */
  _mark(ev, actor, index, y, extra) {
    const mark = {
      seq: ev.seq,
      chunk: Math.floor(index / CHUNK),
      t: ev.t_ns,
      actor: actor.name,
      kind: String(ev.kind ?? ''),
      phase: isBegin(ev) ? 'begin' : isEnd(ev) ? 'end' : '',
      call: ev.call > 0 && (isBegin(ev) || isEnd(ev)) ? ev.call : 0,
      x: actor.x,
      y,
      side: actor.side,
      label: '',
      tcp: '',
      error: isError(ev),
      eof: isEOF(ev),
      data: isData(ev),
      paired: false,
      inferred: ev.inferred === true,
      sentence: '',
      note: '',
      votes: '', // how the class voted, when it was asked about the call (votesNote)
      ...extra,
    };
    this.marks.push(mark);
    this.fitLabel(mark, mark.label, true);
    return mark;
  }

  /**
   * Sets a mark's label to text, shortened to the room beside its
   * lifeline (mark.full keeps it whole for the details), and, the first
   * time (place), reserves its box so that no arrow's label goes there,
   * or, where an arrow's label is already, shortens it more.
   */
  fitLabel(mark, text, place = false) {
    const g = this.geo;
    const actor = this._life.get(mark.actor)?.actor;
    const room = actor ? actor.room : g.side - 20;
    const tcpW = mark.tcp ? 8 + charCount(mark.tcp) * 11 * 0.61 : 0;
    mark.full = text;
    text = showInvisible(text);
    let label = shortenLabel(text, Math.floor((room - tcpW) / g.charW));
    if (mark.tcp && label !== text && (mark.error || charCount(label) < Math.min(charCount(text), 16))) {
      // Too little room for both: the label first, the state in the details.
      mark.tcpHidden = true;
      label = shortenLabel(text, Math.floor(room / g.charW));
    }
    if (place && mark.kind !== 'segment') {
      const left = mark.side === 'left';
      const x = left ? mark.x - 12 : mark.x + 12;
      const width = (l) => (mark.phase === 'begin' ? room : charCount(l) * g.charW + (mark.tcp && !mark.tcpHidden ? tcpW : 0));
      let box = textBox(x, mark.y + 4.5, width(label), g.font, left ? 'end' : 'start');
      while (label && this.boxes.hit(box, false)) {
        label = elide(label, charCount(label) - 3);
        box = textBox(x, mark.y + 4.5, width(label), g.font, left ? 'end' : 'start');
      }
      if (label) this.boxes.add(box);
      this.boxes.add({ cx: mark.x, cy: mark.y, hw: 6, hh: 7, angle: 0 });
    }
    mark.label = label;
  }

  /** Says on an inferred call's mark that seqd deduced it. */
  _inferredNote(mark) {
    if (!mark.inferred) return;
    if (mark.kind === 'getaddrinfo') {
      // seqd trace: a lookup drawn from the sockets glibc opened for it.
      mark.note = 'a name lookup, drawn from the sockets glibc opened for it (netlink, nscd, DNS), which are not the program\'s; the name is not known';
      return;
    }
    const traced = this._life.has('proxy') ? 'proxy' : 'server';
    mark.note = `inferred from what the ${traced} saw${mark.note ? `: ${mark.note}` : ''}`;
    mark.sentence += ' (inferred)';
  }

  /**
   * Places the begin of a split call: its mark at its entry and an open
   * bar below it, which grows (the element draws it to the newest row)
   * until the end with the same call id closes it. A begin moves no bytes,
   * changes no state and pairs with nothing.
   */
  _addBegin(ev, actor, index, y) {
    if (ev.conn) getOrMake(this._connActors, ev.conn, () => new Set()).add(actor.name);
    const mark = this._mark(ev, actor, index, y, { label: beginLabel(ev), begin: true });
    mark.sentence = transcriptSentence(ev, { peer: this._peer(ev) });
    mark.note = explain(ev);
    this._inferredNote(mark);
    const bar = { seq: ev.seq, call: mark.call, endSeq: null, kind: mark.kind, actor: actor.name, x: actor.x, y1: y - 6, y2: null, open: true, t: ev.t_ns };
    this.bars.push(bar);
    if (mark.call) this._open.set(mark.call, { bar, mark, ev });
    if (ev.flowing && ev.kind === 'send' && ev.conn && ev.want > 0) {
      // A traced program's blocking write: the kernel takes its bytes while
      // it waits, and reads of them come before its end. Its arrows start
      // here, from the bytes it asked to write; its end pairs no more.
      this._flowing.add(mark.call);
      this._pair({ ...ev, bytes: ev.want }, mark);
    }
    return mark;
  }

  /**
   * The bar of a call that waited: an end closes its begin's bar (begin to
   * end); a single event that blocked or took long (an old record, or a
   * wait no other event interrupted) gets one up to its entry.
   */
  _bar(ev, actor, index, y) {
    const open = isEnd(ev) ? this._open.get(ev.call) : null;
    if (open) {
      this._open.delete(ev.call);
      const { bar, mark } = open;
      bar.y2 = Math.max(y + 3, bar.y1 + 6);
      bar.endSeq = ev.seq;
      bar.open = false;
      this.fitLabel(mark, beginLabel(open.ev, ev.dur_ns ?? ev.t_ns - open.ev.t_ns));
      this.calls.set(ev.call, { begin: bar.seq, end: ev.seq });
      this.closed.push(bar);
      return;
    }
    if (ev.blocked || ev.dur_ns >= G.blockNs) {
      const y1 = Math.min(this._yAt(ev.t_ns - ev.dur_ns, index), y - 10);
      this.bars.push({ seq: ev.seq, call: 0, endSeq: ev.seq, kind: String(ev.kind ?? ''), actor: actor.name, x: actor.x, y1, y2: y + 3, open: false });
    }
  }

  /** The bars still open (a begin whose end has not come), oldest first. */
  get openBars() {
    return [...this._open.values()].map((o) => o.bar);
  }

  /** The seq of the other half of the split call event seq is half of, or undefined. */
  partnerOf(seq) {
    const m = this.marks[this.pos.get(seq)];
    if (!m?.call) return undefined;
    const c = this.calls.get(m.call);
    if (!c) return undefined;
    return c.begin === seq ? c.end : c.begin;
  }

  /**
   * The y an open bar reaches at session time t: as far as the next row
   * would be at t, at most the diagram's bottom (an open bar never makes
   * the diagram taller: it grows as rows come).
   */
  openBottom(t) {
    const last = this.rows[this.rows.length - 1];
    if (!last) return G.top;
    const next = this._y({ t_ns: t }, last, Math.max(0, t - last.t));
    return Math.max(last.y + 3, Math.min(next, this.bottom - 2));
  }

  /**
   * Places a captured segment: a thin arrow from its sender's lifeline to
   * the other end of its connection, on its own row. It is not a call: no
   * bar, no lifeline change, no pairing.
   */
  _addSegment(ev, actor, index, y) {
    this.segCount++;
    if (ev.local) this._addrs.set(ev.local, actor.name);
    const toName = this._segPeer(ev);
    const to = toName ? this._life.get(toName)?.actor : null;
    const dir = `${ev.local ?? ''}>${ev.peer ?? ''}`;
    const back = `${ev.peer ?? ''}>${ev.local ?? ''}`;
    const seqNo = Number(ev.tcp_seq) || 0;
    if (!this._isn.has(dir)) this._isn.set(dir, seqNo);
    const relSeq = (seqNo - this._isn.get(dir)) >>> 0;
    const relAck = hasFlag(ev, 'ACK') && this._isn.has(back) ? ((Number(ev.tcp_ack) || 0) - this._isn.get(back)) >>> 0 : null;
    const mark = {
      seq: ev.seq,
      chunk: Math.floor(index / CHUNK),
      t: ev.t_ns,
      actor: actor.name,
      kind: 'segment',
      x: actor.x,
      y,
      side: actor.side,
      x2: to && to.x !== actor.x ? to.x : null,
      to: to ? to.name : '',
      label: segmentLabel(ev),
      rst: hasFlag(ev, 'RST'),
      relSeq,
      relAck,
      tcp: '',
      error: false,
      eof: false,
      data: false,
      paired: false,
      inferred: false,
      sentence: '',
      note: explainSegment(ev),
    };
    mark.sentence = transcriptSentence(ev, { peer: mark.to });
    this.marks.push(mark);
    return mark;
  }

  /**
   * The actor a segment goes to: the other end of its connection, else the
   * actor whose socket has its destination address, else the other
   * lifeline when there are two.
   */
  _segPeer(ev) {
    const actors = ev.conn && this._connActors.get(ev.conn);
    if (actors) for (const a of actors) if (a !== ev.actor) return a;
    const byAddr = ev.peer ? this._addrs.get(ev.peer) ?? this._listeners.get(ev.peer) : undefined;
    if (byAddr && byAddr !== ev.actor) return byAddr;
    if (this.actors.length === 2) return this.actors[this.actors[0].name === ev.actor ? 1 : 0].name;
    return '';
  }

  /** What explain needs to know about a socket being closed. */
  _closing(ev, key) {
    const conn = ev.conn || this._fdConn.get(key);
    let unread = this._inq.get(key) ?? 0;
    const theirs = conn && this._sends.get(conn);
    if (theirs) {
      // Bytes the other end wrote past what this socket read.
      let sent = 0;
      for (const [actor, list] of theirs) if (actor !== ev.actor && list.length) sent = Math.max(sent, list[list.length - 1].hi);
      unread = Math.max(unread, sent - (this._readHi.get(key) ?? 0));
    }
    return {
      unread,
      listening: this._listening.has(key),
      shut: this._shut.has(key),
      reset: this._reset.has(key),
      connected: Boolean(conn),
    };
  }

  /** Remembers what a socket's later close needs explained. */
  _track(ev, key) {
    if (ev.kind === 'close') {
      this._readHi.delete(key);
      this._inq.delete(key);
      this._listening.delete(key);
      this._shut.delete(key);
      this._reset.delete(key);
    } else if (isError(ev)) {
      if (ev.errno === 'ECONNRESET' || ev.errno === 'EPIPE') this._reset.add(key);
    } else if (ev.kind === 'recv') {
      this._readHi.set(key, Math.max(this._readHi.get(key) ?? 0, (ev.offset ?? 0) + (ev.bytes ?? 0)));
      this._inq.set(key, ev.inq ?? 0);
    } else if (ev.kind === 'listen') {
      this._listening.add(key);
    } else if (ev.kind === 'shutdown' && /WR/.test(ev.how ?? '')) {
      this._shut.add(key);
    }
  }

  /** The y of the next row. */
  _y(ev, prev, dt) {
    if (this.scale === 'proportional') {
      const y = G.top + G.row / 2 + Math.max(0, ev.t_ns) * this.pxPerNs;
      return prev ? Math.max(y, prev.y + G.minGap) : y;
    }
    if (!prev) return G.top + G.row / 2;
    if (this.scale === 'logarithmic') {
      return prev.y + Math.min(G.logMax, G.logMin + G.logK * Math.log10(1 + dt / 1e3));
    }
    return prev.y + G.row;
  }

  /** The y at which time t falls among the first n rows. */
  _yAt(t, n) {
    if (this.scale === 'proportional') return G.top + G.row / 2 + Math.max(0, t) * this.pxPerNs;
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.rows[mid].t >= t) hi = mid;
      else lo = mid + 1;
    }
    if (lo >= n) return Infinity;
    return lo ? (this.rows[lo - 1].y + this.rows[lo].y) / 2 : this.rows[0].y - 10;
  }

  /** The actor at the other end of ev's connection, where known. */
  _peer(ev) {
    const actors = ev.conn && this._connActors.get(ev.conn);
    if (actors) for (const a of actors) if (a !== ev.actor) return a;
    return (ev.peer && this._listeners.get(ev.peer)) || '';
  }

  /**
   * Pairs a send or recv with the recvs or sends on the other end of its
   * connection whose byte ranges overlap its own, adding one arrow per
   * pair. Returns, for a recv, the writes it read from.
   */
  _pair(ev, mark) {
    const item = { seq: ev.seq, lo: ev.offset ?? 0, hi: (ev.offset ?? 0) + ev.bytes, actor: ev.actor, ev, mark };
    const isSend = ev.kind === 'send';
    const mine = getOrMake(isSend ? this._sends : this._recvs, ev.conn, () => new Map());
    insertRange(getOrMake(mine, ev.actor, () => []), item);
    const writes = [];
    const theirs = (isSend ? this._recvs : this._sends).get(ev.conn);
    if (!theirs) return writes;
    for (const [actor, list] of theirs) {
      if (actor === ev.actor) continue;
      for (let i = firstEndingAfter(list, item.lo); i < list.length && list[i].lo < item.hi; i++) {
        const other = list[i];
        if (isSend) this._arrow(item, other, ev.seq);
        else {
          this._arrow(other, item, ev.seq);
          writes.push({ actor: other.actor, bytes: other.ev.bytes });
        }
      }
    }
    return writes;
  }

  /** Adds the arrow for the overlap of a write s and a read r. */
  _arrow(s, r, at) {
    const lo = Math.max(s.lo, r.lo);
    const hi = Math.min(s.hi, r.hi);
    const from = this._life.get(s.actor).actor;
    const to = this._life.get(r.actor).actor;
    const dir = to.x >= from.x ? 1 : -1;
    // A whole write is labelled as the write; part of one by its byte range
    // (the read's own label shows what it got).
    const whole = lo === s.lo && hi === s.hi;
    const full = showInvisible(whole ? eventLabel(s.ev) : `bytes ${lo}–${hi - 1}`);
    const arrow = {
      sendSeq: s.seq,
      recvSeq: r.seq,
      at,
      from: from.name,
      to: to.name,
      lo,
      hi,
      label: '',
      full,
      t: 0.5,
      angle: 0,
      whole,
      inferred: s.mark.inferred || r.mark.inferred,
      // The chunk of the end its label goes near (the write's for a whole
      // write, the read's for part of one): the label and the hit area come
      // when that end comes into view.
      chunk: Math.floor(this.pos.get(whole ? s.seq : r.seq) / CHUNK),
      // From one chunk of rows into another: its shaft is drawn even where
      // its own chunk is far from the viewport, since it may cross the
      // viewport.
      long: Math.floor(this.pos.get(s.seq) / CHUNK) !== Math.floor(this.pos.get(r.seq) / CHUNK),
      x1: from.x + dir * G.r,
      y1: s.mark.y,
      x2: to.x - dir * (G.r + 1),
      y2: r.mark.y,
    };
    const placed = placeArrowLabel(arrow, full, this.boxes, this.geo, this.crowded);
    // Labels placed before that this arrow's shaft crosses give way: their
    // arrows go unlabelled (the details still say everything).
    const shaft = shaftBox(arrow);
    const crossed = this.boxes.labelsCrossed(shaft);
    // How many of the latest arrows found no room or took a label away, in a
    // moving average over about CROWDED_SPAN arrows.
    this.crowding += ((placed && !crossed.length ? 0 : 1) - this.crowding) / CROWDED_SPAN;
    this.crowded = this.crowding > (this.crowded ? UNCROWDED : CROWDED);
    for (const box of crossed) {
      this.boxes.remove(box);
      const lost = this.arrows[box.arrow];
      lost.label = '';
      if (lost.whole) this.marks[this.pos.get(lost.sendSeq)].paired = false; // its mark says the write again
      this.unlabeled.push(box.arrow);
    }
    if (placed) {
      arrow.label = placed.text;
      arrow.t = placed.t;
      arrow.angle = placed.angle;
      arrow.dy = placed.dy;
      placed.box.arrow = this.arrows.length;
      this.boxes.add(placed.box);
    }
    this.boxes.add(shaft);
    this.arrows.push(arrow);
    // A whole write's labelled arrow says "write 14 …": its mark's own
    // label then goes (data-paired), and comes back if a later shaft takes
    // the arrow's away. A write read in parts keeps its label, since its
    // arrows say only their byte ranges ("write 8192" was said nowhere).
    if (whole && placed && !s.mark.paired) {
      s.mark.paired = true;
      this.paired.push(s.seq);
    }
  }

  /**
   * Tracks the actor's connections to draw its lifeline half-closed (dashed)
   * while every connection it has open has been shut down for writing or
   * has read end of file.
   */
  _lifeline(ev, key, y) {
    const life = this._life.get(ev.actor ?? '?');
    const conn = ev.conn || this._fdConn.get(key);
    if (!conn) return;
    if (ev.kind === 'close') {
      life.open.delete(conn);
      life.half.delete(conn);
    } else if (!isError(ev)) {
      life.open.add(conn);
      const shutWrite = ev.kind === 'shutdown' && /WR/.test(ev.how ?? '');
      if (shutWrite || isEOF(ev)) life.half.add(conn);
    }
    let half = life.open.size > 0;
    for (const c of life.open) if (!life.half.has(c)) half = false;
    if (half !== life.seg.half) {
      life.seg.y2 = y;
      this._segment(life, y, half);
    }
  }

  _segment(life, y1, half) {
    const { actor } = life;
    life.seg = { actor: actor.name, index: actor.index, x: actor.x, y1, y2: null, half };
    this.segments.push(life.seg);
  }
}

/** A Δt label in at most six characters, for the phone's narrow gutter: "+13.7 µs" → "+14µs". */
export function compactDuration(text) {
  const m = /^(\+?)([\d.]+) ?(\S+)$/.exec(text);
  if (!m) return text;
  const v = Number(m[2]);
  return `${m[1]}${v >= 10 ? Math.round(v) : Number(v.toFixed(1))}${m[3]}`;
}

/**
 * A label shortened to max characters: whole if it fits; else, for
 * "call args → result", the call and its result ("connect →
 * ECONNREFUSED"), an errno alone ("→ ECONNREFUSED"), the call and what
 * fits of its result ("socket →…"), the call and its arrow ("socket→"),
 * and the result alone only when not even that fits; else elided with
 * "…". A call's name followed by "…" alone means a call that blocked
 * ("accept…"), never a result cut.
 */
export function shortenLabel(text, max) {
  text = String(text ?? '');
  if (charCount(text) <= max) return text;
  // A blocked call's time matters more than the word: "accept… 1.20 s"
  // (its bar says it blocks); with no room for the time, the call alone.
  const blocked = /^(\S+…) blocked (.+)$/.exec(text);
  if (blocked) {
    const timed = `${blocked[1]} ${blocked[2]}`;
    if (charCount(timed) <= max) return timed;
    if (charCount(blocked[1]) <= max) return blocked[1];
  }
  const arrow = text.indexOf(' → ');
  if (arrow > 0) {
    const result = text.slice(arrow + 3);
    const call = text.slice(0, arrow).split(' ')[0];
    const short = `${call} → ${result}`;
    if (charCount(short) <= max) return short;
    // An errno whole: it says more than the call's name.
    if (/^E[A-Z]+\b/.test(result) && charCount(result) + 2 <= max) return `→ ${result}`;
    // Else the call's name first, what is left of its result elided, or
    // the name and its arrow: the order of the calls (socket, bind, listen…) is
    // what the diagram teaches; a phone showed "→ fd 15" for socket. The
    // result alone only when not even the name fits.
    if (charCount(call) + 3 <= max) return elide(short, max);
    if (charCount(call) + 1 <= max) return `${call}→`; // not "socket…", which says a call blocked
    return charCount(result) + 2 <= max ? `→ ${result}` : elide(short, max);
  }
  return elide(text, max);
}

/**
 * Lays a session record out: events in seq order become rows (y), actors
 * lifelines (x), each event a mark, and each overlap between a send and a
 * recv on the two ends of one connection an arrow. Pure: no DOM.
 *
 * @param {{events?: object[], actors?: string[]}} record
 * @param {{scale?: string}} options compact, proportional or logarithmic
 */
export function layout(record, { scale, width = 0 } = {}) {
  const events = record.events ?? [];
  const L = new Layout({ scale, pxPerNs: fitPxPerNs(events), actors: record.actors ?? [], width });
  for (const ev of events) L.add(ev);
  return {
    scale: L.scale,
    geo: L.geo,
    width: L.width,
    height: L.height,
    actors: L.actors.map((a) => ({ ...a })),
    rows: L.rows,
    marks: L.marks,
    arrows: L.arrows,
    bars: L.bars.map((b) => ({ ...b, y2: b.y2 ?? L.bottom })),
    calls: L.calls,
    gutter: L.gutter,
    segments: L.segments.map((s) => ({ ...s, y2: s.y2 ?? L.bottom })),
  };
}
