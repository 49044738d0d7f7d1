/**
 * Two proxies on two Asterisk nodes sharing one NATS: `create` goes to
 * exactly one (queue group `ariproxy`), `get`/`data`/`command` reach both,
 * a ping yields one announcement per proxy, direct subjects reach one.
 *
 * @module
 */

import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { startAsterisk, startNats } from "./harness/mod.ts";
import { Collector, proxyOptions, rawRequest } from "./_server_util.ts";
import { startProxy } from "../lib/server.ts";

type Json = Record<string, unknown>;

function entityIdOf(reply: Json): string {
  const info = (reply.data as Json).asterisk as Json;
  return String((info.system as Json).entity_id);
}

Deno.test("startProxy() in a two-node cluster: create once, broadcasts to both, two announcements", async () => {
  const app = `cl${crypto.randomUUID().slice(0, 6)}`;
  await using nats = await startNats();
  const [astA, astB] = await Promise.all([
    startAsterisk({ app, allowExternal: false }),
    startAsterisk({ app, allowExternal: false }),
  ]);
  await using _a = astA;
  await using _b = astB;
  await using proxyA = await startProxy(proxyOptions(astA, nats.url));
  await using proxyB = await startProxy(proxyOptions(astB, nats.url));
  const nc = await connect({ servers: nats.url });
  try {
    const nodes = new Set([astA.entityId, astB.entityId]);
    assert.equal(nodes.size, 2);
    assert.deepEqual(new Set([proxyA.node(), proxyB.node()]), nodes);

    // create: exactly one answer each time; both members take some.
    const answeredBy = new Map<string, number>();
    for (let i = 0; i < 12; i++) {
      const got = await rawRequest(
        nc,
        i % 2 === 0 ? "ari.create" : `ari.create.${app}`,
        '{"kind":"AsteriskInfo","key":{}}',
        { expect: 2, timeout: 250 },
      );
      assert.equal(got.texts.length, 1, `create #${i}: ${got.texts}`);
      const node = entityIdOf(got.json[0]!);
      answeredBy.set(node, (answeredBy.get(node) ?? 0) + 1);
    }
    assert.deepEqual(new Set(answeredBy.keys()), nodes, "queue group spreads");

    // A real create through the queue group: one channel on one node.
    const orig = await rawRequest(
      nc,
      "ari.create",
      JSON.stringify({
        kind: "ChannelOriginate",
        key: {},
        channel_originate: {
          originate_request: { endpoint: "Local/100@default", app },
        },
      }),
      { expect: 2, timeout: 1_000 },
    );
    assert.equal(orig.texts.length, 1);
    const key = orig.json[0]!.key as Json;
    assert.ok(nodes.has(String(key.node)));

    // Broadcasts: every proxy answers, once.
    for (
      const [subject, body] of [
        ["ari.data", '{"kind":"AsteriskInfo","key":{}}'],
        [
          `ari.data.${app}`,
          '{"kind":"AsteriskInfo","key":{"app":"' + app + '"}}',
        ],
        ["ari.get", '{"kind":"AsteriskModuleList","key":{}}'],
        [
          "ari.command",
          '{"kind":"AsteriskVariableSet","key":{"kind":"variable","id":"CLUSTER_X"},"asterisk_variable_set":{"value":"1"}}',
        ],
      ] as const
    ) {
      const got = await rawRequest(nc, subject, body, {
        expect: 2,
        settle: 300,
        timeout: 5_000,
      });
      assert.equal(got.texts.length, 2, `${subject}: ${got.texts}`);
      for (const reply of got.json) assert.equal(reply.error, "", subject);
      if (body.includes("AsteriskInfo")) {
        assert.deepEqual(new Set(got.json.map(entityIdOf)), nodes);
      }
      if (body.includes("ModuleList")) {
        assert.deepEqual(
          new Set(got.json.map((r) => ((r.keys as Json[])[0]!).node)),
          nodes,
        );
      }
    }

    // The channel list of both nodes: the originated channel is on one.
    const lists = await rawRequest(
      nc,
      "ari.get",
      '{"kind":"ChannelList","key":{}}',
      {
        expect: 2,
        settle: 200,
      },
    );
    assert.equal(lists.texts.length, 2);
    const channelNodes = lists.json.flatMap((r) =>
      ((r.keys as Json[] | undefined) ?? []).map((k) => String(k.node))
    );
    assert.ok(channelNodes.includes(String(key.node)));

    // Direct subject: only that node.
    for (const node of nodes) {
      const got = await rawRequest(
        nc,
        `ari.data.${app}.${node}`,
        `{"kind":"AsteriskInfo","key":{"app":"${app}","node":"${node}"}}`,
        { expect: 2, timeout: 400 },
      );
      assert.equal(got.texts.length, 1);
      assert.equal(entityIdOf(got.json[0]!), node);
    }

    // Ping: one announcement per proxy, naming node and application.
    using announces = new Collector(nc, "ari.announce");
    await nc.flush();
    nc.publish("ari.ping", '{"kind":"","key":null}');
    await announces.waitFor((ms) => ms.length >= 2, 5_000, "2 announcements");
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(announces.messages.length, 2);
    const announced = announces.messages.map((m) => m.json as Json);
    assert.deepEqual(new Set(announced.map((a) => a.node)), nodes);
    for (const a of announced) {
      assert.equal(a.application, app);
      assert.equal(a.asterisk, a.node);
    }

    await rawRequest(
      nc,
      "ari.command",
      JSON.stringify({
        kind: "ChannelHangup",
        key: { kind: "channel", id: key.id },
        channel_hangup: { reason: "normal" },
      }),
      { expect: 2, settle: 100, timeout: 2_000 },
    );
  } finally {
    await nc.close();
  }
});
