/**
 * Timeouts for many short calls with one timer per timeout length, instead
 * of one timer per call.
 *
 * Calls with the same timeout expire in the order they started, so each
 * timeout length keeps its calls in a FIFO queue with one timer, armed for
 * the oldest call that may still be pending. Starting or finishing a call
 * costs no timer operation: a timer whose calls all finished stays armed,
 * unreferenced, and when it fires it only re-arms for calls still pending.
 * Under Deno every `setTimeout` builds a Node-compatible `Timeout` object,
 * which at thousands of ARI calls per second is measurable (BENCHMARKS.md).
 *
 * @module
 */

/** One pending deadline; cancel it when the call settles. */
export interface Deadline {
  /** Forgets the deadline; `onExpire` is not called. Idempotent. */
  cancel(): void;
}

interface Entry extends Deadline {
  readonly at: number;
  readonly onExpire: () => void;
  done: boolean;
}

type Timer = ReturnType<typeof setTimeout>;

function setRef(timer: Timer, ref: boolean): void {
  const t = timer as unknown as { ref?: () => void; unref?: () => void };
  if (ref) {
    if (typeof t.ref === "function") t.ref();
    else Deno.refTimer(Number(timer));
  } else if (typeof t.unref === "function") t.unref();
  else Deno.unrefTimer(Number(timer));
}

/** A FIFO of deadlines of one length and the timer of its oldest one. */
class Lane {
  readonly #onIdle: () => void;
  readonly #entries: Entry[] = [];
  #head = 0;
  #timer: Timer | undefined;
  #referenced = false;

  constructor(onIdle: () => void) {
    this.#onIdle = onIdle;
  }

  add(entry: Entry): void {
    this.#entries.push(entry);
    if (this.#timer === undefined) this.#arm();
    else if (!this.#referenced) {
      setRef(this.#timer, true);
      this.#referenced = true;
    }
  }

  get empty(): boolean {
    return this.#head === this.#entries.length;
  }

  /** Drops settled entries at the front; unreferences an idle timer. */
  trim(): void {
    const entries = this.#entries;
    while (this.#head < entries.length && entries[this.#head]!.done) {
      entries[this.#head] = undefined as unknown as Entry;
      this.#head++;
    }
    if (this.#head === entries.length) {
      entries.length = 0;
      this.#head = 0;
      if (this.#timer !== undefined && this.#referenced) {
        setRef(this.#timer, false);
        this.#referenced = false;
      }
    } else if (this.#head > 1024 && this.#head * 2 > entries.length) {
      entries.splice(0, this.#head);
      this.#head = 0;
    }
  }

  /** Stops the timer and forgets every entry (none of them expires). */
  clear(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#entries.length = 0;
    this.#head = 0;
  }

  #arm(): void {
    const first = this.#entries[this.#head];
    if (first === undefined) return;
    this.#timer = setTimeout(
      this.#fire,
      Math.max(0, first.at - performance.now()),
    );
    this.#referenced = true;
  }

  #fire = (): void => {
    this.#timer = undefined;
    const now = performance.now();
    const entries = this.#entries;
    while (this.#head < entries.length) {
      const entry = entries[this.#head]!;
      if (!entry.done) {
        if (entry.at > now) break;
        entry.done = true;
        try {
          entry.onExpire();
        } catch (error) {
          // A failing handler must not stop the other expiries.
          queueMicrotask(() => {
            throw error;
          });
        }
      }
      entries[this.#head] = undefined as unknown as Entry;
      this.#head++;
    }
    this.trim();
    if (this.empty) this.#onIdle();
    else this.#arm();
  };
}

/**
 * Schedules call timeouts; one timer per distinct timeout length.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DeadlineQueue } from "./deadlines.ts";
 *
 * using deadlines = new DeadlineQueue();
 * let expired = false;
 * deadlines.add(20, () => expired = true);
 * const cancelled = deadlines.add(20, () => assert.fail("cancelled"));
 * cancelled.cancel();
 * await new Promise((resolve) => setTimeout(resolve, 40));
 * assert.equal(expired, true);
 * ```
 */
export class DeadlineQueue implements Disposable {
  readonly #lanes = new Map<number, Lane>();

  /**
   * Calls `onExpire` after `timeoutMs` unless the returned deadline is
   * cancelled first.
   *
   * @param timeoutMs Milliseconds, positive and at most 2^31 − 1.
   * @param onExpire Called once at expiry.
   * @returns The deadline.
   */
  add(timeoutMs: number, onExpire: () => void): Deadline {
    let lane = this.#lanes.get(timeoutMs);
    if (lane === undefined) {
      const created = new Lane(() => {
        if (this.#lanes.get(timeoutMs) === created) {
          this.#lanes.delete(timeoutMs);
        }
      });
      this.#lanes.set(timeoutMs, created);
      lane = created;
    }
    const owner = lane;
    const entry: Entry = {
      at: performance.now() + timeoutMs,
      onExpire,
      done: false,
      cancel() {
        if (entry.done) return;
        entry.done = true;
        owner.trim();
      },
    };
    lane.add(entry);
    return entry;
  }

  /** Number of timeout lengths with a timer (pending or idle; for tests). */
  get lanes(): number {
    return this.#lanes.size;
  }

  /** Stops every timer; pending deadlines never expire. Idempotent. */
  close(): void {
    for (const lane of this.#lanes.values()) lane.clear();
    this.#lanes.clear();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
