/**
 * The shape of a benchmark scenario, and helpers shared by scenarios.
 *
 * @module
 */

import type { BenchContext } from "./context.ts";
import { type RoundStat, roundStat } from "./stats.ts";

/** What a scenario returns: JSON for the result file and a text table. */
export interface ScenarioOutput {
  /** Machine-readable results (written to the JSON file). */
  result: Record<string, unknown>;
  /** Human-readable table. */
  table: string;
}

/** A benchmark scenario. */
export interface Scenario {
  /** Name used by `--scenario` and as the key in the result file. */
  readonly id: string;
  /** Other names accepted by `--scenario` (e.g. its number). */
  readonly aliases: readonly string[];
  /** One-line title. */
  readonly title: string;
  /** Runs it. */
  run(ctx: BenchContext): Promise<ScenarioOutput>;
}

/**
 * Per-round ratios `a[i] / b[i]` as a {@linkcode RoundStat}.
 *
 * @param a Numerators per round.
 * @param b Denominators per round.
 * @returns The ratio figure.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ratioStat } from "./scenario.ts";
 *
 * assert.equal(ratioStat([2, 4], [1, 2]).median, 2);
 * ```
 */
export function ratioStat(a: number[], b: number[]): RoundStat {
  return roundStat(a.map((v, i) => v / b[i]!));
}

/**
 * Per-round differences `a[i] - b[i]` as a {@linkcode RoundStat}.
 *
 * @param a Minuends per round.
 * @param b Subtrahends per round.
 * @returns The difference figure.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { diffStat } from "./scenario.ts";
 *
 * assert.equal(diffStat([5, 7], [1, 2]).median, 4.5);
 * ```
 */
export function diffStat(a: number[], b: number[]): RoundStat {
  return roundStat(a.map((v, i) => v - b[i]!));
}

/**
 * Rotates `items` by `round` positions, so that repeated rounds do not
 * always measure the same path first.
 *
 * @param items The list.
 * @param round The round number.
 * @returns A rotated copy.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rotate } from "./scenario.ts";
 *
 * assert.deepEqual(rotate([1, 2, 3], 1), [2, 3, 1]);
 * ```
 */
export function rotate<T>(items: readonly T[], round: number): T[] {
  const k = items.length === 0 ? 0 : round % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/** Bytes to MiB, one decimal. */
export function mib(bytes: number): number {
  return Math.round((bytes / 1_048_576) * 10) / 10;
}
