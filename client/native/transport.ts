/**
 * The native transport: one Asterisk, reached directly over ARI (REST with
 * `fetch`, events over its WebSocket), behind the {@linkcode AriTransport}
 * interface. Requests are answered in-process by the kind executor, the same
 * one the proxy server uses.
 *
 * @module
 */

import {
  ClosedConnectionError,
  ConnectionError,
  ProtocolError,
  TimeoutError,
} from "../errors.ts";
import type {
  Key,
  ProxiedEvent,
  Request,
  Response,
} from "../protocol/types.ts";
import type {
  AriTransport,
  EventScope,
  EventSink,
  RequestOptions,
  TransportStatus,
} from "../transport.ts";
import {
  type AriEventObject,
  type AriEventStream,
  type AriEventStreamOptions,
  openAriEventStream,
  type StreamStatus,
  type WebSocketFactory,
} from "./events_socket.ts";
import { createKindExecutor, type KindExecutor } from "./executor.ts";
import { runtimeWebSocketFactory } from "./web_socket.ts";
import { assertSupportedRuntime, type DenoHttpClient } from "../_runtime.ts";
import {
  type AriRestClient,
  createAriRestClient,
  createCaHttpClient,
  type FetchLike,
} from "./rest.ts";
import {
  ARI_REQUEST_TRANSPORTS,
  type AriRequestTransport,
  createRestOverWebSocket,
  type RestOverWebSocket,
} from "./rest_over_ws.ts";

/** Default request timeout of the native transport, in milliseconds. */
export const DEFAULT_NATIVE_TIMEOUT = 10_000;

/** Statuses buffered per `status()` iterator; older ones are dropped. */
const STATUS_BUFFER = 64;

/** Reconnect tuning of the events WebSocket (see `openAriEventStream`). */
export type NativeEventStreamOptions = Pick<
  AriEventStreamOptions,
  | "initialDelay"
  | "maxDelay"
  | "backoffFactor"
  | "stableAfter"
  | "connectTimeout"
  | "closeTimeout"
>;

/** Options of {@linkcode createNativeTransport}. */
export interface NativeTransportOptions {
  /** ARI base URL, e.g. `"http://127.0.0.1:8088/ari"` (`https:` works). */
  url: string;
  /**
   * Events WebSocket URL.
   *
   * @default {`url` with `http:`→`ws:` / `https:`→`wss:` and `/events` appended}
   */
  wsUrl?: string;
  /** ARI user name. */
  username: string;
  /** ARI password. */
  password: string;
  /** The Stasis application this transport serves (stamped on keys and events). */
  application: string;
  /** Further applications registered on the same WebSocket. */
  applications?: readonly string[];
  /**
   * Subscribe the application(s) to all Asterisk events.
   *
   * @default {false}
   */
  subscribeAll?: boolean;
  /**
   * Default timeout of a request (all its ARI calls), and of connecting, in
   * milliseconds.
   *
   * @default {10000}
   */
  timeout?: number;
  /**
   * The `fetch` used for REST calls.
   *
   * @default {globalThis.fetch}
   */
  fetch?: FetchLike;
  /**
   * Creates the events WebSocket. A custom factory is used as is:
   * {@linkcode NativeTransportOptions.caCerts} do not apply to it.
   *
   * @default {the runtime's own `WebSocket` (Deno, Node 22+, Bun)}
   */
  webSocket?: WebSocketFactory;
  /**
   * Extra trusted root certificates for `https:`/`wss:` (PEM texts, not file
   * paths), e.g. the private CA that signed Asterisk's certificate. Both the
   * REST calls and the events WebSocket trust them, in addition to the
   * system roots; the transport releases them on `close()`. To trust a CA
   * process-wide instead, run Deno with `--cert ca.pem` or set
   * `DENO_CERT=ca.pem`.
   *
   * @default {[]}
   *
   * @example Asterisk with a certificate from a private CA
   * ```ts
   * import { createNativeTransport } from "./transport.ts";
   *
   * // `caPem` is the CA file's text, e.g. `await Deno.readTextFile(path)`.
   * export function connectPbx(caPem: string) {
   *   return createNativeTransport({
   *     url: "https://pbx.example.internal:8089/ari",
   *     username: "proxy",
   *     password: "secret",
   *     application: "demo",
   *     caCerts: [caPem],
   *   });
   * }
   * ```
   */
  caCerts?: readonly string[];
  /** Reconnect tuning of the events WebSocket. */
  events?: NativeEventStreamOptions;
  /**
   * The path of ARI requests. `"auto"` sends them as `RESTRequest` messages
   * on the events WebSocket when Asterisk answers them there (Asterisk 22
   * does; this is found out by asking, on every connection) and over HTTP
   * otherwise; `"websocket"` uses the WebSocket only (connecting fails when
   * Asterisk does not answer there); `"http"` uses HTTP only. Binary
   * downloads (stored recordings' files) and requests too large for one
   * WebSocket frame always use HTTP.
   *
   * @default {"auto"}
   */
  ariTransport?: AriRequestTransport;
  /** Id generator for the executor (see `createKindExecutor`). */
  idGenerator?: () => string;
}

function validateName(value: unknown, name: string): void {
  if (typeof value !== "string" || value === "" || value.includes(",")) {
    throw new TypeError(
      `Cannot create native transport: ${name} must be a non-empty string without commas, got ${
        JSON.stringify(value)
      }`,
    );
  }
}

/** Reads `system.entity_id` from `GET /asterisk/info`. */
async function learnNode(
  rest: AriRestClient,
  timeout: number,
  signal?: AbortSignal,
): Promise<string> {
  const options: {
    query: { only: string };
    timeout: number;
    signal?: AbortSignal;
  } = {
    query: { only: "system" },
    timeout,
  };
  if (signal !== undefined) options.signal = signal;
  const info = await rest.request("GET", "/asterisk/info", options);
  const system = typeof info === "object" && info !== null
    ? (info as Record<string, unknown>).system
    : undefined;
  const entityId = typeof system === "object" && system !== null
    ? (system as Record<string, unknown>).entity_id
    : undefined;
  if (typeof entityId !== "string" || entityId === "") {
    throw new ProtocolError(
      "Cannot learn the Asterisk node id: GET /asterisk/info has no system.entity_id",
      { code: "invalidField", field: "system.entity_id" },
    );
  }
  return entityId;
}

/** A bounded single-consumer queue of statuses. */
class StatusQueue implements AsyncIterableIterator<TransportStatus> {
  readonly #remove: (queue: StatusQueue) => void;
  #buffer: TransportStatus[] = [];
  #waiter: ((result: IteratorResult<TransportStatus>) => void) | undefined;
  #ended = false;

  constructor(remove: (queue: StatusQueue) => void) {
    this.#remove = remove;
  }

  push(status: TransportStatus): void {
    if (this.#ended) return;
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      waiter({ done: false, value: status });
      return;
    }
    this.#buffer.push(status);
    if (this.#buffer.length > STATUS_BUFFER) this.#buffer.shift();
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      waiter({ done: true, value: undefined });
    }
  }

  next(): Promise<IteratorResult<TransportStatus>> {
    const value = this.#buffer.shift();
    if (value !== undefined) return Promise.resolve({ done: false, value });
    if (this.#ended) return Promise.resolve({ done: true, value: undefined });
    if (this.#waiter !== undefined) {
      return Promise.reject(
        new TypeError("Cannot call next() while a previous next() is pending"),
      );
    }
    return new Promise((resolve) => {
      this.#waiter = resolve;
    });
  }

  return(): Promise<IteratorResult<TransportStatus>> {
    this.#buffer = [];
    this.end();
    this.#remove(this);
    return Promise.resolve({ done: true, value: undefined });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<TransportStatus> {
    return this;
  }
}

interface Subscriber {
  readonly scope: EventScope;
  readonly sink: EventSink;
}

class NativeTransport implements AriTransport {
  readonly kind = "native" as const;
  readonly application: string;
  readonly #rest: AriRestClient;
  readonly #executor: KindExecutor;
  readonly #timeout: number;
  readonly #abort = new AbortController();
  readonly #subscribers = new Set<Subscriber>();
  readonly #statusQueues = new Set<StatusQueue>();
  readonly #closed = Promise.withResolvers<Error | undefined>();
  #stream: AriEventStream | undefined;
  readonly #requests: RestOverWebSocket | undefined;
  /** Trusts `caCerts` for the events WebSocket; closed after the stream. */
  #wsHttpClient: DenoHttpClient | undefined;
  #target = "";
  #node: string;
  #everConnected = false;
  #isClosed = false;
  #closing: Promise<void> | undefined;

  constructor(
    rest: AriRestClient,
    node: string,
    application: string,
    timeout: number,
    idGenerator: (() => string) | undefined,
    requests: RestOverWebSocket | undefined,
  ) {
    this.#rest = rest;
    this.#requests = requests;
    this.#node = node;
    this.application = application;
    this.#timeout = timeout;
    const executorOptions: Parameters<typeof createKindExecutor>[0] = {
      rest,
      application,
      node: () => this.#node,
    };
    if (idGenerator !== undefined) executorOptions.idGenerator = idGenerator;
    this.#executor = createKindExecutor(executorOptions);
  }

  /** Opens the events stream and waits (up to the timeout) for it to connect. */
  async start(options: NativeTransportOptions): Promise<void> {
    const apps = [this.application, ...(options.applications ?? [])]
      .filter((app, i, all) => all.indexOf(app) === i);
    const streamOptions: AriEventStreamOptions = {
      ...options.events,
      url: options.wsUrl ?? options.url,
      username: options.username,
      password: options.password,
      app: apps,
      subscribeAll: options.subscribeAll ?? false,
      onEvent: this.#onEvent,
      onStatus: this.#onStatus,
    };
    if (this.#requests !== undefined) streamOptions.requests = this.#requests;
    if (options.webSocket !== undefined) {
      streamOptions.webSocket = options.webSocket;
    } else {
      const client = createCaHttpClient(options.caCerts, "caCerts");
      if (client !== undefined) this.#wsHttpClient = client;
      streamOptions.webSocket = runtimeWebSocketFactory(
        client !== undefined ? { httpClient: client } : {},
      );
    }
    const stream = openAriEventStream(streamOptions);
    this.#stream = stream;
    this.#target = stream.url.slice(0, stream.url.indexOf("?"));
    stream.closed().then((reason) => {
      if (reason !== undefined) void this.#shutdown(reason);
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new TimeoutError({
              timeout: this.#timeout,
              operation: `connect the ARI events WebSocket ${this.#target}`,
            }),
          ),
        this.#timeout,
      );
    });
    try {
      await Promise.race([stream.ready(), timedOut]);
      // "websocket" insists on a socket that answers requests; "auto" sends
      // over HTTP until the probe is answered (about a round trip later).
      const requests = this.#requests;
      const support = requests?.mode === "websocket"
        ? await Promise.race([requests.probed(), timedOut])
        : undefined;
      if (requests?.mode === "websocket" && support !== "supported") {
        throw new ConnectionError(
          `Cannot send ARI requests over the WebSocket ${this.#target}: Asterisk did not answer a RESTRequest message (it needs Asterisk 22 or later); use ariTransport "http" or "auto"`,
          { target: this.#target },
        );
      }
    } finally {
      clearTimeout(timer);
    }
  }

  // ---- events ------------------------------------------------------------

  #onEvent = (raw: AriEventObject): void => {
    const event = raw as ProxiedEvent;
    if (typeof event.application !== "string" || event.application === "") {
      event.application = this.application;
    }
    if (typeof event.asterisk_id !== "string" || event.asterisk_id === "") {
      event.asterisk_id = this.#node;
    }
    for (const subscriber of this.#subscribers) {
      const { scope } = subscriber;
      if (scope.app !== undefined && scope.app !== event.application) continue;
      if (scope.node !== undefined && scope.node !== event.asterisk_id) {
        continue;
      }
      try {
        subscriber.sink(event);
      } catch (error) {
        this.#emit({
          type: "error",
          error: error instanceof Error ? error : new Error(String(error)),
        });
      }
    }
  };

  #onStatus = (status: StreamStatus): void => {
    switch (status.type) {
      case "connected":
        if (this.#everConnected) {
          // A reconnect: Asterisk may have restarted with another entity id.
          void this.#relearnThenAnnounce();
        } else {
          this.#everConnected = true;
          this.#emit({ type: "connected", target: this.#target });
        }
        return;
      case "disconnected":
        this.#emit({
          type: "disconnected",
          target: this.#target,
          error: status.error,
        });
        return;
      case "reconnecting":
        this.#emit({
          type: "reconnecting",
          target: this.#target,
          attempt: status.attempt,
          delay: status.delay,
        });
        return;
      case "error":
        this.#emit({ type: "error", error: status.error });
        return;
      default:
        return;
    }
  };

  async #relearnThenAnnounce(): Promise<void> {
    try {
      this.#node = await learnNode(
        this.#rest,
        this.#timeout,
        this.#abort.signal,
      );
    } catch (error) {
      if (this.#isClosed) return;
      this.#emit({
        type: "error",
        error: error instanceof Error ? error : new Error(String(error)),
      });
    }
    if (this.#isClosed) return;
    this.#emit({ type: "connected", target: this.#target });
  }

  #emit(status: TransportStatus): void {
    for (const queue of this.#statusQueues) queue.push(status);
  }

  // ---- AriTransport ------------------------------------------------------

  async request(
    request: Request,
    options?: RequestOptions,
  ): Promise<Response> {
    if (this.#isClosed) {
      throw new ClosedConnectionError("native ARI transport");
    }
    const node = request.key?.node;
    if (node && node !== this.#node) {
      // A key addressed to another Asterisk must not act on this one.
      throw new ConnectionError(
        `Cannot send request "${request.kind}": the key names node "${node}", this transport serves node "${this.#node}"`,
        { target: node },
      );
    }
    const callerSignal = options?.signal;
    callerSignal?.throwIfAborted();
    const signal = callerSignal === undefined
      ? this.#abort.signal
      : AbortSignal.any([callerSignal, this.#abort.signal]);
    const result = await this.#executor.executeDetailed(request, {
      timeout: options?.timeout ?? this.#timeout,
      signal,
    });
    if (result.response.error !== "") {
      if (this.#isClosed) {
        throw new ClosedConnectionError("native ARI transport", {
          cause: result.cause,
        });
      }
      if (callerSignal?.aborted) throw callerSignal.reason;
      const cause = result.cause;
      if (
        cause instanceof TimeoutError || cause instanceof ConnectionError ||
        cause instanceof ClosedConnectionError
      ) {
        throw cause;
      }
    }
    return result.response;
  }

  subscribe(scope: EventScope, sink: EventSink): () => void {
    if (typeof sink !== "function") {
      throw new TypeError("Cannot subscribe: sink must be a function");
    }
    if (scope?.dialog !== undefined && scope.dialog !== "") {
      throw new TypeError(
        `Cannot subscribe to dialog ${
          JSON.stringify(scope.dialog)
        }: dialogs need the NATS transport`,
      );
    }
    if (this.#isClosed) return () => {};
    const subscriber: Subscriber = { scope: { ...scope }, sink };
    this.#subscribers.add(subscriber);
    return () => {
      this.#subscribers.delete(subscriber);
    };
  }

  status(): AsyncIterable<TransportStatus> {
    const queue = new StatusQueue((q) => this.#statusQueues.delete(q));
    if (this.#isClosed) queue.end();
    else this.#statusQueues.add(queue);
    return queue;
  }

  isConnected(): boolean {
    return !this.#isClosed && (this.#stream?.isConnected() ?? false);
  }

  nodes(): Key[] {
    return [{ node: this.#node, app: this.application }];
  }

  close(): Promise<void> {
    return this.#shutdown(undefined);
  }

  #shutdown(reason: Error | undefined): Promise<void> {
    this.#closing ??= (async () => {
      this.#isClosed = true;
      this.#abort.abort(new ClosedConnectionError("native ARI transport"));
      this.#subscribers.clear();
      await Promise.allSettled([
        this.#rest.close(),
        this.#stream?.close() ?? Promise.resolve(),
      ]);
      this.#requests?.close();
      this.#wsHttpClient?.close();
      this.#wsHttpClient = undefined;
      const closed: TransportStatus = reason === undefined
        ? { type: "closed" }
        : { type: "closed", error: reason };
      for (const queue of this.#statusQueues) {
        queue.push(closed);
        queue.end();
      }
      this.#statusQueues.clear();
      this.#closed.resolve(reason);
    })();
    return this.#closing;
  }

  closed(): Promise<Error | undefined> {
    return this.#closed.promise;
  }

  isClosed(): boolean {
    return this.#isClosed;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Connects to one Asterisk directly: learns its node id from
 * `GET /asterisk/info` (`system.entity_id`), opens the events WebSocket for
 * the application(s) and waits until it is connected.
 *
 * Requests are executed in-process by the kind executor; failures Asterisk
 * reports come back as responses with an `error`, while timeouts, lost
 * connections and closing reject with `TimeoutError`, `ConnectionError` and
 * `ClosedConnectionError`. Every event carries `application` and
 * `asterisk_id`. The WebSocket reconnects forever; after a reconnect the node
 * id is learned again (Asterisk may have restarted with another entity id).
 *
 * @param options ARI URL, credentials, application(s), timeout and
 * collaborators.
 * @returns The connected transport; release it with `close()` or
 * `await using`.
 * @throws {TypeError} For missing or malformed options.
 * @throws {RangeError} For a timeout that is not a positive number, or on Node before 22.
 * @throws {AriHttpError} When `GET /asterisk/info` fails (e.g. 401).
 * @throws {ConnectionError} When ARI cannot be reached.
 * @throws {TimeoutError} When ARI or its WebSocket does not answer in time.
 *
 * @example Originate into the application
 * ```ts ignore live
 * import { createNativeTransport } from "./transport.ts";
 *
 * await using transport = await createNativeTransport({
 *   url: "http://127.0.0.1:8088/ari",
 *   username: "proxy",
 *   password: "secret",
 *   application: "demo",
 * });
 * const stop = transport.subscribe({}, (event) => console.log(event.type));
 * const response = await transport.request({
 *   kind: "ChannelOriginate",
 *   key: null,
 *   channel_originate: {
 *     originate_request: { endpoint: "Local/100@default", app: "demo" },
 *   },
 * });
 * console.log(response.key?.id, transport.nodes());
 * stop();
 * ```
 */
export async function createNativeTransport(
  options: NativeTransportOptions,
): Promise<AriTransport> {
  assertSupportedRuntime();
  if (typeof options !== "object" || options === null) {
    throw new TypeError("Cannot create native transport: options are required");
  }
  const {
    url,
    username,
    password,
    application,
    applications = [],
    timeout = DEFAULT_NATIVE_TIMEOUT,
    fetch: fetchImpl,
    caCerts,
    ariTransport = "auto",
  } = options;
  if (typeof url !== "string" || url === "") {
    throw new TypeError("Cannot create native transport: url is required");
  }
  if (typeof username !== "string" || typeof password !== "string") {
    throw new TypeError(
      "Cannot create native transport: username and password must be strings",
    );
  }
  validateName(application, "application");
  if (!Array.isArray(applications)) {
    throw new TypeError(
      "Cannot create native transport: applications must be an array of names",
    );
  }
  for (const app of applications) validateName(app, "applications[]");
  if (typeof timeout !== "number" || !(timeout > 0)) {
    throw new RangeError(
      `Cannot create native transport: timeout must be a positive number of milliseconds, got ${timeout}`,
    );
  }
  if (!ARI_REQUEST_TRANSPORTS.includes(ariTransport)) {
    throw new TypeError(
      `Cannot create native transport: ariTransport must be one of ${
        ARI_REQUEST_TRANSPORTS.join(", ")
      }, got ${JSON.stringify(ariTransport)}`,
    );
  }
  const requests = ariTransport === "http"
    ? undefined
    : createRestOverWebSocket({ mode: ariTransport });
  const restOptions: Parameters<typeof createAriRestClient>[0] = {
    url,
    username,
    password,
    timeout,
  };
  if (fetchImpl !== undefined) restOptions.fetch = fetchImpl;
  if (caCerts !== undefined) restOptions.caCerts = caCerts;
  // The node id comes over HTTP (no WebSocket is open yet, and "auto" uses
  // HTTP until one answered); that first call also reports bad credentials
  // as a plain 401. Only "websocket" mode needs a separate HTTP-only client.
  const forced = requests?.mode === "websocket";
  const rest = createAriRestClient(
    requests === undefined || forced
      ? restOptions
      : { ...restOptions, webSocketRequests: requests },
  );
  let node: string;
  try {
    node = await learnNode(rest, timeout);
  } catch (error) {
    await rest.close();
    throw error;
  }
  const restAfter = forced
    ? createAriRestClient({ ...restOptions, webSocketRequests: requests })
    : rest;
  if (forced) await rest.close();
  const transport = new NativeTransport(
    restAfter,
    node,
    application,
    timeout,
    options.idGenerator,
    requests,
  );
  try {
    await transport.start(options);
  } catch (error) {
    await transport.close();
    throw error;
  }
  return transport;
}
