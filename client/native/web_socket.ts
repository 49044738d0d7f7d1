/**
 * The events WebSocket factory of the native transport, for the runtime it
 * runs on. Deno, Node (22+) and Bun (1.4+) all have a global `WebSocket` that
 * sends extra handshake headers (`new WebSocket(url, { headers })`), so ARI
 * credentials go in the `Authorization` header everywhere and never in the
 * URL (no `api_key` query parameter, which would end up in access logs).
 * Only Deno can trust extra CA certificates per connection (`caCerts`, a
 * `Deno.HttpClient`); Node and Bun use `NODE_EXTRA_CA_CERTS`.
 *
 * @module
 */

import { type DenoHttpClient, RUNTIME, type RuntimeName } from "../_runtime.ts";
import type { WebSocketFactory, WebSocketLike } from "./events_socket.ts";

/** Options of {@linkcode runtimeWebSocketFactory}. */
export interface RuntimeWebSocketOptions {
  /** Deno only: the HTTP client that trusts `caCerts`. */
  httpClient?: DenoHttpClient;
  /** The runtime (tests). @default {the detected runtime} */
  runtime?: RuntimeName;
  /** The `WebSocket` class (tests). @default {globalThis.WebSocket} */
  webSocket?: unknown;
}

type HeaderWebSocket = new (
  url: string,
  init: { headers: Record<string, string>; client?: DenoHttpClient },
) => WebSocketLike;

/**
 * Returns a factory that opens the runtime's own `WebSocket` with the ARI
 * headers (basic auth).
 *
 * @param options Deno's CA-trusting HTTP client; test overrides.
 * @returns The factory.
 * @throws {TypeError} When the runtime has no global `WebSocket` (Node
 * before 22), or `httpClient` is given outside Deno.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runtimeWebSocketFactory } from "./web_socket.ts";
 *
 * assert.equal(typeof runtimeWebSocketFactory(), "function");
 * assert.throws(() => runtimeWebSocketFactory({ webSocket: undefined }), TypeError);
 * ```
 */
export function runtimeWebSocketFactory(
  options: RuntimeWebSocketOptions = {},
): WebSocketFactory {
  const { httpClient, runtime = RUNTIME } = options;
  const Ws =
    ("webSocket" in options
      ? options.webSocket
      : (globalThis as { WebSocket?: unknown }).WebSocket) as
        | HeaderWebSocket
        | undefined;
  if (typeof Ws !== "function") {
    throw new TypeError(
      `Cannot open the ARI events WebSocket: this runtime (${runtime}) has no global WebSocket; use Deno 2.9+, Node 22+ or Bun 1.4+, or pass the webSocket option`,
    );
  }
  if (httpClient !== undefined) {
    if (runtime !== "deno") {
      throw new TypeError(
        `Cannot use caCerts on ${runtime}: it needs Deno; set NODE_EXTRA_CA_CERTS=/path/to/ca.pem instead`,
      );
    }
    return (url, headers) =>
      new Ws(url, { headers: { ...headers }, client: httpClient });
  }
  return (url, headers) => new Ws(url, { headers: { ...headers } });
}
