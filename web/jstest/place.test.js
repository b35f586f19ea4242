// Label placement (core/place.js through the layout): at every width the
// diagram fits into, no two labels overlap, none leaves the drawing, no
// arrow's shaft crosses another arrow's label; and the one escaping path:
// esc for markup, escapeText / showInvisible for what does not show,
// cleanEvent for the types of what a record brings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { layout, shortenLabel } from '../static/core/layout.js';
import { fitGeometry, geometryWidth, textBox, rotatedBox, overlaps, shaftBox, charCount, elide, BoxIndex } from '../static/core/place.js';
import { escapeText, showInvisible, esc } from '../static/core/format.js';
import { renderMark, renderSegmentMark } from '../static/core/markup.js';
import { cleanEvent, asRecord, recordHead } from '../static/core/record.js';

const testdata = new URL('../../trace/testdata/', import.meta.url);
const SESSIONS = ['serviceclient', 'stream', 'refused', 'reset', 'backpressure'];
const load = (name) => JSON.parse(readFileSync(new URL(`${name}.json`, testdata), 'utf8'));
const WIDTHS = [0, 340, 390, 600, 848, 1200];

/** The boxes of every label the layout L shows: marks' (with their TCP state) and arrows'. */
function labelBoxes(L) {
  const g = L.geo;
  const boxes = [];
  for (const m of L.marks) {
    if (m.kind === 'segment' || !m.label) continue;
    const left = m.side === 'left';
    const w = charCount(m.label) * g.charW + (m.tcp && !m.tcpHidden ? 8 + charCount(m.tcp) * 11 * 0.61 : 0);
    boxes.push({ what: `mark ${m.seq} ${m.label}`, box: textBox(left ? m.x - 12 : m.x + 12, m.y + 4.5, w, g.font, left ? 'end' : 'start') });
  }
  L.arrows.forEach((a, i) => {
    if (!a.label) return;
    const dx = a.x2 - a.x1;
    const dy = a.y2 - a.y1;
    const w = charCount(a.label) * g.charW;
    boxes.push({ what: `arrow ${i} ${a.label}`, arrow: i, box: rotatedBox(a.x1 + a.t * dx, a.y1 + a.t * dy, a.angle, w, g.font, a.dy ?? -5) });
  });
  return boxes;
}

test('fitGeometry fits n lifelines into the width, never wider than the widest', () => {
  for (const n of [1, 2, 3, 4, 6, 17]) {
    const wide = geometryWidth(fitGeometry(0, n), n);
    for (const w of [320, 390, 600, 848, 1280, 3000]) {
      const g = fitGeometry(w, n);
      assert.ok(geometryWidth(g, n) <= w, `n ${n} width ${w}: ${geometryWidth(g, n)}`);
      assert.ok(geometryWidth(g, n) <= wide + 0.5, `n ${n} width ${w}: wider than the widest`);
      assert.equal(g.phone, w < 600);
    }
  }
});

test('the separating axis test: upright and rotated boxes', () => {
  const a = { cx: 0, cy: 0, hw: 10, hh: 5, angle: 0 };
  assert.ok(overlaps(a, { cx: 15, cy: 0, hw: 10, hh: 5, angle: 0 }));
  assert.ok(!overlaps(a, { cx: 25, cy: 0, hw: 4, hh: 5, angle: 0 }));
  // Rotated 45°: its corner reaches where its upright box would not.
  assert.ok(!overlaps(a, { cx: 0, cy: 20, hw: 10, hh: 2, angle: 0 }));
  assert.ok(overlaps(a, { cx: 0, cy: 12, hw: 10, hh: 2, angle: 45 }));
  const index = new BoxIndex();
  index.add(a);
  assert.equal(index.hit({ cx: 5, cy: 3, hw: 2, hh: 2, angle: 30 }), a);
  assert.equal(index.hit({ cx: 500, cy: 3, hw: 2, hh: 2, angle: 30 }), null);
});

for (const name of SESSIONS) {
  const rec = load(name);
  test(`${name}: at every width no two labels overlap, none leaves the drawing, no shaft crosses a label`, () => {
    for (const width of WIDTHS) {
      for (const scale of ['compact', 'proportional', 'logarithmic']) {
        const L = layout(rec, { scale, width });
        const at = `${scale} at ${width || 'the widest'}`;
        if (width) assert.ok(L.width <= width, `${at}: ${L.width} px wide`);
        const boxes = labelBoxes(L);
        assert.ok(boxes.length > 0, at);
        const index = new BoxIndex();
        for (const b of boxes) {
          const other = index.hit(b.box);
          assert.equal(other, null, `${at}: ${b.what} overlaps ${other?.what}`);
          b.box.what = b.what;
          index.add(b.box);
          const [x0, x1] = [b.box.cx - b.box.hw * Math.abs(Math.cos((b.box.angle * Math.PI) / 180)) - b.box.hh * Math.abs(Math.sin((b.box.angle * Math.PI) / 180)),
            b.box.cx + b.box.hw * Math.abs(Math.cos((b.box.angle * Math.PI) / 180)) + b.box.hh * Math.abs(Math.sin((b.box.angle * Math.PI) / 180))];
          assert.ok(x0 >= -1 && x1 <= L.width + 1, `${at}: ${b.what} spans ${x0}…${x1} of ${L.width}`);
        }
        L.arrows.forEach((a, i) => {
          const shaft = shaftBox(a);
          for (const b of boxes) if (b.arrow !== undefined && b.arrow !== i) assert.ok(!overlaps(shaft, b.box), `${at}: arrow ${i}'s shaft crosses ${b.what}`);
        });
      }
    }
  });
  test(`${name}: a label shown shortened keeps its full text for the details`, () => {
    const L = layout(rec, { width: 360 });
    for (const m of L.marks) if (m.kind !== 'segment') assert.ok(m.label === m.full || m.label.length <= m.full.length + 1, m.full);
    for (const a of L.arrows) assert.ok(a.full && (a.label === '' || charCount(a.label) <= charCount(a.full)), a.full);
  });
}

test('shortenLabel keeps a blocked call\'s time before the word blocked', () => {
  assert.equal(shortenLabel('accept… blocked 1.20 s', 30), 'accept… blocked 1.20 s');
  assert.equal(shortenLabel('accept… blocked 1.20 s', 16), 'accept… 1.20 s');
  assert.equal(shortenLabel('accept… blocked 1.20 s', 10), 'accept…'); // no room for the time: the call alone
  assert.equal(shortenLabel('accept… blocked 1.20 s', 5), 'acce…'); // not even that: elided as any label
});

test('shortenLabel keeps the result: connect → ECONNREFUSED', () => {
  assert.equal(shortenLabel('connect 127.0.0.1:40539 → ECONNREFUSED', 22), 'connect → ECONNREFUSED');
  assert.equal(shortenLabel('connect 127.0.0.1:40539 → ECONNREFUSED', 16), '→ ECONNREFUSED');
  assert.equal(shortenLabel('socket → fd 14', 40), 'socket → fd 14');
  assert.equal(shortenLabel('read → ECONNRESET', 16), '→ ECONNRESET');
  assert.equal(shortenLabel('accept → fd 24 127.0.0.1:33088', 24), 'accept → fd 24 127.0.0.…');
  assert.equal(elide('abcdef', 4), 'abc…');
  assert.equal(elide('ab', 1), '');
});

test('shortenLabel keeps the call\'s name before a result cut short: socket →…, not → fd 15', () => {
  assert.equal(shortenLabel('socket → fd 15', 9), 'socket →…');
  assert.equal(shortenLabel('socket → fd 24', 8), 'socket→'); // the name and its arrow: "socket…" would say it blocked
  assert.equal(shortenLabel('accept → fd 24 127.0.0.1:33088', 12), 'accept → fd…');
  assert.equal(shortenLabel('getaddrinfo 127.0.0.1:40001 → 127.0.0.1:40001', 10), 'getaddrin…');
  assert.equal(shortenLabel('getaddrinfo → fd 3', 9), '→ fd 3'); // the name and its arrow do not fit: the result
});

test('invisible characters show as visible escapes', () => {
  const s = 'a\u200bb\ufeffc\u0085d\u202ee\u2028f\u2029g\u00adh\u{e0001}i\u0000j\u061c';
  assert.equal(escapeText(s), 'a\\u200bb\\ufeffc\\x85d\\u202ee\\u2028f\\u2029g\\xadh\\u{e0001}i\\x00j\\u061c');
  assert.equal(showInvisible('cli\u200bent"\\'), 'cli\\u200bent"\\');
  assert.doesNotMatch(escapeText(s), /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u);
  const L = layout({ actors: ['cli\u200bent'], events: [{ seq: 0, t_ns: 0, actor: 'cli\u200bent', kind: 'send', fd: 3, ret: 5, bytes: 5, offset: 0, conn: 'c', data: 'a\u202eb\ufeff' }] });
  assert.doesNotMatch(L.marks[0].label, /[\p{Cf}]/u);
  assert.match(L.marks[0].label, /\\u202e/);
});

test('one escaping helper: a crafted seq or actor never becomes markup', () => {
  const evil = '1"><image href=x onerror=alert(1)>';
  const m = { seq: evil, kind: 'segment', actor: evil, x: 10, y: 10, x2: 50, label: evil, side: 'left', sentence: evil, t: 0 };
  for (const markup of [renderSegmentMark(m), renderMark({ ...m, kind: 'send', phase: '', call: 0 })]) {
    assert.doesNotMatch(markup, /<image/, markup); // the payload stays inside quoted, escaped values
    assert.match(markup, /data-seq="1&quot;&gt;&lt;image/);
  }
  assert.equal(esc(evil), '1&quot;&gt;&lt;image href=x onerror=alert(1)&gt;');
});

test('cleanEvent keeps only fields of the right types', () => {
  assert.equal(cleanEvent({ seq: '1"><img>' }), null);
  assert.equal(cleanEvent(null), null);
  assert.equal(cleanEvent([1]), null);
  const ev = cleanEvent({ seq: 3, t_ns: '5', actor: ['a'], kind: { x: 1 }, fd: 4, flags: 'SYN', data_b64: '<img>', blocked: 'yes', line: 7, errno: 'EPIPE' });
  assert.deepEqual(ev, { seq: 3, t_ns: 0, actor: '?', kind: 'call', fd: 4, line: 7, errno: 'EPIPE' });
  const rec = asRecord({ id: 7, state: '<b>', actors: 'x', events: { 0: { seq: 0 } }, sources: 'x' });
  assert.deepEqual([rec.id, rec.state, rec.actors, rec.events, rec.sources], [undefined, 'done', [], [], undefined]);
});

test('recordHead orders the events that can be events and leaves their cleaning to the drawing', () => {
  const raw = [{ seq: 2, actor: 'server', t_ns: 'late' }, 'x', { seq: -1 }, { seq: 0, actor: ['a'] }, [3], { seq: 1.5 }, { seq: 1, actor: 'client', fd: '4' }];
  const head = recordHead({ events: raw, actors: ['client'] });
  assert.deepEqual(head.events.map((ev) => ev.seq), [0, 1, 2]);
  assert.equal(head.events[2], raw[0], 'not copied: cleaned when drawn');
  assert.deepEqual(head.actors, ['client', '?', 'server']);
  assert.equal(head.event_count, 3);
  // asRecord is recordHead with every event cleaned: the same events, the same actors.
  const rec = asRecord({ events: raw, actors: ['client'] });
  assert.deepEqual(rec.events, head.events.map(cleanEvent));
  assert.deepEqual(rec.actors, head.actors);
  assert.deepEqual(rec.events[1], { seq: 1, actor: 'client', t_ns: 0, kind: 'call' });
});

test('a fan of 400 reads of one write costs a bounded number of label tries an arrow, and no label overlaps', () => {
  // One 300,000-byte write read 100 bytes at a time: every arrow starts at
  // the write, and each is longer than the one before. Trying every
  // position of every arrow made this cubic (minutes for 10,000 reads).
  const conn = '127.0.0.1:1-127.0.0.1:2';
  const reads = 400;
  const events = [{ seq: 0, t_ns: 0, actor: 'client', kind: 'send', fd: 3, ret: 100 * reads, conn, want: 100 * reads, bytes: 100 * reads, offset: 0, data: 'x'.repeat(4096), truncated: true }];
  for (let i = 0; i < reads; i++) {
    events.push({ seq: i + 1, t_ns: 1000 * (i + 1), actor: 'server', kind: 'recv', fd: 4, ret: 100, conn, want: 100, bytes: 100, offset: 100 * i, data: 'x'.repeat(100) });
  }
  let tries = 0;
  const hit = BoxIndex.prototype.hit;
  BoxIndex.prototype.hit = function (...args) {
    tries++;
    return hit.apply(this, args);
  };
  try {
    const L = layout({ actors: ['server', 'client'], events }, { scale: 'compact', width: 848 });
    assert.equal(L.arrows.length, reads);
    assert.ok(tries / reads < 40, `${(tries / reads).toFixed(1)} tries an arrow`);
    const boxes = labelBoxes(L);
    assert.ok(boxes.some((b) => b.arrow != null), 'no arrow kept a label (the last of the fan has room)');
    const index = new BoxIndex();
    for (const b of boxes) {
      const other = index.hit(b.box);
      assert.equal(other, null, `${b.what} overlaps ${other?.what}`);
      b.box.what = b.what;
      index.add(b.box);
    }
    // No arrow's shaft crosses another arrow's label.
    const shafts = new BoxIndex();
    L.arrows.forEach((a, i) => shafts.add({ ...shaftBox(a), what: `arrow ${i}'s shaft`, of: i }));
    for (const b of boxes) {
      const crossing = shafts.hits(b.box).filter((s) => s.of !== b.arrow);
      assert.deepEqual(crossing.map((s) => s.what), [], `${b.what} is crossed`);
    }
  } finally {
    BoxIndex.prototype.hit = hit;
  }
});
