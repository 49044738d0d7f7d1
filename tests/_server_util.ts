/**
 * Helpers of the proxy server integration suites (`tests/server_*_test.ts`):
 * a NATS + Asterisk + proxy stack, and raw NATS request/collect helpers that
 * speak to the server the way a Go client would (JSON bytes on subjects).
 *
 * @module
 */

import { configure, getConsoleSink, reset } from "@logtape/logtape";
import {
  connect,
  createInbox,
  type Msg,
  type NatsConnection,
  type Subscription,
} from "@nats-io/transport-node";
import {
  type AsteriskInstance,
  type NatsServer,
  startAsterisk,
  type StartAsteriskOptions,
  startNats,
} from "./harness/mod.ts";
import {
  type ProxyOptions,
  type ProxyServer,
  startProxy,
} from "../lib/server.ts";

const decoder = new TextDecoder();

/** Enables proxy logs on stderr when env `ARI_PROXY_TEST_LOG` is set (e.g. `debug`). */
export async function maybeConfigureLogging(): Promise<void> {
  const level = Deno.env.get("ARI_PROXY_TEST_LOG");
  if (!level) return;
  await configure({
    reset: true,
    sinks: { console: getConsoleSink() },
    loggers: [
      {
        category: ["ari-proxy"],
        lowestLevel: level as "debug",
        sinks: ["console"],
      },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: [] },
    ],
  });
}

/** Undoes {@linkcode maybeConfigureLogging}. */
export async function resetLogging(): Promise<void> {
  if (Deno.env.get("ARI_PROXY_TEST_LOG")) await reset();
}

/** Proxy options for an Asterisk instance and a NATS URL. */
export function proxyOptions(
  ast: AsteriskInstance,
  natsUrl: string,
  extra?: Partial<ProxyOptions>,
): ProxyOptions {
  return {
    ari: {
      application: ast.app,
      username: ast.username,
      password: ast.password,
      httpUrl: ast.httpUrl,
      websocketUrl: ast.wsUrl,
    },
    nats: { servers: [natsUrl] },
    ...extra,
  };
}

/** A running NATS + Asterisk + proxy, plus a raw client connection. */
export interface Stack extends AsyncDisposable {
  nats: NatsServer;
  ast: AsteriskInstance;
  proxy: ProxyServer;
  /** A plain NATS connection acting as the "Go client". */
  nc: NatsConnection;
  app: string;
  node: string;
}

/** Starts NATS, Asterisk and a proxy; release with `await using`. */
export async function startStack(options?: {
  asterisk?: StartAsteriskOptions;
  proxy?: Partial<ProxyOptions>;
  /** The proxy's `ari.transport` (default: the proxy's, `auto`). */
  ariTransport?: "auto" | "websocket" | "http";
}): Promise<Stack> {
  const nats = await startNats();
  let ast: AsteriskInstance | undefined;
  let proxy: ProxyServer | undefined;
  let nc: NatsConnection | undefined;
  try {
    ast = await startAsterisk({ allowExternal: false, ...options?.asterisk });
    const opts = proxyOptions(ast, nats.url, options?.proxy);
    if (options?.ariTransport !== undefined) {
      opts.ari = { ...opts.ari, transport: options.ariTransport };
    }
    proxy = await startProxy(opts);
    nc = await connect({ servers: nats.url, name: "test-client" });
  } catch (error) {
    await nc?.close();
    await proxy?.close();
    await ast?.close();
    await nats.close();
    throw error;
  }
  const node = proxy.node()!;
  return {
    nats,
    ast,
    proxy,
    nc,
    app: ast.app,
    node,
    async [Symbol.asyncDispose]() {
      await nc!.close();
      await proxy!.close();
      await ast!.close();
      await nats.close();
    },
  };
}

/** The replies one request got. */
export interface RawReplies {
  /** Reply bodies as text, in arrival order. */
  texts: string[];
  /** Parsed replies (`undefined` for a body that is not JSON). */
  json: Record<string, unknown>[];
  /** Milliseconds until the first reply (or the timeout). */
  ms: number;
}

/**
 * Publishes `body` on `subject` with a fresh inbox as reply subject and
 * collects every reply until `timeout` ms after the publish, or until
 * `expect` replies arrived and `settle` more ms passed without another.
 */
export async function rawRequest(
  nc: NatsConnection,
  subject: string,
  body: string | Uint8Array,
  options?: { timeout?: number; expect?: number; settle?: number },
): Promise<RawReplies> {
  const { timeout = 10_000, expect = 1, settle = 0 } = options ?? {};
  const inbox = createInbox();
  const texts: string[] = [];
  const started = performance.now();
  let first = 0;
  const done = Promise.withResolvers<void>();
  let settleTimer: ReturnType<typeof setTimeout> | undefined;
  const sub = nc.subscribe(inbox, {
    callback: (_err, msg) => {
      // A "no responders" status (empty body, status header) is not a reply.
      if (msg.data.length === 0 && msg.headers !== undefined) return;
      if (texts.length === 0) first = performance.now() - started;
      texts.push(decoder.decode(msg.data));
      if (texts.length >= expect) {
        clearTimeout(settleTimer);
        if (settle === 0) done.resolve();
        else settleTimer = setTimeout(() => done.resolve(), settle);
      }
    },
  });
  await nc.flush();
  nc.publish(subject, body, { reply: inbox });
  const timer = setTimeout(() => done.resolve(), timeout);
  await done.promise;
  clearTimeout(timer);
  clearTimeout(settleTimer);
  sub.unsubscribe();
  return {
    texts,
    json: texts.map((t) => {
      try {
        return JSON.parse(t);
      } catch {
        return undefined as unknown as Record<string, unknown>;
      }
    }),
    ms: texts.length > 0 ? first : timeout,
  };
}

/** Sends one request and returns its single parsed reply (throws on none). */
export async function request(
  nc: NatsConnection,
  subject: string,
  body: unknown,
  timeout = 10_000,
): Promise<Record<string, unknown>> {
  const replies = await rawRequest(
    nc,
    subject,
    typeof body === "string" ? body : JSON.stringify(body),
    { timeout },
  );
  if (replies.json.length === 0) {
    throw new Error(`No reply on ${subject} within ${timeout} ms`);
  }
  return replies.json[0]!;
}

/** Buffers the messages of a subscription and waits for matches. */
export class Collector implements Disposable {
  readonly messages: { subject: string; text: string; json: unknown }[] = [];
  readonly #sub: Subscription;
  #waiters: (() => void)[] = [];

  constructor(nc: NatsConnection, subject: string) {
    this.#sub = nc.subscribe(subject, {
      callback: (_err, msg: Msg) => {
        const text = decoder.decode(msg.data);
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        this.messages.push({ subject: msg.subject, text, json });
        const waiters = this.#waiters;
        this.#waiters = [];
        for (const w of waiters) w();
      },
    });
  }

  /** Waits until `predicate` holds for the buffered messages. */
  async waitFor(
    predicate: (messages: Collector["messages"]) => boolean,
    timeout = 10_000,
    what = "messages",
  ): Promise<void> {
    const deadline = performance.now() + timeout;
    while (!predicate(this.messages)) {
      const left = deadline - performance.now();
      if (left <= 0) {
        throw new Error(
          `Timed out after ${timeout} ms waiting for ${what}; got ${this.messages.length}: ${
            this.messages.slice(-10).map((m) => m.text.slice(0, 160)).join(
              "\n",
            )
          }`,
        );
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        timer = setTimeout(resolve, Math.min(left, 250));
      });
      clearTimeout(timer);
    }
  }

  [Symbol.dispose](): void {
    this.#sub.unsubscribe();
  }
}

/** Polls `condition` every 50 ms until true or `timeout` ms. */
export async function until(
  condition: () => boolean | Promise<boolean>,
  timeout: number,
  what: string,
): Promise<void> {
  const deadline = performance.now() + timeout;
  while (!(await condition())) {
    if (performance.now() > deadline) {
      throw new Error(`Timed out after ${timeout} ms waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Reads `kinds.tsv`: every Go kind name. */
export async function goKinds(): Promise<string[]> {
  const text = await Deno.readTextFile(
    new URL("./testdata/kinds.tsv", import.meta.url),
  );
  return text.trim().split("\n").slice(1).map((line) => line.split("\t")[0]!);
}
