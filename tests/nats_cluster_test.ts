/**
 * The NATS transport on a 3-server NATS cluster, with fake Go-like proxies
 * attached to other servers than the client.
 */
import assert from "node:assert/strict";
import { startNatsCluster, waitFor } from "./harness/mod.ts";
import { createNatsTransport } from "../client/nats/transport.ts";
import type { ProxiedEvent } from "../client/protocol/types.ts";
import { FakeClock } from "../client/nats/testdata/fake_clock.ts";
import {
  channelKeys,
  type FakeProxy,
  startFakeProxy,
} from "../client/nats/testdata/fake_proxy.ts";

const APP = "app";
const TIMEOUT = 10_000;

function proxyHandler(ids: string[]) {
  return (
    request: { body: { kind: string } },
    proxy: FakeProxy,
  ): Record<string, unknown> => {
    switch (request.body.kind) {
      case "ChannelList":
        return channelKeys(proxy, ...ids);
      case "ChannelOriginate":
        return {
          error: "",
          key: { kind: "channel", id: "new", node: proxy.node, app: proxy.app },
        };
      default:
        return { error: "Not implemented" };
    }
  };
}

Deno.test("createNatsTransport() on a 3-server cluster aggregates lists across proxies on other servers, fast", async () => {
  await using nats = await startNatsCluster(3);
  await using p2 = await startFakeProxy({
    url: nats.urls[1]!,
    node: "node-2",
    app: APP,
    handler: proxyHandler(["c2a", "c2b"]),
  });
  await using p3 = await startFakeProxy({
    url: nats.urls[2]!,
    node: "node-3",
    app: APP,
    handler: proxyHandler(["c3a"]),
  });
  const clock = new FakeClock();
  await using transport = await createNatsTransport({
    servers: nats.urls[0]!,
    application: APP,
    timeout: TIMEOUT,
    clusterMaxAge: 60_000,
    clock,
  });
  await waitFor(() => transport.members().length === 2, {
    interval: 5,
    message: "both proxies announced",
  });

  // Lists: every reply, as soon as both answered.
  const durations: number[] = [];
  for (let i = 0; i < 20; i++) {
    const start = performance.now();
    const response = await transport.request({
      kind: "ChannelList",
      key: null,
    });
    durations.push(performance.now() - start);
    assert.deepEqual(
      response.keys?.map((k) => `${k.node}/${k.id}`).sort(),
      ["node-2/c2a", "node-2/c2b", "node-3/c3a"],
    );
  }
  const slowest = Math.max(...durations);
  assert.ok(slowest < TIMEOUT / 5, `slowest list took ${slowest} ms`);

  // Originate without a node lands on exactly one proxy (queue group).
  const before = p2.requests.length + p3.requests.length;
  const created = await transport.request({
    kind: "ChannelOriginate",
    key: null,
    channel_originate: { originate_request: { endpoint: "Local/100@default" } },
  });
  assert.equal(created.error, "");
  assert.ok(["node-2", "node-3"].includes(created.key?.node ?? ""));
  assert.equal(p2.requests.length + p3.requests.length, before + 1);

  // Events published on another server reach the shared subscription.
  const events: ProxiedEvent[] = [];
  const off = transport.subscribe({ app: APP }, (e) => events.push(e));
  await transport.connection.flush();
  await waitFor(async () => {
    // Route propagation of the new interest can lag: publish until seen.
    p3.publish("ari.event.app.node-3", {
      type: "StasisStart",
      application: APP,
      asterisk_id: "node-3",
    });
    await p3.flush();
    return events.length > 0;
  }, { interval: 20, message: "an event across the cluster" });
  off();

  // A proxy stops: it leaves after clusterMaxAge, and lists stay fast.
  await p3.close();
  clock.advance(30_000);
  p2.announce();
  await p2.flush();
  await waitFor(
    () =>
      transport.members().find((m) => m.node === "node-2")?.lastSeen ===
        clock.now(),
    { interval: 5 },
  );
  clock.advance(30_000);
  assert.deepEqual(transport.members().map((m) => m.node), ["node-2"]);
  const start = performance.now();
  const after = await transport.request({ kind: "ChannelList", key: null });
  const took = performance.now() - start;
  assert.ok(took < TIMEOUT / 5, `list after the leave took ${took} ms`);
  assert.deepEqual(after.keys?.map((k) => k.id).sort(), ["c2a", "c2b"]);
});
