/**
 * A small, strict HTTP client for the Asterisk REST Interface (ARI).
 *
 * It is the request half of the native transport and of the proxy server:
 * it builds safe URLs (every path parameter is percent-encoded as one
 * segment), authenticates with HTTP basic auth, bounds every call with a
 * timeout, and maps failures to the typed errors of `../errors.ts`.
 *
 * @module
 */

import {
  AriHttpError,
  ClosedConnectionError,
  ConnectionError,
  type HttpMethod,
  ProtocolError,
  TimeoutError,
} from "../errors.ts";
import { type DenoHttpClient, RUNTIME } from "../_runtime.ts";
import { DeadlineQueue } from "./deadlines.ts";
import type { RestOverWebSocket, WsRestResponse } from "./rest_over_ws.ts";

export type { HttpMethod };

/**
 * Longest request URL the client sends, in characters. Asterisk's HTTP server
 * refuses longer request lines, and such a URL always comes from an absurd
 * value (a huge id or query parameter), so it is rejected up front with a
 * `RangeError` instead of failing like a network error.
 */
export const MAX_URL_LENGTH = 16_384;

/** Default timeout of one ARI call, in milliseconds. */
export const DEFAULT_REST_TIMEOUT = 10_000;

/**
 * Default number of HTTP calls in flight at once (more wait in order).
 * Deno's `fetch` opens a connection per concurrent call, and Asterisk's HTTP
 * server refuses sessions beyond its `sessionlimit` (default 100).
 */
export const DEFAULT_HTTP_CONCURRENCY = 32;

/**
 * An ARI path template whose `{name}` placeholders are replaced by the
 * percent-encoded values of `params`.
 */
export interface AriPathTemplate {
  /** Path relative to the ARI base URL, e.g. `"/channels/{channelId}/play"`. */
  template: string;
  /** Values of the placeholders; each one becomes exactly one path segment. */
  params: Readonly<Record<string, string>>;
}

/**
 * Path of an ARI call: a literal path (used as is, so only for constant
 * paths) or a template whose parameters are encoded.
 */
export type AriPath = string | AriPathTemplate;

/** A query value; arrays are joined with commas (ARI's `allowMultiple`). */
export type AriQueryValue = string | number | boolean | string[] | undefined;

/** Per-call options of {@linkcode AriRestClient.request}. */
export interface AriRequestOptions {
  /** Query parameters; `undefined` values and empty arrays are left out. */
  query?: Readonly<Record<string, AriQueryValue>>;
  /** JSON request body (sent as `application/json` when not `undefined`). */
  body?: unknown;
  /**
   * Timeout of this call (response headers and body), in milliseconds.
   *
   * @default {the client's `timeout`}
   */
  timeout?: number;
  /** Aborts this call; the call then rejects with `signal.reason`. */
  signal?: AbortSignal;
}

/** Result of {@linkcode AriRestClient.requestBytes}. */
export interface AriBytesResponse {
  /** The response body. */
  bytes: Uint8Array;
  /** The `content-type` header, or `"application/octet-stream"` if absent. */
  contentType: string;
}

/**
 * The `fetch` signature the client needs; inject a fake in tests. With
 * {@linkcode AriRestClientOptions.caCerts}, `init` also carries the
 * `client` (a `Deno.HttpClient`) that trusts them: a wrapper should pass
 * `init` on to `fetch` unchanged.
 */
export type FetchLike = (
  input: string,
  init: RequestInit,
) => Promise<Response>;

/** Options of {@linkcode createAriRestClient}. */
export interface AriRestClientOptions {
  /**
   * Base URL of ARI, e.g. `"http://127.0.0.1:8088/ari"` (`https:` works).
   * A trailing slash is ignored.
   */
  url: string;
  /**
   * ARI user name (from `ari.conf`); without it no authorization is sent.
   */
  username?: string;
  /**
   * ARI password.
   *
   * @default {""}
   */
  password?: string;
  /**
   * Default timeout of each call, in milliseconds (`Infinity` disables it).
   *
   * @default {10000}
   */
  timeout?: number;
  /**
   * The `fetch` implementation.
   *
   * @default {globalThis.fetch}
   */
  fetch?: FetchLike;
  /**
   * HTTP calls in flight at once; more wait in order, within their timeout
   * (calls over the WebSocket are not counted). Asterisk refuses HTTP
   * sessions beyond its `sessionlimit` (default 100).
   *
   * @default {32}
   */
  httpConcurrency?: number;
  /**
   * Extra trusted root certificates for `https:` (PEM texts, not file
   * paths), e.g. the private CA that signed Asterisk's certificate. They are
   * trusted in addition to the system roots, by this client only, through a
   * `Deno.HttpClient` that `close()` releases. To trust a CA process-wide
   * (fetch and WebSocket alike), run Deno with `--cert ca.pem` or set
   * `DENO_CERT=ca.pem` instead.
   *
   * @default {[]}
   *
   * @example Trust a private CA
   * ```ts
   * import { createAriRestClient } from "./rest.ts";
   *
   * // `caPem` is the CA file's text, e.g. `await Deno.readTextFile(path)`.
   * export function pbxClient(caPem: string) {
   *   return createAriRestClient({
   *     url: "https://pbx.example.internal:8089/ari",
   *     username: "proxy",
   *     password: "secret",
   *     caCerts: [caPem],
   *   });
   * }
   * ```
   */
  caCerts?: readonly string[];
  /**
   * Send JSON calls as `RESTRequest` messages on the events WebSocket
   * through this table (give the same table to the event stream's
   * `requests` option). In its `"auto"` mode a call goes over the WebSocket
   * when the current socket answered the support probe and over HTTP
   * otherwise; in `"websocket"` mode it waits (within its timeout) for such
   * a socket. Either way {@linkcode AriRestClient.requestBytes} and calls
   * too large for one frame use HTTP, and a read (`GET`) whose socket closes
   * under it is sent again (within its timeout); other calls then reject
   * with a {@linkcode ConnectionError} at once.
   *
   * @default {undefined (HTTP only)}
   */
  webSocketRequests?: RestOverWebSocket;
  /** Closes the client (aborting in-flight calls) when aborted. */
  signal?: AbortSignal;
}

/**
 * An ARI HTTP client. Create it with {@linkcode createAriRestClient}.
 */
export interface AriRestClient extends AsyncDisposable {
  /**
   * Performs an ARI call and returns its parsed JSON body, or `undefined` for
   * an empty body (e.g. `204 No Content`).
   *
   * @throws {AriHttpError} Asterisk answered with a non-2xx status.
   * @throws {TimeoutError} No complete answer within the timeout.
   * @throws {ConnectionError} The network failed.
   * @throws {ClosedConnectionError} The client is closed or closing.
   * @throws {ProtocolError} A 2xx body is not JSON.
   * @throws {TypeError} A path parameter is missing, empty, `"."` or `".."`,
   * or a literal path is unsafe; also for invalid query values.
   */
  request(
    method: HttpMethod,
    path: AriPath,
    options?: AriRequestOptions,
  ): Promise<unknown>;
  /**
   * Like {@linkcode AriRestClient.request} but returns the raw body, for
   * binary resources such as `GET /recordings/stored/{name}/file`.
   */
  requestBytes(
    method: HttpMethod,
    path: AriPath,
    options?: AriRequestOptions,
  ): Promise<AriBytesResponse>;
  /** Whether {@linkcode AriRestClient.close} or `drain` was called. */
  isClosed(): boolean;
  /**
   * Rejects new calls, waits for in-flight calls to settle, then closes.
   */
  drain(): Promise<void>;
  /**
   * Closes the client: new calls reject with `ClosedConnectionError`, and
   * in-flight calls are aborted (they reject with `ClosedConnectionError`).
   * Resolves once every in-flight call has settled. Idempotent.
   */
  close(): Promise<void>;
  /** Resolves (with `undefined`) once the client is closed; never rejects. */
  closed(): Promise<Error | undefined>;
}

const CLOSED_REASON = Symbol("closed");
const TIMEOUT_REASON = Symbol("timeout");
/** setTimeout cannot wait longer than this (a larger value fires at once). */
const MAX_TIMER = 2_147_483_647;
const TEMPLATE_CACHE_LIMIT = 512;
const MAX_ARI_MESSAGE = 500;
const PLACEHOLDER = /\{([^{}]*)\}/;
/** A `.` or `..` segment, also percent-encoded, as the WHATWG URL parser sees it. */
const DOT_SEGMENT = /(?:^|\/)(?:\.|%2e){1,2}(?:\/|$)/i;
const METHODS: ReadonlySet<string> = new Set(["GET", "POST", "PUT", "DELETE"]);

/** Literal and placeholder parts of a template: literal, name, literal, … */
const templateCache = new Map<string, readonly string[]>();

function assertSafeLiteralPath(path: string, what: string): void {
  if (path.length === 0 || path.charCodeAt(0) !== 0x2f /* / */) {
    throw new TypeError(
      `Cannot use ARI path ${JSON.stringify(what)}: it must start with "/"`,
    );
  }
  if (/[?#\\]/.test(path)) {
    throw new TypeError(
      `Cannot use ARI path ${
        JSON.stringify(what)
      }: it must not contain "?", "#" or "\\" (pass query parameters in "query")`,
    );
  }
  if (DOT_SEGMENT.test(path)) {
    throw new TypeError(
      `Cannot use ARI path ${
        JSON.stringify(what)
      }: it must not contain "." or ".." segments`,
    );
  }
}

function compileTemplate(template: string): readonly string[] {
  let parts = templateCache.get(template);
  if (parts !== undefined) return parts;
  parts = template.split(PLACEHOLDER);
  // Check the literal skeleton once, with every placeholder as a plain segment.
  let skeleton = parts[0]!;
  for (let i = 1; i < parts.length; i += 2) {
    if (parts[i] === "") {
      throw new TypeError(
        `Cannot use ARI path template ${
          JSON.stringify(template)
        }: it has an empty placeholder`,
      );
    }
    skeleton += "x" + parts[i + 1]!;
  }
  if (/[{}]/.test(skeleton)) {
    throw new TypeError(
      `Cannot use ARI path template ${
        JSON.stringify(template)
      }: it has unbalanced braces`,
    );
  }
  assertSafeLiteralPath(skeleton, template);
  if (templateCache.size >= TEMPLATE_CACHE_LIMIT) templateCache.clear();
  templateCache.set(template, parts);
  return parts;
}

/**
 * Resolves an {@linkcode AriPath} to the encoded path sent to Asterisk.
 * Exposed for callers that log or route by path.
 *
 * @param path A literal path or a template with parameters.
 * @returns The path, each parameter encoded with `encodeURIComponent`.
 * @throws {TypeError} A parameter is missing, not a string, empty, `"."` or
 * `".."`, or the literal part is unsafe (no leading `/`, `?`, `#`, `\`, dot
 * segments).
 *
 * @example Encode an id as one segment
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveAriPath } from "./rest.ts";
 *
 * assert.equal(
 *   resolveAriPath({ template: "/channels/{channelId}/answer", params: { channelId: "../asterisk/modules" } }),
 *   "/channels/..%2Fasterisk%2Fmodules/answer",
 * );
 * assert.throws(() => resolveAriPath({ template: "/channels/{id}", params: { id: ".." } }), TypeError);
 * ```
 */
export function resolveAriPath(path: AriPath): string {
  if (typeof path === "string") {
    assertSafeLiteralPath(path, path);
    return path;
  }
  if (
    path === null || typeof path !== "object" ||
    typeof path.template !== "string"
  ) {
    throw new TypeError(
      "Cannot use ARI path: expected a string or { template, params }",
    );
  }
  const parts = compileTemplate(path.template);
  if (parts.length === 1) return parts[0]!;
  const params = path.params;
  let out = parts[0]!;
  for (let i = 1; i < parts.length; i += 2) {
    const name = parts[i]!;
    const value = params != null && Object.hasOwn(params, name)
      ? params[name]
      : undefined;
    if (typeof value !== "string") {
      throw new TypeError(
        `Cannot build ARI path ${
          JSON.stringify(path.template)
        }: parameter "${name}" must be a string, got ${
          value === null ? "null" : typeof value
        }`,
      );
    }
    if (value === "" || value === "." || value === "..") {
      throw new TypeError(
        `Cannot build ARI path ${
          JSON.stringify(path.template)
        }: parameter "${name}" must not be ${JSON.stringify(value)}`,
      );
    }
    out += encodeURIComponent(value) + parts[i + 1]!;
  }
  return out;
}

/**
 * Encodes ARI query parameters: `undefined` and empty arrays are left out,
 * arrays are joined with literal commas (elements must not contain commas),
 * booleans become `true`/`false`.
 *
 * @param query The parameters.
 * @returns `""`, or `"?"` followed by the encoded parameters.
 * @throws {TypeError} For a value of another type or an array element with a
 * comma.
 * @throws {RangeError} For a number that is not finite.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeAriQuery } from "./rest.ts";
 *
 * assert.equal(
 *   encodeAriQuery({ variables: ["a", "b"], early: true, x: undefined, name: "a b" }),
 *   "?variables=a,b&early=true&name=a%20b",
 * );
 * ```
 */
export function encodeAriQuery(
  query: Readonly<Record<string, AriQueryValue>> | undefined,
): string {
  if (query === undefined) return "";
  let out = "";
  for (const key of Object.keys(query)) {
    const value = query[key];
    let encoded: string;
    if (value === undefined) continue;
    if (typeof value === "string") encoded = encodeURIComponent(value);
    else if (typeof value === "boolean") encoded = value ? "true" : "false";
    else if (typeof value === "number") {
      if (!Number.isFinite(value)) {
        throw new RangeError(
          `Cannot encode ARI query parameter "${key}": ${value} is not a finite number`,
        );
      }
      encoded = String(value);
    } else if (Array.isArray(value)) {
      if (value.length === 0) continue;
      encoded = "";
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i];
        if (typeof item !== "string") {
          throw new TypeError(
            `Cannot encode ARI query parameter "${key}": element ${i} is not a string`,
          );
        }
        if (item.includes(",")) {
          throw new TypeError(
            `Cannot encode ARI query parameter "${key}": element ${i} contains a comma, which ARI would split`,
          );
        }
        encoded += (i === 0 ? "" : ",") + encodeURIComponent(item);
      }
    } else {
      throw new TypeError(
        `Cannot encode ARI query parameter "${key}": unsupported type ${
          value === null ? "null" : typeof value
        }`,
      );
    }
    out += (out === "" ? "?" : "&") + encodeURIComponent(key) + "=" + encoded;
  }
  return out;
}

function basicAuth(username: string, password: string): string {
  const bytes = new TextEncoder().encode(`${username}:${password}`);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return "Basic " + btoa(binary);
}

const PEM_CERTIFICATE = "-----BEGIN CERTIFICATE-----";

/**
 * Checks `caCerts` (the option named `name`) and creates the
 * `Deno.HttpClient` that trusts them, or returns `undefined` for none.
 *
 * @param caCerts PEM texts of the extra trusted root certificates.
 * @param name The option's name, for error messages.
 * @returns The client (close it when done), or `undefined` when `caCerts` is
 * `undefined` or empty.
 * @throws {TypeError} If it is not an array of PEM certificate texts, if
 * Deno cannot parse one, or on Node and Bun (a Deno-only option there:
 * `NODE_EXTRA_CA_CERTS` does the job).
 *
 * @example A file path is not PEM text
 * ```ts
 * import assert from "node:assert/strict";
 * import { createCaHttpClient } from "./rest.ts";
 *
 * assert.equal(createCaHttpClient(undefined, "caCerts"), undefined);
 * assert.throws(() => createCaHttpClient(["/etc/ca.pem"], "caCerts"), TypeError);
 * ```
 */
export function createCaHttpClient(
  caCerts: readonly string[] | undefined,
  name: string,
): DenoHttpClient | undefined {
  if (caCerts === undefined) return undefined;
  if (!Array.isArray(caCerts)) {
    throw new TypeError(
      `Cannot use ${name}: it must be an array of PEM texts, got ${typeof caCerts}`,
    );
  }
  if (caCerts.length === 0) return undefined;
  caCerts.forEach((pem: unknown, i) => {
    if (typeof pem !== "string" || !pem.includes(PEM_CERTIFICATE)) {
      throw new TypeError(
        `Cannot use ${name}[${i}]: it must be the PEM text of a certificate (read the file first), got ${
          typeof pem === "string"
            ? JSON.stringify(pem.slice(0, 40))
            : typeof pem
        }`,
      );
    }
  });
  if (RUNTIME !== "deno") {
    throw new TypeError(
      `Cannot use ${name}: it needs Deno (Deno.createHttpClient); on ${RUNTIME} trust the CA process-wide instead with NODE_EXTRA_CA_CERTS=/path/to/ca.pem`,
    );
  }
  try {
    return Deno.createHttpClient({ caCerts: [...caCerts] });
  } catch (cause) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    throw new TypeError(`Cannot use ${name}: ${detail}`, { cause });
  }
}

/** The message of `error` and, if it differs, of its direct cause. */
function describeFailure(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const inner: unknown = error.cause;
  // Deno's fetch says only "fetch failed"; the reason (refused, TLS, DNS)
  // is in the cause.
  return inner instanceof Error && inner.message !== "" &&
      inner.message !== error.message
    ? `${error.message}: ${inner.message}`
    : error.message;
}

function validateTimeout(timeout: number, name: string): void {
  if (typeof timeout !== "number" || !(timeout > 0)) {
    throw new RangeError(
      `Cannot use ${name}: it must be a positive number of milliseconds, got ${timeout}`,
    );
  }
}

async function readAriMessage(
  response: Response,
): Promise<string> {
  let text = "";
  try {
    text = await response.text();
  } catch {
    // The body failed; fall back to the status text.
  }
  return ariMessageOf(text, response.statusText);
}

/** Asterisk's `{"message"}` from an error body, else the (cut) text or status text. */
function ariMessageOf(body: string, statusText: string): string {
  const text = body.trim();
  if (text !== "") {
    if (text.charCodeAt(0) === 0x7b /* { */) {
      try {
        const parsed: unknown = JSON.parse(text);
        if (
          parsed !== null && typeof parsed === "object" &&
          "message" in parsed && typeof parsed.message === "string"
        ) {
          return parsed.message;
        }
      } catch {
        // Not JSON: use the text.
      }
    }
    return text.length > MAX_ARI_MESSAGE
      ? text.slice(0, MAX_ARI_MESSAGE) + "…"
      : text;
  }
  return statusText;
}

async function readJson(response: Response, operation: string) {
  return parseJsonBody(await response.text(), operation);
}

function parseJsonBody(text: string, operation: string): unknown {
  if (text === "") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new ProtocolError(
      `Cannot parse the ARI response of ${operation}: the body is not JSON`,
      { code: "invalidJson", cause },
    );
  }
}

async function readBytes(
  response: Response,
): Promise<AriBytesResponse> {
  const bytes = await response.bytes();
  return {
    bytes,
    contentType: response.headers.get("content-type") ??
      "application/octet-stream",
  };
}

class RestClient implements AriRestClient {
  readonly #base: string;
  readonly #timeout: number;
  readonly #fetch: (
    input: string,
    init: RequestInit,
  ) => Promise<Response>;
  readonly #headers: Readonly<Record<string, string>>;
  readonly #jsonHeaders: Readonly<Record<string, string>>;
  readonly #bytesHeaders: Readonly<Record<string, string>>;
  readonly #inflight = new Set<AbortController>();
  readonly #deadlines = new DeadlineQueue();
  #httpClient: DenoHttpClient | undefined;
  readonly #signal: AbortSignal | undefined;
  readonly #ws: RestOverWebSocket | undefined;
  readonly #httpLimit: number;
  #httpActive = 0;
  #httpWaiters: (() => void)[] = [];
  readonly #closedPromise: Promise<Error | undefined>;
  readonly #resolveClosed: (value: Error | undefined) => void;
  #closing = false;
  #closed = false;
  #idleWaiters: (() => void)[] = [];

  constructor(options: AriRestClientOptions) {
    const {
      url,
      username,
      password = "",
      timeout = DEFAULT_REST_TIMEOUT,
      fetch: fetchImpl,
      caCerts,
      webSocketRequests,
      httpConcurrency = DEFAULT_HTTP_CONCURRENCY,
      signal,
    } = options;
    if (typeof url !== "string") {
      throw new TypeError("Cannot create ARI client: url must be a string");
    }
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch (cause) {
      throw new TypeError(
        `Cannot create ARI client: url ${JSON.stringify(url)} is not a URL`,
        { cause },
      );
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
      throw new TypeError(
        `Cannot create ARI client: url ${
          JSON.stringify(url)
        } must use http: or https:`,
      );
    }
    if (parsed.search !== "" || parsed.hash !== "") {
      throw new TypeError(
        `Cannot create ARI client: url ${
          JSON.stringify(url)
        } must not have a query or fragment`,
      );
    }
    if (parsed.username !== "" || parsed.password !== "") {
      throw new TypeError(
        "Cannot create ARI client: pass credentials as username/password, not in the url",
      );
    }
    validateTimeout(timeout, "timeout");
    if (!Number.isSafeInteger(httpConcurrency) || httpConcurrency < 1) {
      throw new RangeError(
        `Cannot create ARI client: httpConcurrency must be a positive integer, got ${httpConcurrency}`,
      );
    }
    this.#httpLimit = httpConcurrency;
    const httpClient = createCaHttpClient(caCerts, "caCerts");
    this.#httpClient = httpClient;
    this.#base = parsed.href.replace(/\/+$/, "");
    this.#timeout = timeout;
    const baseFetch: FetchLike = fetchImpl ??
      ((input, init) => fetch(input, init));
    this.#fetch = httpClient === undefined ? baseFetch : (input, init) => {
      const withClient: RequestInit & { client: Deno.HttpClient } = {
        ...init,
        client: httpClient as Deno.HttpClient,
      };
      return baseFetch(input, withClient);
    };
    const headers: Record<string, string> = { accept: "application/json" };
    if (username !== undefined) {
      headers.authorization = basicAuth(username, password);
    }
    this.#headers = Object.freeze({ ...headers });
    this.#jsonHeaders = Object.freeze({
      ...headers,
      "content-type": "application/json",
    });
    this.#bytesHeaders = Object.freeze({ ...headers, accept: "*/*" });
    const { promise, resolve } = Promise.withResolvers<Error | undefined>();
    this.#closedPromise = promise;
    this.#resolveClosed = resolve;
    this.#ws = webSocketRequests;
    this.#signal = signal;
    if (signal !== undefined) {
      if (signal.aborted) {
        this.#markClosed();
        this.#releaseHttpClient();
      } else {signal.addEventListener("abort", this.#onSignalAbort, {
          once: true,
        });}
    }
  }

  #onSignalAbort = (): void => {
    void this.close();
  };

  request(
    method: HttpMethod,
    path: AriPath,
    options?: AriRequestOptions,
  ): Promise<unknown> {
    return this.#perform(method, path, options, false) as Promise<unknown>;
  }

  requestBytes(
    method: HttpMethod,
    path: AriPath,
    options?: AriRequestOptions,
  ): Promise<AriBytesResponse> {
    return this.#perform(method, path, options, true) as Promise<
      AriBytesResponse
    >;
  }

  async #perform(
    method: HttpMethod,
    pathArg: AriPath,
    options: AriRequestOptions | undefined,
    bytes: boolean,
  ): Promise<unknown> {
    if (this.#closing) throw new ClosedConnectionError("ARI REST client");
    if (!METHODS.has(method)) {
      throw new TypeError(
        `Cannot call ARI: unsupported method ${JSON.stringify(method)}`,
      );
    }
    const path = resolveAriPath(pathArg);
    const url = this.#base + path + encodeAriQuery(options?.query);
    if (url.length > MAX_URL_LENGTH) {
      throw new RangeError(
        `Cannot ${method} ${path}: the request URL is ${url.length} characters long (at most ${MAX_URL_LENGTH}); send large values in the body`,
      );
    }
    const timeout = options?.timeout ?? this.#timeout;
    if (options?.timeout !== undefined) {
      validateTimeout(timeout, "the timeout option");
    }
    const body = options?.body;
    const callerSignal = options?.signal;
    callerSignal?.throwIfAborted();
    const bodyText = body === undefined ? undefined : JSON.stringify(body);

    const controller = new AbortController();
    const deadline = timeout <= MAX_TIMER
      ? this.#deadlines.add(timeout, () => controller.abort(TIMEOUT_REASON))
      : undefined;
    const onCallerAbort = () => controller.abort(callerSignal!.reason);
    callerSignal?.addEventListener("abort", onCallerAbort, { once: true });
    this.#inflight.add(controller);
    try {
      const ws = this.#ws;
      if (
        ws !== undefined && !bytes &&
        (ws.mode === "websocket" || ws.support() === "supported") &&
        ws.fits(url, bodyText)
      ) {
        return await this.#viaWebSocket(
          ws,
          method,
          path,
          url,
          bodyText,
          controller.signal,
          timeout,
        );
      }
      return await this.#viaHttp(
        method,
        path,
        url,
        bodyText,
        bytes,
        controller.signal,
        timeout,
      );
    } finally {
      deadline?.cancel();
      callerSignal?.removeEventListener("abort", onCallerAbort);
      this.#inflight.delete(controller);
      if (this.#inflight.size === 0 && this.#idleWaiters.length > 0) {
        const waiters = this.#idleWaiters;
        this.#idleWaiters = [];
        for (const w of waiters) w();
      }
    }
  }

  /**
   * One JSON call as a `RESTRequest`; a read whose socket closes under it is
   * sent again (over HTTP in `"auto"` mode when no socket carries requests).
   */
  async #viaWebSocket(
    ws: RestOverWebSocket,
    method: HttpMethod,
    path: string,
    url: string,
    bodyText: string | undefined,
    signal: AbortSignal,
    timeout: number,
  ): Promise<unknown> {
    // The resource path relative to the ARI base (Asterisk refuses a leading "/").
    const uri = url.slice(this.#base.length + 1);
    let response: WsRestResponse;
    for (;;) {
      if (ws.mode === "auto" && ws.support() !== "supported") {
        return await this.#viaHttp(
          method,
          path,
          url,
          bodyText,
          false,
          signal,
          timeout,
        );
      }
      try {
        if (ws.mode === "websocket") await ws.whenSupported(signal);
        response = await ws.request(method, uri, bodyText, signal);
        break;
      } catch (cause) {
        if (signal.aborted) {
          throw this.#failure(signal, cause, method, path, timeout);
        }
        if (cause instanceof ConnectionError && method === "GET") {
          if (ws.mode === "auto" || ws.support() !== "unsupported") continue;
        }
        if (cause instanceof ConnectionError) {
          throw new ConnectionError(cause.message.replace(uri, path), {
            target: this.#base,
            cause,
          });
        }
        throw cause;
      }
    }
    const { status } = response;
    if (status < 200 || status > 299) {
      throw new AriHttpError(ariMessageOf(response.body, response.reason), {
        status,
        method,
        path,
      });
    }
    return parseJsonBody(response.body, `${method} ${path}`);
  }

  async #viaHttp(
    method: HttpMethod,
    path: string,
    url: string,
    bodyText: string | undefined,
    bytes: boolean,
    signal: AbortSignal,
    timeout: number,
  ): Promise<unknown> {
    const init: RequestInit = {
      method,
      headers: bytes
        ? this.#bytesHeaders
        : bodyText === undefined
        ? this.#headers
        : this.#jsonHeaders,
      signal,
    };
    if (bodyText !== undefined) init.body = bodyText;
    try {
      await this.#acquireHttp(signal);
    } catch (cause) {
      throw this.#failure(signal, cause, method, path, timeout);
    }
    let response: Response;
    try {
      response = await this.#fetch(url, init);
    } catch (cause) {
      this.#releaseHttp();
      throw this.#failure(signal, cause, method, path, timeout);
    }
    try {
      if (!response.ok) {
        const ariMessage = await readAriMessage(response);
        if (signal.aborted) {
          throw this.#failure(signal, undefined, method, path, timeout);
        }
        throw new AriHttpError(ariMessage, {
          status: response.status,
          method,
          path,
        });
      }
      return bytes
        ? await readBytes(response)
        : await readJson(response, `${method} ${path}`);
    } catch (cause) {
      if (
        cause instanceof AriHttpError || cause instanceof ProtocolError ||
        cause instanceof TimeoutError ||
        cause instanceof ClosedConnectionError ||
        cause instanceof ConnectionError
      ) {
        throw cause;
      }
      throw this.#failure(signal, cause, method, path, timeout);
    } finally {
      this.#releaseHttp();
    }
  }

  /** Waits for one of the `httpConcurrency` slots (rejects when `signal` aborts). */
  #acquireHttp(signal: AbortSignal): Promise<void> {
    if (this.#httpActive < this.#httpLimit) {
      this.#httpActive++;
      return Promise.resolve();
    }
    signal.throwIfAborted();
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const i = this.#httpWaiters.indexOf(waiter);
        if (i >= 0) this.#httpWaiters.splice(i, 1);
        reject(signal.reason);
      };
      const waiter = () => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#httpWaiters.push(waiter);
    });
  }

  /** Hands the slot to the next waiting call, or frees it. */
  #releaseHttp(): void {
    const next = this.#httpWaiters.shift();
    if (next !== undefined) next();
    else this.#httpActive--;
  }

  #failure(
    signal: AbortSignal,
    cause: unknown,
    method: string,
    path: string,
    timeout: number,
  ): unknown {
    if (signal.aborted) {
      const reason: unknown = signal.reason;
      if (reason === TIMEOUT_REASON) {
        return new TimeoutError({
          timeout,
          operation: `${method} ${path}`,
          cause,
        });
      }
      if (reason === CLOSED_REASON) {
        return new ClosedConnectionError("ARI REST client", { cause });
      }
      return reason;
    }
    const detail = describeFailure(cause);
    return new ConnectionError(`Cannot ${method} ${path}: ${detail}`, {
      target: this.#base,
      cause,
    });
  }

  #idle(): Promise<void> {
    if (this.#inflight.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #markClosed(): void {
    this.#closing = true;
    if (this.#closed) return;
    this.#closed = true;
    this.#signal?.removeEventListener("abort", this.#onSignalAbort);
    this.#resolveClosed(undefined);
  }

  /** Closes the `caCerts` HTTP client once no call can use it. */
  #releaseHttpClient(): void {
    const httpClient = this.#httpClient;
    this.#httpClient = undefined;
    httpClient?.close();
  }

  isClosed(): boolean {
    return this.#closing;
  }

  async drain(): Promise<void> {
    this.#closing = true;
    await this.#idle();
    this.#markClosed();
    this.#deadlines.close();
    this.#releaseHttpClient();
  }

  async close(): Promise<void> {
    this.#markClosed();
    for (const controller of this.#inflight) controller.abort(CLOSED_REASON);
    await this.#idle();
    this.#deadlines.close();
    this.#releaseHttpClient();
  }

  closed(): Promise<Error | undefined> {
    return this.#closedPromise;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Creates an ARI HTTP client.
 *
 * The authorization header is computed once. Each call is bounded by its
 * timeout (headers and body); Asterisk's JSON error message becomes
 * {@linkcode AriHttpError.ariMessage}.
 *
 * @param options Base URL, credentials, default timeout and collaborators.
 * @returns The client; close it with `close()` or `await using`.
 * @throws {TypeError} If `url` is not an http(s) URL without query, fragment
 * or credentials.
 * @throws {RangeError} If `timeout` is not a positive number.
 *
 * @example Answer a channel
 * ```ts ignore live
 * import assert from "node:assert/strict";
 * import { AriHttpError } from "../errors.ts";
 * import { createAriRestClient } from "./rest.ts";
 *
 * await using ari = createAriRestClient({
 *   url: "http://127.0.0.1:8088/ari",
 *   username: "proxy",
 *   password: "secret",
 * });
 * const info = await ari.request("GET", "/asterisk/info");
 * assert.ok(info);
 * // Path parameters are encoded; a channel that does not exist is a 404.
 * await assert.rejects(
 *   ari.request("POST", {
 *     template: "/channels/{channelId}/play",
 *     params: { channelId: "1700000000.1" },
 *   }, { query: { media: ["sound:hello-world", "sound:tt-monkeys"] } }),
 *   (error: unknown) => error instanceof AriHttpError && error.status === 404,
 * );
 * ```
 *
 * @example With an injected fetch
 * ```ts
 * import assert from "node:assert/strict";
 * import { createAriRestClient } from "./rest.ts";
 *
 * const seen: string[] = [];
 * await using ari = createAriRestClient({
 *   url: "http://ari.invalid/ari",
 *   fetch: (url) => {
 *     seen.push(url);
 *     return Promise.resolve(new Response(null, { status: 204 }));
 *   },
 * });
 * assert.equal(await ari.request("DELETE", { template: "/bridges/{id}", params: { id: "b 1" } }), undefined);
 * assert.deepEqual(seen, ["http://ari.invalid/ari/bridges/b%201"]);
 * ```
 */
export function createAriRestClient(
  options: AriRestClientOptions,
): AriRestClient {
  return new RestClient(options);
}
