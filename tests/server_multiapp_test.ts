/**
 * Several ARI applications per proxy (`ari.application: [a, b]`): one
 * events WebSocket registers both, each application's events go to its own
 * subject, requests on each application's subjects run as that
 * application, and each application is announced.
 *
 * Real NATS and Asterisk from the harness, our proxy in-process, two
 * clients of the TypeScript client library, one per application.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type AriClient, connect, type EventStream } from "../client/mod.ts";
import type { AriEvent } from "../client/generated/events.ts";
import { startProxy } from "../lib/server.ts";
import { startAsterisk, startNats, waitFor } from "./harness/mod.ts";
import { Collector, request } from "./_server_util.ts";

const SLOW = { timeout: 30_000, interval: 50 };

/** Buffers the events of a stream in the background. */
class Recorder {
  readonly events: AriEvent[] = [];
  readonly #done: Promise<void>;

  constructor(stream: EventStream<AriEvent>) {
    this.#done = (async () => {
      for await (const event of stream) this.events.push(event);
    })();
  }

  /** Channel ids of the events that carry a channel. */
  channels(): Set<string> {
    const out = new Set<string>();
    for (const event of this.events) {
      const channel = (event as { channel?: { id?: unknown } }).channel;
      if (typeof channel?.id === "string") out.add(channel.id);
    }
    return out;
  }

  has(type: string, channelId: string): boolean {
    return this.events.some((event) =>
      event.type === type &&
      (event as { channel?: { id?: unknown } }).channel?.id === channelId
    );
  }

  finished(): Promise<void> {
    return this.#done;
  }
}

/** Originates a Local channel into `app` through `client`; waits for StasisStart. */
async function originate(
  client: AriClient,
  app: string,
  channelId: string,
): Promise<void> {
  const staged = await client.channels.stageOriginate({
    endpoint: "Local/100@default",
    app,
    channelId,
  });
  const started = staged.handle.once("StasisStart", { timeout: 30_000 });
  started.catch(() => {});
  const channel = await staged.exec();
  assert.equal(channel.id, channelId);
  await started;
}

Deno.test({
  name:
    "startProxy() with two applications gives each client application only its own events",
  async fn() {
    const run = crypto.randomUUID().slice(0, 8);
    const appA = `alpha-${run}`;
    const appB = `beta-${run}`;
    await using nats = await startNats();
    await using asterisk = await startAsterisk({
      app: "ready",
      allowExternal: false,
    });
    await using proxy = await startProxy({
      ari: {
        application: [appA, appB],
        username: asterisk.username,
        password: asterisk.password,
        httpUrl: asterisk.httpUrl,
        websocketUrl: asterisk.wsUrl,
      },
      nats: { servers: [nats.url] },
      announceInterval: 0,
    });
    assert.deepEqual(proxy.stats().applications, [appA, appB]);
    const node = proxy.node()!;

    // Each application is announced on a ping, with its own name.
    const raw = await (await import("@nats-io/transport-node")).connect({
      servers: nats.url,
    });
    try {
      using announcements = new Collector(raw, "ari.announce");
      await raw.flush();
      raw.publish("ari.ping");
      await announcements.waitFor(
        (messages) =>
          [appA, appB].every((app) =>
            messages.some((m) =>
              (m.json as { application?: string }).application === app &&
              (m.json as { node?: string }).node === node
            )
          ),
        15_000,
        "an announcement per application",
      );

      // A request on an application's subject runs as that application:
      // the keys it returns name it.
      for (const app of [appA, appB]) {
        const list = await request(raw, `ari.get.${app}.${node}`, {
          kind: "ApplicationList",
          key: { node, app },
        });
        assert.equal(list.error ?? "", "", JSON.stringify(list));
        const keys = list.keys as { app?: string; id?: string }[];
        assert.ok(Array.isArray(keys), JSON.stringify(list));
        assert.ok(keys.length > 0, JSON.stringify(list));
        assert.ok(keys.every((k) => k.app === app), JSON.stringify(keys));
        // Both applications are registered on the one WebSocket.
        const names = keys.map((k) => k.id);
        assert.ok(
          names.includes(appA) && names.includes(appB),
          JSON.stringify(names),
        );
      }
    } finally {
      await raw.close();
    }

    const clientA = await connect({
      servers: nats.url,
      application: appA,
      timeout: 15_000,
      discoveryWait: 2_000,
    });
    const clientB = await connect({
      servers: nats.url,
      application: appB,
      timeout: 15_000,
      discoveryWait: 2_000,
    });
    const seenA = new Recorder(clientA.events());
    const seenB = new Recorder(clientB.events());
    const chanA = `${appA}-c1`;
    const chanB = `${appB}-c1`;
    try {
      await Promise.all([
        originate(clientA, appA, chanA),
        originate(clientB, appB, chanB),
      ]);
      const goneA = clientA.channels.handle(chanA).once("ChannelDestroyed", {
        timeout: 30_000,
      });
      const goneB = clientB.channels.handle(chanB).once("ChannelDestroyed", {
        timeout: 30_000,
      });
      await clientA.channels.handle(chanA).hangup();
      await clientB.channels.handle(chanB).hangup();
      await Promise.all([goneA, goneB]);
      await waitFor(
        () =>
          seenA.has("StasisStart", chanA) &&
          seenA.has("ChannelDestroyed", chanA) &&
          seenB.has("StasisStart", chanB) &&
          seenB.has("ChannelDestroyed", chanB),
        { ...SLOW, message: "each client to see its own call" },
      );
      // Neither saw the other's channel, and every event names its own
      // application.
      assert.ok(!seenA.channels().has(chanB), [...seenA.channels()].join());
      assert.ok(!seenB.channels().has(chanA), [...seenB.channels()].join());
      for (const [seen, app] of [[seenA, appA], [seenB, appB]] as const) {
        for (const event of seen.events) {
          assert.equal(
            (event as { application?: string }).application,
            app,
            JSON.stringify(event),
          );
        }
      }
      const stats = proxy.stats();
      assert.equal(stats.events.dropped, 0);
    } finally {
      await clientA.close();
      await clientB.close();
      await Promise.all([seenA.finished(), seenB.finished()]);
    }
  },
});
