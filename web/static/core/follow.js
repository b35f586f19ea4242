//# allFunctionsCalledOnLoad
/**
 * follow.js — whether a scroller follows its newest content (the diagram's
 * viewport, the transcript), from its scroll events and the reader's moves.
 * A scroll event short of the end is not the reader's doing when rows came
 * between the follow's scroll and its event; the reader's moving up (a
 * wheel, a key, a finger, the scroll bar dragged up) is.
 */

/**
 * How long after the reader moved up a scroll event at the end is not
 * taken for their coming back: a smooth step up starts a pixel from the
 * end, and the follow's own scroll event may come after the move.
 */
const SETTLE_MS = 500;

/** How far above where it last was at the end a scroller has been moved by the reader, in px. */
const MOVED_PX = 40;

export class Follow {
  following = true;
  touching = false; // a finger is on the scroller: the follow waits
  #endSlack;
  #endTop = 0; // the scrollTop when it was last at the end
  #lastTop = 0; // the scrollTop at the last scroll event
  #upAt = -Infinity; // when the reader last moved up

  /** endSlack: how many px short of the end count as at the end. */
  constructor(endSlack) {
    this.#endSlack = endSlack;
  }

  /** Whether the scroller is to be scrolled to its newest content now: it follows, and no finger holds it. */
  get scrollsToEnd() {
    return this.following && !this.touching;
  }

  /** A scroll event: the scroller's scrollTop, client and scroll heights, and performance.now(). Returns following. */
  scrolled(top, clientHeight, scrollHeight, now) {
    const down = top > this.#lastTop;
    this.#lastTop = top;
    const atEnd = top + clientHeight >= scrollHeight - this.#endSlack;
    if (atEnd && !this.touching && (this.following || (down && now - this.#upAt > SETTLE_MS))) {
      this.following = true;
      this.#endTop = top;
    } else if (top < this.#endTop - MOVED_PX) this.following = false;
    return this.following;
  }

  /** The reader moved: up (toward the start: the follow stops) or down. */
  moved(up, now) {
    if (up) this.following = false;
    this.#upAt = up ? now : -Infinity;
  }

  /**
   * Listens to target's (the scroller's) wheel, keys and touches for the
   * reader's moves. Any EventTarget will do: node's, in the tests.
   */
  watch(target) {
    const move = (e) => {
      const up = readerMove(e);
      if (up !== null) this.moved(up, performance.now());
    };
    for (const type of ['wheel', 'keydown']) target.addEventListener(type, move, { passive: true });
    for (const type of ['touchstart', 'touchend', 'touchcancel']) target.addEventListener(type, (e) => { this.touching = e.type === 'touchstart'; }, { passive: true });
  }

  /** Follows again, from a scroller at its start (a new drawing, Jump to latest). */
  reset() {
    this.following = true;
    this.#endTop = this.#lastTop = 0;
    this.#upAt = -Infinity;
  }
}

/** Which way a wheel or keydown event moves a scroller: true up, false down, null neither. */
export function readerMove(e) {
  if (e.type === 'wheel') return e.deltaY ? e.deltaY < 0 : null;
  if (e.type !== 'keydown') return null;
  if (['ArrowUp', 'PageUp', 'Home'].includes(e.key)) return true;
  return ['ArrowDown', 'PageDown', 'End'].includes(e.key) ? false : null;
}
