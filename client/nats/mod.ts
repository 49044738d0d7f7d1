/**
 * The NATS transport of the ARI client: one API for a whole cluster of
 * ari-proxy servers (Go ari-proxy v5 compatible).
 *
 * - {@linkcode createNatsTransport} connects (or adopts a connection),
 *   discovers the cluster and returns an `AriTransport`.
 * - Requests route direct when the key names `app` and `node`, else they
 *   are broadcast and the replies merged; lists return as soon as every
 *   known member answered.
 * - Events: one NATS subscription per subject per connection, shared by
 *   every sink; bounded, with `slowConsumer` statuses.
 * - Child transports share the connection and own their subscriptions; a
 *   `dialog` is stamped on every key and scopes the events.
 *
 * @example End to end
 * ```ts ignore live
 * import { createNatsTransport } from "./mod.ts";
 *
 * await using transport = await createNatsTransport({
 *   servers: "nats://127.0.0.1:4222",
 *   application: "demo",
 * });
 * const off = transport.subscribe({ app: "demo" }, (event) => console.log(event.type));
 * const { keys } = await transport.request({ kind: "ChannelList", key: null });
 * console.log(keys, transport.members());
 * off();
 * ```
 *
 * @module
 */

export {
  createNatsTransport,
  DEFAULT_DISCOVERY_WAIT,
  DEFAULT_RETRIES,
  DEFAULT_SERVERS,
  DEFAULT_TIMEOUT,
} from "./transport.ts";
export {
  createClusterMonitor,
  DEFAULT_CLUSTER_MAX_AGE,
  DEFAULT_PROBE_WINDOW,
  SYSTEM_CLOCK,
} from "./cluster.ts";
export { DEFAULT_MAX_PENDING } from "./subscriptions.ts";
export { connectNats, DenoSocketTransport } from "./deno_socket.ts";
export {
  DEFAULT_ACK_WAIT,
  DEFAULT_MAX_ACK_PENDING,
  eventStreamInfo,
} from "./durable.ts";

export type {
  ChildTransportOptions,
  NatsAriTransport,
  NatsAuthenticator,
  NatsConnectionLike,
  NatsTlsOptions,
  NatsTransportOptions,
  NatsTransportStats,
} from "./transport.ts";
export type {
  Clock,
  ClusterBus,
  ClusterMember,
  ClusterMonitor,
  ClusterMonitorOptions,
  MemberChange,
  MemberFilter,
} from "./cluster.ts";
export type { SubscriptionStats } from "./subscriptions.ts";
export type {
  DurableEventOptions,
  DurableEventStats,
  DurableStart,
  EventStreamInfo,
} from "./durable.ts";
