/**
 * Scenario 6, metrics overhead: two proxies in front of two fake ARIs,
 * identical except that one serves `/metrics` (`HTTP_LISTEN`, so it counts
 * every request and event) and the other does not. Measured side by side in
 * the same rounds (order alternating): request latency and throughput
 * (`AsteriskInfo` over NATS, 1 and 64 in flight) and event throughput (as
 * fast as the proxy takes them) with the proxy's CPU per 10k events.
 * Finally the metrics proxy's `/metrics` is read, to show the counters
 * counted what was sent.
 *
 * @module
 */

import { wireRequest } from "../api.ts";
import type { BenchContext, FakeSession } from "../context.ts";
import { PREFIX } from "../env.ts";
import { closedLoop } from "../measure.ts";
import {
  ratioStat,
  rotate,
  type Scenario,
  type ScenarioOutput,
} from "../scenario.ts";
import {
  formatStat,
  renderTable,
  type RoundStat,
  roundStat,
} from "../stats.ts";
import { fakeRun } from "./event_throughput.ts";
import { createProxyMetrics, OUTCOME } from "../../lib/metrics.ts";

/**
 * The counting itself, in this process: nanoseconds per event (find the
 * type of an unparsed frame, bump its counter) and per request (find the
 * kind, bump the outcome and the histogram).
 */
function countingCost(n: number): { perEventNs: number; perRequestNs: number } {
  const metrics = createProxyMetrics({ applications: ["bench"] });
  const frames = [
    '{"type":"ChannelVarset","timestamp":"2026-01-01T00:00:00.000+0000","variable":"X","value":"1","channel":{"id":"c1"},"asterisk_id":"02:00:00:00:00:01","application":"bench"}',
    '{"type":"StasisStart","timestamp":"2026-01-01T00:00:00.000+0000","args":[],"channel":{"id":"c1"},"asterisk_id":"02:00:00:00:00:01","application":"bench"}',
    '{"type":"ChannelDtmfReceived","timestamp":"2026-01-01T00:00:00.000+0000","digit":"1","duration_ms":100,"channel":{"id":"c1"},"asterisk_id":"02:00:00:00:00:01","application":"bench"}',
  ];
  const kinds = ["ChannelAnswer", "AsteriskInfo", "ChannelVariableSet"];
  const events = (count: number) => {
    for (let i = 0; i < count; i++) {
      metrics.frameType(frames[i % 3]!).published[0]!++;
    }
  };
  const requests = (count: number) => {
    for (let i = 0; i < count; i++) {
      metrics.request(0, metrics.kind(kinds[i % 3]), 2, OUTCOME.ok, 0.001);
    }
  };
  events(n);
  requests(n);
  let t0 = performance.now();
  events(n);
  const perEventNs = ((performance.now() - t0) * 1e6) / n;
  t0 = performance.now();
  requests(n);
  const perRequestNs = ((performance.now() - t0) * 1e6) / n;
  return { perEventNs, perRequestNs };
}

type Mode = "off" | "on";
const MODES: readonly Mode[] = ["off", "on"];
const IN_FLIGHT = [1, 64] as const;

function freeLoopbackPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

interface Figures {
  reqPerSec: Record<number, number[]>;
  p50Us: Record<number, number[]>;
  eventsPerSec: number[];
  cpuMsPer10k: number[];
}

function emptyFigures(): Figures {
  return {
    reqPerSec: { 1: [], 64: [] },
    p50Us: { 1: [], 64: [] },
    eventsPerSec: [],
    cpuMsPer10k: [],
  };
}

async function run(ctx: BenchContext): Promise<ScenarioOutput> {
  const { rounds, durationMs, quick } = ctx.options;
  const { nc } = await ctx.nats();
  const port = freeLoopbackPort();
  const sessions: Record<Mode, FakeSession> = {
    off: await ctx.fakeSession("metrics_off"),
    on: await ctx.fakeSession("metrics_on", {
      HTTP_LISTEN: `127.0.0.1:${port}`,
    }),
  };
  const events = quick ? 5_000 : 200_000;
  const warmupMs = Math.min(300, Math.max(20, durationMs / 5));
  const figures: Record<Mode, Figures> = {
    off: emptyFigures(),
    on: emptyFigures(),
  };
  let sentRequests = 0;
  for (let round = 0; round < rounds; round++) {
    ctx.log(`metrics overhead: round ${round + 1}/${rounds}`);
    for (const mode of rotate(MODES, round)) {
      const s = sessions[mode];
      const subject = `${PREFIX}data.${s.app}.${s.node}`;
      for (const inFlight of IN_FLIGHT) {
        const r = await closedLoop(
          () =>
            wireRequest(nc, subject, { kind: "AsteriskInfo", key: {} }, 5_000),
          { concurrency: inFlight, durationMs, warmupMs },
        );
        if (mode === "on") sentRequests += r.count;
        figures[mode].reqPerSec[inFlight]!.push(r.perSec);
        figures[mode].p50Us[inFlight]!.push(r.p50Us);
      }
      const e = await fakeRun(ctx, events, 0, undefined, `metrics_${mode}`);
      figures[mode].eventsPerSec.push(
        e.report.received / (e.elapsedMs / 1000),
      );
      figures[mode].cpuMsPer10k.push(
        (e.cpuMs * 10_000) / Math.max(1, e.report.received),
      );
    }
  }
  const cost = { perEventNs: [] as number[], perRequestNs: [] as number[] };
  for (let round = 0; round < rounds; round++) {
    const c = countingCost(quick ? 100_000 : 2_000_000);
    cost.perEventNs.push(c.perEventNs);
    cost.perRequestNs.push(c.perRequestNs);
  }
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  const text = await response.text();
  const counted = text.split("\n").filter((line) =>
    line.startsWith("ari_proxy_requests_total{") &&
    line.includes('kind="AsteriskInfo"') && line.includes('outcome="ok"')
  ).reduce((sum, line) => sum + Number(line.split(" ").pop()), 0);

  const stat = (mode: Mode) => ({
    reqPerSec1: roundStat(figures[mode].reqPerSec[1]!),
    p50Us1: roundStat(figures[mode].p50Us[1]!),
    reqPerSec64: roundStat(figures[mode].reqPerSec[64]!),
    p50Us64: roundStat(figures[mode].p50Us[64]!),
    eventsPerSec: roundStat(figures[mode].eventsPerSec),
    cpuMsPer10k: roundStat(figures[mode].cpuMsPer10k),
  });
  const result = {
    rounds,
    durationMs,
    events,
    off: stat("off"),
    on: stat("on"),
    ratios: {
      reqPerSec1: ratioStat(
        figures.on.reqPerSec[1]!,
        figures.off.reqPerSec[1]!,
      ),
      reqPerSec64: ratioStat(
        figures.on.reqPerSec[64]!,
        figures.off.reqPerSec[64]!,
      ),
      p50Us1: ratioStat(figures.on.p50Us[1]!, figures.off.p50Us[1]!),
      p50Us64: ratioStat(figures.on.p50Us[64]!, figures.off.p50Us[64]!),
      eventsPerSec: ratioStat(
        figures.on.eventsPerSec,
        figures.off.eventsPerSec,
      ),
      cpuMsPer10k: ratioStat(figures.on.cpuMsPer10k, figures.off.cpuMsPer10k),
    },
    countingNs: {
      perEvent: roundStat(cost.perEventNs),
      perRequest: roundStat(cost.perRequestNs),
    },
    metricsEndpoint: {
      status: response.status,
      bytes: text.length,
      asteriskInfoOkCounted: counted,
      asteriskInfoMeasured: sentRequests,
    },
  };
  if (quick) ctx.log("metrics overhead: done");
  return { result, table: table(result) };
}

function table(result: {
  off: Record<string, RoundStat>;
  on: Record<string, RoundStat>;
  ratios: Record<string, RoundStat>;
  countingNs: { perEvent: RoundStat; perRequest: RoundStat };
  metricsEndpoint: {
    status: number;
    bytes: number;
    asteriskInfoOkCounted: number;
    asteriskInfoMeasured: number;
  };
}): string {
  const rows: [string, string][] = [
    ["AsteriskInfo req/s, 1 in flight", "reqPerSec1"],
    ["AsteriskInfo p50 µs, 1 in flight", "p50Us1"],
    ["AsteriskInfo req/s, 64 in flight", "reqPerSec64"],
    ["AsteriskInfo p50 µs, 64 in flight", "p50Us64"],
    ["events delivered/s (as fast as taken)", "eventsPerSec"],
    ["proxy CPU ms per 10k events", "cpuMsPer10k"],
  ];
  return [
    renderTable(
      ["", "metrics off", "metrics on", "on/off"],
      rows.map(([label, key]) => [
        label,
        formatStat(result.off[key]),
        formatStat(result.on[key]),
        formatStat(result.ratios[key]),
      ]),
    ),
    `Counting alone (in the runner): ${
      formatStat(result.countingNs.perEvent)
    } ns per event, ${formatStat(result.countingNs.perRequest)} ns per request`,
    `GET /metrics: ${result.metricsEndpoint.status}, ${result.metricsEndpoint.bytes} bytes, AsteriskInfo ok counted ${result.metricsEndpoint.asteriskInfoOkCounted} (measured ${result.metricsEndpoint.asteriskInfoMeasured}, plus warm-up and readiness probes)`,
  ].join("\n");
}

/** Scenario 6: metrics overhead. */
export const metricsOverhead: Scenario = {
  id: "metrics_overhead",
  aliases: ["6", "metrics"],
  title: "6. Metrics on vs off: request overhead and event throughput",
  run,
};
