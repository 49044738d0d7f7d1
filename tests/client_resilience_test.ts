/**
 * Resilience of the ARI client on both transports, against real components
 * from the harness:
 *
 * - native: Asterisk restarts under a connected client; `status()` reports
 *   the outage, the client reconnects by itself and the handlers registered
 *   before the restart receive the events of calls made after it;
 * - NATS: Asterisk restarts under the proxy; requests during the outage fail
 *   with `RemoteError` "ARI connection is down", then work again, and the
 *   same handlers receive events; the NATS server restarts under the client,
 *   which reconnects and keeps its subscriptions;
 * - ids such as `../asterisk/modules` cannot reach another ARI resource, on
 *   either transport.
 *
 * The harness starts Asterisk with a readiness app of its own (`ready`); the
 * clients and proxies serve another app, so the harness's readiness
 * WebSocket after a restart never replaces their registration.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  type AriClient,
  type ClientStatus,
  connect,
  connectNative,
  RemoteError,
} from "../client/mod.ts";
import { type ProxyServer, startProxy } from "../lib/server.ts";
import {
  type AsteriskInstance,
  startAsterisk,
  startNats,
  waitFor,
} from "./harness/mod.ts";

/** Generous: a restart of Asterisk takes seconds on a busy 2-core box. */
const SLOW = { timeout: 60_000, interval: 50 };
const READY_APP = "ready";

function tag(): string {
  return crypto.randomUUID().slice(0, 8);
}

function proxyFor(
  asterisk: AsteriskInstance,
  natsUrl: string,
  application: string,
): Promise<ProxyServer> {
  return startProxy({
    ari: {
      application,
      username: asterisk.username,
      password: asterisk.password,
      httpUrl: asterisk.httpUrl,
      websocketUrl: asterisk.wsUrl,
    },
    nats: { servers: [natsUrl] },
    // Never announce on a timer: tests must not depend on one.
    announceInterval: 0,
  });
}

/**
 * What a client saw: every status, the channels of the `on("StasisStart")`
 * handler and of a client-wide `events()` iterator, all registered at once.
 */
class Observer {
  readonly statuses: ClientStatus[] = [];
  readonly handled: string[] = [];
  readonly streamed: string[] = [];
  readonly #pumps: Promise<void>[] = [];

  constructor(client: AriClient) {
    const statuses = client.status();
    this.#pumps.push((async () => {
      for await (const status of statuses) this.statuses.push(status);
    })());
    client.on("StasisStart", (event) => {
      this.handled.push(event.channel.id);
    });
    const stream = client.events();
    this.#pumps.push((async () => {
      for await (const event of stream) {
        if (event.type === "StasisStart") {
          this.streamed.push(event.channel.id);
        }
      }
    })());
  }

  /** Index of the first status of `type` at or after `from`, or -1. */
  indexOf(type: ClientStatus["type"], from = 0): number {
    return this.statuses.findIndex((s, i) => i >= from && s.type === type);
  }

  /** Waits for the pumps to end (after the client closed). */
  async finished(): Promise<void> {
    await Promise.all(this.#pumps);
  }
}

/**
 * Originates a channel into `app` and waits until both the handler and the
 * iterator of `observer` saw its StasisStart; then hangs it up.
 */
async function originateAndObserve(
  client: AriClient,
  observer: Observer,
  app: string,
  channelId: string,
): Promise<void> {
  const channel = await client.channels.originate({
    endpoint: "Local/100@default",
    app,
    channelId,
  });
  try {
    await waitFor(() => observer.handled.includes(channelId), {
      ...SLOW,
      message: `StasisStart of "${channelId}" on the on() handler`,
    });
    await waitFor(() => observer.streamed.includes(channelId), {
      ...SLOW,
      message: `StasisStart of "${channelId}" on the events() iterator`,
    });
  } finally {
    await channel.hangup().catch(() => {});
  }
}

Deno.test({
  name:
    "connectNative() reports the outage of a restarting Asterisk, reconnects and keeps its handlers",
  async fn() {
    const run = tag();
    const app = `resil-${run}`;
    await using asterisk = await startAsterisk({
      app: READY_APP,
      allowExternal: false,
    });
    const client = await connectNative({
      url: asterisk.httpUrl,
      wsUrl: asterisk.wsUrl,
      username: asterisk.username,
      password: asterisk.password,
      application: app,
      events: { initialDelay: 100, maxDelay: 1_000 },
    });
    const observer = new Observer(client);
    try {
      await originateAndObserve(client, observer, app, `${app}-before`);

      const mark = observer.statuses.length;
      await asterisk.restart();
      const down = await waitFor(() => {
        const i = observer.indexOf("disconnected", mark);
        return i >= 0 ? i + 1 : 0;
      }, { ...SLOW, message: "a disconnected status" });
      await waitFor(() => observer.indexOf("connected", down) >= 0, {
        ...SLOW,
        message: "a connected status after the disconnected one",
      });
      assert.ok(client.isConnected(), "the client is connected again");

      // Handlers registered before the restart see calls made after it.
      await originateAndObserve(client, observer, app, `${app}-after`);
      assert.equal(
        observer.handled.filter((id) => id === `${app}-after`).length,
        1,
      );
      assert.ok(!observer.statuses.some((s) => s.type === "closed"));
      assert.ok(!client.isClosed());
    } finally {
      await client.close();
      await observer.finished();
    }
    assert.equal(observer.statuses.at(-1)?.type, "closed");
  },
});

Deno.test({
  name:
    'connect() through the proxy fails requests with "ARI connection is down" while Asterisk restarts, then recovers with its handlers',
  async fn() {
    const run = tag();
    const app = `resil-${run}`;
    await using nats = await startNats();
    await using asterisk = await startAsterisk({
      app: READY_APP,
      allowExternal: false,
    });
    await using proxy = await proxyFor(asterisk, nats.url, app);
    const client = await connect({
      servers: nats.url,
      application: app,
      timeout: 15_000,
      discoveryWait: 2_000,
    });
    const observer = new Observer(client);
    try {
      await originateAndObserve(client, observer, app, `${app}-before`);

      await asterisk.stop();
      await waitFor(() => !proxy.isAriConnected(), {
        ...SLOW,
        message: "the proxy to notice that ARI is down",
      });
      for (
        const call of [
          () => client.asterisk.info(),
          () => client.channels.list(),
          () => client.channels.handle(`${app}-before`).answer(),
        ]
      ) {
        await assert.rejects(call(), (error: unknown) => {
          assert.ok(error instanceof RemoteError, `got ${error}`);
          assert.equal(error.remoteMessage, "ARI connection is down");
          return true;
        });
      }

      await asterisk.restart();
      await waitFor(() => proxy.isAriConnected(), {
        ...SLOW,
        message: "the proxy to reconnect to ARI",
      });
      const info = await waitFor(
        () => client.asterisk.info({ only: ["system"] }),
        { ...SLOW, message: "asterisk.info() to work again" },
      );
      assert.equal(info.system?.entity_id, asterisk.entityId);

      await originateAndObserve(client, observer, app, `${app}-after`);
      assert.ok(client.isConnected());
    } finally {
      await client.close();
      await observer.finished();
    }
  },
});

Deno.test({
  name:
    "connect() reconnects after its NATS server restarts and keeps its subscriptions",
  async fn() {
    const run = tag();
    const app = `resil-${run}`;
    await using nats = await startNats();
    await using asterisk = await startAsterisk({
      app: READY_APP,
      allowExternal: false,
    });
    await using proxy = await proxyFor(asterisk, nats.url, app);
    const client = await connect({
      servers: nats.url,
      application: app,
      timeout: 15_000,
      discoveryWait: 2_000,
      reconnectTimeWait: 200,
      maxReconnectAttempts: -1,
    });
    const observer = new Observer(client);
    try {
      await originateAndObserve(client, observer, app, `${app}-before`);

      const mark = observer.statuses.length;
      await nats.nodes[0]!.restart();
      const down = await waitFor(() => {
        const i = observer.indexOf("disconnected", mark);
        return i >= 0 ? i + 1 : 0;
      }, { ...SLOW, message: "a disconnected status" });
      await waitFor(() => observer.indexOf("connected", down) >= 0, {
        ...SLOW,
        message: "a connected status after the disconnected one",
      });
      assert.ok(client.isConnected());
      await waitFor(() => proxy.stats().natsConnected, {
        ...SLOW,
        message: "the proxy to reconnect to NATS",
      });
      // Requests work again (the proxy's subscriptions are back too).
      await waitFor(() => client.asterisk.info({ only: ["system"] }), {
        ...SLOW,
        message: "asterisk.info() through the restarted NATS",
      });

      // The client's event subscription survived the reconnect.
      await originateAndObserve(client, observer, app, `${app}-after`);
    } finally {
      await client.close();
      await observer.finished();
    }
  },
});

/** Ids that would reach another resource if they were not encoded. */
function hostileIds(channelId: string, bridgeId: string) {
  return [
    {
      what: `channels.data("../asterisk/modules")`,
      call: (c: AriClient) => c.channels.data("../asterisk/modules"),
    },
    {
      what: `channels.data({ id: "../asterisk/modules" })`,
      call: (c: AriClient) => c.channels.data({ id: "../asterisk/modules" }),
    },
    {
      what: `channels.data("../channels/<existing>")`,
      call: (c: AriClient) => c.channels.data(`../channels/${channelId}`),
    },
    {
      what: `channels.data("%2e%2e/channels/<existing>")`,
      call: (c: AriClient) => c.channels.data(`%2e%2e/channels/${channelId}`),
    },
    {
      what: `channels.handle("../asterisk/modules").answer()`,
      call: (c: AriClient) => c.channels.handle("../asterisk/modules").answer(),
    },
    {
      what: `channels.handle("../channels/<existing>").hangup()`,
      call: (c: AriClient) =>
        c.channels.handle(`../channels/${channelId}`).hangup(),
    },
    {
      what: `bridges.data("../bridges/<existing>")`,
      call: (c: AriClient) => c.bridges.data(`../bridges/${bridgeId}`),
    },
    {
      what: `asterisk.modules.data("../modules/res_stasis.so")`,
      call: (c: AriClient) =>
        c.asterisk.modules.data("../modules/res_stasis.so"),
    },
    {
      what: `asterisk.modules.data("../../asterisk/modules")`,
      call: (c: AriClient) => c.asterisk.modules.data("../../asterisk/modules"),
    },
    {
      what: `sounds.data("../sounds/hello-world")`,
      call: (c: AriClient) => c.sounds.data("../sounds/hello-world"),
    },
    {
      what: `playbacks.data("../asterisk/modules")`,
      call: (c: AriClient) => c.playbacks.data("../asterisk/modules"),
    },
    {
      what: `storedRecordings.data("../../asterisk/modules")`,
      call: (c: AriClient) => c.storedRecordings.data("../../asterisk/modules"),
    },
  ];
}

/** Checks that no hostile id reaches anything, with a channel and a bridge that do exist. */
async function assertNoTraversal(
  client: AriClient,
  app: string,
): Promise<void> {
  const run = tag();
  const channel = await client.channels.originate({
    endpoint: "Local/100@default",
    app,
    channelId: `trav-${run}`,
  });
  const bridge = await client.bridges.create({
    bridgeId: `trav-${run}-br`,
    type: "mixing",
  });
  try {
    // The targets exist: the plain ids reach them.
    assert.equal((await client.channels.data(channel.id)).id, channel.id);
    assert.equal((await client.bridges.data(bridge.id)).id, bridge.id);
    assert.equal(
      (await client.asterisk.modules.data("res_stasis.so")).name,
      "res_stasis.so",
    );
    for (const { what, call } of hostileIds(channel.id, bridge.id)) {
      await assert.rejects(call(client), (error: unknown) => {
        assert.ok(
          error instanceof RemoteError,
          `${what}: expected RemoteError, got ${error}`,
        );
        if (error.status !== undefined) {
          assert.ok(
            error.status === 404 || error.status === 400,
            `${what}: status ${error.status}`,
          );
        }
        return true;
      }, what);
    }
    // Asterisk knows any device name (state INVALID): the id stays a name.
    const device = await client.deviceStates.data("../../asterisk/modules");
    assert.equal(device.name, "../../asterisk/modules");
    assert.equal(device.state, "INVALID");
    // The hangup with a hostile id did not hang up the real channel.
    assert.equal((await client.channels.data(channel.id)).id, channel.id);
  } finally {
    await bridge.delete().catch(() => {});
    await channel.hangup().catch(() => {});
  }
}

Deno.test({
  name:
    "connectNative() keeps ids like ../asterisk/modules inside their resource",
  async fn() {
    const app = `trav-${tag()}`;
    await using asterisk = await startAsterisk({
      app: READY_APP,
      allowExternal: false,
    });
    await using client = await connectNative({
      url: asterisk.httpUrl,
      wsUrl: asterisk.wsUrl,
      username: asterisk.username,
      password: asterisk.password,
      application: app,
    });
    await assertNoTraversal(client, app);
  },
});

Deno.test({
  name:
    "connect() keeps ids like ../asterisk/modules inside their resource through the proxy",
  async fn() {
    const app = `trav-${tag()}`;
    await using nats = await startNats();
    await using asterisk = await startAsterisk({
      app: READY_APP,
      allowExternal: false,
    });
    await using _proxy = await proxyFor(asterisk, nats.url, app);
    await using client = await connect({
      servers: nats.url,
      application: app,
      timeout: 15_000,
      discoveryWait: 2_000,
    });
    await assertNoTraversal(client, app);
  },
});
