/**
 * Scenario "ARI paths": the request half of the proxy and the native client
 * (`createAriRestClient`), in this process, against the real Asterisk, over
 * each path it can take:
 *
 * - `ws×1`, `ws×2`, `ws×4`: `RESTRequest` messages on 1, 2 or 4 events
 *   WebSockets (one carries the events; each extra one registers an
 *   application of its own), requests spread round-robin;
 * - `http fetch`: HTTP over Deno's `fetch` (the proxy's HTTP path).
 *
 * (Until the WebSocket path, the proxy used a hand-written HTTP/1.1
 * keep-alive pool; this scenario measured it as `http pool` and
 * BENCHMARKS.md keeps those figures.)
 *
 * `GET /asterisk/info` and `POST /asterisk/variable`, sequentially and with
 * 8 and 64 in flight; req/s, p50 and this process's CPU per request (user +
 * system, `process.cpuUsage()`), which is what the path costs the proxy.
 * It answers one question of the design by measurement: one socket or a
 * few.
 *
 * @module
 */

import { cpuUsage } from "node:process";
import { openAriEventStream } from "../../client/native/events_socket.ts";
import {
  type AriRestClient,
  createAriRestClient,
} from "../../client/native/rest.ts";
import { createRestOverWebSocket } from "../../client/native/rest_over_ws.ts";
import type { BenchContext } from "../context.ts";
import { closedLoop } from "../measure.ts";
import { rotate, type Scenario, type ScenarioOutput } from "../scenario.ts";
import {
  formatNumber,
  formatStat,
  renderTable,
  type RoundStat,
  roundStat,
} from "../stats.ts";
import type { Stack } from "../env.ts";

/** The paths measured. */
export const ARI_PATHS = [
  "ws×1",
  "ws×2",
  "ws×4",
  "http fetch",
] as const;

/** The operations measured. */
export const ARI_PATH_OPS = ["asterisk_info", "variable_set"] as const;

/** Requests in flight. */
export const ARI_PATH_IN_FLIGHT = [1, 8, 64] as const;

interface OpenPath {
  name: (typeof ARI_PATHS)[number];
  call(op: (typeof ARI_PATH_OPS)[number], n: number): Promise<unknown>;
  close(): Promise<void>;
}

async function openWs(
  stack: Stack,
  sockets: number,
  name: OpenPath["name"],
): Promise<OpenPath> {
  const closers: (() => Promise<unknown> | void)[] = [];
  const clients: AriRestClient[] = [];
  try {
    for (let i = 0; i < sockets; i++) {
      const table = createRestOverWebSocket({ mode: "websocket" });
      closers.push(() => table.close());
      const stream = openAriEventStream({
        url: stack.ari.wsUrl,
        username: stack.ari.username,
        password: stack.ari.password,
        app: `${stack.app}_paths_${sockets}_${i}`,
        onFrame: () => {},
        requests: table,
      });
      closers.push(() => stream.close());
      await stream.ready();
      await table.whenSupported();
      const rest = createAriRestClient({
        url: stack.ari.httpUrl,
        username: stack.ari.username,
        password: stack.ari.password,
        webSocketRequests: table,
      });
      closers.push(() => rest.close());
      clients.push(rest);
    }
  } catch (error) {
    for (const close of closers.reverse()) await close();
    throw error;
  }
  let next = 0;
  return {
    name,
    call(op, n) {
      const rest = clients[next++ % clients.length]!;
      return request(rest, op, n);
    },
    async close() {
      for (const close of closers.reverse()) await close();
    },
  };
}

function openHttp(stack: Stack): OpenPath {
  const rest = createAriRestClient({
    url: stack.ari.httpUrl,
    username: stack.ari.username,
    password: stack.ari.password,
  });
  return {
    name: "http fetch",
    call: (op, n) => request(rest, op, n),
    close: () => rest.close(),
  };
}

function request(
  rest: AriRestClient,
  op: (typeof ARI_PATH_OPS)[number],
  n: number,
): Promise<unknown> {
  return op === "asterisk_info"
    ? rest.request("GET", "/asterisk/info", { query: { only: "system" } })
    : rest.request("POST", "/asterisk/variable", {
      query: { variable: "BENCH_PATHS", value: String(n) },
    });
}

/** One path at one operation and concurrency. */
export interface AriPathFigures {
  /** Requests per second. */
  reqPerSec: RoundStat;
  /** Median latency, µs. */
  p50Us: RoundStat;
  /** CPU of this process per request, µs. */
  cpuUs: RoundStat;
  /** Failed requests over all rounds. */
  errors: number;
  /** First failure, if any. */
  firstError?: string;
}

async function run(ctx: BenchContext): Promise<ScenarioOutput> {
  const { rounds, durationMs } = ctx.options;
  const stack = await ctx.stack();
  const paths: OpenPath[] = [];
  try {
    paths.push(await openWs(stack, 1, "ws×1"));
    paths.push(await openWs(stack, 2, "ws×2"));
    paths.push(await openWs(stack, 4, "ws×4"));
    paths.push(openHttp(stack));
    const warmupMs = Math.min(300, Math.max(20, durationMs / 5));
    const raw = new Map<string, {
      reqPerSec: number[];
      p50Us: number[];
      cpuUs: number[];
      errors: number;
      firstError?: string;
    }>();
    for (let round = 0; round < rounds; round++) {
      ctx.log(`ARI paths: round ${round + 1}/${rounds}`);
      for (const op of ARI_PATH_OPS) {
        for (const inFlight of ARI_PATH_IN_FLIGHT) {
          for (const path of rotate(paths, round)) {
            const call = (n: number) => path.call(op, n);
            await closedLoop(call, {
              concurrency: inFlight,
              durationMs: warmupMs,
            });
            const before = cpuUsage();
            const r = await closedLoop(call, {
              concurrency: inFlight,
              durationMs,
            });
            const used = cpuUsage(before);
            const key = `${op}|${inFlight}|${path.name}`;
            let slot = raw.get(key);
            if (!slot) {
              slot = { reqPerSec: [], p50Us: [], cpuUs: [], errors: 0 };
              raw.set(key, slot);
            }
            slot.reqPerSec.push(r.perSec);
            slot.p50Us.push(r.p50Us);
            if (r.count > 0) {
              slot.cpuUs.push((used.user + used.system) / r.count);
            }
            slot.errors += r.errors;
            if (r.firstError !== undefined) slot.firstError ??= r.firstError;
          }
        }
      }
    }
    const rows: {
      op: string;
      inFlight: number;
      paths: Record<string, AriPathFigures>;
    }[] = [];
    for (const op of ARI_PATH_OPS) {
      for (const inFlight of ARI_PATH_IN_FLIGHT) {
        const row = {
          op,
          inFlight,
          paths: {} as Record<string, AriPathFigures>,
        };
        for (const name of ARI_PATHS) {
          const slot = raw.get(`${op}|${inFlight}|${name}`);
          if (!slot) continue;
          row.paths[name] = {
            reqPerSec: roundStat(slot.reqPerSec),
            p50Us: roundStat(slot.p50Us),
            cpuUs: roundStat(slot.cpuUs),
            errors: slot.errors,
            ...(slot.firstError === undefined
              ? {}
              : { firstError: slot.firstError }),
          };
        }
        rows.push(row);
      }
    }
    const result = { rounds, durationMs, paths: [...ARI_PATHS], rows };
    const header = ["op", "in flight"];
    for (const name of ARI_PATHS) {
      header.push(`${name} req/s`, `${name} CPU µs/req`);
    }
    const table = renderTable(
      header,
      rows.map((row) => {
        const cells = [row.op, String(row.inFlight)];
        for (const name of ARI_PATHS) {
          const f = row.paths[name];
          cells.push(
            (f ? formatStat(f.reqPerSec) : "-") +
              (f?.errors ? ` (${f.errors} err)` : ""),
            formatNumber(f?.cpuUs.median ?? NaN),
          );
        }
        return cells;
      }),
    );
    return { result, table };
  } finally {
    await Promise.allSettled(paths.map((p) => p.close()));
  }
}

/** Scenario: the ARI request paths of the REST client, in this process. */
export const ariPaths: Scenario = {
  id: "ari_paths",
  aliases: ["7", "paths"],
  title:
    "6. ARI request paths in-process: RESTRequest on 1/2/4 WebSockets vs HTTP (fetch)",
  run,
};
