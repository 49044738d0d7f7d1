/**
 * Scenario 3, call-control cycle rate: originate (a Local channel into the
 * path's Stasis application) → StasisStart → answer → play
 * `sound:hello-world` → PlaybackStarted → hang up → StasisEnd, with several
 * cycles in flight, per path. Reports cycles/s and cycle latency, and the
 * proxy/native ratios measured in the same rounds.
 *
 * @module
 */

import type { BenchApi } from "../api.ts";
import type { BenchContext } from "../context.ts";
import { closedLoop } from "../measure.ts";
import { COMPARISONS, openPaths, type PathName } from "../paths.ts";
import {
  ratioStat,
  rotate,
  type Scenario,
  type ScenarioOutput,
} from "../scenario.ts";
import {
  formatNumber,
  formatStat,
  renderTable,
  type RoundStat,
  roundStat,
} from "../stats.ts";

/**
 * One full cycle on `api`.
 *
 * @param api The path.
 * @param tag A unique tag for the channel and playback ids.
 * @returns When the channel has left Stasis.
 */
export async function callCycle(api: BenchApi, tag: string): Promise<void> {
  const channelId = `cc-${tag}`;
  const playbackId = `pb-${tag}`;
  let originated = false;
  try {
    const started = api.expect("StasisStart", channelId);
    await api.originate({
      channelId,
      endpoint: "Local/park@default",
      app: api.app,
    });
    originated = true;
    await started;
    await api.answer(channelId);
    const playing = api.expect("PlaybackStarted", playbackId);
    await api.play(channelId, playbackId, "sound:hello-world");
    await playing;
    const ended = api.expect("StasisEnd", channelId);
    await api.hangup(channelId);
    originated = false;
    await ended;
  } finally {
    // Do not leave a parked channel behind after a failed cycle.
    if (originated) await api.hangup(channelId).catch(() => {});
  }
}

async function run(ctx: BenchContext): Promise<ScenarioOutput> {
  const { rounds, durationMs, quick } = ctx.options;
  const inFlight = quick ? 2 : 8;
  const cellMs = quick ? durationMs : durationMs * 2;
  const stack = await ctx.stack();
  const { server } = await ctx.nats();
  const { paths, notes } = await openPaths(stack, server.url);
  const runId = crypto.randomUUID().slice(0, 6);
  const raw = new Map<
    string,
    {
      perSec: number[];
      p50Ms: number[];
      p99Ms: number[];
      errors: number;
      firstError?: string;
    }
  >();
  try {
    for (let round = 0; round < rounds; round++) {
      ctx.log(`call control: round ${round + 1}/${rounds}`);
      for (const api of rotate(paths, round)) {
        const r = await closedLoop(
          (n) => callCycle(api, `${runId}-${api.name}-${round}-${n}`),
          {
            concurrency: inFlight,
            durationMs: cellMs,
            warmupMs: quick ? 0 : 500,
          },
        );
        let slot = raw.get(api.name);
        if (!slot) {
          slot = { perSec: [], p50Ms: [], p99Ms: [], errors: 0 };
          raw.set(api.name, slot);
        }
        slot.perSec.push(r.perSec);
        slot.p50Ms.push(r.p50Us / 1000);
        slot.p99Ms.push(r.p99Us / 1000);
        slot.errors += r.errors;
        if (r.firstError !== undefined) slot.firstError ??= r.firstError;
      }
    }
  } finally {
    await Promise.allSettled(paths.map((p) => p.close()));
  }
  const perPath: Record<string, {
    cyclesPerSec: RoundStat;
    p50Ms: RoundStat;
    p99Ms: RoundStat;
    errors: number;
    firstError?: string;
  }> = {};
  for (const [name, slot] of raw) {
    perPath[name] = {
      cyclesPerSec: roundStat(slot.perSec),
      p50Ms: roundStat(slot.p50Ms),
      p99Ms: roundStat(slot.p99Ms),
      errors: slot.errors,
      ...(slot.firstError !== undefined ? { firstError: slot.firstError } : {}),
    };
  }
  const comparisons = COMPARISONS.filter(([a, b]) => raw.has(a) && raw.has(b))
    .map(([path, baseline]) => ({
      path,
      baseline,
      rateRatio: ratioStat(raw.get(path)!.perSec, raw.get(baseline)!.perSec),
      p50Ratio: ratioStat(raw.get(path)!.p50Ms, raw.get(baseline)!.p50Ms),
    }));
  const result = {
    inFlight,
    durationMs: cellMs,
    paths: perPath,
    comparisons,
    notes,
  };
  const lines = [
    renderTable(
      ["path", "cycles/s", "p50 ms", "p99 ms", "errors"],
      Object.entries(perPath).map(([name, f]) => [
        name,
        formatStat(f.cyclesPerSec),
        formatStat(f.p50Ms),
        formatStat(f.p99Ms),
        String(f.errors),
      ]),
    ),
    ...comparisons.map((c) =>
      `${c.path}/${c.baseline}: cycle rate ${formatStat(c.rateRatio)}, p50 ${
        formatStat(c.p50Ratio)
      }`
    ),
    ...notes.map((n) => `note: ${n}`),
    `(${formatNumber(inFlight)} cycles in flight)`,
  ];
  return { result, table: lines.join("\n") };
}

/** Scenario 3: call-control cycle rate. */
export const callControl: Scenario = {
  id: "call_control",
  aliases: ["3", "calls"],
  title:
    "3. Call-control cycles: originate → StasisStart → answer → play → hangup",
  run,
};

/** Path names, re-exported for the runner. */
export type { PathName };
