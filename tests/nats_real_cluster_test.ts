/**
 * The NATS transport against real proxies (lib/server.ts) in front of two
 * real Asterisk nodes, on a 3-server NATS cluster. The client talks to
 * server 1; the proxies sit on servers 2 and 3.
 */
import assert from "node:assert/strict";
import { startAsterisk, startNatsCluster, waitFor } from "./harness/mod.ts";
import { startProxy } from "../lib/server.ts";
import { createNatsTransport } from "../client/nats/transport.ts";
import type { MemberChange } from "../client/nats/cluster.ts";
import type { Key, Request } from "../client/protocol/types.ts";

const APP = "natscluster";
const TIMEOUT = 10_000;

function originate(key: Key | null, channelId: string): Request {
  return {
    kind: "ChannelOriginate",
    key,
    channel_originate: {
      originate_request: {
        endpoint: "Local/100@default",
        context: "default",
        extension: "echo",
        priority: 1,
        channelId,
      },
    },
  };
}

Deno.test("createNatsTransport() drives two Asterisk nodes through two proxies on a 3-server NATS cluster", async () => {
  await using nats = await startNatsCluster(3);
  const [ast1, ast2] = await Promise.all([
    startAsterisk({ app: APP }),
    startAsterisk({ app: APP }),
  ]);
  await using _ast1 = ast1;
  await using _ast2 = ast2;
  const proxyFor = (ast: typeof ast1, url: string) =>
    startProxy({
      ari: {
        application: APP,
        username: ast.username,
        password: ast.password,
        httpUrl: ast.httpUrl,
        websocketUrl: ast.wsUrl,
      },
      nats: { servers: [url] },
      announceInterval: 250,
    });
  await using proxy1 = await proxyFor(ast1, nats.urls[1]!);
  const proxy2 = await proxyFor(ast2, nats.urls[2]!);
  try {
    await using transport = await createNatsTransport({
      servers: nats.urls[0]!,
      application: APP,
      timeout: TIMEOUT,
      clusterMaxAge: 1_500,
    });
    await waitFor(() => transport.members().length === 2, {
      interval: 10,
      message: "both proxies announced",
    });
    assert.deepEqual(
      transport.members().map((m) => m.node).sort(),
      [proxy1.node(), proxy2.node()].sort(),
    );
    assert.equal(proxy1.node(), ast1.entityId);

    // A channel on each node (direct), and one originated without a node.
    for (const ast of [ast1, ast2]) {
      const created = await transport.request(
        originate({ app: APP, node: ast.entityId }, `direct-${ast.port}`),
      );
      assert.equal(created.error, "", created.error);
      assert.equal(created.key?.node, ast.entityId);
    }
    const anywhere = await transport.request(originate(null, "anywhere-1"));
    assert.equal(anywhere.error, "", anywhere.error);
    const landed = anywhere.key!.node!;
    assert.ok([ast1.entityId, ast2.entityId].includes(landed));
    // The handle's key names app and node: it now routes direct.
    const data = await transport.request({
      kind: "ChannelData",
      key: anywhere.key!,
    });
    assert.equal(data.error, "", data.error);
    assert.equal(data.data?.channel?.id, "anywhere-1");

    // The list spans both nodes, and returns far below the timeout.
    const start = performance.now();
    const list = await transport.request({ kind: "ChannelList", key: null });
    const took = performance.now() - start;
    assert.ok(took < TIMEOUT / 5, `list took ${took} ms`);
    const ids = (node: string) =>
      (list.keys ?? []).filter((k) => k.node === node).map((k) => k.id);
    assert.ok(ids(ast1.entityId).includes(`direct-${ast1.port}`));
    assert.ok(ids(ast2.entityId).includes(`direct-${ast2.port}`));
    const copies = (list.keys ?? []).filter((k) => k.id === "anywhere-1");
    assert.deepEqual(copies.map((k) => k.node), [landed]);

    // Proxy 2 stops: it leaves after clusterMaxAge; lists keep working.
    const changes = transport.memberChanges()[Symbol.asyncIterator]();
    await proxy2.close();
    let left: MemberChange | undefined;
    while (!left) {
      const next = await changes.next();
      if (next.done) break;
      if (next.value.type === "leave") left = next.value;
    }
    await changes.return?.();
    assert.equal(left?.member.node, ast2.entityId);
    assert.deepEqual(transport.members().map((m) => m.node), [ast1.entityId]);
    const afterStart = performance.now();
    const after = await transport.request({ kind: "ChannelList", key: null });
    const afterTook = performance.now() - afterStart;
    assert.ok(afterTook < TIMEOUT / 5, `list after leave took ${afterTook} ms`);
    assert.ok(after.keys?.some((k) => k.id === `direct-${ast1.port}`));
    assert.ok(after.keys?.every((k) => k.node === ast1.entityId));
  } finally {
    await proxy2.close();
  }
});
