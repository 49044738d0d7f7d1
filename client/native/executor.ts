/**
 * The kind executor: turns any protocol {@linkcode Request} into the ARI REST
 * call(s) it stands for and builds the Go-shaped {@linkcode Response}.
 *
 * It is the one place where request semantics live: the native transport
 * and the proxy server both answer requests with it. It never throws: bad
 * input, ARI errors, timeouts and aborts all become a response whose `error`
 * says what failed, with our additive `status` (ARI HTTP status) and `code`
 * (machine-readable reason) beside it.
 *
 * Facts it follows from Go ari-proxy v5.3.1 / ari v5.3.1:
 * - keys it returns carry this executor's `app` and `node`; `*Get` verifies
 *   the entity exists; `*Data` answers the ARI model plus `key`; lists answer
 *   `keys` (left out when empty); commands answer `{"error":""}`;
 * - durations arrive as Go `time.Duration` nanoseconds and are truncated to
 *   whole seconds (dial, recordings) or milliseconds (DTMF);
 * - `Stage*` kinds make no ARI call: they reserve ids (generating missing
 *   ones) and answer the key of the entity to be;
 * - `ChannelSubscribe`, `BridgeSubscribe`, `BridgeUnsubscribe`,
 *   `PlaybackSubscribe` and `RecordingLiveSubscribe` exist only for dialog
 *   binding (done by the proxy server) and answer `{"error":""}`.
 *
 * @module
 */

import {
  AriHttpError,
  ClosedConnectionError,
  ConnectionError,
  ProtocolError,
  TimeoutError,
} from "../errors.ts";
import type { AriOperationId } from "../generated/operations.ts";
import { isKindName, KIND_TABLE, type KindName } from "../protocol/kinds.ts";
import type { Request, Response } from "../protocol/types.ts";
import { ASTERISK_HANDLERS, LogChannelNotFound } from "./executor_asterisk.ts";
import { BRIDGE_HANDLERS } from "./executor_bridge.ts";
import { CHANNEL_HANDLERS } from "./executor_channel.ts";
import {
  AriCallError,
  ExecContext,
  goStyleId,
  type IdSuffix,
  type KindHandler,
  UnexpectedAriAnswerError,
} from "./executor_common.ts";
import { MEDIA_HANDLERS } from "./executor_media.ts";
import type { AriRestClient } from "./rest.ts";

export {
  STORED_FILE_DEFAULT_LENGTH,
  STORED_FILE_MAX_LENGTH,
} from "./executor_media.ts";

/**
 * Machine-readable reason of a failed response (the additive `code` field):
 * the validation codes of {@linkcode ProtocolError} plus
 * - `ariHttp`: ARI answered a non-2xx status (see `status`);
 * - `notFound`: the entity does not exist (no ARI status applies);
 * - `timeout`: ARI did not answer within the timeout;
 * - `ariDown`: ARI could not be reached;
 * - `closed`: the ARI client is closed;
 * - `aborted`: the caller's signal aborted the request;
 * - `badAriResponse`: ARI answered 2xx with a body of an unexpected shape;
 * - `internal`: a bug; the message says what happened.
 */
export type ExecutorErrorCode =
  | "invalidJson"
  | "notObject"
  | "unknownKind"
  | "missingBody"
  | "invalidField"
  | "missingKey"
  | "invalidKey"
  | "tooLarge"
  | "ariHttp"
  | "notFound"
  | "timeout"
  | "ariDown"
  | "closed"
  | "aborted"
  | "badAriResponse"
  | "internal";

/** Options of {@linkcode createKindExecutor}. */
export interface KindExecutorOptions {
  /** The ARI REST client to call. */
  rest: AriRestClient;
  /** The ARI application name stamped on every returned key (`app`). */
  application: string;
  /**
   * Returns the current node id (Asterisk `system.entity_id`) stamped on
   * every returned key; called per response so a changed id shows at once.
   */
  node: () => string;
  /**
   * Generates ids for entities whose id the request left out (originate,
   * create, play, record, snoop, external media, bridge create). Its result
   * is used as is.
   *
   * @default {a lower-case ULID plus a kind suffix, as Go's `rid.New` ("01h…-ch")}
   */
  idGenerator?: () => string;
}

/** Per-request options of {@linkcode KindExecutor.execute}. */
export interface ExecuteOptions {
  /** Aborts the ARI call(s); the response then has code `aborted`. */
  signal?: AbortSignal;
  /**
   * Time budget of the whole request, in milliseconds.
   *
   * @default {the REST client's timeout, per ARI call}
   */
  timeout?: number;
}

/** Outcome of {@linkcode KindExecutor.executeDetailed}. */
export interface ExecutionResult {
  /** The response to send. */
  response: Response;
  /** The underlying failure when `response.error` is not empty. */
  cause?: unknown;
}

/** Executes protocol requests against one Asterisk. */
export interface KindExecutor {
  /** The application stamped on returned keys. */
  readonly application: string;
  /**
   * Executes `request` and resolves with its response. Never rejects: every
   * failure is a response with a non-empty `error`.
   */
  execute(request: Request, options?: ExecuteOptions): Promise<Response>;
  /** Like {@linkcode KindExecutor.execute}, also giving the failure's cause. */
  executeDetailed(
    request: Request,
    options?: ExecuteOptions,
  ): Promise<ExecutionResult>;
}

const HANDLERS: Readonly<Record<KindName, KindHandler>> = {
  ...ASTERISK_HANDLERS,
  ...BRIDGE_HANDLERS,
  ...CHANNEL_HANDLERS,
  ...MEDIA_HANDLERS,
} as Record<KindName, KindHandler>;

function buildKindOperations(): Readonly<
  Record<KindName, readonly AriOperationId[]>
> {
  const out = {} as Record<KindName, readonly AriOperationId[]>;
  for (const kind of Object.keys(KIND_TABLE) as KindName[]) {
    const handler = HANDLERS[kind];
    if (handler === undefined) {
      throw new Error(`Internal error: kind "${kind}" has no executor handler`);
    }
    out[kind] = Object.freeze([...handler.ops]);
  }
  return Object.freeze(out);
}

/**
 * The ARI operations each kind may call (ids of the generated
 * `ARI_OPERATIONS` table). `Stage*` and subscribe kinds map to `[]`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { KIND_OPERATIONS } from "./executor.ts";
 *
 * assert.deepEqual(KIND_OPERATIONS.ChannelAnswer, ["channels.answer"]);
 * assert.deepEqual(KIND_OPERATIONS.ChannelStagePlay, []);
 * ```
 */
export const KIND_OPERATIONS: Readonly<
  Record<KindName, readonly AriOperationId[]>
> = buildKindOperations();

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function message(value: unknown): string {
  return value instanceof Error ? value.message : String(value);
}

function failure(
  error: string,
  code: ExecutorErrorCode,
  cause: unknown,
  status?: number,
): ExecutionResult {
  const response: Response = { error };
  if (status !== undefined) response.status = status;
  response.code = code;
  return { response, cause };
}

/** Maps any failure of a handler to a response. */
function toFailure(
  err: unknown,
  signal: AbortSignal | undefined,
): ExecutionResult {
  if (err instanceof ProtocolError) return failure(err.message, err.code, err);
  if (!(err instanceof AriCallError)) {
    return failure(`Internal error: ${message(err)}`, "internal", err);
  }
  const what = `Cannot ${err.action}`;
  const cause = err.cause;
  if (cause instanceof AriHttpError) {
    const detail = cause.ariMessage === "" ? "" : ` ${cause.ariMessage}`;
    return failure(
      `${what}: ${cause.status}${detail}`,
      "ariHttp",
      cause,
      cause.status,
    );
  }
  if (signal?.aborted) {
    return failure(
      `${what}: the request was aborted (${message(signal.reason)})`,
      "aborted",
      signal.reason,
    );
  }
  if (cause instanceof TimeoutError) {
    return failure(
      `${what}: ARI did not answer within ${cause.timeout} ms`,
      "timeout",
      cause,
    );
  }
  if (cause instanceof ConnectionError) {
    return failure(
      `${what}: ARI connection failed: ${cause.message}`,
      "ariDown",
      cause,
    );
  }
  if (cause instanceof ClosedConnectionError) {
    return failure(`${what}: the ARI client is closed`, "closed", cause);
  }
  if (cause instanceof LogChannelNotFound) {
    return failure(`${what}: not found`, "notFound", cause, 404);
  }
  if (
    cause instanceof UnexpectedAriAnswerError ||
    (cause instanceof ProtocolError && cause.code === "invalidJson")
  ) {
    return failure(
      `${what}: unexpected answer from ARI: ${message(cause)}`,
      "badAriResponse",
      cause,
    );
  }
  if (cause instanceof TypeError || cause instanceof RangeError) {
    // The REST client rejected a value taken from the request.
    return failure(`${what}: ${cause.message}`, "invalidField", cause);
  }
  return failure(`${what}: ${message(cause)}`, "internal", cause);
}

/**
 * Creates a kind executor for one Asterisk and application.
 *
 * @param options The REST client, application, node id source and an
 * optional id generator.
 * @returns The executor.
 * @throws {TypeError} If `rest`, `application` or `node` is missing.
 *
 * @example Answer a channel (with a fake REST client)
 * ```ts
 * import assert from "node:assert/strict";
 * import { createAriRestClient } from "./rest.ts";
 * import { createKindExecutor } from "./executor.ts";
 *
 * const calls: string[] = [];
 * await using rest = createAriRestClient({
 *   url: "http://ari.invalid/ari",
 *   fetch: (url, init) => {
 *     calls.push(`${init.method} ${url}`);
 *     return Promise.resolve(new Response(null, { status: 204 }));
 *   },
 * });
 * const executor = createKindExecutor({ rest, application: "app", node: () => "n1" });
 * const response = await executor.execute({
 *   kind: "ChannelAnswer",
 *   key: { kind: "channel", id: "c1" },
 * });
 * assert.deepEqual(response, { error: "" });
 * assert.deepEqual(calls, ["POST http://ari.invalid/ari/channels/c1/answer"]);
 * ```
 *
 * @example Failures are responses, never exceptions
 * ```ts
 * import assert from "node:assert/strict";
 * import { createAriRestClient } from "./rest.ts";
 * import { createKindExecutor } from "./executor.ts";
 *
 * await using rest = createAriRestClient({
 *   url: "http://ari.invalid/ari",
 *   fetch: () => Promise.resolve(Response.json({ message: "Channel not found" }, { status: 404 })),
 * });
 * const executor = createKindExecutor({ rest, application: "app", node: () => "n1" });
 * const response = await executor.execute({ kind: "ChannelAnswer", key: { id: "gone" } });
 * assert.equal(response.error, 'Cannot answer channel "gone": 404 Channel not found');
 * assert.equal(response.status, 404);
 * ```
 */
export function createKindExecutor(options: KindExecutorOptions): KindExecutor {
  const { rest, application, node, idGenerator } = options ?? {};
  if (
    rest === undefined || rest === null || typeof rest.request !== "function"
  ) {
    throw new TypeError("Cannot create kind executor: rest is required");
  }
  if (typeof application !== "string" || application === "") {
    throw new TypeError(
      "Cannot create kind executor: application must be a non-empty string",
    );
  }
  if (typeof node !== "function") {
    throw new TypeError("Cannot create kind executor: node must be a function");
  }
  if (idGenerator !== undefined && typeof idGenerator !== "function") {
    throw new TypeError(
      "Cannot create kind executor: idGenerator must be a function",
    );
  }
  const newId = idGenerator === undefined
    ? goStyleId
    : (_suffix: IdSuffix) => String(idGenerator());

  async function executeDetailed(
    request: Request,
    execOptions?: ExecuteOptions,
  ): Promise<ExecutionResult> {
    const signal = execOptions?.signal;
    const timeout = execOptions?.timeout;
    try {
      if (!isObject(request)) {
        return failure(
          "Invalid request: expected an object",
          "notObject",
          undefined,
        );
      }
      const kind: unknown = request.kind;
      if (typeof kind !== "string" || !isKindName(kind)) {
        return failure("Not implemented", "unknownKind", undefined);
      }
      if (
        timeout !== undefined &&
        (typeof timeout !== "number" || !(timeout > 0))
      ) {
        return failure(
          `Invalid request "${kind}": the timeout must be a positive number of milliseconds, got ${timeout}`,
          "invalidField",
          undefined,
        );
      }
      if (signal?.aborted) {
        return failure(
          `Cannot execute "${kind}": the request was aborted (${
            message(signal.reason)
          })`,
          "aborted",
          signal.reason,
        );
      }
      const handler = HANDLERS[kind];
      const ctx = new ExecContext({
        request,
        kind,
        application,
        node,
        newId,
        rest,
        ops: handler.ops,
        signal,
        timeout,
      });
      return { response: await handler.run(ctx) };
    } catch (err) {
      try {
        return toFailure(err, signal);
      } catch (inner) {
        return failure("Internal error", "internal", inner);
      }
    }
  }

  return {
    application,
    executeDetailed,
    async execute(request, execOptions) {
      return (await executeDetailed(request, execOptions)).response;
    },
  };
}
