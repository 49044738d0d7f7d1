/**
 * Statistics for the benchmark runner: latency percentiles within one
 * measurement, and the median/min/max of a figure over repeated rounds.
 *
 * Every figure in a result file is a {@linkcode RoundStat}: the median over
 * the rounds, the smallest and largest round, and every round's value, so a
 * reader can see the spread that a noisy machine produced.
 *
 * @module
 */

/** One figure measured over several rounds. */
export interface RoundStat {
  /** Median over the rounds (the figure to quote). */
  median: number;
  /** Smallest round. */
  min: number;
  /** Largest round. */
  max: number;
  /** Every round's value, in round order. */
  rounds: number[];
}

/** The latency summary of one measurement, in microseconds. */
export interface LatencySummary {
  /** Completed operations. */
  count: number;
  /** Operations per second over the measurement's wall time. */
  perSec: number;
  /** Median latency, µs. */
  p50Us: number;
  /** 99th percentile latency, µs. */
  p99Us: number;
  /** Mean latency, µs. */
  meanUs: number;
}

/**
 * Returns the `q` quantile (0..1) of `values` by nearest rank. The array is
 * sorted in place.
 *
 * @param values Samples (sorted in place).
 * @param q Quantile between 0 and 1.
 * @returns The sample at that rank, or `NaN` for no samples.
 * @throws {RangeError} When `q` is outside 0..1.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { quantile } from "./stats.ts";
 *
 * assert.equal(quantile([5, 1, 3, 2, 4], 0.5), 3);
 * ```
 */
export function quantile(values: number[], q: number): number {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`Invalid quantile: ${q}`);
  if (values.length === 0) return NaN;
  values.sort((a, b) => a - b);
  const rank = Math.min(
    values.length - 1,
    Math.max(0, Math.ceil(q * values.length) - 1),
  );
  return values[rank]!;
}

/**
 * Summarises the latencies (ms) of one measurement that took `wallMs`.
 *
 * @param latenciesMs Per-operation latencies in milliseconds (sorted in place).
 * @param wallMs The measurement's wall time in milliseconds.
 * @returns Count, rate and p50/p99/mean in microseconds.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { summarizeLatencies } from "./stats.ts";
 *
 * const s = summarizeLatencies([1, 2, 3, 4], 10);
 * assert.equal(s.perSec, 400);
 * assert.equal(s.p50Us, 2000);
 * ```
 */
export function summarizeLatencies(
  latenciesMs: number[],
  wallMs: number,
): LatencySummary {
  const count = latenciesMs.length;
  let sum = 0;
  for (const v of latenciesMs) sum += v;
  return {
    count,
    perSec: wallMs > 0 ? count / (wallMs / 1000) : 0,
    p50Us: quantile(latenciesMs, 0.5) * 1000,
    p99Us: quantile(latenciesMs, 0.99) * 1000,
    meanUs: count > 0 ? (sum / count) * 1000 : NaN,
  };
}

/**
 * Builds a {@linkcode RoundStat} from per-round values.
 *
 * @param rounds One value per round.
 * @returns Median, min, max and the rounds (NaN-filled for no rounds).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { roundStat } from "./stats.ts";
 *
 * assert.deepEqual(roundStat([3, 1, 2]), {
 *   median: 2,
 *   min: 1,
 *   max: 3,
 *   rounds: [3, 1, 2],
 * });
 * ```
 */
export function roundStat(rounds: number[]): RoundStat {
  const finite = rounds.filter((v) => Number.isFinite(v));
  if (finite.length === 0) {
    return { median: NaN, min: NaN, max: NaN, rounds: [...rounds] };
  }
  const sorted = [...finite].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1
    ? sorted[mid]!
    : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return {
    median,
    min: sorted[0]!,
    max: sorted[sorted.length - 1]!,
    rounds: [...rounds],
  };
}

/**
 * Collects named per-round values and turns them into
 * {@linkcode RoundStat}s: call `add(name, value)` once per round, then
 * `stats()`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RoundCollector } from "./stats.ts";
 *
 * const c = new RoundCollector();
 * c.add("rate", 10);
 * c.add("rate", 30);
 * assert.equal(c.stats().rate!.median, 20);
 * ```
 */
export class RoundCollector {
  #values = new Map<string, number[]>();

  /** Records one round's `value` for `name`. */
  add(name: string, value: number): void {
    let list = this.#values.get(name);
    if (!list) {
      list = [];
      this.#values.set(name, list);
    }
    list.push(value);
  }

  /** Every name's {@linkcode RoundStat}. */
  stats(): Record<string, RoundStat> {
    const out: Record<string, RoundStat> = {};
    for (const [name, values] of this.#values) out[name] = roundStat(values);
    return out;
  }
}

/**
 * Formats a number for the table: integers with thousands separators,
 * small values with up to 3 significant decimals, `NaN` as `-`.
 *
 * @param value The number.
 * @returns Its display form.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatNumber } from "./stats.ts";
 *
 * assert.equal(formatNumber(12345.6), "12,346");
 * assert.equal(formatNumber(1.234), "1.23");
 * ```
 */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return "-";
  const abs = Math.abs(value);
  if (abs >= 100) return Math.round(value).toLocaleString("en-US");
  if (abs >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/**
 * Formats a {@linkcode RoundStat} as `median (min–max)`, or just the median
 * when there was one round.
 *
 * @param stat The figure.
 * @returns Its display form.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatStat, roundStat } from "./stats.ts";
 *
 * assert.equal(formatStat(roundStat([1, 2, 3])), "2.00 (1.00–3.00)");
 * ```
 */
export function formatStat(stat: RoundStat | undefined): string {
  if (!stat) return "-";
  const finite = stat.rounds.filter((v) => Number.isFinite(v)).length;
  if (finite <= 1) return formatNumber(stat.median);
  return `${formatNumber(stat.median)} (${formatNumber(stat.min)}–${
    formatNumber(stat.max)
  })`;
}

/**
 * Renders rows as a plain-text table with a header row.
 *
 * @param header Column titles.
 * @param rows Cells, one array per row.
 * @returns The table, lines joined by `\n`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderTable } from "./stats.ts";
 *
 * assert.equal(renderTable(["a", "b"], [["1", "22"]]), "a  b\n-  --\n1  22");
 * ```
 */
export function renderTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length))
  );
  const line = (cells: string[]) =>
    cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [
    line(header),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...rows.map(line),
  ].join("\n");
}
