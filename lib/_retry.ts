/**
 * Abortable waiting and retry-forever with jittered backoff (internal to
 * `lib/`).
 *
 * @module
 */

import type { Logger } from "@logtape/logtape";
import { computeBackoff } from "../client/native/backoff.ts";
import { errorMessage } from "./_log_text.ts";

/**
 * Settles like `promise`, or rejects with `signal.reason` once it aborts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { abortable } from "./_retry.ts";
 *
 * assert.equal(await abortable(Promise.resolve(1), new AbortController().signal), 1);
 * ```
 */
export function abortable<T>(
  promise: Promise<T>,
  signal: AbortSignal,
): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

/**
 * Waits `ms` milliseconds, or rejects with `signal.reason` once it aborts.
 *
 * @example
 * ```ts
 * import { sleep } from "./_retry.ts";
 *
 * await sleep(1, new AbortController().signal);
 * ```
 */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(id);
      reject(signal.reason);
    };
    const id = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Delay before retry `attempt` (1-based), in milliseconds: a 100 ms floor
 * plus jittered backoff up to 10 s.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { retryDelay } from "./_retry.ts";
 *
 * assert.ok(retryDelay(1) >= 100);
 * ```
 */
export function retryDelay(attempt: number): number {
  return 100 + computeBackoff(attempt, { initial: 250, max: 10_000 });
}

/** How {@linkcode retryUntilReachable} reports failed attempts. */
export interface RetryReport {
  /** Where to log. */
  log: Logger;
  /** Logged at `warn` (with `properties` and `{problem}`) when the problem changes. */
  warn: string;
  /** Logged at `debug` (with `{attempt}` and `{delay}`) when it repeats. */
  debug: string;
  /** Extra log properties. */
  properties: Record<string, unknown>;
}

/**
 * Runs `attempt` until it succeeds, sleeping {@linkcode retryDelay} between
 * tries; rejects with the abort reason once `signal` aborts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { getLogger } from "@logtape/logtape";
 * import { retryUntilReachable } from "./_retry.ts";
 *
 * let n = 0;
 * const value = await retryUntilReachable(new AbortController().signal, {
 *   log: getLogger(["example"]),
 *   warn: "Failed: {problem}",
 *   debug: "Still failing",
 *   properties: {},
 * }, () => {
 *   if (++n < 2) return Promise.reject(new Error("not yet"));
 *   return Promise.resolve("ok");
 * });
 * assert.equal(value, "ok");
 * ```
 */
export async function retryUntilReachable<T>(
  signal: AbortSignal,
  report: RetryReport,
  attempt: () => Promise<T>,
): Promise<T> {
  let lastProblem = "";
  for (let n = 1;; n++) {
    signal.throwIfAborted();
    try {
      return await attempt();
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      const problem = errorMessage(error);
      const delay = retryDelay(n);
      if (problem !== lastProblem) {
        lastProblem = problem;
        report.log.warn(report.warn, { ...report.properties, problem });
      } else {
        report.log.debug(report.debug, { attempt: n, delay });
      }
      await sleep(delay, signal);
    }
  }
}
