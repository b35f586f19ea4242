// Layout of the saved sessions in trace/testdata: marks, rows, and arrows
// paired by byte range, compared with the same goldens as Go's
// trace.Messages (trace/testdata/NAME.messages.json).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { layout, SCALES } from '../static/core/layout.js';

const testdata = new URL('../../trace/testdata/', import.meta.url);
const SESSIONS = ['serviceclient', 'stream', 'refused', 'reset', 'backpressure'];
const load = (file) => JSON.parse(readFileSync(new URL(file, testdata), 'utf8'));

/** The layout's arrows as trace.Messages pairs: in recv order, then send order. */
function pairs(rec, L) {
  const bySeq = new Map(rec.events.map((e) => [e.seq, e]));
  return L.arrows
    .map((a) => ({ conn: bySeq.get(a.sendSeq).conn, from: a.from, to: a.to, send_seq: a.sendSeq, recv_seq: a.recvSeq, offset: a.lo, bytes: a.hi - a.lo }))
    .sort((a, b) => a.recv_seq - b.recv_seq || a.send_seq - b.send_seq);
}

for (const name of SESSIONS) {
  const rec = load(`${name}.json`);
  test(`${name}: arrows paired by byte range match ${name}.messages.json (trace.Messages)`, () => {
    for (const scale of SCALES) assert.deepEqual(pairs(rec, layout(rec, { scale })), load(`${name}.messages.json`), scale);
  });
  test(`${name}: one mark and one row per event, rows going down`, () => {
    for (const scale of SCALES) {
      const L = layout(rec, { scale });
      assert.equal(L.marks.length, rec.events.length, scale);
      assert.equal(L.rows.length, rec.events.length, scale);
      assert.deepEqual(L.marks.map((m) => m.seq), rec.events.map((e) => e.seq), scale);
      for (let i = 1; i < L.rows.length; i++) assert.ok(L.rows[i].y >= L.rows[i - 1].y, `${scale}: row ${i} above row ${i - 1}`);
      for (const m of L.marks) assert.ok(L.actors.some((a) => a.name === m.actor && a.x === m.x), `${scale}: mark ${m.seq} off its lifeline`);
    }
  });
  test(`${name}: every arrow points down (its read's mark not above its write's)`, () => {
    for (const scale of SCALES) {
      for (const a of layout(rec, { scale }).arrows) assert.ok(a.y2 >= a.y1, `${scale}: ${a.sendSeq}→${a.recvSeq} points up`);
    }
  });
}

test('serviceclient: actors in the record\'s order, whole writes labelled as the write', () => {
  const rec = load('serviceclient.json');
  const L = layout(rec);
  assert.deepEqual(L.actors.map((a) => a.name), rec.actors);
  const whole = L.arrows.filter((a) => a.whole);
  assert.ok(whole.length > 0);
  for (const a of whole) {
    assert.match(a.full, /^write /);
    // Shown whole or elided (the details say it whole), never another text.
    if (a.label) assert.ok(a.full.startsWith(a.label.replace(/…$/, '')), a.label);
  }
});

test('stream: one write read by several reads is labelled by byte range', () => {
  const L = layout(load('stream.json'));
  const parts = L.arrows.filter((a) => !a.whole);
  assert.ok(parts.length > 1);
  for (const a of parts) {
    assert.equal(a.full, `bytes ${a.lo}–${a.hi - 1}`);
    const shown = a.label.replace(/…$/, '');
    if (a.label) assert.ok(a.full.startsWith(shown) || a.full.slice(6).startsWith(shown), a.label);
  }
});

test("a Flowing write's arrows start at its begin, and its end adds none", () => {
  // A traced program's blocking write: reads of its bytes come before its end.
  const conn = '127.0.0.1:1-127.0.0.1:2';
  const send = { actor: 'client', kind: 'send', fd: 3, conn, offset: 0, call: 1 };
  const recv = (seq, offset) => ({ seq, t_ns: seq * 1000, actor: 'server', kind: 'recv', fd: 4, ret: 100, conn, want: 100, bytes: 100, offset, data: 'x'.repeat(100) });
  const events = [
    { ...send, seq: 0, t_ns: 0, phase: 'begin', want: 300, bytes: 0, flowing: true, ret: 0 },
    recv(1, 0),
    recv(2, 100),
    { ...send, seq: 3, t_ns: 3000, phase: 'end', want: 300, bytes: 300, ret: 300, blocked: true, data: 'x'.repeat(300) },
    recv(4, 200),
  ];
  const L = layout({ actors: ['client', 'server'], events }, { scale: 'compact', width: 848 });
  assert.equal(L.arrows.length, 3, 'one arrow a read');
  const begin = L.marks.find((m) => m.seq === 0);
  for (const a of L.arrows) {
    assert.equal(a.sendSeq, 0, `arrow to #${a.recvSeq} from #${a.sendSeq}, not the begin`);
    assert.equal(a.y1, begin.y, 'the arrow leaves from the begin');
  }
});

for (const name of SESSIONS) {
  test(`${name}: every write says what it did, on its mark or on its arrow`, () => {
    for (const scale of SCALES) {
      const L = layout(load(`${name}.json`), { scale });
      for (const m of L.marks.filter((x) => x.kind === 'send' && x.phase !== 'begin' && !x.error)) {
        const arrows = L.arrows.filter((a) => a.sendSeq === m.seq);
        // A paired mark hides its label: a whole write's labelled arrow must say it instead.
        if (m.paired) assert.ok(arrows.some((a) => a.whole && a.label.startsWith('write')), `${scale}: write #${m.seq} is paired, but no arrow of it says the write`);
        else assert.ok(m.label.startsWith('write'), `${scale}: write #${m.seq} is not paired, and its label is ${JSON.stringify(m.label)}`);
        if (arrows.length > 1) assert.ok(!m.paired, `${scale}: write #${m.seq}, read in ${arrows.length} parts, hides its label`);
      }
    }
  });
}
