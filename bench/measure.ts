/**
 * Closed-loop load: `concurrency` workers each run an operation back to back
 * for a fixed time, and every completion's latency is recorded.
 *
 * @module
 */

import { type LatencySummary, summarizeLatencies } from "./stats.ts";

/** Options for {@linkcode closedLoop}. */
export interface ClosedLoopOptions {
  /** Operations in flight. */
  concurrency: number;
  /** Measured time, ms (operations started before the deadline complete). */
  durationMs: number;
  /**
   * Unmeasured warm-up before it, ms.
   *
   * @default {0}
   */
  warmupMs?: number;
  /**
   * Stop after this many measured operations.
   *
   * @default {Infinity}
   */
  maxOps?: number;
}

/** A closed-loop measurement. */
export interface ClosedLoopResult extends LatencySummary {
  /** Operations that threw. */
  errors: number;
  /** The first error's message, if any. */
  firstError?: string;
}

/**
 * Runs `op` with `concurrency` in flight for `durationMs` and summarises
 * the latencies. `op` gets a running counter (unique per call).
 *
 * @param op The operation.
 * @param options Concurrency, duration, warm-up, cap.
 * @returns Rate, latency percentiles and errors.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { closedLoop } from "./measure.ts";
 *
 * const r = await closedLoop(() => Promise.resolve(), {
 *   concurrency: 2,
 *   durationMs: 5,
 * });
 * assert.ok(r.count > 0);
 * ```
 */
export async function closedLoop(
  op: (n: number) => Promise<unknown>,
  options: ClosedLoopOptions,
): Promise<ClosedLoopResult> {
  const { concurrency, durationMs, warmupMs = 0, maxOps = Infinity } = options;
  let n = 0;
  let errors = 0;
  let firstError: string | undefined;
  const latencies: number[] = [];
  const runPhase = async (ms: number, record: boolean) => {
    const deadline = performance.now() + ms;
    const worker = async () => {
      while (performance.now() < deadline && latencies.length < maxOps) {
        const t = performance.now();
        try {
          await op(n++);
          if (record) latencies.push(performance.now() - t);
        } catch (error) {
          if (record) {
            errors++;
            firstError ??= error instanceof Error
              ? error.message
              : String(error);
          }
          // Do not spin on a failing target.
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  };
  if (warmupMs > 0) await runPhase(warmupMs, false);
  const t0 = performance.now();
  await runPhase(durationMs, true);
  const wall = performance.now() - t0;
  const result: ClosedLoopResult = {
    ...summarizeLatencies(latencies, wall),
    errors,
  };
  if (firstError !== undefined) result.firstError = firstError;
  return result;
}
