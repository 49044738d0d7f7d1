/**
 * Scenario 2, event throughput, with loss counted by sequence number:
 *
 * - 2a (`events_asterisk`): real Asterisk driven with
 *   `POST /events/user/bench?application=<app>` at 16 in flight, paced at
 *   the reference rate and unpaced; a direct WebSocket reader (its own
 *   application) is the same-run baseline.
 * - 2b (`events_fake`): the fake ARI emits recorded event JSON as fast as
 *   the proxy takes it (rounds), then at fixed rates stepped up until a step
 *   loses events or falls behind: the highest passing step is the top
 *   zero-loss rate.
 *
 * @module
 */

import { connect, type NatsConnection } from "@nats-io/transport-node";
import { closeSocket, openEventSocket } from "../api.ts";
import type { BenchContext } from "../context.ts";
import { PREFIX } from "../env.ts";
import { type EmitResult, readSeq } from "../fake_ari.ts";
import { readProcSample, RssSampler } from "../proc.ts";
import { mib, type Scenario, type ScenarioOutput } from "../scenario.ts";
import { drain, SeqCounter, type SeqReport } from "../seq_counter.ts";
import { formatNumber, formatStat, renderTable, roundStat } from "../stats.ts";
import { driveUserEvents } from "../user_events.ts";

/** The reference rate of the issue: what one Asterisk produced here with 16 in flight. */
export const REFERENCE_RATE = 11_000;

/** One run of events through one path. */
export interface EventRun extends SeqReport {
  /** `direct` (WebSocket reader) or `proxy` (NATS subscriber). */
  path: "direct" | "proxy";
  /** Target rate (`0` = unpaced). */
  targetRate: number;
  /** Rate at which events were produced, events/s. */
  sendRate: number;
  /** Events received per second of the run (first send to last arrival). */
  deliveredRate: number;
  /** Time from the last send to the last arrival, ms. */
  drainMs: number;
  /** Failed user-event requests (real Asterisk only). */
  sendErrors: number;
  /** Proxy CPU time during the run, ms (proxy path). */
  proxyCpuMs?: number;
  /** Proxy peak RSS during the run, bytes (proxy path). */
  proxyPeakRssBytes?: number;
}

let seqBase = 0;

/** A fresh sequence-number base for a run (runs never share numbers). */
export function nextBase(): number {
  seqBase += 100_000_000;
  return seqBase;
}

/** Counts numbered events on `subject` into the current `counter()`. */
export async function subscribeCounter(
  nc: NatsConnection,
  subject: string,
  counter: () => SeqCounter,
): Promise<() => void> {
  const sub = nc.subscribe(subject, {
    callback: (_error, msg) => counter().add(readSeq(msg.string())),
  });
  await nc.flush();
  return () => sub.unsubscribe();
}

async function runAsterisk(ctx: BenchContext): Promise<ScenarioOutput> {
  const { quick, sustainMs } = ctx.options;
  const stack = await ctx.stack();
  const { server } = await ctx.nats();
  const modes = quick ? [0] : [REFERENCE_RATE, 0];
  const directMs = quick ? sustainMs : Math.min(sustainMs, 15_000);
  const runs: EventRun[] = [];
  const nc = await connect({ servers: server.url });
  let counter = new SeqCounter();
  const unsubscribe = await subscribeCounter(
    nc,
    `${PREFIX}event.${stack.app}.${stack.node}`,
    () => counter,
  );
  try {
    for (const rate of modes) {
      const label = rate > 0 ? `${rate}/s` : "unpaced";
      // Direct WebSocket reader on its own application.
      ctx.log(
        `events from Asterisk (${label}): direct WebSocket, ${directMs} ms`,
      );
      const directApp = `${stack.app}_direct`;
      let direct = new SeqCounter();
      const ws = await openEventSocket(
        stack.ari,
        directApp,
        (text) => direct.add(readSeq(text)),
      );
      try {
        const base = nextBase();
        direct = new SeqCounter(base);
        runs.push(
          await driveAndCount(ctx, {
            path: "direct",
            app: directApp,
            rate,
            durationMs: directMs,
            base,
            counter: () => direct,
          }),
        );
      } finally {
        await closeSocket(ws);
      }
      ctx.log(
        `events from Asterisk (${label}): through the proxy, ${sustainMs} ms`,
      );
      const base = nextBase();
      counter = new SeqCounter(base);
      runs.push(
        await driveAndCount(ctx, {
          path: "proxy",
          app: stack.app,
          rate,
          durationMs: sustainMs,
          base,
          counter: () => counter,
          proxyPid: stack.proxy.pid,
        }),
      );
    }
  } finally {
    unsubscribe();
    await nc.close();
  }
  const result = { inFlight: 16, runs };
  return { result, table: eventRunsTable(runs) };
}

/**
 * Drives numbered user events into `app` on the stack's Asterisk and counts
 * them with `counter` (loss, rate, proxy CPU and peak RSS).
 *
 * @param ctx The run context.
 * @param o Path label, application, rate, duration, numbering, proxy pid.
 * @returns The run's figures.
 */
export async function driveAndCount(ctx: BenchContext, o: {
  path: "direct" | "proxy";
  app: string;
  rate: number;
  durationMs: number;
  base: number;
  counter: () => SeqCounter;
  proxyPid?: number;
}): Promise<EventRun> {
  const stack = await ctx.stack();
  const before = o.proxyPid ? await readProcSample(o.proxyPid) : undefined;
  const sampler = o.proxyPid ? new RssSampler(o.proxyPid, 250) : undefined;
  const drive = await driveUserEvents({
    httpUrl: stack.ari.httpUrl,
    username: stack.ari.username,
    password: stack.ari.password,
    app: o.app,
    inFlight: 16,
    ratePerSec: o.rate,
    durationMs: o.durationMs,
    startSeq: o.base,
  });
  const sentAt = performance.now();
  await drain(o.counter(), drive.sent, 2_000, 30_000);
  const rss = await sampler?.stop();
  const after = o.proxyPid ? await readProcSample(o.proxyPid) : undefined;
  const counter = o.counter();
  const report = counter.report(drive.issued);
  // Failed requests were never accepted; do not count them as lost.
  const failedMissing = drive.failedSeqs.filter((s) => !counter.has(s)).length;
  const lost = report.lost - failedMissing;
  const run: EventRun = {
    ...report,
    expected: drive.sent,
    lost,
    path: o.path,
    targetRate: o.rate,
    sendRate: drive.ratePerSec,
    deliveredRate: report.received /
      ((Math.max(counter.lastArrival, sentAt) - sentAt + drive.elapsedMs) /
        1000),
    drainMs: Math.max(0, counter.lastArrival - sentAt),
    sendErrors: drive.errors,
  };
  if (before && after) run.proxyCpuMs = after.cpuMs - before.cpuMs;
  if (rss) run.proxyPeakRssBytes = rss.peakBytes;
  ctx.log(
    `  ${o.path}: sent ${drive.sent} at ${
      Math.round(drive.ratePerSec)
    }/s, received ${report.received}, lost ${lost}`,
  );
  return run;
}

function eventRunsTable(runs: EventRun[]): string {
  return renderTable(
    [
      "path",
      "target/s",
      "sent",
      "sent/s",
      "received",
      "lost",
      "dup",
      "delivered/s",
      "drain ms",
      "proxy CPU s/10k",
      "proxy peak RSS MiB",
    ],
    runs.map((r) => [
      r.path,
      r.targetRate > 0 ? formatNumber(r.targetRate) : "unpaced",
      formatNumber(r.expected),
      formatNumber(r.sendRate),
      formatNumber(r.received),
      String(r.lost),
      String(r.duplicates),
      formatNumber(r.deliveredRate),
      formatNumber(r.drainMs),
      r.proxyCpuMs !== undefined && r.received > 0
        ? ((r.proxyCpuMs / 1000) * 10_000 / r.received).toFixed(3)
        : "-",
      r.proxyPeakRssBytes !== undefined
        ? String(mib(r.proxyPeakRssBytes))
        : "-",
    ]),
  );
}

/** One fixed-rate step of the fake-ARI search. */
export interface RateStep {
  /** Target rate, events/s. */
  rate: number;
  /** Whether it passed: no loss, no duplicates, drained promptly. */
  pass: boolean;
  /** Events emitted. */
  sent: number;
  /** Distinct events received. */
  received: number;
  /** Events never received. */
  lost: number;
  /** Extra copies received. */
  duplicates: number;
  /** Rate the fake achieved, events/s. */
  emitRate: number;
  /** Last send to last arrival, ms. */
  drainMs: number;
  /** Largest WebSocket backlog in the fake, bytes. */
  peakBufferedBytes: number;
  /** Proxy CPU during the step, ms. */
  proxyCpuMs: number;
  /** Proxy peak RSS during the step, bytes. */
  proxyPeakRssBytes: number;
}

/**
 * Emits `count` fake events at `rate` (0 = as fast as taken) through the
 * fake-ARI proxy and counts them on NATS.
 *
 * @param ctx The run context.
 * @param count Events.
 * @param rate Events per second, or 0.
 * @returns The emission, the loss report, proxy CPU and RSS, arrival times.
 */
export async function fakeRun(
  ctx: BenchContext,
  count: number,
  rate: number,
  onProgress?: (received: number) => unknown,
  sessionName = "events",
): Promise<{
  emit: EmitResult;
  report: SeqReport;
  drainMs: number;
  elapsedMs: number;
  cpuMs: number;
  peakRssBytes: number;
}> {
  const session = await ctx.fakeSession(sessionName);
  const { server } = await ctx.nats();
  const nc = await connect({ servers: server.url });
  const base = nextBase();
  const counter = new SeqCounter(base, Math.max(1024, count));
  const unsubscribe = await subscribeCounter(
    nc,
    `${PREFIX}event.${session.app}.${session.node}`,
    () => counter,
  );
  try {
    const before = await readProcSample(session.proxy.pid);
    const sampler = new RssSampler(session.proxy.pid, 100);
    const progress = onProgress
      ? setInterval(() => void onProgress(counter.received), 1_000)
      : undefined;
    const t0 = performance.now();
    const emit = await session.fake.emit({
      count,
      ratePerSec: rate,
      startSeq: base,
    });
    const sentAt = t0 + emit.elapsedMs;
    await drain(counter, emit.sent, 2_000, 60_000);
    clearInterval(progress);
    const rss = await sampler.stop();
    const after = await readProcSample(session.proxy.pid);
    const report = counter.report(emit.sent);
    return {
      emit,
      report,
      drainMs: Math.max(0, counter.lastArrival - sentAt),
      elapsedMs: Math.max(counter.lastArrival, sentAt) - t0,
      cpuMs: after.cpuMs - before.cpuMs,
      peakRssBytes: rss.peakBytes,
    };
  } finally {
    unsubscribe();
    await nc.close();
  }
}

/**
 * Steps the fake's rate up from 10k/s (×1.25) until a step fails, and
 * returns every step. Quick runs use two small steps.
 *
 * @param ctx The run context.
 * @returns The steps, and the top passing one (if any).
 */
export async function rateSearch(
  ctx: BenchContext,
): Promise<{ steps: RateStep[]; top: RateStep | undefined }> {
  const cached = ctx.shared.get("rateSearch") as
    | { steps: RateStep[]; top: RateStep | undefined }
    | undefined;
  if (cached) return cached;
  const { quick, stepMs } = ctx.options;
  const steps: RateStep[] = [];
  let top: RateStep | undefined;
  const rates: number[] = [];
  if (quick) rates.push(2_000, 4_000);
  else {for (let r = 10_000; r <= 250_000; r = Math.round(r * 1.25)) {
      rates.push(r);
    }}
  for (const rate of rates) {
    const count = Math.max(100, Math.round((rate * stepMs) / 1000));
    const r = await fakeRun(ctx, count, rate);
    const step: RateStep = {
      rate,
      pass: false,
      sent: r.emit.sent,
      received: r.report.received,
      lost: r.report.lost,
      duplicates: r.report.duplicates,
      emitRate: r.emit.ratePerSec,
      drainMs: r.drainMs,
      peakBufferedBytes: r.emit.peakBufferedBytes,
      proxyCpuMs: r.cpuMs,
      proxyPeakRssBytes: r.peakRssBytes,
    };
    step.pass = step.lost === 0 && step.duplicates === 0 &&
      step.sent === count && step.emitRate >= rate * 0.95 &&
      step.drainMs <= Math.max(250, stepMs * 0.05);
    steps.push(step);
    ctx.log(
      `  step ${rate}/s: emitted ${step.sent} at ${
        Math.round(step.emitRate)
      }/s, lost ${step.lost}, drain ${Math.round(step.drainMs)} ms, ${
        step.pass ? "pass" : "FAIL"
      }`,
    );
    if (!step.pass) break;
    top = step;
  }
  const found = { steps, top };
  ctx.shared.set("rateSearch", found);
  return found;
}

async function runFake(ctx: BenchContext): Promise<ScenarioOutput> {
  const { quick, rounds } = ctx.options;
  const session = await ctx.fakeSession();
  const maxCount = quick ? 5_000 : 300_000;
  const fast = {
    deliveredRate: [] as number[],
    emitRate: [] as number[],
    lost: [] as number[],
    cpuPer10kMs: [] as number[],
    peakRssBytes: [] as number[],
  };
  ctx.log("events from the fake ARI: fixed-rate steps");
  const { steps, top } = await rateSearch(ctx);
  for (let round = 0; round < rounds; round++) {
    ctx.log(
      `events from the fake ARI, as fast as the proxy takes them: round ${
        round + 1
      }/${rounds} (${maxCount} events)`,
    );
    const r = await fakeRun(ctx, maxCount, 0);
    fast.deliveredRate.push(r.report.received / (r.elapsedMs / 1000));
    fast.emitRate.push(r.emit.ratePerSec);
    fast.lost.push(r.report.lost);
    fast.cpuPer10kMs.push((r.cpuMs * 10_000) / Math.max(1, r.report.received));
    fast.peakRssBytes.push(r.peakRssBytes);
    ctx.log(
      `  delivered ${r.report.received}/${r.emit.sent} at ${
        Math.round(fast.deliveredRate.at(-1)!)
      }/s`,
    );
  }
  const result = {
    node: session.node,
    asFastAsTaken: {
      events: maxCount,
      deliveredPerSec: roundStat(fast.deliveredRate),
      emitPerSec: roundStat(fast.emitRate),
      lost: roundStat(fast.lost),
      proxyCpuMsPer10k: roundStat(fast.cpuPer10kMs),
      proxyPeakRssBytes: roundStat(fast.peakRssBytes),
    },
    steps,
    topZeroLossRate: top?.rate ?? 0,
  };
  const lines = [
    `As fast as the proxy takes them (${maxCount} events, ${rounds} round(s)): delivered/s ${
      formatStat(result.asFastAsTaken.deliveredPerSec)
    }, lost ${formatStat(result.asFastAsTaken.lost)}, proxy CPU ms/10k ${
      formatStat(result.asFastAsTaken.proxyCpuMsPer10k)
    }, proxy peak RSS MiB ${formatStat(roundStat(fast.peakRssBytes.map(mib)))}`,
    renderTable(
      [
        "rate/s",
        "result",
        "sent",
        "received",
        "lost",
        "emit/s",
        "drain ms",
        "fake backlog KiB",
        "proxy CPU s/10k",
        "proxy peak RSS MiB",
      ],
      steps.map((s) => [
        formatNumber(s.rate),
        s.pass ? "pass" : "FAIL",
        formatNumber(s.sent),
        formatNumber(s.received),
        String(s.lost),
        formatNumber(s.emitRate),
        formatNumber(s.drainMs),
        formatNumber(s.peakBufferedBytes / 1024),
        s.received > 0
          ? ((s.proxyCpuMs / 1000) * 10_000 / s.received).toFixed(3)
          : "-",
        String(mib(s.proxyPeakRssBytes)),
      ]),
    ),
    `Top zero-loss rate: ${formatNumber(result.topZeroLossRate)} events/s`,
  ];
  return { result, table: lines.join("\n") };
}

/** Scenario 2a: events from real Asterisk. */
export const eventsAsterisk: Scenario = {
  id: "events_asterisk",
  aliases: ["2a", "2", "events"],
  title: "2a. Event throughput from real Asterisk (user events, 16 in flight)",
  run: runAsterisk,
};

/** Scenario 2b: events from the fake ARI. */
export const eventsFake: Scenario = {
  id: "events_fake",
  aliases: ["2b", "2", "events", "fake"],
  title: "2b. Event throughput from the fake ARI (recorded events)",
  run: runFake,
};
