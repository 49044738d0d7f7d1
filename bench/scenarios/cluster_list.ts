/**
 * Scenario 4, cluster list: `channels.list()` over 1, 2 and 3 proxies (each
 * in front of its own Asterisk holding a few parked channels) — time to the
 * merged result — against a single-node direct `GET /channels`. A client
 * that knows the cluster (from announcements) returns as soon as every
 * member answered instead of waiting for its timeout.
 *
 * Paths: `direct` (fetch to the first Asterisk), `wire` (a broadcast request
 * collecting exactly one reply per proxy), `proxy` (the client's
 * `channels.list()` over `connect()`, which learns the members itself).
 *
 * @module
 */

import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { AriTarget } from "../api.ts";
import { createClusterClient } from "../client_paths.ts";
import type { BenchContext } from "../context.ts";
import { PREFIX, startBenchAsterisk, startProxyChild } from "../env.ts";
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
import type { Key } from "../../client/protocol/types.ts";

const APP = "benchcl";
const MAX_PROXIES = 3;

/** Figures of one path at one cluster size. */
export interface ClusterPathFigures {
  /** Calls per second (sequential). */
  perSec: RoundStat;
  /** Median time to result, µs. */
  p50Us: RoundStat;
  /** 99th percentile time to result, µs. */
  p99Us: RoundStat;
  /** Channels in the last result. */
  channels: number;
  /** Failed calls over all rounds. */
  errors: number;
  /** First failure message, if any. */
  firstError?: string;
}

async function wireList(nc: NatsConnection, expected: number): Promise<number> {
  const replies = await nc.requestMany(
    `${PREFIX}get.${APP}`,
    JSON.stringify({ kind: "ChannelList", key: { app: APP } }),
    { strategy: "count", maxMessages: expected, maxWait: 5_000 },
  );
  let channels = 0;
  let got = 0;
  for await (const msg of replies) {
    const res = JSON.parse(msg.string()) as { error: string; keys?: Key[] };
    if (res.error) throw new Error(`ChannelList failed: ${res.error}`);
    channels += res.keys?.length ?? 0;
    got++;
  }
  if (got < expected) {
    throw new Error(`ChannelList: ${got} of ${expected} proxies answered`);
  }
  return channels;
}

async function run(ctx: BenchContext): Promise<ScenarioOutput> {
  const { rounds, durationMs, quick } = ctx.options;
  const parked = quick ? 2 : 5;
  const { server, nc } = await ctx.nats();
  const cleanup = new AsyncDisposableStack();
  try {
    ctx.log(`cluster list: starting ${MAX_PROXIES} Asterisks`);
    const asterisks = await Promise.all(
      Array.from({ length: MAX_PROXIES }, () => startBenchAsterisk(APP)),
    );
    for (const a of asterisks) cleanup.use(a);
    const targets: AriTarget[] = asterisks.map((a) => ({
      httpUrl: a.httpUrl,
      wsUrl: a.wsUrl,
      username: a.username,
      password: a.password,
    }));
    const auth = (t: AriTarget) =>
      `Basic ${btoa(`${t.username}:${t.password}`)}`;
    for (const t of targets) {
      for (let i = 0; i < parked; i++) {
        const res = await fetch(
          `${t.httpUrl}/channels?endpoint=Local/park@default&context=default&extension=park`,
          { method: "POST", headers: { authorization: auth(t) } },
        );
        await res.body?.cancel();
      }
    }
    const first = targets[0]!;
    const direct = async () => {
      const res = await fetch(`${first.httpUrl}/channels`, {
        headers: { authorization: auth(first) },
      });
      const list = await res.json() as unknown[];
      return list.length;
    };
    const wireNc = await connect({ servers: server.url });
    cleanup.defer(() => wireNc.close());
    const clientNc = await connect({ servers: server.url });
    cleanup.defer(() => clientNc.close());
    const client = await createClusterClient(clientNc, APP);
    cleanup.defer(() => client.close());
    const sizes: {
      proxies: number;
      paths: Record<string, ClusterPathFigures>;
      ratios: Record<string, RoundStat>;
    }[] = [];
    for (let k = 1; k <= MAX_PROXIES; k++) {
      const a = asterisks[k - 1]!;
      ctx.log(`cluster list: starting proxy ${k}`);
      cleanup.use(
        await startProxyChild({
          nc,
          natsUrl: server.url,
          ari: targets[k - 1]!,
          app: APP,
          node: a.entityId,
          denoFlags: ctx.options.proxyFlags,
        }),
      );
      // Let the client see every member before timing it.
      for (let i = 0; i < 100 && client.nodes().length < k; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const ops: Record<string, () => Promise<number>> = {
        direct,
        wire: () => wireList(wireNc, k),
        proxy: async () => (await client.channels.list()).length,
      };
      const raw = new Map<
        string,
        {
          perSec: number[];
          p50Us: number[];
          p99Us: number[];
          channels: number;
          errors: number;
          firstError?: string;
        }
      >();
      for (let round = 0; round < rounds; round++) {
        for (const name of rotate(Object.keys(ops), round)) {
          let channels = 0;
          const op = ops[name]!;
          const r = await closedLoop(async () => {
            channels = await op();
          }, {
            concurrency: 1,
            durationMs,
            warmupMs: Math.min(200, durationMs / 5),
          });
          let slot = raw.get(name);
          if (!slot) {
            slot = { perSec: [], p50Us: [], p99Us: [], channels: 0, errors: 0 };
            raw.set(name, slot);
          }
          slot.perSec.push(r.perSec);
          slot.p50Us.push(r.p50Us);
          slot.p99Us.push(r.p99Us);
          slot.channels = channels;
          slot.errors += r.errors;
          if (r.firstError !== undefined) slot.firstError ??= r.firstError;
        }
      }
      const paths: Record<string, ClusterPathFigures> = {};
      const ratios: Record<string, RoundStat> = {};
      for (const [name, slot] of raw) {
        paths[name] = {
          perSec: roundStat(slot.perSec),
          p50Us: roundStat(slot.p50Us),
          p99Us: roundStat(slot.p99Us),
          channels: slot.channels,
          errors: slot.errors,
          ...(slot.firstError !== undefined
            ? { firstError: slot.firstError }
            : {}),
        };
        if (name !== "direct") {
          ratios[`${name}/direct p50`] = ratioStat(
            slot.p50Us,
            raw.get("direct")!.p50Us,
          );
        }
      }
      sizes.push({ proxies: k, paths, ratios });
      ctx.log(
        `  ${k} proxies: proxy p50 ${
          Math.round(paths.proxy?.p50Us.median ?? NaN)
        } µs, direct ${Math.round(paths.direct?.p50Us.median ?? NaN)} µs`,
      );
    }
    const result = { parkedPerNode: parked, sizes };
    const header = [
      "proxies",
      "path",
      "calls/s",
      "p50 µs",
      "p99 µs",
      "channels",
      "p50 vs direct",
    ];
    const rows: string[][] = [];
    for (const size of sizes) {
      for (const [name, f] of Object.entries(size.paths)) {
        rows.push([
          String(size.proxies),
          name,
          formatStat(f.perSec),
          formatStat(f.p50Us),
          formatStat(f.p99Us),
          String(f.channels) + (f.errors ? ` (${f.errors} err)` : ""),
          name === "direct"
            ? "1"
            : formatStat(size.ratios[`${name}/direct p50`]),
        ]);
      }
    }
    return { result, table: renderTable(header, rows) };
  } finally {
    await cleanup.disposeAsync();
  }
}

/** Scenario 4: cluster list. */
export const clusterList: Scenario = {
  id: "cluster_list",
  aliases: ["4", "cluster"],
  title:
    "4. Cluster list: channels.list() over 1, 2, 3 proxies vs one direct call",
  run,
};
