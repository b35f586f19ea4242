// Whether a scroller follows its newest content (core/follow.js): the
// diagram's viewport and the transcript decide it with these rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Follow, readerMove } from '../static/core/follow.js';

const VIEW = 300; // the scroller's client height in these cases

test('a scroller at its end follows, and goes on when rows came between the follow and its event', () => {
  const f = new Follow(2);
  assert.equal(f.scrolled(700, VIEW, 1000, 0), true);
  // The follow scrolled to 1,700; before its event, rows made the content 3,000 tall.
  assert.equal(f.scrolled(1700, VIEW, 3000, 100), true);
});

test('the reader scrolling up past the slack stops the follow; back at the end (down) it goes on', () => {
  const f = new Follow(2);
  f.scrolled(700, VIEW, 1000, 0);
  assert.equal(f.scrolled(650, VIEW, 1000, 50), false);
  assert.equal(f.scrolled(699.5, VIEW, 1000, 2000), true);
});

test('a move up stops the follow at once, and a scroll event at the end just after does not undo it', () => {
  const f = new Follow(2);
  f.scrolled(700, VIEW, 1000, 0);
  f.moved(true, 1000);
  assert.equal(f.following, false);
  // The follow's own scroll to a new end, whose event came after the key.
  assert.equal(f.scrolled(1700, VIEW, 2000, 1010), false);
  // A smooth step up's first pixel.
  assert.equal(f.scrolled(1699, VIEW, 2000, 1020), false);
  // Scrolled back down to the end, once settled.
  assert.equal(f.scrolled(1700, VIEW, 2000, 1600), true);
});

test('a move down lets the reader come back to the end at once', () => {
  const f = new Follow(2);
  f.scrolled(700, VIEW, 1000, 0);
  f.moved(true, 1000);
  f.scrolled(500, VIEW, 1000, 1050);
  f.moved(false, 1100); // End
  assert.equal(f.scrolled(700, VIEW, 1000, 1120), true);
});

test('a finger on the scroller keeps a scroll at the end from taking the follow back', () => {
  const f = new Follow(40);
  f.scrolled(700, VIEW, 1000, 0);
  f.touching = true;
  assert.equal(f.scrolled(500, VIEW, 1000, 100), false);
  assert.equal(f.scrolled(690, VIEW, 1000, 2000), false);
  f.touching = false;
  assert.equal(f.scrolled(700, VIEW, 1000, 2100), true);
});

test('reset follows again from the start', () => {
  const f = new Follow(40);
  f.scrolled(700, VIEW, 1000, 0);
  f.moved(true, 10);
  f.reset();
  assert.equal(f.following, true);
  assert.equal(f.scrolled(0, VIEW, 200, 20), true);
});

test('wheels and keys move up, down or neither', () => {
  const cases = [
    [{ type: 'wheel', deltaY: -40 }, true],
    [{ type: 'wheel', deltaY: 40 }, false],
    [{ type: 'wheel', deltaY: 0 }, null],
    [{ type: 'keydown', key: 'ArrowUp' }, true],
    [{ type: 'keydown', key: 'PageUp' }, true],
    [{ type: 'keydown', key: 'Home' }, true],
    [{ type: 'keydown', key: 'ArrowDown' }, false],
    [{ type: 'keydown', key: 'End' }, false],
    [{ type: 'keydown', key: 'Enter' }, null],
    [{ type: 'pointerdown' }, null],
  ];
  for (const [e, want] of cases) assert.equal(readerMove(e), want, JSON.stringify(e));
});

test('watch takes the reader\'s moves from the scroller\'s events', () => {
  const f = new Follow(2);
  const scroller = new EventTarget();
  f.watch(scroller);
  scroller.dispatchEvent(Object.assign(new Event('keydown'), { key: 'ArrowUp' }));
  assert.equal(f.following, false);
  scroller.dispatchEvent(new Event('touchstart'));
  assert.equal(f.touching, true);
  scroller.dispatchEvent(new Event('touchend'));
  assert.equal(f.touching, false);
  scroller.dispatchEvent(Object.assign(new Event('wheel'), { deltaY: 100 })); // down: the end takes the follow back at once
  assert.equal(f.scrolled(700, VIEW, 1000, performance.now()), true);
});
