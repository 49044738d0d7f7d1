import assert from "node:assert/strict";
import {
  BadRequestError,
  ClosedConnectionError,
  ConflictError,
  NotFoundError,
  NotImplementedError,
  RemoteError,
  TimeoutError,
  UnprocessableEntityError,
} from "../errors.ts";
import type { ProxiedEvent, Response } from "../protocol/types.ts";
import { createFakeTransport, type FakeTransport } from "../testing.ts";
import type { TransportStatus } from "../transport.ts";
import { type AriClient, createClient } from "./client.ts";

function setup(
  options: { bufferSize?: number } = {},
): { transport: FakeTransport; client: AriClient } {
  const transport = createFakeTransport({ application: "app", node: "n1" });
  let n = 0;
  const client = createClient(transport, {
    generateId: (prefix) => `id${++n}-${prefix}`,
    ...options,
  });
  return { transport, client };
}

function channel(id: string): Record<string, unknown> {
  return { id, name: `Local/${id}`, state: "Up" };
}

function playback(id: string, target: string): Record<string, unknown> {
  return { id, media_uri: "sound:x", target_uri: target, state: "playing" };
}

async function take<T>(stream: AsyncIterable<T>, count: number): Promise<T[]> {
  const out: T[] = [];
  if (count === 0) return out;
  for await (const item of stream) {
    out.push(item);
    if (out.length === count) break;
  }
  return out;
}

Deno.test("ChannelHandle.on() sees its channel's events and its playbacks', not others'", async () => {
  const { transport, client } = setup();
  await using _ = client;
  const seen: string[] = [];
  const off = client.channels.handle("c1").on(
    ["StasisStart", "PlaybackStarted", "PlaybackFinished", "ChannelDestroyed"],
    (event) => void seen.push(event.type),
  );
  transport.emit({ type: "StasisStart", channel: channel("c1"), args: [] });
  transport.emit({ type: "StasisStart", channel: channel("c2"), args: [] });
  transport.emit({
    type: "PlaybackStarted",
    playback: playback("p1", "channel:c1"),
  });
  transport.emit({
    type: "PlaybackFinished",
    playback: playback("p2", "channel:c2"),
  });
  transport.emit({ type: "ChannelStateChange", channel: channel("c1") });
  transport.emit({
    type: "PlaybackFinished",
    playback: playback("p1", "channel:c1"),
  });
  transport.emit({
    type: "ChannelDestroyed",
    channel: channel("c1"),
    cause: 16,
  });
  off();
  transport.emit({
    type: "ChannelDestroyed",
    channel: channel("c1"),
    cause: 16,
  });
  assert.deepEqual(seen, [
    "StasisStart",
    "PlaybackStarted",
    "PlaybackFinished",
    "ChannelDestroyed",
  ]);
});

Deno.test("handle events are delivered once per event and filtered by node", async () => {
  const { transport, client } = setup();
  await using _ = client;
  const onN1: string[] = [];
  const anyNode: string[] = [];
  client.channels.handle({ id: "c1", node: "n1" }).on(
    "ChannelEnteredBridge",
    (e) => void onN1.push(e.asterisk_id ?? ""),
  );
  client.channels.handle("c1").on(
    "ChannelEnteredBridge",
    (e) => void anyNode.push(e.asterisk_id ?? ""),
  );
  const entered = {
    type: "ChannelEnteredBridge",
    bridge: { id: "b1", channels: ["c1", "c2"] },
    channel: channel("c1"),
  };
  transport.emit(entered);
  transport.emit({ ...entered, asterisk_id: "n2" });
  assert.deepEqual(onN1, ["n1"]);
  assert.deepEqual(anyNode, ["n1", "n2"]);
});

Deno.test("BridgeHandle.events() yields the bridge's events in order", async () => {
  const { transport, client } = setup();
  await using _ = client;
  const bridge = client.bridges.handle("b1");
  const stream = bridge.events();
  transport.emit({
    type: "ChannelEnteredBridge",
    bridge: { id: "b1", channels: ["c1"] },
    channel: channel("c1"),
  });
  transport.emit({
    type: "ChannelEnteredBridge",
    bridge: { id: "b9", channels: ["c9"] },
    channel: channel("c9"),
  });
  transport.emit({
    type: "PlaybackStarted",
    playback: playback("p1", "bridge:b1"),
  });
  transport.emit({
    type: "BridgeDestroyed",
    bridge: { id: "b1", channels: [] },
  });
  const events = await take(stream, 3);
  assert.deepEqual(events.map((e) => e.type), [
    "ChannelEnteredBridge",
    "PlaybackStarted",
    "BridgeDestroyed",
  ]);
});

Deno.test("client.events() and client.on() filter by type; one transport subscription per client", async () => {
  const { transport, client } = setup();
  await using _ = client;
  assert.equal(transport.subscriptions.length, 0);
  const starts = client.events("StasisStart");
  const all = client.events();
  const ends: string[] = [];
  client.on("StasisEnd", (e) => void ends.push(e.channel.id));
  for (let i = 0; i < 20; i++) {
    client.channels.handle(`c${i}`).on("StasisEnd", () => {});
  }
  assert.deepEqual(transport.subscriptions, [{ app: "app" }]);
  transport.emit({ type: "StasisStart", channel: channel("c1"), args: [] });
  transport.emit({ type: "StasisEnd", channel: channel("c1") });
  transport.emit({ type: "UnknownToAri", anything: 1 });
  const [start] = await take(starts, 1);
  assert.equal(start?.channel.id, "c1");
  assert.deepEqual((await take(all, 3)).map((e) => e.type), [
    "StasisStart",
    "StasisEnd",
    "UnknownToAri",
  ]);
  assert.deepEqual(ends, ["c1"]);
});

Deno.test("Staged.exec(): a handle subscribed before exec receives the first event", async () => {
  const { transport, client } = setup();
  await using _ = client;
  // The "server" raises StasisStart before it even answers the originate.
  transport.respond("ChannelOriginate", (req) => {
    const id = req.channel_originate?.originate_request.channelId ?? "";
    transport.emit({ type: "StasisStart", channel: channel(id), args: [] });
    return { error: "", key: { kind: "channel", id, node: "n1", app: "app" } };
  });
  const staged = await client.channels.stageOriginate({
    endpoint: "Local/100@default",
  });
  assert.equal(transport.requests.at(-1)?.kind, "ChannelStageOriginate");
  const stream = staged.handle.events("StasisStart");
  const once = staged.handle.once("StasisStart");
  const handle = await staged.exec();
  assert.equal(handle, staged.handle);
  const [first] = await take(stream, 1);
  assert.equal(first?.channel.id, staged.handle.id);
  assert.equal((await once).channel.id, staged.handle.id);
});

Deno.test("ChannelHandle.stagePlay(): PlaybackStarted raised during exec reaches the playback handle", async () => {
  const { transport, client } = setup();
  await using _ = client;
  transport.respond("ChannelPlay", (req) => {
    const id = req.channel_play?.playback_id ?? "";
    transport.emit({
      type: "PlaybackStarted",
      playback: playback(id, "channel:c1"),
    });
    return undefined;
  });
  const staged = await client.channels.handle("c1").stagePlay(
    "sound:hello-world",
  );
  assert.equal(transport.requests.at(-1)?.kind, "ChannelStagePlay");
  const started = staged.handle.once("PlaybackStarted");
  await staged.exec();
  assert.equal((await started).playback.id, staged.handle.id);
  assert.deepEqual(
    transport.requests.map((r) => r.kind),
    ["ChannelStagePlay", "ChannelPlay"],
  );
});

Deno.test("EventStream: break out of for-await unsubscribes and frees the buffer", async () => {
  const { transport, client } = setup();
  await using _ = client;
  const stream = client.channels.handle("c1").events();
  transport.emit({ type: "StasisStart", channel: channel("c1"), args: [] });
  transport.emit({ type: "ChannelStateChange", channel: channel("c1") });
  for await (const _event of stream) break;
  assert.equal(stream.pending, 0);
  transport.emit({ type: "StasisEnd", channel: channel("c1") });
  assert.equal(stream.pending, 0);
  assert.deepEqual(await stream.next(), { done: true, value: undefined });
});

Deno.test("EventStream ends when its signal aborts", async () => {
  const { transport, client } = setup();
  await using _ = client;
  const controller = new AbortController();
  const stream = client.events(undefined, { signal: controller.signal });
  const pending = stream.next();
  controller.abort();
  assert.deepEqual(await pending, { done: true, value: undefined });
  transport.emit({ type: "StasisStart", channel: channel("c1"), args: [] });
  assert.equal(stream.pending, 0);
});

Deno.test("a full event stream keeps the newest events and reports slowConsumer with counts", async () => {
  const { transport, client } = setup({ bufferSize: 3 });
  await using _ = client;
  const status = client.status();
  const stream = client.events("ChannelVarset");
  for (let i = 1; i <= 5; i++) {
    transport.emit({ type: "ChannelVarset", variable: "V", value: String(i) });
  }
  assert.equal(stream.dropped, 2);
  assert.equal(stream.pending, 3);
  const [report] = await take(status, 1);
  assert.deepEqual(report, { type: "slowConsumer", pending: 3, dropped: 1 });
  const values = (await take(stream, 3)).map((e) => e.value);
  assert.deepEqual(values, ["3", "4", "5"]);
});

Deno.test("RemoteError carries kind and status; Not implemented becomes NotImplementedError", async () => {
  const { transport, client } = setup();
  await using _ = client;
  transport.respond("ChannelAnswer", {
    error: "Channel not found",
    status: 404,
  });
  transport.respond("ChannelMove", { error: "Not implemented" });
  transport.respond("BridgeDelete", {
    error: "Non-2XX response: 404 Not Found",
  });
  const ch = client.channels.handle("c1");
  await assert.rejects(ch.answer(), (error: unknown) => {
    assert.ok(error instanceof RemoteError);
    assert.equal(error.kind, "ChannelAnswer");
    assert.equal(error.status, 404);
    assert.equal(error.remoteMessage, "Channel not found");
    return true;
  });
  await assert.rejects(ch.move("other"), (error: unknown) => {
    assert.ok(error instanceof NotImplementedError);
    assert.equal(error.kind, "ChannelMove");
    return true;
  });
  await assert.rejects(
    client.bridges.handle("b1").delete(),
    (error: unknown) => {
      // A Go proxy's reply: no status field, the status is in the text.
      assert.ok(error instanceof NotFoundError);
      assert.equal(error.status, 404);
      return true;
    },
  );
});

Deno.test("failed replies become the same error class from our proxy, a Go proxy and the native transport", async () => {
  const { transport, client } = setup();
  await using _ = client;
  const cases: [
    Response,
    new (...args: never[]) => Error,
    number | undefined,
  ][] = [
    [{ error: "Non-2XX response: 404 Not Found" }, NotFoundError, 404],
    [
      {
        error: 'Cannot answer channel "c1": 404 Channel not found',
        status: 404,
        code: "ariHttp",
      },
      NotFoundError,
      404,
    ],
    [{ error: "Non-2XX response: 404 Variable Not Found" }, NotFoundError, 404],
    [{ error: "not found" }, NotFoundError, 404],
    [
      {
        error:
          "failed to get data: Error getting data for channel 'c1': Non-2XX response: 404 Not Found",
      },
      NotFoundError,
      404,
    ],
    [{ error: "Non-2XX response: 409 Conflict" }, ConflictError, 409],
    [
      {
        error: 'Cannot dial channel "c1": 409 Channel not in Stasis',
        status: 409,
      },
      ConflictError,
      409,
    ],
    [{ error: "Non-2XX response: 400 Bad Request" }, BadRequestError, 400],
    [{ error: "channel key not supplied" }, BadRequestError, 400],
    [
      { error: "Invalid request: key is missing", code: "missingKey" },
      BadRequestError,
      400,
    ],
    [
      { error: "Non-2XX response: 422 Unprocessable Entity" },
      UnprocessableEntityError,
      422,
    ],
    [
      { error: "Non-2XX response: 500 Internal Server Error" },
      RemoteError,
      500,
    ],
    [{ error: "ARI connection is down" }, RemoteError, undefined],
  ];
  for (const [reply, cls, status] of cases) {
    transport.respond("ChannelAnswer", reply);
    await assert.rejects(
      client.channels.handle("c1").answer(),
      (error: unknown) => {
        assert.ok(error instanceof cls, `${reply.error} -> ${error}`);
        assert.ok(error instanceof RemoteError);
        assert.equal(error.constructor, cls, reply.error);
        assert.equal(error.status, status, reply.error);
        assert.equal(error.remoteMessage, reply.error);
        return true;
      },
    );
  }
});

Deno.test("AriClient.dialog() stamps the dialog, listens to its scope and closes on its own", async () => {
  const { transport, client } = setup();
  await using _ = client;
  const rootEvents = client.events("StasisStart");
  const dialog = client.dialog("d1");
  assert.equal(dialog.dialogId, "d1");

  await dialog.channels.handle("c1").answer();
  assert.deepEqual(transport.requests.at(-1), {
    kind: "ChannelAnswer",
    key: { kind: "channel", id: "c1", dialog: "d1" },
  });
  await dialog.channels.list();
  assert.deepEqual(transport.requests.at(-1), {
    kind: "ChannelList",
    key: { dialog: "d1" },
  });
  const originated = await dialog.channels.originate({
    endpoint: "Local/100@default",
  });
  assert.equal(originated.key.dialog, "d1");

  const dialogEvents = dialog.events("StasisStart");
  assert.deepEqual(transport.subscriptions, [{ app: "app" }, {
    app: "app",
    dialog: "d1",
  }]);
  transport.emit({
    type: "StasisStart",
    channel: channel("c1"),
    args: [],
    dialog: "d1",
  });
  transport.emit({ type: "StasisStart", channel: channel("c2"), args: [] });
  assert.deepEqual((await take(dialogEvents, 1)).map((e) => e.channel.id), [
    "c1",
  ]);
  assert.equal(dialogEvents.pending, 0);
  assert.deepEqual((await take(rootEvents, 1)).map((e) => e.channel.id), [
    "c2",
  ]);

  await dialog.close();
  assert.ok(dialog.isClosed());
  assert.ok(!client.isClosed());
  assert.deepEqual(await dialogEvents.next(), { done: true, value: undefined });
  assert.deepEqual(transport.subscriptions, [{ app: "app" }]);
  await assert.rejects(
    dialog.channels.handle("c1").answer(),
    ClosedConnectionError,
  );
  await client.channels.handle("c1").answer();
  assert.deepEqual(transport.requests.at(-1)?.key, {
    kind: "channel",
    id: "c1",
  });
  assert.ok(!transport.isClosed());
});

Deno.test("a dialog client binds an entity once when its first listener subscribes", async () => {
  const { transport, client } = setup();
  await using _ = client;
  const dialog = client.dialog("d1");
  const ch = dialog.channels.handle("c9");
  ch.on("StasisStart", () => {});
  ch.on("StasisEnd", () => {});
  dialog.bridges.handle("b9").events();
  client.channels.handle("c8").on("StasisEnd", () => {}); // root: no binding
  await dialog.drain();
  assert.deepEqual(
    transport.requests.map((r) => [r.kind, r.key]),
    [
      ["ChannelSubscribe", { kind: "channel", id: "c9", dialog: "d1" }],
      ["BridgeSubscribe", { kind: "bridge", id: "b9", dialog: "d1" }],
      // All of a bridge's events include BridgeDestroyed.
      ["ApplicationSubscribe", {
        kind: "application",
        id: "app",
        dialog: "d1",
      }],
    ],
  );
});

Deno.test("a listener for BridgeDestroyed or ChannelDestroyed subscribes the application to the entity first", async () => {
  const { transport, client } = setup();
  await using _ = client;
  const bridge = client.bridges.handle({ id: "b1", node: "n1", app: "app" });
  bridge.on("ChannelEnteredBridge", () => {}); // needs no subscription
  const destroyed = bridge.once("BridgeDestroyed");
  await bridge.delete();
  const snoop = client.channels.handle("s1");
  snoop.on(["StasisEnd", "ChannelDestroyed"], () => {});
  await snoop.hangup();
  assert.deepEqual(
    transport.requests.map((r) => [r.kind, r.key, r.application_subscribe]),
    [
      [
        "ApplicationSubscribe",
        { kind: "application", id: "app", app: "app", node: "n1" },
        { event_source: "bridge:b1" },
      ],
      // The command waited for the subscription.
      [
        "BridgeDelete",
        { kind: "bridge", id: "b1", node: "n1", app: "app" },
        undefined,
      ],
      [
        "ApplicationSubscribe",
        { kind: "application", id: "app" },
        { event_source: "channel:s1" },
      ],
      ["ChannelHangup", { kind: "channel", id: "s1" }, undefined],
    ],
  );
  transport.emit({ type: "BridgeDestroyed", bridge: { id: "b1" } } as never);
  assert.equal((await destroyed).type, "BridgeDestroyed");
});

Deno.test("a failed application subscription is reported as an error status and later calls still run", async () => {
  const { transport, client } = setup();
  await using _ = client;
  const status = client.status();
  transport.respond("ApplicationSubscribe", {
    error: "Non-2XX response: 422 Unprocessable Entity",
  });
  const bridge = client.bridges.handle("gone");
  bridge.on("BridgeDestroyed", () => {});
  await bridge.moh("default");
  const [report] = await take(status, 1);
  assert.equal(report?.type, "error");
  assert.equal(transport.requests.at(-1)?.kind, "BridgeMOH");
});

Deno.test("AriClient.child() has its own subscriptions, released when it closes", async () => {
  const { transport, client } = setup();
  await using _ = client;
  const child = client.child();
  const childEvents = child.channels.handle("c1").events();
  const rootEvents = client.channels.handle("c1").events();
  assert.equal(transport.subscriptions.length, 2);
  transport.emit({ type: "StasisEnd", channel: channel("c1") });
  await child.close();
  assert.equal(transport.subscriptions.length, 1);
  assert.deepEqual((await take(childEvents, 1)).map((e) => e.type), [
    "StasisEnd",
  ]);
  assert.deepEqual(await childEvents.next(), { done: true, value: undefined });
  transport.emit({
    type: "ChannelDestroyed",
    channel: channel("c1"),
    cause: 16,
  });
  assert.deepEqual((await take(rootEvents, 2)).map((e) => e.type), [
    "StasisEnd",
    "ChannelDestroyed",
  ]);
});

Deno.test("status() passes transport statuses to the client and its children", async () => {
  const { transport, client } = setup();
  await using _ = client;
  const child = client.child();
  const rootStatus = client.status();
  const childStatus = child.status();
  const down: TransportStatus = { type: "disconnected", target: "ws://x" };
  const retry: TransportStatus = {
    type: "reconnecting",
    target: "ws://x",
    attempt: 1,
    delay: 100,
  };
  transport.pushStatus(down);
  transport.pushStatus(retry);
  transport.pushStatus({ type: "connected", target: "ws://x" });
  assert.deepEqual((await take(rootStatus, 3)).map((s) => s.type), [
    "disconnected",
    "reconnecting",
    "connected",
  ]);
  assert.deepEqual(await take(childStatus, 2), [down, retry]);
});

Deno.test("close() ends iteration, rejects pending once() and later calls, and closes the transport", async () => {
  const { transport, client } = setup();
  const status = client.status();
  const stream = client.events();
  const iterate = (async () => {
    const types: string[] = [];
    for await (const event of stream) types.push(event.type);
    return types;
  })();
  const waiting = client.channels.handle("c1").once("StasisEnd");
  transport.emit({ type: "StasisStart", channel: channel("c1"), args: [] });
  await client.close();
  await client.close();
  assert.deepEqual(await iterate, ["StasisStart"]);
  await assert.rejects(waiting, ClosedConnectionError);
  await assert.rejects(client.channels.list(), ClosedConnectionError);
  await assert.rejects(client.once("StasisStart"), ClosedConnectionError);
  assert.ok(client.isClosed());
  assert.equal(await client.closed(), undefined);
  assert.ok(transport.isClosed());
  assert.deepEqual(await take(status, 1), [{ type: "closed" }]);
  assert.deepEqual(await status.next(), { done: true, value: undefined });
  assert.equal(client.events().pending, 0);
});

Deno.test("createClient() with closeTransport: false leaves the transport open", async () => {
  const transport = createFakeTransport();
  const client = createClient(transport, { closeTransport: false });
  await client.close();
  assert.ok(!transport.isClosed());
  await transport.close();
});

Deno.test("the client closes when its transport closes", async () => {
  const { transport, client } = setup();
  const stream = client.events();
  await transport.close();
  assert.equal(await client.closed(), undefined);
  assert.ok(client.isClosed());
  assert.deepEqual(await stream.next(), { done: true, value: undefined });
});

Deno.test("drain() waits for requests in flight, then closes", async () => {
  const { transport, client } = setup();
  let answer!: (response: Response) => void;
  transport.respond(
    "ChannelAnswer",
    () => new Promise((resolve) => answer = resolve),
  );
  const inFlight = client.channels.handle("c1").answer();
  await Promise.resolve();
  let drained = false;
  const draining = client.drain().then(() => drained = true);
  await Promise.resolve();
  assert.equal(drained, false);
  await assert.rejects(client.channels.list(), ClosedConnectionError);
  answer({ error: "" });
  await inFlight;
  await draining;
  assert.ok(client.isClosed());
});

Deno.test("a failing event handler is reported as an error status", async () => {
  const { transport, client } = setup();
  await using _ = client;
  const status = client.status();
  client.on("StasisStart", () => {
    throw new Error("boom");
  });
  const delivered: string[] = [];
  client.on("StasisStart", (e) => void delivered.push(e.channel.id));
  transport.emit({ type: "StasisStart", channel: channel("c1"), args: [] });
  const [report] = await take(status, 1);
  assert.equal(report?.type, "error");
  assert.equal(report?.type === "error" && report.error.message, "boom");
  assert.deepEqual(delivered, ["c1"]);
});

Deno.test("once() rejects with TimeoutError after its timeout and with the abort reason", async () => {
  const { client } = setup();
  await using _ = client;
  await assert.rejects(
    client.channels.handle("c1").once("StasisEnd", { timeout: 1 }),
    TimeoutError,
  );
  const controller = new AbortController();
  const waiting = client.once("StasisEnd", { signal: controller.signal });
  controller.abort(new Error("stop"));
  await assert.rejects(waiting, /stop/);
});

Deno.test("once() resolves with the typed event", async () => {
  const { transport, client } = setup();
  await using _ = client;
  const finished = client.playbacks.handle("p1").once("PlaybackFinished");
  const sent: ProxiedEvent = transport.emit({
    type: "PlaybackFinished",
    playback: { ...playback("p1", "channel:c1"), state: "done" },
  });
  const event = await finished;
  assert.equal(event.playback.state, "done");
  assert.equal(event.asterisk_id, sent.asterisk_id);
});
