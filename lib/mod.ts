/**
 * The ari-proxy service: a NATS front-end to Asterisk's ARI that a Go
 * CyCoreSystems/ari-proxy v5 client can use unchanged (PROTOCOL.md).
 *
 * - {@linkcode startProxy}: connect NATS and ARI (retrying forever), serve
 *   requests, publish events, dialogs, announcements; `close()` drains.
 * - {@linkcode createDialogRegistry}, {@linkcode requestBindings}: dialog
 *   bindings and the entities a request binds.
 * - {@linkcode createAnnouncer}: discovery announcements.
 * - {@linkcode createLimiter}: bounded request concurrency.
 *
 * @example Run a proxy
 * ```ts ignore
 * import { startProxy } from "./mod.ts";
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
 * console.log(proxy.node(), proxy.stats().requests);
 * ```
 *
 * @module
 */

export {
  ARI_DOWN_ERROR,
  DEFAULT_CLOSE_TIMEOUT,
  DEFAULT_ENTITY_CHECK_INTERVAL,
  DEFAULT_PROXY_PREFIX,
  NOT_IMPLEMENTED_ERROR,
  OVERLOADED_ERROR,
  startProxy,
} from "./server.ts";
export {
  bindsAfterSuccess,
  createDialogRegistry,
  DEFAULT_MAX_DIALOG_ENTITIES,
  eventSourceBindings,
  fillMissingIds,
  isValidDialog,
  newResourceId,
  requestBindings,
} from "./dialogs.ts";
export { createAnnouncer, DEFAULT_ANNOUNCE_INTERVAL } from "./announcer.ts";
export {
  createLimiter,
  DEFAULT_MAX_CONCURRENCY,
  DEFAULT_MAX_QUEUED,
} from "./limiter.ts";

export type {
  ProxyAriOptions,
  ProxyEventStats,
  ProxyEventStreamOptions,
  ProxyNatsConnectOptions,
  ProxyNatsInjectedOptions,
  ProxyNatsTlsOptions,
  ProxyOptions,
  ProxyRequestStats,
  ProxyServer,
  ProxyStats,
} from "./server.ts";
export type {
  DialogBinding,
  DialogRegistry,
  DialogRegistryOptions,
  DialogRegistryStats,
} from "./dialogs.ts";
export type {
  Announcer,
  AnnouncerClock,
  AnnounceReason,
  AnnouncerOptions,
  AnnouncerStats,
} from "./announcer.ts";
export type { Limiter, LimiterOptions, LimiterStats } from "./limiter.ts";
