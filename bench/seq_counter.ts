/**
 * Loss accounting for sequence-numbered events: which sequence numbers
 * arrived, how many twice, and when the first and last arrived.
 *
 * @module
 */

/** What a {@linkcode SeqCounter} saw. */
export interface SeqReport {
  /** Events expected (sent). */
  expected: number;
  /** Distinct expected sequence numbers received. */
  received: number;
  /** Expected sequence numbers never received. */
  lost: number;
  /** Events received more than once (extra copies). */
  duplicates: number;
  /** Events without a readable sequence number, or outside the range. */
  unexpected: number;
  /** Received rate between the first and the last arrival, events/s. */
  ratePerSec: number;
}

/**
 * Counts sequence numbers `start .. start + n - 1` as they arrive; the range
 * grows as needed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SeqCounter } from "./seq_counter.ts";
 *
 * const c = new SeqCounter();
 * c.add(0);
 * c.add(2);
 * c.add(2);
 * assert.deepEqual(
 *   { ...c.report(3), ratePerSec: 0 },
 *   { expected: 3, received: 2, lost: 1, duplicates: 1, unexpected: 0, ratePerSec: 0 },
 * );
 * ```
 */
export class SeqCounter {
  #seen: Uint8Array;
  #start: number;
  #received = 0;
  #duplicates = 0;
  #unexpected = 0;
  #first = NaN;
  #last = NaN;

  /**
   * @param start The first sequence number expected.
   * @param capacity Initial capacity (grows on demand).
   */
  constructor(start = 0, capacity = 65_536) {
    this.#start = start;
    this.#seen = new Uint8Array(capacity);
  }

  /** Records the arrival of `seq` (negative means unreadable). */
  add(seq: number): void {
    const now = performance.now();
    if (this.#received === 0 && Number.isNaN(this.#first)) this.#first = now;
    this.#last = now;
    const i = seq - this.#start;
    if (i < 0 || seq < 0 || i > 100_000_000) {
      this.#unexpected++;
      return;
    }
    if (i >= this.#seen.length) {
      let size = this.#seen.length * 2;
      while (size <= i) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.#seen);
      this.#seen = grown;
    }
    if (this.#seen[i] === 1) {
      this.#duplicates++;
    } else {
      this.#seen[i] = 1;
      this.#received++;
    }
  }

  /** Whether `seq` arrived. */
  has(seq: number): boolean {
    return this.#seen[seq - this.#start] === 1;
  }

  /** Arrivals so far (distinct). */
  get received(): number {
    return this.#received;
  }

  /** `performance.now()` of the last arrival, or `NaN`. */
  get lastArrival(): number {
    return this.#last;
  }

  /**
   * The report for `expected` events sent (`start .. start + expected - 1`).
   *
   * @param expected How many were sent.
   * @returns The counts.
   */
  report(expected: number): SeqReport {
    let received = 0;
    const n = Math.min(expected, this.#seen.length);
    for (let i = 0; i < n; i++) received += this.#seen[i]!;
    const span = (this.#last - this.#first) / 1000;
    return {
      expected,
      received,
      lost: expected - received,
      duplicates: this.#duplicates,
      unexpected: this.#unexpected + (this.#received - received),
      ratePerSec: span > 0 ? received / span : 0,
    };
  }
}

/**
 * Waits until `counter` has `expected` arrivals, or until no event arrived
 * for `quietMs`, or `maxMs` passed.
 *
 * @param counter The counter.
 * @param expected Arrivals to wait for.
 * @param quietMs Give up after this long without an arrival, ms.
 * @param maxMs Give up after this long in total, ms.
 * @returns When done.
 *
 * @example
 * ```ts ignore
 * await drain(counter, sent, 2000, 30_000);
 * ```
 */
export async function drain(
  counter: SeqCounter,
  expected: number,
  quietMs = 2_000,
  maxMs = 30_000,
): Promise<void> {
  const t0 = performance.now();
  let lastCount = counter.received;
  let lastChange = t0;
  while (counter.received < expected) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    const now = performance.now();
    if (counter.received !== lastCount) {
      lastCount = counter.received;
      lastChange = now;
    }
    if (now - lastChange > quietMs || now - t0 > maxMs) return;
  }
}
