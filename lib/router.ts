/**
 * The subject router: NATS requests → the kind executor → replies.
 *
 * It subscribes `<prefix>{get,data,command}[.<app>[.<node>]]` and, in queue
 * group `ariproxy`, `<prefix>create[.<app>[.<node>]]`, decodes each request,
 * refuses it when ARI is down, it is malformed or the concurrency limit is
 * reached, binds dialogs, runs it through the shared
 * {@linkcode KindExecutor} of the request's application and replies with
 * Go's response shape.
 *
 * With several applications, each has its own subjects
 * (`<prefix><class>.<app>[.<node>]`) and a request on them runs as that
 * application; a request on the bare `<prefix><class>` runs as the
 * application its key names, if it is one of ours, else as the first.
 *
 * Every request's fate is one `debug` line (category `requests`): kind,
 * application, key, node, outcome, duration. Request bodies are never
 * logged.
 *
 * @module
 */

import type { Logger } from "@logtape/logtape";
import type { Msg, NatsConnection, Subscription } from "@nats-io/nats-core";
import { decodeRequest, encodeResponse } from "../client/protocol/codec.ts";
import {
  CREATE_QUEUE_GROUP,
  REQUEST_CLASSES,
} from "../client/protocol/subjects.ts";
import { kindInfo, type RequestClass } from "../client/protocol/kinds.ts";
import type { Key, Request, Response } from "../client/protocol/types.ts";
import type { KindExecutor } from "../client/native/executor.ts";
import {
  bindsAfterSuccess,
  type DialogRegistry,
  fillMissingIds,
  isValidDialog,
  requestBindings,
} from "./dialogs.ts";
import { createLimiter, type Limiter } from "./limiter.ts";
import {
  type KindCounters,
  METRIC_CLASSES,
  OUTCOME,
  outcomeOfCode,
  type ProxyMetrics,
  REQUEST_OUTCOMES,
} from "./metrics.ts";
import { errorMessage } from "./_log_text.ts";

/** Error text (Go's) for requests received while ARI is down. */
export const ARI_DOWN_ERROR = "ARI connection is down";
/** Error text (Go's) for unknown or empty kinds. */
export const NOT_IMPLEMENTED_ERROR = "Not implemented";
/** Error text for requests refused by the concurrency limit. */
export const OVERLOADED_ERROR = "Proxy overloaded: too many requests in flight";

const encoder = new TextEncoder();

/** Request counters of the router (`stats().requests` of the proxy). */
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

/** Options of {@linkcode createSubjectRouter}. */
export interface SubjectRouterOptions {
  /** Subject prefix, normalised (ends with `.` or is empty). */
  prefix: string;
  /** ARI applications served, in order (the first is the default). */
  applications: readonly string[];
  /** Executes requests against ARI: one per application, same order. */
  executors: readonly KindExecutor[];
  /** The node id now (for the request log). */
  node(): string | undefined;
  /** Request counters and durations (off when `undefined`). */
  metrics?: ProxyMetrics;
  /** Dialog bindings that requests with a `dialog` key add. */
  dialogs: DialogRegistry;
  /** Whether ARI is connected now (else requests get `ARI connection is down`). */
  isAriConnected(): boolean;
  /** Called before each reply (publishes the events received before it). */
  beforeReply(): void;
  /**
   * Requests executed at once.
   *
   * @default {256}
   */
  maxConcurrency?: number;
  /**
   * Requests waiting for a slot.
   *
   * @default {1024}
   */
  maxQueued?: number;
  /**
   * Time budget of each request, in milliseconds.
   *
   * @default {the REST client's timeout}
   */
  requestTimeout?: number;
  /** Logger for request problems. */
  logger: Logger;
}

/** Routes NATS requests to the executor. Create with {@linkcode createSubjectRouter}. */
export interface SubjectRouter {
  /** Subscribes the node-less subjects (`<prefix><class>[.<app>]`) on `nc`. */
  subscribeBase(nc: NatsConnection): void;
  /** Subscribes (again) the node subjects `<prefix><class>.<app>.<node>`. */
  subscribeNode(nc: NatsConnection, node: string): void;
  /** Forgets the subscriptions of a connection that died. */
  forget(): void;
  /**
   * Stops intake (drains the subscriptions; pending messages are still
   * dispatched), then waits up to `timeout` ms for in-flight requests, then
   * aborts them and waits for their replies.
   */
  drain(timeout: number): Promise<void>;
  /** Counters. */
  stats(): ProxyRequestStats;
}

class Router implements SubjectRouter {
  readonly #opts: SubjectRouterOptions;
  readonly #log: Logger;
  readonly #prefix: string;
  readonly #apps: readonly string[];
  readonly #executors: readonly KindExecutor[];
  readonly #metrics: ProxyMetrics | undefined;
  readonly #limiter: Limiter;
  /** Aborted when `drain()` stops waiting for in-flight requests. */
  readonly #inflightAbort = new AbortController();
  #nc: NatsConnection | undefined;
  #baseSubs: Subscription[] = [];
  #nodeSubs: Subscription[] = [];
  #draining = false;
  readonly #req = {
    received: 0,
    answered: 0,
    noReply: 0,
    invalid: 0,
    notImplemented: 0,
    ariDown: 0,
    overloaded: 0,
  };

  constructor(opts: SubjectRouterOptions) {
    this.#opts = opts;
    this.#log = opts.logger;
    this.#prefix = opts.prefix;
    this.#apps = [...opts.applications];
    this.#executors = [...opts.executors];
    this.#metrics = opts.metrics;
    if (
      this.#apps.length === 0 || this.#apps.length !== this.#executors.length
    ) {
      throw new TypeError(
        "Cannot create subject router: one executor per application is required",
      );
    }
    this.#limiter = createLimiter(
      {
        ...(opts.maxConcurrency === undefined
          ? {}
          : { maxConcurrency: opts.maxConcurrency }),
        ...(opts.maxQueued === undefined ? {} : { maxQueued: opts.maxQueued }),
      },
      (error) => this.#log.error("Request handler failed: {error}", { error }),
    );
  }

  // ---- subscriptions ------------------------------------------------------

  /**
   * Subscribes `subject` for requests of class `cls` to application `app`
   * (an index; -1: the bare class subject, application from the key).
   */
  #subscribeOne(
    nc: NatsConnection,
    subject: string,
    cls: RequestClass,
    app: number,
  ): Subscription {
    this.#nc = nc;
    const clsIndex = METRIC_CLASSES.indexOf(cls);
    const callback = (err: Error | null, msg: Msg) =>
      this.#onRequest(err, msg, app, clsIndex);
    return nc.subscribe(
      subject,
      cls === "create" ? { queue: CREATE_QUEUE_GROUP, callback } : { callback },
    );
  }

  subscribeBase(nc: NatsConnection): void {
    if (this.#draining) return;
    const subs: Subscription[] = [];
    for (const cls of REQUEST_CLASSES) {
      subs.push(this.#subscribeOne(nc, this.#prefix + cls, cls, -1));
      this.#apps.forEach((app, i) => {
        subs.push(
          this.#subscribeOne(nc, `${this.#prefix}${cls}.${app}`, cls, i),
        );
      });
    }
    this.#baseSubs = subs;
  }

  subscribeNode(nc: NatsConnection, node: string): void {
    if (this.#draining) return;
    unsubscribeAll(this.#nodeSubs);
    this.#nodeSubs = [];
    const subs: Subscription[] = [];
    for (const cls of REQUEST_CLASSES) {
      this.#apps.forEach((app, i) => {
        subs.push(
          this.#subscribeOne(
            nc,
            `${this.#prefix}${cls}.${app}.${node}`,
            cls,
            i,
          ),
        );
      });
    }
    this.#nodeSubs = subs;
  }

  forget(): void {
    this.#baseSubs = [];
    this.#nodeSubs = [];
  }

  async drain(timeout: number): Promise<void> {
    this.#draining = true;
    const subs = [...this.#baseSubs, ...this.#nodeSubs];
    this.forget();
    const nc = this.#nc;
    if (nc !== undefined && !nc.isClosed()) {
      await Promise.allSettled(subs.map((s) => s.drain()));
    }
    await this.#waitInflight(timeout);
  }

  async #waitInflight(timeout: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = await Promise.race([
      this.#limiter.idle().then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), timeout);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      const { active, queued } = this.#limiter.stats();
      this.#log.warn(
        "Aborting {count} requests still in flight after {timeout} ms",
        { count: active + queued, timeout },
      );
      this.#inflightAbort.abort(new Error("The proxy is closing"));
      await this.#limiter.idle();
    }
  }

  // ---- requests -----------------------------------------------------------

  /**
   * Replies, then counts and logs the request's fate.
   *
   * @param app Application index (-1: the bare subject, before decoding).
   * @param cls Class index in {@linkcode METRIC_CLASSES}.
   * @param kind The request's kind (`undefined` when unreadable).
   * @param key The request's key.
   * @param started `performance.now()` at receipt (0 when not timed).
   * @param outcome Index in {@linkcode REQUEST_OUTCOMES}.
   */
  #reply(
    msg: Msg,
    response: Response | string,
    app: number,
    cls: number,
    kind: string | undefined,
    key: Key | null | undefined,
    started: number,
    outcome: number,
  ): void {
    this.#respond(msg, response);
    if (started === 0) return;
    const elapsed = performance.now() - started;
    const appIndex = app < 0 ? 0 : app;
    const metrics = this.#metrics;
    if (metrics !== undefined) {
      const counters: KindCounters = metrics.kind(kind);
      metrics.request(appIndex, counters, cls, outcome, elapsed / 1000);
    }
    if (this.#log.isEnabledFor("debug")) {
      // The only reply sent as text is Go's "Not implemented".
      const error = typeof response === "string"
        ? NOT_IMPLEMENTED_ERROR
        : response.error;
      this.#log.debug(
        "Request {kind} key {key} node {node} application {application}: {outcome} in {duration} ms",
        {
          kind: kind ?? "",
          application: this.#apps[appIndex],
          class: METRIC_CLASSES[cls],
          key: key ?? null,
          node: this.#opts.node() ?? "",
          outcome: REQUEST_OUTCOMES[outcome],
          duration: Math.round(elapsed * 1000) / 1000,
          ...(error === "" ? {} : { error }),
          subject: msg.subject,
        },
      );
    }
  }

  /** Whether requests are timed (metrics on or debug logging). */
  #timed(): boolean {
    return this.#metrics !== undefined || this.#log.isEnabledFor("debug");
  }

  #respond(msg: Msg, response: Response | string): void {
    // Events received before this reply go out before it.
    this.#opts.beforeReply();
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
      if (/max_payload/i.test(message) && !this.#connectionClosed()) {
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
      this.#log.warn("Cannot reply to {reply}: {error}", {
        reply: msg.reply,
        error: message,
      });
    }
  }

  #connectionClosed(): boolean {
    return this.#nc === undefined || this.#nc.isClosed();
  }

  #onRequest(err: Error | null, msg: Msg, app: number, cls: number): void {
    if (err !== null) {
      this.#log.warn("Subscription error: {error}", {
        error: errorMessage(err),
      });
      return;
    }
    this.#req.received++;
    if (!msg.reply) {
      this.#req.noReply++;
      this.#log.debug(
        "Ignoring a request without reply subject on {subject}",
        {
          subject: msg.subject,
        },
      );
      return;
    }
    const started = this.#timed() ? performance.now() || 1e-9 : 0;
    try {
      this.#dispatch(msg, app, cls, started);
    } catch (error) {
      // Never reached in practice: decodeRequest and the checks do not throw.
      this.#log.error("Request dispatch failed: {error}", {
        error: errorMessage(error),
      });
      this.#reply(
        msg,
        {
          error: `Internal error: ${errorMessage(error)}`,
          code: "internal",
        },
        app,
        cls,
        undefined,
        undefined,
        started,
        OUTCOME.error,
      );
    }
  }

  /**
   * The application a request runs as (an index): the subject's; on a bare
   * subject the key's `app`, else (with several applications) the Stasis
   * application its body names (an originate's or create's `app`), else
   * the first.
   */
  #appOf(
    app: number,
    key: Key | null | undefined,
    request?: Request,
  ): number {
    if (app >= 0) return app;
    const apps = this.#apps;
    const named = key?.app;
    if (typeof named === "string" && named !== "") {
      const found = apps.indexOf(named);
      if (found !== -1) return found;
    }
    if (apps.length > 1 && request !== undefined) {
      const field = kindInfo(request.kind)?.body;
      const body = field === null || field === undefined
        ? undefined
        : (request as unknown as Record<string, unknown>)[field];
      const found = apps.indexOf(bodyApp(body, 2) ?? "");
      if (found !== -1) return found;
    }
    return 0;
  }

  #dispatch(msg: Msg, app: number, cls: number, started: number): void {
    const decoded = decodeRequest(msg.data);
    const code = decoded.ok ? undefined : decoded.error.code;
    const unreadable = code === "invalidJson" || code === "notObject" ||
      code === "tooLarge";
    const kind = decoded.ok ? decoded.request.kind : undefined;
    const key = decoded.ok ? decoded.request.key : undefined;
    // Go checks the ARI connection before looking at the request.
    if (!unreadable && !this.#opts.isAriConnected()) {
      this.#req.ariDown++;
      this.#reply(
        msg,
        { error: ARI_DOWN_ERROR, code: "ariDown" },
        this.#appOf(app, key),
        cls,
        kind,
        key,
        started,
        OUTCOME.ariDown,
      );
      return;
    }
    if (!decoded.ok) {
      const { error } = decoded;
      if (error.code === "unknownKind") {
        this.#req.notImplemented++;
        this.#reply(
          msg,
          `{"error":"${NOT_IMPLEMENTED_ERROR}"}`,
          app,
          cls,
          undefined,
          undefined,
          started,
          OUTCOME.notImplemented,
        );
      } else {
        this.#req.invalid++;
        this.#reply(
          msg,
          { error: error.message, code: error.code },
          app,
          cls,
          undefined,
          undefined,
          started,
          OUTCOME.invalid,
        );
      }
      return;
    }
    const request = decoded.request;
    const appIndex = this.#appOf(app, key, request);
    const accepted = this.#limiter.tryRun(() =>
      this.#execute(msg, request, appIndex, cls, started)
    );
    if (!accepted) {
      this.#req.overloaded++;
      this.#reply(
        msg,
        { error: OVERLOADED_ERROR, code: "overloaded" },
        appIndex,
        cls,
        kind,
        key,
        started,
        OUTCOME.overloaded,
      );
    }
  }

  async #execute(
    msg: Msg,
    original: Request,
    app: number,
    cls: number,
    started: number,
  ): Promise<void> {
    let request = original;
    const dialog = request.key?.dialog;
    let bindings: ReturnType<typeof requestBindings> = [];
    const dialogs = this.#opts.dialogs;
    if (typeof dialog === "string" && dialog !== "") {
      if (isValidDialog(dialog)) {
        request = fillMissingIds(request);
        bindings = requestBindings(request);
        if (!bindsAfterSuccess(request.kind)) {
          dialogs.bindAll(dialog, bindings);
        }
      } else {
        this.#log.debug(
          "Not binding dialog {dialog}: it cannot be a subject token",
          { dialog },
        );
      }
    }
    let response: Response;
    try {
      response = await this.#executors[app]!.execute(request, {
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
      dialogs.bindAll(dialog!, bindings);
    }
    this.#reply(
      msg,
      response,
      app,
      cls,
      request.kind,
      original.key,
      started,
      response.error === "" ? OUTCOME.ok : outcomeOfCode(response.code),
    );
  }

  stats(): ProxyRequestStats {
    const limiter = this.#limiter.stats();
    return { ...this.#req, active: limiter.active, queued: limiter.queued };
  }
}

/** The first string `app` member of `value`, searched `depth` levels deep. */
function bodyApp(value: unknown, depth: number): string | undefined {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return undefined;
  }
  const record = value as Record<string, unknown>;
  if (typeof record.app === "string") return record.app;
  if (depth <= 1) return undefined;
  for (const inner of Object.values(record)) {
    const found = bodyApp(inner, depth - 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

function unsubscribeAll(subs: Subscription[]): void {
  for (const sub of subs) {
    try {
      sub.unsubscribe();
    } catch {
      // Connection closed.
    }
  }
}

/**
 * Creates the subject router. Subscribe it with
 * {@linkcode SubjectRouter.subscribeBase} and
 * {@linkcode SubjectRouter.subscribeNode}; stop it with
 * {@linkcode SubjectRouter.drain}.
 *
 * @param options Subjects, executor, dialogs, ARI state, limits, logger.
 * @returns The router (not subscribed).
 * @throws {RangeError} For a bad `maxConcurrency` or `maxQueued`.
 *
 * @example Serve requests for one node
 * ```ts ignore
 * import { getLogger } from "@logtape/logtape";
 * import { createSubjectRouter } from "./router.ts";
 *
 * const router = createSubjectRouter({
 *   prefix: "ari.",
 *   applications: ["app"],
 *   executors: [executor],
 *   node: () => "node1",
 *   dialogs,
 *   isAriConnected: () => true,
 *   beforeReply: () => bridge.flush(),
 *   logger: getLogger(["ari-proxy", "server", "requests"]),
 * });
 * router.subscribeBase(nc);
 * router.subscribeNode(nc, "node1");
 * await router.drain(15_000);
 * ```
 */
export function createSubjectRouter(
  options: SubjectRouterOptions,
): SubjectRouter {
  return new Router(options);
}
