/**
 * The operator's HTTP endpoint (`--http.listen`), served with `Deno.serve`:
 *
 * - `GET /healthz`: 200 while the proxy runs (its event loop answers), 503
 *   once it is shutting down;
 * - `GET /readyz`: 200 when the ARI WebSocket and NATS are both connected,
 *   else 503 with a JSON body naming what is down;
 * - `GET /metrics`: the Prometheus text exposition.
 *
 * @module
 */

import type { Logger } from "@logtape/logtape";

/** Content type of the Prometheus text format. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** What the endpoint reports, read on each request. */
export interface HealthSource {
  /** Whether the proxy runs (false once it is shutting down). */
  running(): boolean;
  /** Whether the ARI events WebSocket is connected and verified. */
  ariConnected(): boolean;
  /** Whether NATS is connected. */
  natsConnected(): boolean;
  /** The exposition text; `undefined` when metrics are off. */
  metrics(): string | undefined;
}

/** A parsed listen address. */
export interface ListenAddress {
  /** Host name or IP address to bind. */
  hostname: string;
  /** TCP port (0: any free port). */
  port: number;
}

/**
 * Parses `HOST:PORT`, `:PORT` (every interface), `[IPV6]:PORT` or `PORT`.
 *
 * @param text The address.
 * @returns Host and port.
 * @throws {TypeError} When it is not such an address.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseListenAddress } from "./http.ts";
 *
 * assert.deepEqual(parseListenAddress("127.0.0.1:9090"), { hostname: "127.0.0.1", port: 9090 });
 * assert.deepEqual(parseListenAddress(":9090"), { hostname: "0.0.0.0", port: 9090 });
 * assert.deepEqual(parseListenAddress("[::1]:0"), { hostname: "::1", port: 0 });
 * ```
 */
export function parseListenAddress(text: string): ListenAddress {
  const trimmed = typeof text === "string" ? text.trim() : "";
  const match = /^(?:(?:\[([^\]]+)\]|([^:\s[\]]*)):)?(\d{1,5})$/.exec(
    trimmed,
  );
  const port = match === null ? NaN : Number(match[3]);
  if (match === null || !(port >= 0 && port <= 65535)) {
    throw new TypeError(
      `Invalid HTTP listen address ${
        JSON.stringify(text)
      }: expected HOST:PORT, :PORT or [IPV6]:PORT`,
    );
  }
  const host = match[1] ?? match[2] ?? "";
  return { hostname: host === "" ? "0.0.0.0" : host, port };
}

/**
 * The request handler, for `Deno.serve` or a direct call in tests.
 *
 * @param source What to report.
 * @returns A handler.
 *
 * @example Readiness while NATS is down
 * ```ts
 * import assert from "node:assert/strict";
 * import { createHealthHandler } from "./http.ts";
 *
 * const handler = createHealthHandler({
 *   running: () => true,
 *   ariConnected: () => true,
 *   natsConnected: () => false,
 *   metrics: () => undefined,
 * });
 * const response = handler(new Request("http://proxy/readyz"));
 * assert.equal(response.status, 503);
 * assert.deepEqual((await response.json()).down, ["nats"]);
 * ```
 */
export function createHealthHandler(
  source: HealthSource,
): (request: Request) => Response {
  const json = (status: number, body: unknown) =>
    new Response(JSON.stringify(body) + "\n", {
      status,
      headers: {
        "content-type": "application/json",
        "cache-control": "no-store",
      },
    });
  return (request) => {
    const { pathname } = new URL(request.url);
    if (
      pathname !== "/healthz" && pathname !== "/readyz" &&
      pathname !== "/metrics"
    ) {
      return json(404, {
        error: `Not found: ${pathname} (try /healthz, /readyz, /metrics)`,
      });
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response(null, {
        status: 405,
        headers: { allow: "GET, HEAD" },
      });
    }
    if (pathname === "/healthz") {
      return source.running()
        ? json(200, { status: "ok" })
        : json(503, { status: "stopping" });
    }
    if (pathname === "/readyz") {
      const down: string[] = [];
      if (!source.running()) down.push("proxy");
      if (!source.ariConnected()) down.push("ari");
      if (!source.natsConnected()) down.push("nats");
      return down.length === 0
        ? json(200, { ready: true })
        : json(503, { ready: false, down });
    }
    const text = source.metrics();
    if (text === undefined) {
      return json(404, { error: "Metrics are off" });
    }
    return new Response(text, {
      headers: {
        "content-type": METRICS_CONTENT_TYPE,
        "cache-control": "no-store",
      },
    });
  };
}

/** A running HTTP endpoint. Create with {@linkcode serveHealth}. */
export interface HealthServer extends AsyncDisposable {
  /** The bound address (the real port when asked for port 0). */
  readonly addr: Deno.NetAddr;
  /** Stops listening and waits for open requests. Idempotent. */
  close(): Promise<void>;
}

/** Options of {@linkcode serveHealth}. */
export interface ServeHealthOptions extends ListenAddress {
  /** What to report. */
  source: HealthSource;
  /** Where to log. */
  logger: Logger;
}

/**
 * Serves {@linkcode createHealthHandler} with `Deno.serve`.
 *
 * @param options Address, source, logger.
 * @returns The server, listening.
 * @throws {Deno.errors.AddrInUse} When the address is taken (and the other
 *   errors of `Deno.serve`), with the address in the message.
 *
 * @example
 * ```ts
 * import { getLogger } from "@logtape/logtape";
 * import { serveHealth } from "./http.ts";
 *
 * await using server = serveHealth({
 *   hostname: "127.0.0.1",
 *   port: 0,
 *   logger: getLogger(["example"]),
 *   source: {
 *     running: () => true,
 *     ariConnected: () => true,
 *     natsConnected: () => true,
 *     metrics: () => "",
 *   },
 * });
 * const response = await fetch(`http://127.0.0.1:${server.addr.port}/healthz`);
 * console.assert(response.status === 200);
 * await response.body?.cancel();
 * ```
 */
export function serveHealth(options: ServeHealthOptions): HealthServer {
  const { hostname, port, source, logger } = options;
  const handler = createHealthHandler(source);
  const abort = new AbortController();
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname,
      port,
      signal: abort.signal,
      onListen: () => {},
      onError: (error) => {
        logger.warn("HTTP endpoint error: {error}", {
          error: error instanceof Error ? error.message : String(error),
        });
        return new Response("Internal error\n", { status: 500 });
      },
    }, handler);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const Ctor = error instanceof Error
      ? error.constructor as new (m: string, o?: ErrorOptions) => Error
      : Error;
    throw new Ctor(
      `Cannot listen for HTTP on ${hostname}:${port}: ${message}`,
      { cause: error },
    );
  }
  logger.info("Serving /healthz, /readyz and /metrics on http://{address}", {
    address: `${
      server.addr.hostname.includes(":")
        ? `[${server.addr.hostname}]`
        : server.addr.hostname
    }:${server.addr.port}`,
  });
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      abort.abort();
      await server.finished;
    })();
    return closing;
  };
  return {
    addr: server.addr,
    close,
    [Symbol.asyncDispose]: close,
  };
}
