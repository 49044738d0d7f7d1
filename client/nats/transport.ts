/**
 * The NATS transport: sends protocol requests to the ari-proxy cluster,
 * merges the proxies' replies and delivers their events.
 *
 * @example Connect and list the channels of the whole cluster
 * ```ts ignore live
 * import { createNatsTransport } from "./transport.ts";
 *
 * await using transport = await createNatsTransport({
 *   servers: "nats://127.0.0.1:4222",
 *   application: "demo",
 * });
 * const response = await transport.request({ kind: "ChannelList", key: null });
 * console.log(response.keys);
 * ```
 *
 * @module
 */

import type {
  ConnectionOptions,
  NatsConnection,
  QueuedIterator,
  Status,
} from "@nats-io/nats-core";
import { connectForRuntime } from "./connect.ts";
import { assertSupportedRuntime } from "../_runtime.ts";
import {
  ClosedConnectionError,
  ConnectionError,
  TimeoutError,
} from "../errors.ts";
import { encodeRequest } from "../protocol/codec.ts";
import { kindInfo } from "../protocol/kinds.ts";
import {
  DEFAULT_PREFIX,
  eventSubscriptionSubject,
  isValidToken,
  normalizePrefix,
} from "../protocol/subjects.ts";
import type { Key, Request, Response } from "../protocol/types.ts";
import type {
  AriTransport,
  EventScope,
  EventSink,
  RequestOptions,
  TransportStatus,
} from "../transport.ts";
import { Broadcaster } from "./_broadcast.ts";
import {
  type Clock,
  type ClusterMember,
  type ClusterMonitor,
  createClusterMonitor,
  DEFAULT_CLUSTER_MAX_AGE,
  DEFAULT_PROBE_WINDOW,
  type MemberChange,
} from "./cluster.ts";
import { runWithDeadline } from "./deadline.ts";
import { ReconnectBackoff } from "./reconnect.ts";
import {
  awaitNodeMember,
  exchange,
  planRoute,
  ReplyCollector,
} from "./router.ts";
import {
  type DurableEventOptions,
  DurableEventSource,
  type DurableEventStats,
  validateDurableOptions,
} from "./durable.ts";
import {
  type EventFilter,
  SubscriptionHub,
  type SubscriptionStats,
} from "./subscriptions.ts";

/** Default NATS server. */
export const DEFAULT_SERVERS = "nats://127.0.0.1:4222";

/** Default per-request timeout, in ms (Go's 500 ms is too short for Answer). */
export const DEFAULT_TIMEOUT = 5_000;

/** Default retries of idempotent requests (`get`/`data` classes) after a timeout. */
export const DEFAULT_RETRIES = 1;

/** Default time to wait at start for the cluster to announce itself, in ms. */
export const DEFAULT_DISCOVERY_WAIT = 250;

/** After the first announcement, how long discovery waits for more, in ms. */
const DISCOVERY_SETTLE = 20;

/** Default reconnect wait of the NATS client, in ms (for `reconnecting` statuses). */
const NATS_RECONNECT_TIME_WAIT = 2_000;

/**
 * A NATS connection of `@nats-io/transport-node` (any `@nats-io/nats-core`
 * v3 connection works). Only a few members are spelled out here, so the
 * public API does not depend on the NATS library's types; pass the library's
 * `NatsConnection` (and cast back to it for the full API).
 */
export interface NatsConnectionLike {
  /** Whether the connection is closed. */
  isClosed(): boolean;
  /** The server currently connected to (`host:port`). */
  getServer(): string;
  /** Resolves once the server processed everything sent so far. */
  flush(): Promise<void>;
}

/**
 * A NATS authenticator (`usernamePasswordAuthenticator`, `nkeyAuthenticator`,
 * `jwtAuthenticator`, `credsAuthenticator`, … of `@nats-io/transport-node`).
 */
export type NatsAuthenticator = (nonce?: string) => unknown;

/** TLS options of the NATS connection (as `@nats-io/transport-node` takes them). */
export interface NatsTlsOptions {
  /** TLS handshake before the NATS INFO (the server must be configured for it). */
  handshakeFirst?: boolean;
  /** Client certificate file (PEM). */
  certFile?: string;
  /** Client certificate (PEM text). */
  cert?: string;
  /** CA certificate file (PEM). */
  caFile?: string;
  /** CA certificate (PEM text). */
  ca?: string;
  /** Client key file (PEM). */
  keyFile?: string;
  /** Client key (PEM text). */
  key?: string;
}

/** Options of {@linkcode createNatsTransport}. */
export interface NatsTransportOptions {
  /**
   * NATS server URL(s). Mutually exclusive with `connection`.
   *
   * @default {"nats://127.0.0.1:4222"}
   */
  servers?: string | string[];
  /**
   * An existing NATS connection (`NatsConnection` of
   * `@nats-io/transport-node`) to use. The transport never closes it.
   * Mutually exclusive with `servers` and the connection options.
   */
  connection?: NatsConnectionLike;
  /**
   * The ARI application this transport serves by default (reported as
   * `application`; as in Go, it is not stamped on request keys: a key
   * without `app` is broadcast to every application).
   *
   * @default {""}
   */
  application?: string;
  /**
   * Subject prefix (a trailing `.` is added when missing).
   *
   * @default {"ari."}
   */
  prefix?: string;
  /**
   * Per-request timeout in ms, unless a request gives its own: a deadline
   * for the whole call, retries included.
   *
   * @default {5000}
   */
  timeout?: number;
  /**
   * How often an idempotent request (`get` and `data` classes, lists
   * included) is retried within its timeout: when an attempt has had no
   * reply after its share of the timeout (`timeout / (retries + 1)`), the
   * next one is sent beside it and the first reply wins. Commands and
   * creates are never retried.
   *
   * @default {1}
   */
  retries?: number;
  /**
   * Silence after which a cluster member leaves, in ms (Go: 5 minutes).
   *
   * @default {300000}
   */
  clusterMaxAge?: number;
  /**
   * How long members have to answer a liveness probe, in ms (sent when a
   * broadcast got fewer replies than expected).
   *
   * @default {1000}
   */
  probeWindow?: number;
  /**
   * How long `createNatsTransport` waits for the cluster to announce itself
   * (it returns 20 ms after the first announcement), in ms. `0` does not
   * wait.
   *
   * @default {250}
   */
  discoveryWait?: number;
  /**
   * Dialog id: stamped on every request key (unless the key has its own),
   * and the default scope of `subscribe`.
   */
  dialog?: string;
  /**
   * Event messages that may wait per subject; beyond it the oldest are
   * dropped and a `slowConsumer` status reports it.
   *
   * @default {10000}
   */
  maxPending?: number;
  /**
   * Durable events: the client's events (scope `{ app: application }`)
   * come from a JetStream durable consumer of this name on the proxies'
   * event stream instead of a core subscription; each is acknowledged once
   * the sinks handled it, so a restarted client resumes after the last
   * handled event (at least once). See {@linkcode DurableEventOptions}.
   * Child transports (dialogs) and other scopes stay on core NATS.
   */
  durable?: DurableEventOptions;
  /** Clock for cluster expiry (tests). */
  clock?: Clock;
  /** NATS connection name (visible in the server's monitoring). */
  name?: string;
  /** NATS user. */
  user?: string;
  /** NATS password. */
  pass?: string;
  /** NATS token. */
  token?: string;
  /** NATS authenticator(s) (nkeys, JWT, credentials). */
  authenticator?: NatsAuthenticator | NatsAuthenticator[];
  /** TLS options (`null` disables TLS even when the server offers it). */
  tls?: NatsTlsOptions | null;
  /** Reconnect attempts before giving up (`-1`: forever). */
  maxReconnectAttempts?: number;
  /**
   * Wait between reconnect attempts, in ms. Without it (and without a
   * `reconnectDelayHandler` in `connectOptions`) the wait is chosen for call
   * control: 100–200 ms while the connection has been down less than 2 s,
   * then longer (see `client/nats/reconnect.ts`).
   */
  reconnectTimeWait?: number;
  /**
   * Any other option of `connect()` of `@nats-io/transport-node`
   * (`ConnectionOptions`), passed through unchanged (`servers` excluded).
   */
  connectOptions?: Record<string, unknown>;
}

/** Options of {@linkcode NatsAriTransport.child}. */
export interface ChildTransportOptions {
  /** Dialog of the child (default: the parent's). */
  dialog?: string;
  /** ARI application of the child (default: the parent's). */
  application?: string;
}

/** Counters of a transport (the whole connection's subscriptions). */
export interface NatsTransportStats extends SubscriptionStats {
  /** Requests sent (attempts included). */
  requests: number;
  /** Attempts that timed out. */
  timeouts: number;
  /** Durable consumer counters, when connected with `durable`. */
  durable?: DurableEventStats;
}

/** A NATS transport: an {@linkcode AriTransport} over an ari-proxy cluster. */
export interface NatsAriTransport extends AriTransport {
  /** Always `"nats"`. */
  readonly kind: "nats";
  /** Subject prefix (ends with `.`). */
  readonly prefix: string;
  /** Dialog this transport is bound to, if any. */
  readonly dialog: string | undefined;
  /** The NATS connection (shared by children); cast to `NatsConnection` for the full API. */
  readonly connection: NatsConnectionLike;
  /** Current cluster members (not expired). */
  members(): ClusterMember[];
  /** Join/leave changes of the cluster; iteration ends on close. */
  memberChanges(): AsyncIterable<MemberChange>;
  /**
   * A transport sharing this one's connection and cluster view, with its own
   * subscriptions and status stream; closing it releases only its own
   * subscriptions. Closing this transport closes it.
   */
  child(options?: ChildTransportOptions): NatsAriTransport;
  /** Waits for in-flight requests, then closes. */
  drain(): Promise<void>;
  /** Counters. */
  stats(): NatsTransportStats;
}

interface CoreConfig {
  nc: NatsConnection;
  ownsConnection: boolean;
  prefix: string;
  timeout: number;
  retries: number;
  reconnectTimeWait: number;
  backoff: ReconnectBackoff | undefined;
  cluster: ClusterMonitor;
  hub: SubscriptionHub;
  durable: { subject: string; source: DurableEventSource } | undefined;
}

/** State shared by a root transport and its children. */
class Core {
  readonly nc: NatsConnection;
  readonly ownsConnection: boolean;
  readonly prefix: string;
  readonly timeout: number;
  readonly retries: number;
  readonly cluster: ClusterMonitor;
  readonly hub: SubscriptionHub;
  readonly durable: CoreConfig["durable"];
  readonly transports = new Set<NatsTransport>();
  readonly #reconnectTimeWait: number;
  readonly #backoff: ReconnectBackoff | undefined;
  #statusIterator: QueuedIterator<Status> | undefined;
  connected = true;
  requests = 0;
  timeouts = 0;
  #attempt = 0;

  constructor(config: CoreConfig) {
    this.nc = config.nc;
    this.ownsConnection = config.ownsConnection;
    this.prefix = config.prefix;
    this.timeout = config.timeout;
    this.retries = config.retries;
    this.cluster = config.cluster;
    this.hub = config.hub;
    this.durable = config.durable;
    this.#reconnectTimeWait = config.reconnectTimeWait;
    this.#backoff = config.backoff;
  }

  emit(status: TransportStatus): void {
    for (const transport of this.transports) transport.emitStatus(status);
  }

  watch(root: NatsTransport): void {
    const iterator = this.nc.status() as unknown as QueuedIterator<Status>;
    this.#statusIterator = iterator;
    (async () => {
      for await (const status of iterator) this.#onNatsStatus(status);
    })().catch(() => {});
    this.nc.closed().then((error) => {
      if (!root.isClosed()) {
        root.closeWith(
          error ??
            new ConnectionError("NATS connection closed", {
              target: this.target(),
            }),
        );
      }
    }).catch(() => {});
  }

  target(): string {
    try {
      return this.nc.getServer();
    } catch {
      return "";
    }
  }

  #onNatsStatus(status: Status): void {
    switch (status.type) {
      case "disconnect":
        this.connected = false;
        this.emit({ type: "disconnected", target: status.server });
        break;
      case "reconnecting":
        this.#attempt++;
        this.emit({
          type: "reconnecting",
          target: this.target(),
          attempt: this.#attempt,
          delay: this.#backoff?.last || this.#reconnectTimeWait,
        });
        break;
      case "reconnect":
        this.connected = true;
        this.#attempt = 0;
        this.#backoff?.reset();
        this.emit({ type: "connected", target: status.server });
        // Learn the cluster again: members may have changed meanwhile.
        this.cluster.ping();
        break;
      case "error":
        this.emit({ type: "error", error: status.error });
        break;
      default:
        break;
    }
  }

  async shutdown(drain: boolean): Promise<void> {
    this.cluster.close();
    this.hub.close();
    // Gives back unhandled events before the connection goes.
    await this.durable?.source.close();
    this.#statusIterator?.stop();
    if (!this.ownsConnection || this.nc.isClosed()) return;
    try {
      if (drain) await this.nc.drain();
      else await this.nc.close();
    } catch {
      await this.nc.close().catch(() => {});
    }
  }
}

function stampDialog(key: Key | null, dialog: string | undefined): Key {
  const stamped: Key = { ...(key ?? {}) };
  if (dialog && !stamped.dialog) stamped.dialog = dialog;
  return stamped;
}

function scopeFilter(scope: EventScope): EventFilter | undefined {
  // Fields the subject does not already select are checked locally.
  const { app, node, dialog } = scope;
  let needApp: string | undefined;
  let needNode: string | undefined;
  if (dialog) {
    needApp = app;
    needNode = node;
  } else if (!app) {
    needNode = node;
  }
  if (!needApp && !needNode) return undefined;
  return (event) =>
    (!needApp || event.application === needApp) &&
    (!needNode || event.asterisk_id === needNode);
}

function isIdempotent(cls: string): boolean {
  return cls === "get" || cls === "data";
}

function validTimeout(value: number, name: string): number {
  if (!(typeof value === "number" && value > 0 && Number.isFinite(value))) {
    throw new RangeError(
      `Invalid option "${name}": ${value} (expected a positive number of ms)`,
    );
  }
  return value;
}

class NatsTransport implements NatsAriTransport {
  readonly kind = "nats" as const;
  readonly application: string;
  readonly dialog: string | undefined;
  readonly #core: Core;
  readonly #parent: NatsTransport | undefined;
  readonly #children = new Set<NatsTransport>();
  readonly #unsubscribers = new Set<() => void>();
  readonly #inflight = new Set<Promise<unknown>>();
  readonly #status = new Broadcaster<TransportStatus>(64);
  readonly #abort = new AbortController();
  readonly #closed: Promise<Error | undefined>;
  #resolveClosed!: (reason: Error | undefined) => void;
  #isClosed = false;

  constructor(
    core: Core,
    parent: NatsTransport | undefined,
    application: string,
    dialog: string | undefined,
  ) {
    this.#core = core;
    this.#parent = parent;
    this.application = application;
    this.dialog = dialog;
    this.#closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    core.transports.add(this);
    if (parent) parent.#children.add(this);
  }

  get prefix(): string {
    return this.#core.prefix;
  }

  get connection(): NatsConnection {
    return this.#core.nc;
  }

  request(request: Request, options?: RequestOptions): Promise<Response> {
    if (this.#isClosed) {
      return Promise.reject(new ClosedConnectionError("NATS transport"));
    }
    const promise = this.#request(request, options);
    this.#inflight.add(promise);
    const forget = () => this.#inflight.delete(promise);
    promise.then(forget, forget);
    return promise;
  }

  async #request(
    request: Request,
    options?: RequestOptions,
  ): Promise<Response> {
    const core = this.#core;
    const timeout = options?.timeout === undefined
      ? core.timeout
      : validTimeout(options.timeout, "timeout");
    const stamped: Request = {
      ...request,
      key: stampDialog(request.key, this.dialog),
    };
    const payload = encodeRequest(stamped);
    const signals = [this.#abort.signal];
    if (options?.signal) signals.push(options.signal);
    const signal = AbortSignal.any(signals);
    const attempts = isIdempotent(kindInfo(request.kind)?.class ?? "")
      ? 1 + core.retries
      : 1;
    // Waiting for the key's node to be known counts against the caller's
    // timeout: the deadline covers the whole call.
    const start = performance.now();
    await awaitNodeMember(core.cluster, stamped.key, {
      kind: request.kind,
      timeout,
      signal,
    });
    const remaining = Math.max(1, timeout - (performance.now() - start));
    return await runWithDeadline((budget, attemptSignal) => {
      const plan = planRoute(
        core.prefix,
        stamped,
        core.cluster,
        this.application,
      );
      const collector = new ReplyCollector(plan);
      core.requests++;
      return exchange(core.nc, plan, payload, collector, {
        kind: request.kind,
        timeout: budget,
        signal: attemptSignal,
      }).then((response) => {
        if (!plan.direct && collector.replies < plan.known) {
          core.cluster.probe();
        }
        return response;
      }, (error) => {
        if (error instanceof TimeoutError && !plan.direct && plan.known > 0) {
          core.cluster.probe();
        }
        throw error;
      });
    }, {
      timeout: remaining,
      attempts,
      signal,
      timeoutError: () =>
        new TimeoutError({ timeout, operation: request.kind }),
      onAttemptTimeout: () => core.timeouts++,
    });
  }

  subscribe(scope: EventScope, sink: EventSink): () => void {
    if (this.#isClosed) return () => {};
    const effective: EventScope = { ...scope };
    if (!effective.dialog && this.dialog) effective.dialog = this.dialog;
    const subject = eventSubscriptionSubject(this.#core.prefix, effective);
    const durable = this.#core.durable;
    const remove = durable && !this.#parent && durable.subject === subject &&
        !effective.node
      ? durable.source.add(sink)
      : this.#core.hub.add(subject, scopeFilter(effective), sink);
    this.#unsubscribers.add(remove);
    return () => {
      this.#unsubscribers.delete(remove);
      remove();
    };
  }

  status(): AsyncIterable<TransportStatus> {
    return this.#status.listen();
  }

  emitStatus(status: TransportStatus): void {
    this.#status.emit(status);
  }

  isConnected(): boolean {
    return !this.#isClosed && this.#core.connected;
  }

  nodes(): Key[] {
    return this.#core.cluster.members().map((member) => ({
      node: member.node,
      app: member.application,
    }));
  }

  members(): ClusterMember[] {
    return this.#core.cluster.members();
  }

  memberChanges(): AsyncIterable<MemberChange> {
    return this.#core.cluster.memberChanges();
  }

  child(options?: ChildTransportOptions): NatsAriTransport {
    if (this.#isClosed) throw new ClosedConnectionError("NATS transport");
    const dialog = options?.dialog ?? this.dialog;
    if (dialog !== undefined && !isValidToken(dialog)) {
      throw new TypeError(
        `Invalid option "dialog": "${dialog}" (expected one subject token)`,
      );
    }
    return new NatsTransport(
      this.#core,
      this,
      options?.application ?? this.application,
      dialog,
    );
  }

  stats(): NatsTransportStats {
    return {
      ...this.#core.hub.stats(),
      requests: this.#core.requests,
      timeouts: this.#core.timeouts,
      ...(this.#core.durable
        ? { durable: this.#core.durable.source.stats() }
        : {}),
    };
  }

  close(): Promise<void> {
    return this.#shutdown(undefined, false);
  }

  /** Closes because of a failure (internal). */
  closeWith(error: Error): Promise<void> {
    return this.#shutdown(error, false);
  }

  async drain(): Promise<void> {
    if (this.#isClosed) return;
    await Promise.allSettled([
      ...this.#inflight,
      ...[...this.#children].map((child) => child.drain()),
    ]);
    await this.#shutdown(undefined, true);
  }

  closed(): Promise<Error | undefined> {
    return this.#closed;
  }

  isClosed(): boolean {
    return this.#isClosed;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.drain();
  }

  async #shutdown(error: Error | undefined, drain: boolean): Promise<void> {
    if (this.#isClosed) return this.#closed.then(() => {});
    this.#isClosed = true;
    this.#abort.abort(
      new ClosedConnectionError("NATS transport", { cause: error }),
    );
    await Promise.all(
      [...this.#children].map((child) => child.#shutdown(error, drain)),
    );
    for (const remove of this.#unsubscribers) remove();
    this.#unsubscribers.clear();
    if (this.#parent) this.#parent.#children.delete(this);
    this.#core.transports.delete(this);
    if (!this.#parent) await this.#core.shutdown(drain);
    this.#status.emit(error ? { type: "closed", error } : { type: "closed" });
    this.#status.close();
    this.#resolveClosed(error);
  }
}

async function discover(cluster: ClusterMonitor, wait: number): Promise<void> {
  if (wait <= 0) return;
  const changes = cluster.memberChanges();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await new Promise<void>((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        resolve();
      };
      timer = setTimeout(finish, wait);
      changes.next().then((result) => {
        clearTimeout(timer);
        if (result.done) finish();
        else timer = setTimeout(finish, DISCOVERY_SETTLE);
      }, finish);
    });
  } finally {
    clearTimeout(timer);
    await changes.return?.();
  }
}

const CONNECTION_FIELDS = [
  "name",
  "user",
  "pass",
  "token",
  "authenticator",
  "tls",
  "maxReconnectAttempts",
  "reconnectTimeWait",
] as const;

/**
 * Connects to NATS (or adopts a connection), starts cluster discovery
 * (subscribe to announcements, ping) and returns the transport.
 *
 * Routing: a key with `app` and `node` goes direct to one proxy; any other
 * key is broadcast and the replies are merged (first good reply for single
 * results, all keys for lists, ready as soon as every known member
 * answered). See `router.ts`.
 *
 * @param options Servers or connection, application, prefix, timeouts, NATS options.
 * @returns The transport; close it with `close()`, `drain()` or `await using`.
 * @throws {TypeError} When options conflict (`connection` with `servers` or
 * connection options) or `dialog` is not one subject token.
 * @throws {RangeError} When a duration or count is out of range, or on Node before 22.
 * @throws {ConnectionError} When NATS cannot be reached.
 *
 * @example Broadcast a list and use a child bound to a dialog
 * ```ts ignore live
 * import { createNatsTransport } from "./transport.ts";
 *
 * await using transport = await createNatsTransport({ servers: "nats://127.0.0.1:4222" });
 * console.log(transport.members());
 * const { keys } = await transport.request({ kind: "ChannelList", key: null });
 * await using dialog = transport.child({ dialog: "call-42" });
 * dialog.subscribe({}, (event) => console.log(event.type)); // ari.dialogevent.call-42
 * ```
 */
export async function createNatsTransport(
  options?: NatsTransportOptions,
): Promise<NatsAriTransport> {
  assertSupportedRuntime();
  const opts: NatsTransportOptions = { ...options };
  const {
    servers,
    connection,
    application = "",
    prefix = DEFAULT_PREFIX,
    timeout = DEFAULT_TIMEOUT,
    retries = DEFAULT_RETRIES,
    clusterMaxAge = DEFAULT_CLUSTER_MAX_AGE,
    probeWindow = DEFAULT_PROBE_WINDOW,
    discoveryWait = DEFAULT_DISCOVERY_WAIT,
    dialog,
    maxPending,
    durable,
    clock,
    connectOptions,
  } = opts;
  if (durable !== undefined) validateDurableOptions(durable);
  validTimeout(timeout, "timeout");
  validTimeout(clusterMaxAge, "clusterMaxAge");
  validTimeout(probeWindow, "probeWindow");
  if (!Number.isInteger(retries) || retries < 0) {
    throw new RangeError(
      `Invalid option "retries": ${retries} (expected an integer >= 0)`,
    );
  }
  if (!(discoveryWait >= 0 && Number.isFinite(discoveryWait))) {
    throw new RangeError(
      `Invalid option "discoveryWait": ${discoveryWait} (expected ms >= 0)`,
    );
  }
  if (typeof prefix !== "string") {
    throw new TypeError(`Invalid option "prefix": ${prefix}`);
  }
  if (dialog !== undefined && !isValidToken(dialog)) {
    throw new TypeError(
      `Invalid option "dialog": "${dialog}" (expected one subject token)`,
    );
  }
  const given = CONNECTION_FIELDS.filter((field) => opts[field] !== undefined);
  if (
    connection &&
    (servers !== undefined || connectOptions !== undefined || given.length > 0)
  ) {
    const names = [
      ...(servers !== undefined ? ["servers"] : []),
      ...(connectOptions !== undefined ? ["connectOptions"] : []),
      ...given,
    ];
    throw new TypeError(
      `Invalid options: "connection" and ${
        names.map((n) => `"${n}"`).join(", ")
      } are mutually exclusive`,
    );
  }

  let nc: NatsConnection;
  let backoff: ReconnectBackoff | undefined;
  if (connection) {
    if (connection.isClosed()) {
      throw new ClosedConnectionError("NATS connection");
    }
    nc = connection as NatsConnection;
  } else {
    const target = servers ?? DEFAULT_SERVERS;
    const natsOptions = {
      ...connectOptions,
      servers: target,
    } as ConnectionOptions;
    for (const field of given) {
      (natsOptions as Record<string, unknown>)[field] = opts[field];
    }
    if (
      opts.reconnectTimeWait === undefined &&
      natsOptions.reconnectTimeWait === undefined &&
      natsOptions.reconnectDelayHandler === undefined
    ) {
      const chosen = new ReconnectBackoff();
      backoff = chosen;
      natsOptions.reconnectDelayHandler = () => chosen.delay();
    }
    try {
      nc = await connectForRuntime(natsOptions);
      // nats.js asks for a wait on the first connect too: outages start later.
      backoff?.reset();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const where = Array.isArray(target) ? target.join(", ") : target;
      throw new ConnectionError(
        `Cannot connect to NATS at ${where}: ${message}`,
        { target: where, cause: error },
      );
    }
  }

  const normalized = normalizePrefix(prefix);
  let core: Core;
  let durableSource: CoreConfig["durable"];
  try {
    if (durable !== undefined) {
      const subject = eventSubscriptionSubject(normalized, {
        app: application,
      });
      const source = await DurableEventSource.open(nc, durable, {
        subject,
        onStatus: (status) => core?.emit(status),
      });
      durableSource = { subject, source };
    }
    const cluster = createClusterMonitor(nc, {
      prefix: normalized,
      maxAge: clusterMaxAge,
      probeWindow,
      ping: false,
      ...(clock ? { clock } : {}),
    });
    // Declared before the hub so that its status callback can reach it.
    const hubStatus = (status: TransportStatus) => core.emit(status);
    const hub = new SubscriptionHub(nc, {
      ...(maxPending !== undefined ? { maxPending } : {}),
      onStatus: hubStatus,
    });
    core = new Core({
      nc,
      ownsConnection: !connection,
      prefix: normalized,
      timeout,
      retries,
      reconnectTimeWait: opts.reconnectTimeWait ?? NATS_RECONNECT_TIME_WAIT,
      backoff,
      cluster,
      hub,
      durable: durableSource,
    });
  } catch (error) {
    if (!connection) await nc.close().catch(() => {});
    throw error;
  }
  const root = new NatsTransport(core, undefined, application, dialog);
  core.watch(root);
  const discovery = discover(core.cluster, discoveryWait);
  core.cluster.ping();
  await discovery;
  return root;
}
