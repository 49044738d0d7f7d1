/**
 * Request routing and reply aggregation (PROTOCOL.md "Client routing").
 *
 * - A key with `app` and `node` goes **direct** to
 *   `<prefix><class>.<app>.<node>`; one reply.
 * - Otherwise it is **broadcast** on `<prefix><class>[.<app>]`, and the
 *   transport waits for as many replies as there are known members that
 *   receive that subject (members of the key's `app`, or all members),
 *   skipping members that missed the last liveness probe. `create` subjects
 *   are served by a queue group, so they wait for one reply. With no known
 *   member, the first reply ends the wait.
 * - Single results: the first reply with an empty `error` wins; when every
 *   awaited reply is an error, the last error is the result.
 * - Lists (`returns: "keys"`): the `keys` of every successful reply are
 *   concatenated; the result is ready as soon as every awaited member
 *   answered, else at the timeout with what arrived.
 *
 * Ours: a key that names a `node` but no `app` goes **direct** to a proxy
 * of that node, `<prefix><class>.<app>.<node>`, with `app` taken from the
 * cluster view (the transport's own application when a proxy of the node
 * serves it, else the first one known); the key is sent unchanged. Go
 * broadcasts such a key and takes whichever node answers first, which reads
 * and writes the wrong node. When no proxy of the node is known yet,
 * {@linkcode awaitNodeMember} pings the cluster and waits for one to
 * announce itself; a node that never does fails the request with a
 * `ConnectionError`. A list filtered by a node no proxy is known for does
 * not wait: it is broadcast and keeps only the keys of that node (none, if
 * the node does not exist).
 *
 * @example Plan a request
 * ```ts
 * import assert from "node:assert/strict";
 * import { planRoute } from "./router.ts";
 *
 * const plan = planRoute("ari.", { kind: "ChannelList", key: null }, {
 *   matching: () => [
 *     { node: "n1", application: "app", lastSeen: 0, unresponsive: false },
 *     { node: "n2", application: "app", lastSeen: 0, unresponsive: false },
 *   ],
 * });
 * assert.deepEqual(
 *   [plan.subject, plan.direct, plan.expected, plan.mode],
 *   ["ari.get", false, 2, "list"],
 * );
 * ```
 *
 * @module
 */

import type { Msg, NatsConnection, QueuedIterator } from "@nats-io/nats-core";
import {
  ClosedConnectionError,
  ConnectionError,
  PermissionDeniedError,
  TimeoutError,
} from "../errors.ts";
import { decodeResponse } from "../protocol/codec.ts";
import { kindInfo, type RequestClass } from "../protocol/kinds.ts";
import { isDirectKey, requestSubject } from "../protocol/subjects.ts";
import type { Key, Request, Response } from "../protocol/types.ts";
import type { ClusterMember, MemberChange, MemberFilter } from "./cluster.ts";

/** How the replies of a request combine. */
export type ReplyMode = "single" | "list";

/** Where a request goes and how many replies it waits for. */
export interface RoutePlan {
  /** The request subject. */
  readonly subject: string;
  /** True for a direct request (the key names app and node). */
  readonly direct: boolean;
  /** Subject class. */
  readonly class: RequestClass;
  /** Replies that end the wait (at least 1). */
  readonly expected: number;
  /** Known responsive members the broadcast reaches (0 for direct requests). */
  readonly known: number;
  /** `list` for kinds returning `keys`, else `single`. */
  readonly mode: ReplyMode;
  /**
   * Keep only list keys of this node (a key naming a node no known proxy
   * serves: broadcast, filtered).
   */
  readonly nodeFilter: string | undefined;
}

/** The part of the cluster monitor routing needs. */
export interface MemberSource {
  /** Current members matching a filter. */
  matching(filter: MemberFilter): ClusterMember[];
}

/**
 * Decides subject, mode and the number of replies to await for a request.
 *
 * Unknown kinds are sent on `command` as single-result requests (the proxy
 * answers `Not implemented`).
 *
 * @param prefix Subject prefix ending with `.`.
 * @param request The request (its key as it will be sent).
 * @param members The known cluster members.
 * @param application The application to prefer when a key names only a
 *   node and several proxies (applications) serve that node.
 * @returns The plan.
 *
 * @example A complete key goes direct
 * ```ts
 * import assert from "node:assert/strict";
 * import { planRoute } from "./router.ts";
 *
 * const plan = planRoute(
 *   "ari.",
 *   { kind: "ChannelAnswer", key: { kind: "channel", id: "c", app: "a", node: "n" } },
 *   { matching: () => [] },
 * );
 * assert.equal(plan.subject, "ari.command.a.n");
 * assert.equal(plan.expected, 1);
 * ```
 */
export function planRoute(
  prefix: string,
  request: Request,
  members: MemberSource,
  application?: string,
): RoutePlan {
  const info = kindInfo(request.kind);
  const cls: RequestClass = info?.class ?? "command";
  const mode: ReplyMode = info?.returns === "keys" ? "list" : "single";
  const key = request.key;
  const nodeApp = key?.node && !key.app
    ? nodeApplication(members, key.node, application)
    : undefined;
  const subject = requestSubject(
    prefix,
    cls,
    nodeApp === undefined ? key : { ...key, app: nodeApp },
  );
  if (isDirectKey(key) || nodeApp !== undefined) {
    return {
      subject,
      direct: true,
      class: cls,
      expected: 1,
      known: 0,
      mode,
      nodeFilter: undefined,
    };
  }
  const app = key?.app || undefined;
  const reached = members.matching({ app }).filter((m) => !m.unresponsive);
  const known = reached.length;
  const expected = cls === "create" ? 1 : Math.max(1, known);
  const nodeFilter = mode === "list" && !app && key?.node
    ? key.node
    : undefined;
  return {
    subject,
    direct: false,
    class: cls,
    expected,
    known,
    mode,
    nodeFilter,
  };
}

/**
 * The application of a proxy serving `node`: `preferred` when one serves
 * it, else a responsive one, else any; `undefined` when none is known.
 */
function nodeApplication(
  members: MemberSource,
  node: string,
  preferred: string | undefined,
): string | undefined {
  const serving = members.matching({ node }).filter((m) => m.node === node);
  if (serving.length === 0) return undefined;
  const own = preferred
    ? serving.find((m) => m.application === preferred)
    : undefined;
  return (own ?? serving.find((m) => !m.unresponsive) ?? serving[0])!
    .application;
}

/** The cluster view {@linkcode awaitNodeMember} waits on. */
export interface NodeWaitSource extends MemberSource {
  /** Asks every proxy to announce itself. */
  ping(): void;
  /** Join/leave changes from now on. */
  memberChanges(): AsyncIterableIterator<MemberChange>;
}

/** Options of {@linkcode awaitNodeMember}. */
export interface AwaitNodeOptions {
  /** Request kind (for the error). */
  kind: string;
  /** How long to wait for the node to announce itself, in ms. */
  timeout: number;
  /** Aborts the wait (rejects with the signal's reason). */
  signal?: AbortSignal | undefined;
}

/**
 * For a key that names a `node` but no `app`: makes sure a proxy of that
 * node is known, so {@linkcode planRoute} can send the request there. When
 * none is, it pings the cluster and waits (up to `timeout`) for one to
 * announce itself. Returns at once for every other key, and for lists
 * (broadcast then, keeping only that node's keys).
 *
 * @param cluster The cluster view.
 * @param key The request key.
 * @param options Kind, timeout, signal.
 * @throws {ConnectionError} When no proxy of the node announced itself in time.
 *
 * @example A node that is already known
 * ```ts
 * import { awaitNodeMember } from "./router.ts";
 *
 * await awaitNodeMember({
 *   matching: () => [{ node: "n1", application: "a", lastSeen: 0, unresponsive: false }],
 *   ping: () => {},
 *   memberChanges: () => [][Symbol.iterator]() as never,
 * }, { id: "x", node: "n1" }, { kind: "DeviceStateData", timeout: 1_000 });
 * ```
 */
export async function awaitNodeMember(
  cluster: NodeWaitSource,
  key: Key | null,
  options: AwaitNodeOptions,
): Promise<void> {
  const node = key?.node;
  if (!node || key.app) return;
  if (kindInfo(options.kind)?.returns === "keys") return;
  const known = () =>
    cluster.matching({ node }).some((member) => member.node === node);
  if (known()) return;
  const { kind, timeout, signal } = options;
  signal?.throwIfAborted();
  const changes = cluster.memberChanges();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let removeAbort = () => {};
  const stop = new Promise<"stop">((resolve, reject) => {
    timer = setTimeout(() => resolve("stop"), timeout);
    if (signal) {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      removeAbort = () => signal.removeEventListener("abort", onAbort);
    }
  });
  try {
    cluster.ping();
    while (!known()) {
      const next = await Promise.race([changes.next(), stop]);
      if (next === "stop" || next.done) break;
    }
  } finally {
    clearTimeout(timer);
    removeAbort();
    await changes.return?.();
  }
  if (!known()) {
    throw new ConnectionError(
      `Cannot send request "${kind}": no proxy of node "${node}" announced itself within ${timeout} ms`,
      { target: node },
    );
  }
}

/**
 * Combines the replies of one request according to its {@linkcode RoutePlan}.
 *
 * @example First good reply wins
 * ```ts
 * import assert from "node:assert/strict";
 * import { planRoute, ReplyCollector } from "./router.ts";
 *
 * const plan = planRoute("ari.", { kind: "ChannelData", key: { id: "c" } }, {
 *   matching: () => [
 *     { node: "n1", application: "a", lastSeen: 0, unresponsive: false },
 *     { node: "n2", application: "a", lastSeen: 0, unresponsive: false },
 *   ],
 * });
 * const collector = new ReplyCollector(plan);
 * assert.equal(collector.add({ error: "not found" }), false);
 * assert.equal(collector.add({ error: "", data: { variable: "x" } }), true);
 * assert.equal(collector.result()?.data?.variable, "x");
 * ```
 */
export class ReplyCollector {
  readonly #plan: RoutePlan;
  readonly #keys: Key[] = [];
  #replies = 0;
  #good = 0;
  #winner: Response | undefined;
  #lastError: Response | undefined;
  #failure: Error | undefined;

  /** @param plan The plan of the request. */
  constructor(plan: RoutePlan) {
    this.#plan = plan;
  }

  /** Replies received so far (including undecodable ones). */
  get replies(): number {
    return this.#replies;
  }

  /** True once the wait may end. */
  get done(): boolean {
    return this.#winner !== undefined ||
      this.#replies >= this.#plan.expected;
  }

  /**
   * Adds one decoded reply.
   *
   * @param response The reply.
   * @returns True when no more replies are needed.
   */
  add(response: Response): boolean {
    this.#replies++;
    if (response.error) {
      this.#lastError = response;
    } else if (this.#plan.mode === "single") {
      this.#winner ??= response;
    } else {
      this.#good++;
      for (const key of response.keys ?? []) {
        if (
          this.#plan.nodeFilter && key.node &&
          key.node !== this.#plan.nodeFilter
        ) continue;
        this.#keys.push(key);
      }
    }
    return this.done;
  }

  /**
   * Adds a reply that could not be decoded.
   *
   * @param error Why it was rejected.
   * @returns True when no more replies are needed.
   */
  fail(error: Error): boolean {
    this.#replies++;
    this.#failure = error;
    return this.done;
  }

  /**
   * The combined result: the winning reply, the concatenated list, or the
   * last error reply.
   *
   * @returns The response, or `undefined` when nothing usable arrived.
   * @throws {Error} The decoding failure when only undecodable replies came.
   */
  result(): Response | undefined {
    if (this.#winner) return this.#winner;
    if (this.#plan.mode === "list" && this.#good > 0) {
      return { error: "", keys: this.#keys };
    }
    if (this.#lastError) return this.#lastError;
    if (this.#failure) throw this.#failure;
    return undefined;
  }
}

/** Options of {@linkcode exchange}. */
export interface ExchangeOptions {
  /** Request kind (for errors). */
  kind: string;
  /** How long to wait for replies, in ms. */
  timeout: number;
  /** Aborts the wait (rejects with the signal's reason). */
  signal?: AbortSignal | undefined;
}

/**
 * Publishes one request and collects its replies with the NATS client's
 * request-many (muxed inbox, `count` strategy capped by `timeout`),
 * stopping as soon as the collector is done.
 *
 * @param nc The NATS connection.
 * @param plan The route.
 * @param payload The encoded request.
 * @param collector Combines the replies.
 * @param options Kind, timeout, signal.
 * @returns The combined response.
 * @throws {TimeoutError} When no reply arrived in time.
 * @throws {ConnectionError} When nobody serves the subject (NATS no responders) or NATS failed.
 * @throws {ClosedConnectionError} When the NATS connection is closed or draining.
 * @throws {PermissionDeniedError} When the NATS server refuses the request
 * subject or the reply inbox for lack of permission.
 *
 * @example Against a stand-in proxy
 * ```ts ignore live
 * import assert from "node:assert/strict";
 * import { connectNats } from "./deno_socket.ts";
 * import { encodeRequest } from "../protocol/codec.ts";
 * import type { Request } from "../protocol/types.ts";
 * import { exchange, planRoute, ReplyCollector } from "./router.ts";
 *
 * const nc = await connectNats({ servers: "127.0.0.1:4222" });
 * // Answers data requests under the prefix "example." (no real proxy hears it).
 * const proxy = nc.subscribe("example.data", {
 *   callback: (_err, msg) => {
 *     msg.respond('{"error":"","data":{"variable":"on"}}');
 *   },
 * });
 * const request: Request = {
 *   kind: "AsteriskVariableGet",
 *   key: { kind: "variable", id: "OPEN" },
 * };
 * const plan = planRoute("example.", request, { matching: () => [] });
 * const response = await exchange(nc, plan, encodeRequest(request), new ReplyCollector(plan), {
 *   kind: request.kind,
 *   timeout: 5_000,
 * });
 * assert.equal(response.data?.variable, "on");
 * proxy.unsubscribe();
 * await nc.close();
 * ```
 */
export async function exchange(
  nc: Pick<NatsConnection, "requestMany">,
  plan: RoutePlan,
  payload: string,
  collector: ReplyCollector,
  options: ExchangeOptions,
): Promise<Response> {
  const { kind, timeout, signal } = options;
  signal?.throwIfAborted();
  let iterable: AsyncIterable<Msg>;
  try {
    iterable = await nc.requestMany(plan.subject, payload, {
      strategy: "count",
      maxMessages: plan.expected,
      maxWait: timeout,
    });
  } catch (error) {
    throw mapNatsError(error, { kind, subject: plan.subject, timeout });
  }
  const iterator = iterable[Symbol.asyncIterator]();
  let removeAbort = () => {};
  const aborted = signal
    ? new Promise<never>((_, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const onAbort = () => reject(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      removeAbort = () => signal.removeEventListener("abort", onAbort);
    })
    : undefined;
  aborted?.catch(() => {});
  try {
    while (true) {
      const next = aborted
        ? await Promise.race([iterator.next(), aborted])
        : await iterator.next();
      if (next.done) break;
      let done: boolean;
      try {
        done = collector.add(decodeResponse(next.value.data));
      } catch (error) {
        done = collector.fail(
          error instanceof Error ? error : new Error(String(error)),
        );
      }
      if (done) break;
    }
  } catch (error) {
    if (signal?.aborted && error === signal.reason) throw error;
    throw mapNatsError(error, { kind, subject: plan.subject, timeout });
  } finally {
    removeAbort();
    // Ends the request-many (clears its timer, frees the mux token); safe
    // while a next() is pending, unlike iterator.return().
    (iterable as Partial<QueuedIterator<Msg>>).stop?.();
  }
  const result = collector.result();
  if (!result) throw new TimeoutError({ timeout, operation: kind });
  return result;
}

/** Context for {@linkcode mapNatsError}. */
export interface NatsErrorContext {
  /** Request kind. */
  kind: string;
  /** Request subject. */
  subject: string;
  /** Timeout in ms. */
  timeout: number;
}

function hasName(error: unknown, ...names: string[]): boolean {
  return error instanceof Error && names.includes(error.name);
}

/**
 * Maps nats.js's `PermissionViolationError` (matched by name, with its
 * `operation`, `subject` and `queue` fields) to a
 * {@linkcode PermissionDeniedError}; anything else to `undefined`.
 *
 * @param error What the NATS client reported.
 * @param kind The request kind that needed the permission, if any.
 * @returns The typed error, or `undefined`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { errors } from "@nats-io/nats-core";
 * import { permissionDenied } from "./router.ts";
 *
 * const raw = errors.PermissionViolationError.parse(
 *   'Permissions Violation for Publish to "ari.get"',
 * );
 * assert.equal(permissionDenied(raw)?.subject, "ari.get");
 * ```
 */
export function permissionDenied(
  error: unknown,
  kind?: string,
): PermissionDeniedError | undefined {
  if (!hasName(error, "PermissionViolationError")) return undefined;
  const raw = error as Error & {
    operation?: string;
    subject?: string;
    queue?: string;
  };
  return new PermissionDeniedError({
    operation: raw.operation === "publish" ? "publish" : "subscribe",
    subject: raw.subject ?? "",
    queue: raw.queue,
    kind,
    cause: error,
  });
}

/**
 * Maps an error of the NATS client to the client's typed errors. Matching is
 * by error name, so connections from another copy of the NATS library work
 * too.
 *
 * @param error What the NATS client threw.
 * @param context Kind, subject, timeout.
 * @returns A `PermissionDeniedError`, `TimeoutError`, `ClosedConnectionError`
 * or `ConnectionError`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { errors } from "@nats-io/nats-core";
 * import { ConnectionError } from "../errors.ts";
 * import { mapNatsError } from "./router.ts";
 *
 * const mapped = mapNatsError(new errors.NoRespondersError("ari.get"), {
 *   kind: "ChannelList",
 *   subject: "ari.get",
 *   timeout: 5_000,
 * });
 * assert.ok(mapped instanceof ConnectionError);
 * ```
 */
export function mapNatsError(
  error: unknown,
  context: NatsErrorContext,
): Error {
  const { kind, subject, timeout } = context;
  const cause = error instanceof Error ? error.cause : undefined;
  const denied = permissionDenied(error, kind) ?? permissionDenied(cause, kind);
  if (denied) return denied;
  if (
    hasName(error, "NoResponders", "NoRespondersError") ||
    hasName(cause, "NoResponders", "NoRespondersError")
  ) {
    return new ConnectionError(
      `Cannot send request "${kind}": no proxy serves "${subject}"`,
      { target: subject, cause: error },
    );
  }
  if (hasName(error, "TimeoutError") || hasName(cause, "TimeoutError")) {
    return new TimeoutError({ timeout, operation: kind, cause: error });
  }
  if (
    hasName(error, "ClosedConnectionError", "DrainingConnectionError") ||
    hasName(cause, "ClosedConnectionError", "DrainingConnectionError") ||
    (hasName(error, "RequestError") &&
      (error as Error).message.includes("connection closed"))
  ) {
    return new ClosedConnectionError("NATS transport", { cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new ConnectionError(
    `Cannot send request "${kind}" on "${subject}": ${message}`,
    { target: subject, cause: error },
  );
}
