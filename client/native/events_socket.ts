/**
 * The ARI events WebSocket (`/ari/events`), with automatic reconnection.
 *
 * {@linkcode openAriEventStream} connects Deno's built-in `WebSocket`,
 * delivers each event as a parsed JSON object to a callback (the hot path:
 * nothing is allocated per event beyond `JSON.parse`) — or, in raw mode
 * (`onFrame`), each frame's text unparsed — and reconnects forever
 * with capped exponential backoff and full jitter. Connection changes are
 * reported through `status()` (an async iterable) and the `onStatus`
 * callback.
 *
 * @module
 */

import {
  ClosedConnectionError,
  ConnectionError,
  ProtocolError,
} from "../errors.ts";
import {
  computeBackoff,
  DEFAULT_BACKOFF_FACTOR,
  DEFAULT_BACKOFF_INITIAL,
  DEFAULT_BACKOFF_MAX,
} from "./backoff.ts";
import type { RequestLink, RestOverWebSocket } from "./rest_over_ws.ts";

/** Default time a connection must stay up to reset the backoff, in ms. */
export const DEFAULT_STABLE_AFTER = 5_000;
/** Default time allowed for the WebSocket handshake, in milliseconds. */
export const DEFAULT_CONNECT_TIMEOUT = 10_000;
/** Default time `close()` waits for the closing handshake, in milliseconds. */
export const DEFAULT_CLOSE_TIMEOUT = 2_000;
/** Default number of statuses buffered per `status()` iterator. */
export const DEFAULT_STATUS_BUFFER = 64;

/** A connection attempt starts (`attempt` 0 is the first connection). */
export interface ConnectingStatus {
  /** Discriminant. */
  type: "connecting";
  /** Consecutive retry number: 0 for the first connection. */
  attempt: number;
}

/** The WebSocket opened; events flow. */
export interface ConnectedStatus {
  /** Discriminant. */
  type: "connected";
  /** The retry number that succeeded (0 for the first connection). */
  attempt: number;
}

/** An open connection was lost (not reported for a failed attempt). */
export interface DisconnectedStatus {
  /** Discriminant. */
  type: "disconnected";
  /** Why, as a {@linkcode ConnectionError}. */
  error: Error;
  /** WebSocket close code (1006 when the connection dropped). */
  code: number;
  /** WebSocket close reason. */
  reason: string;
}

/** A reconnect is scheduled after `delay` milliseconds. */
export interface ReconnectingStatus {
  /** Discriminant. */
  type: "reconnecting";
  /** Consecutive retry number, from 1. */
  attempt: number;
  /** Milliseconds until the attempt. */
  delay: number;
  /** Why the previous connection or attempt ended. */
  error: Error;
}

/**
 * A non-fatal problem: a malformed frame (a {@linkcode ProtocolError}) or an
 * exception thrown by `onEvent`. The stream carries on.
 */
export interface ErrorStatus {
  /** Discriminant. */
  type: "error";
  /** The problem. */
  error: Error;
}

/** The stream is closed; this is the last status. */
export interface ClosedStatus {
  /** Discriminant. */
  type: "closed";
  /** `undefined` after `close()`, else why the stream gave up. */
  error: Error | undefined;
}

/** Connection statuses of an {@linkcode AriEventStream}. */
export type StreamStatus =
  | ConnectingStatus
  | ConnectedStatus
  | DisconnectedStatus
  | ReconnectingStatus
  | ErrorStatus
  | ClosedStatus;

/** An ARI event as parsed from the wire (`type` names the event). */
export type AriEventObject = Record<string, unknown>;

/** The part of the WebSocket API the stream uses; Deno's `WebSocket` fits. */
export interface WebSocketLike {
  /** `WebSocket.CONNECTING` (0) … `WebSocket.CLOSED` (3). */
  readonly readyState: number;
  /** Set to `"arraybuffer"` by the stream. */
  binaryType: BinaryType;
  /** Open handler. */
  onopen: ((ev: Event) => void) | null;
  /** Message handler. */
  onmessage: ((ev: MessageEvent) => void) | null;
  /** Error handler (Deno passes an `ErrorEvent` with a `message`). */
  onerror: ((ev: Event) => void) | null;
  /** Close handler. */
  onclose: ((ev: CloseEvent) => void) | null;
  /** Starts the closing handshake. */
  close(code?: number, reason?: string): void;
  /**
   * Sends a text frame; needed only with
   * {@linkcode AriEventStreamOptions.requests}.
   */
  send?(data: string): void;
}

/** Creates a WebSocket; inject a fake in tests. */
export type WebSocketFactory = (
  url: string,
  headers: Readonly<Record<string, string>>,
) => WebSocketLike;

/** Time source and timers of the stream; inject a fake clock in tests. */
export interface StreamClock {
  /** Milliseconds since an arbitrary origin. */
  now(): number;
  /** Schedules `callback` after `delay` ms and returns a handle. */
  setTimeout(callback: () => void, delay: number): unknown;
  /** Cancels a handle returned by `setTimeout`. */
  clearTimeout(handle: unknown): void;
}

/** Options of {@linkcode openAriEventStream}. */
export interface AriEventStreamOptions {
  /**
   * Events endpoint, e.g. `"ws://127.0.0.1:8088/ari/events"`; `wss:` works,
   * `http:`/`https:` are mapped to `ws:`/`wss:`, and `/events` is appended
   * when the path does not end with it (so the ARI base URL works too).
   */
  url: string;
  /** ARI user name; without it no authorization header is sent. */
  username?: string;
  /**
   * ARI password.
   *
   * @default {""}
   */
  password?: string;
  /** Stasis application name(s) to register (non-empty, without commas). */
  app: string | readonly string[];
  /**
   * Subscribe the application(s) to all Asterisk events.
   *
   * @default {false}
   */
  subscribeAll?: boolean;
  /**
   * Receives each event, in order, with the text of the frame it came in (so
   * a relay can forward Asterisk's exact bytes without re-encoding). It must
   * not block; an exception it throws is reported as an `"error"` status and
   * the stream carries on. Required unless `onFrame` is given.
   */
  onEvent?: ((event: AriEventObject, frame: string) => void) | undefined;
  /**
   * Raw mode, instead of `onEvent`: receives the text of each frame, in
   * order, without `JSON.parse` (a relay that forwards most frames as they
   * are parses only the few it must look into). Frames are not validated:
   * malformed ones are the callback's to detect. It must not block; an
   * exception it throws is reported as an `"error"` status and the stream
   * carries on. Excludes `onEvent`.
   */
  onFrame?: ((frame: string) => void) | undefined;
  /** Receives every status synchronously (the hot-path alternative to `status()`). */
  onStatus?: (status: StreamStatus) => void;
  /**
   * Delay ceiling of the first retry, in milliseconds.
   *
   * @default {100}
   */
  initialDelay?: number;
  /**
   * Upper bound of a retry delay, in milliseconds.
   *
   * @default {10000}
   */
  maxDelay?: number;
  /**
   * Growth factor of the delay ceiling per retry.
   *
   * @default {2}
   */
  backoffFactor?: number;
  /**
   * A connection that stayed up this long resets the backoff, in
   * milliseconds.
   *
   * @default {5000}
   */
  stableAfter?: number;
  /**
   * Give up (close with a {@linkcode ConnectionError}) after this many
   * consecutive failed retries.
   *
   * @default {Infinity}
   */
  maxReconnectAttempts?: number;
  /**
   * Time allowed for each WebSocket handshake, in milliseconds.
   *
   * @default {10000}
   */
  connectTimeout?: number;
  /**
   * Time `close()` waits for the closing handshake, in milliseconds.
   *
   * @default {2000}
   */
  closeTimeout?: number;
  /**
   * Statuses buffered per `status()` iterator; the oldest are dropped beyond.
   *
   * @default {64}
   */
  statusBufferSize?: number;
  /** Closes the stream when aborted. */
  signal?: AbortSignal;
  /**
   * Carry ARI requests on this stream's sockets (Asterisk 22's
   * `RESTRequest`/`RESTResponse` messages): each socket that opens is
   * attached to the table (which probes it), `RESTResponse` frames go to the
   * table instead of `onEvent`/`onFrame`, and a socket that ends fails its
   * requests in flight.
   */
  requests?: RestOverWebSocket;
  /**
   * Creates the WebSocket.
   *
   * @default {(url, headers) => new WebSocket(url, { headers })}
   */
  webSocket?: WebSocketFactory;
  /**
   * Clock and timers.
   *
   * @default {Date.now, setTimeout, clearTimeout}
   */
  clock?: StreamClock;
  /**
   * Uniform random source in `[0, 1)` for the jitter.
   *
   * @default {Math.random}
   */
  random?: () => number;
}

/** A reconnecting ARI event stream. Open it with {@linkcode openAriEventStream}. */
export interface AriEventStream extends AsyncDisposable {
  /** The events URL (with the query, without credentials). */
  readonly url: string;
  /** Whether the WebSocket is open right now. */
  isConnected(): boolean;
  /** Whether the stream is closed. */
  isClosed(): boolean;
  /**
   * Resolves when the first connection opens.
   *
   * @throws {ClosedConnectionError} The stream closed first (or the
   * {@linkcode ConnectionError} with which it gave up).
   */
  ready(): Promise<void>;
  /**
   * Statuses from now on, buffered (bounded) per iterator; iteration ends
   * after the `"closed"` status. `break` unsubscribes.
   */
  status(): AsyncIterableIterator<StreamStatus>;
  /** Closes the stream and its WebSocket. Idempotent. */
  close(): Promise<void>;
  /** Resolves when closed: `undefined` after `close()`, else the reason. Never rejects. */
  closed(): Promise<Error | undefined>;
}

const WS_CLOSED = 3;
const decoder = new TextDecoder();
const DONE: IteratorReturnResult<undefined> = Object.freeze({
  done: true,
  value: undefined,
});

const realClock: StreamClock = {
  now: () => Date.now(),
  setTimeout: (callback, delay) => setTimeout(callback, delay),
  clearTimeout: (handle) => clearTimeout(handle as number),
};

function defaultWebSocket(
  url: string,
  headers: Readonly<Record<string, string>>,
): WebSocketLike {
  return new WebSocket(url, { headers });
}

function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

function basicAuth(username: string, password: string): string {
  const bytes = new TextEncoder().encode(`${username}:${password}`);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return "Basic " + btoa(binary);
}

function nonNegative(value: number, name: string, allowInfinity = false) {
  if (
    typeof value !== "number" || !(value >= 0) ||
    (!allowInfinity && !Number.isFinite(value))
  ) {
    throw new RangeError(
      `Cannot open ARI event stream: ${name} must be a ${
        allowInfinity ? "" : "finite "
      }number >= 0, got ${value}`,
    );
  }
}

/**
 * Builds the events URL: `<url>/events?app=a,b&subscribeAll=true|false`.
 *
 * @param url Events endpoint or ARI base URL (`ws:`, `wss:`, `http:`, `https:`).
 * @param app Application name(s).
 * @param subscribeAll Whether to subscribe to all events.
 * @returns The WebSocket URL.
 * @throws {TypeError} For a bad URL or application name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { buildEventsUrl } from "./events_socket.ts";
 *
 * assert.equal(
 *   buildEventsUrl("http://127.0.0.1:8088/ari", ["a", "b"], true),
 *   "ws://127.0.0.1:8088/ari/events?app=a,b&subscribeAll=true",
 * );
 * ```
 */
export function buildEventsUrl(
  url: string,
  app: string | readonly string[],
  subscribeAll = false,
): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new TypeError(
      `Cannot open ARI event stream: url ${JSON.stringify(url)} is not a URL`,
      { cause },
    );
  }
  const schemes: Record<string, string> = {
    "ws:": "ws:",
    "wss:": "wss:",
    "http:": "ws:",
    "https:": "wss:",
  };
  const scheme = schemes[parsed.protocol];
  if (scheme === undefined) {
    throw new TypeError(
      `Cannot open ARI event stream: url ${
        JSON.stringify(url)
      } must use ws:, wss:, http: or https:`,
    );
  }
  if (parsed.search !== "" || parsed.hash !== "") {
    throw new TypeError(
      `Cannot open ARI event stream: url ${
        JSON.stringify(url)
      } must not have a query or fragment`,
    );
  }
  if (parsed.username !== "" || parsed.password !== "") {
    throw new TypeError(
      "Cannot open ARI event stream: pass credentials as username/password, not in the url",
    );
  }
  const apps = typeof app === "string" ? [app] : [...app];
  if (apps.length === 0) {
    throw new TypeError(
      "Cannot open ARI event stream: at least one application is required",
    );
  }
  for (const name of apps) {
    if (typeof name !== "string" || name === "" || name.includes(",")) {
      throw new TypeError(
        `Cannot open ARI event stream: application ${
          JSON.stringify(name)
        } must be a non-empty string without commas`,
      );
    }
  }
  let path = parsed.pathname.replace(/\/+$/, "");
  if (!path.endsWith("/events")) path += "/events";
  return `${scheme}//${parsed.host}${path}?app=${
    apps.map(encodeURIComponent).join(",")
  }&subscribeAll=${subscribeAll ? "true" : "false"}`;
}

/** A bounded, single-consumer status queue. */
class StatusQueue implements AsyncIterableIterator<StreamStatus> {
  readonly #limit: number;
  readonly #unsubscribe: (queue: StatusQueue) => void;
  #buffer: StreamStatus[] = [];
  #waiter: ((result: IteratorResult<StreamStatus>) => void) | undefined;
  #ended = false;

  constructor(limit: number, unsubscribe: (queue: StatusQueue) => void) {
    this.#limit = limit;
    this.#unsubscribe = unsubscribe;
  }

  push(status: StreamStatus): void {
    if (this.#ended) return;
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      waiter({ done: false, value: status });
      return;
    }
    this.#buffer.push(status);
    if (this.#buffer.length > this.#limit) this.#buffer.shift();
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      waiter(DONE);
    }
  }

  next(): Promise<IteratorResult<StreamStatus>> {
    const value = this.#buffer.shift();
    if (value !== undefined) return Promise.resolve({ done: false, value });
    if (this.#ended) return Promise.resolve(DONE);
    if (this.#waiter !== undefined) {
      return Promise.reject(
        new TypeError("Cannot call next() while a previous next() is pending"),
      );
    }
    return new Promise((resolve) => {
      this.#waiter = resolve;
    });
  }

  return(): Promise<IteratorResult<StreamStatus>> {
    this.#buffer = [];
    this.end();
    this.#unsubscribe(this);
    return Promise.resolve(DONE);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<StreamStatus> {
    return this;
  }
}

type State = "connecting" | "open" | "waiting" | "closed";

class EventStream implements AriEventStream {
  readonly url: string;
  readonly #target: string;
  readonly #headers: Readonly<Record<string, string>>;
  readonly #onEvent:
    | ((event: AriEventObject, frame: string) => void)
    | undefined;
  readonly #onFrame: ((frame: string) => void) | undefined;
  readonly #onStatus: ((status: StreamStatus) => void) | undefined;
  readonly #factory: WebSocketFactory;
  readonly #clock: StreamClock;
  readonly #backoff: {
    initial: number;
    max: number;
    factor: number;
    random: () => number;
  };
  readonly #stableAfter: number;
  readonly #maxAttempts: number;
  readonly #connectTimeout: number;
  readonly #closeTimeout: number;
  readonly #statusBufferSize: number;
  readonly #signal: AbortSignal | undefined;
  readonly #requests: RestOverWebSocket | undefined;
  #link: RequestLink | undefined;
  readonly #subscribers = new Set<StatusQueue>();
  readonly #ready = Promise.withResolvers<void>();
  readonly #closed = Promise.withResolvers<Error | undefined>();
  readonly #socketGone = Promise.withResolvers<void>();

  #state: State = "connecting";
  #ws: WebSocketLike | undefined;
  #attempt = 0;
  #openedAt = 0;
  #lastError: Error | undefined;
  #timer: unknown;
  #hasTimer = false;
  #everOpened = false;

  constructor(options: AriEventStreamOptions) {
    const {
      url,
      username,
      password = "",
      app,
      subscribeAll = false,
      onEvent,
      onFrame,
      onStatus,
      initialDelay = DEFAULT_BACKOFF_INITIAL,
      maxDelay = DEFAULT_BACKOFF_MAX,
      backoffFactor = DEFAULT_BACKOFF_FACTOR,
      stableAfter = DEFAULT_STABLE_AFTER,
      maxReconnectAttempts = Infinity,
      connectTimeout = DEFAULT_CONNECT_TIMEOUT,
      closeTimeout = DEFAULT_CLOSE_TIMEOUT,
      statusBufferSize = DEFAULT_STATUS_BUFFER,
      signal,
      requests,
      webSocket = defaultWebSocket,
      clock = realClock,
      random = Math.random,
    } = options;
    if (onFrame !== undefined) {
      if (typeof onFrame !== "function") {
        throw new TypeError(
          "Cannot open ARI event stream: onFrame must be a function",
        );
      }
      if (onEvent !== undefined) {
        throw new TypeError(
          "Cannot open ARI event stream: onEvent and onFrame are mutually exclusive",
        );
      }
    } else if (typeof onEvent !== "function") {
      throw new TypeError(
        "Cannot open ARI event stream: onEvent must be a function",
      );
    }
    nonNegative(initialDelay, "initialDelay");
    nonNegative(maxDelay, "maxDelay");
    if (!(backoffFactor >= 1) || !Number.isFinite(backoffFactor)) {
      throw new RangeError(
        `Cannot open ARI event stream: backoffFactor must be a finite number >= 1, got ${backoffFactor}`,
      );
    }
    nonNegative(stableAfter, "stableAfter");
    nonNegative(maxReconnectAttempts, "maxReconnectAttempts", true);
    nonNegative(connectTimeout, "connectTimeout");
    nonNegative(closeTimeout, "closeTimeout");
    if (!Number.isSafeInteger(statusBufferSize) || statusBufferSize < 1) {
      throw new RangeError(
        `Cannot open ARI event stream: statusBufferSize must be a positive integer, got ${statusBufferSize}`,
      );
    }
    this.url = buildEventsUrl(url, app, subscribeAll);
    this.#target = this.url.slice(0, this.url.indexOf("?"));
    const headers: Record<string, string> = {};
    if (username !== undefined) {
      headers.authorization = basicAuth(username, password);
    }
    this.#headers = Object.freeze(headers);
    this.#onEvent = onEvent;
    this.#onFrame = onFrame;
    this.#onStatus = onStatus;
    this.#factory = webSocket;
    this.#clock = clock;
    this.#backoff = {
      initial: initialDelay,
      max: maxDelay,
      factor: backoffFactor,
      random,
    };
    this.#stableAfter = stableAfter;
    this.#maxAttempts = maxReconnectAttempts;
    this.#connectTimeout = connectTimeout;
    this.#closeTimeout = closeTimeout;
    this.#statusBufferSize = statusBufferSize;
    this.#ready.promise.catch(() => {});
    this.#requests = requests;
    this.#signal = signal;
    if (signal?.aborted) {
      this.#shutdown(undefined);
      return;
    }
    signal?.addEventListener("abort", this.#onAbort, { once: true });
    this.#connect();
  }

  // ---- the hot path -------------------------------------------------------

  #onMessage = (ev: MessageEvent): void => {
    const data: unknown = ev.data;
    const frame = typeof data === "string"
      ? data
      : decoder.decode(data as ArrayBuffer);
    const requests = this.#requests;
    if (requests !== undefined && requests.isResponseFrame(frame)) {
      requests.deliver(frame);
      return;
    }
    const onFrame = this.#onFrame;
    if (onFrame !== undefined) {
      try {
        onFrame(frame);
      } catch (error) {
        this.#emit({ type: "error", error: toError(error) });
      }
      return;
    }
    let event: unknown;
    try {
      event = JSON.parse(frame);
    } catch (cause) {
      this.#emit({
        type: "error",
        error: new ProtocolError(
          "Cannot parse an ARI event frame: it is not JSON",
          { code: "invalidJson", cause },
        ),
      });
      return;
    }
    if (typeof event !== "object" || event === null || Array.isArray(event)) {
      this.#emit({
        type: "error",
        error: new ProtocolError(
          "Cannot use an ARI event frame: it is not a JSON object",
          { code: "notObject" },
        ),
      });
      return;
    }
    try {
      this.#onEvent!(event as AriEventObject, frame);
    } catch (error) {
      this.#emit({ type: "error", error: toError(error) });
    }
  };

  // ---- connection lifecycle ----------------------------------------------

  #connect(): void {
    this.#state = "connecting";
    this.#lastError = undefined;
    this.#emit({ type: "connecting", attempt: this.#attempt });
    if (this.isClosed()) return; // closed by onStatus
    let ws: WebSocketLike;
    try {
      ws = this.#factory(this.url, this.#headers);
    } catch (cause) {
      this.#retry(
        new ConnectionError(
          `Cannot connect ARI event stream to ${this.#target}: ${
            toError(cause).message
          }`,
          { target: this.#target, cause },
        ),
      );
      return;
    }
    this.#ws = ws;
    ws.binaryType = "arraybuffer";
    ws.onopen = this.#onOpen;
    ws.onmessage = this.#onMessage;
    ws.onerror = this.#onError;
    ws.onclose = this.#onClose;
    this.#setTimer(this.#onConnectTimeout, this.#connectTimeout);
  }

  #onOpen = (): void => {
    this.#clearTimer();
    if (this.#state !== "connecting") return;
    this.#state = "open";
    this.#openedAt = this.#clock.now();
    this.#everOpened = true;
    const ws = this.#ws;
    if (this.#requests !== undefined && typeof ws?.send === "function") {
      this.#link = this.#requests.attach({ send: (data) => ws.send!(data) });
    }
    this.#emit({ type: "connected", attempt: this.#attempt });
    this.#ready.resolve();
  };

  #onError = (ev: Event): void => {
    const message = "message" in ev && typeof ev.message === "string" &&
        ev.message !== ""
      ? ev.message
      : "WebSocket error";
    this.#lastError = new ConnectionError(
      `ARI event stream ${this.#target} failed: ${message}`,
      { target: this.#target, cause: "error" in ev ? ev.error : undefined },
    );
  };

  #onClose = (ev: CloseEvent): void => {
    const ws = this.#ws;
    if (ws !== undefined) this.#detach(ws);
    this.#ws = undefined;
    this.#dropLink(this.#lastError);
    if (this.#state === "closed") {
      this.#socketGone.resolve();
      return;
    }
    this.#clearTimer();
    const wasOpen = this.#state === "open";
    const error = this.#lastError ??
      new ConnectionError(
        wasOpen
          ? `ARI event stream ${this.#target} closed (code ${ev.code}${
            ev.reason ? `: ${ev.reason}` : ""
          })`
          : `Cannot connect ARI event stream to ${this.#target} (code ${ev.code})`,
        { target: this.#target },
      );
    if (wasOpen) {
      if (this.#clock.now() - this.#openedAt >= this.#stableAfter) {
        this.#attempt = 0;
      }
      this.#state = "waiting";
      this.#emit({
        type: "disconnected",
        error,
        code: ev.code,
        reason: ev.reason,
      });
      if (this.isClosed()) return; // closed by onStatus
    }
    this.#retry(error);
  };

  #onConnectTimeout = (): void => {
    this.#hasTimer = false;
    const ws = this.#ws;
    if (this.#state !== "connecting" || ws === undefined) return;
    this.#detach(ws);
    this.#ws = undefined;
    try {
      ws.close();
    } catch {
      // Already closing.
    }
    this.#retry(
      new ConnectionError(
        `Cannot connect ARI event stream to ${this.#target}: no handshake within ${this.#connectTimeout} ms`,
        { target: this.#target },
      ),
    );
  };

  #retry(error: Error): void {
    this.#attempt++;
    if (this.#attempt > this.#maxAttempts) {
      this.#shutdown(
        new ConnectionError(
          `Cannot connect ARI event stream to ${this.#target}: gave up after ${this.#maxAttempts} attempts`,
          { target: this.#target, cause: error },
        ),
      );
      return;
    }
    const delay = computeBackoff(this.#attempt, this.#backoff);
    this.#state = "waiting";
    this.#emit({ type: "reconnecting", attempt: this.#attempt, delay, error });
    if (this.isClosed()) return; // closed by onStatus
    this.#setTimer(this.#onRetryTimer, delay);
  }

  #onRetryTimer = (): void => {
    this.#hasTimer = false;
    if (this.#state === "waiting") this.#connect();
  };

  #setTimer(callback: () => void, delay: number): void {
    this.#clearTimer();
    this.#timer = this.#clock.setTimeout(callback, delay);
    this.#hasTimer = true;
  }

  #clearTimer(): void {
    if (this.#hasTimer) {
      this.#hasTimer = false;
      this.#clock.clearTimeout(this.#timer);
    }
  }

  /** The socket is gone: its ARI requests in flight fail now. */
  #dropLink(error: Error | undefined): void {
    const link = this.#link;
    this.#link = undefined;
    link?.close(error);
  }

  #detach(ws: WebSocketLike): void {
    ws.onopen = null;
    ws.onmessage = null;
    ws.onerror = null;
    ws.onclose = null;
  }

  #onAbort = (): void => {
    void this.close();
  };

  #shutdown(error: Error | undefined): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    this.#clearTimer();
    this.#signal?.removeEventListener("abort", this.#onAbort);
    this.#dropLink(error ?? new ClosedConnectionError("ARI event stream"));
    const ws = this.#ws;
    if (ws !== undefined && ws.readyState !== WS_CLOSED) {
      // Keep onclose attached to learn when the socket is gone; stop events.
      ws.onmessage = null;
      ws.onopen = null;
      ws.onerror = null;
      try {
        ws.close(1000, "client closed");
      } catch {
        // Already closing.
      }
      const handle = this.#clock.setTimeout(() => {
        this.#detach(ws);
        this.#ws = undefined;
        this.#socketGone.resolve();
      }, this.#closeTimeout);
      this.#socketGone.promise.then(() => this.#clock.clearTimeout(handle));
    } else {
      if (ws !== undefined) this.#detach(ws);
      this.#ws = undefined;
      this.#socketGone.resolve();
    }
    if (!this.#everOpened) {
      this.#ready.reject(
        error ?? new ClosedConnectionError("ARI event stream"),
      );
    }
    this.#emit({ type: "closed", error });
    for (const queue of this.#subscribers) queue.end();
    this.#subscribers.clear();
    this.#closed.resolve(error);
  }

  #emit(status: StreamStatus): void {
    const onStatus = this.#onStatus;
    if (onStatus !== undefined) {
      try {
        onStatus(status);
      } catch (error) {
        // A bug in the callback must surface, but not break the stream.
        reportError(error);
      }
    }
    for (const queue of this.#subscribers) queue.push(status);
  }

  // ---- public API -------------------------------------------------------

  isConnected(): boolean {
    return this.#state === "open";
  }

  isClosed(): boolean {
    return this.#state === "closed";
  }

  ready(): Promise<void> {
    return this.#ready.promise;
  }

  status(): AsyncIterableIterator<StreamStatus> {
    const queue = new StatusQueue(
      this.#statusBufferSize,
      (q) => this.#subscribers.delete(q),
    );
    if (this.#state === "closed") queue.end();
    else this.#subscribers.add(queue);
    return queue;
  }

  async close(): Promise<void> {
    this.#shutdown(undefined);
    await this.#socketGone.promise;
  }

  closed(): Promise<Error | undefined> {
    return this.#closed.promise;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Opens the ARI events WebSocket and keeps it open: after any failure it
 * reconnects with capped exponential backoff and full jitter, forever (or up
 * to `maxReconnectAttempts`). Right after Asterisk starts, the upgrade may be
 * refused for a second or two; that is just another retry.
 *
 * Events go to `onEvent` in order. Malformed frames are reported as
 * `"error"` statuses and skipped. In raw mode (`onFrame`), each frame's text
 * goes to `onFrame` unparsed and unvalidated. The status sequence of a server-side
 * disconnect is `disconnected`, `reconnecting`, `connecting`, `connected`.
 *
 * @param options URL, credentials, applications, callbacks and tuning.
 * @returns The stream; it starts connecting at once.
 * @throws {TypeError} For a bad URL or application name, or when not exactly
 * one of `onEvent` and `onFrame` is a function.
 * @throws {RangeError} For a negative or non-finite tuning option.
 *
 * @example Receive events
 * ```ts ignore live
 * import assert from "node:assert/strict";
 * import { openAriEventStream } from "./events_socket.ts";
 *
 * await using stream = openAriEventStream({
 *   url: "ws://127.0.0.1:8088/ari/events",
 *   username: "proxy",
 *   password: "secret",
 *   app: ["test", "other"],
 *   onEvent: (event) => {
 *     if (event.type === "StasisStart") {
 *       // …
 *     }
 *   },
 * });
 * await stream.ready();
 * assert.ok(stream.isConnected());
 * // `stream.status()` reports disconnects; the stream reconnects by itself.
 * ```
 *
 * @example With a fake WebSocket
 * ```ts
 * import assert from "node:assert/strict";
 * import { openAriEventStream, type WebSocketLike } from "./events_socket.ts";
 *
 * const events: unknown[] = [];
 * const socket: WebSocketLike = {
 *   readyState: 0,
 *   binaryType: "blob",
 *   onopen: null,
 *   onmessage: null,
 *   onerror: null,
 *   onclose: null,
 *   close() {
 *     socket.onclose?.(new CloseEvent("close", { code: 1000 }));
 *   },
 * };
 * await using stream = openAriEventStream({
 *   url: "ws://ari.invalid/ari",
 *   app: "test",
 *   onEvent: (event) => events.push(event.type),
 *   webSocket: () => socket,
 * });
 * socket.onopen?.(new Event("open"));
 * await stream.ready();
 * socket.onmessage?.(
 *   new MessageEvent("message", { data: '{"type":"StasisStart"}' }),
 * );
 * assert.deepEqual(events, ["StasisStart"]);
 * ```
 *
 * @example Raw frames, parsed only when needed
 * ```ts
 * import assert from "node:assert/strict";
 * import { openAriEventStream, type WebSocketLike } from "./events_socket.ts";
 *
 * const frames: string[] = [];
 * const socket: WebSocketLike = {
 *   readyState: 0,
 *   binaryType: "blob",
 *   onopen: null,
 *   onmessage: null,
 *   onerror: null,
 *   onclose: null,
 *   close() {
 *     socket.onclose?.(new CloseEvent("close", { code: 1000 }));
 *   },
 * };
 * await using stream = openAriEventStream({
 *   url: "ws://ari.invalid/ari",
 *   app: "test",
 *   onFrame: (frame) => frames.push(frame),
 *   webSocket: () => socket,
 * });
 * socket.onopen?.(new Event("open"));
 * await stream.ready();
 * socket.onmessage?.(
 *   new MessageEvent("message", { data: '{"type":"StasisStart"}' }),
 * );
 * assert.deepEqual(frames, ['{"type":"StasisStart"}']);
 * ```
 */
export function openAriEventStream(
  options: AriEventStreamOptions,
): AriEventStream {
  return new EventStream(options);
}
