/**
 * ARI requests as messages on the events WebSocket (Asterisk 22's "REST over
 * WebSocket"): a `RESTRequest` frame goes out, Asterisk answers with a
 * `RESTResponse` frame carrying the same `request_id`.
 *
 * {@linkcode createRestOverWebSocket} makes the request table that sits
 * between an {@linkcode AriRestClient} (which sends through it) and an
 * {@linkcode AriEventStream} (which attaches each socket it opens and hands
 * it the response frames). Support is found out by asking: when a socket
 * opens, a `GET asterisk/ping` goes out as a `RESTRequest`; an answer within
 * the probe timeout means the socket carries requests, silence means it does
 * not (older Asterisk ignores the message).
 *
 * A request in flight when its socket closes fails at once with a
 * {@linkcode ConnectionError}; the REST client retries reads (`GET`) within
 * their deadline and leaves the rest to the caller, since Asterisk may have
 * carried them out.
 *
 * @module
 */

import { ConnectionError, ProtocolError } from "../errors.ts";
import type { HttpMethod } from "../errors.ts";

/**
 * Which path the ARI requests of a client take: `"websocket"` (only
 * `RESTRequest` messages on the events WebSocket, except what they cannot
 * carry), `"http"` (only HTTP), or `"auto"` (the WebSocket when Asterisk
 * answers `RESTRequest` messages on it, else HTTP).
 */
export type AriRequestTransport = "auto" | "websocket" | "http";

/** The request transports, for validation and help texts. */
export const ARI_REQUEST_TRANSPORTS: readonly AriRequestTransport[] = [
  "auto",
  "websocket",
  "http",
];

/** Default time a socket has to answer the support probe, in milliseconds. */
export const DEFAULT_PROBE_TIMEOUT = 3_000;

/**
 * Largest `RESTRequest` frame sent over the WebSocket, in bytes (UTF-8).
 * Asterisk 22 closes the socket when a frame it reads is larger than its
 * 64 KiB frame buffer (65,000 bytes go through, 65,534 close it: measured
 * against 22.10.1); larger requests go over HTTP.
 */
export const MAX_WS_REQUEST_BYTES = 65_000;

/** Whether the current socket carries requests. */
export type WsRequestSupport = "unknown" | "supported" | "unsupported";

/** An answer from Asterisk to one `RESTRequest`. */
export interface WsRestResponse {
  /** HTTP status code. */
  status: number;
  /** HTTP reason phrase. */
  reason: string;
  /** `content_type` of the body, if any. */
  contentType: string | undefined;
  /** `message_body` (text), or `""` when absent. */
  body: string;
}

/** The part of a WebSocket the request table writes to. */
export interface RequestSocket {
  /** Sends one text frame; may throw when the socket is closing. */
  send(data: string): void;
}

/** One socket attached to a request table; the stream closes it when the socket ends. */
export interface RequestLink {
  /**
   * The socket is gone: its pending requests (and the probe) fail at once
   * with a {@linkcode ConnectionError} whose cause is `error`. Idempotent.
   */
  close(error?: Error): void;
}

/** Options of {@linkcode createRestOverWebSocket}. */
export interface RestOverWebSocketOptions {
  /**
   * `"auto"` sends over the WebSocket only once a socket answered the probe;
   * `"websocket"` makes requests wait (within their deadline) for such a
   * socket.
   *
   * @default {"auto"}
   */
  mode?: Exclude<AriRequestTransport, "http">;
  /**
   * Time each socket has to answer the support probe, in milliseconds.
   *
   * @default {3000}
   */
  probeTimeout?: number;
}

/**
 * The request table: requests in flight by `request_id`, the socket they go
 * out on, and whether that socket carries requests. Create it with
 * {@linkcode createRestOverWebSocket}.
 */
export interface RestOverWebSocket {
  /** The mode it was created with. */
  readonly mode: Exclude<AriRequestTransport, "http">;
  /** Whether the current socket carries requests. */
  support(): WsRequestSupport;
  /**
   * Resolves once a socket answered the probe.
   *
   * @throws {ConnectionError} When the probe of the current socket went
   * unanswered (this Asterisk does not take requests on the WebSocket).
   * @throws {unknown} `signal.reason` when `signal` aborts first.
   */
  whenSupported(signal?: AbortSignal): Promise<void>;
  /**
   * Resolves once the probe of the current socket settled (either way), or
   * at once when none is running.
   */
  probed(): Promise<WsRequestSupport>;
  /**
   * Sends one request on the current socket and resolves with Asterisk's
   * answer (whatever its status).
   *
   * @param method HTTP method.
   * @param uri Resource path relative to the ARI base, without leading `/`,
   * with the encoded query string.
   * @param body JSON text of the body, or `undefined`.
   * @param signal Aborts the request (it then rejects with `signal.reason`).
   * @throws {ConnectionError} No socket carries requests, or the socket
   * closed before the answer came.
   * @throws {ProtocolError} The answer is malformed.
   */
  request(
    method: HttpMethod,
    uri: string,
    body: string | undefined,
    signal?: AbortSignal,
  ): Promise<WsRestResponse>;
  /**
   * Whether a request of this size fits one WebSocket frame
   * ({@linkcode MAX_WS_REQUEST_BYTES}).
   */
  fits(uri: string, body: string | undefined): boolean;
  /** Called by the stream when a socket opens: probes it and sends on it. */
  attach(socket: RequestSocket): RequestLink;
  /**
   * Whether `frame` is a `RESTResponse` (cheap: looks at its first bytes,
   * parses only when they name the type).
   */
  isResponseFrame(frame: string): boolean;
  /** Hands a `RESTResponse` frame to the request waiting for it. */
  deliver(frame: string): void;
  /** Number of requests waiting for an answer (probes excluded). */
  pending(): number;
  /** Fails every pending request and detaches; later calls fail. Idempotent. */
  close(): void;
}

interface Pending {
  readonly link: Link;
  readonly resolve: (response: WsRestResponse) => void;
  readonly reject: (error: unknown) => void;
  readonly method: string;
  readonly uri: string;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: (() => void) | undefined;
}

const RESPONSE_TYPE = '"RESTResponse"';
const COMPACT_PREFIX = '{"type":"RESTResponse"';
const PROBE_URI = "asterisk/ping";
/** How far into a frame the type may start (pretty-printed JSON included). */
const TYPE_WINDOW = 48;
const encoder = new TextEncoder();

function errorOf(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

class Link implements RequestLink {
  readonly socket: RequestSocket;
  readonly #table: Table;
  open = true;
  support: WsRequestSupport = "unknown";
  probeId: string | undefined;
  probeTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(socket: RequestSocket, table: Table) {
    this.socket = socket;
    this.#table = table;
  }

  close(error?: Error): void {
    if (!this.open) return;
    this.open = false;
    this.#table.dropLink(this, error);
  }
}

class Table implements RestOverWebSocket {
  readonly mode: Exclude<AriRequestTransport, "http">;
  readonly #probeTimeout: number;
  readonly #pending = new Map<string, Pending>();
  /** Probes by request id (kept after a timeout: a late answer still counts). */
  readonly #probes = new Map<string, Link>();
  /** The socket new requests go to. */
  #current: Link | undefined;
  /** A newer socket whose probe is running while `#current` still serves. */
  #candidate: Link | undefined;
  #nextId = 0;
  readonly #prefix = Math.random().toString(36).slice(2, 8) + "-";
  #closed = false;
  #waiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  #probeWaiters: ((support: WsRequestSupport) => void)[] = [];

  constructor(options: RestOverWebSocketOptions) {
    const { mode = "auto", probeTimeout = DEFAULT_PROBE_TIMEOUT } = options;
    if (mode !== "auto" && mode !== "websocket") {
      throw new TypeError(
        `Cannot create the WebSocket request table: mode must be "auto" or "websocket", got ${
          JSON.stringify(mode)
        }`,
      );
    }
    if (typeof probeTimeout !== "number" || !(probeTimeout > 0)) {
      throw new RangeError(
        `Cannot create the WebSocket request table: probeTimeout must be a positive number of milliseconds, got ${probeTimeout}`,
      );
    }
    this.mode = mode;
    this.#probeTimeout = probeTimeout;
  }

  support(): WsRequestSupport {
    return this.#current?.support ?? "unknown";
  }

  whenSupported(signal?: AbortSignal): Promise<void> {
    const support = this.support();
    if (support === "supported") return Promise.resolve();
    if (support === "unsupported" || this.#closed) {
      return Promise.reject(this.#unsupportedError());
    }
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(signal!.reason);
      };
      const waiter = {
        resolve: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
        reject: (e: unknown) => {
          signal?.removeEventListener("abort", onAbort);
          reject(e);
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  probed(): Promise<WsRequestSupport> {
    const link = this.#candidate ?? this.#current;
    if (
      this.#closed || link === undefined || link.probeTimer === undefined
    ) {
      return Promise.resolve(this.support());
    }
    return new Promise((resolve) => this.#probeWaiters.push(resolve));
  }

  #unsupportedError(): ConnectionError {
    return new ConnectionError(
      this.#closed
        ? "Cannot send an ARI request over the WebSocket: it is closed"
        : "Cannot send ARI requests over the WebSocket: Asterisk did not answer a RESTRequest message (it needs Asterisk 22 or later); use the http transport",
      { target: "ARI WebSocket" },
    );
  }

  fits(uri: string, body: string | undefined): boolean {
    // A JSON escape is at most 6 characters, a character at most 3 bytes.
    const worst = (uri.length + 6 * (body?.length ?? 0) + 200) * 3;
    if (worst <= MAX_WS_REQUEST_BYTES) return true;
    const frame = encodeRequest("x".repeat(32), "DELETE", uri, body);
    return frame.length <= MAX_WS_REQUEST_BYTES &&
      encoder.encode(frame).length <= MAX_WS_REQUEST_BYTES;
  }

  request(
    method: HttpMethod,
    uri: string,
    body: string | undefined,
    signal?: AbortSignal,
  ): Promise<WsRestResponse> {
    const link = this.#current;
    if (this.#closed || link === undefined || link.support !== "supported") {
      return Promise.reject(
        this.#closed ? this.#unsupportedError() : new ConnectionError(
          `Cannot ${method} ${uri}: no ARI WebSocket carries requests right now`,
          { target: "ARI WebSocket" },
        ),
      );
    }
    if (signal?.aborted) return Promise.reject(signal.reason);
    const id = this.#prefix + (++this.#nextId);
    const frame = encodeRequest(id, method, uri, body);
    return new Promise<WsRestResponse>((resolve, reject) => {
      let onAbort: (() => void) | undefined;
      if (signal !== undefined) {
        onAbort = () => {
          if (this.#pending.delete(id)) reject(signal.reason);
        };
        signal.addEventListener("abort", onAbort, { once: true });
      }
      const entry: Pending = {
        link,
        resolve,
        reject,
        method,
        uri,
        signal,
        onAbort,
      };
      this.#pending.set(id, entry);
      try {
        link.socket.send(frame);
      } catch (cause) {
        this.#settle(id, entry);
        reject(
          new ConnectionError(
            `Cannot ${method} ${uri}: the ARI WebSocket did not take the request: ${
              errorOf(cause).message
            }`,
            { target: "ARI WebSocket", cause },
          ),
        );
        // A socket that refuses frames carries no more requests.
        link.close(errorOf(cause));
      }
    });
  }

  attach(socket: RequestSocket): RequestLink {
    const link = new Link(socket, this);
    if (this.#closed) {
      link.open = false;
      return link;
    }
    // A newer socket takes over new requests once it answered its probe; an
    // older one that carries requests keeps serving until then (and its
    // requests get their answers until it closes).
    if (this.#current?.support === "supported") {
      if (this.#candidate !== undefined) this.#stopProbe(this.#candidate);
      this.#candidate = link;
    } else {
      this.#current = link;
    }
    this.#probe(link);
    return link;
  }

  #probe(link: Link): void {
    const id = this.#prefix + "probe-" + (++this.#nextId);
    link.probeId = id;
    this.#probes.set(id, link);
    link.probeTimer = setTimeout(() => {
      link.probeTimer = undefined;
      if (link.support === "unknown") this.#settleProbe(link, "unsupported");
    }, this.#probeTimeout);
    try {
      link.socket.send(encodeRequest(id, "GET", PROBE_URI, undefined));
    } catch {
      // The socket is closing; its close settles the probe.
    }
  }

  /** A probe answered (`supported`), timed out or lost its socket. */
  #settleProbe(link: Link, support: WsRequestSupport): void {
    if (support === "supported" || !link.open) this.#stopProbe(link);
    link.support = support;
    if (support === "supported" && link.open) {
      if (this.#candidate === link) {
        this.#candidate = undefined;
        this.#current = link;
      } else if (this.#current === undefined) this.#current = link;
    }
    if (this.#current === link) {
      const waiters = this.#waiters;
      if (support === "supported") {
        this.#waiters = [];
        for (const w of waiters) w.resolve();
      } else if (support === "unsupported") {
        this.#waiters = [];
        const error = this.#unsupportedError();
        for (const w of waiters) w.reject(error);
      }
    }
    if (this.#candidate === link && support !== "supported") {
      this.#candidate = undefined;
    }
    const probeWaiters = this.#probeWaiters;
    this.#probeWaiters = [];
    for (const w of probeWaiters) w(this.support());
  }

  #stopProbe(link: Link): void {
    if (link.probeTimer !== undefined) clearTimeout(link.probeTimer);
    link.probeTimer = undefined;
    if (link.probeId !== undefined) this.#probes.delete(link.probeId);
    link.probeId = undefined;
  }

  dropLink(link: Link, error: Error | undefined): void {
    if (this.#current === link) this.#current = this.#candidate;
    if (this.#candidate === link || this.#current === this.#candidate) {
      this.#candidate = undefined;
    }
    for (const [id, entry] of this.#pending) {
      if (entry.link !== link) continue;
      this.#settle(id, entry);
      entry.reject(
        new ConnectionError(
          `Cannot ${entry.method} ${entry.uri}: the ARI WebSocket closed with the request in flight (Asterisk may or may not have carried it out)`,
          { target: "ARI WebSocket", cause: error },
        ),
      );
    }
    if (link.probeId !== undefined) this.#settleProbe(link, "unknown");
  }

  #settle(id: string, entry: Pending): void {
    this.#pending.delete(id);
    if (entry.onAbort !== undefined) {
      entry.signal!.removeEventListener("abort", entry.onAbort);
    }
  }

  isResponseFrame(frame: string): boolean {
    if (frame.startsWith(COMPACT_PREFIX)) return true;
    const at = frame.lastIndexOf(RESPONSE_TYPE, TYPE_WINDOW);
    if (at < 0) return false;
    try {
      const parsed: unknown = JSON.parse(frame);
      return parsed !== null && typeof parsed === "object" &&
        (parsed as { type?: unknown }).type === "RESTResponse";
    } catch {
      return false;
    }
  }

  deliver(frame: string): void {
    let message: Record<string, unknown>;
    try {
      message = JSON.parse(frame) as Record<string, unknown>;
    } catch {
      return; // Not ours to report: no request can be matched.
    }
    const id = message?.request_id;
    if (typeof id !== "string") return;
    const entry = this.#pending.get(id);
    if (entry === undefined) {
      const link = this.#probes.get(id);
      if (link !== undefined) this.#settleProbe(link, "supported");
      return; // Else timed out or aborted before.
    }
    this.#settle(id, entry);
    const status = message.status_code;
    if (
      typeof status !== "number" || !Number.isInteger(status) || status < 100 ||
      status > 599
    ) {
      entry.reject(
        new ProtocolError(
          `Cannot use the ARI answer to ${entry.method} ${entry.uri}: RESTResponse has no valid status_code`,
          { code: "invalidField", field: "status_code" },
        ),
      );
      return;
    }
    const body = message.message_body;
    const contentType = message.content_type;
    const reason = message.reason_phrase;
    entry.resolve({
      status,
      reason: typeof reason === "string" ? reason : "",
      contentType: typeof contentType === "string" ? contentType : undefined,
      body: typeof body === "string" ? body : "",
    });
  }

  pending(): number {
    return this.#pending.size;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const link of this.#probes.values()) this.#stopProbe(link);
    this.#current = undefined;
    this.#candidate = undefined;
    const error = this.#unsupportedError();
    for (const [id, entry] of this.#pending) {
      this.#settle(id, entry);
      entry.reject(error);
    }
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w.reject(error);
    const probeWaiters = this.#probeWaiters;
    this.#probeWaiters = [];
    for (const w of probeWaiters) w("unknown");
  }
}

function encodeRequest(
  id: string,
  method: string,
  uri: string,
  body: string | undefined,
): string {
  // Ids and methods are ours (no escaping needed); the uri is already
  // percent-encoded, but JSON.stringify keeps it safe regardless.
  return body === undefined
    ? `{"type":"RESTRequest","transaction_id":"${id}","request_id":"${id}","method":"${method}","uri":${
      JSON.stringify(uri)
    }}`
    : `{"type":"RESTRequest","transaction_id":"${id}","request_id":"${id}","method":"${method}","uri":${
      JSON.stringify(uri)
    },"content_type":"application/json","message_body":${
      JSON.stringify(body)
    }}`;
}

/**
 * Creates the table that carries ARI requests over the events WebSocket.
 * Pass it to `createAriRestClient({ webSocketRequests })` and to
 * `openAriEventStream({ requests })`.
 *
 * @param options Mode and probe timeout.
 * @returns The table; close it after the stream and the client.
 * @throws {TypeError} For an unknown mode.
 * @throws {RangeError} For a probe timeout that is not positive.
 *
 * @example Answer a request from a fake socket
 * ```ts
 * import assert from "node:assert/strict";
 * import { createRestOverWebSocket } from "./rest_over_ws.ts";
 *
 * const sent: string[] = [];
 * const table = createRestOverWebSocket({ probeTimeout: 1_000 });
 * table.attach({ send: (frame) => sent.push(frame) });
 * // The socket answers the probe: it carries requests.
 * const probe = JSON.parse(sent[0]!);
 * table.deliver(JSON.stringify({ type: "RESTResponse", request_id: probe.request_id, status_code: 200 }));
 * assert.equal(table.support(), "supported");
 * const answer = table.request("GET", "asterisk/info", undefined);
 * const { request_id } = JSON.parse(sent[1]!);
 * table.deliver(JSON.stringify({
 *   type: "RESTResponse", request_id, status_code: 200, reason_phrase: "OK",
 *   content_type: "application/json", message_body: "{}",
 * }));
 * assert.equal((await answer).body, "{}");
 * table.close();
 * ```
 */
export function createRestOverWebSocket(
  options: RestOverWebSocketOptions = {},
): RestOverWebSocket {
  return new Table(options);
}
