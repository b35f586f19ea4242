/**
 * place.js — where the diagram's texts go so that none overlaps another:
 * the geometry that fits a width, label boxes (upright or rotated along an
 * arrow), a collision test between them, and eliding. Pure: no DOM.
 */

/** Width of one character of the diagram's monospace text, in ems. */
export const CHAR_EM = 0.61;

/** The largest geometry: lifelines this far apart, this much room beside the outer ones. */
export const WIDE = Object.freeze({ gutter: 84, side: 300, spacing: 300, narrowSpacing: 210, manyActors: 5 });

/** How much more room a side (for labels) gets than a gap between lifelines. */
const SIDE_WEIGHT = 1.3;

/** Below this width (CSS px) the diagram takes its phone geometry. */
export const PHONE = 600;

/**
 * The geometry that fits n lifelines into width CSS pixels: the Δt
 * gutter, the room for labels beside the outer lifelines (side), the
 * spacing between lifelines, the label font size and the width of one
 * character. Without a width (0, undefined) the widest geometry, as
 * before fitting existed. Lifelines never grow apart beyond the widest
 * geometry; on a narrow width they come as close as it takes to fit,
 * labels being elided to the room left (never cut by an edge).
 */
export function fitGeometry(width, n) {
  n = Math.max(1, n | 0);
  const maxSpacing = n > WIDE.manyActors ? WIDE.narrowSpacing : WIDE.spacing;
  if (!(width > 0)) return geometry(13, WIDE.gutter, WIDE.side, maxSpacing, false);
  const phone = width < PHONE;
  const font = phone ? 11 : 13;
  // A phone has no room for the Δt column: the transcript has it.
  const gutter = phone ? 0 : WIDE.gutter;
  const avail = Math.max(0, width - gutter - 6);
  // Sides and gaps share the width, a side (labels) a little more than a
  // gap (arrows), each at most the widest.
  const unit = avail / (n - 1 + 2 * SIDE_WEIGHT);
  const side = Math.min(WIDE.side, unit * SIDE_WEIGHT);
  const spacing = n > 1 ? Math.min(maxSpacing, (avail - 2 * side) / (n - 1)) : maxSpacing;
  return geometry(font, gutter, side, spacing, phone);
}

function geometry(font, gutter, side, spacing, phone) {
  const r = (v) => Math.floor(v * 10) / 10;
  return { font, charW: font * CHAR_EM, gutter, side: r(side), spacing: r(spacing), phone };
}

/** The full width of a diagram of n lifelines in geometry g. */
export function geometryWidth(g, n) {
  return g.gutter + 2 * g.side + Math.max(0, n - 1) * g.spacing;
}

/**
 * text cut to at most max characters (code points), ending in "…" when
 * cut; '' when not even one character and the ellipsis fit.
 */
export function elide(text, max) {
  const chars = Array.from(String(text ?? ''));
  if (chars.length <= max) return chars.join('');
  if (max < 2) return '';
  return `${chars.slice(0, max - 1).join('')}…`;
}

/** The number of characters of text (code points). */
export function charCount(text) {
  let n = 0;
  for (const _ of String(text ?? '')) n++;
  return n;
}

/**
 * The box of an upright label: text-anchor start or end at x, baseline
 * at baseline, width w, in font size font. Boxes are
 * {cx, cy, hw, hh, angle} (centre, half sizes, angle in degrees).
 */
export function textBox(x, baseline, w, font, anchor) {
  const top = baseline - font * 0.82;
  const bottom = baseline + font * 0.24;
  const x1 = anchor === 'end' ? x - w : anchor === 'middle' ? x - w / 2 : x;
  return { cx: x1 + w / 2, cy: (top + bottom) / 2, hw: w / 2 + 1, hh: (bottom - top) / 2 + 1, angle: 0 };
}

/**
 * The box of a label drawn at translate(px py) rotate(angle), text
 * anchored in the middle at y = dy: a rotated rectangle.
 */
export function rotatedBox(px, py, angle, w, font, dy) {
  const top = dy - font * 0.82;
  const bottom = dy + font * 0.24;
  const mid = (top + bottom) / 2;
  const a = (angle * Math.PI) / 180;
  // The local centre (0, mid) rotated by angle about the origin.
  return { cx: px - Math.sin(a) * mid, cy: py + Math.cos(a) * mid, hw: w / 2 + 1, hh: (bottom - top) / 2 + 1, angle };
}

/** The four corners of a box, in order around it. */
export function corners(b) {
  const a = (b.angle * Math.PI) / 180;
  const ux = Math.cos(a);
  const uy = Math.sin(a);
  const pts = [];
  for (const [sx, sy] of [[-1, -1], [1, -1], [1, 1], [-1, 1]]) {
    pts.push([b.cx + sx * b.hw * ux - sy * b.hh * uy, b.cy + sx * b.hw * uy + sy * b.hh * ux]);
  }
  return pts;
}

/**
 * Whether two boxes (or any two convex polygons given as corner lists)
 * overlap by more than slack pixels: the separating axis test.
 */
export function overlaps(p, q, slack = 0) {
  const P = Array.isArray(p) ? p : corners(p);
  const Q = Array.isArray(q) ? q : corners(q);
  for (const poly of [P, Q]) {
    for (let i = 0; i < poly.length; i++) {
      const [x1, y1] = poly[i];
      const [x2, y2] = poly[(i + 1) % poly.length];
      const nx = y1 - y2;
      const ny = x2 - x1;
      const len = Math.hypot(nx, ny) || 1;
      let minP = Infinity, maxP = -Infinity, minQ = Infinity, maxQ = -Infinity;
      for (const [x, y] of P) { const d = (x * nx + y * ny) / len; minP = Math.min(minP, d); maxP = Math.max(maxP, d); }
      for (const [x, y] of Q) { const d = (x * nx + y * ny) / len; minQ = Math.min(minQ, d); maxQ = Math.max(maxQ, d); }
      if (maxP - slack <= minQ || maxQ - slack <= minP) return false;
    }
  }
  return true;
}

/** The vertical extent of a box: [top, bottom]. */
export function yExtent(b) {
  const a = (b.angle * Math.PI) / 180;
  const h = Math.abs(Math.sin(a)) * b.hw + Math.abs(Math.cos(a)) * b.hh;
  return [b.cy - h, b.cy + h];
}

/**
 * Boxes kept in bands of BAND pixels by their vertical extent, so that a
 * new label is tested against its neighbours only.
 */
export class BoxIndex {
  static BAND = 64;

  constructor() {
    this.bands = new Map();
    this.count = 0;
  }

  /** Adds box b (with any fields beside its geometry). */
  add(b) {
    const [top, bottom] = yExtent(b);
    for (let k = Math.floor(top / BoxIndex.BAND); k <= Math.floor(bottom / BoxIndex.BAND); k++) {
      let list = this.bands.get(k);
      if (!list) this.bands.set(k, (list = []));
      list.push(b);
    }
    this.count++;
  }

  /** The first box that overlaps b, or null; shafts: whether arrows' shafts count. */
  hit(b, shafts = true) {
    return this.hits(b, shafts, true)[0] ?? null;
  }

  /** The boxes that overlap b (the first only, if first); removed ones do not count. */
  hits(b, shafts = true, first = false) {
    const slack = 0;
    const out = [];
    const [top, bottom] = yExtent(b);
    const P = corners(b);
    for (let k = Math.floor(top / BoxIndex.BAND); k <= Math.floor(bottom / BoxIndex.BAND); k++) {
      for (const o of this.bands.get(k) ?? []) {
        if (o.removed || (o.shaft && !shafts) || out.includes(o)) continue;
        const [ot, ob] = yExtent(o);
        if (ob <= top || ot >= bottom) continue;
        if (overlaps(P, o, slack)) {
          out.push(o);
          if (first) return out;
        }
      }
    }
    return out;
  }
}

/** An arrow's shaft as a thin box, which labels placed later keep clear of. */
export function shaftBox({ x1, y1, x2, y2 }) {
  const len = Math.hypot(x2 - x1, y2 - y1);
  return { cx: (x1 + x2) / 2, cy: (y1 + y2) / 2, hw: len / 2, hh: 0.75, angle: (Math.atan2(y2 - y1, x2 - x1) * 180) / Math.PI, shaft: true };
}

/**
 * Places one arrow's label: the positions along the arrow from x1,y1 to
 * x2,y2 are tried from the preferred end (near the write for a whole
 * write, near the read for part of one) inward, and the first whose box
 * overlaps nothing in index wins; the label is elided to the arrow's
 * length first; above the arrow, else below it. Returns {text, t, angle,
 * dy, box} or null when it fits
 * nowhere (the arrow then goes unlabelled: its details and the transcript
 * still say everything).
 */
export function placeArrowLabel(arrow, text, index, { charW, font, ends = 14, step = 9 }) {
  const dx = arrow.x2 - arrow.x1;
  const ady = arrow.y2 - arrow.y1;
  const len = Math.hypot(dx, ady) || 1;
  const angle = (Math.atan2(dx < 0 ? -ady : ady, Math.abs(dx)) * 180) / Math.PI;
  // The label runs along the arrow: at most the arrow's length, less its ends.
  const room = Math.floor((len - 2 * ends) / charW);
  // Shorter forms when the whole one fits nowhere: "bytes 0–1023" as
  // "0–1023", then elided, down to a few characters.
  const tries = [text];
  if (/^bytes /.test(text)) tries.push(text.slice(6));
  const base = tries[tries.length - 1];
  for (let n = Math.min(room, charCount(base)) - 3; n >= 6; n -= 3) tries.push(elide(base, n));
  for (const candidate of tries) {
    const label = elide(candidate, room);
    if (!label) continue;
    const w = charCount(label) * charW;
    const min = w / 2 + ends;
    const max = len - w / 2 - ends;
    for (const off of [-5, 14]) {
      // Above the arrow, else below it (a fan of arrows: the last one's underside is free).
      for (let from = min; from <= max + 0.01; from += step) {
        const t = arrow.whole ? from / len : 1 - from / len;
        const box = rotatedBox(arrow.x1 + t * dx, arrow.y1 + t * ady, angle, w, font, off);
        if (!index.hit(box)) return { text: label, t, angle, dy: off, box };
      }
    }
  }
  return null;
}
