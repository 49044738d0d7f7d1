/**
 * A hand-driven clock for tests: time moves only with `advance()`, which
 * runs the timers that fall due, in order.
 *
 * @module
 */

import type { Clock } from "../cluster.ts";

interface Timer {
  id: number;
  due: number;
  callback: () => void;
}

/** A fake {@linkcode Clock}. */
export class FakeClock implements Clock {
  #now: number;
  #next = 1;
  #timers: Timer[] = [];

  /** @param start Initial time in ms. */
  constructor(start = 1_000_000) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, delay: number): unknown {
    const id = this.#next++;
    this.#timers.push({ id, due: this.#now + Math.max(0, delay), callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers = this.#timers.filter((t) => t.id !== handle);
  }

  /** Pending timers. */
  get pending(): number {
    return this.#timers.length;
  }

  /** Moves time forward, running every timer that falls due. */
  advance(ms: number): void {
    const target = this.#now + ms;
    while (true) {
      const due = this.#timers
        .filter((t) => t.due <= target)
        .sort((a, b) => a.due - b.due || a.id - b.id)[0];
      if (!due) break;
      this.#timers = this.#timers.filter((t) => t !== due);
      this.#now = due.due;
      due.callback();
    }
    this.#now = target;
  }
}
