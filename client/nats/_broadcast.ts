/**
 * Internal: a fan-out of values to any number of async iterators, each with
 * a bounded buffer. Used for `status()` and `memberChanges()`.
 *
 * @module
 */

const DONE: IteratorReturnResult<undefined> = Object.freeze({
  done: true,
  value: undefined,
});

/** Buffered values per listener unless told otherwise. */
export const DEFAULT_BROADCAST_BUFFER = 256;

/** One listener: an async iterator with a bounded queue (oldest dropped). */
class Listener<T> implements AsyncIterableIterator<T> {
  readonly #queue: T[] = [];
  readonly #limit: number;
  readonly #onEnd: (listener: Listener<T>) => void;
  #waiter: ((result: IteratorResult<T>) => void) | undefined;
  #done = false;

  constructor(limit: number, onEnd: (listener: Listener<T>) => void) {
    this.#limit = limit;
    this.#onEnd = onEnd;
  }

  push(value: T): void {
    if (this.#done) return;
    const waiter = this.#waiter;
    if (waiter) {
      this.#waiter = undefined;
      waiter({ done: false, value });
      return;
    }
    this.#queue.push(value);
    if (this.#queue.length > this.#limit) this.#queue.shift();
  }

  end(): void {
    if (this.#done) return;
    this.#done = true;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.(DONE);
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#queue.length > 0) {
      return Promise.resolve({ done: false, value: this.#queue.shift()! });
    }
    if (this.#done) return Promise.resolve(DONE);
    if (this.#waiter) {
      return Promise.reject(
        new TypeError("Cannot call next() while a previous next() is pending"),
      );
    }
    return new Promise((resolve) => {
      this.#waiter = resolve;
    });
  }

  return(): Promise<IteratorResult<T>> {
    this.#queue.length = 0;
    this.end();
    this.#onEnd(this);
    return Promise.resolve(DONE);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}

/** Fans values out to listeners; `close()` ends every iteration. */
export class Broadcaster<T> {
  readonly #listeners = new Set<Listener<T>>();
  readonly #limit: number;
  #closed = false;

  /** @param limit Values buffered per listener; the oldest are dropped beyond. */
  constructor(limit = DEFAULT_BROADCAST_BUFFER) {
    this.#limit = limit;
  }

  /** A new iterator receiving every later value until close. */
  listen(): AsyncIterableIterator<T> {
    const listener = new Listener<T>(
      this.#limit,
      (l) => this.#listeners.delete(l),
    );
    if (this.#closed) listener.end();
    else this.#listeners.add(listener);
    return listener;
  }

  /** Sends a value to every listener. */
  emit(value: T): void {
    for (const listener of this.#listeners) listener.push(value);
  }

  /** Number of active listeners. */
  get size(): number {
    return this.#listeners.size;
  }

  /** Ends every iteration (buffered values are still delivered). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const listener of this.#listeners) listener.end();
    this.#listeners.clear();
  }
}
