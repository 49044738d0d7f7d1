/**
 * The demo's terminal output: a live view redrawn in place on a terminal,
 * one plain status line at a time otherwise, and the summary at the end.
 *
 * @module
 */

import type { DemoSnapshot } from "./stats.ts";

/** A cluster member as the view shows it. */
export interface MemberRow {
  /** Asterisk entity id. */
  node: string;
  /** ARI application. */
  application: string;
}

/** What the view shows besides the statistics. */
export interface ViewState {
  /** The stats as of now. */
  stats: DemoSnapshot;
  /** Cluster members the client knows. */
  members: MemberRow[];
  /** The limit of the run ("10 calls", "20 s", …). */
  limit: string;
}

function formatRates(perSecond: Record<string, number>): string {
  const entries = Object.entries(perSecond).sort((a, b) => b[1] - a[1]);
  if (entries.length === 0) return "none";
  return entries.map(([type, n]) => `${type} ${n}`).join(", ");
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/**
 * The live view as lines (for a terminal, redrawn in place).
 *
 * @param state Stats, members and the run's limit.
 * @returns The lines to draw, without trailing newlines.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DemoStats } from "./stats.ts";
 * import { liveLines } from "./view.ts";
 *
 * const lines = liveLines({
 *   stats: new DemoStats().snapshot(),
 *   members: [{ node: "02:00:00:00:00:01", application: "demo" }],
 *   limit: "10 calls",
 * });
 * assert.ok(lines.some((line) => line.includes("02:00:00:00:00:01")));
 * ```
 */
export function liveLines(state: ViewState): string[] {
  const { stats, members, limit } = state;
  const lines = [
    `ari-proxy demo: ${seconds(stats.elapsedMs)} (${limit}; Ctrl-C ends it)`,
    `cluster:   ${members.length} member${members.length === 1 ? "" : "s"}`,
    ...members.map((m) =>
      `           node ${m.node}  application ${m.application}`
    ),
    `calls:     ${stats.active} in progress, ${stats.completed} completed, ${stats.failed} failed${
      stats.interrupted ? `, ${stats.interrupted} interrupted` : ""
    }`,
    `events/s:  ${formatRates(stats.eventsPerSecond)}`,
    `events:    ${stats.eventsTotal} in total`,
    `requests:  ${stats.requests} through the proxy, p50 ${stats.p50Ms} ms, p99 ${stats.p99Ms} ms`,
  ];
  for (const failure of stats.failures.slice(-3)) {
    lines.push(`failure:   call ${failure.call}: ${failure.reason}`);
  }
  return lines;
}

/**
 * One plain status line (for output that is not a terminal).
 *
 * @param state Stats, members and the run's limit.
 * @returns One line without a trailing newline.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DemoStats } from "./stats.ts";
 * import { plainLine } from "./view.ts";
 *
 * const line = plainLine({ stats: new DemoStats().snapshot(), members: [], limit: "5 s" });
 * assert.match(line, /calls 0 active/);
 * ```
 */
export function plainLine(state: ViewState): string {
  const { stats, members } = state;
  const total = Math.round(
    Object.values(stats.eventsPerSecond).reduce((a, b) => a + b, 0) * 10,
  ) / 10;
  return `demo: ${
    seconds(stats.elapsedMs)
  } | cluster ${members.length} | calls ${stats.active} active ${stats.completed} completed ${stats.failed} failed | events ${total}/s (${stats.eventsTotal} total) | requests ${stats.requests} p50 ${stats.p50Ms} ms p99 ${stats.p99Ms} ms`;
}

/**
 * The summary printed at the end (unless `--json`).
 *
 * @param state Stats and members at the end of the run.
 * @returns Lines without trailing newlines.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DemoStats } from "./stats.ts";
 * import { summaryLines } from "./view.ts";
 *
 * const lines = summaryLines({ stats: new DemoStats().snapshot(), members: [], limit: "1 call" });
 * assert.ok(lines[0]!.startsWith("Summary"));
 * ```
 */
export function summaryLines(state: ViewState): string[] {
  const { stats, members } = state;
  const lines = [
    `Summary after ${seconds(stats.elapsedMs)}:`,
    `  cluster:    ${
      members.map((m) => `${m.node} (${m.application})`).join(", ") || "none"
    }`,
    `  calls:      ${stats.placed} placed, ${stats.completed} completed, ${stats.failed} failed${
      stats.interrupted ? `, ${stats.interrupted} interrupted` : ""
    }`,
    `  recordings: ${stats.recordings}`,
    `  requests:   ${stats.requests} (${stats.requestErrors} failed), p50 ${stats.p50Ms} ms, p99 ${stats.p99Ms} ms`,
    `  events:     ${stats.eventsTotal}: ${
      Object.entries(stats.eventsByType).map(([t, n]) => `${t} ${n}`).join(
        ", ",
      ) || "none"
    }`,
  ];
  for (const failure of stats.failures) {
    lines.push(`  failure:    call ${failure.call}: ${failure.reason}`);
  }
  return lines;
}
