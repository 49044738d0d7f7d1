/**
 * A lean HTTP/1.1 keep-alive client with a `fetch`-compatible signature, for
 * ARI calls on a hot path.
 *
 * Deno's `fetch` costs ~2.5x the CPU of a plain keep-alive socket per small
 * request (measured in BENCHMARKS.md), and the proxy makes one ARI call per
 * NATS request. {@linkcode createHttp1Fetch} returns a function that
 * {@linkcode createAriRestClient} accepts as its `fetch` option: it keeps a
 * pool of `Deno.connect` sockets per origin, writes each request in one
 * write and reads the whole response into memory before resolving.
 *
 * Scope: `http:` URLs with a string, bytes or `URLSearchParams` body. Anything
 * else (`https:`, a `Request` input, a stream/Blob/FormData body, a custom
 * `client`) goes to the fallback `fetch` unchanged. Redirects are not
 * followed (a 3xx is returned as is), response bodies are not decoded
 * (no `accept-encoding` is sent), and `Response.url` is empty.
 *
 * @module
 */

import { concatBytes, findCrlf } from "../_bytes.ts";
import { ClosedConnectionError, ConnectionError } from "../errors.ts";
import type { FetchLike } from "./rest.ts";

export type { FetchLike };

/** Default {@linkcode Http1FetchOptions.maxConnections}. */
export const DEFAULT_HTTP1_MAX_CONNECTIONS = 32;
/**
 * Default {@linkcode Http1FetchOptions.idleTimeout}, in milliseconds: well
 * below Asterisk's `session_keep_alive` (15 s), so the client, not the
 * server, closes idle sockets.
 */
export const DEFAULT_HTTP1_IDLE_TIMEOUT = 5_000;
/** Default {@linkcode Http1FetchOptions.maxResponseBytes} (32 MiB). */
export const DEFAULT_HTTP1_MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

/** Longest status line plus headers (or chunk-size line, or trailers) accepted. */
const MAX_HEAD_BYTES = 64 * 1024;
const INITIAL_BUFFER = 16 * 1024;
const RETRYABLE_METHODS: ReadonlySet<string> = new Set([
  "GET",
  "HEAD",
  "PUT",
  "DELETE",
  "OPTIONS",
]);
const NORMALIZED_METHODS: ReadonlySet<string> = new Set([
  "DELETE",
  "GET",
  "HEAD",
  "OPTIONS",
  "POST",
  "PUT",
]);
/** Request headers that frame the message; the client sets them itself. */
const FRAMING_HEADERS: ReadonlySet<string> = new Set([
  "connection",
  "content-length",
  "keep-alive",
  "transfer-encoding",
  "upgrade",
]);
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const BAD_HEADER_VALUE = /[\0\r\n]|[^\0-\xff]/;
const NON_ASCII = /[^\0-\x7f]/;
const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: ([^]*))?$/;
const CONTENT_LENGTH = /^\d{1,15}$/;
const CHUNK_SIZE = /^([0-9A-Fa-f]{1,12})[\t ]*(?:;[^]*)?$/;
/**
 * An `http:` URL with a plain host (name or IPv4, optional port) and a
 * target made only of characters the WHATWG URL parser keeps as they are
 * (and `%XX` escapes): such a URL needs no parsing to be sent.
 */
const FAST_URL =
  /^http:\/\/([A-Za-z0-9.-]+(?::\d{1,5})?)(\/(?:[A-Za-z0-9\-._~!$&()*+,;=:@/?]|%[0-9A-Fa-f]{2})*)?$/;
/** Host (as written in URLs) → its parts; bounded, ARI clients use one or two. */
const originCache = new Map<
  string,
  { hostname: string; port: number; host: string }
>();

/** Options of {@linkcode createHttp1Fetch}. */
export interface Http1FetchOptions {
  /**
   * Most sockets open at once per origin; further requests wait for one.
   *
   * @default {32}
   */
  maxConnections?: number;
  /**
   * How long an unused socket stays in the pool, in milliseconds.
   *
   * @default {5000}
   */
  idleTimeout?: number;
  /**
   * Largest response body accepted, in bytes; a larger one fails the call.
   *
   * @default {33554432}
   */
  maxResponseBytes?: number;
  /**
   * The `fetch` used for what this client does not handle (`https:`,
   * streamed bodies, `Request` inputs, an explicit `client`).
   *
   * @default {globalThis.fetch}
   */
  fetch?: FetchLike;
}

/**
 * A `fetch`-compatible function with a socket pool; close it to release the
 * sockets. Create it with {@linkcode createHttp1Fetch}.
 */
export interface Http1Fetch extends AsyncDisposable {
  /**
   * Performs a request like `fetch`, buffering the whole response body.
   *
   * @throws {ConnectionError} The connection failed, was closed early or the
   * response is malformed or too large.
   * @throws {ClosedConnectionError} The client is closed.
   * @throws {TypeError} For an invalid method, header or URL.
   */
  (input: string | URL, init?: RequestInit): Promise<Response>;
  /**
   * Like the call itself, but resolves with a lighter read-only response
   * (no `Response`, `Headers` or body stream is built). The ARI REST client
   * uses it when given this function as its `fetch`.
   */
  buffered(input: string, init: RequestInit): Promise<BufferedResponseLike>;
  /** Whether {@linkcode Http1Fetch.close} was called. */
  isClosed(): boolean;
  /**
   * Closes every socket; requests in flight reject with
   * `ClosedConnectionError`, later ones too. Idempotent.
   */
  close(): Promise<void>;
}

/** Thrown inside the exchange when the socket failed before any response byte. */
class StaleSocketError extends Error {
  /** Whether the request was certainly not sent (the write failed). */
  readonly unsent: boolean;
  constructor(message: string, unsent: boolean, options?: ErrorOptions) {
    super(message, options);
    this.name = "StaleSocketError";
    this.unsent = unsent;
  }
}

/** A parsed, validated request ready to be written. */
interface PreparedRequest {
  method: string;
  href: string;
  hostname: string;
  port: number;
  origin: string;
  bytes: Uint8Array;
}

const encoder = new TextEncoder();
/** Serialized header blocks of frozen header records (rest.ts reuses them). */
const headerBlockCache = new WeakMap<object, HeaderBlock>();

interface HeaderBlock {
  text: string;
  hasHost: boolean;
  hasContentType: boolean;
  ascii: boolean;
}

function latin1(bytes: Uint8Array, start: number, end: number): string {
  let out = "";
  for (let i = start; i < end; i += 8192) {
    out += String.fromCharCode.apply(
      null,
      bytes.subarray(i, Math.min(end, i + 8192)) as unknown as number[],
    );
  }
  return out;
}

function encodeLatin1(text: string, into: Uint8Array): void {
  for (let i = 0; i < text.length; i++) into[i] = text.charCodeAt(i);
}

function addHeader(
  block: HeaderBlock,
  name: string,
  value: string,
): void {
  if (!TOKEN.test(name)) {
    throw new TypeError(
      `Cannot send header ${JSON.stringify(name)}: invalid header name`,
    );
  }
  const trimmed = value.replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, "");
  if (BAD_HEADER_VALUE.test(trimmed)) {
    throw new TypeError(
      `Cannot send header ${JSON.stringify(name)}: invalid header value`,
    );
  }
  const lower = name.toLowerCase();
  if (FRAMING_HEADERS.has(lower)) return;
  if (lower === "host") block.hasHost = true;
  else if (lower === "content-type") block.hasContentType = true;
  if (block.ascii && NON_ASCII.test(trimmed)) block.ascii = false;
  block.text += `${lower}: ${trimmed}\r\n`;
}

function headerBlock(headers: HeadersInit | undefined): HeaderBlock {
  if (headers === undefined || headers === null) {
    return { text: "", hasHost: false, hasContentType: false, ascii: true };
  }
  const isRecord = !(headers instanceof Headers) && !Array.isArray(headers);
  if (isRecord) {
    const cached = headerBlockCache.get(headers);
    if (cached !== undefined) return cached;
  }
  const block: HeaderBlock = {
    text: "",
    hasHost: false,
    hasContentType: false,
    ascii: true,
  };
  if (headers instanceof Headers) {
    for (const [name, value] of headers) addHeader(block, name, value);
  } else if (Array.isArray(headers)) {
    for (const pair of headers) {
      if (pair.length !== 2) {
        throw new TypeError(
          "Cannot send headers: each entry needs a name and a value",
        );
      }
      addHeader(block, String(pair[0]), String(pair[1]));
    }
  } else {
    const record = headers as Record<string, string>;
    for (const name of Object.keys(record)) {
      addHeader(block, name, String(record[name]));
    }
    if (Object.isFrozen(headers)) headerBlockCache.set(headers, block);
  }
  return block;
}

/**
 * Builds the request bytes, or returns `undefined` when the request is for
 * the fallback `fetch`.
 */
function prepare(
  input: string | URL,
  init: RequestInit | undefined,
): PreparedRequest | undefined {
  // A custom client (e.g. extra CA certificates) is the fallback's job.
  if (init !== undefined && (init as { client?: unknown }).client != null) {
    return undefined;
  }
  if (typeof input === "string") {
    const fast = prepareFast(input, init);
    if (fast !== undefined) return fast;
  }
  let url: URL;
  if (typeof input === "string") {
    try {
      url = new URL(input);
    } catch (cause) {
      throw new TypeError(
        `Cannot fetch ${JSON.stringify(input)}: invalid URL`,
        {
          cause,
        },
      );
    }
  } else if (input instanceof URL) url = input;
  else return undefined;
  if (url.protocol !== "http:") return undefined;
  if (url.username !== "" || url.password !== "") {
    throw new TypeError(
      `Cannot fetch ${url.origin}${url.pathname}: credentials in the URL are not supported`,
    );
  }
  const hostname = url.hostname.startsWith("[")
    ? url.hostname.slice(1, -1)
    : url.hostname;
  return build(
    init,
    url.href,
    url.host,
    hostname,
    url.port === "" ? 80 : Number(url.port),
    url.pathname + url.search,
  );
}

/**
 * The URLs the ARI client builds (`http://host:port/path?query`, already
 * percent-encoded, no credentials or fragment), split without a `URL`
 * object; anything else returns `undefined` for the full parser.
 */
function prepareFast(
  input: string,
  init: RequestInit | undefined,
): PreparedRequest | undefined {
  const match = FAST_URL.exec(input);
  if (match === null) return undefined;
  const target = match[2] ?? "/";
  // Dot segments are resolved by the full parser.
  if (target.includes("/.")) return undefined;
  const host = match[1]!;
  let origin = originCache.get(host);
  if (origin === undefined) {
    const colon = host.lastIndexOf(":");
    const hostname = (colon < 0 ? host : host.slice(0, colon)).toLowerCase();
    const port = colon < 0 ? 80 : Number(host.slice(colon + 1));
    if (!(port > 0 && port < 65536)) return undefined;
    const canonical = port === 80 ? hostname : `${hostname}:${port}`;
    origin = { hostname, port, host: canonical };
    if (originCache.size < 64) originCache.set(host, origin);
  }
  return build(
    init,
    `http://${origin.host}${target}`,
    origin.host,
    origin.hostname,
    origin.port,
    target,
  );
}

function build(
  init: RequestInit | undefined,
  href: string,
  host: string,
  hostname: string,
  port: number,
  target: string,
): PreparedRequest | undefined {
  let method = init?.method ?? "GET";
  const upper = method.toUpperCase();
  if (NORMALIZED_METHODS.has(upper)) method = upper;
  else if (!TOKEN.test(method)) {
    throw new TypeError(
      `Cannot fetch: invalid method ${JSON.stringify(method)}`,
    );
  } else if (upper === "CONNECT" || upper === "TRACE" || upper === "TRACK") {
    throw new TypeError(
      `Cannot fetch: method ${JSON.stringify(method)} is forbidden`,
    );
  }

  const rawBody = init?.body;
  let body: Uint8Array | undefined;
  let defaultContentType: string | undefined;
  if (rawBody === undefined || rawBody === null) body = undefined;
  else if (typeof rawBody === "string") {
    body = encoder.encode(rawBody);
    defaultContentType = "text/plain;charset=UTF-8";
  } else if (rawBody instanceof Uint8Array) body = rawBody;
  else if (rawBody instanceof ArrayBuffer) body = new Uint8Array(rawBody);
  else if (ArrayBuffer.isView(rawBody)) {
    body = new Uint8Array(
      rawBody.buffer,
      rawBody.byteOffset,
      rawBody.byteLength,
    );
  } else if (rawBody instanceof URLSearchParams) {
    body = encoder.encode(rawBody.toString());
    defaultContentType = "application/x-www-form-urlencoded;charset=UTF-8";
  } else return undefined;
  if (body !== undefined && (method === "GET" || method === "HEAD")) {
    throw new TypeError(`Cannot fetch: a ${method} request cannot have a body`);
  }

  const block = headerBlock(init?.headers);
  let head = `${method} ${target} HTTP/1.1\r\n`;
  if (!block.hasHost) head += `host: ${host}\r\n`;
  head += block.text;
  if (defaultContentType !== undefined && !block.hasContentType) {
    head += `content-type: ${defaultContentType}\r\n`;
  }
  if (body !== undefined) head += `content-length: ${body.length}\r\n\r\n`;
  else if (method === "POST" || method === "PUT" || method === "PATCH") {
    head += "content-length: 0\r\n\r\n";
  } else head += "\r\n";

  const bodyLength = body === undefined ? 0 : body.length;
  const bytes = new Uint8Array(head.length + bodyLength);
  if (block.ascii) encoder.encodeInto(head, bytes);
  else encodeLatin1(head, bytes);
  if (body !== undefined) bytes.set(body, head.length);

  return { method, href, hostname, port, origin: host, bytes };
}

/** A response read whole: head and body (`null` for 204/205/304/HEAD). */
interface Exchanged {
  head: ParsedHead;
  body: Uint8Array<ArrayBuffer> | null;
  reusable: boolean;
}

/**
 * What the ARI REST client reads from a response; `Response` has it, and
 * so does the lighter object {@linkcode Http1Fetch.buffered} returns.
 */
export interface BufferedResponseLike {
  /** Status 200–299. */
  readonly ok: boolean;
  /** HTTP status. */
  readonly status: number;
  /** Reason phrase. */
  readonly statusText: string;
  /** Response headers (lookup by name, case-insensitive). */
  readonly headers: { get(name: string): string | null };
  /** The body as UTF-8 text. */
  text(): Promise<string>;
  /** The body bytes. */
  bytes(): Promise<Uint8Array>;
}

const utf8 = new TextDecoder();

/** A response without the `Response` machinery: buffered, read-only. */
class BufferedResponse implements BufferedResponseLike {
  readonly status: number;
  readonly statusText: string;
  readonly headers: { get(name: string): string | null };
  readonly #body: Uint8Array<ArrayBuffer> | null;

  constructor(head: ParsedHead, body: Uint8Array<ArrayBuffer> | null) {
    this.status = head.status;
    this.statusText = head.statusText;
    this.#body = body;
    const pairs = head.headers;
    this.headers = {
      get(name: string): string | null {
        const lower = name.toLowerCase();
        let value: string | null = null;
        for (const [key, item] of pairs) {
          if (key.toLowerCase() !== lower) continue;
          value = value === null ? item : `${value}, ${item}`;
        }
        return value;
      },
    };
  }

  get ok(): boolean {
    return this.status >= 200 && this.status <= 299;
  }

  text(): Promise<string> {
    return Promise.resolve(
      this.#body === null ? "" : utf8.decode(this.#body),
    );
  }

  bytes(): Promise<Uint8Array> {
    return Promise.resolve(this.#body ?? new Uint8Array(0));
  }
}

/** One pooled socket with its read buffer. */
class Connection {
  readonly conn: Deno.TcpConn;
  buf: Uint8Array<ArrayBuffer> = new Uint8Array(INITIAL_BUFFER);
  start = 0;
  end = 0;
  /** The read started when the socket went idle (it watches for a close). */
  pending: Promise<number | null> | undefined;
  idle = false;
  idleSince = 0;
  dead = false;
  /** Whether the socket served a request before the current one. */
  used = false;
  /** Whether the current response has delivered at least one byte. */
  received = false;

  constructor(conn: Deno.TcpConn) {
    this.conn = conn;
  }

  close(): void {
    if (this.dead) return;
    this.dead = true;
    try {
      this.conn.close();
    } catch {
      // Already closed.
    }
  }

  /** Reads more bytes into the buffer; `false` at end of stream. */
  async fill(limit: number): Promise<boolean> {
    if (this.end === this.buf.length) {
      if (this.start > 0) {
        this.buf.copyWithin(0, this.start, this.end);
        this.end -= this.start;
        this.start = 0;
      } else {
        if (this.buf.length >= limit) return Promise.reject(tooLong());
        const bigger = new Uint8Array(Math.min(limit, this.buf.length * 2));
        bigger.set(this.buf);
        this.buf = bigger;
      }
    }
    let promise = this.pending;
    this.pending = undefined;
    promise ??= this.conn.read(this.buf.subarray(this.end));
    const n = await promise;
    if (n === null) return false;
    this.end += n;
    this.received = true;
    return true;
  }

  /** Reads straight into `target` (for large bodies); `null` at end of stream. */
  async readInto(target: Uint8Array): Promise<number | null> {
    const n = await this.conn.read(target);
    if (n !== null) this.received = true;
    return n;
  }
}

function tooLong(): Error {
  return new RangeError("the response head is too long");
}

function findHeadEnd(buf: Uint8Array, from: number, end: number): number {
  let i = from;
  while (i < end - 3) {
    i = buf.indexOf(13, i);
    if (i < 0 || i >= end - 3) return -1;
    if (buf[i + 1] === 10 && buf[i + 2] === 13 && buf[i + 3] === 10) return i;
    i++;
  }
  return -1;
}

interface ParsedHead {
  status: number;
  statusText: string;
  headers: [string, string][];
  minor: number;
  contentLength: number | undefined;
  chunked: boolean;
  /** Transfer-Encoding without final chunked: the body ends at close. */
  untilClose: boolean;
  connectionClose: boolean;
  connectionKeepAlive: boolean;
}

function malformed(detail: string): Error {
  return new SyntaxError(`malformed response: ${detail}`);
}

function parseHead(text: string): ParsedHead {
  const lines = text.split("\r\n");
  const match = STATUS_LINE.exec(lines[0]!);
  if (match === null) {
    throw malformed(
      `bad status line ${JSON.stringify(lines[0]!.slice(0, 80))}`,
    );
  }
  const head: ParsedHead = {
    status: Number(match[2]),
    statusText: match[3] ?? "",
    headers: [],
    minor: Number(match[1]),
    contentLength: undefined,
    chunked: false,
    untilClose: false,
    connectionClose: false,
    connectionKeepAlive: false,
  };
  let transferEncoding: string | undefined;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(":");
    if (colon <= 0) {
      throw malformed(`bad header line ${JSON.stringify(line.slice(0, 80))}`);
    }
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) {
      throw malformed(`bad header name ${JSON.stringify(name)}`);
    }
    const value = line.slice(colon + 1).replace(/^[\t ]+|[\t ]+$/g, "");
    head.headers.push([name, value]);
    const lower = name.toLowerCase();
    if (lower === "content-length") {
      // Repeated identical values ("5, 5" or two headers) are allowed.
      for (const part of value.split(",")) {
        const item = part.trim();
        if (!CONTENT_LENGTH.test(item)) {
          throw malformed(`bad content-length ${JSON.stringify(value)}`);
        }
        const n = Number(item);
        if (head.contentLength !== undefined && head.contentLength !== n) {
          throw malformed("conflicting content-length values");
        }
        head.contentLength = n;
      }
    } else if (lower === "transfer-encoding") {
      transferEncoding = transferEncoding === undefined
        ? value
        : `${transferEncoding}, ${value}`;
    } else if (lower === "connection") {
      for (const part of value.toLowerCase().split(",")) {
        const token = part.trim();
        if (token === "close") head.connectionClose = true;
        else if (token === "keep-alive") head.connectionKeepAlive = true;
      }
    }
  }
  if (transferEncoding !== undefined) {
    const codings = transferEncoding.toLowerCase().split(",");
    head.chunked = codings[codings.length - 1]!.trim() === "chunked";
    head.untilClose = !head.chunked;
    // With both, Transfer-Encoding wins and the socket must not be reused.
    if (head.contentLength !== undefined) head.connectionClose = true;
    head.contentLength = undefined;
  }
  return head;
}

async function writeAll(conn: Deno.TcpConn, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) {
    offset += await conn.write(offset === 0 ? bytes : bytes.subarray(offset));
  }
}

/** Sockets of one origin. */
class Pool {
  readonly #hostname: string;
  readonly #port: number;
  readonly #max: number;
  readonly #idleTimeout: number;
  readonly #idle: Connection[] = [];
  readonly #all = new Set<Connection>();
  readonly #waiters: {
    resolve: (c: Connection | undefined) => void;
    reject: (e: unknown) => void;
  }[] = [];
  /** Sockets in use or being opened. */
  #active = 0;
  #sweepTimer: ReturnType<typeof setTimeout> | undefined;
  closed = false;

  constructor(
    hostname: string,
    port: number,
    max: number,
    idleTimeout: number,
  ) {
    this.#hostname = hostname;
    this.#port = port;
    this.#max = max;
    this.#idleTimeout = idleTimeout;
  }

  /** Takes an idle socket, opens one, or waits for one. */
  async acquire(signal: AbortSignal | undefined): Promise<Connection> {
    const now = Date.now();
    while (this.#idle.length > 0) {
      const c = this.#idle.pop()!;
      if (c.dead) continue;
      if (now - c.idleSince >= this.#idleTimeout) {
        this.#drop(c);
        continue;
      }
      this.#activate(c);
      return c;
    }
    if (this.#active >= this.#max) {
      const reused = await this.#wait(signal);
      if (reused !== undefined) return reused;
    } else this.#active++;
    try {
      return await this.#open(signal);
    } catch (error) {
      this.#active--;
      this.#next();
      throw error;
    }
  }

  #activate(c: Connection): void {
    c.idle = false;
    c.used = true;
    c.received = false;
    c.conn.ref();
    this.#active++;
  }

  #wait(signal: AbortSignal | undefined): Promise<Connection | undefined> {
    signal?.throwIfAborted();
    const { promise, resolve, reject } = Promise.withResolvers<
      Connection | undefined
    >();
    const waiter = {
      resolve: (c: Connection | undefined) => {
        signal?.removeEventListener("abort", onAbort);
        resolve(c);
      },
      reject: (e: unknown) => {
        signal?.removeEventListener("abort", onAbort);
        reject(e);
      },
    };
    const onAbort = () => {
      const i = this.#waiters.indexOf(waiter);
      if (i >= 0) this.#waiters.splice(i, 1);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    this.#waiters.push(waiter);
    return promise;
  }

  async #open(signal: AbortSignal | undefined): Promise<Connection> {
    signal?.throwIfAborted();
    const connecting = Deno.connect({
      hostname: this.#hostname,
      port: this.#port,
    });
    let conn: Deno.TcpConn;
    if (signal === undefined) conn = await connecting;
    else {
      const aborted = Promise.withResolvers<never>();
      const onAbort = () => aborted.reject(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      try {
        conn = await Promise.race([connecting, aborted.promise]);
      } catch (error) {
        if (signal.aborted) {
          connecting.then((late) => late.close(), () => {});
        }
        throw error;
      } finally {
        signal.removeEventListener("abort", onAbort);
      }
    }
    if (this.closed) {
      conn.close();
      throw new ClosedConnectionError("HTTP/1.1 client");
    }
    conn.setNoDelay(true);
    const c = new Connection(conn);
    this.#all.add(c);
    return c;
  }

  /** Returns a socket after a request; `reusable` false closes it. */
  release(c: Connection, reusable: boolean): void {
    if (!reusable || this.closed || c.dead || c.start !== c.end) {
      this.#drop(c);
      this.#active--;
      this.#next();
      return;
    }
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) {
      c.used = true;
      c.received = false;
      c.start = 0;
      c.end = 0;
      waiter.resolve(c);
      return;
    }
    this.#active--;
    this.#park(c);
  }

  /** Puts `c` in the idle list with a read that notices a server close. */
  #park(c: Connection): void {
    c.idle = true;
    c.idleSince = Date.now();
    c.start = 0;
    c.end = 0;
    c.conn.unref();
    const pending = c.conn.read(c.buf);
    c.pending = pending;
    const onIdleEvent = () => {
      // Data or end of stream while idle: the socket is unusable.
      if (c.idle) this.#drop(c);
    };
    pending.then(onIdleEvent, onIdleEvent);
    this.#idle.push(c);
    if (this.#sweepTimer === undefined) this.#scheduleSweep();
  }

  #scheduleSweep(): void {
    this.#sweepTimer = setTimeout(() => {
      this.#sweepTimer = undefined;
      const now = Date.now();
      for (let i = this.#idle.length - 1; i >= 0; i--) {
        const c = this.#idle[i]!;
        if (c.dead || now - c.idleSince >= this.#idleTimeout) {
          this.#idle.splice(i, 1);
          this.#drop(c);
        }
      }
      if (this.#idle.length > 0) this.#scheduleSweep();
    }, this.#idleTimeout);
    Deno.unrefTimer(this.#sweepTimer);
  }

  #drop(c: Connection): void {
    c.close();
    this.#all.delete(c);
  }

  /** Gives a freed slot to the first waiter. */
  #next(): void {
    if (this.#active >= this.#max) return;
    const waiter = this.#waiters.shift();
    if (waiter === undefined) return;
    this.#active++;
    waiter.resolve(undefined);
  }

  /** Number of open sockets (for tests and metrics). */
  get size(): number {
    return this.#all.size;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.#sweepTimer !== undefined) clearTimeout(this.#sweepTimer);
    this.#sweepTimer = undefined;
    const error = new ClosedConnectionError("HTTP/1.1 client");
    for (const w of this.#waiters.splice(0)) w.reject(error);
    const pending: Promise<unknown>[] = [];
    for (const c of this.#all) {
      if (c.pending !== undefined) pending.push(c.pending);
      c.close();
    }
    this.#all.clear();
    this.#idle.length = 0;
    await Promise.allSettled(pending);
  }
}

class Http1Client {
  readonly #pools = new Map<string, Pool>();
  readonly #max: number;
  readonly #idleTimeout: number;
  readonly #maxBody: number;
  readonly #fallback: FetchLike;
  #closed = false;

  constructor(options: Http1FetchOptions | undefined) {
    const {
      maxConnections = DEFAULT_HTTP1_MAX_CONNECTIONS,
      idleTimeout = DEFAULT_HTTP1_IDLE_TIMEOUT,
      maxResponseBytes = DEFAULT_HTTP1_MAX_RESPONSE_BYTES,
      fetch: fallback,
    } = options ?? {};
    if (!Number.isInteger(maxConnections) || maxConnections < 1) {
      throw new RangeError(
        `Cannot use maxConnections: it must be a positive integer, got ${maxConnections}`,
      );
    }
    if (typeof idleTimeout !== "number" || !(idleTimeout > 0)) {
      throw new RangeError(
        `Cannot use idleTimeout: it must be a positive number of milliseconds, got ${idleTimeout}`,
      );
    }
    if (!Number.isInteger(maxResponseBytes) || maxResponseBytes < 0) {
      throw new RangeError(
        `Cannot use maxResponseBytes: it must be a non-negative integer, got ${maxResponseBytes}`,
      );
    }
    if (fallback !== undefined && typeof fallback !== "function") {
      throw new TypeError(
        `Cannot use fetch: it must be a function, got ${typeof fallback}`,
      );
    }
    this.#max = maxConnections;
    this.#idleTimeout = Math.min(idleTimeout, 2_147_483_647);
    this.#maxBody = maxResponseBytes;
    this.#fallback = fallback ?? ((input, init) => fetch(input, init));
  }

  async fetch(input: string | URL, init?: RequestInit): Promise<Response> {
    const request = this.#prepare(input, init);
    if (request === undefined) {
      return this.#fallback(input as string, init ?? {});
    }
    const { head, body } = await this.#perform(
      request,
      init?.signal ?? undefined,
    );
    try {
      return new Response(body, {
        status: head.status,
        statusText: head.statusText,
        headers: head.headers,
      });
    } catch (cause) {
      throw this.#fail(request, malformed(describe(cause)), undefined);
    }
  }

  async fetchBuffered(
    input: string,
    init: RequestInit,
  ): Promise<BufferedResponseLike> {
    const request = this.#prepare(input, init);
    if (request === undefined) return this.#fallback(input, init);
    const { head, body } = await this.#perform(
      request,
      init.signal ?? undefined,
    );
    return new BufferedResponse(head, body);
  }

  #prepare(
    input: string | URL,
    init: RequestInit | undefined,
  ): PreparedRequest | undefined {
    if (this.#closed) throw new ClosedConnectionError("HTTP/1.1 client");
    init?.signal?.throwIfAborted();
    return prepare(input, init);
  }

  async #perform(
    request: PreparedRequest,
    signal: AbortSignal | undefined,
  ): Promise<Exchanged> {
    let pool = this.#pools.get(request.origin);
    if (pool === undefined) {
      pool = new Pool(
        request.hostname,
        request.port,
        this.#max,
        this.#idleTimeout,
      );
      this.#pools.set(request.origin, pool);
    }
    for (let attempt = 0;; attempt++) {
      let c: Connection;
      try {
        c = await pool.acquire(signal);
      } catch (cause) {
        throw this.#fail(request, cause, signal);
      }
      const onAbort = () => c.close();
      signal?.addEventListener("abort", onAbort, { once: true });
      let reusable = false;
      try {
        const result = await this.#exchange(c, request);
        reusable = result.reusable;
        return result;
      } catch (cause) {
        const retry = cause instanceof StaleSocketError && attempt === 0 &&
          !signal?.aborted && !pool.closed &&
          (cause.unsent || RETRYABLE_METHODS.has(request.method));
        if (!retry) throw this.#fail(request, cause, signal);
      } finally {
        signal?.removeEventListener("abort", onAbort);
        pool.release(c, reusable && !signal?.aborted);
      }
    }
  }

  #fail(
    request: PreparedRequest,
    cause: unknown,
    signal: AbortSignal | undefined,
  ): unknown {
    if (signal?.aborted) return signal.reason;
    if (
      cause instanceof ClosedConnectionError || cause instanceof TypeError ||
      cause instanceof ConnectionError
    ) {
      return cause;
    }
    if (this.#closed) {
      return new ClosedConnectionError("HTTP/1.1 client", { cause });
    }
    const inner = cause instanceof StaleSocketError ? cause.cause : cause;
    const detail = cause instanceof Error ? cause.message : String(cause);
    return new ConnectionError(
      `Cannot ${request.method} ${request.href}: ${detail}`,
      { target: `http://${request.origin}`, cause: inner ?? cause },
    );
  }

  async #exchange(
    c: Connection,
    request: PreparedRequest,
  ): Promise<Exchanged> {
    try {
      await writeAll(c.conn, request.bytes);
    } catch (cause) {
      if (c.used) {
        throw new StaleSocketError(
          `the kept-alive connection failed: ${describe(cause)}`,
          true,
          { cause },
        );
      }
      throw cause;
    }
    let head: ParsedHead;
    for (;;) {
      let headEnd: number;
      // Bytes after c.start already searched (fill may move the data).
      let scanned = 0;
      for (;;) {
        headEnd = findHeadEnd(c.buf, c.start + Math.max(0, scanned - 3), c.end);
        if (headEnd >= 0) break;
        scanned = c.end - c.start;
        let more: boolean;
        try {
          more = await c.fill(MAX_HEAD_BYTES);
        } catch (cause) {
          if (cause instanceof RangeError) throw cause;
          if (c.used && !c.received) {
            throw new StaleSocketError(
              `the kept-alive connection failed: ${describe(cause)}`,
              false,
              { cause },
            );
          }
          throw cause;
        }
        if (!more) {
          if (c.used && !c.received) {
            throw new StaleSocketError(
              "the server closed the kept-alive connection",
              false,
            );
          }
          throw new Error(
            c.received
              ? "the server closed the connection in the response head"
              : "the server closed the connection without a response",
          );
        }
      }
      head = parseHead(latin1(c.buf, c.start, headEnd));
      c.start = headEnd + 4;
      if (head.status >= 200) break;
      if (head.status === 101) {
        throw malformed("unexpected 101 Switching Protocols");
      }
      if (head.status < 100) throw malformed(`bad status ${head.status}`);
      // An interim 1xx response: read the next head.
    }

    let body: Uint8Array<ArrayBuffer> | null = null;
    let reusable = !head.connectionClose &&
      (head.minor === 1 || head.connectionKeepAlive);
    const noBody = request.method === "HEAD" || head.status === 204 ||
      head.status === 304;
    if (!noBody) {
      if (head.contentLength !== undefined) {
        body = await this.#readFixed(c, head.contentLength);
      } else if (head.chunked) {
        body = await this.#readChunked(c);
      } else {
        body = await this.#readToEnd(c);
        reusable = false;
      }
    }
    if (head.status > 599) throw malformed(`bad status ${head.status}`);
    const nullBody = head.status === 204 || head.status === 205 ||
      head.status === 304;
    return { head, body: nullBody ? null : body, reusable };
  }

  async #readFixed(
    c: Connection,
    length: number,
  ): Promise<Uint8Array<ArrayBuffer>> {
    if (length > this.#maxBody) throw this.#tooLarge();
    const body = new Uint8Array(length);
    const buffered = Math.min(length, c.end - c.start);
    body.set(c.buf.subarray(c.start, c.start + buffered));
    c.start += buffered;
    let offset = buffered;
    while (offset < length) {
      const n = await c.readInto(body.subarray(offset));
      if (n === null) {
        throw new Error("the server closed the connection in the body");
      }
      offset += n;
    }
    return body;
  }

  async #readLine(c: Connection): Promise<string> {
    let scanned = 0;
    for (;;) {
      const at = findCrlf(c.buf, c.start + Math.max(0, scanned - 1), c.end);
      if (at >= 0) {
        const line = latin1(c.buf, c.start, at);
        c.start = at + 2;
        return line;
      }
      scanned = c.end - c.start;
      if (!await c.fill(MAX_HEAD_BYTES)) {
        throw new Error("the server closed the connection in a chunked body");
      }
    }
  }

  async #readChunked(c: Connection): Promise<Uint8Array<ArrayBuffer>> {
    const chunks: Uint8Array<ArrayBuffer>[] = [];
    let total = 0;
    for (;;) {
      const line = await this.#readLine(c);
      const match = CHUNK_SIZE.exec(line);
      if (match === null) {
        throw malformed(`bad chunk size ${JSON.stringify(line.slice(0, 40))}`);
      }
      const size = parseInt(match[1]!, 16);
      if (size === 0) break;
      total += size;
      if (total > this.#maxBody) throw this.#tooLarge();
      chunks.push(await this.#readFixed(c, size));
      if (await this.#readLine(c) !== "") {
        throw malformed("chunk data is not followed by CRLF");
      }
    }
    // Trailers, up to the empty line.
    let trailerBytes = 0;
    for (;;) {
      const line = await this.#readLine(c);
      if (line === "") break;
      trailerBytes += line.length;
      if (trailerBytes > MAX_HEAD_BYTES) throw tooLong();
    }
    return concatBytes(chunks, total);
  }

  async #readToEnd(c: Connection): Promise<Uint8Array<ArrayBuffer>> {
    const chunks: Uint8Array<ArrayBuffer>[] = [];
    let total = 0;
    for (;;) {
      if (c.end > c.start) {
        total += c.end - c.start;
        if (total > this.#maxBody) throw this.#tooLarge();
        chunks.push(c.buf.slice(c.start, c.end));
        c.start = c.end = 0;
      }
      if (!await c.fill(Infinity)) break;
    }
    return concatBytes(chunks, total);
  }

  #tooLarge(): Error {
    return new RangeError(
      `the response body exceeds ${this.#maxBody} bytes (maxResponseBytes)`,
    );
  }

  isClosed(): boolean {
    return this.#closed;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((p) => p.close()));
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Creates a `fetch`-compatible function that sends `http:` requests over a
 * pool of keep-alive HTTP/1.1 sockets (one per request in flight, at most
 * `maxConnections` per origin) and buffers each response.
 *
 * Idle sockets are watched, so a server that closes one is noticed at once;
 * a request that still meets a stale socket is retried once on a new one
 * when it is idempotent (`GET`, `HEAD`, `PUT`, `DELETE`, `OPTIONS`) or was
 * certainly not sent. Aborting `init.signal` closes that request's socket.
 *
 * @param options Pool size, idle timeout, body limit and the fallback fetch.
 * @returns The function; close it (or `await using`) to release the sockets.
 * @throws {RangeError} If an option is out of range.
 * @throws {TypeError} If `fetch` is not a function.
 *
 * @example Use it for ARI calls
 * ```ts ignore live
 * import { createAriRestClient } from "./rest.ts";
 * import { createHttp1Fetch } from "./http1_fetch.ts";
 *
 * await using http = createHttp1Fetch();
 * await using ari = createAriRestClient({
 *   url: "http://127.0.0.1:8088/ari",
 *   username: "proxy",
 *   password: "secret",
 *   fetch: http,
 * });
 * console.log(await ari.request("GET", "/asterisk/info"));
 * ```
 *
 * @example Against a local server
 * ```ts
 * import assert from "node:assert/strict";
 * import { createHttp1Fetch } from "./http1_fetch.ts";
 *
 * await using server = Deno.serve(
 *   { port: 0, hostname: "127.0.0.1", onListen() {} },
 *   () => new Response("hi"),
 * );
 * await using http = createHttp1Fetch();
 * const res = await http(`http://127.0.0.1:${server.addr.port}/`);
 * assert.equal(await res.text(), "hi");
 * ```
 */
export function createHttp1Fetch(options?: Http1FetchOptions): Http1Fetch {
  const client = new Http1Client(options);
  const fn =
    ((input: string | URL, init?: RequestInit) =>
      client.fetch(input, init)) as Http1Fetch;
  fn.buffered = (input, init) => client.fetchBuffered(input, init);
  fn.isClosed = () => client.isClosed();
  fn.close = () => client.close();
  fn[Symbol.asyncDispose] = () => client.close();
  return fn;
}
