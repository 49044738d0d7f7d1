/**
 * Scenario 2c, events with the JetStream stream on versus off, same run:
 * the stack's proxy (core NATS publishing) and a second proxy with
 * `EVENTS_STREAM` (acknowledged publishes into a stream) on the same real
 * Asterisk, driven alternately with numbered user events at the same rates.
 * Reports delivered throughput, loss on the core subject, proxy CPU per
 * 10k events and, with the stream on, how many events the stream stored.
 *
 * @module
 */

import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import type { BenchContext } from "../context.ts";
import { PREFIX } from "../env.ts";
import { rotate, type Scenario, type ScenarioOutput } from "../scenario.ts";
import { SeqCounter } from "../seq_counter.ts";
import { formatNumber, formatStat, renderTable, roundStat } from "../stats.ts";
import {
  driveAndCount,
  type EventRun,
  nextBase,
  subscribeCounter,
} from "./event_throughput.ts";

/** Name of the stream the stream-on proxy creates. */
export const BENCH_STREAM = "BENCH_EVENTS";

/** Paced rate of the comparison, events/s (a busy Asterisk, within JetStream's reach here). */
export const STREAM_PACED_RATE = 2_000;

/** One run with the stream on or off. */
export interface StreamRun extends EventRun {
  /** `"on"`: acknowledged publishes into the stream; `"off"`: core NATS. */
  stream: "on" | "off";
  /** Round number (0-based). */
  round: number;
  /** Events the stream stored during the run (stream on). */
  stored?: number;
}

function cpuPer10k(run: EventRun): number {
  return run.proxyCpuMs !== undefined && run.received > 0
    ? (run.proxyCpuMs / 1000) * 10_000 / run.received
    : NaN;
}

async function runStream(ctx: BenchContext): Promise<ScenarioOutput> {
  const { quick, rounds, sustainMs } = ctx.options;
  const stack = await ctx.stack();
  const streamProxy = await ctx.streamProxy(BENCH_STREAM);
  const { server } = await ctx.nats();
  const nc = await connect({ servers: server.url });
  const jsm = await jetstreamManager(nc);
  const durationMs = quick ? sustainMs : Math.min(sustainMs, 15_000);
  const rates = quick ? [0] : [STREAM_PACED_RATE, 0];
  const paths = {
    off: { app: stack.app, pid: stack.proxy.pid, counter: new SeqCounter() },
    on: {
      app: streamProxy.app,
      pid: streamProxy.proxy.pid,
      counter: new SeqCounter(),
    },
  };
  const stops = await Promise.all(
    (["off", "on"] as const).map((mode) =>
      subscribeCounter(
        nc,
        `${PREFIX}event.${paths[mode].app}.${stack.node}`,
        () => paths[mode].counter,
      )
    ),
  );
  const runs: StreamRun[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      for (const rate of rates) {
        for (const mode of rotate(["off", "on"] as const, round)) {
          const label = rate > 0 ? `${rate}/s` : "unpaced";
          ctx.log(
            `events, stream ${mode} (${label}), round ${
              round + 1
            }/${rounds}: ${durationMs} ms`,
          );
          const path = paths[mode];
          const base = nextBase();
          path.counter = new SeqCounter(base);
          const before = mode === "on"
            ? (await jsm.streams.info(BENCH_STREAM)).state.messages
            : 0;
          const run = await driveAndCount(ctx, {
            path: "proxy",
            app: path.app,
            rate,
            durationMs,
            base,
            counter: () => path.counter,
            proxyPid: path.pid,
          });
          const entry: StreamRun = { ...run, stream: mode, round };
          if (mode === "on") {
            // Acknowledgements may trail the core delivery a little.
            const deadline = Date.now() + 10_000;
            let stored = 0;
            while (Date.now() < deadline) {
              stored = (await jsm.streams.info(BENCH_STREAM)).state.messages -
                before;
              if (stored >= run.received) break;
              await new Promise((resolve) => setTimeout(resolve, 100));
            }
            entry.stored = stored;
          }
          runs.push(entry);
        }
      }
    }
  } finally {
    for (const stop of stops) stop();
    await nc.close();
  }
  const summary: Record<string, unknown> = {};
  for (const rate of rates) {
    const key = rate > 0 ? `paced_${rate}` : "unpaced";
    const of = (mode: "on" | "off") =>
      runs.filter((r) => r.stream === mode && r.targetRate === rate);
    summary[key] = {
      deliveredRateOff: roundStat(of("off").map((r) => r.deliveredRate)),
      deliveredRateOn: roundStat(of("on").map((r) => r.deliveredRate)),
      cpuSecPer10kOff: roundStat(of("off").map(cpuPer10k)),
      cpuSecPer10kOn: roundStat(of("on").map(cpuPer10k)),
    };
  }
  const table = renderTable(
    [
      "stream",
      "target/s",
      "round",
      "sent",
      "received",
      "lost",
      "delivered/s",
      "proxy CPU s/10k",
      "stored",
    ],
    runs.map((r) => [
      r.stream,
      r.targetRate > 0 ? formatNumber(r.targetRate) : "unpaced",
      String(r.round + 1),
      formatNumber(r.expected),
      formatNumber(r.received),
      String(r.lost),
      formatNumber(r.deliveredRate),
      cpuPer10k(r).toFixed(3),
      r.stored === undefined ? "-" : formatNumber(r.stored),
    ]),
  ) + "\n" + renderTable(
    [
      "rate",
      "delivered/s off",
      "delivered/s on",
      "CPU s/10k off",
      "CPU s/10k on",
    ],
    Object.entries(summary).map(([key, value]) => {
      const v = value as Record<string, ReturnType<typeof roundStat>>;
      return [
        key,
        formatStat(v.deliveredRateOff!),
        formatStat(v.deliveredRateOn!),
        formatStat(v.cpuSecPer10kOff!),
        formatStat(v.cpuSecPer10kOn!),
      ];
    }),
  );
  return { result: { stream: BENCH_STREAM, runs, summary }, table };
}

/** Scenario 2c: event throughput and proxy CPU, stream on versus off. */
export const eventsStream: Scenario = {
  id: "events_stream",
  aliases: ["2c"],
  title: "Events with --events.stream on vs off (real Asterisk, same run)",
  run: runStream,
};
