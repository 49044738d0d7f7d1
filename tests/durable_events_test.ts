/**
 * Durable events end to end, with the real parts: a real Asterisk raising
 * numbered ChannelUserevents (`POST /ari/events/user/<name>`), a proxy with
 * `eventStream` (acknowledged publishes into JetStream), and consuming
 * clients with `durable` — killed and started again in the middle of the
 * stream, or with a NATS server of the cluster killed under them.
 */

import assert from "node:assert/strict";
import { connect as natsConnect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import {
  type AsteriskInstance,
  type NatsServer,
  startAsterisk,
  startNats,
  startNatsCluster,
  waitFor,
} from "./harness/mod.ts";
import { type ProxyServer, startProxy } from "../lib/server.ts";
import { driveUserEvents } from "../bench/user_events.ts";
import { maybeConfigureLogging, resetLogging } from "./_server_util.ts";

const STREAM = "ARI_EVENTS";
const CONSUMER_SCRIPT = new URL("./_durable_consumer.ts", import.meta.url);
const REPO_ROOT = new URL("..", import.meta.url);

/** One handled event as the consumer printed it. */
interface Handled {
  n: number;
  seq: number;
  deliveries: number;
}

/** A consumer process (tests/_durable_consumer.ts) and what it printed. */
class Consumer {
  readonly handled: Handled[] = [];
  readonly #child: Deno.ChildProcess;
  readonly #reading: Promise<void>;
  #ready = false;
  #stderr = "";

  constructor(settings: Record<string, unknown>) {
    this.#child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--frozen",
        "-P=test",
        CONSUMER_SCRIPT.pathname,
        JSON.stringify(settings),
      ],
      cwd: REPO_ROOT.pathname,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#reading = Promise.all([this.#readOut(), this.#readErr()]).then(
      () => {},
    );
  }

  async #readOut(): Promise<void> {
    let rest = "";
    const decoder = new TextDecoder();
    for await (const chunk of this.#child.stdout) {
      rest += decoder.decode(chunk, { stream: true });
      const lines = rest.split("\n");
      rest = lines.pop()!;
      for (const text of lines) {
        if (text === "ready") {
          this.#ready = true;
          continue;
        }
        const [n, seq, deliveries] = text.split(" ").map(Number);
        this.handled.push({ n: n!, seq: seq!, deliveries: deliveries! });
      }
    }
  }

  async #readErr(): Promise<void> {
    const decoder = new TextDecoder();
    for await (const chunk of this.#child.stderr) {
      this.#stderr = (this.#stderr + decoder.decode(chunk)).slice(-4000);
    }
  }

  async ready(): Promise<void> {
    await waitFor(() => this.#ready, {
      timeout: 60_000,
      message: "the consumer process to connect",
    }).catch((error) => {
      throw new Error(`${error.message}\nconsumer stderr:\n${this.#stderr}`);
    });
  }

  /** SIGKILL: no goodbye, unacknowledged events stay unacknowledged. */
  async kill(): Promise<void> {
    this.#child.kill("SIGKILL");
    await this.#child.status;
    await this.#reading;
  }

  /** SIGTERM: the client closes and exits. */
  async stop(): Promise<void> {
    try {
      this.#child.kill("SIGTERM");
    } catch {
      // Already exited.
    }
    await this.#child.status;
    await this.#reading;
  }
}

interface Run {
  sentNumbers: Set<number>;
  sendErrors: number;
}

/** Sends `count` numbered user events at `rate`/s; resolves with the numbers Asterisk accepted. */
async function sendEvents(
  ast: AsteriskInstance,
  startSeq: number,
  count: number,
  rate: number,
): Promise<Run> {
  const result = await driveUserEvents({
    httpUrl: ast.httpUrl,
    username: ast.username,
    password: ast.password,
    app: ast.app,
    inFlight: 4,
    ratePerSec: rate,
    durationMs: 600_000,
    maxEvents: count,
    startSeq,
  });
  const failed = new Set(result.failedSeqs);
  const sentNumbers = new Set<number>();
  for (let i = 0; i < result.issued; i++) {
    if (!failed.has(startSeq + i)) sentNumbers.add(startSeq + i);
  }
  return { sentNumbers, sendErrors: result.errors };
}

async function startStreamProxy(
  ast: AsteriskInstance,
  nats: NatsServer,
  replicas: number,
): Promise<ProxyServer> {
  await maybeConfigureLogging();
  return await startProxy({
    ari: {
      application: ast.app,
      username: ast.username,
      password: ast.password,
      httpUrl: ast.httpUrl,
      websocketUrl: ast.wsUrl,
    },
    nats: { servers: nats.urls },
    eventStream: { name: STREAM, replicas, ackTimeout: 2_000 },
  });
}

function tally(handled: Handled[]) {
  const counts = new Map<number, number>();
  for (const { n } of handled) counts.set(n, (counts.get(n) ?? 0) + 1);
  let duplicates = 0;
  for (const count of counts.values()) duplicates += count - 1;
  return { seen: new Set(counts.keys()), duplicates };
}

function missing(expected: Set<number>, seen: Set<number>): number[] {
  return [...expected].filter((n) => !seen.has(n));
}

const MAX_ACK_PENDING = 32;

Deno.test("durable events: a consumer killed mid-stream and started again loses nothing; duplicates stay within the unacknowledged window", async () => {
  await using nats = await startNats({ jetstream: true });
  await using ast = await startAsterisk({ allowExternal: false });
  const proxy = await startStreamProxy(ast, nats, 1);
  const consumers: Consumer[] = [];
  try {
    const settings = {
      servers: nats.urls,
      application: ast.app,
      name: "billing",
      maxAckPending: MAX_ACK_PENDING,
      ackWait: 3_000,
    };
    const first = new Consumer(settings);
    consumers.push(first);
    await first.ready();
    const total = 1_500;
    const sending = sendEvents(ast, 1, total, 300);
    // Kill it once it is well into the stream.
    await waitFor(() => first.handled.length >= 300, {
      timeout: 60_000,
      message: "the first consumer to handle 300 events",
    });
    await first.kill();
    const beforeKill = first.handled.length;
    assert.ok(beforeKill < total, "killed in the middle of the stream");
    const second = new Consumer(settings);
    consumers.push(second);
    await second.ready();
    const run = await sending;
    assert.ok(
      run.sentNumbers.size >= total * 0.95,
      `Asterisk accepted ${run.sentNumbers.size} of ${total} user events`,
    );
    await waitFor(
      () =>
        missing(
          run.sentNumbers,
          tally([...first.handled, ...second.handled]).seen,
        ).length === 0,
      { timeout: 120_000, interval: 200, message: "every event handled" },
    ).catch((error) => {
      const lost = missing(
        run.sentNumbers,
        tally([...first.handled, ...second.handled]).seen,
      );
      throw new Error(
        `${error.message}: ${lost.length} missing, e.g. ${
          lost.slice(0, 10).join(", ")
        }`,
      );
    });
    const all = [...first.handled, ...second.handled];
    const { duplicates } = tally(all);
    // Duplicates: only events the first consumer handled whose ack had not
    // reached the server when it died, at most the unacknowledged window.
    assert.ok(
      duplicates <= MAX_ACK_PENDING,
      `${duplicates} duplicates > window ${MAX_ACK_PENDING}`,
    );
    // Each duplicate carries the same stream sequence as its first copy.
    const seqOf = new Map<number, number>();
    for (const { n, seq } of all) {
      const known = seqOf.get(n);
      if (known !== undefined) assert.equal(seq, known, `event ${n}`);
      seqOf.set(n, seq);
    }
    const stats = proxy.stats().events.stream!;
    assert.equal(stats.fallback, 0, "the stream took every event");
    assert.ok(stats.stored >= run.sentNumbers.size);
    // deno-lint-ignore no-console -- test report
    console.log(
      `durable single: ${run.sentNumbers.size} events, first consumer handled ${beforeKill} before SIGKILL, ${duplicates} duplicates (window ${MAX_ACK_PENDING}), 0 lost`,
    );
  } finally {
    for (const consumer of consumers) await consumer.stop();
    await proxy.close();
    await resetLogging();
  }
});

Deno.test("durable events: one NATS server of a 3-server cluster killed mid-stream, the replicated stream loses nothing", async () => {
  await using nats = await startNatsCluster(3, { jetstream: true });
  await using ast = await startAsterisk({ allowExternal: false });
  const proxy = await startStreamProxy(ast, nats, 3);
  const consumers: Consumer[] = [];
  const admin = await natsConnect({ servers: nats.urls });
  try {
    const jsm = await jetstreamManager(admin);
    const info = await jsm.streams.info(STREAM);
    assert.equal(info.config.num_replicas, 3);
    const consumer = new Consumer({
      servers: nats.urls,
      application: ast.app,
      name: "audit",
      maxAckPending: MAX_ACK_PENDING,
      ackWait: 3_000,
    });
    consumers.push(consumer);
    await consumer.ready();
    const total = 1_500;
    const sending = sendEvents(ast, 1, total, 300);
    await waitFor(() => consumer.handled.length >= 300, {
      timeout: 60_000,
      message: "300 events handled",
    });
    // Kill the stream's leader: storage fails over to the two others.
    const leader = (await jsm.streams.info(STREAM)).cluster?.leader;
    const victim = nats.nodes.find((node) => node.name === leader);
    assert.ok(victim, `stream leader "${leader}" is one of ours`);
    await victim.kill();
    const run = await sending;
    assert.ok(
      run.sentNumbers.size >= total * 0.95,
      `Asterisk accepted ${run.sentNumbers.size} of ${total} user events`,
    );
    await waitFor(
      () => missing(run.sentNumbers, tally(consumer.handled).seen).length === 0,
      { timeout: 180_000, interval: 200, message: "every event handled" },
    ).catch((error) => {
      const lost = missing(run.sentNumbers, tally(consumer.handled).seen);
      throw new Error(
        `${error.message}: ${lost.length} missing, e.g. ${
          lost.slice(0, 10).join(", ")
        }; proxy stream stats ${JSON.stringify(proxy.stats().events.stream)}`,
      );
    });
    const stored = await jsm.streams.info(STREAM);
    assert.ok(stored.state.messages >= run.sentNumbers.size);
    // The proxy's retries around the fail-over stored nothing twice: a
    // number seen twice is a redelivery of one stored event (same sequence).
    const seqOf = new Map<number, number>();
    for (const { n, seq } of consumer.handled) {
      const known = seqOf.get(n);
      if (known !== undefined) assert.equal(seq, known, `event ${n}`);
      seqOf.set(n, seq);
    }
    const { duplicates } = tally(consumer.handled);
    const stats = proxy.stats().events.stream!;
    // deno-lint-ignore no-console -- test report
    console.log(
      `durable cluster: ${run.sentNumbers.size} events, killed ${leader} (stream leader), 0 lost, ${duplicates} duplicates; proxy ${
        JSON.stringify(stats)
      }`,
    );
  } finally {
    await admin.close();
    for (const c of consumers) await c.stop();
    await proxy.close();
    await resetLogging();
  }
});
