// Node tests of core/record.js: what the page keeps of the server's pending call.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanPending } from '../static/core/record.js';

test('a pending call keeps its number, which a step names', () => {
  const p = cleanPending({ n: 7, actor: 'client', kind: 'connect', fd: 5, src: 'client.c', line: 40 });
  assert.deepEqual(p, { n: 7, actor: 'client', kind: 'connect', fd: 5, src: 'client.c', line: 40 });
});

test('a pending call with a number that is not one keeps the rest without it', () => {
  for (const n of ['7', null, Infinity, NaN]) {
    const p = cleanPending({ n, actor: 'server', kind: 'accept' });
    assert.deepEqual(p, { actor: 'server', kind: 'accept' }, `n = ${String(n)}`);
  }
});

test('what is not a pending call is none', () => {
  for (const p of [null, 'accept', [], {}, { kind: 'accept' }]) assert.equal(cleanPending(p), null);
});
