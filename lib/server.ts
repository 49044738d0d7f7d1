/**
 * The proxy server's lifecycle: a NATS front-end to one Asterisk's ARI,
 * wire-compatible with Go CyCoreSystems/ari-proxy v5 (PROTOCOL.md).
 *
 * {@linkcode startProxy} connects NATS and ARI (retrying forever), learns the
 * node id from `GET /asterisk/info`, opens the ARI events WebSocket and wires
 * the three parts that do the work:
 *
 * - the bridge (`bridge.ts`): every ARI event on `<prefix>event.<app>.<node>`
 *   plus dialog copies on `<prefix>dialogevent.<dialog>`, batched per
 *   event-loop turn, dropped (counted, logged) beyond `maxPendingEventBytes`;
 * - the subject router (`router.ts`): requests on
 *   `<prefix>{get,data,command,create}[.<app>[.<node>]]` → the shared
 *   KindExecutor → replies;
 * - the discovery pinger (`discovery.ts`): `<prefix>ping` →
 *   `<prefix>announce`.
 *
 * This file keeps what ties them together: options, connecting and
 * reconnecting NATS and ARI, the entity id check (re-subscribing under a
 * new node id), ApplicationReplaced handling, stats and shutdown.
 *
 * @module
 */

import type { Logger } from "@logtape/logtape";
import {
  type ConnectionOptions,
  credsAuthenticator,
  type NatsConnection,
} from "@nats-io/nats-core";
import { connectNats } from "../client/nats/deno_socket.ts";
import { ReconnectBackoff } from "../client/nats/reconnect.ts";
import { isValidToken } from "../client/protocol/subjects.ts";
import {
  type AriEventStream,
  openAriEventStream,
  type StreamStatus,
} from "../client/native/events_socket.ts";
import {
  createKindExecutor,
  type KindExecutor,
} from "../client/native/executor.ts";
import {
  type AriRestClient,
  createAriRestClient,
} from "../client/native/rest.ts";
import {
  createRestOverWebSocket,
  type RestOverWebSocket,
} from "../client/native/rest_over_ws.ts";
import {
  type ProxyOptions,
  type ValidatedProxyOptions,
  validateProxyOptions,
} from "./options.ts";
import {
  createEventBridge,
  type EventBridge,
  type ProxyEventStats,
} from "./bridge.ts";
import { createDialogRegistry, type DialogRegistry } from "./dialogs.ts";
import { EventStreamPublisher } from "./event_stream.ts";
import { createDiscoveryPinger, type DiscoveryPinger } from "./discovery.ts";
import {
  createSubjectRouter,
  type ProxyRequestStats,
  type SubjectRouter,
} from "./router.ts";
import { type HealthServer, serveHealth } from "./http.ts";
import { createProxyMetrics, type ProxyMetrics } from "./metrics.ts";
import { errorMessage, redactUrl } from "./_log_text.ts";
import { abortable, retryDelay, retryUntilReachable, sleep } from "./_retry.ts";

export {
  DEFAULT_MAX_PENDING_EVENT_BYTES,
  EVENT_DROP_REPORT_INTERVAL,
} from "./bridge.ts";
export {
  ARI_DOWN_ERROR,
  NOT_IMPLEMENTED_ERROR,
  OVERLOADED_ERROR,
} from "./router.ts";
export type { ProxyEventStats, ProxyRequestStats };
export {
  DEFAULT_CLOSE_TIMEOUT,
  DEFAULT_ENTITY_CHECK_INTERVAL,
  DEFAULT_PROXY_PREFIX,
} from "./options.ts";
export type {
  ProxyAriOptions,
  ProxyEventStreamOptions,
  ProxyNatsConnectOptions,
  ProxyNatsInjectedOptions,
  ProxyNatsTlsOptions,
  ProxyOptions,
} from "./options.ts";

/** A snapshot of the server state. */
export interface ProxyStats {
  /** ARI application (the first, with several). */
  application: string;
  /** Every ARI application served, in order. */
  applications: string[];
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
  /** Reconnects of the ARI event stream and of NATS. */
  reconnects: { ari: number; nats: number };
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
  /** Where the HTTP endpoint listens (`undefined` without `httpListen`). */
  httpAddr(): Deno.NetAddr | undefined;
  /** The Prometheus exposition (`undefined` when metrics are off). */
  metrics(): string | undefined;
}

class Proxy implements ProxyServer {
  readonly #opts: ValidatedProxyOptions;
  readonly #log: Logger;
  readonly #natsLog: Logger;
  readonly #ariLog: Logger;
  readonly #eventLog: Logger;
  readonly #app: string;
  readonly #apps: readonly string[];
  readonly #metrics: ProxyMetrics | undefined;
  #httpServer: HealthServer | undefined;
  #ariReconnects = 0;
  #natsReconnects = 0;
  readonly #prefix: string;
  readonly #ownsNats: boolean;
  /** Aborted by close(): start-up loops, entity checks. */
  readonly #abort = new AbortController();
  readonly #dialogs: DialogRegistry;
  readonly #bridge: EventBridge;
  readonly #router: SubjectRouter;
  readonly #pinger: DiscoveryPinger;
  readonly #rest: AriRestClient;
  /**
   * Learns the node id before the WebSocket is open: `#rest`, except with
   * `--ari.transport websocket` an HTTP-only client.
   */
  readonly #httpRest: AriRestClient;
  /** ARI requests on the events WebSocket (unless `--ari.transport http`). */
  readonly #requests: RestOverWebSocket | undefined;
  readonly #executors: KindExecutor[];
  #nc: NatsConnection | undefined;
  #stream: AriEventStream | undefined;
  /** A stream replacing `#stream` after ApplicationReplaced, until it opens. */
  #nextStream: AriEventStream | undefined;
  #replaceTimer: ReturnType<typeof setTimeout> | undefined;
  #replacements = 0;
  #lastReplacement = 0;
  #node: string | undefined;
  /** The WebSocket is open and the node id was checked after (re)connecting. */
  #ariUp = false;
  #everConnected = false;
  /** NATS connected (not between a disconnect and a reconnect). */
  #natsUp = false;
  readonly #natsBackoff = new ReconnectBackoff();
  #entityTimer: ReturnType<typeof setInterval> | undefined;
  #entityCheck: Promise<void> | undefined;
  #lastEventCheck = 0;
  #closing = false;
  #closeDone: Promise<void> | undefined;
  readonly #closed = Promise.withResolvers<Error | undefined>();
  #entityChanges = 0;

  constructor(opts: ValidatedProxyOptions) {
    this.#opts = opts;
    this.#log = opts.logger;
    this.#natsLog = opts.logger.getChild("nats");
    this.#ariLog = opts.logger.getChild("ari");
    this.#eventLog = opts.logger.getChild("events");
    this.#apps = opts.applications;
    this.#app = this.#apps[0]!;
    this.#metrics = opts.metrics
      ? createProxyMetrics({ applications: this.#apps })
      : undefined;
    this.#prefix = opts.prefix;
    this.#ownsNats = !("connection" in opts.nats);
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
    // ARI calls go as RESTRequest messages on the events WebSocket when
    // Asterisk answers there, else (and for files) over Deno's fetch, at
    // most 32 at once (see BENCHMARKS.md for both).
    const transport = opts.ari.transport ?? "auto";
    this.#requests = transport === "http"
      ? undefined
      : createRestOverWebSocket({ mode: transport });
    const restOptions = {
      url: opts.ari.httpUrl,
      username: opts.ari.username,
      password: opts.ari.password,
      ...(opts.requestTimeout === undefined
        ? {}
        : { timeout: opts.requestTimeout }),
    };
    // "auto" uses HTTP until a socket answered, so one client does both.
    this.#rest = this.#requests === undefined
      ? createAriRestClient(restOptions)
      : createAriRestClient({
        ...restOptions,
        webSocketRequests: this.#requests,
      });
    this.#httpRest = transport === "websocket"
      ? createAriRestClient(restOptions)
      : this.#rest;
    this.#executors = this.#apps.map((application) =>
      createKindExecutor({
        rest: this.#rest,
        application,
        node: () => this.#node ?? "",
      })
    );
    this.#bridge = createEventBridge({
      prefix: this.#prefix,
      applications: this.#apps,
      dialogs: this.#dialogs,
      maxPendingEventBytes: opts.maxPendingEventBytes,
      logger: this.#eventLog,
      ...(this.#metrics === undefined ? {} : { metrics: this.#metrics }),
      onApplicationReplaced: (application) =>
        this.#onApplicationReplaced(application),
      onForeignNode: () => this.#eventFromOtherNode(),
    });
    this.#router = createSubjectRouter({
      prefix: this.#prefix,
      applications: this.#apps,
      executors: this.#executors,
      node: () => this.#node,
      ...(this.#metrics === undefined ? {} : { metrics: this.#metrics }),
      dialogs: this.#dialogs,
      isAriConnected: () => this.isAriConnected(),
      beforeReply: this.#bridge.flush,
      ...(opts.maxConcurrency === undefined
        ? {}
        : { maxConcurrency: opts.maxConcurrency }),
      ...(opts.maxQueued === undefined ? {} : { maxQueued: opts.maxQueued }),
      ...(opts.requestTimeout === undefined
        ? {}
        : { requestTimeout: opts.requestTimeout }),
      logger: opts.logger.getChild("requests"),
    });
    this.#pinger = createDiscoveryPinger({
      prefix: this.#prefix,
      applications: this.#apps,
      node: () => this.#node,
      isAriConnected: () => this.isAriConnected(),
      connection: () => this.#nc,
      ...(opts.announceInterval === undefined
        ? {}
        : { interval: opts.announceInterval }),
      logger: this.#natsLog,
    });
  }

  // ---- start-up -----------------------------------------------------------

  async start(externalSignal: AbortSignal | undefined): Promise<void> {
    const signal = externalSignal === undefined
      ? this.#abort.signal
      : AbortSignal.any([this.#abort.signal, externalSignal]);
    if (this.#opts.http !== undefined) {
      this.#httpServer = serveHealth({
        ...this.#opts.http,
        logger: this.#log.getChild("http"),
        source: {
          running: () => !this.#closing,
          ariConnected: () => this.isAriConnected(),
          natsConnected: () => this.#natsConnected(),
          metrics: () => this.metrics(),
        },
      });
    }
    this.#useConnection(await this.#connectNats(signal));
    if (this.#opts.eventStream !== undefined) await this.#openEventStream();
    this.#node = await this.#fetchNodeWithRetry(signal);
    this.#bridge.setNode(this.#node);
    this.#ariLog.info(
      "Asterisk node id is {node}; opening the ARI event stream for application {application}",
      { node: this.#node, application: this.#apps.join(",") },
    );
    this.#stream = this.#createStream();
    await abortable(this.#stream.ready(), signal);
    await this.#settleRequestPath(signal);
    this.#ariUp = this.#stream.isConnected();
    this.#everConnected = true;
    this.#subscribe();
    this.#pinger.start();
    this.#pinger.announce("startup");
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
      {
        application: this.#apps.join(","),
        node: this.#node,
        prefix: this.#prefix,
      },
    );
  }

  /**
   * `--events.stream`: makes sure the stream captures our event and dialog
   * event subjects (a stream this proxy creates captures every app's, so
   * the proxies of a cluster share it) and publishes events through it.
   */
  async #openEventStream(): Promise<void> {
    const settings = this.#opts.eventStream!;
    const prefix = this.#prefix;
    const publisher = await EventStreamPublisher.open(this.#nc!, {
      ...settings,
      subjects: [`${prefix}event.${this.#app}.>`, `${prefix}dialogevent.>`],
      createSubjects: [`${prefix}event.>`, `${prefix}dialogevent.>`],
      fallback: this.#bridge.publishCore,
      logger: this.#eventLog,
    });
    this.#bridge.setStream(publisher);
  }

  #useConnection(nc: NatsConnection): void {
    this.#nc = nc;
    this.#bridge.setConnection(nc);
  }

  /** Subscribes the router and the pinger on the current connection. */
  #subscribe(): void {
    const nc = this.#nc;
    if (nc === undefined || this.#closing) return;
    this.#pinger.subscribe(nc);
    this.#router.subscribeBase(nc);
    this.#router.subscribeNode(nc, this.#node!);
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
      // Call control: 100–200 ms waits at first, longer as an outage lasts.
      reconnectDelayHandler: () => this.#natsBackoff.delay(),
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
      this.#natsBackoff.reset();
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
            this.#natsReconnects++;
            this.#natsBackoff.reset();
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
    this.#router.forget();
    this.#pinger.forget();
    try {
      const nc = await this.#connectNats(this.#abort.signal);
      if (this.#closing) {
        await nc.close();
        return;
      }
      this.#useConnection(nc);
      this.#natsReconnects++;
      if (this.#node !== undefined) {
        this.#subscribe();
        this.#pinger.announce("reconnect");
      }
    } catch {
      // Closing.
    }
  }

  /**
   * Says which path ARI requests take once the first socket answered the
   * support probe (or its time ran out). With `--ari.transport websocket`
   * start-up waits for it, and an Asterisk that does not answer there stops
   * the start-up; with `auto` requests use HTTP meanwhile.
   */
  async #settleRequestPath(signal: AbortSignal): Promise<void> {
    const requests = this.#requests;
    if (requests === undefined) {
      this.#ariLog.info("ARI requests go over HTTP (--ari.transport http)");
      return;
    }
    const report = (support: string) => {
      if (support === "supported") {
        this.#ariLog.info(
          "ARI requests go over the events WebSocket (RESTRequest messages)",
        );
      } else if (requests.mode === "auto" && !this.#closing) {
        this.#ariLog.info(
          "ARI requests go over HTTP: Asterisk did not answer a RESTRequest message on the events WebSocket",
        );
      }
    };
    if (requests.mode === "auto") {
      requests.probed().then(report, () => {});
      return;
    }
    const support = await abortable(requests.probed(), signal);
    if (support !== "supported") {
      throw new Error(
        `Cannot send ARI requests over the WebSocket ${
          redactUrl(this.#opts.ari.websocketUrl)
        }: Asterisk did not answer a RESTRequest message (it needs Asterisk 22 or later); use --ari.transport http or auto`,
      );
    }
    report(support);
  }

  async #fetchNode(
    signal: AbortSignal,
    rest: AriRestClient = this.#rest,
  ): Promise<string> {
    const info = await rest.request("GET", "/asterisk/info", {
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
    }, () => this.#fetchNode(signal, this.#httpRest));
  }

  #createStream(): AriEventStream {
    const ari = this.#opts.ari;
    // The constructor reports "connecting" before it returns the stream.
    const holder: { stream?: AriEventStream } = {};
    holder.stream = openAriEventStream({
      url: ari.websocketUrl,
      username: ari.username,
      password: ari.password,
      app: this.#apps,
      ...(this.#requests === undefined ? {} : { requests: this.#requests }),
      onFrame: (frame) => this.#bridge.onFrame(frame),
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
  #onApplicationReplaced(application: string): void {
    if (this.#closing || this.#replaceTimer !== undefined) return;
    const now = Date.now();
    if (now - this.#lastReplacement > 300_000) this.#replacements = 0;
    this.#lastReplacement = now;
    this.#replacements++;
    const delay = Math.min(60_000, 500 * 2 ** (this.#replacements - 1));
    this.#ariLog.warn(
      "Another client registered ARI application {application} on this Asterisk and now receives its events; registering it again in {delay} ms",
      { application, delay },
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
      application: this.#apps.join(","),
    });
    await old?.close();
  }

  #onStreamStatus(status: StreamStatus): void {
    switch (status.type) {
      case "connected":
        if (this.#everConnected) {
          this.#ariReconnects++;
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
    this.#pinger.announce("reconnect");
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
    this.#bridge.setNode(id);
    const nc = this.#nc;
    if (nc !== undefined && !this.#closing) {
      this.#router.subscribeNode(nc, id);
    }
    this.#pinger.announce("reconnect");
  }

  /** An event names another node: Asterisk may have restarted with a new id. */
  #eventFromOtherNode(): void {
    const now = Date.now();
    if (now - this.#lastEventCheck < 1_000) return;
    this.#lastEventCheck = now;
    void this.#checkEntity("event");
  }

  // ---- public API ---------------------------------------------------------

  node(): string | undefined {
    return this.#node;
  }

  isAriConnected(): boolean {
    return this.#ariUp && this.#stream !== undefined &&
      this.#stream.isConnected();
  }

  #natsConnected(): boolean {
    const nc = this.#nc;
    return this.#natsUp && nc !== undefined && !nc.isClosed();
  }

  stats(): ProxyStats {
    return {
      application: this.#app,
      applications: [...this.#apps],
      node: this.#node,
      ariConnected: this.isAriConnected(),
      natsConnected: this.#natsConnected(),
      requests: this.#router.stats(),
      events: this.#bridge.stats(),
      dialogs: this.#dialogs.stats(),
      announcements: this.#pinger.stats(),
      entityChanges: this.#entityChanges,
      reconnects: { ari: this.#ariReconnects, nats: this.#natsReconnects },
    };
  }

  httpAddr(): Deno.NetAddr | undefined {
    return this.#httpServer?.addr;
  }

  metrics(): string | undefined {
    const metrics = this.#metrics;
    if (metrics === undefined) return undefined;
    const stats = this.stats();
    return metrics.render({
      node: stats.node ?? "",
      version: this.#opts.version,
      ariConnected: stats.ariConnected,
      natsConnected: stats.natsConnected,
      ariReconnects: stats.reconnects.ari,
      natsReconnects: stats.reconnects.nats,
      inFlight: stats.requests.active,
      queued: stats.requests.queued,
      received: stats.requests.received,
      noReply: stats.requests.noReply,
      dialogEntities: stats.dialogs.entities,
      dialogs: stats.dialogs.dialogs,
      dialogEvicted: stats.dialogs.evicted,
      announcements: this.#pinger.statsByApplication().map((a) => a.sent),
      entityChanges: stats.entityChanges,
      pendingEventBytes: stats.events.pendingBytes,
      ...(stats.events.stream === undefined
        ? {}
        : { eventStream: stats.events.stream }),
    });
  }

  close(): Promise<void> {
    this.#closeDone ??= this.#shutdown();
    return this.#closeDone;
  }

  async #shutdown(): Promise<void> {
    this.#closing = true;
    this.#abort.abort(new Error("The proxy is closing"));
    this.#pinger.stop();
    if (this.#entityTimer !== undefined) clearInterval(this.#entityTimer);
    clearTimeout(this.#replaceTimer);
    const nc = this.#nc;
    // 1. Stop intake: drain the request subscriptions (pending messages are
    // still dispatched), then wait for in-flight requests to answer.
    await Promise.all([
      this.#pinger.drain(),
      this.#router.drain(this.#opts.closeTimeout),
    ]);
    // 2. Close the ARI WebSocket (no more events).
    try {
      await Promise.all([this.#stream?.close(), this.#nextStream?.close()]);
    } catch (error) {
      this.#ariLog.debug("Closing the event stream failed: {error}", {
        error: errorMessage(error),
      });
    }
    // 3. Drain NATS (flush what we published; with a stream, wait for the
    // acknowledgements first).
    await this.#bridge.closeStream(Math.min(this.#opts.closeTimeout, 5_000));
    this.#bridge.close();
    if (nc !== undefined && !nc.isClosed()) {
      try {
        if (this.#ownsNats) await nc.drain();
        else await nc.flush();
      } catch {
        if (this.#ownsNats) await nc.close().catch(() => {});
      }
    }
    await this.#rest.close().catch(() => {});
    await this.#httpServer?.close().catch(() => {});
    if (this.#httpRest !== this.#rest) {
      await this.#httpRest.close().catch(() => {});
    }
    this.#requests?.close();
    this.#log.info("Proxy closed");
    this.#closed.resolve(undefined);
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
  const validated = validateProxyOptions(options);
  const proxy = new Proxy(validated);
  try {
    await proxy.start(options.signal);
  } catch (error) {
    await proxy.close();
    throw error;
  }
  return proxy;
}
