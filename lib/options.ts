/**
 * Options of `startProxy` and their validation.
 *
 * @module
 */

import { getLogger, type Logger } from "@logtape/logtape";
import type { NatsConnection } from "@nats-io/nats-core";
import { isValidToken, normalizePrefix } from "../client/protocol/subjects.ts";
import { DEFAULT_MAX_PENDING_EVENT_BYTES } from "./bridge.ts";

/** Default subject prefix. */
export const DEFAULT_PROXY_PREFIX = "ari.";
/** Default period of the entity id check, in milliseconds. */
export const DEFAULT_ENTITY_CHECK_INTERVAL = 10_000;
/** Default time `close()` lets in-flight requests finish, in milliseconds. */
export const DEFAULT_CLOSE_TIMEOUT = 15_000;

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

/** Options of `startProxy`. */
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
   * one line per `EVENT_DROP_REPORT_INTERVAL`).
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

/** {@linkcode ProxyOptions} checked, with defaults applied. */
export interface ValidatedProxyOptions {
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

/**
 * Checks {@linkcode ProxyOptions} once, before anything connects, and
 * applies the defaults.
 *
 * @param options The caller's options (not modified).
 * @returns The checked options.
 * @throws {TypeError} For missing or malformed options.
 * @throws {RangeError} For a negative or non-finite duration or bound.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { validateProxyOptions } from "./options.ts";
 *
 * assert.throws(
 *   () =>
 *     validateProxyOptions({
 *       ari: {
 *         application: "a.b",
 *         username: "u",
 *         password: "p",
 *         httpUrl: "http://127.0.0.1:8088/ari",
 *         websocketUrl: "ws://127.0.0.1:8088/ari/events",
 *       },
 *       nats: { servers: ["nats://127.0.0.1:4222"] },
 *     }),
 *   TypeError,
 * );
 * ```
 */
export function validateProxyOptions(
  options: ProxyOptions,
): ValidatedProxyOptions {
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
