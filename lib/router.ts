/**
 * The subject router: NATS requests → the kind executor → replies.
 *
 * It subscribes `<prefix>{get,data,command}[.<app>[.<node>]]` and, in queue
 * group `ariproxy`, `<prefix>create[.<app>[.<node>]]`, decodes each request,
 * refuses it when ARI is down, it is malformed or the concurrency limit is
 * reached, binds dialogs, runs it through the shared
 * {@linkcode KindExecutor} and replies with Go's response shape.
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
import type { Request, Response } from "../client/protocol/types.ts";
import type { KindExecutor } from "../client/native/executor.ts";
import {
  bindsAfterSuccess,
  type DialogRegistry,
  fillMissingIds,
  isValidDialog,
  requestBindings,
} from "./dialogs.ts";
import { createLimiter, type Limiter } from "./limiter.ts";
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
  /** ARI application served. */
  application: string;
  /** Executes requests against ARI. */
  executor: KindExecutor;
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
  readonly #app: string;
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
    this.#app = opts.application;
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

  #subscribeAll(
    nc: NatsConnection,
    subjects: [string, string | undefined][],
  ): Subscription[] {
    this.#nc = nc;
    const callback = (err: Error | null, msg: Msg) => this.#onRequest(err, msg);
    return subjects.map(([subject, queue]) =>
      nc.subscribe(
        subject,
        queue === undefined ? { callback } : { queue, callback },
      )
    );
  }

  subscribeBase(nc: NatsConnection): void {
    if (this.#draining) return;
    const subjects: [string, string | undefined][] = [];
    for (const cls of REQUEST_CLASSES) {
      const queue = cls === "create" ? CREATE_QUEUE_GROUP : undefined;
      subjects.push([this.#prefix + cls, queue]);
      subjects.push([`${this.#prefix}${cls}.${this.#app}`, queue]);
    }
    this.#baseSubs = this.#subscribeAll(nc, subjects);
  }

  subscribeNode(nc: NatsConnection, node: string): void {
    if (this.#draining) return;
    unsubscribeAll(this.#nodeSubs);
    this.#nodeSubs = [];
    this.#nodeSubs = this.#subscribeAll(
      nc,
      REQUEST_CLASSES.map((cls) => [
        `${this.#prefix}${cls}.${this.#app}.${node}`,
        cls === "create" ? CREATE_QUEUE_GROUP : undefined,
      ]),
    );
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

  #onRequest(err: Error | null, msg: Msg): void {
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
    try {
      this.#dispatch(msg);
    } catch (error) {
      // Never reached in practice: decodeRequest and the checks do not throw.
      this.#log.error("Request dispatch failed: {error}", {
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
    if (!unreadable && !this.#opts.isAriConnected()) {
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
      response = await this.#opts.executor.execute(request, {
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
    this.#respond(msg, response);
  }

  stats(): ProxyRequestStats {
    const limiter = this.#limiter.stats();
    return { ...this.#req, active: limiter.active, queued: limiter.queued };
  }
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
 *   application: "app",
 *   executor,
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
