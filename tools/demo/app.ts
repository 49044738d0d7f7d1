/**
 * The demo's application, written only against the public client API
 * (`@ari-proxy/client`): it places calls (Local channels into its own
 * application), answers them, plays a prompt, bridges the two legs of each
 * call, records the bridge for a few seconds and hangs up. Every request it
 * sends goes through the proxy over NATS; it times each one.
 *
 * @module
 */

import type { AriClient, BridgeHandle, ChannelHandle } from "@ari-proxy/client";
import type { DemoStats } from "./stats.ts";

/** Options for {@linkcode runDemoApp}. */
export interface DemoAppOptions {
  /**
   * Calls to place; `Infinity` places calls until `signal` or `stopPlacing`
   * ends the run.
   *
   * @default {10}
   */
  calls?: number;
  /**
   * Calls in progress at once.
   *
   * @default {2}
   */
  concurrency?: number;
  /**
   * How long each call's bridge is recorded, in ms.
   *
   * @default {2000}
   */
  recordMs?: number;
  /**
   * How long to wait for each expected event, in ms.
   *
   * @default {15000}
   */
  eventTimeout?: number;
  /** Aborting it interrupts the calls in progress (they are hung up). */
  signal?: AbortSignal;
  /** Aborting it stops placing new calls; calls in progress finish. */
  stopPlacing?: AbortSignal;
}

/** The dialplan extension the demo's Local channels run (answer, wait). */
const ENDPOINT = "Local/100@default";

/**
 * Runs the demo application until every call is done (or `signal` aborts).
 * Events of the application are counted by type into `stats` while it runs.
 *
 * @param client A client connected over NATS (`connect()`).
 * @param stats Where calls, events and request latencies are recorded.
 * @param options Number of calls, concurrency, recording length, signals.
 * @returns Once no call is in progress any more.
 *
 * @example
 * ```ts ignore
 * import { connect } from "@ari-proxy/client";
 * import { DemoStats } from "./stats.ts";
 * import { runDemoApp } from "./app.ts";
 *
 * await using client = await connect({ servers: "nats://127.0.0.1:4222", application: "demo" });
 * const stats = new DemoStats();
 * await runDemoApp(client, stats, { calls: 2 });
 * console.log(stats.snapshot());
 * ```
 */
export async function runDemoApp(
  client: AriClient,
  stats: DemoStats,
  options?: DemoAppOptions,
): Promise<void> {
  const {
    calls = 10,
    concurrency = 2,
    recordMs = 2_000,
    eventTimeout = 15_000,
    signal,
    stopPlacing,
  } = options ?? {};
  const events = client.events(undefined, { bufferSize: 100_000 });
  const counting = (async () => {
    for await (const event of events) stats.event(event.type);
  })();
  const run = crypto.randomUUID().slice(0, 8);
  const active = new Set<Promise<void>>();
  const stopped = Promise.race([aborted(signal), aborted(stopPlacing)]);
  try {
    for (let call = 1; call <= calls; call++) {
      if (signal?.aborted || stopPlacing?.aborted) break;
      if (active.size >= concurrency) {
        await Promise.race([...active, stopped]);
        call--;
        continue;
      }
      stats.callPlaced();
      const done = placeCall(client, stats, {
        id: `demo-${run}-${call}`,
        call,
        recordMs,
        eventTimeout,
        signal,
      });
      active.add(done);
      done.finally(() => active.delete(done));
    }
    await Promise.all(active);
  } finally {
    // Count what is still buffered (close() would drop it): every event the
    // calls awaited was queued here first, so the counts are complete.
    while (events.pending > 0) {
      const next = await events.next();
      if (!next.done) stats.event(next.value.type);
    }
    events.close();
    await counting;
  }
}

function aborted(signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return new Promise(() => {});
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) =>
    signal.addEventListener("abort", () => resolve(), { once: true })
  );
}

interface CallSettings {
  id: string;
  call: number;
  recordMs: number;
  eventTimeout: number;
  signal: AbortSignal | undefined;
}

/** One call: two legs, answer, prompt, bridge, record, hang up. */
async function placeCall(
  client: AriClient,
  stats: DemoStats,
  settings: CallSettings,
): Promise<void> {
  const { id, call, recordMs, eventTimeout, signal } = settings;
  const wait = signal
    ? { timeout: eventTimeout, signal }
    : { timeout: eventTimeout };
  async function timed<T>(request: () => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      const result = await request();
      stats.latency(performance.now() - start);
      return result;
    } catch (error) {
      stats.requestFailed();
      throw error;
    }
  }
  const legs: ChannelHandle[] = [];
  let bridge: BridgeHandle | undefined;
  try {
    for (const leg of ["a", "b"]) {
      const staged = await client.channels.stageOriginate({
        endpoint: ENDPOINT,
        channelId: `${id}-${leg}`,
        app: client.application,
      });
      const started = quiet(staged.handle.once("StasisStart", wait));
      legs.push(staged.handle);
      await timed(() => staged.exec());
      await started;
    }
    const [caller, callee] = legs as [ChannelHandle, ChannelHandle];
    await timed(() => caller.answer());
    await timed(() => callee.answer());

    const prompt = await caller.stagePlay("sound:hello-world");
    const played = quiet(prompt.handle.once("PlaybackFinished", wait));
    await timed(() => prompt.exec());
    await played;

    const created = await timed(() =>
      client.bridges.create({ bridgeId: `${id}-br`, type: "mixing" })
    );
    bridge = created;
    await timed(() => created.addChannel(caller));
    await timed(() => created.addChannel(callee));

    const recording = await created.stageRecord({
      name: `${id}-rec`,
      format: "wav",
      ifExists: "overwrite",
    });
    const recordingStarted = quiet(
      recording.handle.once("RecordingStarted", wait),
    );
    await timed(() => recording.exec());
    await recordingStarted;
    await sleep(recordMs, signal);
    const recorded = quiet(recording.handle.once("RecordingFinished", wait));
    await timed(() => recording.handle.stop());
    await recorded;
    stats.recordingMade();
    await timed(() => recording.handle.stored().delete());

    for (const leg of legs) {
      const ended = quiet(leg.once("StasisEnd", wait));
      await timed(() => leg.hangup());
      await ended;
    }
    legs.length = 0;
    await timed(() => created.delete());
    bridge = undefined;
    stats.callCompleted();
  } catch (error) {
    if (signal?.aborted) stats.callInterrupted();
    else {
      stats.callFailed(
        call,
        error instanceof Error ? error.message : String(error),
      );
    }
  } finally {
    // Whatever is left of the call goes away, also after a failure.
    await Promise.allSettled([
      ...legs.map((leg) => leg.hangup()),
      ...(bridge ? [bridge.delete()] : []),
    ]);
  }
}

/** Marks a promise as handled (it is awaited later unless a step before fails). */
function quiet<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
