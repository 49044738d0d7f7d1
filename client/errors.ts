/**
 * Typed errors shared by the client, its transports and the proxy server.
 *
 * Every failure a caller may want to handle has its own class; each one
 * extends `Error`, sets `name`, accepts `ErrorOptions` (for `cause`) and keeps
 * its context in fields, not only in the message.
 *
 * @example Classify a failure
 * ```ts
 * import { AriHttpError, errors } from "./errors.ts";
 *
 * const err: unknown = new AriHttpError("Channel not found", {
 *   status: 404,
 *   method: "POST",
 *   path: "/channels/x/answer",
 * });
 * if (err instanceof errors.AriHttpError && err.status === 404) {
 *   // the channel is gone
 * }
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

/**
 * A proxy answered a request with an error (the `error` field of a Response).
 *
 * `static parse` maps well-known Go/our error texts to more specific classes.
 *
 * @example
 * ```ts
 * import { RemoteError } from "./errors.ts";
 * const e = new RemoteError("Non-2XX response: 404 Not Found", { kind: "ChannelAnswer" });
 * console.assert(e.kind === "ChannelAnswer");
 * ```
 */
export class RemoteError extends Error {
  /** The request kind that failed. */
  readonly kind: string;
  /** The raw error text the proxy sent. */
  readonly remoteMessage: string;
  /** The ARI HTTP status, when the proxy reported one (our additive `status` field). */
  readonly status: number | undefined;

  /**
   * Creates the error.
   *
   * @param remoteMessage The `error` text of the response.
   * @param options Kind, optional status and cause.
   */
  constructor(
    remoteMessage: string,
    options: ErrorOptions & { kind: string; status?: number },
  ) {
    const { kind, status, ...rest } = options;
    super(`Request "${kind}" failed: ${remoteMessage}`, rest);
    this.name = "RemoteError";
    this.kind = kind;
    this.remoteMessage = remoteMessage;
    this.status = status;
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
  NotImplementedError,
  PermissionDeniedError,
} as const;
