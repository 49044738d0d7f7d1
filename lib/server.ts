/**
 * The proxy server: a NATS front-end to one Asterisk's ARI, wire-compatible
 * with Go CyCoreSystems/ari-proxy v5 (PROTOCOL.md).
 *
 * {@linkcode startProxy} connects NATS and ARI (retrying forever), learns the
 * node id from `GET /asterisk/info`, opens the ARI events WebSocket and then
 * serves:
 *
 * - requests on `<prefix>{get,data,command}[.<app>[.<node>]]` and, in queue
 *   group `ariproxy`, `<prefix>create[.<app>[.<node>]]` — all through one
 *   handler that dispatches on `kind` to the shared KindExecutor;
 * - every ARI event on `<prefix>event.<app>.<node>` (as Asterisk sent it),
 *   plus one copy per bound dialog on `<prefix>dialogevent.<dialog>`;
 *   events are queued and published together once per event-loop turn, in
 *   order, and dropped (counted, logged) when NATS falls more than
 *   `maxPendingEventBytes` behind;
 * - discovery announcements on `<prefix>announce`.
 *
 * @module
 */

import { clearImmediate, setImmediate } from "node:timers";
import { getLogger, type Logger } from "@logtape/logtape";
import {
  type ConnectionOptions,
  credsAuthenticator,
  type Msg,
  type NatsConnection,
  type Subscription,
} from "@nats-io/nats-core";
import { connectNats } from "../client/nats/deno_socket.ts";
import {
  decodeRequest,
  encodeAnnouncement,
  encodeResponse,
} from "../client/protocol/codec.ts";
import { eventKeys, isDestroyEvent } from "../client/protocol/event_keys.ts";
import {
  announceSubject,
  CREATE_QUEUE_GROUP,
  dialogEventSubject,
  eventSubject,
  isValidToken,
  normalizePrefix,
  pingSubject,
  REQUEST_CLASSES,
} from "../client/protocol/subjects.ts";
import type { Request, Response } from "../client/protocol/types.ts";
import { computeBackoff } from "../client/native/backoff.ts";
import {
  type AriEventObject,
  type AriEventStream,
  openAriEventStream,
  type StreamStatus,
} from "../client/native/events_socket.ts";
import { createKindExecutor } from "../client/native/executor.ts";
import {
  createHttp1Fetch,
  type Http1Fetch,
} from "../client/native/http1_fetch.ts";
import {
  type AriRestClient,
  createAriRestClient,
} from "../client/native/rest.ts";
import { type Announcer, createAnnouncer } from "./announcer.ts";
import {
  bindsAfterSuccess,
  createDialogRegistry,
  type DialogRegistry,
  fillMissingIds,
  isValidDialog,
  requestBindings,
} from "./dialogs.ts";
import { createLimiter, type Limiter } from "./limiter.ts";

/**
 * Keep-alive connections the proxy opens to ARI at most; requests beyond
 * wait in order. Well under Asterisk's default HTTP session limit (100).
 */
const ARI_MAX_CONNECTIONS = 32;
/** Default subject prefix. */
export const DEFAULT_PROXY_PREFIX = "ari.";
/** Default period of the entity id check, in milliseconds. */
export const DEFAULT_ENTITY_CHECK_INTERVAL = 10_000;
/** Default time `close()` lets in-flight requests finish, in milliseconds. */
export const DEFAULT_CLOSE_TIMEOUT = 15_000;
/** Error text (Go's) for requests received while ARI is down. */
export const ARI_DOWN_ERROR = "ARI connection is down";
/** Error text (Go's) for unknown or empty kinds. */
export const NOT_IMPLEMENTED_ERROR = "Not implemented";
/** Error text for requests refused by the concurrency limit. */
export const OVERLOADED_ERROR = "Proxy overloaded: too many requests in flight";
/** Default bound of event bytes waiting for NATS (32 MiB). */
export const DEFAULT_MAX_PENDING_EVENT_BYTES = 32 * 1024 * 1024;
/** Period of the summary logged while events are dropped, in milliseconds. */
export const EVENT_DROP_REPORT_INTERVAL = 5_000;

/** How to reach Asterisk's ARI. */
export interface ProxyAriOptions {
  /** Stasis application name (one NATS subject token: no `.`, `*`, `>`, spaces). */
  application: string;
  /** ARI user name. */
  username: string;
  /** ARI password (never logged). */
  password: string;
  /** ARI base URL, e.g. `http://localhost:8088/ari`. */
  httpUrl: string;
  /** ARI events URL, e.g. `ws://localhost:8088/ari/events` (`?app=` is added). */
  websocketUrl: string;
}

/** TLS files for the NATS connection. */
export interface ProxyNatsTlsOptions {
  /** CA certificate file (PEM). */
  caFile?: string;
  /** Client certificate file (PEM). */
  certFile?: string;
  /** Client key file (PEM). */
  keyFile?: string;
}

/** How to connect to NATS. */
export interface ProxyNatsConnectOptions {
  /** Server URLs, e.g. `["nats://127.0.0.1:4222"]`. */
  servers: string[];
  /** User name (with `pass`). */
  user?: string;
  /** Password (never logged). */
  pass?: string;
  /** Token (never logged). */
  token?: string;
  /** A `.creds` file (JWT + nkey seed). */
  credsFile?: string;
  /** TLS files; presence of this object enables TLS. */
  tls?: ProxyNatsTlsOptions;
  /**
   * Connection name shown by the NATS server.
   *
   * @default {"ari-proxy"}
   */
  name?: string;
}

/**
 * An existing NATS connection (tests, embedding). The proxy does not close
 * it; it only removes its subscriptions and flushes on `close()`.
 */
export interface ProxyNatsInjectedOptions {
  /** The connection to use. */
  connection: NatsConnection;
}

/** Options of {@linkcode startProxy}. */
export interface ProxyOptions {
  /** ARI connection. */
  ari: ProxyAriOptions;
  /** NATS connection settings, or an existing connection. */
  nats: ProxyNatsConnectOptions | ProxyNatsInjectedOptions;
  /**
   * Subject prefix (a trailing `.` is added when missing).
   *
   * @default {"ari."}
   */
  prefix?: string;
  /**
   * Requests executed at once; more wait in a queue of `maxQueued`.
   *
   * @default {256}
   */
  maxConcurrency?: number;
  /**
   * Requests waiting for a free slot; beyond, requests are answered at once
   * with `{"error":"Proxy overloaded: too many requests in flight","code":"overloaded"}`.
   *
   * @default {1024}
   */
  maxQueued?: number;
  /**
   * Period of the discovery announcement, in milliseconds (0 disables).
   *
   * @default {60000}
   */
  announceInterval?: number;
  /**
   * Period of the Asterisk entity id check, in milliseconds (0 disables).
   *
   * @default {10000}
   */
  entityCheckInterval?: number;
  /**
   * Timeout of each ARI call, in milliseconds.
   *
   * @default {10000}
   */
  requestTimeout?: number;
  /**
   * How long `close()` waits for in-flight requests before aborting them,
   * in milliseconds.
   *
   * @default {15000}
   */
  closeTimeout?: number;
  /**
   * Maximum number of entities with dialog bindings (oldest evicted beyond).
   *
   * @default {100000}
   */
  maxDialogEntities?: number;
  /**
   * Bytes of events allowed to wait for NATS: the proxy's own queue (events
   * of the current event-loop turn) plus what the NATS client has not yet
   * written to its socket (while NATS is slow or reconnecting). Beyond it,
   * events are dropped rather than buffered without bound; drops are
   * counted in `stats().events.overflowed` and logged as warnings (at most
   * one line per {@linkcode EVENT_DROP_REPORT_INTERVAL}).
   *
   * @default {33554432}
   */
  maxPendingEventBytes?: number;
  /**
   * Logger; child categories `nats`, `ari`, `requests`, `events`, `dialogs`.
   *
   * @default {getLogger(["ari-proxy", "server"])}
   */
  logger?: Logger;
  /** Aborts start-up (then `startProxy` rejects with the reason). */
  signal?: AbortSignal;
}

/** Request counters of {@linkcode ProxyStats}. */
export interface ProxyRequestStats {
  /** Request messages received (with or without reply subject). */
  received: number;
  /** Replies sent. */
  answered: number;
  /** Messages without a reply subject (ignored). */
  noReply: number;
  /** Requests refused as malformed. */
  invalid: number;
  /** Requests answered `Not implemented`. */
  notImplemented: number;
  /** Requests answered `ARI connection is down`. */
  ariDown: number;
  /** Requests refused by the concurrency limit. */
  overloaded: number;
  /** Requests executing now. */
  active: number;
  /** Requests waiting for a slot now. */
  queued: number;
}

/** Event counters of {@linkcode ProxyStats}. */
export interface ProxyEventStats {
  /** Events received from ARI. */
  received: number;
  /** Events published on `event.<app>.<node>`. */
  published: number;
  /** Dialog copies published on `dialogevent.<dialog>`. */
  dialogPublished: number;
  /**
   * Events and dialog copies not published: NATS refused them (closed,
   * payload too large) or they overflowed `maxPendingEventBytes`.
   */
  dropped: number;
  /** The part of `dropped` that overflowed `maxPendingEventBytes`. */
  overflowed: number;
  /** Events and dialog copies queued for the end of this event-loop turn. */
  queued: number;
  /**
   * Bytes the NATS client has not written to its socket yet (0 when the
   * client does not tell).
   */
  pendingBytes: number;
}

/** A snapshot of the server state. */
export interface ProxyStats {
  /** ARI application. */
  application: string;
  /** Current node id (`undefined` before it is known). */
  node: string | undefined;
  /** Whether the ARI WebSocket is connected and verified. */
  ariConnected: boolean;
  /** Whether the NATS connection is up. */
  natsConnected: boolean;
  /** Request counters. */
  requests: ProxyRequestStats;
  /** Event counters. */
  events: ProxyEventStats;
  /** Dialog bindings. */
  dialogs: { entities: number; dialogs: number; evicted: number };
  /** Announcements. */
  announcements: { sent: number; skipped: number };
  /** Times the entity id changed under the running proxy. */
  entityChanges: number;
}

/** A running proxy. Start it with {@linkcode startProxy}. */
export interface ProxyServer extends AsyncDisposable {
  /** The Asterisk node id (entity id) served now. */
  node(): string | undefined;
  /** Whether ARI is connected (requests are executed, not refused). */
  isAriConnected(): boolean;
  /** Counters and state. */
  stats(): ProxyStats;
  /**
   * Stops intake (unsubscribes), lets in-flight requests answer (up to
   * `closeTimeout`), closes the ARI WebSocket, drains NATS. Idempotent.
   */
  close(): Promise<void>;
  /** Resolves once closed (only `close()` closes the server); never rejects. */
  closed(): Promise<Error | undefined>;
  /** Whether `close()` was called. */
  isClosed(): boolean;
}

interface Validated {
  ari: ProxyAriOptions;
  nats: ProxyNatsConnectOptions | ProxyNatsInjectedOptions;
  prefix: string;
  maxConcurrency: number | undefined;
  maxQueued: number | undefined;
  announceInterval: number | undefined;
  entityCheckInterval: number;
  requestTimeout: number | undefined;
  closeTimeout: number;
  maxDialogEntities: number | undefined;
  maxPendingEventBytes: number;
  logger: Logger;
}

function nonNegative(value: number | undefined, name: string): void {
  if (value === undefined) return;
  if (typeof value !== "number" || !(value >= 0) || !Number.isFinite(value)) {
    throw new RangeError(
      `Cannot start proxy: ${name} must be a finite number >= 0, got ${value}`,
    );
  }
}

function nonEmpty(value: unknown, name: string): void {
  if (typeof value !== "string" || value === "") {
    throw new TypeError(
      `Cannot start proxy: ${name} must be a non-empty string`,
    );
  }
}

function validate(options: ProxyOptions): Validated {
  if (options === null || typeof options !== "object") {
    throw new TypeError("Cannot start proxy: options must be an object");
  }
  const ari = options.ari;
  if (ari === null || typeof ari !== "object") {
    throw new TypeError("Cannot start proxy: ari options are required");
  }
  nonEmpty(ari.application, "ari.application");
  if (!isValidToken(ari.application)) {
    throw new TypeError(
      `Cannot start proxy: ari.application ${
        JSON.stringify(ari.application)
      } must be one subject token (no ".", "*", ">" or whitespace)`,
    );
  }
  nonEmpty(ari.username, "ari.username");
  if (typeof ari.password !== "string") {
    throw new TypeError("Cannot start proxy: ari.password must be a string");
  }
  nonEmpty(ari.httpUrl, "ari.httpUrl");
  nonEmpty(ari.websocketUrl, "ari.websocketUrl");
  const nats = options.nats;
  if (nats === null || typeof nats !== "object") {
    throw new TypeError("Cannot start proxy: nats options are required");
  }
  if ("connection" in nats) {
    if (nats.connection === null || typeof nats.connection !== "object") {
      throw new TypeError(
        "Cannot start proxy: nats.connection must be a NatsConnection",
      );
    }
  } else {
    if (
      !Array.isArray(nats.servers) || nats.servers.length === 0 ||
      nats.servers.some((s) => typeof s !== "string" || s === "")
    ) {
      throw new TypeError(
        "Cannot start proxy: nats.servers must be a non-empty list of URLs",
      );
    }
    if (nats.token !== undefined && nats.user !== undefined) {
      throw new TypeError(
        "Cannot start proxy: nats.token and nats.user are mutually exclusive",
      );
    }
    if (
      nats.credsFile !== undefined &&
      (nats.token !== undefined || nats.user !== undefined)
    ) {
      throw new TypeError(
        "Cannot start proxy: nats.credsFile excludes nats.user and nats.token",
      );
    }
  }
  const prefix = normalizePrefix(options.prefix ?? DEFAULT_PROXY_PREFIX);
  if (prefix !== "" && !/^([^\s.*>]+\.)+$/.test(prefix)) {
    throw new TypeError(
      `Cannot start proxy: prefix ${
        JSON.stringify(options.prefix)
      } must be dot-separated subject tokens`,
    );
  }
  nonNegative(options.announceInterval, "announceInterval");
  nonNegative(options.entityCheckInterval, "entityCheckInterval");
  nonNegative(options.closeTimeout, "closeTimeout");
  if (
    options.maxPendingEventBytes !== undefined &&
    !(options.maxPendingEventBytes > 0 &&
      Number.isFinite(options.maxPendingEventBytes))
  ) {
    throw new RangeError(
      `Cannot start proxy: maxPendingEventBytes must be a positive finite number, got ${options.maxPendingEventBytes}`,
    );
  }
  if (
    options.requestTimeout !== undefined &&
    !(options.requestTimeout > 0)
  ) {
    throw new RangeError(
      `Cannot start proxy: requestTimeout must be a positive number of milliseconds, got ${options.requestTimeout}`,
    );
  }
  return {
    ari,
    nats,
    prefix,
    maxConcurrency: options.maxConcurrency,
    maxQueued: options.maxQueued,
    announceInterval: options.announceInterval,
    entityCheckInterval: options.entityCheckInterval ??
      DEFAULT_ENTITY_CHECK_INTERVAL,
    requestTimeout: options.requestTimeout,
    closeTimeout: options.closeTimeout ?? DEFAULT_CLOSE_TIMEOUT,
    maxDialogEntities: options.maxDialogEntities,
    maxPendingEventBytes: options.maxPendingEventBytes ??
      DEFAULT_MAX_PENDING_EVENT_BYTES,
    logger: options.logger ?? getLogger(["ari-proxy", "server"]),
  };
}

/** Removes credentials from a URL for logging. */
function redactUrl(url: string): string {
  return url.replace(/\/\/[^/@]*@/, "//***@");
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error && error.cause.message !== "" &&
        !error.message.includes(error.cause.message)
      ? `: ${error.cause.message}`
      : "";
    return `${error.message}${cause}`;
  }
  return String(error);
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(id);
      reject(signal.reason);
    };
    const id = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Delay before retry `attempt` (1-based): 100 ms floor + jittered backoff up to 10 s. */
function retryDelay(attempt: number): number {
  return 100 + computeBackoff(attempt, { initial: 250, max: 10_000 });
}

/**
 * Runs `attempt` until it succeeds, sleeping {@linkcode retryDelay} between
 * tries. Logs `warn` (with `properties` and `{problem}`) when the problem
 * changes and `debug` (with `{attempt}` and `{delay}`) when it repeats;
 * rejects with the abort reason once `signal` aborts.
 */
async function retryUntilReachable<T>(
  signal: AbortSignal,
  report: {
    log: Logger;
    warn: string;
    debug: string;
    properties: Record<string, unknown>;
  },
  attempt: () => Promise<T>,
): Promise<T> {
  let lastProblem = "";
  for (let n = 1;; n++) {
    signal.throwIfAborted();
    try {
      return await attempt();
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      const problem = errorMessage(error);
      const delay = retryDelay(n);
      if (problem !== lastProblem) {
        lastProblem = problem;
        report.log.warn(report.warn, { ...report.properties, problem });
      } else {
        report.log.debug(report.debug, { attempt: n, delay });
      }
      await sleep(delay, signal);
    }
  }
}

/** Inserts `"dialog"` into an event's JSON text without re-encoding it. */
function withDialog(
  payload: string,
  event: AriEventObject,
  dialog: string,
): string {
  if (payload.charCodeAt(0) === 0x7b /* { */ && !("dialog" in event)) {
    return `{"dialog":${JSON.stringify(dialog)},${payload.slice(1)}`;
  }
  return JSON.stringify({ ...event, dialog });
}

const encoder = new TextEncoder();

/**
 * Queued event bytes that are published at once instead of at the end of
 * the turn: bursts are cut into batches of about this size.
 */
const MAX_EVENT_BATCH_BYTES = 256 * 1024;

/** `PUB `, ` `, the length and two CRLFs around a payload (close enough). */
const PUB_OVERHEAD = 16;

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const COMMA = 0x2c;

/**
 * Whether the JSON object text `frame` has the member `member` (compact
 * `"key":"value"` text, e.g. `"application":"app"`) in its outermost object,
 * decided from the text alone. `false` means "cannot tell cheaply" (parse
 * instead); for valid JSON it is never a wrong `true`:
 *
 * - the last occurrence of `quotedKey` (`"key"`) starts the member, right
 *   after `{` or `,` — so its quote is not escaped and it is a key, and no
 *   later duplicate of the key can override it;
 * - the value is the expected string, followed by `,` or `}`;
 * - the member is at depth 1: no `{`/`[` before it, or no `}`/`]` after it
 *   but the final `}`.
 *
 * Asterisk puts `asterisk_id` and `application` near the end, where the
 * backward search finds them at once.
 */
function hasTopLevelMember(
  frame: string,
  quotedKey: string,
  member: string,
): boolean {
  const at = frame.lastIndexOf(quotedKey);
  if (at <= 0) return false;
  const before = frame.charCodeAt(at - 1);
  if (before !== COMMA && before !== OPEN_BRACE) return false;
  const end = at + member.length;
  // (`slice` + `===` is several times faster than `startsWith` here.)
  if (frame.slice(at, end) !== member) return false;
  const next = frame.charCodeAt(end);
  if (next !== COMMA && next !== CLOSE_BRACE) return false;
  const brace = frame.indexOf("{", 1);
  const bracket = frame.indexOf("[", 1);
  if ((brace === -1 || brace > at) && (bracket === -1 || bracket > at)) {
    return true;
  }
  return frame.indexOf("}", end) === frame.length - 1 &&
    frame.indexOf("]", end) === -1;
}

/**
 * Encodes a batch of payloads. When they are all ASCII (the UTF-8 length
 * of the joined text equals its length, as for nearly every ARI event), one
 * `encode` of the joined text is cut into views; else each is encoded.
 */
function encodeBatch(payloads: string[]): Uint8Array[] {
  const n = payloads.length;
  if (n === 1) return [encoder.encode(payloads[0]!)];
  const joined = payloads.join("");
  const bytes = encoder.encode(joined);
  const out = new Array<Uint8Array>(n);
  if (bytes.length === joined.length) {
    let offset = 0;
    for (let i = 0; i < n; i++) {
      const end = offset + payloads[i]!.length;
      out[i] = bytes.subarray(offset, end);
      offset = end;
    }
  } else {
    for (let i = 0; i < n; i++) out[i] = encoder.encode(payloads[i]!);
  }
  return out;
}

/**
 * Bytes the NATS client holds but has not written to its socket yet: its
 * outbound buffer (which also grows while it reconnects) plus the
 * transport's unwritten bytes. nats.js exposes neither, so this reads
 * nats-core 3.x internals (`protocol.outbound`, `protocol.transport`: the
 * `writableLength` of our Deno socket transport, or of the Node socket of
 * `@nats-io/transport-node`) and counts what it cannot find as 0.
 */
function natsPendingBytes(nc: NatsConnection | undefined): number {
  const protocol = (nc as {
    protocol?: {
      outbound?: { size?: () => number };
      transport?: unknown;
    };
  } | undefined)?.protocol;
  if (protocol === undefined) return 0;
  const outbound = protocol.outbound;
  const buffered = typeof outbound?.size === "function" ? outbound.size() : 0;
  const transport = protocol.transport as
    | { writableLength?: number; socket?: { writableLength?: number } }
    | undefined;
  const written = transport?.writableLength ??
    transport?.socket?.writableLength;
  return buffered + (typeof written === "number" ? written : 0);
}

type SubscriptionScope = "base" | "node";

class Proxy implements ProxyServer {
  readonly #opts: Validated;
  readonly #log: Logger;
  readonly #natsLog: Logger;
  readonly #ariLog: Logger;
  readonly #reqLog: Logger;
  readonly #eventLog: Logger;
  readonly #app: string;
  readonly #prefix: string;
  readonly #ownsNats: boolean;
  /** Aborted by close(): start-up loops, entity checks. */
  readonly #abort = new AbortController();
  /** Aborted when close() stops waiting for in-flight requests. */
  readonly #inflightAbort = new AbortController();
  readonly #limiter: Limiter;
  readonly #dialogs: DialogRegistry;
  readonly #announcer: Announcer;
  readonly #rest: AriRestClient;
  readonly #http: Http1Fetch;
  readonly #executor: ReturnType<typeof createKindExecutor>;
  #nc: NatsConnection | undefined;
  #stream: AriEventStream | undefined;
  /** A stream replacing `#stream` after ApplicationReplaced, until it opens. */
  #nextStream: AriEventStream | undefined;
  #replaceTimer: ReturnType<typeof setTimeout> | undefined;
  #replacements = 0;
  #lastReplacement = 0;
  #node: string | undefined;
  #eventSubject = "";
  /** The WebSocket is open and the node id was checked after (re)connecting. */
  #ariUp = false;
  #everConnected = false;
  /** NATS connected (not between a disconnect and a reconnect). */
  #natsUp = false;
  #baseSubs: Subscription[] = [];
  #nodeSubs: Subscription[] = [];
  #entityTimer: ReturnType<typeof setInterval> | undefined;
  #entityCheck: Promise<void> | undefined;
  #lastEventCheck = 0;
  #closing = false;
  #closeDone: Promise<void> | undefined;
  readonly #closed = Promise.withResolvers<Error | undefined>();
  #entityChanges = 0;
  readonly #req = {
    received: 0,
    answered: 0,
    noReply: 0,
    invalid: 0,
    notImplemented: 0,
    ariDown: 0,
    overloaded: 0,
  };
  readonly #ev = {
    received: 0,
    published: 0,
    dialogPublished: 0,
    dropped: 0,
    overflowed: 0,
  };
  /** `"application":"<app>"`, to find it in a frame without parsing. */
  readonly #appMember: string;
  /** `"asterisk_id":"<node>"`, to find it in a frame without parsing. */
  #nodeMember = "";
  /** `,"asterisk_id":"<node>","application":"<app>"}`: Asterisk's usual tail. */
  #plainTail = "";
  // The outbound event queue: parallel arrays, flushed once per turn.
  #qSubjects: string[] = [];
  #qPayloads: string[] = [];
  #qDialog: boolean[] = [];
  /** Size of the queue in the NATS protocol (`PUB <subject> <n>\r\n…\r\n`). */
  #qBytes = 0;
  #flushHandle: ReturnType<typeof setImmediate> | undefined;
  /** `natsPendingBytes` after the last flush. */
  #natsPending = 0;
  /** Publications NATS refused (part of `dropped`). */
  #publishFailures = 0;
  /** Overflow drops not yet reported, and the report timer. */
  #overflowUnreported = 0;
  #overflowTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(opts: Validated) {
    this.#opts = opts;
    this.#log = opts.logger;
    this.#natsLog = opts.logger.getChild("nats");
    this.#ariLog = opts.logger.getChild("ari");
    this.#reqLog = opts.logger.getChild("requests");
    this.#eventLog = opts.logger.getChild("events");
    this.#app = opts.ari.application;
    this.#appMember = `"application":${JSON.stringify(this.#app)}`;
    this.#prefix = opts.prefix;
    this.#ownsNats = !("connection" in opts.nats);
    this.#limiter = createLimiter(
      {
        ...(opts.maxConcurrency === undefined
          ? {}
          : { maxConcurrency: opts.maxConcurrency }),
        ...(opts.maxQueued === undefined ? {} : { maxQueued: opts.maxQueued }),
      },
      (error) =>
        this.#reqLog.error("Request handler failed: {error}", { error }),
    );
    const dialogLog = opts.logger.getChild("dialogs");
    let evictWarned = false;
    this.#dialogs = createDialogRegistry({
      ...(opts.maxDialogEntities === undefined
        ? {}
        : { maxEntities: opts.maxDialogEntities }),
      onEvict: (kind, id) => {
        if (!evictWarned) {
          evictWarned = true;
          dialogLog.warn(
            "Dialog bindings reached their limit; evicting the oldest ({kind} {id})",
            { kind, id },
          );
        }
      },
    });
    this.#announcer = createAnnouncer({
      subject: announceSubject(this.#prefix),
      publish: (subject, payload) => {
        const nc = this.#nc;
        if (nc === undefined) throw new Error("NATS is not connected");
        nc.publish(subject, payload);
      },
      identity: () =>
        this.#node === undefined ? undefined : {
          node: this.#node,
          asterisk: this.#node,
          application: this.#app,
        },
      isAriConnected: () => this.isAriConnected(),
      ...(opts.announceInterval === undefined
        ? {}
        : { interval: opts.announceInterval }),
      encode: encodeAnnouncement,
      onError: (error) =>
        this.#natsLog.warn("Cannot publish announcement: {error}", {
          error: errorMessage(error),
        }),
    });
    // ARI calls go over our own HTTP/1.1 keep-alive pool: inside NATS
    // callbacks it costs about 100 µs less CPU per call than Deno's fetch
    // (measured; see BENCHMARKS.md). It hands https: to fetch itself.
    this.#http = createHttp1Fetch({ maxConnections: ARI_MAX_CONNECTIONS });
    this.#rest = createAriRestClient({
      url: opts.ari.httpUrl,
      username: opts.ari.username,
      password: opts.ari.password,
      fetch: this.#http,
      ...(opts.requestTimeout === undefined
        ? {}
        : { timeout: opts.requestTimeout }),
    });
    this.#executor = createKindExecutor({
      rest: this.#rest,
      application: this.#app,
      node: () => this.#node ?? "",
    });
  }

  // ---- start-up -----------------------------------------------------------

  async start(externalSignal: AbortSignal | undefined): Promise<void> {
    const signal = externalSignal === undefined
      ? this.#abort.signal
      : AbortSignal.any([this.#abort.signal, externalSignal]);
    this.#nc = await this.#connectNats(signal);
    this.#node = await this.#fetchNodeWithRetry(signal);
    this.#eventSubject = eventSubject(this.#prefix, this.#app, this.#node);
    this.#setNodeMember(this.#node);
    this.#ariLog.info(
      "Asterisk node id is {node}; opening the ARI event stream for application {application}",
      { node: this.#node, application: this.#app },
    );
    this.#stream = this.#createStream();
    await abortable(this.#stream.ready(), signal);
    this.#ariUp = this.#stream.isConnected();
    this.#everConnected = true;
    this.#subscribe("base");
    this.#subscribe("node");
    this.#announcer.start();
    this.#announcer.announce("startup");
    const interval = this.#opts.entityCheckInterval;
    if (interval > 0) {
      this.#entityTimer = setInterval(
        () => void this.#checkEntity("interval"),
        interval,
      );
      Deno.unrefTimer(this.#entityTimer);
    }
    this.#log.info(
      "Proxy serving application {application} on node {node} (prefix {prefix})",
      { application: this.#app, node: this.#node, prefix: this.#prefix },
    );
  }

  async #connectNats(signal: AbortSignal): Promise<NatsConnection> {
    const nats = this.#opts.nats;
    if ("connection" in nats) {
      this.#natsUp = !nats.connection.isClosed();
      this.#watchNats(nats.connection);
      return nats.connection;
    }
    const servers = nats.servers.map(redactUrl).join(", ");
    const options: ConnectionOptions = {
      servers: nats.servers,
      name: nats.name ?? "ari-proxy",
      maxReconnectAttempts: -1,
      reconnectTimeWait: 1_000,
    };
    if (nats.user !== undefined) options.user = nats.user;
    if (nats.pass !== undefined) options.pass = nats.pass;
    if (nats.token !== undefined) options.token = nats.token;
    if (nats.tls !== undefined) {
      options.tls = {
        ...(nats.tls.caFile === undefined ? {} : { caFile: nats.tls.caFile }),
        ...(nats.tls.certFile === undefined
          ? {}
          : { certFile: nats.tls.certFile }),
        ...(nats.tls.keyFile === undefined
          ? {}
          : { keyFile: nats.tls.keyFile }),
      };
    }
    return await retryUntilReachable(signal, {
      log: this.#natsLog,
      warn:
        "Cannot connect to NATS at {servers}: {problem}; retrying until it is reachable",
      debug: "NATS still unreachable (attempt {attempt}, next in {delay} ms)",
      properties: { servers },
    }, async () => {
      if (nats.credsFile !== undefined) {
        options.authenticator = credsAuthenticator(
          await Deno.readFile(nats.credsFile),
        );
      }
      const nc = await abortableConnect(options, signal);
      this.#natsLog.info("Connected to NATS at {servers}", { servers });
      this.#natsUp = true;
      this.#watchNats(nc);
      return nc;
    });
  }

  #watchNats(nc: NatsConnection): void {
    (async () => {
      for await (const s of nc.status()) {
        switch (s.type) {
          case "disconnect":
            this.#natsUp = false;
            this.#natsLog.warn("Disconnected from NATS {server}", {
              server: redactUrl(String(s.server)),
            });
            break;
          case "reconnect":
            this.#natsUp = true;
            this.#natsLog.info("Reconnected to NATS {server}", {
              server: redactUrl(String(s.server)),
            });
            break;
          case "error":
            this.#natsLog.warn("NATS error: {error}", {
              error: errorMessage(s.error),
            });
            break;
          case "slowConsumer":
            this.#natsLog.warn("NATS slow consumer on {subject}", {
              subject: s.sub.getSubject(),
            });
            break;
          default:
            break;
        }
      }
    })().catch(() => {});
    nc.closed().then((error) => {
      if (this.#closing || this.#nc !== nc) return;
      this.#natsLog.error(
        "The NATS connection closed unexpectedly{reason}; {action}",
        {
          reason: error ? `: ${errorMessage(error)}` : "",
          action: this.#ownsNats
            ? "connecting again"
            : "the proxy cannot serve until its owner replaces it",
        },
      );
      if (!this.#ownsNats) return;
      void this.#replaceNats();
    });
  }

  /** Our own NATS connection died for good: make a new one, subscribe again. */
  async #replaceNats(): Promise<void> {
    this.#baseSubs = [];
    this.#nodeSubs = [];
    try {
      const nc = await this.#connectNats(this.#abort.signal);
      if (this.#closing) {
        await nc.close();
        return;
      }
      this.#nc = nc;
      if (this.#node !== undefined) {
        this.#subscribe("base");
        this.#subscribe("node");
        this.#announcer.announce("reconnect");
      }
    } catch {
      // Closing.
    }
  }

  async #fetchNode(signal: AbortSignal): Promise<string> {
    const info = await this.#rest.request("GET", "/asterisk/info", {
      signal,
      timeout: Math.min(this.#opts.requestTimeout ?? 5_000, 5_000),
    });
    const system = info !== null && typeof info === "object"
      ? (info as { system?: { entity_id?: unknown } }).system
      : undefined;
    const id = system?.entity_id;
    if (typeof id !== "string" || id === "") {
      throw new Error("GET /asterisk/info returned no system.entity_id");
    }
    if (!isValidToken(id)) {
      throw new Error(
        `Asterisk entity id ${
          JSON.stringify(id)
        } cannot be used as a subject token`,
      );
    }
    return id;
  }

  async #fetchNodeWithRetry(signal: AbortSignal): Promise<string> {
    return await retryUntilReachable(signal, {
      log: this.#ariLog,
      warn:
        "Cannot reach ARI at {target} (GET /asterisk/info): {problem}; retrying until it is reachable",
      debug: "ARI still unreachable (attempt {attempt}, next in {delay} ms)",
      properties: { target: redactUrl(this.#opts.ari.httpUrl) },
    }, () => this.#fetchNode(signal));
  }

  #createStream(): AriEventStream {
    const ari = this.#opts.ari;
    // The constructor reports "connecting" before it returns the stream.
    const holder: { stream?: AriEventStream } = {};
    holder.stream = openAriEventStream({
      url: ari.websocketUrl,
      username: ari.username,
      password: ari.password,
      app: this.#app,
      onFrame: (frame) => this.#onFrame(frame),
      onStatus: (status) => {
        // Statuses of a replaced or replacing stream do not count.
        if (holder.stream !== undefined && holder.stream === this.#stream) {
          this.#onStreamStatus(status);
        }
      },
    });
    return holder.stream;
  }

  /**
   * Another WebSocket registered our application, so Asterisk sends its
   * events there. Register again (a new WebSocket) after a growing delay:
   * a transient client (a probe, wscat) loses it back to us, and two
   * misconfigured proxies sharing an application flap slowly and loudly.
   */
  #onApplicationReplaced(): void {
    if (this.#closing || this.#replaceTimer !== undefined) return;
    const now = Date.now();
    if (now - this.#lastReplacement > 300_000) this.#replacements = 0;
    this.#lastReplacement = now;
    this.#replacements++;
    const delay = Math.min(60_000, 500 * 2 ** (this.#replacements - 1));
    this.#ariLog.warn(
      "Another client registered ARI application {application} on this Asterisk and now receives its events; registering it again in {delay} ms",
      { application: this.#app, delay },
    );
    this.#replaceTimer = setTimeout(() => {
      this.#replaceTimer = undefined;
      void this.#reregister();
    }, delay);
  }

  async #reregister(): Promise<void> {
    if (this.#closing || this.#nextStream !== undefined) return;
    const next = this.#createStream();
    this.#nextStream = next;
    try {
      await abortable(next.ready(), this.#abort.signal);
    } catch {
      this.#nextStream = undefined;
      await next.close();
      return;
    }
    this.#nextStream = undefined;
    const old = this.#stream;
    this.#stream = next;
    this.#ariUp = true;
    this.#ariLog.info("Registered ARI application {application} again", {
      application: this.#app,
    });
    await old?.close();
  }

  #onStreamStatus(status: StreamStatus): void {
    switch (status.type) {
      case "connected":
        if (this.#everConnected) {
          this.#ariLog.info("ARI event stream reconnected");
          void this.#afterAriReconnect();
        }
        break;
      case "disconnected":
        this.#ariUp = false;
        if (!this.#closing) {
          this.#ariLog.warn(
            'Lost the ARI event stream ({error}); answering requests with "ARI connection is down" until it is back',
            { error: errorMessage(status.error) },
          );
        }
        break;
      case "reconnecting": {
        const properties = {
          error: errorMessage(status.error),
          attempt: status.attempt,
          delay: status.delay,
        };
        const message =
          "Cannot open the ARI event stream: {error}; retry {attempt} in {delay} ms";
        if (status.attempt === 1) this.#ariLog.warn(message, properties);
        else this.#ariLog.debug(message, properties);
        break;
      }
      case "error":
        this.#eventLog.warn("Bad ARI event frame: {error}", {
          error: errorMessage(status.error),
        });
        break;
      case "closed":
        this.#ariUp = false;
        break;
      default:
        break;
    }
  }

  async #afterAriReconnect(): Promise<void> {
    await this.#checkEntity("reconnect");
    if (this.#closing || !this.#stream?.isConnected()) return;
    this.#ariUp = true;
    this.#announcer.announce("reconnect");
  }

  /** Serialised entity id check; re-registers on change. */
  #checkEntity(reason: string): Promise<void> {
    if (this.#entityCheck !== undefined) return this.#entityCheck;
    this.#entityCheck = this.#doCheckEntity(reason).finally(() => {
      this.#entityCheck = undefined;
    });
    return this.#entityCheck;
  }

  async #doCheckEntity(reason: string): Promise<void> {
    const signal = this.#abort.signal;
    const attempts = reason === "reconnect" ? 3 : 1;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (signal.aborted) return;
      try {
        const id = await this.#fetchNode(signal);
        if (id !== this.#node) this.#changeNode(id);
        return;
      } catch (error) {
        if (signal.aborted) return;
        this.#ariLog.debug("Entity id check failed: {error}", {
          error: errorMessage(error),
        });
        if (attempt < attempts) {
          try {
            await sleep(retryDelay(attempt), signal);
          } catch {
            return;
          }
        }
      }
    }
  }

  #changeNode(id: string): void {
    const old = this.#node;
    this.#entityChanges++;
    this.#ariLog.error(
      "ASTERISK ENTITY ID CHANGED from {old} to {new}: re-registering under the new node id",
      { old, new: id },
    );
    this.#node = id;
    this.#eventSubject = eventSubject(this.#prefix, this.#app, id);
    this.#setNodeMember(id);
    this.#unsubscribe(this.#nodeSubs);
    this.#nodeSubs = [];
    this.#subscribe("node");
    this.#announcer.announce("reconnect");
  }

  // ---- subscriptions ------------------------------------------------------

  #subscribe(scope: SubscriptionScope): void {
    const nc = this.#nc;
    if (nc === undefined || this.#closing) return;
    const subs: Subscription[] = [];
    const callback = (err: Error | null, msg: Msg) => this.#onRequest(err, msg);
    const add = (subject: string, queue?: string) => {
      subs.push(
        nc.subscribe(
          subject,
          queue === undefined ? { callback } : {
            queue,
            callback,
          },
        ),
      );
    };
    if (scope === "base") {
      subs.push(nc.subscribe(pingSubject(this.#prefix), {
        callback: (err) => {
          if (err === null) this.#announcer.announce("ping");
        },
      }));
      for (const cls of REQUEST_CLASSES) {
        const queue = cls === "create" ? CREATE_QUEUE_GROUP : undefined;
        add(this.#prefix + cls, queue);
        add(`${this.#prefix}${cls}.${this.#app}`, queue);
      }
      this.#baseSubs = subs;
    } else {
      const node = this.#node!;
      for (const cls of REQUEST_CLASSES) {
        add(
          `${this.#prefix}${cls}.${this.#app}.${node}`,
          cls === "create" ? CREATE_QUEUE_GROUP : undefined,
        );
      }
      this.#nodeSubs = subs;
    }
  }

  #unsubscribe(subs: Subscription[]): void {
    for (const sub of subs) {
      try {
        sub.unsubscribe();
      } catch {
        // Connection closed.
      }
    }
  }

  // ---- requests -----------------------------------------------------------

  #respond(msg: Msg, response: Response | string): void {
    // Events received before this reply go out before it.
    if (this.#qSubjects.length > 0) this.#flushEvents();
    let payload: string;
    try {
      payload = typeof response === "string"
        ? response
        : encodeResponse(response);
    } catch (error) {
      payload = JSON.stringify({
        error: `Cannot encode the response: ${errorMessage(error)}`,
        code: "internal",
      });
    }
    try {
      msg.respond(payload);
      this.#req.answered++;
    } catch (error) {
      const message = errorMessage(error);
      if (/max_payload/i.test(message) && !this.#closed_()) {
        try {
          msg.respond(JSON.stringify({
            error:
              `Cannot send the response: it is larger than the NATS maximum payload (${
                encoder.encode(payload).length
              } bytes)`,
            code: "tooLarge",
          }));
          this.#req.answered++;
          return;
        } catch {
          // Fall through to the log.
        }
      }
      this.#reqLog.warn("Cannot reply to {reply}: {error}", {
        reply: msg.reply,
        error: message,
      });
    }
  }

  #closed_(): boolean {
    return this.#nc === undefined || this.#nc.isClosed();
  }

  #onRequest(err: Error | null, msg: Msg): void {
    if (err !== null) {
      this.#reqLog.warn("Subscription error: {error}", {
        error: errorMessage(err),
      });
      return;
    }
    this.#req.received++;
    if (!msg.reply) {
      this.#req.noReply++;
      this.#reqLog.debug(
        "Ignoring a request without reply subject on {subject}",
        {
          subject: msg.subject,
        },
      );
      return;
    }
    try {
      this.#dispatch(msg);
    } catch (error) {
      // Never reached in practice: decodeRequest and the checks do not throw.
      this.#reqLog.error("Request dispatch failed: {error}", {
        error: errorMessage(error),
      });
      this.#respond(msg, {
        error: `Internal error: ${errorMessage(error)}`,
        code: "internal",
      });
    }
  }

  #dispatch(msg: Msg): void {
    const decoded = decodeRequest(msg.data);
    const code = decoded.ok ? undefined : decoded.error.code;
    const unreadable = code === "invalidJson" || code === "notObject" ||
      code === "tooLarge";
    // Go checks the ARI connection before looking at the request.
    if (!unreadable && !this.isAriConnected()) {
      this.#req.ariDown++;
      this.#respond(msg, { error: ARI_DOWN_ERROR, code: "ariDown" });
      return;
    }
    if (!decoded.ok) {
      const { error } = decoded;
      if (error.code === "unknownKind") {
        this.#req.notImplemented++;
        this.#respond(msg, `{"error":"${NOT_IMPLEMENTED_ERROR}"}`);
      } else {
        this.#req.invalid++;
        this.#respond(msg, { error: error.message, code: error.code });
      }
      return;
    }
    const request = decoded.request;
    const accepted = this.#limiter.tryRun(() => this.#execute(msg, request));
    if (!accepted) {
      this.#req.overloaded++;
      this.#respond(msg, { error: OVERLOADED_ERROR, code: "overloaded" });
    }
  }

  async #execute(msg: Msg, original: Request): Promise<void> {
    let request = original;
    const dialog = request.key?.dialog;
    let bindings: ReturnType<typeof requestBindings> = [];
    if (typeof dialog === "string" && dialog !== "") {
      if (isValidDialog(dialog)) {
        request = fillMissingIds(request);
        bindings = requestBindings(request);
        if (!bindsAfterSuccess(request.kind)) {
          this.#dialogs.bindAll(dialog, bindings);
        }
      } else {
        this.#reqLog.debug(
          "Not binding dialog {dialog}: it cannot be a subject token",
          { dialog },
        );
      }
    }
    let response: Response;
    try {
      response = await this.#executor.execute(request, {
        signal: this.#inflightAbort.signal,
        ...(this.#opts.requestTimeout === undefined
          ? {}
          : { timeout: this.#opts.requestTimeout }),
      });
    } catch (error) {
      // The executor never throws by contract; stay safe anyway.
      response = {
        error: `Internal error: ${errorMessage(error)}`,
        code: "internal",
      };
    }
    if (
      bindings.length > 0 && bindsAfterSuccess(request.kind) &&
      response.error === ""
    ) {
      this.#dialogs.bindAll(dialog!, bindings);
    }
    this.#respond(msg, response);
  }

  // ---- events -------------------------------------------------------------

  #setNodeMember(node: string): void {
    this.#nodeMember = `"asterisk_id":${JSON.stringify(node)}`;
    this.#plainTail = `,${this.#nodeMember},${this.#appMember}}`;
  }

  /**
   * One ARI frame, unparsed. Most frames are published as they are: no
   * dialogs are bound, and the frame names our node and application at its
   * top level. The rest are parsed (`#onEvent`).
   */
  #onFrame(frame: string): void {
    if (
      this.#dialogs.size === 0 && this.#node !== undefined &&
      this.#nc !== undefined && this.#isPlainFrame(frame)
    ) {
      this.#ev.received++;
      this.#enqueue(this.#eventSubject, frame, false);
      return;
    }
    let event: unknown;
    try {
      event = JSON.parse(frame);
    } catch (error) {
      this.#eventLog.warn("Bad ARI event frame: {error}", {
        error: `Cannot parse an ARI event frame: it is not JSON (${
          errorMessage(error)
        })`,
      });
      return;
    }
    if (typeof event !== "object" || event === null || Array.isArray(event)) {
      this.#eventLog.warn("Bad ARI event frame: {error}", {
        error: "Cannot use an ARI event frame: it is not a JSON object",
      });
      return;
    }
    this.#onEvent(event as AriEventObject, frame);
  }

  /**
   * Whether a frame can be published as it is, judged from its text: it is
   * an object that names our node and application at its top level (found
   * at once in Asterisk's usual `…,"asterisk_id":…,"application":…}` tail,
   * else by {@linkcode hasTopLevelMember}) and is not ApplicationReplaced.
   */
  #isPlainFrame(frame: string): boolean {
    const n = frame.length;
    if (frame.charCodeAt(0) !== OPEN_BRACE) return false;
    const tail = this.#plainTail;
    if (
      !(n > tail.length && frame.slice(n - tail.length) === tail) &&
      !(frame.charCodeAt(n - 1) === CLOSE_BRACE &&
        hasTopLevelMember(frame, '"asterisk_id"', this.#nodeMember) &&
        hasTopLevelMember(frame, '"application"', this.#appMember))
    ) {
      return false;
    }
    return !frame.includes("ApplicationReplaced");
  }

  #onEvent(event: AriEventObject, raw: string): void {
    this.#ev.received++;
    const node = this.#node;
    if (node === undefined || this.#nc === undefined) return;
    const asteriskId = event.asterisk_id;
    let payload: string;
    if (
      typeof event.application !== "string" || typeof asteriskId !== "string"
    ) {
      if (typeof event.application !== "string") {
        event.application = this.#app;
      }
      if (typeof asteriskId !== "string") event.asterisk_id = node;
      payload = JSON.stringify(event);
    } else {
      if (asteriskId !== node) this.#eventFromOtherNode();
      payload = raw;
    }
    this.#enqueue(this.#eventSubject, payload, false);
    if (this.#dialogs.size > 0) this.#routeDialogs(event, payload);
    if (
      event.type === "ApplicationReplaced" && event.application === this.#app
    ) {
      this.#onApplicationReplaced();
    }
  }

  /**
   * Queues a publication for the end of this event-loop turn, or drops it
   * when NATS is already `maxPendingEventBytes` behind.
   */
  #enqueue(subject: string, payload: string, dialog: boolean): void {
    const size = subject.length + payload.length + PUB_OVERHEAD;
    const limit = this.#opts.maxPendingEventBytes - this.#qBytes - size;
    if (
      this.#natsPending > limit &&
      (this.#natsPending = natsPendingBytes(this.#nc)) > limit
    ) {
      this.#overflow();
      return;
    }
    this.#qSubjects.push(subject);
    this.#qPayloads.push(payload);
    this.#qDialog.push(dialog);
    this.#qBytes += size;
    if (this.#qBytes >= MAX_EVENT_BATCH_BYTES) {
      // A long burst: publish what we have (less memory held per turn).
      this.#flushEvents();
    } else {
      // After the I/O callbacks of this turn: every frame the WebSocket had
      // ready is queued by then, so NATS gets one batch (a few socket
      // writes) instead of one write per event.
      this.#flushHandle ??= setImmediate(this.#flushEvents);
    }
  }

  /** Publishes the queue, in order. */
  #flushEvents = (): void => {
    if (this.#flushHandle !== undefined) {
      clearImmediate(this.#flushHandle);
      this.#flushHandle = undefined;
    }
    const n = this.#qSubjects.length;
    if (n === 0) return;
    const subjects = this.#qSubjects;
    const dialog = this.#qDialog;
    const bodies = encodeBatch(this.#qPayloads);
    this.#qSubjects = [];
    this.#qPayloads = [];
    this.#qDialog = [];
    this.#qBytes = 0;
    for (let i = 0; i < n; i++) {
      if (this.#publish(subjects[i]!, bodies[i]!)) {
        if (dialog[i]) this.#ev.dialogPublished++;
        else this.#ev.published++;
      }
    }
    this.#natsPending = natsPendingBytes(this.#nc);
  };

  #publish(subject: string, payload: Uint8Array): boolean {
    try {
      this.#nc!.publish(subject, payload);
      return true;
    } catch (error) {
      this.#ev.dropped++;
      this.#publishFailures++;
      if (this.#publishFailures === 1 || this.#publishFailures % 1000 === 0) {
        this.#eventLog.warn(
          "Cannot publish on {subject}: {error} ({dropped} dropped so far)",
          { subject, error: errorMessage(error), dropped: this.#ev.dropped },
        );
      }
      return false;
    }
  }

  /** Counts an overflow drop; warns at once, then sums up periodically. */
  #overflow(): void {
    this.#ev.dropped++;
    this.#ev.overflowed++;
    if (this.#overflowTimer !== undefined) {
      this.#overflowUnreported++;
      return;
    }
    this.#eventLog.warn(
      "NATS is not taking events as fast as ARI sends them: {pending} bytes wait to be written (limit {limit}); DROPPING EVENTS until it catches up ({dropped} dropped so far)",
      {
        pending: this.#natsPending + this.#qBytes,
        limit: this.#opts.maxPendingEventBytes,
        dropped: this.#ev.overflowed,
      },
    );
    this.#armOverflowReport();
  }

  #armOverflowReport(): void {
    this.#overflowTimer = setTimeout(
      () => this.#reportOverflow(),
      EVENT_DROP_REPORT_INTERVAL,
    );
    Deno.unrefTimer(this.#overflowTimer);
  }

  #reportOverflow(): void {
    this.#overflowTimer = undefined;
    const count = this.#overflowUnreported;
    this.#overflowUnreported = 0;
    if (count === 0) {
      this.#eventLog.info(
        "NATS caught up with the ARI events; {dropped} events dropped so far",
        { dropped: this.#ev.overflowed },
      );
      return;
    }
    this.#eventLog.warn(
      "DROPPED {count} events in the last {seconds} s: NATS is not taking them as fast as ARI sends them ({pending} bytes wait to be written, limit {limit}; {dropped} dropped so far)",
      {
        count,
        seconds: EVENT_DROP_REPORT_INTERVAL / 1000,
        pending: this.#natsPending + this.#qBytes,
        limit: this.#opts.maxPendingEventBytes,
        dropped: this.#ev.overflowed,
      },
    );
    this.#armOverflowReport();
  }

  /** An event names another node: Asterisk may have restarted with a new id. */
  #eventFromOtherNode(): void {
    const now = Date.now();
    if (now - this.#lastEventCheck < 1_000) return;
    this.#lastEventCheck = now;
    void this.#checkEntity("event");
  }

  #routeDialogs(event: AriEventObject, payload: string): void {
    let dialogs: string[];
    try {
      dialogs = this.#dialogs.dialogsFor(eventKeys(event as never));
    } catch (error) {
      this.#eventLog.debug("Cannot compute event keys: {error}", {
        error: errorMessage(error),
      });
      return;
    }
    for (const dialog of dialogs) {
      this.#enqueue(
        dialogEventSubject(this.#prefix, dialog),
        withDialog(payload, event, dialog),
        true,
      );
    }
    try {
      for (const key of isDestroyEvent(event as never)) {
        if (key.kind && key.id) this.#dialogs.unbind(key.kind, key.id);
      }
    } catch {
      // Not a destroy event we understand.
    }
  }

  // ---- public API ---------------------------------------------------------

  node(): string | undefined {
    return this.#node;
  }

  isAriConnected(): boolean {
    return this.#ariUp && this.#stream !== undefined &&
      this.#stream.isConnected();
  }

  stats(): ProxyStats {
    const limiter = this.#limiter.stats();
    const nc = this.#nc;
    return {
      application: this.#app,
      node: this.#node,
      ariConnected: this.isAriConnected(),
      natsConnected: this.#natsUp && nc !== undefined && !nc.isClosed(),
      requests: {
        ...this.#req,
        active: limiter.active,
        queued: limiter.queued,
      },
      events: {
        ...this.#ev,
        queued: this.#qSubjects.length,
        pendingBytes: natsPendingBytes(nc),
      },
      dialogs: this.#dialogs.stats(),
      announcements: this.#announcer.stats(),
      entityChanges: this.#entityChanges,
    };
  }

  close(): Promise<void> {
    this.#closeDone ??= this.#shutdown();
    return this.#closeDone;
  }

  async #shutdown(): Promise<void> {
    this.#closing = true;
    this.#abort.abort(new Error("The proxy is closing"));
    this.#announcer.stop();
    if (this.#entityTimer !== undefined) clearInterval(this.#entityTimer);
    clearTimeout(this.#replaceTimer);
    const nc = this.#nc;
    // 1. Stop intake: drain the request subscriptions (pending messages are
    // still dispatched), then wait for in-flight requests to answer.
    const subs = [...this.#baseSubs, ...this.#nodeSubs];
    this.#baseSubs = [];
    this.#nodeSubs = [];
    if (nc !== undefined && !nc.isClosed()) {
      await Promise.allSettled(subs.map((s) => s.drain()));
    }
    await this.#waitInflight();
    // 2. Close the ARI WebSocket (no more events).
    try {
      await Promise.all([this.#stream?.close(), this.#nextStream?.close()]);
    } catch (error) {
      this.#ariLog.debug("Closing the event stream failed: {error}", {
        error: errorMessage(error),
      });
    }
    // 3. Drain NATS (flush what we published).
    this.#flushEvents();
    clearTimeout(this.#overflowTimer);
    this.#overflowTimer = undefined;
    if (nc !== undefined && !nc.isClosed()) {
      try {
        if (this.#ownsNats) await nc.drain();
        else await nc.flush();
      } catch {
        if (this.#ownsNats) await nc.close().catch(() => {});
      }
    }
    await this.#rest.close().catch(() => {});
    await this.#http.close().catch(() => {});
    this.#log.info("Proxy closed");
    this.#closed.resolve(undefined);
  }

  async #waitInflight(): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = await Promise.race([
      this.#limiter.idle().then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), this.#opts.closeTimeout);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      const { active, queued } = this.#limiter.stats();
      this.#reqLog.warn(
        "Aborting {count} requests still in flight after {timeout} ms",
        { count: active + queued, timeout: this.#opts.closeTimeout },
      );
      this.#inflightAbort.abort(new Error("The proxy is closing"));
      await this.#limiter.idle();
    }
  }

  closed(): Promise<Error | undefined> {
    return this.#closed.promise;
  }

  isClosed(): boolean {
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

async function abortableConnect(
  options: ConnectionOptions,
  signal: AbortSignal,
): Promise<NatsConnection> {
  const pending = connectNats(options);
  try {
    return await abortable(pending, signal);
  } catch (error) {
    // Close a connection that completed after the abort.
    pending.then((nc) => nc.close()).catch(() => {});
    throw error;
  }
}

/**
 * Starts an ARI proxy and resolves once it serves requests: NATS is
 * connected, the node id is known, the ARI event stream is open and the
 * request subjects are subscribed. NATS and ARI are retried forever (with
 * jittered backoff, logging one line per kind of failure); pass `signal` to
 * give up.
 *
 * After start-up the proxy never closes by itself: when ARI goes away it
 * answers `ARI connection is down` and reconnects; when Asterisk comes back
 * with another entity id it re-registers under the new node id.
 *
 * @param options ARI and NATS settings, limits and timing.
 * @returns The running server.
 * @throws {TypeError} For missing or malformed options.
 * @throws {RangeError} For a negative or non-finite duration.
 * @throws The abort reason of `options.signal`.
 *
 * @example Run a proxy until SIGTERM
 * ```ts ignore
 * import { startProxy } from "./server.ts";
 *
 * await using proxy = await startProxy({
 *   ari: {
 *     application: "myapp",
 *     username: "proxy",
 *     password: "secret",
 *     httpUrl: "http://localhost:8088/ari",
 *     websocketUrl: "ws://localhost:8088/ari/events",
 *   },
 *   nats: { servers: ["nats://127.0.0.1:4222"] },
 * });
 * console.log("serving node", proxy.node());
 * ```
 */
export async function startProxy(options: ProxyOptions): Promise<ProxyServer> {
  const validated = validate(options);
  const proxy = new Proxy(validated);
  try {
    await proxy.start(options.signal);
  } catch (error) {
    await proxy.close();
    throw error;
  }
  return proxy;
}
