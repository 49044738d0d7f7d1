import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import {
  type AsteriskInstance,
  freePort,
  startAsterisk,
  startNats,
  startNatsCluster,
  waitFor,
} from "./harness/mod.ts";

Deno.test("freePort() returns distinct bindable loopback ports", async () => {
  const a = await freePort();
  const b = await freePort();
  assert.notEqual(a, b);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: a });
  listener.close();
});

Deno.test("waitFor() returns the first truthy result and times out with the last error", async () => {
  let calls = 0;
  assert.equal(
    await waitFor(() => ++calls === 2 ? "yes" : null, { interval: 1 }),
    "yes",
  );
  await assert.rejects(
    waitFor(() => {
      throw new Error("not yet");
    }, { timeout: 5, interval: 1, message: "the moon" }),
    /Timed out after 5 ms waiting for the moon: last error: not yet/,
  );
});

Deno.test("startNats() names the missing nats-server binary and how to install it", async () => {
  await assert.rejects(
    startNats({ binary: "/nonexistent/nats-server" }),
    /nats-server not found on PATH .*apt-get install -y nats-server/,
  );
});

Deno.test("startNats() serves a request/reply round trip", async () => {
  await using nats = await startNats();
  assert.match(nats.url, /^nats:\/\/127\.0\.0\.1:\d+$/);
  assert.ok(nats.pid > 0);
  const nc = await connect({ servers: nats.url });
  try {
    const sub = nc.subscribe("harness.echo", {
      callback: (_error, msg) => {
        msg.respond(`echo:${msg.string()}`);
      },
    });
    const reply = await nc.request("harness.echo", "ping", { timeout: 5_000 });
    assert.equal(reply.string(), "echo:ping");
    sub.unsubscribe();
  } finally {
    await nc.close();
  }
});

Deno.test("startNatsCluster() routes a message from server 1 to a subscriber on server 3", async () => {
  await using cluster = await startNatsCluster(3);
  assert.equal(cluster.urls.length, 3);
  assert.equal(new Set(cluster.urls).size, 3);
  const nc1 = await connect({ servers: cluster.urls[0]! });
  const nc3 = await connect({ servers: cluster.urls[2]! });
  try {
    const sub = nc3.subscribe("harness.routed");
    await nc3.flush();
    const received = (async () => {
      for await (const msg of sub) return msg.string();
      return undefined;
    })();
    // Interest travels over the routes asynchronously: publish until it arrives.
    let delivered: string | undefined;
    received.then((text) => delivered = text);
    await waitFor(async () => {
      if (delivered !== undefined) return true;
      nc1.publish("harness.routed", "across routes");
      await nc1.flush();
      return false;
    }, {
      timeout: 10_000,
      interval: 50,
      message: "a routed message on server 3",
    });
    assert.equal(await received, "across routes");
    // Fault helper: one server can be stopped; the others keep running.
    await cluster.stopNode(1);
    assert.equal(cluster.nodes[1]!.running, false);
    assert.equal(cluster.nodes[0]!.running, true);
  } finally {
    await nc1.close();
    await nc3.close();
  }
});

interface AriEvent {
  type: string;
  channel?: { id: string };
  [key: string]: unknown;
}

/** Opens the events WebSocket of `ast` and collects its events. */
async function openEvents(ast: AsteriskInstance) {
  const events: AriEvent[] = [];
  const ws = new WebSocket(`${ast.wsUrl}?app=${encodeURIComponent(ast.app)}`, {
    headers: { authorization: ast.authorization },
  });
  const closed = new Promise<void>((resolve) => ws.onclose = () => resolve());
  ws.onmessage = (e) => events.push(JSON.parse(String(e.data)));
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error(`WebSocket to ${ast.wsUrl} failed`));
  });
  return {
    next(type: string, timeout = 10_000): Promise<AriEvent> {
      return waitFor(() => events.find((e) => e.type === type), {
        timeout,
        interval: 20,
        message: `event ${type} from ${ast.entityId}`,
      });
    },
    async close() {
      ws.close();
      await closed;
    },
  };
}

async function ari(
  ast: AsteriskInstance,
  method: string,
  path: string,
): Promise<unknown> {
  const response = await fetch(`${ast.httpUrl}${path}`, {
    method,
    headers: { authorization: ast.authorization },
  });
  const text = await response.text();
  assert.ok(
    response.ok,
    `${method} ${path} answered ${response.status}: ${text}`,
  );
  return text ? JSON.parse(text) : undefined;
}

async function assertStasisStart(ast: AsteriskInstance): Promise<void> {
  const events = await openEvents(ast);
  try {
    const channel = await ari(
      ast,
      "POST",
      `/channels?endpoint=${encodeURIComponent("Local/100@default")}&app=${
        encodeURIComponent(ast.app)
      }`,
    ) as { id: string };
    const start = await events.next("StasisStart");
    assert.equal(start.channel?.id, channel.id);
    assert.equal(start.asterisk_id, ast.entityId);
    await ari(ast, "DELETE", `/channels/${encodeURIComponent(channel.id)}`);
    await events.next("StasisEnd");
  } finally {
    await events.close();
  }
}

Deno.test("startNats({ jetstream }) is ready for a stream at once", async () => {
  await using single = await startNats({ jetstream: true });
  const nc = await connect({ servers: single.url });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "H1", subjects: ["h1.>"] });
    const ack = await jetstream(nc).publish("h1.x", "one");
    assert.equal(ack.stream, "H1");
    assert.equal(ack.seq, 1);
  } finally {
    await nc.close();
  }
});

Deno.test("startNatsCluster(3, { jetstream }) keeps a replicated stream writable with one server killed", async () => {
  await using cluster = await startNatsCluster(3, { jetstream: true });
  const nc = await connect({ servers: cluster.urls });
  try {
    const jsm = await jetstreamManager(nc);
    // Readiness means a meta leader exists: no retry needed to create.
    const info = await jsm.streams.add({
      name: "H3",
      subjects: ["h3.>"],
      num_replicas: 3,
    });
    assert.equal(info.config.num_replicas, 3);
    const js = jetstream(nc);
    assert.equal((await js.publish("h3.x", "before")).seq, 1);
    const victim = cluster.nodes.find((node) =>
      !nc.getServer().endsWith(`:${node.port}`)
    )!;
    await victim.kill();
    // The two others still form a quorum; a new stream leader may need a
    // moment to be elected, so publish until one is stored.
    let stored = 0;
    await waitFor(async () => {
      try {
        stored = (await js.publish("h3.x", "after", { timeout: 1_000 })).seq;
        return true;
      } catch {
        return false;
      }
    }, { timeout: 20_000, interval: 100, message: "a publish after the kill" });
    assert.ok(stored >= 2);
    await victim.restart();
    assert.equal(victim.running, true);
  } finally {
    await nc.close();
  }
});

Deno.test("startAsterisk() runs two instances with distinct entity ids that deliver StasisStart", async () => {
  const [a, b] = await Promise.all([
    startAsterisk({
      entityId: "02:00:00:00:0a:01",
      app: "harness-a",
      allowExternal: false,
    }),
    startAsterisk({
      entityId: "02:00:00:00:0b:02",
      app: "harness-b",
      allowExternal: false,
    }),
  ]);
  await using _a = a;
  await using _b = b;
  assert.notEqual(a.port, b.port);
  assert.match(a.httpUrl, /^http:\/\/127\.0\.0\.1:\d+\/ari$/);
  for (const ast of [a, b]) {
    const info = await ari(ast, "GET", "/asterisk/info") as {
      system: { entity_id: string };
    };
    assert.equal(info.system.entity_id, ast.entityId);
  }
  await Promise.all([assertStasisStart(a), assertStasisStart(b)]);
});

Deno.test("startAsterisk() instances survive kill() and restart() with a new entity id", async () => {
  await using ast = await startAsterisk({
    app: "harness-r",
    allowExternal: false,
  });
  const port = ast.port;
  const pid = ast.pid;
  await ast.kill();
  assert.equal(ast.running, false);
  await assert.rejects(fetch(`${ast.httpUrl}/asterisk/info`));
  await ast.restart({ entityId: "02:00:00:00:0c:03" });
  assert.equal(ast.port, port);
  assert.notEqual(ast.pid, pid);
  const info = await ari(ast, "GET", "/asterisk/info") as {
    system: { entity_id: string };
  };
  assert.equal(info.system.entity_id, "02:00:00:00:0c:03");
  await assertStasisStart(ast);
});
