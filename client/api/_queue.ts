/**
 * A bounded async queue that is its own async iterator (internal).
 *
 * When full, the oldest item is dropped (the newest are kept) and
 * `onOverflow` is told once per overflow episode; an episode ends when the
 * consumer has drained the buffer to half its capacity.
 *
 * An item pushed with `track` gets a promise that settles once the consumer
 * is done with it: `true` when the consumer asks for the next item or ends
 * the iteration (`return()`, a `break`) after taking it, `false` when it was
 * dropped (overflow, `close()`) before being taken. Durable events use it to
 * acknowledge an event only after the application's loop body ran.
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

type Settle = (handled: boolean) => void;

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
  /** Absolute index of the next item pushed into the buffer. */
  #pushed = 0;
  /** Absolute index of the next buffered item to take. */
  #taken = 0;
  /** Settlers of tracked buffered items, by absolute index. */
  #tracked = new Map<number, Settle>();
  /** Settlers of tracked items the consumer holds. */
  #inHand: Settle[] = [];

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

  /**
   * Adds an item (ignored once ended).
   *
   * @param item The item.
   * @param track Whether to return a promise of the consumer being done with it.
   * @returns With `track`: settles `true` once handled, `false` if dropped.
   */
  push(item: T, track = false): Promise<boolean> | undefined {
    if (this.#ended) return track ? Promise.resolve(false) : undefined;
    let settle: Settle | undefined;
    const done = track
      ? new Promise<boolean>((resolve) => settle = resolve)
      : undefined;
    const waiter = this.#waiters.shift();
    if (waiter) {
      if (settle) this.#inHand.push(settle);
      waiter({ done: false, value: item });
      return done;
    }
    let overflow = false;
    if (this.pending >= this.#capacity) {
      this.#items[this.#head] = undefined as T;
      this.#head++;
      this.#dropped++;
      this.#settleTaken(false);
      overflow = !this.#overflowing;
      this.#overflowing = true;
    }
    if (settle) this.#tracked.set(this.#pushed, settle);
    this.#pushed++;
    this.#items.push(item);
    this.#compact();
    if (overflow) this.#hooks.onOverflow?.(this.pending, this.#dropped);
    return done;
  }

  /** Ends the queue; buffered items are still delivered. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    for (const waiter of this.#waiters.splice(0)) waiter(DONE);
    this.#hooks.onEnd?.();
  }

  next(): Promise<IteratorResult<T, undefined>> {
    this.#settleInHand(true);
    if (this.pending > 0) {
      const item = this.#items[this.#head] as T;
      this.#items[this.#head] = undefined as T;
      this.#head++;
      const settle = this.#settleTaken();
      if (settle) this.#inHand.push(settle);
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
    this.#settleInHand(true);
    this.close();
    return Promise.resolve(DONE);
  }

  close(): void {
    this.#settleInHand(false);
    while (this.pending > 0) {
      this.#head++;
      this.#settleTaken(false);
    }
    this.#items = [];
    this.#head = 0;
    this.end();
  }

  /**
   * Advances the taken counter; settles the item's tracker with `handled`
   * when given, else returns it.
   */
  #settleTaken(handled?: boolean): Settle | undefined {
    const index = this.#taken++;
    if (this.#tracked.size === 0) return undefined;
    const settle = this.#tracked.get(index);
    if (settle === undefined) return undefined;
    this.#tracked.delete(index);
    if (handled === undefined) return settle;
    settle(handled);
    return undefined;
  }

  #settleInHand(handled: boolean): void {
    if (this.#inHand.length === 0) return;
    for (const settle of this.#inHand.splice(0)) settle(handled);
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
