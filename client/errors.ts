/**
 * Typed errors shared by the client, its transports and the proxy server.
 *
 * Every failure a caller may want to handle has its own class; each one
 * extends `Error`, sets `name`, accepts `ErrorOptions` (for `cause`) and keeps
 * its context in fields, not only in the message.
 *
 * A request that Asterisk (or a proxy) refused rejects with a
 * {@linkcode RemoteError}; the statuses an application branches on have
 * their own subclasses, the same whichever transport and whichever proxy
 * (ours or Go ari-proxy v5) answered: {@linkcode NotFoundError} (404),
 * {@linkcode ConflictError} (409, e.g. a channel in the wrong state),
 * {@linkcode BadRequestError} (400) and {@linkcode UnprocessableEntityError}
 * (422). {@linkcode AriHttpError} is what the low-level REST client throws;
 * client calls never throw it.
 *
 * @example Recognise a channel that is gone
 * ```ts
 * import assert from "node:assert/strict";
 * import { errors, NotFoundError, RemoteError } from "./errors.ts";
 *
 * // What a Go ari-proxy answers (no status field, only the text):
 * const err: unknown = RemoteError.parse("Non-2XX response: 404 Not Found", {
 *   kind: "ChannelAnswer",
 * });
 * assert.ok(err instanceof errors.NotFoundError);
 * assert.ok(err instanceof NotFoundError && err.status === 404);
 * ```
 *
 * @module
 */

/** HTTP methods used by ARI. */
export type HttpMethod = "GET" | "POST" | "PUT" | "DELETE";

/** Context of an {@linkcode AriHttpError}. */
export interface AriHttpErrorOptions extends ErrorOptions {
  /** HTTP status Asterisk answered with. */
  status: number;
  /** HTTP method of the failed call. */
  method: HttpMethod | string;
  /** ARI path of the failed call, relative to the ARI base URL. */
  path: string;
}

/**
 * Asterisk answered an ARI call with a non-2xx status.
 *
 * @example
 * ```ts
 * import { AriHttpError } from "./errors.ts";
 * const e = new AriHttpError("Channel not found", { status: 404, method: "GET", path: "/channels/x" });
 * console.assert(e.message === "Cannot GET /channels/x: 404 Channel not found");
 * ```
 */
export class AriHttpError extends Error {
  /** HTTP status. */
  readonly status: number;
  /** HTTP method. */
  readonly method: string;
  /** ARI path (relative to the base URL). */
  readonly path: string;
  /** The message Asterisk gave (its JSON `message`, else the status text). */
  readonly ariMessage: string;

  /**
   * Creates the error.
   *
   * @param ariMessage Asterisk's own message.
   * @param options Status, method, path and an optional cause.
   */
  constructor(ariMessage: string, options: AriHttpErrorOptions) {
    const { status, method, path, ...rest } = options;
    super(`Cannot ${method} ${path}: ${status} ${ariMessage}`.trimEnd(), rest);
    this.name = "AriHttpError";
    this.status = status;
    this.method = method;
    this.path = path;
    this.ariMessage = ariMessage;
  }
}

/** Context of a {@linkcode TimeoutError}. */
export interface TimeoutErrorOptions extends ErrorOptions {
  /** The timeout that elapsed, in milliseconds. */
  timeout: number;
  /** What timed out (an ARI path, a request kind, a subject). */
  operation: string;
}

/**
 * An operation did not complete within its timeout.
 *
 * @example
 * ```ts
 * import { TimeoutError } from "./errors.ts";
 * const e = new TimeoutError({ timeout: 500, operation: "ChannelAnswer" });
 * console.assert(e.timeout === 500);
 * ```
 */
export class TimeoutError extends Error {
  /** Milliseconds waited. */
  readonly timeout: number;
  /** What timed out. */
  readonly operation: string;

  /**
   * Creates the error.
   *
   * @param options Timeout, operation and an optional cause.
   */
  constructor(options: TimeoutErrorOptions) {
    const { timeout, operation, ...rest } = options;
    super(`Timed out after ${timeout} ms: ${operation}`, rest);
    this.name = "TimeoutError";
    this.timeout = timeout;
    this.operation = operation;
  }
}

/**
 * A connection (ARI HTTP, ARI WebSocket or NATS) could not be made or was lost.
 *
 * @example
 * ```ts
 * import { ConnectionError } from "./errors.ts";
 * const e = new ConnectionError("Cannot reach ARI at http://127.0.0.1:8088/ari", { target: "http://127.0.0.1:8088/ari" });
 * console.assert(e.target.startsWith("http"));
 * ```
 */
export class ConnectionError extends Error {
  /** The address that could not be reached. */
  readonly target: string;

  /**
   * Creates the error.
   *
   * @param message What failed.
   * @param options The target and an optional cause.
   */
  constructor(message: string, options: ErrorOptions & { target: string }) {
    const { target, ...rest } = options;
    super(message, rest);
    this.name = "ConnectionError";
    this.target = target;
  }
}

/**
 * An operation was attempted on a closed client, transport or stream.
 *
 * @example
 * ```ts
 * import { ClosedConnectionError } from "./errors.ts";
 * const e = new ClosedConnectionError("ARI client");
 * console.assert(e.message === "Cannot use ARI client: it is closed");
 * ```
 */
export class ClosedConnectionError extends Error {
  /** What was closed. */
  readonly resource: string;

  /**
   * Creates the error.
   *
   * @param resource What was closed, e.g. "ARI client".
   */
  constructor(resource: string, options?: ErrorOptions) {
    super(`Cannot use ${resource}: it is closed`, options);
    this.name = "ClosedConnectionError";
    this.resource = resource;
  }
}

/** Why a protocol message was rejected. */
export type ProtocolErrorCode =
  | "invalidJson"
  | "notObject"
  | "unknownKind"
  | "missingBody"
  | "invalidField"
  | "missingKey"
  | "invalidKey"
  | "tooLarge";

/** Context of a {@linkcode ProtocolError}. */
export interface ProtocolErrorOptions extends ErrorOptions {
  /** Machine-readable reason. */
  code: ProtocolErrorCode;
  /** The request kind, when known. */
  kind?: string;
  /** JSON path of the offending field, when there is one (e.g. `channel_play.media_uri`). */
  field?: string;
}

/**
 * A NATS protocol message could not be decoded or failed validation.
 *
 * @example
 * ```ts
 * import { ProtocolError } from "./errors.ts";
 * const e = new ProtocolError("Invalid request: kind \"Foo\" is not known", { code: "unknownKind", kind: "Foo" });
 * console.assert(e.code === "unknownKind");
 * ```
 */
export class ProtocolError extends Error {
  /** Machine-readable reason. */
  readonly code: ProtocolErrorCode;
  /** The request kind, when known. */
  readonly kind: string | undefined;
  /** The offending field, when there is one. */
  readonly field: string | undefined;

  /**
   * Creates a protocol error.
   *
   * @param message Human-readable description.
   * @param options Code, kind, field and an optional cause.
   */
  constructor(message: string, options: ProtocolErrorOptions) {
    const { code, kind, field, ...rest } = options;
    super(message, rest);
    this.name = "ProtocolError";
    this.code = code;
    this.kind = kind;
    this.field = field;
  }
}

/** Context of a {@linkcode RemoteError}. */
export interface RemoteErrorOptions extends ErrorOptions {
  /** The request kind that failed. */
  kind: string;
  /** The ARI HTTP status, when known. */
  status?: number | undefined;
}

/** `Non-2XX response: 404 Not Found`, as Go's ARI client words a refusal. */
const GO_STATUS = /Non-2XX response: (\d{3})\b/;
/** Go ari-proxy's own not-found text (e.g. an unknown log channel). */
const GO_NOT_FOUND = /(^|: )not found$/i;
/** Go ari-proxy's own checks of the request before it calls ARI. */
const GO_BAD_REQUEST = /( key not supplied| is mandatory)$/;

/**
 * The ARI status a failed reply stands for: the `status` field our proxy
 * and the native transport send, else the status in a Go proxy's text
 * (`Non-2XX response: 404 Not Found`), else 404 for Go's own `not found`
 * and 400 for Go's own request checks (`channel key not supplied`,
 * `ExternalHost is mandatory`).
 *
 * @param text The `error` text of the reply.
 * @param status The reply's `status` field, when it had one.
 * @returns The HTTP status, or `undefined` when the reply does not tell.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { remoteStatus } from "./errors.ts";
 *
 * assert.equal(remoteStatus("Non-2XX response: 409 Conflict"), 409);
 * assert.equal(remoteStatus("Cannot dial channel \"c\": 409", 409), 409);
 * assert.equal(remoteStatus("nats: timeout"), undefined);
 * ```
 */
export function remoteStatus(
  text: string,
  status?: number,
): number | undefined {
  if (typeof status === "number" && status > 0) return status;
  const go = GO_STATUS.exec(text);
  if (go) return Number(go[1]);
  const trimmed = text.trim();
  if (GO_NOT_FOUND.test(trimmed)) return 404;
  if (GO_BAD_REQUEST.test(trimmed)) return 400;
  return undefined;
}

/**
 * A proxy or Asterisk answered a request with an error (the `error` field of
 * a Response). Replies whose status an application usually branches on
 * become a subclass: {@linkcode NotFoundError}, {@linkcode ConflictError},
 * {@linkcode BadRequestError}, {@linkcode UnprocessableEntityError};
 * {@linkcode RemoteError.parse} picks the class.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RemoteError } from "./errors.ts";
 *
 * const e = new RemoteError("Non-2XX response: 500 Internal Server Error", { kind: "ChannelOriginate" });
 * assert.equal(e.kind, "ChannelOriginate");
 * assert.equal(e.status, 500);
 * ```
 */
export class RemoteError extends Error {
  /** The request kind that failed. */
  readonly kind: string;
  /** The raw error text the proxy sent. */
  readonly remoteMessage: string;
  /**
   * The ARI HTTP status: the reply's `status` field (our proxy, native
   * transport), else the status a Go proxy's text names; `undefined` when
   * the reply does not tell.
   */
  readonly status: number | undefined;

  /**
   * Creates the error.
   *
   * @param remoteMessage The `error` text of the response.
   * @param options Kind, optional status and cause.
   */
  constructor(remoteMessage: string, options: RemoteErrorOptions) {
    const { kind, status, ...rest } = options;
    super(`Request "${kind}" failed: ${remoteMessage}`, rest);
    this.name = "RemoteError";
    this.kind = kind;
    this.remoteMessage = remoteMessage;
    this.status = remoteStatus(remoteMessage, status);
  }

  /**
   * Maps a failed reply to its error class: {@linkcode NotFoundError} for
   * 404, {@linkcode ConflictError} for 409, {@linkcode BadRequestError} for
   * 400, {@linkcode UnprocessableEntityError} for 422, else
   * {@linkcode RemoteError}. The status comes from {@linkcode remoteStatus}.
   *
   * @param text The `error` text of the reply.
   * @param options Kind, the reply's `status` field (if any), cause.
   * @returns The error to throw.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { ConflictError, RemoteError } from "./errors.ts";
   *
   * const e = RemoteError.parse("Non-2XX response: 409 Conflict", { kind: "ChannelDial" });
   * assert.ok(e instanceof ConflictError);
   * ```
   */
  static parse(text: string, options: RemoteErrorOptions): RemoteError {
    const status = remoteStatus(text, options.status);
    const withStatus = { ...options, status };
    switch (status) {
      case 400:
        return new BadRequestError(text, withStatus);
      case 404:
        return new NotFoundError(text, withStatus);
      case 409:
        return new ConflictError(text, withStatus);
      case 422:
        return new UnprocessableEntityError(text, withStatus);
      default:
        return new RemoteError(text, withStatus);
    }
  }
}

/**
 * The entity a request names does not exist (ARI 404): a channel that hung
 * up, a bridge that was destroyed, a variable that is not set, a playback
 * that finished.
 *
 * @example Hang up unless the channel is already gone
 * ```ts
 * import assert from "node:assert/strict";
 * import { NotFoundError, RemoteError } from "./errors.ts";
 *
 * async function hangup(): Promise<void> {
 *   throw RemoteError.parse("Non-2XX response: 404 Not Found", { kind: "ChannelHangup" });
 * }
 * try {
 *   await hangup();
 * } catch (error) {
 *   if (!(error instanceof NotFoundError)) throw error;
 * }
 * assert.ok(true);
 * ```
 */
export class NotFoundError extends RemoteError {
  /**
   * Creates the error.
   *
   * @param remoteMessage The `error` text of the response.
   * @param options Kind, optional status and cause.
   */
  constructor(remoteMessage: string, options: RemoteErrorOptions) {
    super(remoteMessage, { ...options, status: options.status ?? 404 });
    this.name = "NotFoundError";
  }
}

/**
 * The entity is in the wrong state for the request (ARI 409): dialing a
 * channel twice, loading a loaded module, copying onto an existing
 * recording.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ConflictError } from "./errors.ts";
 *
 * const e = new ConflictError("Non-2XX response: 409 Conflict", { kind: "ChannelDial" });
 * assert.equal(e.status, 409);
 * ```
 */
export class ConflictError extends RemoteError {
  /**
   * Creates the error.
   *
   * @param remoteMessage The `error` text of the response.
   * @param options Kind, optional status and cause.
   */
  constructor(remoteMessage: string, options: RemoteErrorOptions) {
    super(remoteMessage, { ...options, status: options.status ?? 409 });
    this.name = "ConflictError";
  }
}

/**
 * The request was malformed (ARI 400): a bad parameter value, a missing
 * required field.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BadRequestError } from "./errors.ts";
 *
 * const e = new BadRequestError("Non-2XX response: 400 Bad Request", { kind: "PlaybackControl" });
 * assert.equal(e.status, 400);
 * ```
 */
export class BadRequestError extends RemoteError {
  /**
   * Creates the error.
   *
   * @param remoteMessage The `error` text of the response.
   * @param options Kind, optional status and cause.
   */
  constructor(remoteMessage: string, options: RemoteErrorOptions) {
    super(remoteMessage, { ...options, status: options.status ?? 400 });
    this.name = "BadRequestError";
  }
}

/**
 * The request was well formed but cannot apply (ARI 422): e.g. removing a
 * channel from a bridge it is not in, a channel not in the application.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { UnprocessableEntityError } from "./errors.ts";
 *
 * const e = new UnprocessableEntityError("Non-2XX response: 422 Unprocessable Entity", { kind: "BridgeRemoveChannel" });
 * assert.equal(e.status, 422);
 * ```
 */
export class UnprocessableEntityError extends RemoteError {
  /**
   * Creates the error.
   *
   * @param remoteMessage The `error` text of the response.
   * @param options Kind, optional status and cause.
   */
  constructor(remoteMessage: string, options: RemoteErrorOptions) {
    super(remoteMessage, { ...options, status: options.status ?? 422 });
    this.name = "UnprocessableEntityError";
  }
}

/**
 * The proxy does not implement a request kind (it answered `Not implemented`,
 * as a Go ari-proxy v5 does for our extension kinds).
 *
 * @example
 * ```ts
 * import { NotImplementedError } from "./errors.ts";
 * const e = new NotImplementedError("ChannelMove");
 * console.assert(e.kind === "ChannelMove");
 * ```
 */
export class NotImplementedError extends Error {
  /** The kind the server lacks. */
  readonly kind: string;

  /**
   * Creates the error.
   *
   * @param kind The request kind the server does not implement.
   */
  constructor(kind: string, options?: ErrorOptions) {
    super(
      `Cannot perform "${kind}": the proxy does not implement this operation`,
      options,
    );
    this.name = "NotImplementedError";
    this.kind = kind;
  }
}

/** Context of a {@linkcode PermissionDeniedError}. */
export interface PermissionDeniedErrorOptions extends ErrorOptions {
  /** What the NATS server refused: publishing or subscribing. */
  operation: "publish" | "subscribe";
  /** The subject it refused. */
  subject: string;
  /** The queue group of a refused subscription, if any. */
  queue?: string | undefined;
  /** The request kind that needed the permission, when one did. */
  kind?: string | undefined;
}

/**
 * The NATS server refused a publish or a subscription for lack of permission
 * (its `Permissions Violation` error): the account the client connected with
 * does not allow the subject. Raised at once, not after a timeout.
 *
 * @example
 * ```ts
 * import { PermissionDeniedError } from "./errors.ts";
 * const e = new PermissionDeniedError({ operation: "publish", subject: "ari.get", kind: "ChannelList" });
 * console.assert(e.message === 'Cannot send request "ChannelList": NATS denies publish to "ari.get" (permissions violation)');
 * ```
 */
export class PermissionDeniedError extends Error {
  /** What was refused. */
  readonly operation: "publish" | "subscribe";
  /** The refused subject. */
  readonly subject: string;
  /** The queue group of a refused subscription. */
  readonly queue: string | undefined;
  /** The request kind, when a request needed the permission. */
  readonly kind: string | undefined;

  /**
   * Creates the error.
   *
   * @param options Operation, subject, queue, kind and an optional cause.
   */
  constructor(options: PermissionDeniedErrorOptions) {
    const { operation, subject, queue, kind, ...rest } = options;
    const what = `NATS denies ${operation} to "${subject}"${
      queue ? ` (queue group "${queue}")` : ""
    } (permissions violation)`;
    super(
      kind === undefined ? what : `Cannot send request "${kind}": ${what}`,
      rest,
    );
    this.name = "PermissionDeniedError";
    this.operation = operation;
    this.subject = subject;
    this.queue = queue;
    this.kind = kind;
  }
}

/**
 * All error classes, for `instanceof errors.X` checks.
 *
 * @example
 * ```ts
 * import { errors } from "./errors.ts";
 * const e: unknown = new errors.TimeoutError({ timeout: 1, operation: "x" });
 * console.assert(e instanceof errors.TimeoutError);
 * ```
 */
export const errors = {
  AriHttpError,
  TimeoutError,
  ConnectionError,
  ClosedConnectionError,
  ProtocolError,
  RemoteError,
  NotFoundError,
  ConflictError,
  BadRequestError,
  UnprocessableEntityError,
  NotImplementedError,
  PermissionDeniedError,
} as const;
