/**
 * Scenario 1, request overhead: the same ARI calls made directly against
 * Asterisk and through client → NATS → proxy → Asterisk, sequentially and
 * with 8 and 64 in flight, each with ARI requests over the WebSocket
 * (`native`, `proxy`, `wire`) and over HTTP (`native_http`, `proxy_http`).
 * Reports req/s, p50/p99 and (for paths through a proxy) the proxy's CPU
 * per request, and per comparison (proxy vs native, wire vs ari, websocket
 * vs http) the p50 ratio, the throughput ratio and the microseconds the
 * proxy adds per call. One NATS round trip
 * (request/reply to a bare Deno responder) is measured in the same rounds as
 * the yardstick for the latency target.
 *
 * @module
 */

import type { BenchApi } from "../api.ts";
import { closeSocket, openEventSocket, wireRequest } from "../api.ts";
import type { BenchContext } from "../context.ts";
import { readProcSample } from "../proc.ts";
import { closedLoop, type ClosedLoopResult } from "../measure.ts";
import { COMPARISONS, openPaths, type PathName } from "../paths.ts";
import {
  diffStat,
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

/** The operations measured. */
export const OPERATIONS = [
  "asterisk_info",
  "channels_list",
  "channel_get",
  "variable_set",
] as const;

/** Concurrency levels (requests in flight). */
export const IN_FLIGHT = [1, 8, 64] as const;

/** One path's figures in one row. */
export interface PathFigures {
  /** Requests per second. */
  reqPerSec: RoundStat;
  /** Median latency, µs. */
  p50Us: RoundStat;
  /** 99th percentile latency, µs. */
  p99Us: RoundStat;
  /** Failed requests over all rounds. */
  errors: number;
  /** First failure message, if any. */
  firstError?: string;
  /** CPU time of the proxy the path goes through, µs per request. */
  proxyCpuUs?: RoundStat;
}

/** One comparison in one row. */
export interface Comparison {
  /** The path through the proxy. */
  path: PathName;
  /** The direct path it is compared with. */
  baseline: PathName;
  /** p50 latency ratio path / baseline. */
  p50Ratio: RoundStat;
  /** Throughput ratio path / baseline. */
  throughputRatio: RoundStat;
  /** p50 latency added by the proxy, µs (path − baseline). */
  addedP50Us: RoundStat;
}

/** One operation at one concurrency. */
export interface RequestRow {
  /** Operation. */
  op: (typeof OPERATIONS)[number];
  /** Requests in flight. */
  inFlight: number;
  /** Figures per path. */
  paths: Partial<Record<PathName, PathFigures>>;
  /** Proxy vs direct comparisons. */
  comparisons: Comparison[];
}

function operation(
  api: BenchApi,
  op: (typeof OPERATIONS)[number],
  channelId: string,
): (n: number) => Promise<unknown> {
  switch (op) {
    case "asterisk_info":
      return () => api.info();
    case "channels_list":
      return () => api.listChannels();
    case "channel_get":
      return () => api.getChannel(channelId);
    case "variable_set":
      return (n) => api.setVariable(channelId, "BENCH_VAR", String(n));
  }
}

async function run(ctx: BenchContext): Promise<ScenarioOutput> {
  const { rounds, durationMs, quick } = ctx.options;
  const stack = await ctx.stack();
  const { server } = await ctx.nats();
  // The echo responder for the NATS round-trip yardstick.
  await ctx.bare();
  const { paths, notes } = await openPaths(stack, server.url);
  const parkId = `bench-park-${crypto.randomUUID().slice(0, 8)}`;
  const ari = paths.find((p) => p.name === "ari")!;
  // Variables can only be set on a channel in Stasis: park it in an
  // application of its own, so its events load neither the proxy nor a path.
  const parkApp = `${stack.app}_park`;
  const parkSocket = await openEventSocket(stack.ari, parkApp, () => {});
  try {
    await ari.originate({
      channelId: parkId,
      endpoint: "Local/park@default",
      app: parkApp,
    });
    await ari.getChannel(parkId);
    const warmupMs = Math.min(300, Math.max(20, durationMs / 5));
    // raw[op|inFlight|path][metric] = per-round values
    const raw = new Map<string, {
      reqPerSec: number[];
      p50Us: number[];
      p99Us: number[];
      cpuUs: number[];
      errors: number;
      firstError?: string;
    }>();
    // The proxy process each path goes through (its CPU is read from /proc).
    const proxyPid: Partial<Record<string, number>> = {
      wire: stack.proxy.pid,
      proxy: stack.proxy.pid,
      "proxy_http": stack.proxyHttp.pid,
    };
    const rtt = { p50Us: [] as number[], p99Us: [] as number[] };
    for (let round = 0; round < rounds; round++) {
      ctx.log(`request overhead: round ${round + 1}/${rounds}`);
      const echo = await closedLoop(
        () => wireRequest(stack.nc, "bench.echo", { kind: "echo" }, 5_000),
        { concurrency: 1, durationMs, warmupMs },
      );
      rtt.p50Us.push(echo.p50Us);
      rtt.p99Us.push(echo.p99Us);
      for (const op of OPERATIONS) {
        for (const inFlight of IN_FLIGHT) {
          for (const api of rotate(paths, round)) {
            const call = operation(api, op, parkId);
            const pid = proxyPid[api.name];
            await closedLoop(call, {
              concurrency: inFlight,
              durationMs: warmupMs,
            });
            const before = pid === undefined
              ? undefined
              : await readProcSample(pid);
            const r: ClosedLoopResult = await closedLoop(call, {
              concurrency: inFlight,
              durationMs,
            });
            const after = pid === undefined
              ? undefined
              : await readProcSample(pid);
            const key = `${op}|${inFlight}|${api.name}`;
            let slot = raw.get(key);
            if (!slot) {
              slot = {
                reqPerSec: [],
                p50Us: [],
                p99Us: [],
                cpuUs: [],
                errors: 0,
              };
              raw.set(key, slot);
            }
            if (before && after && r.count > 0) {
              slot.cpuUs.push((after.cpuMs - before.cpuMs) * 1000 / r.count);
            }
            slot.reqPerSec.push(r.perSec);
            slot.p50Us.push(r.p50Us);
            slot.p99Us.push(r.p99Us);
            slot.errors += r.errors;
            if (r.firstError !== undefined) slot.firstError ??= r.firstError;
          }
        }
      }
    }
    const names = paths.map((p) => p.name as PathName);
    const rows: RequestRow[] = [];
    for (const op of OPERATIONS) {
      for (const inFlight of IN_FLIGHT) {
        const row: RequestRow = { op, inFlight, paths: {}, comparisons: [] };
        for (const name of names) {
          const slot = raw.get(`${op}|${inFlight}|${name}`)!;
          const figures: PathFigures = {
            reqPerSec: roundStat(slot.reqPerSec),
            p50Us: roundStat(slot.p50Us),
            p99Us: roundStat(slot.p99Us),
            errors: slot.errors,
          };
          if (slot.firstError !== undefined) {
            figures.firstError = slot.firstError;
          }
          if (slot.cpuUs.length > 0) {
            figures.proxyCpuUs = roundStat(slot.cpuUs);
          }
          row.paths[name] = figures;
        }
        for (const [path, baseline] of COMPARISONS) {
          const a = raw.get(`${op}|${inFlight}|${path}`);
          const b = raw.get(`${op}|${inFlight}|${baseline}`);
          if (!a || !b) continue;
          row.comparisons.push({
            path,
            baseline,
            p50Ratio: ratioStat(a.p50Us, b.p50Us),
            throughputRatio: ratioStat(a.reqPerSec, b.reqPerSec),
            addedP50Us: diffStat(a.p50Us, b.p50Us),
          });
        }
        rows.push(row);
      }
    }
    const result = {
      paths: names,
      notes,
      rounds,
      durationMs,
      natsRoundTrip: {
        p50Us: roundStat(rtt.p50Us),
        p99Us: roundStat(rtt.p99Us),
      },
      rows,
    };
    if (quick) ctx.log("request overhead: done");
    return { result, table: table(result) };
  } finally {
    await ari.hangup(parkId).catch(() => {});
    await closeSocket(parkSocket);
    await Promise.allSettled(paths.map((p) => p.close()));
  }
}

function table(result: {
  paths: PathName[];
  natsRoundTrip: { p50Us: RoundStat; p99Us: RoundStat };
  rows: RequestRow[];
  notes: string[];
}): string {
  const header = ["op", "in flight"];
  const withCpu = result.paths.filter((name) =>
    result.rows.some((row) => row.paths[name]?.proxyCpuUs !== undefined)
  );
  for (const name of result.paths) {
    header.push(`${name} req/s`, `${name} p50 µs`, `${name} p99 µs`);
    if (withCpu.includes(name)) header.push(`${name} proxy CPU µs/req`);
  }
  const comparisons = result.rows[0]?.comparisons ?? [];
  for (const c of comparisons) {
    header.push(`${c.path}/${c.baseline} p50`, `${c.path} adds µs`);
  }
  const rows = result.rows.map((row) => {
    const cells = [row.op, String(row.inFlight)];
    for (const name of result.paths) {
      const f = row.paths[name];
      cells.push(
        formatNumber(f?.reqPerSec.median ?? NaN) +
          (f?.errors ? ` (${f.errors} err)` : ""),
        formatNumber(f?.p50Us.median ?? NaN),
        formatNumber(f?.p99Us.median ?? NaN),
      );
      if (withCpu.includes(name)) {
        cells.push(formatNumber(f?.proxyCpuUs?.median ?? NaN));
      }
    }
    for (const c of row.comparisons) {
      cells.push(formatStat(c.p50Ratio), formatStat(c.addedP50Us));
    }
    return cells;
  });
  const lines = [
    `One NATS round trip (request/reply to a bare Deno responder): p50 ${
      formatStat(result.natsRoundTrip.p50Us)
    } µs, p99 ${formatStat(result.natsRoundTrip.p99Us)} µs`,
    renderTable(header, rows),
  ];
  for (const note of result.notes) lines.push(`note: ${note}`);
  return lines.join("\n");
}

/** Scenario 1: request overhead. */
export const requestOverhead: Scenario = {
  id: "request_overhead",
  aliases: ["1", "request", "requests"],
  title: "1. Request overhead: direct ARI vs through the proxy",
  run,
};
