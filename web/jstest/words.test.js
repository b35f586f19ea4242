// Labels, transcript sentences and kernel notes of the saved sessions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { eventLabel, transcriptSentence, callSignature, explain, beginLabel, plural, classVotes, votesNote, detailRows, noteSentence } from '../static/core/words.js';
import { callName, isEOF, isError, cleanEvent } from '../static/core/record.js';
import { clockTime, formatDuration, formatTime, preview } from '../static/core/format.js';
import { countText, statusText, unreachable } from '../static/core/api.js';

const load = (name) => JSON.parse(readFileSync(new URL(`../../trace/testdata/${name}.json`, import.meta.url), 'utf8'));
const sc = load('serviceclient');
const find = (rec, pred) => rec.events.find(pred);

test('calls are named as the program calls them: write and read', () => {
  assert.equal(callName({ kind: 'send' }), 'write');
  assert.equal(callName({ kind: 'recv' }), 'read');
  assert.equal(callName({ kind: 'connect' }), 'connect');
});

test('labels say what a call returned', () => {
  const w = find(sc, (e) => e.kind === 'send' && e.actor === 'client');
  assert.match(eventLabel(w), new RegExp(`^write ${w.bytes} `));
  const eof = find(sc, (e) => isEOF(e));
  assert.equal(eventLabel(eof), 'read 0 (EOF)');
  const refused = find(load('refused'), (e) => e.kind === 'connect' && isError(e));
  assert.match(eventLabel(refused), /ECONNREFUSED/);
});

test('every event of every saved session has a label, a sentence and a signature', () => {
  for (const name of ['serviceclient', 'stream', 'refused', 'reset', 'backpressure']) {
    for (const ev of load(name).events) {
      assert.ok(eventLabel(ev), `${name} #${ev.seq}: no label`);
      if (ev.kind === 'segment') continue;
      const s = transcriptSentence(ev);
      assert.ok(s.startsWith(ev.actor), `${name} #${ev.seq}: ${s}`);
      assert.ok(callSignature(ev).includes(callName(ev)), `${name} #${ev.seq}: ${callSignature(ev)}`);
    }
  }
});

test('transcript sentences of serviceclient', () => {
  const sentences = sc.events.map((ev) => transcriptSentence(ev));
  assert.ok(sentences.some((s) => /^client shut down its sending side \(SHUT_WR\)$/.test(s)), 'no sentence for the shutdown');
  assert.ok(sentences.some((s) => /^server's read returned 0: end of file$/.test(s)), 'no sentence for the end of file');
  assert.ok(sentences.every((s) => !/\bundefined\b|\bNaN\b/.test(s)), sentences.join('\n'));
});

test('kernel notes: shutdown(SHUT_WR) sends FIN', () => {
  const sh = find(sc, (e) => e.kind === 'shutdown');
  assert.match(explain(sh), /FIN/);
});

test("a run's start shows as its local wall-clock time, and nothing when it is not a time", () => {
  // Local time, whatever the machine's zone: the Date is made in it.
  assert.equal(clockTime(new Date(2026, 11, 3, 7, 5, 9).toISOString()), '07:05:09');
  assert.equal(clockTime(new Date(2026, 11, 3, 23, 59, 0, 999).toISOString()), '23:59:00');
  for (const bad of ['', 'yesterday', null, undefined, 1764745509000]) assert.equal(clockTime(bad), '', String(bad));
});

test('durations, times, previews and counts', () => {
  assert.equal(formatDuration(52_300), '52.3 µs');
  assert.equal(formatDuration(1_250_000), '1.25 ms');
  // What rounds up to 1000 of a unit is one of the next (it read "+1000 ms" among "+1.00 s").
  assert.equal(formatDuration(999_700_000), '1.00 s');
  assert.equal(formatDuration(999_600), '1.00 ms');
  assert.equal(formatDuration(999.6), '1.00 µs');
  assert.equal(formatDuration(999_400_000), '999 ms');
  assert.equal(formatDuration(-999_700_000), '-1.00 s');
  assert.match(formatTime(1_500_000_000), /^1\.500 s$/);
  assert.equal(preview({ data: 'alice\nbob\n' }), '"alice\\nbob\\n"');
  assert.equal(beginLabel({ kind: 'recv' }), 'read… blocked');
  assert.equal(plural(1, 'event'), '1 event');
  assert.equal(countText(12, null), '12 events');
  assert.equal(countText(13, { calls: 9, segments: 4 }), '9 calls, 4 segments');
  assert.equal(statusText('failed', 'boom', null, null, 'Echo — '), 'Echo — failed: boom');
  assert.equal(statusText('running', '', { events: [{}, {}] }, null, 'x '), 'x running: 2 events');
});

test('an event the class was asked about says how it voted and what the kernel did', () => {
  const asked = { text: 'What will this read return?', choices: ['bytes', '0 (EOF)', 'it blocks'], choice_ids: ['data', 'eof', 'blocks'], tally: [3, 5, 1] };
  const ev = cleanEvent({ seq: 9, actor: 'server', kind: 'recv', fd: 4, ret: 0, eof: true, answer: 'eof', asked });
  assert.deepEqual(ev.asked, asked, 'cleanEvent keeps the question and its tally');
  const v = classVotes(ev);
  assert.equal(v.question, asked.text);
  assert.equal(v.said, '3 for “bytes”; 5 for “0 (EOF)”; 1 for “it blocks”');
  assert.equal(v.kernel, '0 (EOF)');
  assert.equal(votesNote(ev), 'the class was asked: 5 of 9 answers right');
  const rows = new Map(detailRows(ev));
  assert.equal(rows.get('the class said'), '3 for “bytes”; 5 for “0 (EOF)”; 1 for “it blocks”');
  assert.equal(rows.get('the kernel did'), '0 (EOF)');
  assert.equal(votesNote(cleanEvent({ ...ev, asked: { ...asked, tally: [0, 0, 0] } })), 'the class was asked: nobody answered');
  assert.equal(classVotes(cleanEvent({ seq: 1, actor: 'client', kind: 'recv' })), null);
  assert.equal(cleanEvent({ seq: 1, actor: 'client', kind: 'recv', asked: 'not a question' }).asked, undefined, 'a question of the wrong type is left out');
});

test('a kernel note reads as a sentence of its own, phrase or clause', () => {
  const refused = explain({ kind: 'connect', ret: -1, errno: 'ECONNREFUSED' });
  const eof = explain({ kind: 'recv', ret: 0, bytes: 0, eof: true });
  assert.equal(noteSentence(refused), 'The port had no listener: the peer answered SYN with RST.');
  assert.match(noteSentence(eof), /^Returns 0: the peer sent FIN .*\.$/);
  assert.equal(noteSentence(''), '');
});

test('a request with no answer says why it may have had none', () => {
  const was = globalThis.location;
  globalThis.location = { href: 'https://course.example.edu/week9', origin: 'https://course.example.edu' };
  try {
    const failed = new TypeError('Failed to fetch');
    assert.equal(unreachable('https://seqd.example.edu/api/sessions', 'POST', failed),
      'the server at https://seqd.example.edu could not be reached, or it does not let pages of https://course.example.edu start sessions (its operator can add -allow-origins https://course.example.edu)');
    assert.equal(unreachable('https://seqd.example.edu/api/sessions/x', 'GET', failed), 'the server at https://seqd.example.edu could not be reached');
    assert.equal(unreachable('/api/sessions', 'POST', failed), 'the server did not answer (Failed to fetch); is it running?');
  } finally {
    globalThis.location = was;
  }
});
