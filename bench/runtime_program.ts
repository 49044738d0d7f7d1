/**
 * The client measured on one runtime (`bench/scenarios/runtimes.ts` runs it
 * on Deno from source, and on Node and Bun from the npm build of the
 * package): request latency of `asterisk.info()` and event throughput of
 * `ChannelUserevent`s, over one transport.
 *
 * Argument: JSON {@linkcode RuntimeProgramConfig}. Output: JSON lines
 * `{ latency }`, then `{ ready }` once subscribed; it then counts events
 * until it reads a line `sent <n>` on its standard input and has seen `n`
 * events (or `eventTimeoutMs` passed since), and prints `{ events }`.
 *
 * @module
 */

import process from "node:process";
import { createInterface } from "node:readline";
import {
  type AriClient,
  connect,
  connectNative,
  type NativeTransportOptions,
  type NatsTransportOptions,
} from "@ari-proxy/client";

/** The program's argument. */
export interface RuntimeProgramConfig {
  /** The transport to measure. */
  mode: "native" | "nats";
  /** `connectNative()` options (mode "native"). */
  native?: NativeTransportOptions;
  /** `connect()` options (mode "nats"). */
  nats?: NatsTransportOptions;
  /** Unmeasured calls first, ms. */
  warmupMs: number;
  /** Measured calls, ms (one in flight). */
  durationMs: number;
  /** Name of the user events to count. */
  eventName: string;
  /** Longest wait for the last event after `sent <n>`, ms. */
  eventTimeoutMs: number;
}

function emit(line: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(line) + "\n");
}

function quantileUs(sortedMs: number[], q: number): number {
  if (sortedMs.length === 0) return NaN;
  const i = Math.min(
    sortedMs.length - 1,
    Math.max(0, Math.ceil(q * sortedMs.length) - 1),
  );
  return Math.round(sortedMs[i]! * 1000);
}

async function measureLatency(
  client: AriClient,
  warmupMs: number,
  durationMs: number,
): Promise<Record<string, number>> {
  const call = () => client.asterisk.info({ only: ["system"] });
  let until = performance.now() + warmupMs;
  while (performance.now() < until) await call();
  const latencies: number[] = [];
  const t0 = performance.now();
  until = t0 + durationMs;
  while (performance.now() < until) {
    const t = performance.now();
    await call();
    latencies.push(performance.now() - t);
  }
  const wall = performance.now() - t0;
  latencies.sort((a, b) => a - b);
  return {
    count: latencies.length,
    perSec: Math.round(latencies.length / (wall / 1000)),
    p50Us: quantileUs(latencies, 0.5),
    p99Us: quantileUs(latencies, 0.99),
  };
}

const config = JSON.parse(process.argv[2] ?? "{}") as RuntimeProgramConfig;
const client = config.mode === "native"
  ? await connectNative(config.native!)
  : await connect(config.nats!);
try {
  emit({
    latency: await measureLatency(client, config.warmupMs, config.durationMs),
  });

  let received = 0;
  let firstAt = 0;
  let lastAt = 0;
  let expected = Infinity;
  let wake: () => void = () => {};
  const stream = client.events("ChannelUserevent", { bufferSize: 1_000_000 });
  const counting = (async () => {
    for await (const event of stream) {
      if (event.eventname !== config.eventName) continue;
      const now = performance.now();
      if (received === 0) firstAt = now;
      lastAt = now;
      received++;
      if (received >= expected) break;
    }
  })();
  // A round trip after subscribing: the subscription is in place on the
  // server (NATS handles one connection's messages in order).
  await client.asterisk.info({ only: ["system"] });
  emit({ ready: true });
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    const match = /^sent (\d+)$/.exec(line.trim());
    if (match) {
      expected = Number(match[1]);
      break;
    }
  }
  lines.close();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<void>((resolve) => {
    wake = resolve;
    timer = setTimeout(resolve, config.eventTimeoutMs);
  });
  if (received < expected) await Promise.race([counting, timedOut]);
  clearTimeout(timer);
  wake();
  stream.close();
  const spanMs = lastAt - firstAt;
  emit({
    events: {
      sent: expected,
      received,
      lost: Math.max(0, expected - received),
      perSec: spanMs > 0 ? Math.round((received - 1) / (spanMs / 1000)) : 0,
    },
  });
} finally {
  await client.close();
}
emit({ done: true, runtime: navigator.userAgent });
