//# allFunctionsCalledOnLoad
/**
 * markup.js — layout items → SVG and table markup strings, through one
 * small svg() helper and esc().
 */
import { formatDuration, formatTime, preview, esc, showInvisible } from './format.js';
import { highlightC } from './highlight.js';
import { G } from './layout.js';
import { CHAR_EM, elide } from './place.js';
import { CALL, isError, isBegin, isEnd, hasFlag, isEOF, sourceOf } from './record.js';
import { segmentLabel, eventLabel, callSignature, who, pendingLabel } from './words.js';

// ---------------------------------------------------------------------------
// Markup: layout items → SVG and table markup strings

/**
 * The markup of one element: attributes that are null, undefined or false
 * are left out, true ones are written bare; children are markup already.
 */
export function svg(tag, attrs = {}, ...children) {
  let s = `<${tag}`;
  for (const k in attrs) {
    const v = attrs[k];
    if (v == null || v === false) continue;
    s += v === true ? ` ${k}` : ` ${k}="${typeof v === 'number' ? Math.round(v * 10) / 10 : esc(v)}"`;
  }
  return `${s}>${children.join('')}</${tag}>`;
}

/** The CSS class that colours an actor's items. */
export function actorClass(name) {
  return /^server/.test(name) ? 'actor-server' : 'actor-client';
}

/** name cut to max characters in its middle, so that both its start and its end show: serv…erver. */
function elideMiddle(name, max) {
  const chars = Array.from(name);
  if (chars.length <= max) return name;
  if (max < 3) return chars.slice(-Math.max(max, 1)).join(''); // room for no "…": the end tells client-1 from client-2
  const head = Math.ceil((max - 1) / 2);
  return `${chars.slice(0, head).join('')}…${chars.slice(chars.length - (max - 1 - head)).join('')}`;
}

/**
 * An actor's name box at the lifelines' spacing: its width, and its name
 * cut in the middle to fit ("c…1", "c…2": a cut at the end would make
 * client-1 and client-2 the same). The lifeline's box and the sticky name
 * over it (painter) both take it, so that they match.
 */
export function nameBox(actor, spacing = G.spacing) {
  // At least a character's box: lifelines packed tighter than that (17 on a phone) overlap anyway, but no box is negative.
  const w = Math.max(16, Math.min(spacing - 20, Math.max(80, actor.name.length * 9 + 28)));
  return { w, text: elideMiddle(showInvisible(actor.name), Math.floor((w - 14) / 9)) };
}

/** An actor's lifeline group: the name box on top; segments come later. */
export function renderLifeline(actor, spacing = G.spacing) {
  const { w, text } = nameBox(actor, spacing);
  return svg(
    'g',
    { class: `lifeline ${actorClass(actor.name)}`, 'data-actor': actor.name },
    svg('rect', { class: 'name-box', x: actor.x - w / 2, y: G.nameTop, width: w, height: G.nameHeight, rx: 6 }),
    // A name longer than its box (seqd trace's program names) is cut, whole in its tooltip.
    svg('text', { class: 'name', x: actor.x, y: G.nameTop + 20, 'text-anchor': 'middle' }, esc(text), svg('title', {}, esc(showInvisible(actor.name)))),
  );
}

/** A piece of lifeline, solid or dashed (half-closed). bottom ends an open one. */
export function renderSegment(seg, bottom) {
  return svg('line', {
    class: seg.half ? 'life half' : 'life',
    x1: seg.x,
    x2: seg.x,
    y1: seg.y1,
    y2: seg.y2 ?? bottom,
  });
}

/** The shape of a mark: what kind of call it is at a glance. */
export function markShape({ kind, x, y, data, eof, error, phase }) {
  // A begin is the top of its bar: a cap across the lifeline.
  if (phase === 'begin') return svg('rect', { class: 'shape cap', x: x - 8, y: y - 2, width: 16, height: 4, rx: 1.5 });
  if (kind === 'close') {
    return svg('path', { class: 'shape cross', d: `M${x - 5},${y - 5}L${x + 5},${y + 5}M${x + 5},${y - 5}L${x - 5},${y + 5}` });
  }
  if (kind === 'connect' || kind === 'accept') {
    return svg('path', { class: 'shape', d: `M${x},${y - 7}L${x + 7},${y}L${x},${y + 7}L${x - 7},${y}Z` });
  }
  if (kind === 'shutdown') return svg('rect', { class: 'shape', x: x - 7, y: y - 2.5, width: 14, height: 5 });
  if (data || error || eof || kind === 'send' || kind === 'recv') {
    return svg('circle', { class: eof ? 'shape hollow' : 'shape', cx: x, cy: y, r: G.r });
  }
  if (Object.hasOwn(CALL, kind) || KNOWN.has(kind)) {
    return svg('rect', { class: 'shape', x: x - 4.5, y: y - 4.5, width: 9, height: 9 });
  }
  return svg('circle', { class: 'shape hollow', cx: x, cy: y, r: 4 });
}

/** The SVG namespace, for the elements made with createElementNS. */
export const SVG_NS = 'http://www.w3.org/2000/svg';

/** Setup calls, drawn as small squares; kinds not known at all get a hollow circle. */
export const KNOWN = new Set(['getaddrinfo', 'socket', 'setsockopt', 'bind', 'listen']);

/**
 * A captured segment: a small mark on the sender's lifeline (its .event,
 * focusable like a call's) and a thin arrow to the receiver's, labelled
 * with its flags and payload length.
 */
export function renderSegmentMark(m, labels = true) {
  let body = svg('circle', { class: 'shape', cx: m.x, cy: m.y, r: 2.5 });
  if (m.x2 != null) {
    const dir = m.x2 > m.x ? 1 : -1;
    const r = (v) => Math.round(v * 10) / 10;
    const x1 = r(m.x + dir * 4);
    const x2 = r(m.x2 - dir * 1.5);
    const bx = r(x2 - dir * 7);
    const y = r(m.y);
    body += svg('path', { class: 'seg-line', d: `M${x1},${y}L${bx},${y}M${x2},${y}L${bx},${r(y - 3.5)}L${bx},${r(y + 3.5)}Z` });
  }
  if (labels) body += segmentMarkLabel(m);
  return svg('g', {
    class: `event seg k-segment ${actorClass(m.actor)}${m.rst ? ' rst' : ''}`,
    'data-seq': m.seq,
    'data-actor': m.actor,
    tabindex: -1,
    role: 'img',
    'aria-label': labels ? markName(m) : null,
  }, body);
}

/** A mark's accessible name: what happened, its event number and time. */
export function markName(m) {
  return `${showInvisible(m.sentence)} (${m.kind === 'segment' ? 'segment, ' : ''}event ${m.seq}, at ${formatTime(m.t)})`;
}

/** A segment's label: over the middle of its arrow, or beside its mark. */
export function segmentMarkLabel(m) {
  if (m.x2 != null) return svg('text', { class: 'label', x: (m.x + m.x2) / 2, y: m.y - 4, 'text-anchor': 'middle' }, esc(m.label));
  const left = m.side === 'left';
  return svg('text', { class: 'label', x: left ? m.x - 8 : m.x + 8, y: m.y + 4, 'text-anchor': left ? 'end' : 'start' }, esc(m.label));
}

/**
 * The texts of a mark, after its shape: its label, with the TCP state
 * (inside the label on the right of the lifeline, apart on the left).
 */
export function renderMarkLabel(m) {
  if (m.kind === 'segment') return segmentMarkLabel(m);
  const left = m.side === 'left';
  // The TCP state follows the label, on either side of the lifeline; where
  // there is no room for both (a phone), the details show the state.
  const tcp = m.tcp && !m.tcpHidden ? svg('tspan', { class: 'tcp', dx: 8 }, esc(m.tcp)) : '';
  if (!m.label && !tcp) return '';
  return svg(
    'text',
    { class: 'label', x: left ? m.x - 12 : m.x + 12, y: m.y + 4.5, 'text-anchor': left ? 'end' : 'start' },
    esc(m.label),
    tcp,
  );
}

/**
 * A focusable mark for one event, with its label and TCP state. Without
 * labels, the mark alone: the element adds the texts (renderMarkLabel) and
 * the accessible name (markName)
 * when its chunk comes near the viewport.
 */
export function renderMark(m, labels = true) {
  if (m.kind === 'segment') return renderSegmentMark(m, labels);
  const cls = ['event', `k-${m.kind.replace(/[^\w-]/g, '')}`, actorClass(m.actor)];
  if (m.phase) cls.push(m.phase);
  if (m.inferred) cls.push('inferred');
  if (m.error) cls.push('error');
  if (m.eof) cls.push('eof');
  if (m.data) cls.push('data');
  return svg(
    'g',
    {
      class: cls.join(' '),
      'data-seq': m.seq,
      'data-actor': m.actor,
      'data-phase': m.phase || null,
      'data-call': m.call || null,
      'data-paired': m.paired,
      tabindex: -1, // the viewport is the diagram's one Tab stop; arrow keys move between marks
      role: 'img',
      'aria-label': labels ? markName(m) : null,
    },
    markShape(m),
    labels ? renderMarkLabel(m) : '',
  );
}

/**
 * An arrow's hit area (a wide transparent line, for the pointer) and its
 * label: what the element adds when the arrow's chunk comes near.
 */
export function renderArrowDecor(a) {
  const dx = a.x2 - a.x1;
  const dy = a.y2 - a.y1;
  const r = (v) => Math.round(v * 10) / 10;
  // The label runs along the arrow, upright, just above it, where the
  // layout found room for it (placeArrowLabel); none where there was none.
  const hit = svg('line', { class: 'hit', x1: a.x1, y1: a.y1, x2: a.x2, y2: a.y2 });
  if (!a.label) return [hit, ''];
  return [
    hit,
    svg(
      'text',
      { class: 'label', transform: `translate(${r(a.x1 + a.t * dx)} ${r(a.y1 + a.t * dy)}) rotate(${r(a.angle)})`, y: a.dy ?? -5, 'text-anchor': 'middle' },
      esc(a.label),
    ),
  ];
}

/**
 * arrowPath is the path of arrow a: its shaft, then its head as a filled
 * triangle. Paths of several arrows joined draw them all (the painter's
 * bundles of far arrows).
 */
export function arrowPath(a) {
  const dx = a.x2 - a.x1;
  const dy = a.y2 - a.y1;
  const len = Math.hypot(dx, dy) || 1;
  const ux = dx / len;
  const uy = dy / len;
  const bx = a.x2 - ux * 10;
  const by = a.y2 - uy * 10;
  const r = (v) => Math.round(v * 10) / 10;
  return `M${r(a.x1)},${r(a.y1)}L${r(bx)},${r(by)}M${r(a.x2)},${r(a.y2)}L${r(bx - uy * 5)},${r(by + ux * 5)}L${r(bx + uy * 5)},${r(by - ux * 5)}Z`;
}

/**
 * An arrow from a write's mark to a read's mark, labelled; without labels,
 * the shaft alone (the element adds renderArrowDecor near the viewport).
 */
export function renderArrow(a, labels = true) {
  const [hit, label] = labels ? renderArrowDecor(a) : ['', ''];
  return svg(
    'g',
    {
      class: `msg ${actorClass(a.from)}${a.inferred ? ' inferred' : ''}${a.long ? ' long' : ''}`,
      'data-send-seq': a.sendSeq,
      'data-recv-seq': a.recvSeq,
    },
    hit,
    svg('path', { class: 'shaft', d: arrowPath(a) }),
    label,
  );
}

/**
 * The activation bar of a call that blocked or took long: data-seq is the
 * begin's (or the single event's), data-end-seq the end's once it came;
 * an open bar (data-open) reaches bottom, the element grows it live.
 */
export function renderBar(b, bottom = b.y1 + 6) {
  return svg('rect', {
    class: `bar ${actorClass(b.actor)}${b.open ? ' open' : ''}`,
    'data-seq': b.seq,
    'data-call': b.call || null,
    'data-end-seq': b.endSeq ?? null,
    'data-open': b.open,
    x: b.x - 5,
    y: b.y1,
    width: 10,
    height: barHeight(b, bottom),
    rx: 2,
  });
}

/** A bar's height: to its end, or for an open one to bottom. */
export function barHeight(b, bottom) {
  return Math.max(6, (b.y2 ?? bottom) - b.y1);
}

/** A Δt label in the left gutter. */
export function renderGutter(g) {
  return svg('text', { class: 'dt', x: g.x ?? G.gutter - 10, y: g.y + 4, 'text-anchor': 'end' }, esc(g.text));
}

/**
 * The ghost mark of the call a stepped session makes next, on its lifeline
 * one row below the last: a dashed outline and "next: read(fd 8)".
 */
export function renderPending(p, { x, y, side, max = Infinity }) {
  const left = side === 'left';
  // "? predict" takes ten characters of the room, when there is room for it.
  const ask = p.question && max >= 24;
  const label = elide(pendingLabel(p), ask ? max - 10 : max);
  const [file, line] = sourceOf(p);
  return svg(
    'g',
    {
      class: `pending k-${String(p.kind ?? '').replace(/[^\w-]/g, '')} ${actorClass(p.actor ?? '')}`,
      'data-actor': p.actor ?? '',
      'data-kind': p.kind ?? '',
      'data-src': file,
      'data-line': line || null,
    },
    svg('circle', { class: 'ghost', cx: x, cy: y, r: 7 }),
    svg(
      'text',
      { class: 'label', x: left ? x - 14 : x + 14, y: y + 4.5, 'text-anchor': left ? 'end' : 'start' },
      esc(label),
      ask ? svg('tspan', { class: 'ask', dx: 8 }, '? predict') : '',
    ),
  );
}

export { CHAR_EM };

/** Breaks text into lines of at most max characters, at spaces. */
export function wrapText(text, max) {
  const lines = [];
  let line = '';
  for (const word of String(text).split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > max) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

/**
 * A mark's note (what the kernel did) as a callout under its label, on the
 * label's side of the lifeline and within the diagram's width.
 */
export function renderCallout(m, width) {
  const size = 11.5;
  const lines = wrapText(m.note, 44);
  const w = Math.ceil(Math.max(...lines.map((l) => Array.from(l).length)) * size * CHAR_EM) + 14;
  const h = lines.length * 15 + 7;
  let x = m.side === 'left' ? m.x - 12 - w : m.x + 8;
  x = Math.max(4, Math.min(x, width - w - 4));
  const y = m.y + 10;
  return svg(
    'g',
    { class: 'note-callout', 'data-seq': m.seq },
    svg('rect', { x, y, width: w, height: h, rx: 4 }),
    svg('text', { x: x + 7, y: y + 2 }, ...lines.map((l) => svg('tspan', { x: x + 7, dy: 15 }, esc(l)))),
  );
}

/** The markup of one listing: a line element per line, highlighted. */
export function renderListing(file, text) {
  const lines = highlightC(text);
  let body = '';
  for (let i = 0; i < lines.length; i++) {
    body += `<span class="line" data-src="${esc(file)}" data-line="${i + 1}" tabindex="${i ? -1 : 0}"><span class="no" aria-hidden="true">${i + 1}</span>${lines[i]}</span>`;
  }
  const who = file === 'server.c' ? 'the server' : file === 'client.c' ? 'every client' : '';
  return `<section class="file" data-file="${esc(file)}"><h3 class="file-name">${esc(file)}${who ? ` <span class="who">— ${who}</span>` : ''}</h3>` +
    `<pre class="listing" aria-label="${esc(file)}">${body}</pre></section>`;
}

/**
 * One row of the transcript table. dt is the time since the previous event;
 * note, what the kernel did (explain). The table is laid out as a grid of
 * rows (so that row groups can skip rendering offscreen), hence the
 * explicit ARIA roles. Rows take focus from the keyboard (tabindex -1).
 * Without cells the row is bare, hidden from assistive technology until
 * it gets them (renderTranscriptCells).
 */
export function renderTranscriptRow(ev, dt, note = '', mark = null, cells = true) {
  const cls = transcriptRowClass(ev);
  return `<tr role="row" data-seq="${esc(ev.seq)}"${cls ? ` class="${cls}"` : ''} tabindex="-1"${cells ? '' : ' aria-hidden="true"'}>${cells ? renderTranscriptCells(ev, dt, note, mark) : ''}</tr>`;
}

/** The class of an event's transcript row. */
export function transcriptRowClass(ev) {
  if (ev.kind === 'segment') return `seg-row ${actorClass(ev.actor ?? '')}${hasFlag(ev, 'RST') ? ' error' : ''}`;
  return [actorClass(ev.actor ?? ''), isError(ev) ? 'error' : '', ev.inferred ? 'inferred' : '', isBegin(ev) ? 'begin' : isEnd(ev) ? 'end' : ''].filter(Boolean).join(' ');
}

/** The cells of an event's transcript row (see renderTranscriptRow). */
export function renderTranscriptCells(ev, dt, note = '', mark = null) {
  const td = (text) => svg('td', { role: 'cell' }, esc(showInvisible(text)));
  const noteCell = svg('td', { role: 'cell', class: 'note' }, esc(showInvisible(note)));
  if (ev.kind === 'segment') {
    const nums = `seq ${mark?.relSeq ?? ev.tcp_seq ?? 0}${mark?.relAck != null ? ` ack ${mark.relAck}` : ''} win ${ev.window ?? 0}`;
    return td(ev.seq) + td(formatTime(ev.t_ns)) + td(`+${formatDuration(dt)}`) + td(ev.actor ?? '') +
      td(`segment → ${mark?.to || ev.peer || '?'}`) + td(segmentLabel(ev).split(' ')[0]) +
      td(ev.len > 0 ? String(ev.len) : '') + td(nums) + noteCell;
  }
  const err = isError(ev);
  const begin = isBegin(ev);
  const result = begin ? '' : err ? `${ev.ret} ${ev.errno ?? ''}` : isEOF(ev) ? '0 (EOF)' : String(ev.ret);
  const moving = (ev.kind === 'send' || ev.kind === 'recv') && !begin;
  const bytes = moving ? `${ev.bytes ?? 0}${ev.bytes > 0 ? ` @${ev.offset ?? 0}` : ''}` : '';
  // A begin has no result to preview: its call cell says <unfinished …>.
  let detail = begin ? '' : moving ? preview(ev, 48) : eventLabel(ev);
  if (err && ev.error) detail = ev.error;
  // The result elides before the TCP state does: a state is never cut.
  const resultCell = svg('td', { role: 'cell', class: 'result' },
    svg('span', { class: 'ret' }, esc(showInvisible(result))),
    ev.tcp_state ? svg('span', { class: 'tcp' }, esc(showInvisible(ev.tcp_state))) : '');
  return td(ev.seq) + td(formatTime(ev.t_ns)) + td(`+${formatDuration(dt)}`) + td(ev.actor ?? '') +
    svg('td', { role: 'cell', class: 'call', title: showInvisible(callSignature(ev)) }, esc(showInvisible(callSignature(ev)))) +
    resultCell + td(bytes) + td(detail) + noteCell;
}
