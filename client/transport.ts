/**
 * The seam between the client API and its transports.
 *
 * The client API (resource groups, handles, staging, event fan-out) turns
 * every call into one protocol {@linkcode Request} and hands it to a
 * transport. Two transports implement this interface:
 *
 * - native: executes the request in-process against one Asterisk (REST over
 *   `fetch`, events over its WebSocket);
 * - NATS: sends the request to the proxies and merges their replies.
 *
 * @example A transport that answers every request with an error
 * ```ts
 * import type { AriTransport } from "./transport.ts";
 * const t: Pick<AriTransport, "request"> = {
 *   request: (req) => Promise.resolve({ error: `no ${req.kind}` }),
 * };
 * ```
 *
 * @module
 */

import type { Key, ProxiedEvent, Request, Response } from "./protocol/types.ts";

/** Per-request options. */
export interface RequestOptions {
  /**
   * How long to wait for the answer, in milliseconds. The transport's own
   * default applies when absent.
   */
  timeout?: number;
  /** Aborts the request. */
  signal?: AbortSignal;
}

/** Which events a subscription wants (PROTOCOL.md "Client routing"). */
export interface EventScope {
  /** ARI application; absent means every application. */
  app?: string;
  /** Asterisk node; absent means every node. */
  node?: string;
  /** Dialog id: only that dialog's events (`ari.dialogevent.<dialog>`). */
  dialog?: string;
}

/**
 * Receives events; must not throw and must return quickly (hot path).
 *
 * For an event from a durable consumer (it carries `jetstream`), a sink may
 * return a promise that settles once the application has handled the event:
 * the event is acknowledged when it resolves, and delivered again when it
 * resolves to `false` or rejects. Any other return value means handled on
 * return.
 */
export type EventSink = (event: ProxiedEvent) => unknown;

/** Connection status reported by a transport. */
export type TransportStatus =
  | { type: "connected"; target: string }
  | { type: "disconnected"; target: string; error?: Error }
  | { type: "reconnecting"; target: string; attempt: number; delay: number }
  | { type: "slowConsumer"; pending: number; dropped: number }
  | { type: "error"; error: Error }
  | { type: "closed"; error?: Error };

/** A transport: sends protocol requests and delivers events. */
export interface AriTransport extends AsyncDisposable {
  /** `"native"` or `"nats"`. */
  readonly kind: "native" | "nats";
  /** The ARI application this transport serves by default. */
  readonly application: string;
  /**
   * Sends one request and resolves with one response. List kinds are already
   * aggregated across proxies. A failure reported by the far side comes back
   * as a response with a non-empty `error`; transport failures reject with
   * `TimeoutError`, `ConnectionError` or `ClosedConnectionError`.
   */
  request(request: Request, options?: RequestOptions): Promise<Response>;
  /**
   * Delivers every event in `scope` to `sink` until the returned function is
   * called. Transports share one underlying subscription per scope.
   */
  subscribe(scope: EventScope, sink: EventSink): () => void;
  /** Status changes; iteration ends when the transport closes. */
  status(): AsyncIterable<TransportStatus>;
  /** Current connection state. */
  isConnected(): boolean;
  /** Known nodes (native: the one Asterisk; NATS: announced members). */
  nodes(): Key[];
  /** Closes the transport; idempotent. */
  close(): Promise<void>;
  /** Resolves when closed, with the reason if it was an error; never rejects. */
  closed(): Promise<Error | undefined>;
  /** True once closed. */
  isClosed(): boolean;
}
