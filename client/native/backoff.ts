/**
 * Reconnect delays: capped exponential backoff with full jitter.
 *
 * @module
 */

/** Default delay ceiling of the first retry, in milliseconds. */
export const DEFAULT_BACKOFF_INITIAL = 100;
/** Default upper bound of any delay, in milliseconds. */
export const DEFAULT_BACKOFF_MAX = 10_000;
/** Default growth factor of the delay ceiling per attempt. */
export const DEFAULT_BACKOFF_FACTOR = 2;

/** Options of {@linkcode computeBackoff}. */
export interface BackoffOptions {
  /**
   * Delay ceiling of the first attempt, in milliseconds.
   *
   * @default {100}
   */
  initial?: number;
  /**
   * Upper bound of the delay ceiling, in milliseconds.
   *
   * @default {10000}
   */
  max?: number;
  /**
   * Growth factor of the delay ceiling per attempt (at least 1).
   *
   * @default {2}
   */
  factor?: number;
  /**
   * Source of uniform random numbers in `[0, 1)`; inject a fixed function in
   * tests.
   *
   * @default {Math.random}
   */
  random?: () => number;
}

/**
 * Computes the delay before reconnect attempt `attempt` (1 for the first
 * retry) using capped exponential backoff with full jitter: a uniformly random
 * whole number of milliseconds in `[0, min(max, initial * factor ** (attempt - 1))]`.
 *
 * Full jitter spreads the reconnects of many clients after a shared outage
 * (an Asterisk restart) instead of synchronising them. The function is pure
 * apart from `random`.
 *
 * @param attempt The 1-based number of the attempt.
 * @param options Tuning and the random source.
 * @returns The delay in milliseconds.
 * @throws {RangeError} If `attempt` is not a positive integer, or an option is
 * negative or not finite (`factor` below 1).
 *
 * @example Deterministic delays
 * ```ts
 * import assert from "node:assert/strict";
 * import { computeBackoff } from "./backoff.ts";
 *
 * const top = { random: () => 0.999999 };
 * assert.equal(computeBackoff(1, top), 100);
 * assert.equal(computeBackoff(3, top), 400);
 * assert.equal(computeBackoff(30, top), 10_000);
 * assert.equal(computeBackoff(3, { random: () => 0 }), 0);
 * ```
 */
export function computeBackoff(
  attempt: number,
  options?: BackoffOptions,
): number {
  const {
    initial = DEFAULT_BACKOFF_INITIAL,
    max = DEFAULT_BACKOFF_MAX,
    factor = DEFAULT_BACKOFF_FACTOR,
    random = Math.random,
  } = options ?? {};
  if (!Number.isSafeInteger(attempt) || attempt < 1) {
    throw new RangeError(
      `Cannot compute backoff: attempt must be a positive integer, got ${attempt}`,
    );
  }
  if (!(initial >= 0) || !Number.isFinite(initial)) {
    throw new RangeError(
      `Cannot compute backoff: initial must be a finite number >= 0, got ${initial}`,
    );
  }
  if (!(max >= 0) || !Number.isFinite(max)) {
    throw new RangeError(
      `Cannot compute backoff: max must be a finite number >= 0, got ${max}`,
    );
  }
  if (!(factor >= 1) || !Number.isFinite(factor)) {
    throw new RangeError(
      `Cannot compute backoff: factor must be a finite number >= 1, got ${factor}`,
    );
  }
  // initial * factor ** n may overflow to Infinity; Math.min caps it. With
  // initial 0 the product stays 0 (0 * Infinity is avoided by the guard).
  const ceiling = initial === 0
    ? 0
    : Math.min(max, initial * factor ** (attempt - 1));
  let r = random();
  if (!(r >= 0)) r = 0;
  else if (r >= 1) r = 0.9999999999999999;
  // r < 1, so the result never exceeds the (whole) ceiling.
  return Math.floor(r * (Math.floor(ceiling) + 1));
}
