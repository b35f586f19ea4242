//# allFunctionsCalledOnLoad
/**
 * announcer.js — tells screen readers about new events through a polite
 * live region, at most once a second.
 */

/**
 * Tells screen readers about new events through a polite live region, at
 * most once a second: one sentence, or a summary of a burst.
 */
export class Announcer {
  constructor(region) {
    this.region = region;
    this.timer = 0;
    this.last = 0;
    this.reset();
  }

  /** Drops what is queued. */
  reset() {
    clearTimeout(this.timer);
    this.timer = 0;
    this.count = 0;
    this.tally = new Map();
    this.latest = '';
  }

  /** Queues a sentence; key groups it in a burst's summary. */
  say(sentence, key = '') {
    this.count++;
    this.latest = sentence;
    if (key) this.tally.set(key, (this.tally.get(key) ?? 0) + 1);
    if (!this.timer) this.timer = setTimeout(() => this.speak(), Math.max(0, this.last + 1000 - Date.now()));
  }

  /** Puts what is queued in the live region: one sentence, or a burst's summary. */
  speak() {
    const { count, tally, latest } = this;
    this.reset();
    this.last = Date.now();
    if (!count) return;
    if (count === 1) {
      this.region.textContent = latest;
      return;
    }
    const parts = [...tally].map(([key, n]) => `${key} ${n === 1 ? 'once' : `${n} times`}`);
    this.region.textContent = `${count} new events${parts.length ? `: ${parts.join(', ')}` : ''}. Latest: ${latest.replace(/\.$/, '')}.`;
  }
}
