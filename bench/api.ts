/**
 * The operations the benchmarks time, behind one small interface with
 * several implementations (paths):
 *
 * - `ari`: plain `fetch` to ARI and a raw WebSocket for events (the floor);
 * - `wire`: the ari-proxy NATS protocol spoken directly (request JSON on
 *   `ari.<class>.<app>.<node>`, events on `ari.event.<app>.<node>`), which
 *   measures the proxy without any client library cost;
 * - `native` / `proxy`: the project's TypeScript client over its native and
 *   NATS transports (see `client_paths.ts`).
 *
 * @module
 */

import type { NatsConnection } from "@nats-io/transport-node";

/** How to originate a channel. */
export interface OriginateParams {
  /** The new channel's id. */
  channelId: string;
  /** Dial string, e.g. `Local/park@default`. */
  endpoint: string;
  /** Stasis application to put the channel in; absent = dialplan only. */
  app?: string;
  /** Dialplan target when no app is given. */
  extension?: string;
  /** Dialplan context when no app is given. */
  context?: string;
}

/** The operations a benchmark path offers. */
export interface BenchApi extends AsyncDisposable {
  /** Path name (`ari`, `wire`, `native`, `proxy`). */
  readonly name: string;
  /** The Stasis application whose events this path receives. */
  readonly app: string;
  /** `GET /asterisk/info`. */
  info(): Promise<void>;
  /** `GET /channels`; returns the number of channels. */
  listChannels(): Promise<number>;
  /** `GET /channels/{id}`. */
  getChannel(id: string): Promise<void>;
  /** `POST /channels/{id}/variable`. */
  setVariable(id: string, name: string, value: string): Promise<void>;
  /** `POST /channels/{id}` (originate). */
  originate(params: OriginateParams): Promise<void>;
  /** `POST /channels/{id}/answer`. */
  answer(id: string): Promise<void>;
  /** `POST /channels/{id}/play/{playbackId}`. */
  play(id: string, playbackId: string, media: string): Promise<void>;
  /** `DELETE /channels/{id}`. */
  hangup(id: string): Promise<void>;
  /**
   * Resolves when an event of `type` about entity `id` (channel id, or
   * playback id for playback events) arrives. Call it before the action.
   */
  expect(type: string, id: string, timeoutMs?: number): Promise<void>;
  /** Releases connections. */
  close(): Promise<void>;
}

/** Routes incoming events to {@linkcode BenchApi.expect} waiters. */
export class EventWaiters {
  #waiters = new Map<string, () => void>();

  /** Registers a waiter for `type` + `id`. */
  expect(type: string, id: string, timeoutMs = 10_000): Promise<void> {
    const key = `${type}\u0000${id}`;
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    const timer = setTimeout(() => {
      this.#waiters.delete(key);
      reject(new Error(`No ${type} event for "${id}" within ${timeoutMs} ms`));
    }, timeoutMs);
    this.#waiters.set(key, () => {
      clearTimeout(timer);
      resolve();
    });
    // The caller may fail before awaiting it (e.g. the originate it waits
    // for failed); its timeout must not become an unhandled rejection.
    promise.catch(() => {});
    return promise;
  }

  /** Delivers one parsed event. */
  dispatch(event: Record<string, unknown>): void {
    if (this.#waiters.size === 0) return;
    const type = event.type as string;
    const entity =
      (type.startsWith("Playback") ? event.playback : event.channel) as
        | { id?: string }
        | undefined;
    const id = entity?.id;
    if (id === undefined) return;
    const key = `${type}\u0000${id}`;
    const waiter = this.#waiters.get(key);
    if (waiter) {
      this.#waiters.delete(key);
      waiter();
    }
  }
}

/** Where ARI is. */
export interface AriTarget {
  /** Base URL `http://…/ari`. */
  httpUrl: string;
  /** Events URL without query, `ws://…/ari/events`. */
  wsUrl: string;
  /** ARI user. */
  username: string;
  /** ARI password. */
  password: string;
}

/**
 * Opens an ARI events WebSocket for `app` and calls `onText` with every
 * frame; resolves once it is open (retrying for a few seconds, since
 * Asterisk can refuse the upgrade right after start-up).
 *
 * @param target ARI location and credentials.
 * @param app The Stasis application.
 * @param onText Called with each frame's text.
 * @returns The open socket.
 * @throws {Error} When it cannot open within 10 s.
 *
 * @example
 * ```ts ignore
 * const ws = await openEventSocket(target, "bench", (text) => count++);
 * ```
 */
export async function openEventSocket(
  target: AriTarget,
  app: string,
  onText: (text: string) => void,
): Promise<WebSocket> {
  const authorization = `Basic ${
    btoa(`${target.username}:${target.password}`)
  }`;
  let lastError: unknown;
  for (let attempt = 0; attempt < 50; attempt++) {
    const ws = new WebSocket(
      `${target.wsUrl}?app=${encodeURIComponent(app)}`,
      { headers: { authorization } },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        ws.onopen = () => resolve();
        ws.onerror = (e) =>
          reject(new Error(`WebSocket error: ${(e as ErrorEvent).message}`));
        ws.onclose = () => reject(new Error("WebSocket closed while opening"));
      });
      ws.onerror = null;
      ws.onclose = null;
      ws.onmessage = (e) => onText(e.data as string);
      return ws;
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  throw new Error(`Cannot open the ARI events WebSocket for "${app}"`, {
    cause: lastError,
  });
}

/**
 * Closes a WebSocket and waits until it is closed (at most 2 s).
 *
 * @param ws The socket.
 * @returns When closed.
 *
 * @example
 * ```ts ignore
 * await closeSocket(ws);
 * ```
 */
export async function closeSocket(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return;
  const closed = new Promise<void>((resolve) => {
    ws.onclose = () => resolve();
    setTimeout(resolve, 2_000);
  });
  ws.close();
  await closed;
}

/**
 * The `ari` path: plain `fetch` against ARI, and a raw events WebSocket for
 * `app`.
 *
 * @param target ARI location and credentials.
 * @param app The Stasis application for call control events.
 * @returns The path.
 *
 * @example
 * ```ts ignore
 * await using ari = await createAriApi(target, "bench_native");
 * await ari.info();
 * ```
 */
export async function createAriApi(
  target: AriTarget,
  app: string,
): Promise<BenchApi> {
  const authorization = `Basic ${
    btoa(`${target.username}:${target.password}`)
  }`;
  const base = target.httpUrl;
  const waiters = new EventWaiters();
  const ws = await openEventSocket(
    target,
    app,
    (text) => waiters.dispatch(JSON.parse(text)),
  );
  async function call(
    method: string,
    path: string,
    query?: Record<string, string>,
  ): Promise<unknown> {
    const qs = query ? `?${new URLSearchParams(query)}` : "";
    const res = await fetch(`${base}${path}${qs}`, {
      method,
      headers: { authorization },
    });
    const text = await res.text();
    if (!res.ok) {
      throw new Error(`ARI ${method} ${path} answered ${res.status}: ${text}`);
    }
    return text ? JSON.parse(text) : undefined;
  }
  const enc = encodeURIComponent;
  const api: BenchApi = {
    name: "ari",
    app,
    async info() {
      await call("GET", "/asterisk/info");
    },
    async listChannels() {
      return ((await call("GET", "/channels")) as unknown[]).length;
    },
    async getChannel(id) {
      await call("GET", `/channels/${enc(id)}`);
    },
    async setVariable(id, name, value) {
      await call("POST", `/channels/${enc(id)}/variable`, {
        variable: name,
        value,
      });
    },
    async originate(p) {
      const query: Record<string, string> = { endpoint: p.endpoint };
      if (p.app) query.app = p.app;
      if (p.context) query.context = p.context;
      if (p.extension) query.extension = p.extension;
      await call("POST", `/channels/${enc(p.channelId)}`, query);
    },
    async answer(id) {
      await call("POST", `/channels/${enc(id)}/answer`);
    },
    async play(id, playbackId, media) {
      await call("POST", `/channels/${enc(id)}/play/${enc(playbackId)}`, {
        media,
      });
    },
    async hangup(id) {
      await call("DELETE", `/channels/${enc(id)}`);
    },
    expect: (type, id, timeoutMs) => waiters.expect(type, id, timeoutMs),
    close: () => closeSocket(ws),
    [Symbol.asyncDispose]: () => api.close(),
  };
  return api;
}

/** Where the proxy is, on NATS. */
export interface WireTarget {
  /** An open NATS connection. */
  nc: NatsConnection;
  /**
   * Subject prefix.
   *
   * @default {"ari."}
   */
  prefix?: string;
  /** The proxy's application. */
  app: string;
  /** The proxy's node (Asterisk entity id). */
  node: string;
  /**
   * Request timeout, ms.
   *
   * @default {10000}
   */
  timeoutMs?: number;
}

/** A protocol response as JSON. */
export interface WireResponse {
  /** Empty on success. */
  error: string;
  /** Entity data. */
  data?: Record<string, unknown>;
  /** One key. */
  key?: Record<string, unknown>;
  /** A list of keys. */
  keys?: Record<string, unknown>[];
}

/**
 * Sends one protocol request and returns the parsed response; a response
 * with a non-empty `error` rejects.
 *
 * @param nc NATS connection.
 * @param subject The request subject.
 * @param request The request object (`{kind, key, …body}`).
 * @param timeoutMs Timeout in ms.
 * @returns The response.
 * @throws {Error} On timeout, no responders, or a non-empty `error`.
 *
 * @example
 * ```ts ignore
 * await wireRequest(nc, "ari.data.bench.02:00:00:00:00:01", { kind: "AsteriskInfo", key: {} }, 5000);
 * ```
 */
export async function wireRequest(
  nc: NatsConnection,
  subject: string,
  request: Record<string, unknown>,
  timeoutMs: number,
): Promise<WireResponse> {
  const msg = await nc.request(subject, JSON.stringify(request), {
    timeout: timeoutMs,
  });
  const response = JSON.parse(msg.string()) as WireResponse;
  if (response.error) {
    throw new Error(`${request.kind} failed: ${response.error}`);
  }
  return response;
}

/**
 * The `wire` path: the proxy's NATS protocol spoken directly, requests sent
 * straight to `ari.<class>.<app>.<node>`.
 *
 * @param target NATS connection, prefix, app, node.
 * @returns The path.
 *
 * @example
 * ```ts ignore
 * await using wire = createWireApi({ nc, app: "bench", node: "02:00:00:00:00:01" });
 * await wire.info();
 * ```
 */
export function createWireApi(target: WireTarget): BenchApi {
  const { nc, prefix = "ari.", app, node, timeoutMs = 10_000 } = target;
  const waiters = new EventWaiters();
  const sub = nc.subscribe(`${prefix}event.${app}.${node}`, {
    callback: (_error, msg) => waiters.dispatch(JSON.parse(msg.string())),
  });
  const at = `${app}.${node}`;
  const subjects = {
    get: `${prefix}get.${at}`,
    data: `${prefix}data.${at}`,
    command: `${prefix}command.${at}`,
    create: `${prefix}create.${at}`,
  };
  const channelKey = (id: string) => ({ kind: "channel", id, node, app });
  const send = (
    cls: keyof typeof subjects,
    request: Record<string, unknown>,
  ) => wireRequest(nc, subjects[cls], request, timeoutMs);
  const api: BenchApi = {
    name: "wire",
    app,
    async info() {
      await send("data", { kind: "AsteriskInfo", key: {} });
    },
    async listChannels() {
      const res = await send("get", { kind: "ChannelList", key: {} });
      return res.keys?.length ?? 0;
    },
    async getChannel(id) {
      await send("data", { kind: "ChannelData", key: channelKey(id) });
    },
    async setVariable(id, name, value) {
      await send("command", {
        kind: "ChannelVariableSet",
        key: channelKey(id),
        channel_variable: { name, value },
      });
    },
    async originate(p) {
      const originate: Record<string, unknown> = {
        endpoint: p.endpoint,
        channelId: p.channelId,
      };
      if (p.app) originate.app = p.app;
      if (p.context) originate.context = p.context;
      if (p.extension) originate.extension = p.extension;
      await send("create", {
        kind: "ChannelOriginate",
        key: { app, node },
        channel_originate: { originate_request: originate },
      });
    },
    async answer(id) {
      await send("command", { kind: "ChannelAnswer", key: channelKey(id) });
    },
    async play(id, playbackId, media) {
      await send("create", {
        kind: "ChannelPlay",
        key: channelKey(id),
        channel_play: { playback_id: playbackId, media_uri: media },
      });
    },
    async hangup(id) {
      await send("command", {
        kind: "ChannelHangup",
        key: channelKey(id),
        channel_hangup: { reason: "normal" },
      });
    },
    expect: (type, id, t) => waiters.expect(type, id, t),
    close() {
      sub.unsubscribe();
      return Promise.resolve();
    },
    [Symbol.asyncDispose]: () => api.close(),
  };
  return api;
}
