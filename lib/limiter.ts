/**
 * Bounded request concurrency for the proxy server.
 *
 * At most `maxConcurrency` tasks run at once; up to `maxQueued` more wait in
 * FIFO order; anything beyond is refused at once, so that a flood of requests
 * gets a clear "overloaded" answer instead of growing memory without bound.
 *
 * @module
 */

/** Default number of requests handled at once. */
export const DEFAULT_MAX_CONCURRENCY = 256;
/** Default number of requests waiting for a free slot. */
export const DEFAULT_MAX_QUEUED = 1024;

/** Options of {@linkcode createLimiter}. */
export interface LimiterOptions {
  /**
   * Tasks running at once (a positive integer).
   *
   * @default {256}
   */
  maxConcurrency?: number;
  /**
   * Tasks waiting for a slot (a non-negative integer); `0` refuses every
   * task that does not find a free slot.
   *
   * @default {1024}
   */
  maxQueued?: number;
}

/** Counters of a {@linkcode Limiter}. */
export interface LimiterStats {
  /** Tasks running now. */
  active: number;
  /** Tasks waiting now. */
  queued: number;
  /** Tasks accepted since creation. */
  accepted: number;
  /** Tasks refused since creation. */
  rejected: number;
  /** Tasks finished since creation. */
  completed: number;
}

/** A concurrency limiter. Create it with {@linkcode createLimiter}. */
export interface Limiter {
  /**
   * Runs `task` now, or later when a slot frees up, or refuses it.
   *
   * The task's promise is awaited for its completion only; a rejection is
   * passed to `onError` (the task should handle its own errors).
   *
   * @param task The work; called at most once.
   * @returns `true` when accepted (running or queued), `false` when refused.
   */
  tryRun(task: () => Promise<unknown>): boolean;
  /** Current counters. */
  stats(): LimiterStats;
  /** Resolves when no task is running or waiting. */
  idle(): Promise<void>;
}

type Task = () => Promise<unknown>;

function positiveInteger(value: number, name: string, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(
      `Cannot create limiter: ${name} must be an integer >= ${min}, got ${value}`,
    );
  }
}

class TaskLimiter implements Limiter {
  readonly #max: number;
  readonly #maxQueued: number;
  readonly #onError: (error: unknown) => void;
  #active = 0;
  /** Waiting tasks; `#head` is the index of the oldest one. */
  #queue: (Task | undefined)[] = [];
  #head = 0;
  #accepted = 0;
  #rejected = 0;
  #completed = 0;
  #idleWaiters: (() => void)[] = [];

  constructor(max: number, maxQueued: number, onError: (e: unknown) => void) {
    this.#max = max;
    this.#maxQueued = maxQueued;
    this.#onError = onError;
  }

  tryRun(task: Task): boolean {
    if (this.#active < this.#max) {
      this.#accepted++;
      this.#start(task);
      return true;
    }
    if (this.#queue.length - this.#head < this.#maxQueued) {
      this.#accepted++;
      this.#queue.push(task);
      return true;
    }
    this.#rejected++;
    return false;
  }

  #start(task: Task): void {
    this.#active++;
    let promise: Promise<unknown>;
    try {
      promise = task();
    } catch (error) {
      promise = Promise.reject(error);
    }
    promise.then(this.#done, (error: unknown) => {
      try {
        this.#onError(error);
      } finally {
        this.#done();
      }
    });
  }

  #done = (): void => {
    this.#active--;
    this.#completed++;
    if (this.#head < this.#queue.length) {
      const next = this.#queue[this.#head]!;
      this.#queue[this.#head] = undefined;
      this.#head++;
      if (this.#head === this.#queue.length) {
        this.#queue = [];
        this.#head = 0;
      } else if (this.#head >= 1024 && this.#head * 2 >= this.#queue.length) {
        this.#queue = this.#queue.slice(this.#head);
        this.#head = 0;
      }
      this.#start(next);
      return;
    }
    if (this.#active === 0 && this.#idleWaiters.length > 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  };

  stats(): LimiterStats {
    return {
      active: this.#active,
      queued: this.#queue.length - this.#head,
      accepted: this.#accepted,
      rejected: this.#rejected,
      completed: this.#completed,
    };
  }

  idle(): Promise<void> {
    if (this.#active === 0 && this.#head === this.#queue.length) {
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }
}

/**
 * Creates a concurrency limiter.
 *
 * @param options Limits.
 * @param onError Receives the rejection of a task (tasks should not reject).
 * @returns The limiter.
 * @throws {RangeError} For a limit that is not a (positive) integer.
 *
 * @example Two slots, one queue place
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLimiter } from "./limiter.ts";
 *
 * const limiter = createLimiter({ maxConcurrency: 2, maxQueued: 1 });
 * const gates: (() => void)[] = [];
 * const task = () => new Promise<void>((resolve) => gates.push(resolve));
 * assert.ok(limiter.tryRun(task));
 * assert.ok(limiter.tryRun(task));
 * assert.ok(limiter.tryRun(task)); // queued
 * assert.equal(limiter.tryRun(task), false); // refused
 * assert.equal(limiter.stats().queued, 1);
 * gates.shift()!();
 * await Promise.resolve();
 * ```
 */
export function createLimiter(
  options?: LimiterOptions,
  onError: (error: unknown) => void = () => {},
): Limiter {
  const {
    maxConcurrency = DEFAULT_MAX_CONCURRENCY,
    maxQueued = DEFAULT_MAX_QUEUED,
  } = options ?? {};
  positiveInteger(maxConcurrency, "maxConcurrency", 1);
  positiveInteger(maxQueued, "maxQueued", 0);
  return new TaskLimiter(maxConcurrency, maxQueued, onError);
}
