/**
 * The targets, checked against a run's results. A target is `null`
 * (not applicable) when its scenario did not run or the run was too small
 * to judge it (`--quick`).
 *
 * @module
 */

import type { BenchOptions } from "./context.ts";
import type { EventRun, RateStep } from "./scenarios/event_throughput.ts";
import type { RequestRow } from "./scenarios/request_overhead.ts";
import type { RoundStat } from "./stats.ts";

/** One target and how the run did. */
export interface TargetResult {
  /** Short name. */
  name: string;
  /** The goal, in words. */
  goal: string;
  /** What was measured, in words. */
  measured: string;
  /** Met, missed, or `null` when not judged. */
  met: boolean | null;
}

/** A scenario entry as the runner stores it. */
export interface EntryLike {
  /** Whether it ran to the end. */
  ok: boolean;
  /** Its result, when ok. */
  result?: Record<string, unknown>;
}

const MIB = 1_048_576;

function mib(bytes: number): string {
  return `${(bytes / MIB).toFixed(1)} MiB`;
}

/** Slack over one NATS round trip allowed for the added latency, µs. */
export const LATENCY_SLACK_US = 200;
/** Zero-loss rate the proxy must carry from the fake ARI, events/s. */
export const FAKE_RATE_TARGET = 30_000;
/** Allowed idle RSS over a bare Deno + NATS process, bytes. */
export const IDLE_RSS_SLACK = 10 * MIB;
/** Allowed RSS growth after the first quarter of the leak check, bytes. */
export const LEAK_GROWTH_LIMIT = 5 * MIB;

/**
 * Checks the targets.
 *
 * @param scenarios Scenario entries by id.
 * @param options The run options.
 * @returns One entry per target.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { evaluateTargets } from "./targets.ts";
 *
 * const targets = evaluateTargets({}, {
 *   quick: true, rounds: 1, durationMs: 1, sustainMs: 1, leakEvents: 1,
 *   stepMs: 1, proxyFlags: [],
 * });
 * assert.ok(targets.every((t) => t.met === null));
 * ```
 */
export function evaluateTargets(
  scenarios: Record<string, EntryLike>,
  options: BenchOptions,
): TargetResult[] {
  const targets: TargetResult[] = [];
  const get = (id: string) => {
    const entry = scenarios[id];
    return entry?.ok ? entry.result : undefined;
  };

  // 1. Added latency, sequential p50.
  const req = get("request_overhead") as
    | { natsRoundTrip: { p50Us: RoundStat }; rows: RequestRow[] }
    | undefined;
  for (const [path, baseline] of [["proxy", "native"], ["wire", "ari"]]) {
    const name = `added latency ${path} vs ${baseline} (sequential p50)`;
    const goal = `≤ one NATS round trip + ${LATENCY_SLACK_US} µs`;
    const rows = req?.rows.filter((r) => r.inFlight === 1) ?? [];
    const added = rows.flatMap((r) => {
      const c = r.comparisons.find((c) =>
        c.path === path && c.baseline === baseline
      );
      return c ? [{ op: r.op, us: c.addedP50Us.median }] : [];
    });
    if (!req || added.length === 0) {
      targets.push({ name, goal, measured: "not measured", met: null });
      continue;
    }
    const limit = req.natsRoundTrip.p50Us.median + LATENCY_SLACK_US;
    targets.push({
      name,
      goal: `${goal} = ${Math.round(limit)} µs`,
      measured: added.map((a) => `${a.op} +${Math.round(a.us)} µs`).join(
        ", ",
      ),
      met: added.every((a) => a.us <= limit),
    });
  }

  // 2. Fake ARI: ≥ 30k events/s with zero loss — as fast as the proxy takes
  // them (the definition), and sustained at a fixed rate.
  const fake = get("events_fake") as
    | {
      topZeroLossRate: number;
      steps: RateStep[];
      asFastAsTaken: { deliveredPerSec: RoundStat; lost: RoundStat };
    }
    | undefined;
  const fast = fake?.asFastAsTaken;
  targets.push({
    name: "events from the fake ARI as fast as taken, zero loss",
    goal: `≥ ${FAKE_RATE_TARGET.toLocaleString("en-US")} events/s (median)`,
    measured: fast
      ? `${
        Math.round(fast.deliveredPerSec.median).toLocaleString("en-US")
      }/s (${Math.round(fast.deliveredPerSec.min).toLocaleString("en-US")}–${
        Math.round(fast.deliveredPerSec.max).toLocaleString("en-US")
      }), lost ${fast.lost.max}`
      : "not measured",
    met: fast && !options.quick
      ? fast.deliveredPerSec.median >= FAKE_RATE_TARGET && fast.lost.max === 0
      : null,
  });
  targets.push({
    name: "events from the fake ARI at a fixed rate, sustained",
    goal: `≥ ${
      FAKE_RATE_TARGET.toLocaleString("en-US")
    } events/s, zero loss, no backlog`,
    measured: fake
      ? `top passing step ${fake.topZeroLossRate.toLocaleString("en-US")}/s`
      : "not measured",
    met: fake && !options.quick
      ? fake.topZeroLossRate >= FAKE_RATE_TARGET
      : null,
  });

  // 3. Real Asterisk: zero loss at its rate for 60 s.
  const ast = get("events_asterisk") as { runs: EventRun[] } | undefined;
  const proxyRuns = ast?.runs.filter((r) => r.path === "proxy") ?? [];
  for (const run of proxyRuns) {
    const paced = run.targetRate > 0;
    targets.push({
      name: paced
        ? `events from real Asterisk at ${run.targetRate}/s, zero loss`
        : "events from real Asterisk unpaced (its top rate), zero loss",
      goal: `0 lost over ${
        Math.round(options.sustainMs / 1000)
      } s (goal: 60 s)`,
      measured: `${run.lost} lost of ${run.expected} at ${
        Math.round(run.sendRate)
      }/s`,
      met: options.quick || options.sustainMs < 60_000
        ? null
        : run.lost === 0 && run.duplicates === 0,
    });
  }
  if (proxyRuns.length === 0) {
    targets.push({
      name: "events from real Asterisk, zero loss",
      goal: "0 lost at ~11,000/s for 60 s",
      measured: "not measured",
      met: null,
    });
  }

  // 4–6. Resources.
  const res = get("resources") as
    | {
      bareDenoNatsRssBytes: number;
      idleRssBytes: number;
      idleOverBareBytes: number;
      topRatePeakRssBytes: number;
      topRateOverIdle: number;
      leak: {
        events: number;
        growthAfterQuarterBytes: number;
        endRssBytes: number;
      };
      cpuSecondsPer10k: number;
    }
    | undefined;
  targets.push({
    name: "proxy RSS idle",
    goal: `within ${mib(IDLE_RSS_SLACK)} of a bare Deno + NATS process`,
    measured: res
      ? `${mib(res.idleRssBytes)} vs ${mib(res.bareDenoNatsRssBytes)} (+${
        mib(res.idleOverBareBytes)
      })`
      : "not measured",
    met: res ? res.idleOverBareBytes <= IDLE_RSS_SLACK : null,
  });
  targets.push({
    name: "proxy RSS at the top zero-loss rate",
    goal: "≤ 2× idle RSS",
    measured: res
      ? `${mib(res.topRatePeakRssBytes)} (${
        res.topRateOverIdle.toFixed(2)
      }× idle)`
      : "not measured",
    met: res && !options.quick && Number.isFinite(res.topRateOverIdle)
      ? res.topRateOverIdle <= 2
      : null,
  });
  targets.push({
    name: "proxy RSS flat after 1M events",
    goal: `growth after the first quarter ≤ ${mib(LEAK_GROWTH_LIMIT)}`,
    measured: res
      ? `${res.leak.events.toLocaleString("en-US")} events: +${
        mib(res.leak.growthAfterQuarterBytes)
      } (end ${mib(res.leak.endRssBytes)}); CPU ${
        res.cpuSecondsPer10k.toFixed(3)
      } s/10k events`
      : "not measured",
    met: res && res.leak.events >= 1_000_000
      ? res.leak.growthAfterQuarterBytes <= LEAK_GROWTH_LIMIT
      : null,
  });
  return targets;
}
