/**
 * Scenario 6, runtime comparison: the client on Deno (from source, as
 * `deno add` gives it) and on every Node and Bun of `scripts/runtimes.txt`
 * (from the npm build, as `npx jsr add` / `bunx jsr add` give it), side by
 * side in one run against the same real Asterisk and proxy
 * (`bench/runtime_program.ts` in a child process per runtime and transport):
 *
 * - request latency: `asterisk.info()`, one in flight, natively and through
 *   the proxy over NATS (p50, p99, calls/s);
 * - event throughput: user events driven into Asterisk at 16 in flight
 *   (`bench/user_events.ts`) and counted by the client (`ChannelUserevent`
 *   stream), natively and through the proxy; delivered events/s and losses.
 *
 * Runtimes and transports are interleaved within each round (rotated per
 * round); each figure is the median over the rounds.
 *
 * @module
 */

import type { BenchContext } from "../context.ts";
import { REPO_ROOT } from "../proc.ts";
import { rotate, type Scenario, type ScenarioOutput } from "../scenario.ts";
import {
  formatStat,
  renderTable,
  type RoundStat,
  roundStat,
} from "../stats.ts";
import { driveUserEvents } from "../user_events.ts";
import {
  type ConsumerProject,
  createConsumerProject,
  findRuntimes,
} from "../../tests/runtimes/mod.ts";

const PROGRAM = "bench/runtime_program.ts";
/** The user event name `driveUserEvents` sends. */
const EVENT_NAME = "bench";

/** One runtime to measure. */
interface RuntimeUnderTest {
  label: string;
  command: string;
  args: (config: string) => string[];
}

/** What one program run measured. */
interface RunFigures {
  p50Us: number;
  p99Us: number;
  callsPerSec: number;
  eventsPerSec: number;
  eventsLost: number;
}

/** Figures of one runtime over one transport, over the rounds. */
export interface RuntimeFigures {
  /** `asterisk.info()` median latency, µs. */
  p50Us: RoundStat;
  /** `asterisk.info()` 99th percentile latency, µs. */
  p99Us: RoundStat;
  /** `asterisk.info()` calls per second, one in flight. */
  callsPerSec: RoundStat;
  /** User events delivered to the client per second. */
  eventsPerSec: RoundStat;
  /** Events lost over all rounds. */
  eventsLost: number;
}

async function readLines(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: Record<string, unknown>) => Promise<void>,
  other: string[],
): Promise<void> {
  let pending = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    pending += text;
    let newline: number;
    while ((newline = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      let parsed: Record<string, unknown> | undefined;
      try {
        parsed = JSON.parse(line);
      } catch {
        other.push(line);
      }
      if (parsed !== undefined) await onLine(parsed);
    }
  }
}

async function runOnce(
  ctx: BenchContext,
  runtime: RuntimeUnderTest,
  cwd: string,
  config: Record<string, unknown>,
  drive: { httpUrl: string; username: string; password: string; app: string },
  eventCount: number,
): Promise<RunFigures> {
  const child = new Deno.Command(runtime.command, {
    args: runtime.args(JSON.stringify(config)),
    cwd,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const writer = child.stdin.getWriter();
  const stderr = new Response(child.stderr).text();
  const other: string[] = [];
  let latency: Record<string, number> | undefined;
  let events: Record<string, number> | undefined;
  await readLines(child.stdout, async (line) => {
    if (line.latency) latency = line.latency as Record<string, number>;
    if (line.events) events = line.events as Record<string, number>;
    if (line.ready) {
      const result = await driveUserEvents({
        ...drive,
        inFlight: 16,
        durationMs: 600_000,
        maxEvents: eventCount,
      });
      await writer.write(new TextEncoder().encode(`sent ${result.sent}\n`));
      await writer.close();
    }
  }, other);
  const status = await child.status;
  const errText = await stderr;
  if (!status.success || latency === undefined || events === undefined) {
    throw new Error(
      `${runtime.label} ${config.mode}: exit ${status.code}: ${
        [...other, errText].join("\n").slice(-2000)
      }`,
    );
  }
  ctx.log(
    `  ${runtime.label} ${config.mode}: p50 ${latency.p50Us} µs, ${events.perSec} events/s (${events.lost} lost)`,
  );
  return {
    p50Us: latency.p50Us!,
    p99Us: latency.p99Us!,
    callsPerSec: latency.perSec!,
    eventsPerSec: events.perSec!,
    eventsLost: events.lost!,
  };
}

async function run(ctx: BenchContext): Promise<ScenarioOutput> {
  const { rounds, durationMs, quick } = ctx.options;
  const stack = await ctx.stack();
  const installed = await findRuntimes();
  ctx.log("building the client's npm package for Node and Bun");
  const project: ConsumerProject = await createConsumerProject([PROGRAM]);
  try {
    const denoVersion = Deno.version.deno;
    const runtimes: RuntimeUnderTest[] = [
      {
        label: `deno ${denoVersion}`,
        command: Deno.execPath(),
        args: (config) => [
          "run",
          "--frozen",
          "--allow-net",
          "--allow-env",
          "--allow-read",
          "--allow-sys",
          `${REPO_ROOT}/${PROGRAM}`,
          config,
        ],
      },
      ...installed.map((r) => ({
        label: r.label,
        command: r.bin,
        args: (config: string) => [project.program(PROGRAM), config],
      })),
    ];
    const nativeApp = `${stack.app}_rt`;
    const modes = ["native", "nats"] as const;
    const eventCount = quick ? 300 : 10_000;
    const collected = new Map<string, RunFigures[]>();
    for (let round = 0; round < rounds; round++) {
      for (const runtime of rotate(runtimes, round)) {
        for (const mode of rotate(modes, round)) {
          ctx.log(
            `runtimes: round ${round + 1}/${rounds}, ${runtime.label} ${mode}`,
          );
          const app = mode === "native" ? nativeApp : stack.app;
          const config = {
            mode,
            native: {
              url: stack.ari.httpUrl,
              wsUrl: stack.ari.wsUrl,
              username: stack.ari.username,
              password: stack.ari.password,
              application: nativeApp,
            },
            nats: {
              servers: stack.nats.url,
              application: stack.app,
              discoveryWait: 2_000,
            },
            warmupMs: Math.min(500, durationMs),
            durationMs,
            eventName: EVENT_NAME,
            eventTimeoutMs: 30_000,
          };
          const figures = await runOnce(
            ctx,
            runtime,
            project.dir,
            config,
            { ...stack.ari, app },
            eventCount,
          );
          const key = `${runtime.label}|${mode}`;
          collected.set(key, [...(collected.get(key) ?? []), figures]);
        }
      }
    }

    const result: Record<string, Record<string, RuntimeFigures>> = {};
    const rows: string[][] = [];
    for (const runtime of runtimes) {
      const perMode: Record<string, RuntimeFigures> = {};
      for (const mode of modes) {
        const runs = collected.get(`${runtime.label}|${mode}`) ?? [];
        perMode[mode] = {
          p50Us: roundStat(runs.map((r) => r.p50Us)),
          p99Us: roundStat(runs.map((r) => r.p99Us)),
          callsPerSec: roundStat(runs.map((r) => r.callsPerSec)),
          eventsPerSec: roundStat(runs.map((r) => r.eventsPerSec)),
          eventsLost: runs.reduce((sum, r) => sum + r.eventsLost, 0),
        };
      }
      result[runtime.label] = perMode;
      const n = perMode.native!;
      const p = perMode.nats!;
      rows.push([
        runtime.label,
        formatStat(n.p50Us),
        formatStat(n.p99Us),
        formatStat(p.p50Us),
        formatStat(p.p99Us),
        formatStat(n.eventsPerSec),
        String(n.eventsLost),
        formatStat(p.eventsPerSec),
        String(p.eventsLost),
      ]);
    }
    const table = renderTable(
      [
        "runtime",
        "native p50 µs",
        "native p99 µs",
        "proxy p50 µs",
        "proxy p99 µs",
        "native events/s",
        "lost",
        "proxy events/s",
        "lost",
      ],
      rows,
    ) +
      `\nasterisk.info() one in flight for ${durationMs} ms per run; ${eventCount} user events per run at 16 in flight; ${rounds} round(s), median [min–max].`;
    return {
      result: { eventsPerRun: eventCount, runtimes: result },
      table,
    };
  } finally {
    await project.close();
  }
}

/** Scenario 6: the client on Deno, Node and Bun side by side. */
export const runtimesScenario: Scenario = {
  id: "runtimes",
  aliases: ["8", "runtime"],
  title:
    "6. Client runtimes: request latency and event throughput on Deno, Node and Bun",
  run,
};
