/**
 * The `native` and `proxy` benchmark paths: the project's TypeScript client
 * (`client/mod.ts`) as an application uses it — `connectNative()` (REST +
 * WebSocket straight to Asterisk) and `connect()` (NATS to the proxies).
 * Both run the same client calls, so the ratio between them is what the
 * proxy costs a client application.
 *
 * @module
 */

import type { NatsConnection } from "@nats-io/transport-node";
import {
  type AriClient,
  type AriRequestTransport,
  connect,
  connectNative,
} from "../client/mod.ts";
import type { Key } from "../client/protocol/types.ts";
import { type AriTarget, type BenchApi, EventWaiters } from "./api.ts";

/** Options for {@linkcode createClientApi}. */
export interface ClientApiOptions {
  /** Path name. */
  name: string;
  /** The client (closed with the path). */
  client: AriClient;
  /** Application whose events the path receives. */
  app: string;
  /** Node the entities live on. */
  node: string;
}

/**
 * Runs the benchmark operations through an `AriClient`.
 *
 * @param options Name, client, application, node.
 * @returns The path.
 *
 * @example
 * ```ts ignore
 * await using proxy = createClientApi({ name: "proxy", client, app, node });
 * await proxy.info();
 * ```
 */
export function createClientApi(options: ClientApiOptions): BenchApi {
  const { name, client, app, node } = options;
  const waiters = new EventWaiters();
  const off = client.on(
    ["StasisStart", "StasisEnd", "PlaybackStarted"],
    (event) => waiters.dispatch(event as unknown as Record<string, unknown>),
  );
  const channelKey = (id: string): Key => ({ kind: "channel", id, node, app });
  const api: BenchApi = {
    name,
    app,
    async info() {
      await client.asterisk.info({ node });
    },
    async listChannels() {
      return (await client.channels.list()).length;
    },
    async getChannel(id) {
      await client.channels.data(channelKey(id));
    },
    async setVariable(id, variable, value) {
      await client.channels.handle(channelKey(id)).variables.set(
        variable,
        value,
      );
    },
    async originate(p) {
      await client.channels.originate({
        endpoint: p.endpoint,
        channelId: p.channelId,
        ...(p.app ? { app: p.app } : {}),
        ...(p.context ? { context: p.context } : {}),
        ...(p.extension ? { extension: p.extension } : {}),
      }, { app, node });
    },
    async answer(id) {
      await client.channels.handle(channelKey(id)).answer();
    },
    async play(id, playbackId, media) {
      await client.channels.handle(channelKey(id)).play(media, { playbackId });
    },
    async hangup(id) {
      await client.channels.handle(channelKey(id)).hangup();
    },
    expect: (type, id, timeoutMs) => waiters.expect(type, id, timeoutMs),
    async close() {
      off();
      await client.close();
    },
    [Symbol.asyncDispose]: () => api.close(),
  };
  return api;
}

/**
 * The `native` path: `connectNative()` straight to Asterisk, with its own
 * Stasis application.
 *
 * @param ari ARI location and credentials.
 * @param app The path's own application.
 * @param node The Asterisk's entity id.
 * @returns The path.
 *
 * @example
 * ```ts ignore
 * await using native = await createNativeApi(stack.ari, "bench_native", node);
 * ```
 */
export async function createNativeApi(
  ari: AriTarget,
  app: string,
  node: string,
  path: { name: string; ariTransport: AriRequestTransport } = {
    name: "native",
    ariTransport: "websocket",
  },
): Promise<BenchApi> {
  const client = await connectNative({
    url: ari.httpUrl,
    wsUrl: ari.wsUrl,
    username: ari.username,
    password: ari.password,
    application: app,
    ariTransport: path.ariTransport,
  });
  return createClientApi({ name: path.name, client, app, node });
}

/**
 * The `proxy` path: `connect()` over NATS, on its own connection.
 *
 * @param natsUrl NATS server.
 * @param app The proxy's application.
 * @param node The proxy's node.
 * @returns The path.
 *
 * @example
 * ```ts ignore
 * await using proxy = await createProxyApi(nats.url, "bench", node);
 * ```
 */
export async function createProxyApi(
  natsUrl: string,
  app: string,
  node: string,
  path: { name: string; prefix: string } = { name: "proxy", prefix: "ari." },
): Promise<BenchApi> {
  const client = await connect({
    servers: natsUrl,
    application: app,
    timeout: 10_000,
    prefix: path.prefix,
  });
  return createClientApi({ name: path.name, client, app, node });
}

/**
 * A NATS client for the cluster-list scenario: it learns the members from
 * announcements and returns a list as soon as every member answered.
 *
 * @param nc An open NATS connection (not closed by the client).
 * @param app The application.
 * @returns The client.
 *
 * @example
 * ```ts ignore
 * await using client = await createClusterClient(nc, "benchcl");
 * ```
 */
export function createClusterClient(
  nc: NatsConnection,
  app: string,
): Promise<AriClient> {
  return connect({ connection: nc, application: app, timeout: 10_000 });
}
