/**
 * A caller's timeout as a deadline across retries: {@linkcode runWithDeadline}
 * runs up to `attempts` attempts of one request inside one time budget.
 *
 * The first attempt is sent at once with the whole budget. When it has had
 * no reply after its share of the budget (`timeout / attempts`), the next
 * attempt is sent beside it (a hedged retry) with what is left of the
 * budget; the first attempt keeps listening, so a slow reply still counts.
 * The first reply of any attempt wins and the others are stopped. When the
 * budget is spent the call fails with the caller's `TimeoutError`, never
 * later: a retry never gets a whole timeout again.
 *
 * Only idempotent requests (reads) are given more than one attempt: a
 * duplicate read is harmless, a duplicate command is not.
 *
 * @example A read that the first attempt lost
 * ```ts
 * import assert from "node:assert/strict";
 * import { TimeoutError } from "../errors.ts";
 * import { runWithDeadline } from "./deadline.ts";
 *
 * let sent = 0;
 * const result = await runWithDeadline((budget, signal) => {
 *   sent++;
 *   if (sent === 1) {
 *     // Lost: only the deadline ends it.
 *     return new Promise((_, reject) => {
 *       const t = setTimeout(() => reject(new TimeoutError({ timeout: budget, operation: "x" })), budget);
 *       signal.addEventListener("abort", () => { clearTimeout(t); reject(signal.reason); });
 *     });
 *   }
 *   return Promise.resolve("ok");
 * }, { timeout: 200, attempts: 2, timeoutError: () => new TimeoutError({ timeout: 200, operation: "x" }) });
 * assert.equal(result, "ok");
 * assert.equal(sent, 2);
 * ```
 *
 * @module
 */

import { TimeoutError } from "../errors.ts";

/** One attempt: gets the time left (ms) and a signal that stops it. */
export type Attempt<T> = (budget: number, signal: AbortSignal) => Promise<T>;

/** Options of {@linkcode runWithDeadline}. */
export interface DeadlineOptions {
  /** The whole call's budget, ms (retries included). */
  timeout: number;
  /**
   * Attempts at most (1: no retry).
   *
   * @default {1}
   */
  attempts?: number;
  /** The caller's signal: aborting it ends the call with its reason. */
  signal?: AbortSignal;
  /** The error of a call whose budget ran out. */
  timeoutError: () => Error;
  /** Called once for each attempt that had no reply within its share. */
  onAttemptTimeout?: () => void;
}

const STOPPED = Symbol("stopped");

/** Grace after the deadline for an attempt that does not end itself, ms. */
const BACKSTOP_MS = 250;

/**
 * Runs `attempt` up to `options.attempts` times within one deadline (see the
 * module description).
 *
 * @typeParam T The result.
 * @param attempt Sends one attempt with the time left; must settle by then.
 * @param options Budget, attempts, signal, the timeout error.
 * @returns The first attempt's result to arrive.
 * @throws {TimeoutError} `options.timeoutError()` when the budget ran out.
 * @throws {Error} The error of the last attempt when it was not a timeout,
 * or the signal's reason.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runWithDeadline } from "./deadline.ts";
 *
 * const value = await runWithDeadline(() => Promise.resolve(42), {
 *   timeout: 1_000,
 *   timeoutError: () => new Error("late"),
 * });
 * assert.equal(value, 42);
 * ```
 */
export function runWithDeadline<T>(
  attempt: Attempt<T>,
  options: DeadlineOptions,
): Promise<T> {
  const { timeout, attempts = 1, signal, timeoutError, onAttemptTimeout } =
    options;
  if (signal?.aborted) return Promise.reject(signal.reason);
  const start = performance.now();
  const deadline = start + timeout;
  const share = timeout / Math.max(1, attempts);
  return new Promise<T>((resolve, reject) => {
    const running = new Map<AbortController, { counted: boolean }>();
    let launched = 0;
    let settled = false;
    let lastError: unknown;
    let hedge: ReturnType<typeof setTimeout> | undefined;

    const finish = (ok: boolean, value: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(hedge);
      clearTimeout(expiry);
      signal?.removeEventListener("abort", onAbort);
      for (const controller of running.keys()) controller.abort(STOPPED);
      running.clear();
      if (ok) resolve(value as T);
      else reject(value);
    };
    const onAbort = () => finish(false, signal!.reason);
    signal?.addEventListener("abort", onAbort, { once: true });

    const countTimeout = (state: { counted: boolean }) => {
      if (state.counted) return;
      state.counted = true;
      onAttemptTimeout?.();
    };

    const launch = () => {
      if (settled) return;
      const budget = launched === 0 ? timeout : deadline - performance.now();
      if (budget <= 0) return finish(false, timeoutError());
      launched++;
      const controller = new AbortController();
      const state = { counted: false };
      running.set(controller, state);
      const combined = signal
        ? AbortSignal.any([signal, controller.signal])
        : controller.signal;
      let promise: Promise<T>;
      try {
        promise = attempt(budget, combined);
      } catch (error) {
        promise = Promise.reject(error);
      }
      promise.then(
        (value) => finish(true, value),
        (error) => {
          if (settled || error === STOPPED) return;
          running.delete(controller);
          const timedOut = error instanceof TimeoutError;
          if (timedOut) countTimeout(state);
          else lastError = error;
          if (running.size > 0) return;
          if (timedOut && launched < attempts) {
            // Failed before the deadline: the next attempt goes now.
            clearTimeout(hedge);
            return launch();
          }
          finish(false, lastError ?? timeoutError());
        },
      );
      if (launched < attempts) {
        clearTimeout(hedge);
        hedge = setTimeout(() => {
          for (const state of running.values()) countTimeout(state);
          launch();
        }, Math.max(0, start + share * launched - performance.now()));
      }
    };

    // Attempts end themselves at the deadline (a list returns what arrived
    // by then); this only backs up an attempt that does not.
    const expiry = setTimeout(
      () => finish(false, timeoutError()),
      timeout + BACKSTOP_MS,
    );
    launch();
  });
}
