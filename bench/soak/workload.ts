/**
 * The soak's load: client applications over `connect()` running call flows
 * (originate → StasisStart → answer → play → bridge → hang up) and a
 * liveness probe per node, user events posted to each Asterisk at a steady
 * rate with a sequence number, and event consumers counting them per node.
 *
 * @module
 */

import { type AriClient, connect } from "../../client/mod.ts";
import type { Key } from "../../client/protocol/types.ts";
import type { SoakNode } from "./cluster.ts";
import {
  type EventLedger,
  isTypedError,
  type RequestRecord,
} from "./record.ts";

/** Name of the soak's user events. */
export const USER_EVENT = "soak";

/** Per-request timeout of the client applications, ms. */
export const REQUEST_TIMEOUT = 5_000;

/** Reconnect behaviour a client saw. */
export interface ReconnectRecord {
  /** Which client. */
  client: string;
  /** Disconnected, ms since the soak started. */
  down: number;
  /** Connected again (undefined: never). */
  up?: number;
  /** The waits the client announced before each attempt, ms. */
  delays: number[];
}

/** Shared state of the load. */
export interface LoadContext {
  /** Start of the soak (`performance.now()`). */
  t0: number;
  /** The proxies' application. */
  app: string;
  /** Nodes. */
  nodes: readonly SoakNode[];
  /** Where requests are recorded. */
  requests: RequestRecord[];
  /** Event ledgers by node label. */
  ledgers: Map<string, EventLedger>;
  /** Reconnects seen by the clients. */
  reconnects: ReconnectRecord[];
  /** Call flows: started, completed, failed (with reasons). */
  flows: { started: number; completed: number; failed: number };
  /** Flow failure reasons (first words) and counts. */
  flowErrors: Record<string, number>;
  /** Ends the load. */
  signal: AbortSignal;
}

function now(ctx: LoadContext): number {
  return performance.now() - ctx.t0;
}

/**
 * Runs `fn` as one recorded request.
 *
 * @param ctx The load.
 * @param node Node label.
 * @param op Operation name.
 * @param fn The request.
 * @returns Its result.
 */
export async function recorded<T>(
  ctx: LoadContext,
  node: string,
  op: string,
  fn: (options: { timeout: number }) => Promise<T>,
): Promise<T> {
  const start = now(ctx);
  try {
    const value = await fn({ timeout: REQUEST_TIMEOUT });
    ctx.requests.push({
      node,
      op,
      start,
      end: now(ctx),
      timeout: REQUEST_TIMEOUT,
    });
    return value;
  } catch (error) {
    ctx.requests.push({
      node,
      op,
      start,
      end: now(ctx),
      timeout: REQUEST_TIMEOUT,
      error: error instanceof Error ? error.name : typeof error,
      typed: isTypedError(error),
    });
    throw error;
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** Waits for an event matched by `match`, or rejects after `ms`. */
class Waiters {
  #list = new Set<
    { match: (e: Record<string, unknown>) => boolean; done: () => void }
  >();

  wait(
    match: (e: Record<string, unknown>) => boolean,
    ms: number,
    what: string,
  ): Promise<void> {
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    const entry = {
      match,
      done: () => {
        clearTimeout(timer);
        this.#list.delete(entry);
        resolve();
      },
    };
    const timer = setTimeout(() => {
      this.#list.delete(entry);
      reject(new Error(`No ${what} within ${ms} ms`));
    }, ms);
    this.#list.add(entry);
    return promise;
  }

  dispatch(event: Record<string, unknown>): void {
    for (const entry of this.#list) {
      if (entry.match(event)) entry.done();
    }
  }
}

function channelId(event: Record<string, unknown>): string | undefined {
  return (event.channel as { id?: string } | undefined)?.id;
}

/** One client application: flows and probes on every node, and an event consumer. */
export interface ClientApp extends AsyncDisposable {
  /** Its name. */
  readonly name: string;
  /** The client. */
  readonly client: AriClient;
  /** Resolves when its loops ended. */
  readonly done: Promise<void>;
  /** Closes the client. */
  close(): Promise<void>;
}

/** Options of {@linkcode startClientApp}. */
export interface ClientAppOptions {
  /** Its name. */
  name: string;
  /** NATS servers. */
  servers: string[];
  /** Call flows in flight per node. */
  flowsPerNode: number;
  /** Probe interval, ms. */
  probeEveryMs: number;
}

/**
 * Starts a client application: connects with `connect()`, consumes the
 * soak's user events into the ledgers, runs call flows and a probe per node
 * until `ctx.signal` aborts.
 *
 * @param ctx The load.
 * @param options Name, servers, concurrency.
 * @returns The running application.
 */
export async function startClientApp(
  ctx: LoadContext,
  options: ClientAppOptions,
): Promise<ClientApp> {
  const { name, servers, flowsPerNode, probeEveryMs } = options;
  const client = await connect({
    servers,
    application: ctx.app,
    name,
    timeout: REQUEST_TIMEOUT,
    maxReconnectAttempts: -1,
    discoveryWait: 1_000,
  });
  const byNode = new Map(ctx.nodes.map((n) => [n.node, n.label]));
  const consumers = new Map(
    [...ctx.ledgers].map(([label, ledger]) => [label, ledger.addConsumer()]),
  );
  const waiters = new Waiters();
  const offUser = client.on("ChannelUserevent", (event) => {
    const e = event as unknown as Record<string, unknown>;
    if (e.eventname !== USER_EVENT) return;
    const label = byNode.get(String(e.asterisk_id));
    const seq = Number(
      (e.userevent as Record<string, string> | undefined)?.seq,
    );
    if (label === undefined || !Number.isInteger(seq)) return;
    ctx.ledgers.get(label)!.receive(consumers.get(label)!, seq, now(ctx));
  });
  const offCall = client.on(
    ["StasisStart", "PlaybackStarted", "StasisEnd"],
    (event) => waiters.dispatch(event as unknown as Record<string, unknown>),
  );
  const statusTask = (async () => {
    let current: ReconnectRecord | undefined;
    for await (const s of client.status()) {
      if (s.type === "disconnected") {
        current = { client: name, down: now(ctx), delays: [] };
        ctx.reconnects.push(current);
      } else if (s.type === "reconnecting") {
        current?.delays.push(s.delay);
      } else if (s.type === "connected" && current) {
        current.up = now(ctx);
        current = undefined;
      } else if (s.type === "closed") break;
    }
  })().catch(() => {});

  let counter = 0;
  const flow = async (node: SoakNode) => {
    const tag = `${name}-${node.label}-${++counter}`;
    const id = `soak-${tag}`;
    const key: Key = { kind: "channel", id, node: node.node, app: ctx.app };
    const label = node.label;
    ctx.flows.started++;
    let channelUp = false;
    let bridge: Key | undefined;
    try {
      const started = waiters.wait(
        (e) => e.type === "StasisStart" && channelId(e) === id,
        10_000,
        "StasisStart",
      );
      started.catch(() => {});
      await recorded(ctx, label, "originate", (o) =>
        client.channels.originate(
          {
            endpoint: "Local/park@default",
            channelId: id,
            app: ctx.app,
          },
          { node: node.node, app: ctx.app },
          o,
        ));
      channelUp = true;
      await started;
      const channel = client.channels.handle(key);
      await recorded(ctx, label, "answer", (o) => channel.answer(o));
      const playing = waiters.wait(
        (e) =>
          e.type === "PlaybackStarted" &&
          (e.playback as { id?: string } | undefined)?.id === `pb-${tag}`,
        10_000,
        "PlaybackStarted",
      );
      playing.catch(() => {});
      await recorded(
        ctx,
        label,
        "play",
        (o) =>
          channel.play("sound:hello-world", { ...o, playbackId: `pb-${tag}` }),
      );
      await playing;
      const handle = await recorded(
        ctx,
        label,
        "bridge.create",
        (o) =>
          client.bridges.create(
            { bridgeId: `soakb-${tag}`, type: "mixing" },
            { node: node.node, app: ctx.app },
            o,
          ),
      );
      bridge = handle.key;
      await recorded(
        ctx,
        label,
        "bridge.add",
        (o) => handle.addChannel(id, o),
      );
      const ended = waiters.wait(
        (e) => e.type === "StasisEnd" && channelId(e) === id,
        10_000,
        "StasisEnd",
      );
      ended.catch(() => {});
      await recorded(ctx, label, "hangup", (o) => channel.hangup(o));
      channelUp = false;
      await ended;
      await recorded(ctx, label, "bridge.delete", (o) => handle.delete(o));
      bridge = undefined;
      ctx.flows.completed++;
    } catch (error) {
      ctx.flows.failed++;
      const reason = error instanceof Error
        ? `${error.name}: ${error.message.split(":")[0]}`
        : String(error);
      ctx.flowErrors[reason] = (ctx.flowErrors[reason] ?? 0) + 1;
    } finally {
      // An application cleans up after a failed flow, retrying while the
      // cluster recovers (20 s at most).
      if (channelUp) {
        await cleanup(
          ctx,
          label,
          () => client.channels.handle(key).hangup({ timeout: 2_000 }),
        );
      }
      if (bridge) {
        const b = bridge;
        await cleanup(
          ctx,
          label,
          () => client.bridges.handle(b).delete({ timeout: 2_000 }),
        );
      }
    }
  };

  const loops: Promise<void>[] = [];
  for (const node of ctx.nodes) {
    for (let i = 0; i < flowsPerNode; i++) {
      loops.push((async () => {
        while (!ctx.signal.aborted) {
          await flow(node);
          await sleep(50, ctx.signal);
        }
      })());
    }
    loops.push((async () => {
      while (!ctx.signal.aborted) {
        await recorded(
          ctx,
          node.label,
          "info",
          (o) => client.asterisk.info({ ...o, node: node.node }),
        ).catch(() => {});
        await sleep(probeEveryMs, ctx.signal);
      }
    })());
  }
  const done = Promise.all(loops).then(() => {});
  const app: ClientApp = {
    name,
    client,
    done,
    async close() {
      offUser();
      offCall();
      await client.close();
      await statusTask;
    },
    [Symbol.asyncDispose]: () => app.close(),
  };
  return app;
}

async function cleanup(
  ctx: LoadContext,
  label: string,
  fn: () => Promise<void>,
): Promise<void> {
  const until = performance.now() + 20_000;
  while (performance.now() < until) {
    try {
      await recorded(ctx, label, "cleanup", fn);
      return;
    } catch (error) {
      const status = (error as { status?: number }).status;
      const message = error instanceof Error ? error.message : "";
      if (status === 404 || /not found/i.test(message)) return;
      await sleep(500);
    }
  }
}

/** Options of {@linkcode postUserEvents}. */
export interface PostOptions {
  /** Events per second per node. */
  ratePerSec: number;
}

/**
 * Posts user events to each Asterisk directly (not through a proxy) at a
 * steady rate, each with the next sequence number of its node, recording
 * accepted ones in the node's ledger; until `ctx.signal` aborts.
 *
 * @param ctx The load.
 * @param options Rate.
 * @returns When stopped.
 */
export async function postUserEvents(
  ctx: LoadContext,
  options: PostOptions,
): Promise<void> {
  const interval = 1_000 / options.ratePerSec;
  await Promise.all(ctx.nodes.map(async (node) => {
    const ledger = ctx.ledgers.get(node.label)!;
    const auth = `Basic ${btoa(`${node.ari.username}:${node.ari.password}`)}`;
    const url = `${node.ari.httpUrl}/events/user/${USER_EVENT}?application=${
      encodeURIComponent(ctx.app)
    }`;
    let seq = 0;
    const begin = performance.now();
    while (!ctx.signal.aborted) {
      const s = seq++;
      const postedAt = now(ctx);
      try {
        const res = await fetch(url, {
          method: "POST",
          headers: { authorization: auth, "content-type": "application/json" },
          body: JSON.stringify({ variables: { seq: String(s) } }),
          signal: AbortSignal.timeout(2_000),
        });
        await res.body?.cancel();
        if (res.ok) ledger.posted.set(s, postedAt);
        else ledger.postFailures++;
      } catch {
        ledger.postFailures++;
      }
      const due = begin + (s + 1) * interval;
      await sleep(Math.max(0, due - performance.now()), ctx.signal);
    }
  }));
}
