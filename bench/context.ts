/**
 * What every scenario gets: the run options, progress logging, and the
 * components shared between scenarios, each started on first use and ended
 * by {@linkcode BenchContext.close}.
 *
 * @module
 */

import { connect, type NatsConnection } from "@nats-io/transport-node";
import {
  type NatsServer,
  randomEntityId,
  startNats,
} from "../tests/harness/mod.ts";
import type { AriTarget } from "./api.ts";
import { type Stack, startProxyChild, startStack } from "./env.ts";
import { type FakeAriControl, fakeAriControl } from "./fake_ari.ts";
import {
  type Child,
  readProcSample,
  sleep,
  spawnDeno,
  startBareNats,
  waitForSignal,
} from "./proc.ts";

/** Options of one benchmark run. */
export interface BenchOptions {
  /** Tiny run (seconds): smoke test of the runner. */
  quick: boolean;
  /** Repeated rounds per comparison. */
  rounds: number;
  /** Length of one measurement cell (one path, one operation, one concurrency), ms. */
  durationMs: number;
  /** Length of the sustained real-Asterisk event run, ms. */
  sustainMs: number;
  /** Events for the leak check (scenario 5). */
  leakEvents: number;
  /** Length of one fixed-rate step of the fake-ARI rate search, ms. */
  stepMs: number;
  /** Extra `deno run` flags for proxies (e.g. `--cpu-prof`). */
  proxyFlags: string[];
}

/** A proxy in front of the fake ARI, with its idle resource figures. */
export interface FakeSession {
  /** The fake ARI (a child process) and its control. */
  fake: FakeAriControl;
  /** The proxy process. */
  proxy: Child;
  /** The proxy's application. */
  app: string;
  /** The fake's entity id (the proxy's node). */
  node: string;
  /** The proxy's RSS after start-up and a quiet settle, bytes. */
  idleRssBytes: number;
}

/**
 * Lazily started shared components for the scenarios.
 *
 * @example
 * ```ts ignore
 * await using ctx = new BenchContext(options);
 * const stack = await ctx.stack();
 * ```
 */
export class BenchContext implements AsyncDisposable {
  /** The run options. */
  readonly options: BenchOptions;
  /** Values one scenario leaves for another (e.g. the top zero-loss rate). */
  readonly shared: Map<string, unknown> = new Map();
  #cleanup = new AsyncDisposableStack();
  #nats?: Promise<{ server: NatsServer; nc: NatsConnection }>;
  #stack?: Promise<Stack>;
  #fake = new Map<string, Promise<FakeSession>>();
  #bare?: Promise<{ child: Child; idleRssBytes: number }>;
  #streamProxy?: Promise<{ proxy: Child; app: string }>;
  #t0 = performance.now();

  /** @param options The run options. */
  constructor(options: BenchOptions) {
    this.options = options;
  }

  /** Writes a progress line to stderr. */
  log(message: string): void {
    const t = ((performance.now() - this.#t0) / 1000).toFixed(1).padStart(6);
    Deno.stderr.writeSync(new TextEncoder().encode(`[${t}s] ${message}\n`));
  }

  /** The NATS server and the runner's connection. */
  nats(): Promise<{ server: NatsServer; nc: NatsConnection }> {
    this.#nats ??= (async () => {
      this.log("starting nats-server");
      // JetStream on: the events_stream scenario stores events in a stream
      // (core NATS traffic of the other scenarios is unaffected).
      const server = this.#cleanup.use(await startNats({ jetstream: true }));
      const nc = await connect({ servers: server.url });
      this.#cleanup.defer(() => nc.close());
      return { server, nc };
    })();
    return this.#nats;
  }

  /** Real Asterisk plus a proxy (application `bench`), on the shared NATS. */
  stack(): Promise<Stack> {
    this.#stack ??= (async () => {
      this.log("starting Asterisk and the proxy");
      const { server } = await this.nats();
      const stack = await startStack({
        app: "bench",
        nats: server,
        proxyFlags: this.options.proxyFlags,
      });
      this.#cleanup.use(stack);
      this.log(`proxy ready (pid ${stack.proxy.pid}, node ${stack.node})`);
      return stack;
    })();
    return this.#stack;
  }

  /**
   * A second proxy on the stack's Asterisk (application `bench_js`) with
   * `EVENTS_STREAM` set: events go into JetStream stream `stream` with
   * acknowledged publishes (scenario events_stream).
   */
  streamProxy(stream: string): Promise<{ proxy: Child; app: string }> {
    this.#streamProxy ??= (async () => {
      const stack = await this.stack();
      const { server, nc } = await this.nats();
      const app = `${stack.app}_js`;
      this.log(`starting a proxy with --events.stream ${stream} (${app})`);
      const proxy = this.#cleanup.use(
        await startProxyChild({
          nc,
          natsUrl: server.url,
          ari: stack.ari,
          app,
          node: stack.node,
          denoFlags: this.options.proxyFlags,
          env: { EVENTS_STREAM: stream },
        }),
      );
      return { proxy, app };
    })();
    return this.#streamProxy;
  }

  /**
   * The RSS baseline and echo responder: a bare Deno process holding one
   * NATS connection, with its RSS measured right after start-up (before it
   * answers any echo request).
   */
  bare(): Promise<{ child: Child; idleRssBytes: number }> {
    this.#bare ??= (async () => {
      const { server } = await this.nats();
      const child = this.#cleanup.use(await startBareNats(server.url));
      const idleRssBytes = await settledRss(child.pid, this.options.quick);
      return { child, idleRssBytes };
    })();
    return this.#bare;
  }

  /**
   * The fake ARI (a child process) plus a fresh proxy in front of it; one
   * per `name`, so a scenario can start from a proxy that has seen no load.
   */
  fakeSession(
    name = "events",
    env?: Record<string, string>,
  ): Promise<FakeSession> {
    let session = this.#fake.get(name);
    if (session) return session;
    session = (async () => {
      const { server, nc } = await this.nats();
      const app = `benchfake_${name}`;
      const node = randomEntityId();
      this.log(
        `starting a fake ARI and a fresh proxy in front of it (${name})`,
      );
      const fake = this.#cleanup.use(await startFakeAriChild(app, node));
      const ari: AriTarget = {
        httpUrl: fake.control.httpUrl,
        wsUrl: fake.control.wsUrl,
        username: "proxy",
        password: "secret",
      };
      const proxy = this.#cleanup.use(
        await startProxyChild({
          nc,
          natsUrl: server.url,
          ari,
          app,
          node,
          denoFlags: this.options.proxyFlags,
          ...(env === undefined ? {} : { env }),
        }),
      );
      const idleRssBytes = await settledRss(proxy.pid, this.options.quick);
      return { fake: fake.control, proxy, app, node, idleRssBytes };
    })();
    this.#fake.set(name, session);
    return session;
  }

  /** Ends every component this context started. */
  close(): Promise<void> {
    return this.#cleanup.disposeAsync();
  }

  /** Same as {@linkcode BenchContext.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Waits for a process to settle, then returns the median of a few RSS
 * readings.
 *
 * @param pid The process.
 * @param quick Settle briefly (smoke runs).
 * @returns RSS in bytes.
 *
 * @example
 * ```ts ignore
 * const rss = await settledRss(proxy.pid, false);
 * ```
 */
export async function settledRss(pid: number, quick: boolean): Promise<number> {
  await sleep(quick ? 300 : 3_000);
  const readings: number[] = [];
  for (let i = 0; i < 5; i++) {
    readings.push((await readProcSample(pid)).rssBytes);
    await sleep(quick ? 20 : 200);
  }
  readings.sort((a, b) => a - b);
  return readings[2]!;
}

/**
 * Starts `bench/fake_ari.ts` as a child process and waits for its
 * `{"port","httpUrl","wsUrl"}` line.
 *
 * @param app Application whose sockets receive events.
 * @param entityId The fake's entity id.
 * @returns The process and its control.
 * @throws {Error} When it does not start within 20 s.
 *
 * @example
 * ```ts ignore
 * const { child, control } = await startFakeAriChild("bench", "02:00:00:00:00:01");
 * ```
 */
export async function startFakeAriChild(
  app: string,
  entityId: string,
): Promise<Child & { control: FakeAriControl }> {
  const listening = Promise.withResolvers<string>();
  const child = spawnDeno("fake-ari", [
    "run",
    "--frozen",
    "-P=bench",
    "bench/fake_ari.ts",
    "--app",
    app,
    "--entity-id",
    entityId,
  ], {
    onLine: (line) => {
      if (line.startsWith("{")) {
        listening.resolve((JSON.parse(line) as { httpUrl: string }).httpUrl);
      }
    },
  });
  await waitForSignal(child, listening.promise, 20_000);
  const control = fakeAriControl(await listening.promise);
  return Object.assign(child, { control });
}
