/**
 * The soak itself ({@linkcode runSoak}): builds the cluster, runs the load,
 * injects the faults on a schedule, sends the hostile requests, and returns
 * every figure. `bench/soak/run.ts` is its command line; the suite runs a
 * short one (`tests/soak_test.ts`).
 *
 * Schedule: a warm-up (10 % of the duration, at most 30 s), then the faults
 * one after another in equal slots (a fault that overruns its slot delays
 * the next; faults never overlap), then a steady tail (at least 10 % of the
 * duration). Then the load stops, the applications clean up, Asterisk is
 * asked what was left behind, and the hostile requests go to proxy A.
 *
 * @module
 */

import { createInbox } from "@nats-io/transport-node";
import { HostileRequests, sendHostile } from "../../tests/hostile_requests.ts";
import { readProcSample } from "../proc.ts";
import { type ProxyLife, startSoakCluster } from "./cluster.ts";
import { type Fault, FAULTS } from "./faults.ts";
import {
  computeFigures,
  type EventFigures,
  EventLedger,
  type FaultFigures,
  type FaultWindow,
  IN_FLIGHT_MS,
  type RequestFigures,
  requestFigures,
  type RequestRecord,
  TIMEOUT_GRACE_MS,
} from "./record.ts";
import {
  type ClientApp,
  type LoadContext,
  postUserEvents,
  type ReconnectRecord,
  REQUEST_TIMEOUT,
  startClientApp,
} from "./workload.ts";

/** Options of {@linkcode runSoak}. */
export interface SoakOptions {
  /**
   * Duration of the loaded run with faults, ms (the hostile phase comes
   * after it).
   *
   * @default {600000}
   */
  durationMs?: number;
  /**
   * Hostile requests sent after the load.
   *
   * @default {100000}
   */
  hostile?: number;
  /**
   * User events per second per node.
   *
   * @default {20}
   */
  eventRate?: number;
  /**
   * Client applications.
   *
   * @default {2}
   */
  clients?: number;
  /**
   * Call flows in flight per client and node.
   *
   * @default {1}
   */
  flowsPerNode?: number;
  /** Only these faults (by name); default: all. */
  faults?: string[];
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

/** The hostile phase's figures. */
export interface HostileFigures {
  /** Requests sent. */
  sent: number;
  /** To subjects a proxy serves. */
  served: number;
  /** Answered exactly once. */
  answeredOnce: number;
  /** Not answered. */
  unanswered: number;
  /** Answered more than once, or answered though unserved. */
  extraReplies: number;
  /** Replies that are not a Response. */
  malformedReplies: number;
  /** Errors without a code. */
  uncodedErrors: number;
  /** Replies by code. */
  codes: Record<string, number>;
  /** Cases by family. */
  families: Record<string, number>;
  /** Proxy A's RSS before the warm-up, bytes. */
  rssStartBytes: number;
  /** Hostile requests of the warm-up (not counted in `sent`). */
  warmup: number;
  /** Proxy A's RSS after the warm-up, before the counted requests, bytes. */
  rssBeforeBytes: number;
  /** Proxy A's RSS every 10,000 counted requests, bytes. */
  rssSeries: number[];
  /** Proxy A's highest RSS sampled during, bytes. */
  rssPeakBytes: number;
  /** Proxy A's RSS after, bytes. */
  rssAfterBytes: number;
  /** Whether proxy A still answered afterwards. */
  proxyAnswers: boolean;
  /** Wall time, ms. */
  elapsedMs: number;
}

/** Everything a soak measured. */
export interface SoakResult {
  /** Layout version. */
  schema: string;
  /** ISO start. */
  startedAt: string;
  /** ISO end. */
  finishedAt: string;
  /** The options used. */
  options: Required<Omit<SoakOptions, "log" | "faults">> & { faults: string[] };
  /** Constants the figures depend on. */
  rules: {
    requestTimeoutMs: number;
    timeoutGraceMs: number;
    inFlightBeforeFaultMs: number;
  };
  /** Load conditions of the machine. */
  machine: {
    cpus: number;
    loadavgStart: number[];
    loadavgEnd: number[];
  };
  /** Per fault. */
  faults: FaultFigures[];
  /** All requests of the loaded run. */
  requests: RequestFigures;
  /** All events of the loaded run. */
  events: EventFigures;
  /** Requests by operation. */
  requestsByOp: Record<string, RequestFigures>;
  /** Call flows. */
  flows: {
    started: number;
    completed: number;
    failed: number;
    errors: Record<string, number>;
  };
  /** Client reconnects (NATS), with how long each took. */
  reconnects: (ReconnectRecord & { tookMs: number | null })[];
  /** Channels and bridges left in each Asterisk at the end. */
  leftovers: Record<string, { channels: number; bridges: number }>;
  /** Every proxy process by node. */
  proxies: Record<string, ProxyLife[]>;
  /** Processes that exited without the soak ending them. */
  crashes: {
    process: string;
    code: number;
    signal: string | null;
    atMs: number;
  }[];
  /** The hostile phase. */
  hostile: HostileFigures;
  /** Wall time, s. */
  elapsedSec: number;
}

/** Layout version of {@linkcode SoakResult}. */
export const SOAK_SCHEMA = "ari-proxy-soak/1";

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function loadavg(): number[] {
  try {
    return Deno.loadavg().map((n) => Math.round(n * 100) / 100);
  } catch {
    return [];
  }
}

async function countLeft(
  httpUrl: string,
  auth: string,
  what: "channels" | "bridges",
): Promise<number> {
  const res = await fetch(`${httpUrl}/${what}`, {
    headers: { authorization: auth },
  });
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`Cannot list ${what}: HTTP ${res.status}`);
  }
  return (await res.json() as unknown[]).length;
}

/**
 * Runs a soak (see the module description).
 *
 * @param options Duration, hostile count, rates.
 * @returns Every figure.
 *
 * @example
 * ```ts ignore
 * const result = await runSoak({ durationMs: 60_000, hostile: 2_000 });
 * console.log(result.events.lostOutside);
 * ```
 */
export async function runSoak(options?: SoakOptions): Promise<SoakResult> {
  const {
    durationMs = 600_000,
    hostile = 100_000,
    eventRate = 20,
    clients = 2,
    flowsPerNode = 1,
    log = () => {},
  } = options ?? {};
  const faults: Fault[] = options?.faults
    ? FAULTS.filter((f) => options.faults!.includes(f.name))
    : [...FAULTS];
  const startedAt = new Date().toISOString();
  const loadavgStart = loadavg();
  const t0 = performance.now();
  const app = `soak${crypto.randomUUID().slice(0, 6)}`;
  const at = () => Math.round(performance.now() - t0);
  log(`starting cluster (3 NATS, 2 Asterisk, 2 proxies), app ${app}`);
  await using cluster = await startSoakCluster({ app, t0 });
  log(`cluster ready at ${at()} ms`);

  const requests: RequestRecord[] = [];
  const ledgers = new Map(
    cluster.nodes.map((n) => [n.label, new EventLedger()]),
  );
  const stop = new AbortController();
  const ctx: LoadContext = {
    t0,
    app,
    nodes: cluster.nodes,
    requests,
    ledgers,
    reconnects: [],
    flows: { started: 0, completed: 0, failed: 0 },
    flowErrors: {},
    signal: stop.signal,
  };
  const apps: ClientApp[] = [];
  const windows: FaultWindow[] = [];
  let loadStart = 0;
  let posting: Promise<void> = Promise.resolve();
  try {
    for (let i = 0; i < clients; i++) {
      // Each application lists the servers in its own order.
      const servers = cluster.nats.urls.slice(i % 3).concat(
        cluster.nats.urls.slice(0, i % 3),
      );
      apps.push(
        await startClientApp(ctx, {
          name: `app${i + 1}`,
          servers,
          flowsPerNode,
          probeEveryMs: 200,
        }),
      );
    }
    posting = postUserEvents(ctx, { ratePerSec: eventRate });
    loadStart = at();
    log(`load running at ${loadStart} ms`);

    const warmup = Math.min(30_000, durationMs * 0.1);
    const tail = Math.max(5_000, durationMs * 0.1);
    const slot = Math.max(0, durationMs - warmup - tail) / faults.length;
    const faultCtx = {
      cluster,
      t0,
      slowConsumerMs: Math.min(30_000, Math.max(3_000, slot / 2)),
      log,
    };
    for (const [k, fault] of faults.entries()) {
      const due = loadStart + warmup + k * slot;
      if (at() < due) await sleep(due - at());
      log(`fault ${fault.name}: start at ${at()} ms`);
      const window = await fault.run(faultCtx);
      windows.push(window);
      log(`fault ${fault.name}: end at ${window.end} ms`);
    }
    const end = Math.max(loadStart + durationMs, at() + tail);
    await sleep(end - at());
  } finally {
    stop.abort();
    log(`stopping load at ${at()} ms`);
    await posting;
    await Promise.all(apps.map((a) => a.done));
  }
  // Events still on their way.
  const drainUntil = performance.now() + 5_000;
  const complete = () =>
    [...ledgers.values()].every((l) =>
      l.received.every((m) => [...l.posted.keys()].every((s) => m.has(s)))
    );
  while (performance.now() < drainUntil && !complete()) await sleep(100);
  for (const a of apps) await a.close();
  const loadEnd = at();

  const leftovers: Record<string, { channels: number; bridges: number }> = {};
  for (const node of cluster.nodes) {
    const auth = `Basic ${btoa(`${node.ari.username}:${node.ari.password}`)}`;
    leftovers[node.label] = {
      channels: await countLeft(node.ari.httpUrl, auth, "channels"),
      bridges: await countLeft(node.ari.httpUrl, auth, "bridges"),
    };
  }
  log(`leftovers ${JSON.stringify(leftovers)}`);

  const hostileFigures = await runHostilePhase(cluster, hostile, log);
  await cluster.sampleEnd();

  const figures = computeFigures(requests, ledgers, windows);
  const ops = new Set(requests.map((r) => r.op));
  const requestsByOp: Record<string, RequestFigures> = {};
  for (const op of ops) {
    requestsByOp[op] = requestFigures(requests.filter((r) => r.op === op));
  }
  for (const n of cluster.nats.nodes) {
    if (!n.running) {
      cluster.crashes.push({
        process: `nats-server ${n.name}`,
        code: -1,
        signal: null,
        atMs: at(),
        output: n.output().slice(-2_000),
      });
    }
  }
  for (const n of cluster.nodes) {
    if (!n.asterisk.running) {
      cluster.crashes.push({
        process: `asterisk ${n.label}`,
        code: -1,
        signal: null,
        atMs: at(),
        output: n.asterisk.output().slice(-2_000),
      });
    }
  }
  const result: SoakResult = {
    schema: SOAK_SCHEMA,
    startedAt,
    finishedAt: new Date().toISOString(),
    options: {
      durationMs,
      hostile,
      eventRate,
      clients,
      flowsPerNode,
      faults: faults.map((f) => f.name),
    },
    rules: {
      requestTimeoutMs: REQUEST_TIMEOUT,
      timeoutGraceMs: TIMEOUT_GRACE_MS,
      inFlightBeforeFaultMs: IN_FLIGHT_MS,
    },
    machine: {
      cpus: navigator.hardwareConcurrency,
      loadavgStart,
      loadavgEnd: loadavg(),
    },
    faults: figures.faults,
    requests: figures.requests,
    events: figures.events,
    requestsByOp,
    flows: { ...ctx.flows, errors: ctx.flowErrors },
    reconnects: ctx.reconnects.map((r) => ({
      ...r,
      tookMs: r.up === undefined ? null : Math.round(r.up - r.down),
    })),
    leftovers,
    proxies: Object.fromEntries(
      cluster.nodes.map((n) => [n.label, n.lives]),
    ),
    crashes: cluster.crashes.map(({ output: _output, ...c }) => c),
    hostile: hostileFigures,
    elapsedSec: Math.round(at() / 100) / 10,
  };
  log(`done: load ${loadStart}..${loadEnd} ms, total ${result.elapsedSec} s`);
  return result;
}

async function runHostilePhase(
  cluster: Awaited<ReturnType<typeof startSoakCluster>>,
  total: number,
  log: (line: string) => void,
): Promise<HostileFigures> {
  const a = cluster.nodes.find((n) => n.label === "A")!;
  const pid = a.proxy.pid;
  const gen = await HostileRequests.load({
    seed: 0x50a4,
    app: cluster.app,
    node: a.node,
    proxies: cluster.nodes.length,
  });
  // Warm up until the heap has its working size (it grows over the first
  // ~30,000 with 1 MiB payloads and 100,000-character strings), so that
  // the "before" RSS is the steady one; the start is reported too.
  const rssStart = (await readProcSample(pid)).rssBytes;
  const warmup = Math.min(30_000, Math.ceil(total / 3));
  await sendHostile(cluster.nc, gen, { total: warmup, inbox: createInbox() });
  const rssBefore = (await readProcSample(pid)).rssBytes;
  let peak = rssBefore;
  const rssSeries: number[] = [];
  log(`hostile: ${total} requests to proxy A (rss ${rssBefore >> 20} MiB)`);
  const result = await sendHostile(cluster.nc, gen, {
    total,
    inbox: createInbox(),
    onProgress: async (sent) => {
      if (sent % 10_000 !== 0) return;
      const rss = (await readProcSample(pid)).rssBytes;
      peak = Math.max(peak, rss);
      rssSeries.push(rss);
      log(`hostile: ${sent} sent, rss ${(rss / 2 ** 20).toFixed(1)} MiB`);
    },
  });
  await sleep(1_000);
  const rssAfter = (await readProcSample(pid)).rssBytes;
  let proxyAnswers = false;
  try {
    const reply = await cluster.nc.request(
      `ari.data.${cluster.app}.${a.node}`,
      '{"kind":"AsteriskInfo","key":{}}',
      { timeout: 5_000 },
    );
    proxyAnswers = JSON.parse(reply.string()).error === "";
  } catch {
    proxyAnswers = false;
  }
  return {
    sent: result.sent,
    served: result.served,
    answeredOnce: result.answeredOnce,
    unanswered: result.unanswered,
    extraReplies: result.extraReplies,
    malformedReplies: result.malformedReplies,
    uncodedErrors: result.uncodedErrors,
    codes: result.codes,
    families: result.families,
    rssStartBytes: rssStart,
    warmup,
    rssBeforeBytes: rssBefore,
    rssSeries,
    rssPeakBytes: Math.max(peak, rssAfter),
    rssAfterBytes: rssAfter,
    proxyAnswers,
    elapsedMs: result.elapsedMs,
  };
}
