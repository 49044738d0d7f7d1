/**
 * A minimal fake ARI for the event-throughput benchmark: the proxy, not
 * Asterisk, must be the bottleneck.
 *
 * It answers `GET /ari/asterisk/info` with a recorded Asterisk 22 answer
 * (with this instance's entity id), a few other read-only resources, and the
 * `/ari/events` WebSocket. On command it emits recorded real event JSON
 * (`ChannelUserevent` and `ChannelVarset` from Asterisk 22, see
 * `fixtures/recorded_ari.json`) to every connected WebSocket of its
 * application, each event carrying a sequence number so the receiver can
 * count loss: `userevent.bench_seq` of a `ChannelUserevent`, and the `value`
 * of a `ChannelVarset` whose `variable` is `bench_seq`.
 *
 * Emission runs either as fast as the reader takes it (the WebSocket's
 * `bufferedAmount` is kept under a high-water mark, so TCP back-pressure
 * paces it) or at a fixed rate (like Asterisk, it never waits for the
 * reader; the peak of unsent bytes shows how far the reader fell behind).
 *
 * Run it as a process (the benchmark runner does): it prints one JSON line
 * `{"port","httpUrl","wsUrl"}` once listening, and takes commands on
 * `POST /_bench/emit` (body {@linkcode EmitOptions}, answer
 * {@linkcode EmitResult}) and `GET /_bench/status`.
 *
 * @example As a process
 * ```sh
 * deno run -P=bench bench/fake_ari.ts --app bench --entity-id 02:00:00:00:00:01
 * ```
 *
 * @example In-process
 * ```ts ignore
 * import { startFakeAri } from "./fake_ari.ts";
 * await using fake = startFakeAri({ app: "bench" });
 * // connect a reader to fake.wsUrl + "?app=bench", then:
 * const result = await fake.emit({ count: 10_000, ratePerSec: 0 });
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import recorded from "./fixtures/recorded_ari.json" with { type: "json" };

/** What to emit. */
export interface EmitOptions {
  /** Number of events. */
  count: number;
  /**
   * Events per second; `0` emits as fast as the reader takes them.
   *
   * @default {0}
   */
  ratePerSec?: number;
  /**
   * Sequence number of the first event.
   *
   * @default {0}
   */
  startSeq?: number;
  /**
   * In "as fast as taken" mode, pause while more than this many bytes wait
   * to be sent.
   *
   * @default {262144}
   */
  highWaterBytes?: number;
}

/** What an emission did. */
export interface EmitResult {
  /** Events sent (to each connected socket). */
  sent: number;
  /** Connected sockets at the start. */
  sockets: number;
  /** Wall time of the emission, ms. */
  elapsedMs: number;
  /** Achieved rate, events per second. */
  ratePerSec: number;
  /** Largest `bufferedAmount` seen, bytes. */
  peakBufferedBytes: number;
  /** Time from the last send until nothing was left buffered, ms. */
  flushMs: number;
}

/** Options for {@linkcode startFakeAri}. */
export interface FakeAriOptions {
  /**
   * TCP port on 127.0.0.1.
   *
   * @default {0 (a free port)}
   */
  port?: number;
  /**
   * The application whose WebSockets receive events.
   *
   * @default {"bench"}
   */
  app?: string;
  /**
   * The entity id reported by `/asterisk/info` and in `asterisk_id`.
   *
   * @default {"02:00:00:00:be:0c"}
   */
  entityId?: string;
  /**
   * ARI user.
   *
   * @default {"proxy"}
   */
  username?: string;
  /**
   * ARI password.
   *
   * @default {"secret"}
   */
  password?: string;
}

/** A running fake ARI. */
export interface FakeAri extends AsyncDisposable {
  /** Its port. */
  readonly port: number;
  /** ARI base URL, `http://127.0.0.1:<port>/ari`. */
  readonly httpUrl: string;
  /** Events URL without query, `ws://127.0.0.1:<port>/ari/events`. */
  readonly wsUrl: string;
  /** Connected event sockets of the application. */
  connections(): number;
  /** Requests seen per method and path (without query). */
  requests(): Record<string, number>;
  /** Emits events; resolves when all were handed to the sockets. */
  emit(options: EmitOptions): Promise<EmitResult>;
  /** Stops serving and closes the sockets. */
  close(): Promise<void>;
}

const SEQ = "@@BENCH_SEQ@@";
const CHANNELS = 64;

/**
 * Builds event makers: `make(seq)` returns one event's JSON text, cycling
 * through the recorded event types and 64 channel ids.
 *
 * @param app The application to put in each event.
 * @param entityId The entity id to put in `asterisk_id`.
 * @returns A function from sequence number to event JSON.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { eventMaker } from "./fake_ari.ts";
 *
 * const make = eventMaker("bench", "02:00:00:00:00:01");
 * const event = JSON.parse(make(7));
 * assert.equal(event.application, "bench");
 * ```
 */
export function eventMaker(
  app: string,
  entityId: string,
): (seq: number) => string {
  const templates: [string, string][] = [];
  for (let c = 0; c < CHANNELS; c++) {
    for (const original of recorded.events) {
      const event = structuredClone(original) as Record<string, unknown>;
      event.application = app;
      event.asterisk_id = entityId;
      const channel = event.channel as Record<string, unknown>;
      channel.id = `bench-chan-${c}`;
      if (event.type === "ChannelUserevent") {
        event.eventname = "bench";
        event.userevent = { bench_seq: SEQ, eventname: "bench" };
      } else {
        event.variable = "bench_seq";
        event.value = SEQ;
      }
      const [head, tail] = JSON.stringify(event).split(SEQ) as [
        string,
        string,
      ];
      templates.push([head, tail]);
    }
  }
  return (seq) => {
    const [head, tail] = templates[seq % templates.length]!;
    return head + seq + tail;
  };
}

/**
 * Reads the sequence number from an event's JSON text (the digits after
 * `bench_seq`), without parsing the whole document.
 *
 * @param text Event JSON as published (by Asterisk, the fake or the proxy).
 * @returns The sequence number, or `-1` when there is none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { eventMaker, readSeq } from "./fake_ari.ts";
 *
 * const make = eventMaker("bench", "02:00:00:00:00:01");
 * assert.equal(readSeq(make(41)), 41);
 * assert.equal(readSeq(make(42)), 42);
 * ```
 */
export function readSeq(text: string): number {
  const at = text.indexOf('bench_seq"');
  if (at < 0) return -1;
  let i = at + 10;
  const end = Math.min(text.length, i + 32);
  let c = text.charCodeAt(i);
  while (i < end && (c < 48 || c > 57)) c = text.charCodeAt(++i);
  if (i >= end) return -1;
  let n = 0;
  while (c >= 48 && c <= 57) {
    n = n * 10 + (c - 48);
    c = text.charCodeAt(++i);
  }
  return n;
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });
}

function tick(ms = 1): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Starts the fake ARI on 127.0.0.1.
 *
 * @param options Port, application, entity id, credentials.
 * @returns The running fake.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { startFakeAri } from "./fake_ari.ts";
 *
 * await using fake = startFakeAri({ entityId: "02:00:00:00:00:07" });
 * const res = await fetch(`${fake.httpUrl}/asterisk/info`, {
 *   headers: { authorization: `Basic ${btoa("proxy:secret")}` },
 * });
 * assert.equal((await res.json()).system.entity_id, "02:00:00:00:00:07");
 * ```
 */
export function startFakeAri(options?: FakeAriOptions): FakeAri {
  const {
    port = 0,
    app = "bench",
    entityId = "02:00:00:00:be:0c",
    username = "proxy",
    password = "secret",
  } = options ?? {};
  const expectedAuth = `Basic ${btoa(`${username}:${password}`)}`;
  const info = structuredClone(recorded.asterisk_info);
  info.system.entity_id = entityId;
  const startup = new Date().toISOString().replace("Z", "+0000");
  info.status.startup_time = startup;
  info.status.last_reload_time = startup;
  const make = eventMaker(app, entityId);
  const sockets = new Set<WebSocket>();
  const seen: Record<string, number> = {};
  const abort = new AbortController();

  function authorized(req: Request, url: URL): boolean {
    if (req.headers.get("authorization") === expectedAuth) return true;
    return url.searchParams.get("api_key") === `${username}:${password}`;
  }

  function handle(req: Request): Response | Promise<Response> {
    const url = new URL(req.url);
    const route = `${req.method} ${url.pathname}`;
    seen[route] = (seen[route] ?? 0) + 1;
    if (url.pathname === "/_bench/emit" && req.method === "POST") {
      return req.json().then((body: EmitOptions) =>
        emit(body).then(json, (error) => json({ error: String(error) }, 500))
      );
    }
    if (url.pathname === "/_bench/status") {
      return json({ connections: sockets.size, requests: seen });
    }
    if (!authorized(req, url)) {
      return json({ message: "Authentication required" }, 401);
    }
    switch (route) {
      case "GET /ari/asterisk/info":
        return json(info);
      case "GET /ari/asterisk/ping":
        return json({
          asterisk_id: entityId,
          ping: "pong",
          timestamp: new Date().toISOString().replace("Z", "+0000"),
        });
      case "GET /ari/channels":
      case "GET /ari/bridges":
      case "GET /ari/playbacks":
        return json([]);
      case "GET /ari/applications":
        return json([appResource()]);
      case `GET /ari/applications/${app}`:
        return json(appResource());
      case "GET /ari/events":
        return upgrade(req, url);
    }
    return json({ message: "Resource not found" }, 404);
  }

  function appResource() {
    return {
      name: app,
      channel_ids: [],
      bridge_ids: [],
      endpoint_ids: [],
      device_names: [],
      events_allowed: [],
      events_disallowed: [],
    };
  }

  function upgrade(req: Request, url: URL): Response {
    if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return json({ message: "Expected a WebSocket upgrade" }, 400);
    }
    const apps = (url.searchParams.get("app") ?? "").split(",");
    const { socket, response } = Deno.upgradeWebSocket(req);
    if (apps.includes(app)) {
      socket.onopen = () => sockets.add(socket);
      socket.onclose = () => sockets.delete(socket);
      socket.onerror = () => sockets.delete(socket);
    }
    return response;
  }

  async function emit(options: EmitOptions): Promise<EmitResult> {
    const {
      count,
      ratePerSec = 0,
      startSeq = 0,
      highWaterBytes = 262_144,
    } = options;
    if (!(Number.isInteger(count) && count >= 0)) {
      throw new RangeError(`Invalid option "count": ${count}`);
    }
    if (!(ratePerSec >= 0)) {
      throw new RangeError(`Invalid option "ratePerSec": ${ratePerSec}`);
    }
    const targets = [...sockets];
    let sent = 0;
    let peak = 0;
    const t0 = performance.now();
    const buffered = () => {
      let max = 0;
      for (const s of targets) {
        if (s.bufferedAmount > max) max = s.bufferedAmount;
      }
      return max;
    };
    while (sent < count && targets.length > 0) {
      const due = ratePerSec > 0
        ? Math.min(
          count,
          Math.floor(((performance.now() - t0) * ratePerSec) / 1000) + 1,
        )
        : count;
      let burst = 0;
      while (sent < due) {
        if (ratePerSec === 0 && burst % 64 === 0) {
          const b = buffered();
          if (b > peak) peak = b;
          if (b > highWaterBytes) break;
        }
        const text = make(startSeq + sent);
        for (const s of targets) s.send(text);
        sent++;
        burst++;
      }
      const b = buffered();
      if (b > peak) peak = b;
      if (targets.some((s) => s.readyState !== WebSocket.OPEN)) break;
      await tick();
    }
    const tSent = performance.now();
    for (let i = 0; i < 60_000 && buffered() > 0; i++) await tick();
    const elapsedMs = tSent - t0;
    return {
      sent,
      sockets: targets.length,
      elapsedMs,
      ratePerSec: elapsedMs > 0 ? sent / (elapsedMs / 1000) : 0,
      peakBufferedBytes: peak,
      flushMs: performance.now() - tSent,
    };
  }

  const server = Deno.serve({
    hostname: "127.0.0.1",
    port,
    signal: abort.signal,
    onListen: () => {},
  }, handle);
  const actualPort = server.addr.port;
  let closing: Promise<void> | undefined;
  const fake: FakeAri = {
    port: actualPort,
    httpUrl: `http://127.0.0.1:${actualPort}/ari`,
    wsUrl: `ws://127.0.0.1:${actualPort}/ari/events`,
    connections: () => sockets.size,
    requests: () => ({ ...seen }),
    emit,
    close() {
      closing ??= (async () => {
        for (const s of sockets) s.close();
        sockets.clear();
        abort.abort();
        await server.finished;
      })();
      return closing;
    },
    [Symbol.asyncDispose]() {
      return fake.close();
    },
  };
  return fake;
}

/** A fake ARI running as a child process, driven over HTTP. */
export interface FakeAriControl {
  /** ARI base URL. */
  readonly httpUrl: string;
  /** Events WebSocket URL without query. */
  readonly wsUrl: string;
  /** Emits events in the fake's process. */
  emit(options: EmitOptions): Promise<EmitResult>;
  /** Connected sockets and requests seen. */
  status(): Promise<{ connections: number; requests: Record<string, number> }>;
}

/**
 * Drives a fake ARI process through its control endpoints.
 *
 * @param httpUrl The fake's ARI base URL (`http://127.0.0.1:<port>/ari`).
 * @returns A control handle.
 *
 * @example
 * ```ts ignore
 * import { fakeAriControl } from "./fake_ari.ts";
 * const fake = fakeAriControl("http://127.0.0.1:8099/ari");
 * console.log(await fake.status());
 * ```
 */
export function fakeAriControl(httpUrl: string): FakeAriControl {
  const base = httpUrl.replace(/\/ari$/, "");
  return {
    httpUrl,
    wsUrl: `${base.replace(/^http/, "ws")}/ari/events`,
    async emit(options) {
      const res = await fetch(`${base}/_bench/emit`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(options),
      });
      const body = await res.json();
      if (!res.ok) throw new Error(`Fake ARI emit failed: ${body.error}`);
      return body as EmitResult;
    },
    async status() {
      const res = await fetch(`${base}/_bench/status`);
      return await res.json();
    },
  };
}

if (import.meta.main) {
  const args = parseArgs({
    args: Deno.args,
    options: {
      port: { type: "string", default: "0" },
      app: { type: "string", default: "bench" },
      "entity-id": { type: "string", default: "02:00:00:00:be:0c" },
      username: { type: "string", default: "proxy" },
      password: { type: "string", default: "secret" },
    },
  });
  const fake = startFakeAri({
    port: Number(args.values.port),
    app: args.values.app,
    entityId: args.values["entity-id"],
    username: args.values.username,
    password: args.values.password,
  });
  await Deno.stdout.write(
    new TextEncoder().encode(
      JSON.stringify({
        port: fake.port,
        httpUrl: fake.httpUrl,
        wsUrl: fake.wsUrl,
      }) + "\n",
    ),
  );
  const stop = Promise.withResolvers<void>();
  Deno.addSignalListener("SIGTERM", () => stop.resolve());
  Deno.addSignalListener("SIGINT", () => stop.resolve());
  await stop.promise;
  await fake.close();
  Deno.exit(0);
}
