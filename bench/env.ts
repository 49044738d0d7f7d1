/**
 * The benchmark environment: real NATS and Asterisk from the test harness,
 * the proxy as a child process, and readiness checks.
 *
 * @module
 */

import { connect, type NatsConnection } from "@nats-io/transport-node";
import {
  type AsteriskInstance,
  asteriskRoot,
  type NatsServer,
  randomEntityId,
  startAsterisk,
  startNats,
} from "../tests/harness/mod.ts";
import type { AriTarget } from "./api.ts";
import { wireRequest } from "./api.ts";
import { type Child, spawnProxy, waitForSignal } from "./proc.ts";

/** Dialplan added to every benchmark Asterisk: `park` answers and waits an hour. */
export const BENCH_DIALPLAN = [
  "exten => park,1,Answer()",
  " same => n,Wait(3600)",
  " same => n,Hangup()",
].join("\n");

/** HTTP sessions a benchmark Asterisk accepts (Asterisk's default is 100). */
export const HTTP_SESSION_LIMIT = 1_000;

/**
 * Raises a harness Asterisk's HTTP session limit (`http.conf`
 * `sessionlimit`, default 100) and reloads its HTTP module. The benchmark
 * runs direct clients and proxies against the same Asterisk, each with a
 * pool of up to 64 keep-alive connections; with the default limit Asterisk
 * refuses connections beyond 100 and requests fail.
 *
 * @param asterisk A local harness instance.
 * @returns When reloaded.
 * @throws {Error} When the reload fails.
 *
 * @example
 * ```ts ignore
 * await raiseHttpSessionLimit(asterisk);
 * ```
 */
export async function raiseHttpSessionLimit(
  asterisk: AsteriskInstance,
): Promise<void> {
  if (asterisk.external || asterisk.dir === undefined) return;
  const conf = `${asterisk.dir}/etc/http.conf`;
  const text = await Deno.readTextFile(conf);
  if (!text.includes("sessionlimit")) {
    await Deno.writeTextFile(
      conf,
      text.replace(
        "[general]\n",
        `[general]\nsessionlimit=${HTTP_SESSION_LIMIT}\n`,
      ),
    );
  }
  const root = asteriskRoot();
  const [loader, triple] = Deno.build.arch === "aarch64"
    ? [`${root}/lib/ld-linux-aarch64.so.1`, "aarch64-linux-gnu"]
    : [`${root}/lib64/ld-linux-x86-64.so.2`, "x86_64-linux-gnu"];
  const out = await new Deno.Command(loader, {
    args: [
      "--library-path",
      `${root}/usr/lib/${triple}:${root}/lib/${triple}`,
      `${root}/usr/sbin/asterisk`,
      "-C",
      `${asterisk.dir}/etc/asterisk.conf`,
      "-rx",
      "module reload http",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const said = new TextDecoder().decode(out.stdout) +
    new TextDecoder().decode(out.stderr);
  if (!out.success || !said.includes("reloaded")) {
    throw new Error(`Cannot reload Asterisk's HTTP module: ${said.trim()}`);
  }
}

/**
 * Starts a harness Asterisk for the benchmarks: {@linkcode BENCH_DIALPLAN},
 * a raised HTTP session limit, never an external one.
 *
 * @param app Its Stasis application.
 * @returns The running instance.
 *
 * @example
 * ```ts ignore
 * await using asterisk = await startBenchAsterisk("bench");
 * ```
 */
export async function startBenchAsterisk(
  app: string,
): Promise<AsteriskInstance> {
  const asterisk = await startAsterisk({
    app,
    entityId: randomEntityId(),
    dialplan: BENCH_DIALPLAN,
    allowExternal: false,
  });
  try {
    await raiseHttpSessionLimit(asterisk);
  } catch (error) {
    await asterisk.close();
    throw error;
  }
  return asterisk;
}

/** The subject prefix the proxy uses by default. */
export const PREFIX = "ari.";

/** Options for {@linkcode startProxyChild}. */
export interface ProxyChildStart {
  /** NATS connection used to wait for the proxy's announcement. */
  nc: NatsConnection;
  /** NATS URL handed to the proxy. */
  natsUrl: string;
  /** ARI the proxy connects to. */
  ari: AriTarget;
  /** The proxy's application. */
  app: string;
  /** The node (entity id) the proxy will announce. */
  node: string;
  /** Extra `deno run` flags for the proxy (e.g. `--cpu-prof`). */
  denoFlags?: string[];
  /** Extra environment settings for the proxy (e.g. `EVENTS_STREAM`). */
  env?: Record<string, string>;
  /**
   * Readiness deadline, ms.
   *
   * @default {60000}
   */
  timeoutMs?: number;
}

/**
 * Starts the proxy (`main.ts`) as a child process and waits until it
 * announces `{node, application}` on `ari.announce` (answering the pings
 * sent meanwhile) and answers an `AsteriskInfo` request.
 *
 * @param options NATS, ARI, application, node, Deno flags.
 * @returns The running, ready proxy process.
 * @throws {Error} When it exits or is not ready in time (with its output).
 *
 * @example
 * ```ts ignore
 * await using proxy = await startProxyChild({ nc, natsUrl, ari, app: "bench", node });
 * ```
 */
export async function startProxyChild(
  options: ProxyChildStart,
): Promise<Child> {
  const {
    nc,
    natsUrl,
    ari,
    app,
    node,
    denoFlags = [],
    env = {},
    timeoutMs = 60_000,
  } = options;
  const announced = Promise.withResolvers<void>();
  const sub = nc.subscribe(`${PREFIX}announce`, {
    callback: (_error, msg) => {
      try {
        const a = JSON.parse(msg.string()) as Record<string, string>;
        if (a.application === app && (a.node ?? a.asterisk) === node) {
          announced.resolve();
        }
      } catch {
        // Not ours.
      }
    },
  });
  const child = spawnProxy({
    app,
    username: ari.username,
    password: ari.password,
    httpUrl: ari.httpUrl,
    wsUrl: ari.wsUrl,
    natsUrl,
    denoFlags,
    env,
  });
  const pinger = setInterval(() => nc.publish(`${PREFIX}ping`, "{}"), 250);
  const ready = (async () => {
    await announced.promise;
    for (let attempt = 0;; attempt++) {
      try {
        await wireRequest(
          nc,
          `${PREFIX}data.${app}.${node}`,
          { kind: "AsteriskInfo", key: {} },
          2_000,
        );
        return;
      } catch (error) {
        if (attempt >= 20) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  })();
  try {
    await waitForSignal(child, ready, timeoutMs);
  } finally {
    clearInterval(pinger);
    sub.unsubscribe();
  }
  return child;
}

/** NATS + one real Asterisk + one proxy. */
export interface Stack extends AsyncDisposable {
  /** The NATS server. */
  nats: NatsServer;
  /** The runner's own NATS connection. */
  nc: NatsConnection;
  /** The Asterisk. */
  asterisk: AsteriskInstance;
  /** ARI location and credentials. */
  ari: AriTarget;
  /** The proxy process. */
  proxy: Child;
  /** The proxy's application. */
  app: string;
  /** The node id (Asterisk entity id). */
  node: string;
  /** Ends everything (proxy, Asterisk, NATS). */
  close(): Promise<void>;
}

/** Options for {@linkcode startStack}. */
export interface StackOptions {
  /**
   * The proxy's application.
   *
   * @default {"bench"}
   */
  app?: string;
  /** Extra `deno run` flags for the proxy. */
  proxyFlags?: string[];
  /** A running NATS server to use (not ended with the stack); default: start one. */
  nats?: NatsServer;
}

/**
 * Starts NATS, a real Asterisk (with {@linkcode BENCH_DIALPLAN}) and a proxy
 * in front of it.
 *
 * @param options Application and proxy flags.
 * @returns The running stack.
 *
 * @example
 * ```ts ignore
 * await using stack = await startStack();
 * ```
 */
export async function startStack(options?: StackOptions): Promise<Stack> {
  const { app = "bench", proxyFlags = [] } = options ?? {};
  const stack = new AsyncDisposableStack();
  try {
    const nats = options?.nats ?? stack.use(await startNats());
    const asterisk = stack.use(await startBenchAsterisk(app));
    const nc = await connect({ servers: nats.url });
    stack.defer(() => nc.close());
    const ari: AriTarget = {
      httpUrl: asterisk.httpUrl,
      wsUrl: asterisk.wsUrl,
      username: asterisk.username,
      password: asterisk.password,
    };
    const proxy = stack.use(
      await startProxyChild({
        nc,
        natsUrl: nats.url,
        ari,
        app,
        node: asterisk.entityId,
        denoFlags: proxyFlags,
      }),
    );
    const moved = stack.move();
    const result: Stack = {
      nats,
      nc,
      asterisk,
      ari,
      proxy,
      app,
      node: asterisk.entityId,
      close: () => moved.disposeAsync(),
      [Symbol.asyncDispose]: () => moved.disposeAsync(),
    };
    return result;
  } catch (error) {
    await stack.disposeAsync();
    throw error;
  }
}
