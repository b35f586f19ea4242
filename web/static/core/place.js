//# allFunctionsCalledOnLoad
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
  text = String(text ?? '');
  // A string no longer in UTF-16 units than max has no more code points.
  if (text.length <= max) return text;
  const chars = Array.from(text);
  if (chars.length <= max) return chars.join('');
  if (max < 2) return '';
  return `${chars.slice(0, max - 1).join('')}…`;
}

/** The number of characters of text (code points). */
export function charCount(text) {
  text = String(text ?? '');
  // Every UTF-16 unit is a code point but the second of a surrogate pair.
  let n = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xdc00 && c <= 0xdfff) n--;
  }
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

/**
 * Whether two boxes (or any two convex polygons given as corner lists)
 * overlap by more than slack pixels: the separating axis test.
 */
export function overlaps(p, q, slack = 0) {
  return separate(flat(p), flat(q), slack) === false;
}

/** A box's or a corner list's corners as one flat array x0, y0, x1, y1, …. */
function flat(p) {
  if (Array.isArray(p)) return p.flat();
  const a = (p.angle * Math.PI) / 180;
  const ux = Math.cos(a) * p.hw, uy = Math.sin(a) * p.hw; // half the width along the box
  const vx = -Math.sin(a) * p.hh, vy = Math.cos(a) * p.hh; // half the height across it
  // The corners in order around the box.
  return [
    p.cx - ux - vx, p.cy - uy - vy,
    p.cx + ux - vx, p.cy + uy - vy,
    p.cx + ux + vx, p.cy + uy + vy,
    p.cx - ux + vx, p.cy - uy + vy,
  ];
}

/**
 * Whether an axis separates the convex polygons P and Q (flat corner
 * arrays) by at least -slack: the separating axis test, without
 * allocating (it runs for every label tried against its neighbours).
 */
function separate(P, Q, slack) {
  return edgesSeparate(P, P, Q, slack) || edgesSeparate(Q, P, Q, slack);
}

/** Whether the normal of one of poly's edges separates P and Q (separate). */
function edgesSeparate(poly, P, Q, slack) {
  const n = poly.length;
  for (let i = 0; i < n; i += 2) {
    const j = (i + 2) % n;
    const nx = poly[i + 1] - poly[j + 1];
    const ny = poly[j] - poly[i];
    const len = Math.sqrt(nx * nx + ny * ny) || 1;
    let minP = Infinity, maxP = -Infinity, minQ = Infinity, maxQ = -Infinity;
    for (let k = 0; k < P.length; k += 2) {
      const d = (P[k] * nx + P[k + 1] * ny) / len;
      if (d < minP) minP = d;
      if (d > maxP) maxP = d;
    }
    for (let k = 0; k < Q.length; k += 2) {
      const d = (Q[k] * nx + Q[k + 1] * ny) / len;
      if (d < minQ) minQ = d;
      if (d > maxQ) maxQ = d;
    }
    if (maxP - slack <= minQ || maxQ - slack <= minP) return true;
  }
  return false;
}

/** The vertical extent of a box: [top, bottom]. */
export function yExtent(b) {
  const a = (b.angle * Math.PI) / 180;
  const h = Math.abs(Math.sin(a)) * b.hw + Math.abs(Math.cos(a)) * b.hh;
  return [b.cy - h, b.cy + h];
}

/**
 * Boxes kept by their vertical extent, so that a new label is tested only
 * against the boxes beside it: each box is filed under the bands of BAND
 * pixels it spans, in a segment tree over the bands (a box spanning many
 * bands is filed once or twice per level, not once per band), so a query
 * meets only the boxes whose bands it shares, however long the other
 * arrows are. Marks, arrows' labels and arrows' shafts are kept apart: a
 * shaft crossing the whole diagram asks only for the arrows' labels it
 * crosses, and a label that gives way leaves the index.
 */
export class BoxIndex {
  static BAND = 64;

  constructor() {
    this.marks = new BandTree(); // marks' labels and dots
    this.labels = new BandTree(true); // arrows' labels (boxes with an arrow): they give way
    this.shafts = new BandTree();
  }

  /** Adds box b (with any fields beside its geometry). */
  add(b) {
    const q = query(b); // kept on b, where meets() finds it
    this.#tree(b).add(q.lo, q.hi, b);
  }

  /** Takes box b out: it no longer counts in any query. */
  remove(b) {
    b.removed = true;
    this.#tree(b).remove(b); // nothing to do for a box never filed
  }

  #tree(b) {
    return b.shaft ? this.shafts : b.arrow != null ? this.labels : this.marks;
  }

  /** The first box that overlaps b, or null; shafts: whether arrows' shafts count. */
  hit(b, shafts = true) {
    const q = query(b);
    return this.marks.first(q) ?? this.labels.first(q) ?? (shafts ? this.shafts.first(q) : null);
  }

  /** The boxes that overlap b; shafts: whether arrows' shafts count. */
  hits(b, shafts = true) {
    const q = query(b);
    const out = new Set();
    for (const t of shafts ? [this.marks, this.labels, this.shafts] : [this.marks, this.labels]) t.all(q, out);
    return [...out];
  }

  /** The arrows' labels that box b (a shaft) crosses. */
  labelsCrossed(b) {
    const out = new Set();
    this.labels.all(query(b), out);
    return [...out];
  }
}

/**
 * What a BandTree query asks: the box b's extent (its bounding box), bands
 * and, for a rotated box, corners, computed once a box (a box is not moved
 * once made: a label tried somewhere else is a new box), with one sine and
 * cosine. An upright box has no corners: two upright boxes meet when their
 * extents do, and most boxes (marks' labels, level arrows' labels) are
 * upright.
 */
function query(b) {
  if (b.query) return b.query;
  let top, bottom, left, right, pts = null;
  if (b.angle === 0) {
    top = b.cy - b.hh;
    bottom = b.cy + b.hh;
    left = b.cx - b.hw;
    right = b.cx + b.hw;
  } else {
    const a = (b.angle * Math.PI) / 180;
    const cos = Math.cos(a), sin = Math.sin(a);
    const h = Math.abs(sin) * b.hw + Math.abs(cos) * b.hh;
    const w = Math.abs(cos) * b.hw + Math.abs(sin) * b.hh;
    top = b.cy - h;
    bottom = b.cy + h;
    left = b.cx - w;
    right = b.cx + w;
    const ux = cos * b.hw, uy = sin * b.hw; // half the width along the box
    const vx = -sin * b.hh, vy = cos * b.hh; // half the height across it
    pts = [b.cx - ux - vx, b.cy - uy - vy, b.cx + ux - vx, b.cy + uy - vy, b.cx + ux + vx, b.cy + uy + vy, b.cx - ux + vx, b.cy - uy + vy];
  }
  b.query = { top, bottom, left, right, lo: bandOf(top), hi: bandOf(bottom), upright: pts === null, pts };
  return b.query;
}

/** The corners of a query's box, as separate() takes them (an upright box's made once, when first asked). */
function corners(q) {
  return (q.pts ??= [q.left, q.top, q.right, q.top, q.right, q.bottom, q.left, q.bottom]);
}

/**
 * Whether box o (filed) overlaps the box of query q: their extents meet
 * and, if either is rotated, no axis separates them.
 */
function meets(q, o) {
  const p = o.query;
  if (o.removed || p.bottom <= q.top || p.top >= q.bottom || p.right <= q.left || p.left >= q.right) return false;
  return (p.upright && q.upright) || !separate(corners(q), corners(p), 0);
}

/** The band of BoxIndex.BAND pixels that y falls in; everything above 0 in band 0. */
function bandOf(y) {
  return Math.max(0, Math.floor(y / BoxIndex.BAND));
}

/**
 * A segment tree over band numbers 0, 1, 2, … that grows as the diagram
 * does: an item spanning bands lo..hi is filed at the O(log n) nodes that
 * cover that range exactly, and a visit of lo..hi meets the items filed
 * at every node overlapping it, each of which spans a band in lo..hi.
 * Each node counts the filings below it, so a visit skips what is empty
 * (labels that gave way are removed).
 */
class BandTree {
  /** removable: whether items may be removed (they then keep where they are filed). */
  constructor(removable = false) {
    this.removable = removable;
    this.root = node(null);
    this.size = 1; // the root covers bands [0, size)
    this.stack = []; // first()'s, reused
  }

  add(lo, hi, item) {
    while (hi >= this.size) {
      // Grow: the old tree becomes the left half of a new root.
      const root = node(null);
      root.kids = [this.root, null];
      root.n = this.root.n;
      this.root.up = root;
      this.root = root;
      this.size *= 2;
    }
    // Only what may be removed (removable) remembers where it is filed.
    if (this.removable) item.filed = [];
    file(this.root, 0, this.size, lo, hi, item);
  }

  remove(item) {
    for (const at of item.filed ?? []) {
      const i = at.items.indexOf(item);
      if (i < 0) continue;
      at.items[i] = at.items[at.items.length - 1];
      at.items.pop();
      for (let p = at; p; p = p.up) p.n--;
    }
    item.filed = [];
  }

  /** The first item filed at a node overlapping the query's bands that meets its box, or null. */
  first(q) {
    // A label's box spans a band or two: walk the path from the root to
    // each band's leaf, which is all a visit of them would meet, without
    // the stack (hit runs this for every position a label tries).
    if (q.hi - q.lo > 2) return this.#firstOfMany(q);
    for (let band = q.lo; band <= q.hi && band < this.size; band++) {
      let at = this.root, a = 0, b = this.size;
      while (at && at.n > 0) {
        // Newest first: what blocks a label is most often what was just drawn beside it.
        const items = at.items;
        for (let i = items.length - 1; i >= 0; i--) if (meets(q, items[i])) return items[i];
        if (!at.kids) break;
        const m = (a + b) >> 1;
        if (band < m) {
          at = at.kids[0];
          b = m;
        } else {
          at = at.kids[1];
          a = m;
        }
      }
    }
    return null;
  }

  /** first, for a query of many bands: a visit of every node overlapping them. */
  #firstOfMany(q) {
    const stack = this.stack;
    stack.length = 0;
    stack.push(this.root, 0, this.size);
    while (stack.length) {
      const b = stack.pop();
      const a = stack.pop();
      const at = stack.pop();
      if (!at || at.n === 0 || q.hi < a || q.lo >= b) continue;
      const items = at.items;
      for (let i = items.length - 1; i >= 0; i--) if (meets(q, items[i])) return items[i];
      if (at.kids) {
        const m = (a + b) >> 1;
        stack.push(at.kids[1], m, b, at.kids[0], a, m);
      }
    }
    return null;
  }

  /** Adds to out every item filed at a node overlapping the query's bands that meets its box. */
  all(q, out) {
    walk(this.root, 0, this.size, q, out);
  }
}

/** BandTree.add's filing of item, spanning bands lo..hi, under node at covering bands [a, b). */
function file(at, a, b, lo, hi, item) {
  if (lo <= a && b - 1 <= hi) {
    at.items.push(item);
    item.filed?.push(at);
    for (let p = at; p; p = p.up) p.n++;
    return;
  }
  const m = (a + b) >> 1;
  at.kids ??= [null, null];
  if (lo < m) file((at.kids[0] ??= node(at)), a, m, lo, hi, item);
  if (hi >= m) file((at.kids[1] ??= node(at)), m, b, lo, hi, item);
}

/** BandTree.all's visit of node at, covering bands [a, b). */
function walk(at, a, b, q, out) {
  if (!at || at.n === 0 || q.hi < a || q.lo >= b) return;
  for (const it of at.items) if (meets(q, it)) out.add(it);
  if (!at.kids) return;
  const m = (a + b) >> 1;
  walk(at.kids[0], a, m, q, out);
  walk(at.kids[1], m, b, q, out);
}

/** A BandTree node under up (null for the root): n counts the filings at it and below. */
function node(up) {
  return { items: [], kids: null, n: 0, up };
}

/** An arrow's shaft as a thin box, which labels placed later keep clear of. */
export function shaftBox({ x1, y1, x2, y2 }) {
  const len = Math.hypot(x2 - x1, y2 - y1);
  return { cx: (x1 + x2) / 2, cy: (y1 + y2) / 2, hw: len / 2, hh: 0.75, angle: (Math.atan2(y2 - y1, x2 - x1) * 180) / Math.PI, shaft: true };
}

/** How far along an arrow, in px, its label may go from the end it belongs to. */
export const LABEL_REACH = 320;

/**
 * Places one arrow's label: the positions along the arrow from x1,y1 to
 * x2,y2 are tried from the preferred end (near the write for a whole
 * write, near the read for part of one) inward, and the first whose box
 * overlaps nothing in index wins; the label is elided to the arrow's
 * length first; above the arrow, else below it. Returns {text, t, angle,
 * dy, box} or null when it fits
 * nowhere (the arrow then goes unlabelled: its details and the transcript
 * still say everything). crowded says that the arrows just before kept
 * no label.
 */
export function placeArrowLabel(arrow, text, index, { charW, font, ends = 14, step = 9 }, crowded = false) {
  const dx = arrow.x2 - arrow.x1;
  const ady = arrow.y2 - arrow.y1;
  const len = Math.hypot(dx, ady) || 1;
  const angle = (Math.atan2(dx < 0 ? -ady : ady, Math.abs(dx)) * 180) / Math.PI;
  // The label runs along the arrow: at most the arrow's length, less its ends.
  const room = Math.floor((len - 2 * ends) / charW);
  // Shorter forms when the whole one fits nowhere: "bytes 0–1023" as
  // "0–1023", then elided, down to a few characters.
  const place = (candidate, reach = LABEL_REACH) => {
    const label = elide(candidate, room);
    if (!label) return null;
    const w = charCount(label) * charW;
    const min = w / 2 + ends;
    // Near its end or not at all: a label far along a long arrow (a
    // write read by a thousand reads) tells the reader nothing there, and
    // trying every position of every arrow made drawing such a session
    // cubic in its length.
    const max = Math.min(len - w / 2 - ends, min + reach);
    for (const off of [-5, 14]) {
      // Above the arrow, else below it (a fan of arrows: the last one's underside is free).
      for (let from = min; from <= max + 0.01; from += step) {
        const t = arrow.whole ? from / len : 1 - from / len;
        const box = rotatedBox(arrow.x1 + t * dx, arrow.y1 + t * ady, angle, w, font, off);
        if (!index.hit(box)) return { text: label, t, angle, dy: off, box };
      }
    }
    return null;
  };
  // Where the arrows before kept no label (crowded: a fan of a thousand
  // arrows from one write), a label is tried at the arrow's very end only,
  // above and below it: the next arrow would take it away anywhere else.
  // There the whole text is tried, then the shortest form, nothing between:
  // four tries an arrow (a 10,000-read fan tried twelve, a third of its
  // layout time).
  const tries = [text];
  if (text.startsWith('bytes ')) tries.push(text.slice(6));
  const base = tries[tries.length - 1];
  const shortest = () => {
    const n = Math.min(room, charCount(base)) - 3;
    return n >= 6 ? elide(base, n - 3 * Math.floor((n - 6) / 3)) : base;
  };
  if (crowded) return place(text, 0) ?? place(shortest(), 0);
  for (let n = Math.min(room, charCount(base)) - 3; n >= 6; n -= 3) tries.push(elide(base, n));
  // Where not even the shortest form fits, no longer one does (its box
  // holds the shorter's): a crowded arrow costs one search, not one a form.
  if (tries.length > 1 && !place(tries[tries.length - 1])) return null;
  for (const candidate of tries) {
    const placed = place(candidate);
    if (placed) return placed;
  }
  return null;
}
