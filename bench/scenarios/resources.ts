/**
 * Scenario 5, resources of the proxy process (from `/proc`), on a fresh
 * proxy in front of its own fake ARI:
 *
 * - RSS idle (connected, no traffic) vs a bare Deno process holding one
 *   NATS connection;
 * - peak RSS while carrying the top zero-loss rate of scenario 2b (the rate
 *   search runs first if 2b did not run) for two step lengths;
 * - the leak check: N events (1M in a full run) at 90 % of that rate, RSS
 *   sampled every second; flat after the first quarter means no leak;
 * - CPU seconds per 10k events.
 *
 * @module
 */

import type { BenchContext } from "../context.ts";
import { readProcSample, sleep } from "../proc.ts";
import { mib, type Scenario, type ScenarioOutput } from "../scenario.ts";
import { renderTable } from "../stats.ts";
import { fakeRun, rateSearch } from "./event_throughput.ts";

const SESSION = "resources";

async function run(ctx: BenchContext): Promise<ScenarioOutput> {
  const { quick, leakEvents, stepMs } = ctx.options;
  const { top } = await rateSearch(ctx);
  const topRate = top?.rate ?? 0;
  const session = await ctx.fakeSession(SESSION);
  const { idleRssBytes: bareRss } = await ctx.bare();
  const pid = session.proxy.pid;

  // Peak RSS at the top zero-loss rate, from idle.
  const topCount = Math.max(1_000, Math.round((topRate * stepMs * 2) / 1000));
  ctx.log(
    `resources: ${topCount} events at the top zero-loss rate (${topRate}/s) on a fresh proxy`,
  );
  const atTop = await fakeRun(ctx, topCount, topRate, undefined, SESSION);

  // Leak check.
  const leakRate = quick ? 0 : Math.round(topRate * 0.9);
  ctx.log(
    `resources: leak check, ${leakEvents} events at ${
      leakRate > 0 ? `${leakRate}/s` : "full speed"
    }`,
  );
  const checkpoints: { events: number; rssBytes: number; atMs: number }[] = [];
  const t0 = performance.now();
  const startRss = (await readProcSample(pid)).rssBytes;
  checkpoints.push({ events: 0, rssBytes: startRss, atMs: 0 });
  const leak = await fakeRun(ctx, leakEvents, leakRate, async (received) => {
    // Sampled once a second while events flow.
    const atMs = Math.round(performance.now() - t0);
    try {
      const rss = (await readProcSample(pid)).rssBytes;
      checkpoints.push({ events: received, rssBytes: rss, atMs });
    } catch {
      // The proxy ended; the run reports it.
    }
  }, SESSION);
  const endRss = (await readProcSample(pid)).rssBytes;
  await sleep(quick ? 300 : 5_000);
  const afterQuietRss = (await readProcSample(pid)).rssBytes;
  // RSS at a quarter of the run vs at its end: growth after warm-up.
  const during = checkpoints.slice(1);
  const quarter = during[Math.floor(during.length / 4)]?.rssBytes ?? startRss;
  const result = {
    bareDenoNatsRssBytes: bareRss,
    idleRssBytes: session.idleRssBytes,
    idleOverBareBytes: session.idleRssBytes - bareRss,
    topZeroLossRate: topRate,
    topRateEvents: topCount,
    topRateLost: atTop.report.lost,
    topRatePeakRssBytes: atTop.peakRssBytes,
    topRateOverIdle: atTop.peakRssBytes / session.idleRssBytes,
    leak: {
      events: leakEvents,
      ratePerSec: leakRate,
      sent: leak.emit.sent,
      received: leak.report.received,
      lost: leak.report.lost,
      elapsedMs: leak.elapsedMs,
      startRssBytes: startRss,
      quarterRssBytes: quarter,
      endRssBytes: endRss,
      afterQuietRssBytes: afterQuietRss,
      peakRssBytes: leak.peakRssBytes,
      growthAfterQuarterBytes: endRss - quarter,
      samples: checkpoints,
    },
    cpuSecondsPer10k: (leak.cpuMs / 1000) * 10_000 /
      Math.max(1, leak.report.received),
  };
  const table = renderTable(["figure", "value"], [
    ["bare Deno + 1 NATS connection RSS", `${mib(bareRss)} MiB`],
    ["proxy RSS idle", `${mib(session.idleRssBytes)} MiB`],
    ["idle over bare", `${mib(result.idleOverBareBytes)} MiB`],
    [
      `proxy peak RSS, ${topCount} events at ${topRate}/s (lost ${atTop.report.lost})`,
      `${mib(result.topRatePeakRssBytes)} MiB (${
        result.topRateOverIdle.toFixed(2)
      }× idle)`,
    ],
    [
      `leak check: ${leak.emit.sent} events (lost ${leak.report.lost})`,
      `RSS start ${mib(startRss)} → ¼ ${mib(quarter)} → end ${
        mib(endRss)
      } → quiet ${mib(afterQuietRss)} MiB (peak ${mib(leak.peakRssBytes)})`,
    ],
    ["growth after ¼ of the leak check", `${mib(endRss - quarter)} MiB`],
    ["proxy CPU per 10k events", `${result.cpuSecondsPer10k.toFixed(3)} s`],
  ]);
  return { result, table };
}

/** Scenario 5: resources. */
export const resources: Scenario = {
  id: "resources",
  aliases: ["5", "rss", "memory"],
  title: "5. Resources: proxy RSS and CPU",
  run,
};
