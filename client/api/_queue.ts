/**
 * A bounded async queue that is its own async iterator (internal).
 *
 * When full, the oldest item is dropped (the newest are kept) and
 * `onOverflow` is told once per overflow episode; an episode ends when the
 * consumer has drained the buffer to half its capacity.
 *
 * @module
 */

import type { EventStream } from "./common.ts";

/** Hooks of a {@linkcode BoundedQueue}. */
export interface BoundedQueueHooks {
  /** Called once when the queue ends (return, close or end). */
  onEnd?: () => void;
  /** Called when items start being dropped. */
  onOverflow?: (pending: number, dropped: number) => void;
}

type Waiter<T> = (result: IteratorResult<T, undefined>) => void;

const DONE: IteratorResult<never, undefined> = Object.freeze({
  done: true,
  value: undefined,
});

/** See the module doc. */
export class BoundedQueue<T> implements EventStream<T> {
  #items: T[] = [];
  #head = 0;
  #waiters: Waiter<T>[] = [];
  #ended = false;
  #capacity: number;
  #dropped = 0;
  #overflowing = false;
  #hooks: BoundedQueueHooks;

  constructor(capacity: number, hooks: BoundedQueueHooks = {}) {
    this.#capacity = capacity;
    this.#hooks = hooks;
  }

  get pending(): number {
    return this.#items.length - this.#head;
  }

  get dropped(): number {
    return this.#dropped;
  }

  /** True once ended. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Adds an item (ignored once ended). */
  push(item: T): void {
    if (this.#ended) return;
    const waiter = this.#waiters.shift();
    if (waiter) {
      waiter({ done: false, value: item });
      return;
    }
    let overflow = false;
    if (this.pending >= this.#capacity) {
      this.#items[this.#head] = undefined as T;
      this.#head++;
      this.#dropped++;
      overflow = !this.#overflowing;
      this.#overflowing = true;
    }
    this.#items.push(item);
    this.#compact();
    if (overflow) this.#hooks.onOverflow?.(this.pending, this.#dropped);
  }

  /** Ends the queue; buffered items are still delivered. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    for (const waiter of this.#waiters.splice(0)) waiter(DONE);
    this.#hooks.onEnd?.();
  }

  next(): Promise<IteratorResult<T, undefined>> {
    if (this.pending > 0) {
      const item = this.#items[this.#head] as T;
      this.#items[this.#head] = undefined as T;
      this.#head++;
      if (this.#overflowing && this.pending <= this.#capacity / 2) {
        this.#overflowing = false;
      }
      this.#compact();
      return Promise.resolve({ done: false, value: item });
    }
    if (this.#ended) return Promise.resolve(DONE);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  return(): Promise<IteratorResult<T, undefined>> {
    this.close();
    return Promise.resolve(DONE);
  }

  close(): void {
    this.#items = [];
    this.#head = 0;
    this.end();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  #compact(): void {
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    } else if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    }
  }
}
