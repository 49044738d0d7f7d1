// deno-lint-ignore-file camelcase -- ARI event field names
import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import {
  type NatsServer,
  startNats,
  waitFor,
} from "../../tests/harness/mod.ts";
import {
  ClosedConnectionError,
  ConnectionError,
  TimeoutError,
} from "../errors.ts";
import type { ProxiedEvent } from "../protocol/types.ts";
import type { TransportStatus } from "../transport.ts";
import type { MemberChange } from "./cluster.ts";
import {
  createNatsTransport,
  type NatsAriTransport,
  type NatsTransportOptions,
} from "./transport.ts";
import { FakeClock } from "./testdata/fake_clock.ts";
import {
  channelKeys,
  type FakeProxy,
  type FakeProxyOptions,
  startFakeProxy,
} from "./testdata/fake_proxy.ts";
import { serverSubscriptions } from "./testdata/monitor.ts";

const APP = "app";
const CLIENT = "transport-client";

interface Env extends AsyncDisposable {
  nats: NatsServer;
  proxies: FakeProxy[];
  transport: NatsAriTransport;
}

type ProxySpec = Partial<Omit<FakeProxyOptions, "url">> & { node: string };

async function setup(
  specs: ProxySpec[],
  options?: NatsTransportOptions,
): Promise<Env> {
  const nats = await startNats();
  const proxies: FakeProxy[] = [];
  try {
    for (const spec of specs) {
      proxies.push(await startFakeProxy({ app: APP, ...spec, url: nats.url }));
    }
    const transport = await createNatsTransport({
      servers: nats.url,
      name: CLIENT,
      application: APP,
      ...options,
    });
    await waitFor(() => transport.members().length === specs.length, {
      interval: 5,
      message: `${specs.length} members`,
    });
    return {
      nats,
      proxies,
      transport,
      async [Symbol.asyncDispose]() {
        await transport.close();
        for (const proxy of proxies) await proxy.close();
        await nats.close();
      },
    };
  } catch (error) {
    for (const proxy of proxies) await proxy.close();
    await nats.close();
    throw error;
  }
}

function elapsed(start: number): number {
  return performance.now() - start;
}

Deno.test("createNatsTransport() pings at start and learns members from announcements", async () => {
  await using env = await setup([
    { node: "n1" },
    { node: "n2", announceField: "asterisk" },
  ]);
  assert.deepEqual(
    env.transport.members().map((m) => `${m.node}/${m.application}`),
    ["n1/app", "n2/app"],
  );
  assert.deepEqual(env.transport.nodes(), [
    { node: "n1", app: APP },
    { node: "n2", app: APP },
  ]);
  assert.equal(env.transport.kind, "nats");
  assert.equal(env.transport.application, APP);
  assert.equal(env.transport.prefix, "ari.");
  assert.equal(env.transport.isConnected(), true);
});

Deno.test("createNatsTransport() waits for the first announcement before returning", async () => {
  await using nats = await startNats();
  await using _proxy = await startFakeProxy({
    url: nats.url,
    node: "n1",
    app: APP,
  });
  await using transport = await createNatsTransport({
    servers: nats.url,
    discoveryWait: 5_000,
  });
  assert.equal(transport.members().length, 1);
});

Deno.test("request() sends a complete key direct and broadcasts other keys like Go", async () => {
  await using env = await setup([
    { node: "n1", handler: () => ({ error: "" }) },
    { node: "n2", handler: () => ({ error: "" }) },
  ]);
  const [p1, p2] = env.proxies as [FakeProxy, FakeProxy];
  await env.transport.request({
    kind: "ChannelAnswer",
    key: { kind: "channel", id: "c1", node: "n1", app: APP },
  });
  assert.equal(p1.requests.length, 1);
  assert.equal(p2.requests.length, 0);
  assert.equal(p1.requests[0]!.subject, "ari.command.app.n1");
  assert.match(p1.requests[0]!.reply, /^_INBOX\./);
  assert.equal(
    p1.requests[0]!.raw,
    '{"kind":"ChannelAnswer","key":{"kind":"channel","id":"c1","node":"n1","app":"app"}}',
  );

  await env.transport.request({ kind: "ChannelList", key: null });
  assert.equal(p1.requests[1]!.subject, "ari.get");
  assert.equal(p2.requests[0]!.subject, "ari.get");
  assert.equal(p1.requests[1]!.raw, '{"kind":"ChannelList","key":{}}');

  await env.transport.request({ kind: "BridgeList", key: { app: APP } });
  assert.equal(p2.requests[1]!.subject, "ari.get.app");
});

Deno.test("request() aggregates a list as soon as every known member answered", async () => {
  const timeout = 10_000;
  await using env = await setup([
    { node: "n1", handler: (_r, p) => channelKeys(p, "a1", "a2") },
    { node: "n2", handler: (_r, p) => channelKeys(p, "b1") },
    { node: "n3", handler: (_r, p) => channelKeys(p) },
  ], { timeout });
  const start = performance.now();
  const response = await env.transport.request({
    kind: "ChannelList",
    key: null,
  });
  const took = elapsed(start);
  assert.ok(took < timeout / 5, `list took ${took} ms`);
  assert.equal(response.error, "");
  assert.deepEqual(
    response.keys?.map((k) => `${k.node}/${k.id}`).sort(),
    ["n1/a1", "n1/a2", "n2/b1"],
  );
});

Deno.test("request() returns the list at the timeout when a known member stays silent", async () => {
  await using env = await setup([
    { node: "n1", handler: (_r, p) => channelKeys(p, "a1") },
    { node: "n2", handler: () => null },
  ], { retries: 0 });
  const start = performance.now();
  const response = await env.transport.request(
    { kind: "ChannelList", key: null },
    { timeout: 300 },
  );
  assert.ok(elapsed(start) >= 250);
  assert.deepEqual(response.keys?.map((k) => k.id), ["a1"]);
});

Deno.test("request() lets the first good reply win and returns the last error when all fail", async () => {
  const timeout = 10_000;
  await using env = await setup([
    {
      node: "n1",
      handler: () => ({ error: "Channel not found", status: 404 }),
    },
    {
      node: "n2",
      handler: async (r) => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        return r.body.kind === "ChannelData"
          ? { error: "", data: { variable: "from-n2" } }
          : { error: "n2 failed too" };
      },
    },
  ], { timeout });
  const good = await env.transport.request({
    kind: "ChannelData",
    key: { kind: "channel", id: "c1" },
  });
  assert.deepEqual(good, { error: "", data: { variable: "from-n2" } });

  const start = performance.now();
  const bad = await env.transport.request({
    kind: "ChannelAnswer",
    key: { kind: "channel", id: "c1" },
  });
  assert.ok(elapsed(start) < timeout / 5);
  assert.equal(bad.error, "n2 failed too");
});

Deno.test("request() sends create broadcasts to the queue group and awaits one reply", async () => {
  const timeout = 10_000;
  await using env = await setup([
    { node: "n1", handler: () => ({ error: "Allocation failed" }) },
    { node: "n2", handler: () => ({ error: "Allocation failed" }) },
  ], { timeout });
  const start = performance.now();
  const response = await env.transport.request({
    kind: "ChannelOriginate",
    key: null,
    channel_originate: { originate_request: { endpoint: "Local/100@default" } },
  });
  assert.ok(
    elapsed(start) < timeout / 5,
    "an error from the one answering proxy ends the wait",
  );
  assert.equal(response.error, "Allocation failed");
  const seen = env.proxies.flatMap((p) => p.requests);
  assert.equal(seen.length, 1);
  assert.equal(seen[0]!.subject, "ari.create");
});

Deno.test("request() retries idempotent kinds after a timeout, never commands", async () => {
  let dataCalls = 0;
  await using env = await setup([
    {
      node: "n1",
      handler: (r) => {
        if (r.body.kind === "ChannelData") {
          return ++dataCalls === 1
            ? null
            : { error: "", data: { variable: "x" } };
        }
        return null;
      },
    },
  ], { timeout: 200, retries: 1 });
  const response = await env.transport.request({
    kind: "ChannelData",
    key: { kind: "channel", id: "c1", app: APP, node: "n1" },
  });
  assert.deepEqual(response.data, { variable: "x" });
  assert.equal(dataCalls, 2);

  await assert.rejects(
    env.transport.request({
      kind: "ChannelHangup",
      key: { kind: "channel", id: "c1", app: APP, node: "n1" },
      channel_hangup: { reason: "normal" },
    }),
    TimeoutError,
  );
  assert.equal(
    env.proxies[0]!.requests.filter((r) => r.body.kind === "ChannelHangup")
      .length,
    1,
  );
  assert.equal(env.transport.stats().timeouts, 2);
});

Deno.test("request() rejects with TimeoutError naming the kind", async () => {
  await using env = await setup([{ node: "n1", handler: () => null }], {
    retries: 0,
  });
  const error = await env.transport.request(
    {
      kind: "ChannelAnswer",
      key: { kind: "channel", id: "c", app: APP, node: "n1" },
    },
    { timeout: 150 },
  ).then(() => undefined, (e) => e);
  assert.ok(error instanceof TimeoutError);
  assert.equal(error.operation, "ChannelAnswer");
  assert.equal(error.timeout, 150);
});

Deno.test("request() fails fast with ConnectionError when no proxy serves the subject", async () => {
  const timeout = 10_000;
  await using env = await setup([{ node: "n1" }], { timeout });
  const start = performance.now();
  const error = await env.transport.request({
    kind: "ChannelData",
    key: { kind: "channel", id: "c", app: APP, node: "nowhere" },
  }).then(() => undefined, (e) => e);
  assert.ok(error instanceof ConnectionError, String(error));
  assert.equal(error.target, "ari.data.app.nowhere");
  await assert.rejects(
    env.transport.request({ kind: "ChannelList", key: { app: "other" } }),
    ConnectionError,
  );
  assert.ok(elapsed(start) < timeout / 5);
});

Deno.test("request() returns Not implemented for an extension kind from a Go-like proxy promptly", async () => {
  const timeout = 10_000;
  // Default fake handler: {"error":"Not implemented"} for every kind, like Go for unknown kinds.
  await using env = await setup([{ node: "n1" }, { node: "n2" }], { timeout });
  const start = performance.now();
  const broadcast = await env.transport.request({
    kind: "ChannelMove",
    key: { kind: "channel", id: "c1" },
    channel_move: { app: "other" },
  });
  const direct = await env.transport.request({
    kind: "ChannelRTPStatistics",
    key: { kind: "channel", id: "c1", app: APP, node: "n2" },
  });
  assert.ok(elapsed(start) < timeout / 5);
  assert.deepEqual(broadcast, { error: "Not implemented" });
  assert.deepEqual(direct, { error: "Not implemented" });
});

Deno.test("request() parses Go-shaped responses", async () => {
  const golden =
    '{"error":"","data":{"channel":{"key":{"kind":"channel","id":"golden-chan-a","node":"02:00:00:00:60:0d","app":"golden"},"id":"golden-chan-a","name":"Local/echo@default-00000000;1","state":"Up","accountcode":"","caller":{"name":"Golden","number":"100"},"connected":{"name":"Golden","number":"100"},"creationtime":"2026-11-26T10:31:55.899+0000","dialplan":{"context":"default","exten":"echo","priority":1},"channelvars":null}}}';
  await using env = await setup([{
    node: "n1",
    handler: (r) =>
      r.body.kind === "ChannelData"
        ? golden
        : '{"error":"","key":null,"keys":null}',
  }]);
  const data = await env.transport.request({
    kind: "ChannelData",
    key: { kind: "channel", id: "golden-chan-a" },
  });
  assert.equal(data.data?.channel?.id, "golden-chan-a");
  assert.equal(data.data?.channel?.key?.node, "02:00:00:00:60:0d");
  const list = await env.transport.request({ kind: "ChannelList", key: null });
  assert.deepEqual(list, { error: "", keys: [] });
});

Deno.test("request() honours an abort signal", async () => {
  await using env = await setup([{ node: "n1", handler: () => null }]);
  const controller = new AbortController();
  const pending = env.transport.request(
    { kind: "ChannelList", key: null },
    { signal: controller.signal, timeout: 10_000 },
  );
  controller.abort(new Error("stop"));
  await assert.rejects(pending, /stop/);
});

Deno.test("subscribe() shares one NATS subscription per subject across sinks and children", async () => {
  await using env = await setup([{ node: "n1" }]);
  const { transport, nats } = env;
  const proxy = env.proxies[0]!;
  const got = { a: 0, b: 0, child: 0 };
  transport.subscribe({ app: APP }, () => got.a++);
  transport.subscribe({ app: APP }, () => got.b++);
  const child = transport.child();
  child.subscribe({ app: APP }, () => got.child++);
  await transport.connection.flush();
  assert.deepEqual(await serverSubscriptions(nats.monitorUrl, CLIENT), [
    "ari.announce",
    "ari.event.app.>",
  ]);

  proxy.publish("ari.event.app.n1", {
    type: "StasisStart",
    application: APP,
    asterisk_id: "n1",
  });
  await proxy.flush();
  await waitFor(() => got.a + got.b + got.child === 3, { interval: 5 });

  await child.close();
  proxy.publish("ari.event.app.n1", {
    type: "StasisEnd",
    application: APP,
    asterisk_id: "n1",
  });
  await proxy.flush();
  await waitFor(() => got.a === 2 && got.b === 2, { interval: 5 });
  assert.equal(got.child, 1);
  assert.equal(transport.stats().subscriptions, 1);

  const dialogChild = transport.child({ dialog: "d1" });
  dialogChild.subscribe({}, () => {});
  await transport.connection.flush();
  assert.deepEqual(await serverSubscriptions(nats.monitorUrl, CLIENT), [
    "ari.announce",
    "ari.dialogevent.d1",
    "ari.event.app.>",
  ]);
  await dialogChild.close();
  await transport.connection.flush();
  assert.deepEqual(await serverSubscriptions(nats.monitorUrl, CLIENT), [
    "ari.announce",
    "ari.event.app.>",
  ]);
});

Deno.test("child() with a dialog stamps it on every key and scopes events to the dialog", async () => {
  await using env = await setup([{
    node: "n1",
    handler: () => ({ error: "" }),
  }]);
  const proxy = env.proxies[0]!;
  await using dialog = env.transport.child({ dialog: "d1" });
  assert.equal(dialog.dialog, "d1");
  await dialog.request({
    kind: "ChannelAnswer",
    key: { kind: "channel", id: "c1", app: APP, node: "n1" },
  });
  await dialog.request({ kind: "ChannelList", key: null });
  await dialog.request({
    kind: "ChannelAnswer",
    key: { kind: "channel", id: "c2", dialog: "own" },
  });
  assert.deepEqual(proxy.requests.map((r) => r.body.key), [
    { kind: "channel", id: "c1", node: "n1", dialog: "d1", app: APP },
    { dialog: "d1" },
    { kind: "channel", id: "c2", dialog: "own" },
  ]);

  const inDialog: ProxiedEvent[] = [];
  const otherApp: ProxiedEvent[] = [];
  dialog.subscribe({}, (e) => inDialog.push(e));
  dialog.subscribe({ app: "other" }, (e) => otherApp.push(e));
  await dialog.connection.flush();
  const base = { application: APP, asterisk_id: "n1" };
  proxy.publish("ari.event.app.n1", { ...base, type: "ChannelDtmfReceived" });
  proxy.publish("ari.dialogevent.d2", {
    ...base,
    type: "ChannelHangupRequest",
    dialog: "d2",
  });
  proxy.publish("ari.dialogevent.d1", {
    ...base,
    type: "ChannelStateChange",
    dialog: "d1",
  });
  await proxy.flush();
  await waitFor(() => inDialog.length === 1, { interval: 5 });
  await dialog.connection.flush();
  assert.deepEqual(inDialog.map((e) => [e.type, e.dialog]), [[
    "ChannelStateChange",
    "d1",
  ]]);
  assert.deepEqual(otherApp, []);
});

Deno.test("close() closes children and the owned connection; a shared connection stays open", async () => {
  await using nats = await startNats();
  await using _proxy = await startFakeProxy({
    url: nats.url,
    node: "n1",
    app: APP,
    handler: () => null,
  });
  const nc = await connect({ servers: nats.url });
  try {
    const shared = await createNatsTransport({
      connection: nc,
      discoveryWait: 0,
    });
    const child = shared.child();
    const statuses: TransportStatus[] = [];
    const watching = (async () => {
      for await (const s of child.status()) statuses.push(s);
    })();
    const inflight = child.request(
      { kind: "ChannelList", key: null },
      { timeout: 10_000 },
    );
    await shared.close();
    await assert.rejects(inflight, ClosedConnectionError);
    await watching;
    assert.deepEqual(statuses, [{ type: "closed" }]);
    assert.equal(child.isClosed(), true);
    assert.equal(await shared.closed(), undefined);
    assert.equal(shared.isConnected(), false);
    assert.equal(nc.isClosed(), false);
    await assert.rejects(
      shared.request({ kind: "ChannelList", key: null }),
      ClosedConnectionError,
    );
    await shared.close(); // idempotent
  } finally {
    await nc.close();
  }

  const owned = await createNatsTransport({
    servers: nats.url,
    discoveryWait: 0,
  });
  await owned[Symbol.asyncDispose]();
  assert.equal(owned.connection.isClosed(), true);
});

Deno.test("createNatsTransport() rejects conflicting or invalid options", async () => {
  await using nats = await startNats();
  const nc = await connect({ servers: nats.url });
  try {
    await assert.rejects(
      createNatsTransport({ connection: nc, servers: nats.url }),
      TypeError,
    );
    await assert.rejects(
      createNatsTransport({ connection: nc, user: "u" }),
      /mutually exclusive/,
    );
    await assert.rejects(
      createNatsTransport({ connection: nc, timeout: 0 }),
      RangeError,
    );
    await assert.rejects(
      createNatsTransport({ connection: nc, retries: -1 }),
      RangeError,
    );
    await assert.rejects(
      createNatsTransport({ connection: nc, dialog: "a.b" }),
      TypeError,
    );
  } finally {
    await nc.close();
  }
  await assert.rejects(
    createNatsTransport({
      servers: "nats://127.0.0.1:1",
      connectOptions: { timeout: 500 },
    }),
    ConnectionError,
  );
});

Deno.test("memberChanges() reports joins and expiry driven by the clock", async () => {
  const clock = new FakeClock();
  await using env = await setup([{ node: "n1" }, { node: "n2" }], {
    clock,
    clusterMaxAge: 60_000,
  });
  const changes = env.transport.memberChanges()[Symbol.asyncIterator]();
  clock.advance(30_000);
  env.proxies[1]!.announce(); // n2 stays fresh
  await env.proxies[1]!.flush();
  await waitFor(
    () =>
      env.transport.members().find((m) => m.node === "n2")!.lastSeen ===
        clock.now(),
    { interval: 5 },
  );
  clock.advance(30_000);
  assert.deepEqual(env.transport.members().map((m) => m.node), ["n2"]);
  clock.advance(30_000);
  assert.deepEqual(env.transport.members(), []);
  env.proxies[0]!.announce();
  await waitFor(() => env.transport.members().length === 1, { interval: 5 });
  const seen: MemberChange[] = [];
  for (let i = 0; i < 3; i++) seen.push((await changes.next()).value);
  assert.deepEqual(seen.map((c) => `${c.type}:${c.member.node}`), [
    "leave:n1",
    "leave:n2",
    "join:n1",
  ]);
});

Deno.test("request() stops waiting for a member that missed a liveness probe", async () => {
  const clock = new FakeClock();
  await using env = await setup([
    { node: "n1", handler: (_r, p) => channelKeys(p, "a1") },
    { node: "n2", handler: (_r, p) => channelKeys(p, "b1") },
  ], { clock, probeWindow: 1_000, retries: 0 });
  const [p1, p2] = env.proxies as [FakeProxy, FakeProxy];
  await p2.close(); // dies silently: still a member until it expires
  clock.advance(1);
  const before = p1.requests.length;
  const partial = await env.transport.request(
    { kind: "ChannelList", key: null },
    { timeout: 300 },
  );
  assert.deepEqual(partial.keys?.map((k) => k.id), ["a1"]);
  assert.equal(p1.requests.length, before + 1);
  // The shortfall sent a probe; n1 answers it, n2 cannot.
  await waitFor(
    () =>
      env.transport.members().find((m) => m.node === "n1")!.lastSeen ===
        clock.now(),
    { interval: 5 },
  );
  clock.advance(1_000);
  assert.deepEqual(
    env.transport.members().map((m) => [m.node, m.unresponsive]),
    [["n1", false], ["n2", true]],
  );
  const timeout = 10_000;
  const start = performance.now();
  const fast = await env.transport.request(
    { kind: "ChannelList", key: null },
    { timeout },
  );
  assert.ok(elapsed(start) < timeout / 5);
  assert.deepEqual(fast.keys?.map((k) => k.id), ["a1"]);
});

Deno.test("status() reports disconnect, reconnecting and connected", async () => {
  await using nats = await startNats();
  await using transport = await createNatsTransport({
    servers: nats.url,
    discoveryWait: 0,
    reconnectTimeWait: 50,
    maxReconnectAttempts: -1,
  });
  const statuses: TransportStatus[] = [];
  const done = (async () => {
    for await (const s of transport.status()) {
      statuses.push(s);
      if (s.type === "connected") break;
    }
  })();
  await nats.nodes[0]!.stop();
  await waitFor(() => statuses.some((s) => s.type === "disconnected"), {
    interval: 10,
  });
  assert.equal(transport.isConnected(), false);
  await nats.nodes[0]!.restart();
  await done;
  assert.equal(transport.isConnected(), true);
  const types = statuses.map((s) => s.type);
  assert.equal(types[0], "disconnected");
  assert.ok(types.includes("reconnecting"));
  assert.equal(types.at(-1), "connected");
});

Deno.test("request() ends at the caller's timeout, retries included", async () => {
  await using env = await setup([{ node: "n1", handler: () => null }], {
    retries: 3,
  });
  const timeout = 600;
  const start = performance.now();
  const error = await env.transport.request(
    {
      kind: "ChannelData",
      key: { kind: "channel", id: "c", app: APP, node: "n1" },
    },
    { timeout },
  ).then(() => undefined, (e) => e);
  const took = elapsed(start);
  assert.ok(error instanceof TimeoutError, String(error));
  assert.equal(error.timeout, timeout);
  // Four attempts inside one budget (before: four budgets, 2,400 ms).
  await waitFor(() => env.proxies[0]!.requests.length === 4, { interval: 5 });
  assert.ok(took < 2 * timeout, `took ${Math.round(took)} ms`);
  assert.equal(env.transport.stats().timeouts, 4);
});

Deno.test("request() keeps listening to an earlier attempt after a retry was sent", async () => {
  let calls = 0;
  await using env = await setup([{
    node: "n1",
    handler: async () => {
      // The first attempt answers late (after the retry went out), the
      // retry never: the late answer is the result.
      if (++calls > 1) return null;
      await new Promise((resolve) => setTimeout(resolve, 400));
      return { error: "", data: { variable: "late" } };
    },
  }], { retries: 1 });
  const response = await env.transport.request(
    {
      kind: "ChannelData",
      key: { kind: "channel", id: "c", app: APP, node: "n1" },
    },
    { timeout: 5_000 },
  );
  assert.deepEqual(response.data, { variable: "late" });
});

Deno.test("createNatsTransport() reconnects after a short first wait with jitter", async () => {
  await using nats = await startNats();
  await using transport = await createNatsTransport({
    servers: nats.url,
    discoveryWait: 0,
    maxReconnectAttempts: -1,
  });
  const statuses: TransportStatus[] = [];
  const done = (async () => {
    for await (const s of transport.status()) {
      statuses.push(s);
      if (s.type === "connected") break;
    }
  })();
  await nats.nodes[0]!.stop();
  await waitFor(
    () => statuses.filter((s) => s.type === "reconnecting").length >= 2,
    { interval: 10 },
  );
  await nats.nodes[0]!.restart();
  await done;
  const delays = statuses.flatMap((s) =>
    s.type === "reconnecting" ? [s.delay] : []
  );
  // The outage lasted well under 10 s: waits of the first steps only.
  assert.ok(delays.length >= 2);
  assert.ok(delays[0]! >= 100 && delays[0]! <= 200, String(delays));
  assert.ok(delays.every((d) => d >= 100 && d <= 750), String(delays));
});

Deno.test("request() in flight when its proxy dies ends in a typed error within its timeout, and a command is sent once", async () => {
  await using env = await setup([
    {
      node: "n1",
      handler: async (_request, proxy) => {
        // The proxy dies with the request in hand.
        await proxy.close();
        return null;
      },
    },
  ], { retries: 1 });
  const timeout = 1_000;
  const start = performance.now();
  const error = await env.transport.request(
    {
      kind: "ChannelHangup",
      key: { kind: "channel", id: "c", app: APP, node: "n1" },
      channel_hangup: { reason: "normal" },
    },
    { timeout },
  ).then(() => undefined, (e) => e);
  const took = elapsed(start);
  assert.ok(error instanceof TimeoutError, String(error));
  assert.ok(took < 2 * timeout, `took ${Math.round(took)} ms`);
  // Not retried: the proxy may have executed it before dying.
  assert.equal(env.proxies[0]!.requests.length, 1);

  // A read to the dead node: its retry finds nobody; still typed, in time.
  const start2 = performance.now();
  const error2 = await env.transport.request(
    {
      kind: "ChannelData",
      key: { kind: "channel", id: "c", app: APP, node: "n1" },
    },
    { timeout },
  ).then(() => undefined, (e) => e);
  assert.ok(
    error2 instanceof TimeoutError || error2 instanceof ConnectionError,
    String(error2),
  );
  assert.ok(elapsed(start2) < 2 * timeout);
});
