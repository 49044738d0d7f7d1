import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { startNats, waitFor } from "../../tests/harness/mod.ts";
import type { ProxiedEvent } from "../protocol/types.ts";
import type { TransportStatus } from "../transport.ts";
import { SubscriptionHub } from "./subscriptions.ts";
import { serverSubscriptions } from "./testdata/monitor.ts";

function event(type: string, extra?: Record<string, unknown>): string {
  return JSON.stringify({
    type,
    application: "app",
    asterisk_id: "n1",
    timestamp: "2026-01-01T00:00:00.000+0000",
    ...extra,
  });
}

Deno.test("SubscriptionHub.add() shares one NATS subscription between sinks and decodes once", async () => {
  await using nats = await startNats();
  const nc = await connect({ servers: nats.url, name: "hub-client" });
  const pub = await connect({ servers: nats.url });
  const hub = new SubscriptionHub(nc);
  try {
    const a: ProxiedEvent[] = [];
    const b: ProxiedEvent[] = [];
    const stopA = hub.add("ari.event.app.>", undefined, (e) => a.push(e));
    const stopB = hub.add("ari.event.app.>", undefined, (e) => b.push(e));
    await nc.flush();
    assert.deepEqual(hub.subjects(), ["ari.event.app.>"]);
    assert.deepEqual(
      await serverSubscriptions(nats.monitorUrl, "hub-client"),
      ["ari.event.app.>"],
    );

    pub.publish("ari.event.app.n1", event("StasisStart"));
    await pub.flush();
    await waitFor(() => a.length === 1 && b.length === 1, { interval: 5 });
    assert.equal(a[0], b[0], "both sinks get the same decoded object");
    assert.equal(a[0]!.type, "StasisStart");

    stopA();
    stopA(); // idempotent
    await nc.flush();
    assert.deepEqual(
      await serverSubscriptions(nats.monitorUrl, "hub-client"),
      ["ari.event.app.>"],
    );
    stopB();
    await nc.flush();
    assert.deepEqual(hub.subjects(), []);
    assert.deepEqual(
      await serverSubscriptions(nats.monitorUrl, "hub-client"),
      [],
    );
    assert.deepEqual(hub.stats(), {
      subscriptions: 0,
      sinks: 0,
      delivered: 2,
      dropped: 0,
    });
  } finally {
    hub.close();
    await pub.close();
    await nc.close();
  }
});

Deno.test("SubscriptionHub.add() applies the filter per sink and parses Go-shaped events", async () => {
  await using nats = await startNats();
  const nc = await connect({ servers: nats.url });
  const pub = await connect({ servers: nats.url });
  const hub = new SubscriptionHub(nc);
  try {
    const all: ProxiedEvent[] = [];
    const onlyN2: ProxiedEvent[] = [];
    hub.add("ari.event.>", undefined, (e) => all.push(e));
    hub.add(
      "ari.event.>",
      (e) => e.asterisk_id === "n2",
      (e) => onlyN2.push(e),
    );
    await nc.flush();
    // Go's re-encoding: zero-valued objects and "key":null.
    pub.publish(
      "ari.event.app.n1",
      '{"application":"app","asterisk_id":"n1","timestamp":"2026-01-01T00:00:00.000+0000","type":"BridgeDestroyed","bridge":{"id":"b1","technology":"simple_bridge","bridge_type":"mixing","bridge_class":"stasis","creator":"","name":"","channels":null,"key":null}}',
    );
    pub.publish(
      "ari.event.app.n2",
      event("ChannelDestroyed", { asterisk_id: "n2" }),
    );
    await pub.flush();
    await waitFor(() => all.length === 2, { interval: 5 });
    assert.deepEqual(onlyN2.map((e) => e.type), ["ChannelDestroyed"]);
    const bridge = all[0]!.bridge as Record<string, unknown>;
    assert.equal(bridge.id, "b1");
    assert.equal("key" in bridge, false);
  } finally {
    hub.close();
    await pub.close();
    await nc.close();
  }
});

Deno.test("SubscriptionHub reports undecodable events and throwing sinks on status", async () => {
  await using nats = await startNats();
  const nc = await connect({ servers: nats.url });
  const statuses: TransportStatus[] = [];
  const hub = new SubscriptionHub(nc, { onStatus: (s) => statuses.push(s) });
  try {
    const got: string[] = [];
    hub.add("ari.event.>", undefined, () => {
      throw new Error("sink failed");
    });
    hub.add("ari.event.>", undefined, (e) => got.push(e.type));
    await nc.flush();
    nc.publish("ari.event.a.n", "not json");
    nc.publish("ari.event.a.n", event("StasisEnd"));
    await nc.flush();
    await waitFor(() => got.length === 1, { interval: 5 });
    assert.deepEqual(
      statuses.map((s) => s.type === "error" ? s.error.name : s.type),
      ["ProtocolError", "Error"],
    );
  } finally {
    hub.close();
    await nc.close();
  }
});

Deno.test("SubscriptionHub bounds pending events, dropping the oldest and reporting slowConsumer", async () => {
  await using nats = await startNats();
  const nc = await connect({ servers: nats.url });
  const pub = await connect({ servers: nats.url });
  const statuses: TransportStatus[] = [];
  const hub = new SubscriptionHub(nc, {
    maxPending: 5,
    onStatus: (s) => statuses.push(s),
  });
  try {
    let received = 0;
    hub.add("ari.event.>", undefined, () => {
      if (received++ === 0) {
        // A slow sink: block long enough for the burst to pile up.
        const until = Date.now() + 50;
        while (Date.now() < until) { /* busy */ }
      }
    });
    await nc.flush();
    const total = 2_000;
    for (let i = 0; i < total; i++) {
      pub.publish("ari.event.a.n", event("ChannelVarset", { seq: i }));
    }
    await pub.flush();
    await waitFor(() => received + hub.stats().dropped === total, {
      interval: 5,
      message: "every event delivered or counted as dropped",
    });
    const dropped = hub.stats().dropped;
    assert.ok(dropped > 0, "some events were dropped");
    const slow = statuses.filter((s) => s.type === "slowConsumer");
    assert.ok(slow.length >= 2, "reported when dropping starts and stops");
    const last = slow.at(-1)!;
    assert.equal(last.type === "slowConsumer" && last.dropped, dropped);
  } finally {
    hub.close();
    await pub.close();
    await nc.close();
  }
});

Deno.test("SubscriptionHub.close() unsubscribes everything and ignores later adds", async () => {
  await using nats = await startNats();
  const nc = await connect({ servers: nats.url, name: "hub-close" });
  const hub = new SubscriptionHub(nc);
  try {
    hub.add("ari.event.>", undefined, () => {});
    hub.add("ari.dialogevent.d1", undefined, () => {});
    await nc.flush();
    assert.equal(
      (await serverSubscriptions(nats.monitorUrl, "hub-close")).length,
      2,
    );
    hub.close();
    const stop = hub.add("ari.event.>", undefined, () => {});
    stop();
    await nc.flush();
    assert.deepEqual(
      await serverSubscriptions(nats.monitorUrl, "hub-close"),
      [],
    );
  } finally {
    await nc.close();
  }
});

Deno.test("SubscriptionHub rejects a bad maxPending", () => {
  assert.throws(
    () =>
      new SubscriptionHub({ subscribe: () => ({}) as never }, {
        maxPending: 0,
      }),
    RangeError,
  );
});
