/**
 * Faults under a running proxy: Asterisk killed and restarted (requests
 * answered `ARI connection is down` meanwhile, then served again, with a new
 * announcement), Asterisk restarted with another entity id (the proxy
 * re-registers under the new node), NATS and ARI unreachable at start-up,
 * start-up aborted, and the application taken over by another WebSocket.
 *
 * @module
 */

import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { randomEntityId, startAsterisk, startNats } from "./harness/mod.ts";
import { Collector, proxyOptions, rawRequest, until } from "./_server_util.ts";
import { startProxy } from "../lib/server.ts";

type Json = Record<string, unknown>;

const INFO = '{"kind":"AsteriskInfo","key":{}}';

function entityIdOf(reply: Json): string {
  const info = (reply.data as Json).asterisk as Json;
  return String((info.system as Json).entity_id);
}

async function isPending(promise: Promise<unknown>): Promise<boolean> {
  const marker = Symbol();
  const winner = await Promise.race([
    promise,
    new Promise((r) => setTimeout(() => r(marker), 50)),
  ]);
  return winner === marker;
}

Deno.test("startProxy() survives Asterisk being killed and restarted, also with a new entity id", async () => {
  // The proxy's application differs from the one the harness probes with, so
  // the harness's readiness WebSocket never takes the application over.
  const app = `ft${crypto.randomUUID().slice(0, 6)}`;
  await using nats = await startNats();
  await using ast = await startAsterisk({ allowExternal: false });
  const options = proxyOptions(ast, nats.url, { entityCheckInterval: 500 });
  options.ari.application = app;
  await using proxy = await startProxy(options);
  const nc = await connect({ servers: nats.url });
  try {
    const node1 = proxy.node()!;
    assert.equal(node1, ast.entityId);
    using announces = new Collector(nc, "ari.announce");
    await nc.flush();

    // Kill Asterisk: requests are refused with Go's text.
    await ast.kill();
    await until(() => !proxy.isAriConnected(), 10_000, "ARI down");
    for (
      const [subject, body] of [
        ["ari.data", INFO],
        [`ari.data.${app}.${node1}`, INFO],
        [
          "ari.create",
          '{"kind":"BridgeCreate","key":{},"bridge_create":{"type":"mixing"}}',
        ],
        ["ari.get", '{"kind":"GoldenNoSuchKind","key":{}}'],
      ] as const
    ) {
      const got = await rawRequest(nc, subject, body, { settle: 100 });
      assert.equal(got.texts.length, 1, subject);
      assert.equal(got.json[0]!.error, "ARI connection is down", subject);
    }
    // No announcement while ARI is down.
    nc.publish("ari.ping", '{"kind":"","key":null}');
    await nc.flush();
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(announces.messages.length, 0);
    assert.ok(await isPending(proxy.closed()), "the proxy stays open");

    // Restart: served again, and announced without waiting for a ping.
    await ast.restart();
    await until(() => proxy.isAriConnected(), 30_000, "ARI back");
    await announces.waitFor((ms) => ms.length >= 1, 5_000, "re-announcement");
    assert.deepEqual(announces.messages[0]!.json, {
      node: node1,
      asterisk: node1,
      application: app,
    });
    const back = await rawRequest(nc, `ari.data.${app}.${node1}`, INFO);
    assert.equal(back.json[0]!.error, "");
    assert.equal(entityIdOf(back.json[0]!), node1);

    // Restart with another entity id: re-registered under the new node.
    const node2 = randomEntityId();
    using events2 = new Collector(nc, `ari.event.${app}.${node2}`);
    await nc.flush();
    await ast.restart({ entityId: node2 });
    await until(() => proxy.node() === node2, 30_000, "new node id");
    await until(() => proxy.isAriConnected(), 30_000, "ARI back");
    await announces.waitFor(
      (ms) => ms.some((m) => (m.json as Json).node === node2),
      5_000,
      "announcement of the new node",
    );
    const direct = await rawRequest(nc, `ari.data.${app}.${node2}`, INFO);
    assert.equal(direct.json[0]!.error, "");
    assert.equal(entityIdOf(direct.json[0]!), node2);
    const old = await rawRequest(nc, `ari.data.${app}.${node1}`, INFO, {
      timeout: 500,
    });
    assert.equal(old.texts.length, 0, "the old node subject is dropped");
    // Events now flow on the new node's subject.
    const orig = await rawRequest(
      nc,
      `ari.create.${app}.${node2}`,
      JSON.stringify({
        kind: "ChannelOriginate",
        key: { app, node: node2 },
        channel_originate: {
          originate_request: { endpoint: "Local/100@default", app },
        },
      }),
    );
    assert.equal(orig.json[0]!.error, "");
    await events2.waitFor(
      (ms) => ms.some((m) => (m.json as Json).type === "StasisStart"),
      10_000,
      "StasisStart on the new node subject",
    );
    assert.equal(proxy.stats().entityChanges, 1);
    assert.ok(await isPending(proxy.closed()), "the proxy stays open");
    await rawRequest(
      nc,
      `ari.command.${app}.${node2}`,
      JSON.stringify({
        kind: "ChannelHangup",
        key: { kind: "channel", id: (orig.json[0]!.key as Json).id },
        channel_hangup: { reason: "normal" },
      }),
    );
  } finally {
    await nc.close();
  }
});

Deno.test("startProxy() waits for NATS and ARI that are down at start-up", async () => {
  await using nats = await startNats();
  await using ast = await startAsterisk({ allowExternal: false });
  await nats.nodes[0]!.stop();
  await ast.stop();
  const started = startProxy(proxyOptions(ast, nats.url));
  await new Promise((r) => setTimeout(r, 700));
  assert.ok(await isPending(started), "still waiting for NATS");
  await nats.nodes[0]!.restart();
  await new Promise((r) => setTimeout(r, 700));
  assert.ok(await isPending(started), "still waiting for ARI");
  await ast.restart();
  await using proxy = await started;
  assert.equal(proxy.node(), ast.entityId);
  const nc = await connect({ servers: nats.url });
  try {
    const got = await rawRequest(nc, "ari.data", INFO);
    assert.equal(got.json[0]!.error, "");
  } finally {
    await nc.close();
  }
});

Deno.test("startProxy() rejects with the abort reason when start-up is aborted", async () => {
  await using nats = await startNats();
  const controller = new AbortController();
  const started = startProxy({
    ari: {
      application: "never",
      username: "u",
      password: "p",
      httpUrl: "http://127.0.0.1:9/ari",
      websocketUrl: "ws://127.0.0.1:9/ari/events",
    },
    nats: { servers: [nats.url] },
    signal: controller.signal,
  });
  setTimeout(() => controller.abort(new Error("stop now")), 300);
  await assert.rejects(started, /stop now/);
});

Deno.test("startProxy() takes its application back when another WebSocket replaces it", async () => {
  await using nats = await startNats();
  await using ast = await startAsterisk({ allowExternal: false });
  const app = `rp${crypto.randomUUID().slice(0, 6)}`;
  const options = proxyOptions(ast, nats.url);
  options.ari.application = app;
  await using proxy = await startProxy(options);
  const node = proxy.node()!;
  const nc = await connect({ servers: nats.url });
  try {
    using events = new Collector(nc, `ari.event.${app}.${node}`);
    await nc.flush();
    // Another client registers the same application.
    const intruder = new WebSocket(`${ast.wsUrl}?app=${app}`, {
      headers: { authorization: ast.authorization },
    });
    const intruderEvents: string[] = [];
    intruder.onmessage = (ev) => intruderEvents.push(String(ev.data));
    await new Promise((resolve, reject) => {
      intruder.onopen = resolve;
      intruder.onerror = reject;
    });
    // Go drops ApplicationReplaced; we publish it, and re-register.
    await events.waitFor(
      (ms) => ms.some((m) => (m.json as Json).type === "ApplicationReplaced"),
      5_000,
      "ApplicationReplaced published",
    );
    await until(
      () => intruderEvents.some((e) => e.includes("ApplicationReplaced")),
      15_000,
      "the proxy to take its application back",
    );
    await until(() => proxy.isAriConnected(), 10_000, "ARI connected");
    const orig = await rawRequest(
      nc,
      `ari.create.${app}.${node}`,
      JSON.stringify({
        kind: "ChannelOriginate",
        key: { app, node },
        channel_originate: {
          originate_request: { endpoint: "Local/100@default", app },
        },
      }),
    );
    assert.equal(orig.json[0]!.error, "");
    await events.waitFor(
      (ms) => ms.some((m) => (m.json as Json).type === "StasisStart"),
      10_000,
      "events reach the proxy again",
    );
    const closed = new Promise((r) => intruder.onclose = r);
    intruder.close();
    await closed;
  } finally {
    await nc.close();
  }
});

Deno.test("startProxy() serves again after NATS restarts under it", async () => {
  await using nats = await startNats();
  await using ast = await startAsterisk({ allowExternal: false });
  await using proxy = await startProxy(proxyOptions(ast, nats.url));
  await nats.nodes[0]!.stop();
  await until(() => !proxy.stats().natsConnected, 10_000, "NATS down");
  await nats.nodes[0]!.restart();
  await until(() => proxy.stats().natsConnected, 15_000, "NATS back");
  const nc = await connect({ servers: nats.url });
  try {
    const got = await rawRequest(
      nc,
      `ari.data.${ast.app}.${proxy.node()}`,
      INFO,
    );
    assert.equal(got.json[0]!.error, "");
    using announces = new Collector(nc, "ari.announce");
    await nc.flush();
    nc.publish("ari.ping", "{}");
    await announces.waitFor((ms) => ms.length === 1, 5_000, "announcement");
  } finally {
    await nc.close();
  }
});
