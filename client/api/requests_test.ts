import assert from "node:assert/strict";
import {
  KIND_NAMES,
  KIND_TABLE,
  type KindInfo,
  type KindName,
} from "../protocol/kinds.ts";
import type { Request } from "../protocol/types.ts";
import { ARI_OPERATIONS } from "../generated/operations.ts";
import { KIND_OPERATIONS } from "../native/executor.ts";
import { createFakeTransport, type FakeTransport } from "../testing.ts";
import { type AriClient, createClient } from "./client.ts";

function setup(): { transport: FakeTransport; client: AriClient } {
  const transport = createFakeTransport({ application: "app", node: "n1" });
  let n = 0;
  const client = createClient(transport, {
    generateId: (prefix) => `id${++n}-${prefix}`,
  });
  return { transport, client };
}

function last(transport: FakeTransport): Request {
  const req = transport.requests.at(-1);
  assert.ok(req, "a request was sent");
  return req;
}

/** Calls every public method once; returns nothing, records on the transport. */
async function callEverything(client: AriClient): Promise<void> {
  const ch = client.channels.handle("c1");
  const br = client.bridges.handle("b1");
  // applications
  await client.applications.list();
  const app = await client.applications.get("app");
  await app.data();
  await app.subscribe("channel:c1");
  await app.unsubscribe(ch);
  await app.setEventFilter({ allowed: ["StasisStart"] });
  // asterisk
  await client.asterisk.info();
  await client.asterisk.ping();
  await client.asterisk.variables.get("G");
  await client.asterisk.variables.set("G", "1");
  await client.asterisk.config.data("res_pjsip/endpoint/a");
  await client.asterisk.config.update("res_pjsip/endpoint/a", { context: "x" });
  await client.asterisk.config.delete("res_pjsip/endpoint/a");
  await client.asterisk.logging.list();
  const log = await client.asterisk.logging.create("l1", ["notice"]);
  await client.asterisk.logging.get("l1");
  await log.data();
  await log.rotate();
  await log.delete();
  await client.asterisk.modules.list();
  const mod = await client.asterisk.modules.get("m.so");
  await mod.data();
  await mod.load();
  await mod.unload();
  await mod.reload();
  // bridges
  await client.bridges.list();
  await client.bridges.get("b1");
  await client.bridges.create({ type: "mixing" });
  await (await client.bridges.stageCreate()).exec();
  await br.data();
  await br.addChannel(ch);
  await br.removeChannel("c1");
  await br.moh();
  await br.stopMoh();
  await br.play("sound:x");
  await (await br.stagePlay("sound:x")).exec();
  await br.record();
  await (await br.stageRecord()).exec();
  await br.videoSource("c1");
  await br.videoSourceDelete();
  await br.variables.get("V");
  await br.variables.set("V", "1");
  await br.variables.getMany(["V"]);
  await br.variables.setMany({ V: "1" });
  await br.bindDialog();
  await br.unbindDialog();
  await br.delete();
  // channels
  await client.channels.list();
  await client.channels.get("c1");
  await client.channels.data("c1");
  await client.channels.originate({ endpoint: "Local/100@default" });
  await (await client.channels.stageOriginate({
    endpoint: "Local/100@default",
  })).exec();
  await client.channels.create({ endpoint: "Local/100@default" });
  await client.channels.externalMedia({ externalHost: "h:1", format: "ulaw" });
  await (await client.channels.stageExternalMedia({
    externalHost: "h:1",
    format: "ulaw",
  }))
    .exec();
  await ch.answer();
  await ch.hangup();
  await ch.busy();
  await ch.congestion();
  await ch.ring();
  await ch.stopRing();
  await ch.progress();
  await ch.hold();
  await ch.stopHold();
  await ch.mute("in");
  await ch.unmute();
  await ch.moh("default");
  await ch.stopMoh();
  await ch.silence();
  await ch.stopSilence();
  await ch.sendDtmf("123");
  await ch.play("sound:x");
  await (await ch.stagePlay("sound:x")).exec();
  await ch.record();
  await (await ch.stageRecord()).exec();
  await ch.snoop();
  await (await ch.stageSnoop()).exec();
  await ch.dial();
  await ch.continue();
  await ch.move("other");
  await ch.redirect("PJSIP/bob");
  await ch.transferProgress("channel_answered");
  await ch.claim();
  await ch.userEvent("ev");
  await ch.rtpStatistics();
  await ch.variables.get("V");
  await ch.variables.set("V", "1");
  await ch.variables.getMany(["V"]);
  await ch.variables.setMany({ V: "1" });
  await ch.originate({ endpoint: "Local/100@default" });
  await ch.create({ endpoint: "Local/100@default" });
  await ch.bindDialog();
  // device states
  await client.deviceStates.list();
  const ds = await client.deviceStates.get("Stasis:d");
  await ds.data();
  await ds.update("BUSY");
  await ds.delete();
  // endpoints
  await client.endpoints.list();
  await client.endpoints.listByTech("PJSIP");
  const ep = await client.endpoints.get("PJSIP/alice");
  await ep.data();
  await ep.sendMessage({ from: "sip:a@b", body: "hi" });
  await ep.refer({ from: "sip:a@b", referTo: "sip:c@d" });
  await client.endpoints.sendMessage({ to: "sip:x@y", from: "sip:a@b" });
  await client.endpoints.refer({
    to: "sip:x@y",
    from: "sip:a@b",
    referTo: "sip:c@d",
  });
  // mailboxes
  await client.mailboxes.list();
  const mb = await client.mailboxes.get("1000");
  await mb.data();
  await mb.update({ oldMessages: 1, newMessages: 2 });
  await mb.delete();
  // playbacks
  const pb = await client.playbacks.get("p1");
  await pb.data();
  await pb.control("pause");
  await pb.stop();
  await pb.bindDialog();
  // recordings
  const live = await client.liveRecordings.get("r1");
  await live.data();
  await live.pause();
  await live.resume();
  await live.mute();
  await live.unmute();
  await live.stop();
  await live.scrap();
  await live.bindDialog();
  await client.storedRecordings.list();
  const stored = await client.storedRecordings.get("r1");
  await stored.data();
  await stored.copy("r2");
  await stored.file();
  await stored.download();
  await stored.delete();
  // sounds
  await client.sounds.list({ lang: "en" });
  await client.sounds.data("hello-world");
  // user events
  await client.userEvent("custom", { source: ch, variables: { a: 1 } });
}

Deno.test("createClient() reaches every kind of KIND_TABLE through public methods", async () => {
  const { transport, client } = setup();
  try {
    await callEverything(client);
    const sent = new Set(transport.requests.map((r) => r.kind));
    const all = new Set<string>(KIND_NAMES);
    const missing = [...all].filter((k) => !sent.has(k));
    const unknown = [...sent].filter((k) => !all.has(k));
    assert.deepEqual(missing, [], `kinds never sent: ${missing.join(", ")}`);
    assert.deepEqual(
      unknown,
      [],
      `kinds not in KIND_TABLE: ${unknown.join(", ")}`,
    );
    for (const req of transport.requests) {
      const info: KindInfo = KIND_TABLE[req.kind as KindName];
      const fields = Object.keys(req).filter((f) =>
        f !== "kind" && f !== "key"
      );
      if (info.body === null) {
        assert.deepEqual(fields, [], `${req.kind} has no body`);
      } else if (info.bodyOptional && fields.length === 0) continue;
      else {assert.deepEqual(
          fields,
          [info.body],
          `${req.kind} carries "${info.body}"`,
        );}
    }
  } finally {
    await client.close();
  }
});

Deno.test("createClient() reaches every generated ARI operation through public methods", async () => {
  const { transport, client } = setup();
  try {
    await callEverything(client);
    const reached = new Set(
      transport.requests.flatMap((r) =>
        KIND_OPERATIONS[r.kind as KindName] ?? []
      ),
    );
    // The events WebSocket is the transport's own connection, not a call.
    const missing = ARI_OPERATIONS.map((op) => op.id)
      .filter((id) => id !== "events.eventWebsocket" && !reached.has(id));
    assert.deepEqual(
      missing,
      [],
      `operations never reached: ${missing.join(", ")}`,
    );
  } finally {
    await client.close();
  }
});

Deno.test("ChannelHandle methods send the expected kind, key and body", async () => {
  const { transport, client } = setup();
  await using _ = client;
  const ch = client.channels.handle({ id: "c1", node: "n1", app: "app" });
  const key = { kind: "channel", id: "c1", node: "n1", app: "app" };

  await ch.answer();
  assert.deepEqual(last(transport), { kind: "ChannelAnswer", key });

  await ch.hangup();
  assert.deepEqual(last(transport), {
    kind: "ChannelHangup",
    key,
    channel_hangup: { reason: "normal" },
  });
  await ch.hangup({ reasonCode: 17 });
  assert.deepEqual(last(transport).channel_hangup, {
    reason: "",
    reason_code: "17",
  });

  await ch.mute("in");
  assert.deepEqual(last(transport), {
    kind: "ChannelMute",
    key,
    channel_mute: { direction: "in" },
  });

  await ch.dial({ caller: "c0", dialTimeout: 7_000 });
  assert.deepEqual(last(transport).channel_dial, {
    caller: "c0",
    timeout: 7_000_000_000,
  });

  await ch.sendDtmf("12#", { before: 100, between: 250 });
  assert.deepEqual(last(transport).channel_send_dtmf, {
    dtmf: "12#",
    options: { Before: 100_000_000, Between: 250_000_000 },
  });

  await ch.continue({ context: "default", extension: "100", priority: 1 });
  assert.deepEqual(last(transport).channel_continue, {
    context: "default",
    extension: "100",
    priority: 1,
  });

  await ch.userEvent("ev", { variables: { a: "1" } });
  assert.deepEqual(last(transport).channel_user_event, {
    UserEvent: { eventname: "ev", userevent: { a: "1" } },
  });

  await ch.variables.set("X", "1");
  assert.deepEqual(last(transport), {
    kind: "ChannelVariableSet",
    key,
    channel_variable: { name: "X", value: "1" },
  });

  const playback = await ch.play(["sound:a", "sound:b"], { lang: "en" });
  assert.deepEqual(last(transport), {
    kind: "ChannelPlay",
    key,
    channel_play: {
      playback_id: "id1-pb",
      media_uri: "sound:a",
      media_uris: ["sound:a", "sound:b"],
      lang: "en",
    },
  });
  assert.deepEqual(playback.key, {
    kind: "playback",
    id: "id1-pb",
    node: "n1",
    app: "app",
  });

  const rec = await ch.record({
    name: "msg",
    maxDuration: 10_000,
    maxSilence: 3_000,
    ifExists: "overwrite",
    beep: true,
    terminateOn: "#",
  });
  assert.deepEqual(last(transport).channel_record, {
    name: "msg",
    options: {
      Format: "wav",
      MaxDuration: 10_000_000_000,
      MaxSilence: 3_000_000_000,
      Exists: "overwrite",
      Beep: true,
      Terminate: "#",
    },
  });
  assert.deepEqual(rec.key, {
    kind: "liverecording",
    id: "msg",
    node: "n1",
    app: "app",
  });
  assert.deepEqual(rec.stored().key, {
    kind: "storedrecording",
    id: "msg",
    node: "n1",
    app: "app",
  });

  const snoop = await ch.snoop({ spy: "both" });
  assert.deepEqual(last(transport).channel_snoop, {
    snoop_id: "id2-sn",
    options: { app: "app", spy: "both" },
  });
  assert.equal(snoop.id, "id2-sn");

  await ch.originate({ endpoint: "PJSIP/bob", timeout: 1_500 });
  assert.deepEqual(last(transport), {
    kind: "ChannelOriginate",
    key,
    channel_originate: {
      originate_request: {
        endpoint: "PJSIP/bob",
        timeout: 2,
        app: "app",
        channelId: "id3-ch",
        originator: "c1",
      },
    },
  });
});

Deno.test("Channels.originate() goes to the dialplan without app when a context is given", async () => {
  const { transport, client } = setup();
  await using _ = client;
  const handle = await client.channels.originate({
    endpoint: "Local/100@default",
    context: "default",
    extension: "100",
    priority: 1,
    channelId: "mine",
  });
  assert.deepEqual(last(transport), {
    kind: "ChannelOriginate",
    key: null,
    channel_originate: {
      originate_request: {
        endpoint: "Local/100@default",
        context: "default",
        extension: "100",
        priority: 1,
        channelId: "mine",
      },
    },
  });
  assert.deepEqual(handle.key, {
    kind: "channel",
    id: "mine",
    node: "n1",
    app: "app",
  });
});

Deno.test("Bridges.create() and BridgeHandle methods send the expected requests", async () => {
  const { transport, client } = setup();
  await using _ = client;
  const bridge = await client.bridges.create({ name: "conf" }, {
    node: "n1",
    app: "app",
  });
  const key = { kind: "bridge", id: "id1-br", node: "n1", app: "app" };
  assert.deepEqual(last(transport), {
    kind: "BridgeCreate",
    key,
    bridge_create: { type: "mixing", name: "conf" },
  });
  assert.deepEqual(bridge.key, key);
  await bridge.addChannel(client.channels.handle("c1"), {
    role: "announcer",
    absorbDtmf: true,
  });
  assert.deepEqual(last(transport), {
    kind: "BridgeAddChannel",
    key,
    bridge_add_channel: { channel: "c1", absorbDTMF: true, role: "announcer" },
  });
  await bridge.removeChannel("c1");
  assert.deepEqual(last(transport).bridge_remove_channel, { channel: "c1" });
  await bridge.moh("jazz");
  assert.deepEqual(last(transport).bridge_moh, { class: "jazz" });
  await bridge.variables.getMany(["A", "B"]);
  assert.deepEqual(last(transport), {
    kind: "BridgeVariablesGet",
    key,
    variables_get: { names: ["A", "B"] },
  });
  await bridge.delete();
  assert.deepEqual(last(transport), { kind: "BridgeDelete", key });
});

Deno.test("asterisk, device states, mailboxes, endpoints and sounds send the expected requests", async () => {
  const { transport, client } = setup();
  await using _ = client;
  await client.asterisk.info({ only: ["system", "build"], node: "n1" });
  assert.deepEqual(last(transport), {
    kind: "AsteriskInfo",
    key: { node: "n1", app: "app" },
    asterisk_info: { only: "system,build" },
  });
  await client.asterisk.variables.set("G", "v");
  assert.deepEqual(last(transport), {
    kind: "AsteriskVariableSet",
    key: { kind: "variable", id: "G" },
    asterisk_variable_set: { value: "v" },
  });
  await client.asterisk.config.update("res_pjsip/endpoint/a", [{
    attribute: "x",
    value: "1",
  }]);
  assert.deepEqual(last(transport), {
    kind: "AsteriskConfigUpdate",
    key: { kind: "config", id: "res_pjsip/endpoint/a" },
    asterisk_config: { tuples: [{ attribute: "x", value: "1" }] },
  });
  const cfg = await client.asterisk.config.data("res_pjsip/endpoint/a");
  assert.equal(cfg.configClass, "res_pjsip");
  assert.equal(cfg.objectType, "endpoint");
  assert.equal(cfg.id, "a");
  await client.asterisk.logging.create("l1", ["notice", "warning"]);
  assert.deepEqual(last(transport).asterisk_logging_channel, {
    config: "notice,warning",
  });
  await client.deviceStates.handle("Stasis:d").update("INUSE");
  assert.deepEqual(last(transport), {
    kind: "DeviceStateUpdate",
    key: { kind: "devicestate", id: "Stasis:d" },
    device_state_update: { state: "INUSE" },
  });
  await client.mailboxes.handle("1000").update({
    oldMessages: 1,
    newMessages: 2,
  });
  assert.deepEqual(last(transport).mailbox_update, { old: 1, new: 2 });
  await client.endpoints.listByTech("PJSIP");
  assert.deepEqual(last(transport), {
    kind: "EndpointListByTech",
    key: null,
    endpoint_list_by_tech: { tech: "PJSIP" },
  });
  await client.endpoints.handle("PJSIP/alice").refer({
    from: "sip:a@b",
    referTo: "sip:c@d",
    toSelf: true,
  });
  assert.deepEqual(last(transport), {
    kind: "EndpointRefer",
    key: { kind: "endpoint", id: "PJSIP/alice" },
    endpoint_refer: { from: "sip:a@b", refer_to: "sip:c@d", to_self: true },
  });
  await client.sounds.list({ lang: "en" });
  assert.deepEqual(last(transport), {
    kind: "SoundList",
    key: null,
    sound_list: { filters: { lang: "en" } },
  });
  await client.applications.handle("app").subscribe(
    client.deviceStates.handle("Stasis:d"),
  );
  assert.deepEqual(last(transport).application_subscribe, {
    event_source: "deviceState:Stasis:d",
  });
  await client.userEvent("custom", { source: "channel:c1" });
  assert.deepEqual(last(transport), {
    kind: "UserEvent",
    key: null,
    user_event: { name: "custom", application: "app", source: ["channel:c1"] },
  });
});

Deno.test("list methods return the keys of the response, and [] when Go omits them", async () => {
  const { transport, client } = setup();
  await using _ = client;
  const keys = [
    { kind: "channel", id: "a", node: "n1", app: "app" },
    { kind: "channel", id: "b", node: "n2", app: "app" },
  ];
  transport.respond("ChannelList", { error: "", keys });
  assert.deepEqual(await client.channels.list(), keys);
  assert.deepEqual(await client.bridges.list(), []);
});

Deno.test("get() binds the handle to the key the server answered with", async () => {
  const { transport, client } = setup();
  await using _ = client;
  transport.respond("ChannelGet", {
    error: "",
    key: { kind: "channel", id: "c1", node: "n9", app: "other" },
  });
  const handle = await client.channels.get("c1");
  assert.deepEqual(handle.key, {
    kind: "channel",
    id: "c1",
    node: "n9",
    app: "other",
  });
  await handle.answer();
  assert.deepEqual(last(transport).key, handle.key);
});

Deno.test("handle() takes node and application from an event origin", async () => {
  const { client } = setup();
  await using _ = client;
  const handle = client.channels.handle("c1", {
    asterisk_id: "n7",
    application: "app",
  });
  assert.deepEqual(handle.key, {
    kind: "channel",
    id: "c1",
    node: "n7",
    app: "app",
  });
  assert.throws(() => client.channels.handle(""), TypeError);
  assert.throws(
    () => client.channels.handle({ kind: "bridge", id: "b1" }),
    TypeError,
  );
});

Deno.test("data() returns the typed model with its key", async () => {
  const { transport, client } = setup();
  await using _ = client;
  transport.respond("ChannelData", {
    error: "",
    data: { channel: { id: "c1", name: "Local/100", state: "Up" } },
  });
  const data = await client.channels.data({ id: "c1", node: "n1" });
  assert.equal(data.state, "Up");
  assert.deepEqual(data.key, { kind: "channel", id: "c1", node: "n1" });
  transport.respond("ChannelVariableGet", { error: "", data: {} });
  assert.equal(await client.channels.handle("c1").variables.get("EMPTY"), "");
});

Deno.test("StoredRecordingHandle.download() joins the ranges the server returns", async () => {
  const { transport, client } = setup();
  await using _ = client;
  const file = new TextEncoder().encode("RIFF-and-some-audio");
  transport.respond("RecordingStoredFile", (req) => {
    const offset = req.recording_stored_file?.offset ?? 0;
    const part = file.slice(offset, offset + 5);
    return {
      error: "",
      data: {
        stored_recording_file: {
          data: btoa(String.fromCharCode(...part)),
          offset,
          size: file.length,
          content_type: "audio/wav",
        },
      },
    };
  });
  const bytes = await client.storedRecordings.handle("r1").download();
  assert.equal(new TextDecoder().decode(bytes), "RIFF-and-some-audio");
  assert.equal(transport.requests.length, 4);
});

Deno.test("Channels.stageOriginate() reserves on the staging node and exec() originates there", async () => {
  const { transport, client } = setup();
  await using _ = client;
  transport.respond("ChannelStageOriginate", (req) => ({
    error: "",
    key: {
      kind: "channel",
      id: req.channel_originate?.originate_request.channelId ?? "",
      node: "n5",
      app: "app",
    },
  }));
  const staged = await client.channels.stageOriginate({
    endpoint: "Local/100@default",
  });
  assert.deepEqual(last(transport).kind, "ChannelStageOriginate");
  assert.deepEqual(staged.handle.key, {
    kind: "channel",
    id: "id1-ch",
    node: "n5",
    app: "app",
  });
  const a = staged.exec();
  const b = staged.exec();
  assert.equal(a, b);
  assert.equal(await a, staged.handle);
  assert.deepEqual(last(transport), {
    kind: "ChannelOriginate",
    key: { node: "n5", app: "app" },
    channel_originate: {
      originate_request: {
        endpoint: "Local/100@default",
        app: "app",
        channelId: "id1-ch",
      },
    },
  });
  assert.equal(
    transport.requests.filter((r) => r.kind === "ChannelOriginate").length,
    1,
  );
});

Deno.test("request options reach the transport; the client default timeout applies", async () => {
  const transport = createFakeTransport();
  await using client = createClient(transport, { timeout: 1_234 });
  await client.channels.handle("c1").answer();
  assert.deepEqual(transport.recorded.at(-1)?.options, { timeout: 1_234 });
  const signal = new AbortController().signal;
  await client.channels.handle("c1").play("sound:x", { timeout: 50, signal });
  assert.deepEqual(transport.recorded.at(-1)?.options, { timeout: 50, signal });
});

Deno.test("methods reject invalid arguments with TypeError or RangeError", async () => {
  const { client } = setup();
  await using _ = client;
  const ch = client.channels.handle("c1");
  await assert.rejects(ch.play([]), TypeError);
  await assert.rejects(ch.sendDtmf(""), TypeError);
  await assert.rejects(ch.dial({ dialTimeout: -1 }), RangeError);
  await assert.rejects(client.channels.originate({ endpoint: "" }), TypeError);
  await assert.rejects(client.bridges.handle("b1").addChannel(""), TypeError);
  assert.throws(
    () => createClient(createFakeTransport(), { bufferSize: 0 }),
    RangeError,
  );
  assert.throws(() => createClient({} as never), TypeError);
});
