/**
 * The soak's cluster on this machine: a 3-server NATS cluster, two real
 * Asterisks, and two proxies (child processes, `main.ts` with the flags of
 * `deno task start`), each proxy in front of one Asterisk. Each proxy's
 * events WebSocket goes through a {@linkcode TcpRelay} so that it can be
 * dropped while Asterisk runs. Every process exit the soak did not cause is
 * recorded as a crash.
 *
 * @module
 */

import { connect, type NatsConnection } from "@nats-io/transport-node";
import {
  type AsteriskInstance,
  type NatsServer,
  startNatsCluster,
} from "../../tests/harness/mod.ts";
import type { AriTarget } from "../api.ts";
import { startBenchAsterisk, startProxyChild } from "../env.ts";
import { type Child, readProcSample } from "../proc.ts";
import { startTcpRelay, type TcpRelay } from "./relay.ts";

/** An unexpected process exit. */
export interface Crash {
  /** Which process. */
  process: string;
  /** Its exit code. */
  code: number;
  /** Its signal, if any. */
  signal: string | null;
  /** When (ms since the soak started). */
  atMs: number;
  /** The tail of its output. */
  output: string;
}

/** One proxy process's life. */
export interface ProxyLife {
  /** Its pid. */
  pid: number;
  /** RSS right after it was ready, bytes. */
  rssStartBytes: number;
  /** RSS at the end (or when it was killed), bytes. */
  rssEndBytes?: number;
  /** How it ended: still running at the end, killed by the soak, or crashed. */
  ended?: "running" | "killed" | "crashed";
}

/** One Asterisk + relay + proxy. */
export interface SoakNode {
  /** `A` or `B`. */
  readonly label: string;
  /** The Asterisk. */
  readonly asterisk: AsteriskInstance;
  /** The node id (Asterisk entity id). */
  readonly node: string;
  /** ARI location (REST direct; the events WebSocket through the relay). */
  readonly ari: AriTarget;
  /** The relay in front of the events WebSocket. */
  readonly relay: TcpRelay;
  /** The current proxy process. */
  proxy: Child;
  /** Every proxy process of this node, in order. */
  readonly lives: ProxyLife[];
}

/** The running cluster. */
export interface SoakCluster extends AsyncDisposable {
  /** The NATS cluster. */
  readonly nats: NatsServer;
  /** Client URLs of every NATS server, comma-separated. */
  readonly natsUrls: string;
  /** The runner's own NATS connection. */
  readonly nc: NatsConnection;
  /** The proxies' application. */
  readonly app: string;
  /** The two nodes. */
  readonly nodes: readonly SoakNode[];
  /** Unexpected exits so far. */
  readonly crashes: Crash[];
  /** Kills a node's proxy with SIGKILL (an expected exit). */
  killProxy(node: SoakNode): Promise<void>;
  /** Starts a node's proxy again and waits until it is ready. */
  startProxy(node: SoakNode): Promise<void>;
  /** Records each running proxy's final RSS. */
  sampleEnd(): Promise<void>;
  /** Ends everything. */
  close(): Promise<void>;
}

/** Options of {@linkcode startSoakCluster}. */
export interface SoakClusterOptions {
  /** The proxies' application. */
  app: string;
  /** Start of the soak (`performance.now()`), for crash times. */
  t0: number;
  /** Extra `deno run` flags for the proxies. */
  proxyFlags?: string[];
}

/**
 * Starts the cluster and waits until both proxies are ready.
 *
 * @param options Application, start time, proxy flags.
 * @returns The cluster.
 *
 * @example
 * ```ts ignore
 * await using cluster = await startSoakCluster({ app: "soak", t0: performance.now() });
 * ```
 */
export async function startSoakCluster(
  options: SoakClusterOptions,
): Promise<SoakCluster> {
  const { app, t0, proxyFlags = [] } = options;
  const stack = new AsyncDisposableStack();
  const crashes: Crash[] = [];
  const expectedExit = new Set<number>();
  try {
    const nats = stack.use(await startNatsCluster(3));
    const natsUrls = nats.urls.join(",");
    const nc = await connect({
      servers: nats.urls,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
    });
    stack.defer(() => nc.close());
    const asterisks = await Promise.all(
      ["A", "B"].map(async () => stack.use(await startBenchAsterisk(app))),
    );
    const nodes: SoakNode[] = [];
    for (const [i, asterisk] of asterisks.entries()) {
      const relay = stack.use(startTcpRelay(asterisk.port));
      const node: SoakNode = {
        label: i === 0 ? "A" : "B",
        asterisk,
        node: asterisk.entityId,
        ari: {
          httpUrl: asterisk.httpUrl,
          wsUrl: `ws://127.0.0.1:${relay.port}/ari/events`,
          username: asterisk.username,
          password: asterisk.password,
        },
        relay,
        proxy: undefined as unknown as Child,
        lives: [],
      };
      nodes.push(node);
    }

    const startProxy = async (node: SoakNode) => {
      const child = await startProxyChild({
        nc,
        natsUrl: natsUrls,
        ari: node.ari,
        app,
        node: node.node,
        denoFlags: proxyFlags,
      });
      const life: ProxyLife = {
        pid: child.pid,
        rssStartBytes: (await readProcSample(child.pid)).rssBytes,
      };
      node.proxy = child;
      node.lives.push(life);
      child.status.then((status) => {
        if (expectedExit.has(child.pid)) return;
        life.ended = "crashed";
        crashes.push({
          process: `proxy ${node.label} (pid ${child.pid})`,
          code: status.code,
          signal: status.signal,
          atMs: Math.round(performance.now() - t0),
          output: child.output().slice(-2_000),
        });
      });
    };
    const stopAll = async () => {
      for (const node of nodes) {
        if (node.proxy === undefined) continue;
        expectedExit.add(node.proxy.pid);
        await node.proxy.stop();
      }
    };
    stack.defer(stopAll);
    await Promise.all(nodes.map(startProxy));

    const moved = stack.move();
    const cluster: SoakCluster = {
      nats,
      natsUrls,
      nc,
      app,
      nodes,
      crashes,
      async killProxy(node) {
        const child = node.proxy;
        expectedExit.add(child.pid);
        const life = node.lives.at(-1)!;
        const rss = await readProcSample(child.pid).then(
          (s) => s.rssBytes,
          () => undefined,
        );
        if (rss !== undefined) life.rssEndBytes = rss;
        life.ended = "killed";
        Deno.kill(child.pid, "SIGKILL");
        await child.status;
      },
      startProxy,
      async sampleEnd() {
        for (const node of nodes) {
          const life = node.lives.at(-1)!;
          if (life.ended !== undefined || node.proxy.exited()) continue;
          life.rssEndBytes = (await readProcSample(node.proxy.pid)).rssBytes;
          life.ended = "running";
        }
      },
      close: () => moved.disposeAsync(),
      [Symbol.asyncDispose]: () => moved.disposeAsync(),
    };
    return cluster;
  } catch (error) {
    await stack.disposeAsync();
    throw error;
  }
}
