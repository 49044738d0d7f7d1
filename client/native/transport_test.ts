import assert from "node:assert/strict";
import {
  AriHttpError,
  ClosedConnectionError,
  ConnectionError,
  TimeoutError,
} from "../errors.ts";
import type { ProxiedEvent } from "../protocol/types.ts";
import type { TransportStatus } from "../transport.ts";
import {
  createNativeTransport,
  type NativeTransportOptions,
} from "./transport.ts";
import { type FakeAriOptions, startFakeAri } from "./testdata/fake_ari.ts";

const FAST = { initialDelay: 5, maxDelay: 20 };

function options(
  url: string,
  extra: Partial<NativeTransportOptions> = {},
): NativeTransportOptions {
  return {
    url,
    username: "u",
    password: "p",
    application: "app1",
    events: FAST,
    ...extra,
  };
}

/** Collects events and resolves waiters when a predicate matches. */
function collector() {
  const events: ProxiedEvent[] = [];
  const waiters: { test: (e: ProxiedEvent) => boolean; resolve: () => void }[] =
    [];
  return {
    events,
    sink(event: ProxiedEvent) {
      events.push(event);
      for (const w of [...waiters]) {
        if (w.test(event)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
      }
    },
    waitFor(test: (e: ProxiedEvent) => boolean): Promise<void> {
      if (events.some(test)) return Promise.resolve();
      const { promise, resolve } = Promise.withResolvers<void>();
      waiters.push({ test, resolve });
      return promise;
    },
  };
}

async function nextStatus(
  it: AsyncIterator<TransportStatus>,
  type: TransportStatus["type"],
): Promise<TransportStatus> {
  for (;;) {
    const { value, done } = await it.next();
    if (done) throw new Error(`status stream ended before "${type}"`);
    if (value.type === type) return value;
  }
}

function fake(extra: FakeAriOptions = {}) {
  return startFakeAri({ entityId: "02:00:00:00:00:0a", ...extra });
}

Deno.test("createNativeTransport() learns the node and opens the events socket", async () => {
  await using ari = fake();
  await using transport = await createNativeTransport(
    options(ari.url, { applications: ["app2"], subscribeAll: true }),
  );
  assert.equal(transport.kind, "native");
  assert.equal(transport.application, "app1");
  assert.deepEqual(transport.nodes(), [{
    node: "02:00:00:00:00:0a",
    app: "app1",
  }]);
  assert.equal(transport.isConnected(), true);
  assert.equal(ari.wsConnections.length, 1);
  assert.equal(ari.wsConnections[0]!.get("app"), "app1,app2");
  assert.equal(ari.wsConnections[0]!.get("subscribeAll"), "true");
  assert.equal(ari.calls[0]!.path, "/asterisk/info");
});

Deno.test("createNativeTransport() rejects bad options and unreachable ARI", async () => {
  await assert.rejects(
    () =>
      createNativeTransport(
        options("http://127.0.0.1:1/ari", { application: "" }),
      ),
    TypeError,
  );
  await assert.rejects(
    () =>
      createNativeTransport(options("http://127.0.0.1:1/ari", { timeout: 0 })),
    RangeError,
  );
  const gone = fake();
  const url = gone.url;
  await gone.close();
  await assert.rejects(
    () => createNativeTransport(options(url)),
    ConnectionError,
  );

  await using denied = fake({
    route: (call) =>
      call.path === "/asterisk/info"
        ? Response.json({ message: "Authentication required" }, { status: 401 })
        : undefined,
  });
  await assert.rejects(
    () => createNativeTransport(options(denied.url)),
    (error: unknown) => error instanceof AriHttpError && error.status === 401,
  );
});

Deno.test("createNativeTransport() times out when the WebSocket never opens", async () => {
  await using ari = fake({ refuseWebSocket: () => true });
  await assert.rejects(
    () => createNativeTransport(options(ari.url, { timeout: 200 })),
    TimeoutError,
  );
});

Deno.test("subscribe() delivers events with application and asterisk_id, by scope", async () => {
  await using ari = fake();
  await using transport = await createNativeTransport(
    options(ari.url, { applications: ["app2"] }),
  );
  const all = collector();
  const app2 = collector();
  const otherNode = collector();
  const stopAll = transport.subscribe({}, all.sink);
  transport.subscribe({ app: "app2" }, app2.sink);
  transport.subscribe({ node: "elsewhere" }, otherNode.sink);
  assert.throws(
    () => transport.subscribe({ dialog: "d1" }, () => {}),
    (error: unknown) =>
      error instanceof TypeError &&
      /dialogs need the NATS transport/.test(error.message),
  );

  ari.send({ type: "StasisStart", channel: { id: "c1" } });
  ari.send({
    type: "ChannelUserevent",
    application: "app2",
    asterisk_id: "02:00:00:00:00:0a",
  });
  await all.waitFor((e) => e.type === "ChannelUserevent");
  assert.deepEqual(all.events[0], {
    type: "StasisStart",
    channel: { id: "c1" },
    application: "app1",
    asterisk_id: "02:00:00:00:00:0a",
  });
  assert.deepEqual(app2.events.map((e) => e.type), ["ChannelUserevent"]);
  assert.deepEqual(otherNode.events, []);

  stopAll();
  ari.send({ type: "Dial", application: "app2" });
  await app2.waitFor((e) => e.type === "Dial");
  assert.equal(all.events.length, 2);
});

Deno.test("subscribe() reports a throwing sink as an error status", async () => {
  await using ari = fake();
  await using transport = await createNativeTransport(options(ari.url));
  const statuses = transport.status()[Symbol.asyncIterator]();
  transport.subscribe({}, () => {
    throw new Error("sink broke");
  });
  ari.send({ type: "StasisStart" });
  const status = await nextStatus(statuses, "error");
  assert.equal(status.type === "error" && status.error.message, "sink broke");
  await statuses.return?.();
});

Deno.test("request() executes kinds and stamps keys with the learned node", async () => {
  const release = Promise.withResolvers<void>();
  const entered = Promise.withResolvers<void>();
  await using ari = fake({
    route: async (call) => {
      if (call.path === "/channels/gone/answer") {
        return Response.json({ message: "Channel not found" }, { status: 404 });
      }
      if (call.path === "/channels/slow/answer") {
        entered.resolve();
        await release.promise;
        return new Response(null, { status: 204 });
      }
      return undefined;
    },
  });
  const transport = await createNativeTransport(options(ari.url));
  assert.deepEqual(
    await transport.request({ kind: "ChannelGet", key: { id: "c1" } }),
    {
      error: "",
      key: {
        kind: "channel",
        id: "c1",
        node: "02:00:00:00:00:0a",
        app: "app1",
      },
    },
  );
  const failed = await transport.request({
    kind: "ChannelAnswer",
    key: { id: "gone" },
  });
  assert.equal(failed.status, 404);
  assert.match(failed.error, /Channel not found/);

  await assert.rejects(
    () =>
      transport.request({ kind: "ChannelAnswer", key: { id: "slow" } }, {
        timeout: 1,
      }),
    TimeoutError,
  );
  const controller = new AbortController();
  const aborted = transport.request(
    { kind: "ChannelAnswer", key: { id: "slow" } },
    { signal: controller.signal },
  );
  await entered.promise;
  controller.abort(new Error("caller gave up"));
  await assert.rejects(() => aborted, /caller gave up/);

  const inflight = transport.request({
    kind: "ChannelAnswer",
    key: { id: "slow" },
  });
  const inflightRejects = assert.rejects(() => inflight, ClosedConnectionError);
  await transport.close();
  await inflightRejects;
  await assert.rejects(
    () => transport.request({ kind: "ChannelAnswer", key: { id: "c1" } }),
    ClosedConnectionError,
  );
  release.resolve();
});

Deno.test("request() refuses a key addressed to another node and serves its own", async () => {
  await using ari = fake({});
  await using transport = await createNativeTransport(options(ari.url));
  const before = ari.calls.length;
  await assert.rejects(
    () =>
      transport.request({
        kind: "ChannelAnswer",
        key: { kind: "channel", id: "c1", node: "02:00:00:00:00:0b" },
      }),
    (error: unknown) => {
      assert.ok(error instanceof ConnectionError);
      assert.equal(error.target, "02:00:00:00:00:0b");
      return true;
    },
  );
  assert.equal(ari.calls.length, before, "no ARI call was made");
  const own = await transport.request({
    kind: "ChannelGet",
    key: { kind: "channel", id: "c1", node: "02:00:00:00:00:0a" },
  });
  assert.equal(own.error, "");
});

Deno.test("the native transport relearns the node id after a reconnect", async () => {
  await using ari = fake();
  await using transport = await createNativeTransport(options(ari.url));
  const statuses = transport.status()[Symbol.asyncIterator]();
  const events = collector();
  transport.subscribe({}, events.sink);

  ari.entityId = "02:00:00:00:00:0b";
  ari.dropSockets();
  await nextStatus(statuses, "disconnected");
  await nextStatus(statuses, "reconnecting");
  await nextStatus(statuses, "connected");
  assert.deepEqual(transport.nodes(), [{
    node: "02:00:00:00:00:0b",
    app: "app1",
  }]);
  assert.equal(transport.isConnected(), true);
  const r = await transport.request({ kind: "BridgeGet", key: { id: "b1" } });
  assert.equal(r.key?.node, "02:00:00:00:00:0b");
  ari.send({ type: "StasisStart" });
  await events.waitFor((e) => e.type === "StasisStart");
  assert.equal(events.events[0]!.asterisk_id, "02:00:00:00:00:0b");
  await statuses.return?.();
});

Deno.test("close() is idempotent and ends status iteration", async () => {
  await using ari = fake();
  const transport = await createNativeTransport(options(ari.url));
  const seen: string[] = [];
  const done = (async () => {
    for await (const status of transport.status()) seen.push(status.type);
  })();
  await Promise.all([transport.close(), transport.close()]);
  await transport[Symbol.asyncDispose]();
  await done;
  assert.deepEqual(seen.at(-1), "closed");
  assert.equal(transport.isClosed(), true);
  assert.equal(transport.isConnected(), false);
  assert.equal(await transport.closed(), undefined);
  // Subscribing after close is harmless; status() ends at once.
  transport.subscribe({}, () => {})();
  for await (const _ of transport.status()) {
    assert.fail("no status after close");
  }
});
