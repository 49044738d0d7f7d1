import assert from "node:assert/strict";
import {
  ARI_OPERATIONS,
  ARI_OPERATIONS_BY_ID,
} from "../generated/operations.ts";
import { KIND_NAMES, KIND_TABLE } from "../protocol/kinds.ts";
import type { Key, Request, Response } from "../protocol/types.ts";
import { decodeRequest } from "../protocol/codec.ts";
import {
  createKindExecutor,
  KIND_OPERATIONS,
  type KindExecutor,
} from "./executor.ts";
import { createAriRestClient } from "./rest.ts";
import {
  type FakeAri,
  type FakeAriCall,
  type FakeAriOptions,
  startFakeAri,
} from "./testdata/fake_ari.ts";

const NODE = "02:00:00:00:60:0d";
const APP = "golden";

interface Setup extends AsyncDisposable {
  ari: FakeAri;
  exec: KindExecutor;
  /** Executes and returns the response plus the ARI calls it made. */
  run(
    request: Request,
    options?: { signal?: AbortSignal; timeout?: number },
  ): Promise<{ response: Response; calls: FakeAriCall[] }>;
}

function setup(options: FakeAriOptions = {}): Setup {
  const ari = startFakeAri({ entityId: NODE, ...options });
  const rest = createAriRestClient({
    url: ari.url,
    username: "u",
    password: "p",
  });
  let n = 0;
  const exec = createKindExecutor({
    rest,
    application: APP,
    node: () => NODE,
    idGenerator: () => `gen${++n}`,
  });
  return {
    ari,
    exec,
    async run(request, execOptions) {
      const before = ari.calls.length;
      const response = await exec.execute(request, execOptions);
      return { response, calls: ari.calls.slice(before) };
    },
    async [Symbol.asyncDispose]() {
      await rest.close();
      await ari.close();
    },
  };
}

function chanKey(id: string, extra: Partial<Key> = {}): Key {
  return { kind: "channel", id, node: NODE, app: APP, ...extra };
}

function key(kind: string, id: string, extra: Partial<Key> = {}): Key {
  return { kind, id, node: NODE, app: APP, ...extra };
}

function stamped(kind: string, id?: string, dialog?: string): Key {
  const out: Key = { kind };
  if (id !== undefined) out.id = id;
  out.node = NODE;
  if (dialog !== undefined) out.dialog = dialog;
  out.app = APP;
  return out;
}

/** Expected ARI call: method, path, and (when given) query and body. */
interface Expected {
  method: string;
  path: string;
  query?: Record<string, string>;
  body?: unknown;
}

function assertCall(actual: FakeAriCall | undefined, expected: Expected) {
  assert.ok(actual, `expected a call to ${expected.method} ${expected.path}`);
  assert.equal(
    `${actual.method} ${actual.path}`,
    `${expected.method} ${expected.path}`,
  );
  assert.deepEqual(actual.query, expected.query ?? {});
  assert.deepEqual(actual.body, expected.body);
}

Deno.test("KIND_OPERATIONS has a list of known ARI operations for every kind", () => {
  assert.deepEqual(Object.keys(KIND_OPERATIONS).sort(), [...KIND_NAMES]);
  for (const [kind, ops] of Object.entries(KIND_OPERATIONS)) {
    for (const op of ops) {
      assert.ok(op in ARI_OPERATIONS_BY_ID, `${kind}: unknown operation ${op}`);
    }
    if (
      kind.includes("Stage") ||
      (kind.endsWith("Subscribe") && !kind.startsWith("Application"))
    ) {
      assert.deepEqual(ops, [], `${kind} must not call ARI`);
    } else if (kind !== "BridgeUnsubscribe") {
      assert.ok(ops.length > 0, `${kind} calls no ARI operation`);
    }
  }
});

Deno.test("KIND_OPERATIONS reaches every ARI operation except the events WebSocket", () => {
  const reachable = new Set(Object.values(KIND_OPERATIONS).flat());
  const missing = ARI_OPERATIONS.filter((op) =>
    !op.websocket && !reachable.has(op.id)
  ).map((op) => op.id);
  assert.deepEqual(missing, []);
  assert.ok(!reachable.has("events.eventWebsocket"));
});

Deno.test("createKindExecutor() rejects missing options with TypeError", async () => {
  await using ari = startFakeAri();
  const rest = createAriRestClient({ url: ari.url });
  assert.throws(
    () => createKindExecutor({ rest, application: "", node: () => "n" }),
    TypeError,
  );
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => createKindExecutor({ rest, application: "a" } as any),
    TypeError,
  );
  await rest.close();
});

Deno.test("execute() maps channel commands to ARI calls", async () => {
  await using t = setup();
  const k = chanKey("c1");
  const cases: [Request, Expected][] = [
    [{ kind: "ChannelAnswer", key: k }, {
      method: "POST",
      path: "/channels/c1/answer",
    }],
    [{ kind: "ChannelHangup", key: k, channel_hangup: { reason: "" } }, {
      method: "DELETE",
      path: "/channels/c1",
      query: { reason: "normal" },
    }],
    [{
      kind: "ChannelHangup",
      key: k,
      channel_hangup: { reason: "", reason_code: "17" },
    }, {
      method: "DELETE",
      path: "/channels/c1",
      query: { reason_code: "17" },
    }],
    [{ kind: "ChannelBusy", key: k }, {
      method: "DELETE",
      path: "/channels/c1",
      query: { reason: "busy" },
    }],
    [{ kind: "ChannelCongestion", key: k }, {
      method: "DELETE",
      path: "/channels/c1",
      query: { reason: "congestion" },
    }],
    [{ kind: "ChannelHold", key: k }, {
      method: "POST",
      path: "/channels/c1/hold",
    }],
    [{ kind: "ChannelStopHold", key: k }, {
      method: "DELETE",
      path: "/channels/c1/hold",
    }],
    [{ kind: "ChannelRing", key: k }, {
      method: "POST",
      path: "/channels/c1/ring",
    }],
    [{ kind: "ChannelStopRing", key: k }, {
      method: "DELETE",
      path: "/channels/c1/ring",
    }],
    [{ kind: "ChannelSilence", key: k }, {
      method: "POST",
      path: "/channels/c1/silence",
    }],
    [{ kind: "ChannelStopSilence", key: k }, {
      method: "DELETE",
      path: "/channels/c1/silence",
    }],
    [{ kind: "ChannelMOH", key: k, channel_moh: { music: "default" } }, {
      method: "POST",
      path: "/channels/c1/moh",
      query: { mohClass: "default" },
    }],
    [{ kind: "ChannelStopMOH", key: k }, {
      method: "DELETE",
      path: "/channels/c1/moh",
    }],
    [{ kind: "ChannelMute", key: k, channel_mute: {} }, {
      method: "POST",
      path: "/channels/c1/mute",
      query: { direction: "both" },
    }],
    [{ kind: "ChannelUnmute", key: k, channel_mute: { direction: "in" } }, {
      method: "DELETE",
      path: "/channels/c1/mute",
      query: { direction: "in" },
    }],
    [{
      kind: "ChannelSendDTMF",
      key: k,
      channel_send_dtmf: {
        dtmf: "123",
        options: {
          Before: 100_000_000,
          Between: 50_000_000,
          Duration: 120_900_000,
          After: 0,
        },
      },
    }, {
      method: "POST",
      path: "/channels/c1/dtmf",
      query: { dtmf: "123", before: "100", between: "50", duration: "120" },
    }],
    [{
      kind: "ChannelSendDTMF",
      key: k,
      channel_send_dtmf: { dtmf: "9", options: null },
    }, {
      method: "POST",
      path: "/channels/c1/dtmf",
      query: { dtmf: "9", between: "100", duration: "100" },
    }],
    [{
      kind: "ChannelDial",
      key: k,
      channel_dial: { caller: "", timeout: 7_900_000_000 },
    }, { method: "POST", path: "/channels/c1/dial", query: { timeout: "7" } }],
    [{
      kind: "ChannelContinue",
      key: k,
      channel_continue: { context: "default", extension: "100", priority: 1 },
    }, {
      method: "POST",
      path: "/channels/c1/continue",
      query: { context: "default", extension: "100", priority: "1" },
    }],
    [{
      kind: "ChannelVariableSet",
      key: k,
      channel_variable: { name: "CALLERID(name)", value: "a & b" },
    }, {
      method: "POST",
      path: "/channels/c1/variable",
      query: { variable: "CALLERID(name)", value: "a & b" },
    }],
    [{
      kind: "ChannelVariablesSet",
      key: k,
      variables_set: { variables: { A: "1", B: "2" } },
    }, {
      method: "POST",
      path: "/channels/c1/variables",
      body: { variables: { A: "1", B: "2" } },
    }],
    [{ kind: "ChannelProgress", key: k }, {
      method: "POST",
      path: "/channels/c1/progress",
    }],
    [{
      kind: "ChannelMove",
      key: k,
      channel_move: { app: "other", appArgs: "x" },
    }, {
      method: "POST",
      path: "/channels/c1/move",
      query: { app: "other", appArgs: "x" },
    }],
    [{
      kind: "ChannelRedirect",
      key: k,
      channel_redirect: { endpoint: "PJSIP/bob" },
    }, {
      method: "POST",
      path: "/channels/c1/redirect",
      query: { endpoint: "PJSIP/bob" },
    }],
    [{
      kind: "ChannelTransferProgress",
      key: k,
      channel_transfer_progress: { states: "channel_answered" },
    }, {
      method: "POST",
      path: "/channels/c1/transfer_progress",
      query: { states: "channel_answered" },
    }],
    [
      { kind: "ChannelClaim", key: k, channel_claim: { application: "other" } },
      {
        method: "POST",
        path: "/events/claim",
        query: { channelId: "c1", application: "other" },
      },
    ],
    [{
      kind: "ChannelUserEvent",
      key: k,
      channel_user_event: {
        UserEvent: {
          application: "",
          type: "",
          eventname: "golden-ue",
          userevent: { k1: "v1" },
        },
      },
    }, {
      method: "POST",
      path: "/events/user/golden-ue",
      query: { application: APP, source: "channel:c1" },
      body: { variables: { k1: "v1" } },
    }],
  ];
  for (const [request, expected] of cases) {
    const { response, calls } = await t.run(request);
    assert.deepEqual(response, { error: "" }, request.kind);
    assert.equal(calls.length, 1, request.kind);
    assertCall(calls[0], expected);
  }
});

Deno.test("execute() answers channel data, get, list and variables in Go's shapes", async () => {
  await using t = setup({
    route: (call) =>
      call.query.variable === "EMPTY"
        ? Response.json({ value: "" })
        : undefined,
  });
  let r = await t.run({
    kind: "ChannelData",
    key: { kind: "channel", id: "c1", node: NODE, dialog: "d1", app: APP },
  });
  assert.deepEqual(r.response, {
    error: "",
    data: {
      channel: {
        key: stamped("channel", "c1", "d1"),
        id: "c1",
        name: "Local/c1",
        state: "Up",
      },
    },
  });
  assert.deepEqual(Object.keys(r.response.data!.channel!)[0], "key");
  assertCall(r.calls[0], { method: "GET", path: "/channels/c1" });

  r = await t.run({ kind: "ChannelGet", key: { id: "c1" } });
  assert.deepEqual(r.response, { error: "", key: stamped("channel", "c1") });
  assert.deepEqual(Object.keys(r.response.key!), ["kind", "id", "node", "app"]);

  r = await t.run({ kind: "ChannelList", key: {} });
  assert.deepEqual(r.response, {
    error: "",
    keys: [stamped("channel", "e1"), stamped("channel", "e2")],
  });

  r = await t.run({
    kind: "ChannelVariableGet",
    key: chanKey("c1"),
    channel_variable: { name: "X" },
  });
  assert.deepEqual(r.response, { error: "", data: { variable: "v" } });
  assertCall(r.calls[0], {
    method: "GET",
    path: "/channels/c1/variable",
    query: { variable: "X" },
  });

  r = await t.run({
    kind: "ChannelVariableGet",
    key: chanKey("c1"),
    channel_variable: { name: "EMPTY" },
  });
  assert.deepEqual(r.response, { error: "", data: {} });

  r = await t.run({
    kind: "ChannelVariablesGet",
    key: chanKey("c1"),
    variables_get: { names: ["A", "B"] },
  });
  assert.deepEqual(r.response, { error: "", data: { variables: { A: "1" } } });
  assertCall(r.calls[0], {
    method: "GET",
    path: "/channels/c1/variables",
    query: { variables: "A,B" },
  });

  r = await t.run({ kind: "ChannelRTPStatistics", key: chanKey("c1") });
  assert.deepEqual(r.response, {
    error: "",
    data: { rtp_statistics: { txcount: 1, rxcount: 2 } },
  });
});

Deno.test("execute() originates and creates channels with known ids", async () => {
  await using t = setup();
  let r = await t.run({
    kind: "ChannelOriginate",
    key: {},
    channel_originate: {
      originate_request: {
        endpoint: "Local/100@default",
        timeout: 10,
        callerId: "Golden <100>",
        app: APP,
        appArgs: "a,b",
        otherChannelId: "o1",
        variables: { GOLDEN_ORIG: "1" },
      },
    },
  });
  assert.deepEqual(r.response, { error: "", key: stamped("channel", "gen1") });
  assertCall(r.calls[0], {
    method: "POST",
    path: "/channels",
    query: {
      endpoint: "Local/100@default",
      app: APP,
      appArgs: "a,b",
      callerId: "Golden <100>",
      timeout: "10",
      otherChannelId: "o1",
      channelId: "gen1",
    },
    body: { variables: { GOLDEN_ORIG: "1" } },
  });

  r = await t.run({
    kind: "ChannelOriginate",
    key: chanKey("parent"),
    channel_originate: {
      originate_request: {
        endpoint: "Local/100@default",
        app: APP,
        channelId: "mine",
        variables: null,
      },
    },
  });
  assert.deepEqual(r.response, { error: "", key: stamped("channel", "mine") });
  assertCall(r.calls[0], {
    method: "POST",
    path: "/channels/mine",
    query: { endpoint: "Local/100@default", app: APP, originator: "parent" },
  });

  r = await t.run({
    kind: "ChannelCreate",
    key: { node: NODE, app: APP },
    channel_create: {
      channel_create_request: {
        endpoint: "Local/100@default",
        app: APP,
        appArgs: "created",
        channelId: "d1",
        otherChannelId: "d2",
      },
    },
  });
  assert.deepEqual(r.response, { error: "", key: stamped("channel", "d1") });
  assertCall(r.calls[0], {
    method: "POST",
    path: "/channels/create",
    query: {
      endpoint: "Local/100@default",
      app: APP,
      appArgs: "created",
      channelId: "d1",
      otherChannelId: "d2",
    },
  });

  r = await t.run({
    kind: "ChannelExternalMedia",
    key: {},
    channel_external_media: {
      options: {
        channelId: "em1",
        app: "",
        external_host: "127.0.0.1:40010",
        encapsulation: "",
        transport: "",
        connection_type: "",
        format: "ulaw",
        direction: "",
        variables: { X: "1" },
      },
    },
  });
  assert.deepEqual(r.response, { error: "", key: stamped("channel", "em1") });
  assertCall(r.calls[0], {
    method: "POST",
    path: "/channels/externalMedia",
    query: {
      channelId: "em1",
      app: APP,
      external_host: "127.0.0.1:40010",
      encapsulation: "rtp",
      transport: "udp",
      connection_type: "client",
      format: "ulaw",
      direction: "both",
    },
    body: { variables: { X: "1" } },
  });

  r = await t.run({
    kind: "ChannelExternalMedia",
    key: {},
    channel_external_media: { options: { format: "ulaw", external_host: "" } },
  });
  assert.equal(r.response.code, "invalidField");
  assert.match(r.response.error, /external_host is required/);
  assert.equal(r.calls.length, 0);
});

Deno.test("execute() plays, records and snoops with converted options", async () => {
  await using t = setup();
  const k = chanKey("c1");
  let r = await t.run({
    kind: "ChannelPlay",
    key: k,
    channel_play: { playback_id: "pb1", media_uri: "sound:hello-world" },
  });
  assert.deepEqual(r.response, { error: "", key: stamped("playback", "pb1") });
  assertCall(r.calls[0], {
    method: "POST",
    path: "/channels/c1/play/pb1",
    query: { media: "sound:hello-world" },
  });

  r = await t.run({
    kind: "ChannelPlay",
    key: k,
    channel_play: {
      playback_id: "",
      media_uri: "",
      media_uris: ["sound:a", "sound:b"],
      lang: "en",
      offsetms: 10,
    },
  });
  assert.deepEqual(r.response, { error: "", key: stamped("playback", "gen1") });
  assertCall(r.calls[0], {
    method: "POST",
    path: "/channels/c1/play",
    query: {
      media: "sound:a,sound:b",
      lang: "en",
      offsetms: "10",
      playbackId: "gen1",
    },
  });

  r = await t.run({
    kind: "ChannelRecord",
    key: k,
    channel_record: {
      name: "rec1",
      options: {
        Format: "wav",
        MaxDuration: 10_999_999_999,
        MaxSilence: 3_000_000_000,
        Exists: "overwrite",
        Beep: true,
        Terminate: "#",
      },
    },
  });
  assert.deepEqual(r.response, {
    error: "",
    key: stamped("liverecording", "rec1"),
  });
  assertCall(r.calls[0], {
    method: "POST",
    path: "/channels/c1/record",
    query: {
      name: "rec1",
      format: "wav",
      maxDurationSeconds: "10",
      maxSilenceSeconds: "3",
      ifExists: "overwrite",
      beep: "true",
      terminateOn: "#",
    },
  });

  r = await t.run({
    kind: "ChannelRecord",
    key: k,
    channel_record: { name: "nilopts" },
  });
  assert.equal(r.response.code, "invalidField");
  assert.match(r.response.error, /channel_record\.options\.Format is required/);
  assert.equal(r.calls.length, 0);

  r = await t.run({
    kind: "ChannelSnoop",
    key: k,
    channel_snoop: {
      snoop_id: "sn1",
      options: { app: APP, appArgs: "snooping", spy: "both" },
    },
  });
  assert.deepEqual(r.response, { error: "", key: stamped("channel", "sn1") });
  assertCall(r.calls[0], {
    method: "POST",
    path: "/channels/c1/snoop/sn1",
    query: { spy: "both", app: APP, appArgs: "snooping" },
  });

  r = await t.run({
    kind: "ChannelSnoop",
    key: k,
    channel_snoop: { snoop_id: "" },
  });
  assert.deepEqual(r.response, { error: "", key: stamped("channel", "gen2") });
  assertCall(r.calls[0], {
    method: "POST",
    path: "/channels/c1/snoop",
    query: { app: APP, snoopId: "gen2" },
  });
});

Deno.test("execute() answers Stage* and subscribe kinds without calling ARI", async () => {
  await using t = setup();
  const k = chanKey("c1", { dialog: "d1" });
  const b = key("bridge", "b1", { dialog: "d1" });
  const cases: [Request, Response][] = [
    [{
      kind: "ChannelStageOriginate",
      key: {},
      channel_originate: { originate_request: { endpoint: "Local/1@x" } },
    }, { error: "", key: stamped("channel", "gen1") }],
    [{
      kind: "ChannelStageOriginate",
      key: {},
      channel_originate: {
        originate_request: { endpoint: "Local/1@x", channelId: "o1" },
      },
    }, { error: "", key: stamped("channel", "o1") }],
    [{
      kind: "ChannelStageOriginate",
      key: {},
      channel_external_media: {
        options: { channelId: "em2", external_host: "h:1", format: "ulaw" },
      },
    }, { error: "", key: stamped("channel", "em2") }],
    [{
      kind: "ChannelStageExternalMedia",
      key: { node: NODE, app: APP },
      channel_external_media: {
        options: { channelId: "em3", external_host: "h:1", format: "ulaw" },
      },
    }, { error: "", key: stamped("channel", "em3") }],
    [{
      kind: "ChannelStagePlay",
      key: k,
      channel_play: { playback_id: "pb2", media_uri: "sound:beep" },
    }, { error: "", key: stamped("playback", "pb2") }],
    [{
      kind: "ChannelStageRecord",
      key: k,
      channel_record: { name: "rec2", options: { Format: "wav" } },
    }, { error: "", key: stamped("liverecording", "rec2", "d1") }],
    [{
      kind: "ChannelStageSnoop",
      key: k,
      channel_snoop: { snoop_id: "", options: { app: APP } },
    }, { error: "", key: stamped("channel", "gen2") }],
    [{
      kind: "BridgeStageCreate",
      key: b,
      bridge_create: { type: "holding", name: "x" },
    }, { error: "", key: stamped("bridge", "b1", "d1") }],
    [
      { kind: "BridgeStageCreate", key: {}, bridge_create: { type: "mixing" } },
      {
        error: "",
        key: stamped("bridge", "gen3"),
      },
    ],
    [{
      kind: "BridgeStagePlay",
      key: b,
      bridge_play: { playback_id: "pb3", media_uri: "sound:beep" },
    }, { error: "", key: stamped("playback", "pb3") }],
    [{
      kind: "BridgeStageRecord",
      key: b,
      bridge_record: { name: "", options: { Format: "wav" } },
    }, { error: "", key: stamped("liverecording", "gen4", "d1") }],
    [{ kind: "ChannelSubscribe", key: k }, { error: "" }],
    [{ kind: "BridgeSubscribe", key: b }, { error: "" }],
    [{ kind: "BridgeUnsubscribe", key: b }, { error: "" }],
    [{ kind: "PlaybackSubscribe", key: key("playback", "pb1") }, { error: "" }],
    [{
      kind: "RecordingLiveSubscribe",
      key: key("liverecording", "r1"),
    }, { error: "" }],
  ];
  for (const [request, expected] of cases) {
    const { response, calls } = await t.run(request);
    assert.deepEqual(response, expected, request.kind);
    assert.deepEqual(calls, [], `${request.kind} must not call ARI`);
  }
});

Deno.test("execute() maps bridge kinds to ARI calls and shapes", async () => {
  await using t = setup();
  const k = key("bridge", "b1");
  const commands: [Request, Expected][] = [
    [{ kind: "BridgeDelete", key: k }, {
      method: "DELETE",
      path: "/bridges/b1",
    }],
    [{
      kind: "BridgeAddChannel",
      key: k,
      bridge_add_channel: {
        channel: "c1",
        absorbDTMF: true,
        mute: false,
        role: "participant",
      },
    }, {
      method: "POST",
      path: "/bridges/b1/addChannel",
      query: { channel: "c1", role: "participant", absorbDTMF: "true" },
    }],
    [{
      kind: "BridgeRemoveChannel",
      key: k,
      bridge_remove_channel: { channel: "c1" },
    }, {
      method: "POST",
      path: "/bridges/b1/removeChannel",
      query: { channel: "c1" },
    }],
    [{ kind: "BridgeMOH", key: k, bridge_moh: { class: "default" } }, {
      method: "POST",
      path: "/bridges/b1/moh",
      query: { mohClass: "default" },
    }],
    [{ kind: "BridgeStopMOH", key: k }, {
      method: "DELETE",
      path: "/bridges/b1/moh",
    }],
    [{
      kind: "BridgeVideoSource",
      key: k,
      bridge_video_source: { channel: "c1" },
    }, { method: "POST", path: "/bridges/b1/videoSource/c1" }],
    [{ kind: "BridgeVideoSourceDelete", key: k }, {
      method: "DELETE",
      path: "/bridges/b1/videoSource",
    }],
    [{
      kind: "BridgeVariableSet",
      key: k,
      bridge_variable: { name: "X", value: "1" },
    }, {
      method: "POST",
      path: "/bridges/b1/variable",
      query: { variable: "X", value: "1" },
    }],
    [{
      kind: "BridgeVariablesSet",
      key: k,
      variables_set: { variables: { X: "1" } },
    }, {
      method: "POST",
      path: "/bridges/b1/variables",
      body: { variables: { X: "1" } },
    }],
  ];
  for (const [request, expected] of commands) {
    const { response, calls } = await t.run(request);
    assert.deepEqual(response, { error: "" }, request.kind);
    assertCall(calls[0], expected);
  }

  let r = await t.run({
    kind: "BridgeCreate",
    key: { kind: "bridge", id: "b1", node: NODE, dialog: "d1", app: APP },
    bridge_create: { type: "mixing", name: "golden-bridge" },
  });
  assert.deepEqual(r.response, {
    error: "",
    key: stamped("bridge", "b1", "d1"),
  });
  assertCall(r.calls[0], {
    method: "POST",
    path: "/bridges/b1",
    query: { type: "mixing", name: "golden-bridge" },
  });

  r = await t.run({
    kind: "BridgeCreate",
    key: null,
    bridge_create: { type: "" },
  });
  assert.deepEqual(r.response, { error: "", key: stamped("bridge", "gen1") });
  assertCall(r.calls[0], {
    method: "POST",
    path: "/bridges",
    query: { bridgeId: "gen1" },
  });

  r = await t.run({
    kind: "BridgePlay",
    key: k,
    bridge_play: { playback_id: "pb1", media_uri: "sound:hello-world" },
  });
  assert.deepEqual(r.response, { error: "", key: stamped("playback", "pb1") });
  assertCall(r.calls[0], {
    method: "POST",
    path: "/bridges/b1/play/pb1",
    query: { media: "sound:hello-world" },
  });

  r = await t.run({
    kind: "BridgeRecord",
    key: k,
    bridge_record: {
      name: "brec",
      options: {
        Format: "wav",
        MaxDuration: 5_000_000_000,
        MaxSilence: 0,
        Exists: "overwrite",
        Beep: false,
        Terminate: "",
      },
    },
  });
  assert.deepEqual(r.response, {
    error: "",
    key: stamped("liverecording", "brec"),
  });
  assertCall(r.calls[0], {
    method: "POST",
    path: "/bridges/b1/record",
    query: {
      name: "brec",
      format: "wav",
      maxDurationSeconds: "5",
      maxSilenceSeconds: "0",
      ifExists: "overwrite",
      beep: "false",
    },
  });

  r = await t.run({ kind: "BridgeData", key: k });
  assert.deepEqual(r.response, {
    error: "",
    data: {
      bridge: {
        key: stamped("bridge", "b1"),
        id: "b1",
        bridge_type: "mixing",
        channels: [],
      },
    },
  });
  r = await t.run({ kind: "BridgeGet", key: k });
  assert.deepEqual(r.response, { error: "", key: stamped("bridge", "b1") });
  r = await t.run({ kind: "BridgeList", key: {} });
  assert.deepEqual(r.response.keys, [
    stamped("bridge", "e1"),
    stamped("bridge", "e2"),
  ]);
  r = await t.run({
    kind: "BridgeVariableGet",
    key: k,
    bridge_variable: { name: "X" },
  });
  assert.deepEqual(r.response, { error: "", data: { variable: "v" } });
  r = await t.run({
    kind: "BridgeVariablesGet",
    key: k,
    variables_get: { names: ["A"] },
  });
  assert.deepEqual(r.response, { error: "", data: { variables: { A: "1" } } });
});

Deno.test("execute() answers empty lists without keys", async () => {
  await using t = setup({
    route: (call) => call.method === "GET" ? Response.json([]) : undefined,
  });
  for (
    const kind of [
      "ChannelList",
      "BridgeList",
      "ApplicationList",
      "AsteriskModuleList",
      "AsteriskLoggingList",
      "DeviceStateList",
      "EndpointList",
      "MailboxList",
      "RecordingStoredList",
    ]
  ) {
    const { response } = await t.run({ kind, key: {} });
    assert.deepEqual(response, { error: "" }, kind);
  }
});

Deno.test("execute() maps application, asterisk, config, logging and module kinds", async () => {
  await using t = setup();
  const app = key("application", APP);
  const commands: [Request, Expected][] = [
    [{
      kind: "ApplicationSubscribe",
      key: app,
      application_subscribe: { event_source: "channel:c1" },
    }, {
      method: "POST",
      path: `/applications/${APP}/subscription`,
      query: { eventSource: "channel:c1" },
    }],
    [{
      kind: "ApplicationUnsubscribe",
      key: app,
      application_subscribe: { event_source: "endpoint:PJSIP/alice" },
    }, {
      method: "DELETE",
      path: `/applications/${APP}/subscription`,
      query: { eventSource: "endpoint:PJSIP/alice" },
    }],
    [{
      kind: "ApplicationEventFilter",
      key: app,
      application_event_filter: {
        filter: { allowed: [{ type: "StasisStart" }], disallowed: [] },
      },
    }, {
      method: "PUT",
      path: `/applications/${APP}/eventFilter`,
      body: { allowed: [{ type: "StasisStart" }], disallowed: [] },
    }],
    [{
      kind: "AsteriskVariableSet",
      key: key("variable", "G"),
      asterisk_variable_set: { value: "hello & <world>" },
    }, {
      method: "POST",
      path: "/asterisk/variable",
      query: { variable: "G", value: "hello & <world>" },
    }],
    [{
      kind: "AsteriskConfigUpdate",
      key: key("config", "res_pjsip/endpoint/alice"),
      asterisk_config: { tuples: [{ attribute: "allow", value: "ulaw" }] },
    }, {
      method: "PUT",
      path: "/asterisk/config/dynamic/res_pjsip/endpoint/alice",
      body: { fields: [{ attribute: "allow", value: "ulaw" }] },
    }],
    [{
      kind: "AsteriskConfigDelete",
      key: key("config", "res_pjsip/endpoint/alice"),
    }, {
      method: "DELETE",
      path: "/asterisk/config/dynamic/res_pjsip/endpoint/alice",
    }],
    [{ kind: "AsteriskLoggingDelete", key: key("logging", "mylog") }, {
      method: "DELETE",
      path: "/asterisk/logging/mylog",
    }],
    [{ kind: "AsteriskLoggingRotate", key: key("logging", "mylog") }, {
      method: "PUT",
      path: "/asterisk/logging/mylog/rotate",
    }],
    [{ kind: "AsteriskModuleLoad", key: key("module", "res_x.so") }, {
      method: "POST",
      path: "/asterisk/modules/res_x.so",
    }],
    [{ kind: "AsteriskModuleUnload", key: key("module", "res_x.so") }, {
      method: "DELETE",
      path: "/asterisk/modules/res_x.so",
    }],
    [{ kind: "AsteriskModuleReload", key: key("module", "res_x.so") }, {
      method: "PUT",
      path: "/asterisk/modules/res_x.so",
    }],
    [{
      kind: "UserEvent",
      key: null,
      user_event: {
        name: "ev",
        application: "",
        source: ["channel:c1", "bridge:b1"],
        variables: { a: "1" },
      },
    }, {
      method: "POST",
      path: "/events/user/ev",
      query: { application: APP, source: "channel:c1,bridge:b1" },
      body: { variables: { a: "1" } },
    }],
  ];
  for (const [request, expected] of commands) {
    const { response, calls } = await t.run(request);
    assert.deepEqual(response, { error: "" }, request.kind);
    assertCall(calls[0], expected);
  }

  let r = await t.run({ kind: "ApplicationData", key: app });
  assert.deepEqual(r.response, {
    error: "",
    data: {
      application: {
        key: stamped("application", APP),
        name: APP,
        channel_ids: [],
      },
    },
  });
  r = await t.run({ kind: "ApplicationList", key: {} });
  assert.deepEqual(r.response.keys, [
    stamped("application", "e1"),
    stamped("application", "e2"),
  ]);

  r = await t.run({ kind: "AsteriskInfo", key: {} });
  assert.equal(
    (r.response.data?.asterisk?.system as Record<string, unknown>).entity_id,
    NODE,
  );
  assert.equal(r.response.data?.asterisk?.key, undefined);
  assertCall(r.calls[0], { method: "GET", path: "/asterisk/info" });
  r = await t.run({
    kind: "AsteriskInfo",
    key: null,
    asterisk_info: { only: "system" },
  });
  assertCall(r.calls[0], {
    method: "GET",
    path: "/asterisk/info",
    query: { only: "system" },
  });

  r = await t.run({ kind: "AsteriskPing", key: null });
  assert.deepEqual(r.response.data?.asterisk_ping?.ping, "pong");

  r = await t.run({ kind: "AsteriskVariableGet", key: key("variable", "G") });
  assert.deepEqual(r.response, { error: "", data: { variable: "v" } });
  assertCall(r.calls[0], {
    method: "GET",
    path: "/asterisk/variable",
    query: { variable: "G" },
  });

  r = await t.run({
    kind: "AsteriskConfigData",
    key: key("config", "res_pjproject/log_mappings/golden"),
  });
  assert.deepEqual(r.response, {
    error: "",
    data: {
      config: {
        key: stamped("config", "res_pjproject/log_mappings/golden"),
        Class: "res_pjproject",
        Type: "log_mappings",
        Name: "golden",
        Fields: [{ attribute: "a", value: "1" }],
      },
    },
  });
  r = await t.run({ kind: "AsteriskConfigData", key: key("config", "a/b") });
  assert.equal(r.response.code, "invalidKey");
  assert.equal(r.calls.length, 0);

  r = await t.run({ kind: "AsteriskLoggingList", key: {} });
  assert.deepEqual(r.response.keys, [
    stamped("logging", "/var/log/asterisk/messages.log"),
    stamped("logging", "/var/log/asterisk/full"),
  ]);
  r = await t.run({
    kind: "AsteriskLoggingData",
    key: key("logging", "/var/log/asterisk/full"),
  });
  assert.deepEqual(r.response, {
    error: "",
    data: {
      log: {
        key: stamped("logging", "/var/log/asterisk/full"),
        channel: "/var/log/asterisk/full",
        status: "Enabled",
      },
    },
  });
  r = await t.run({ kind: "AsteriskLoggingGet", key: key("logging", "full") });
  assert.deepEqual(r.response, { error: "", key: stamped("logging", "full") });
  r = await t.run({ kind: "AsteriskLoggingGet", key: key("logging", "nope") });
  assert.deepEqual(r.response, {
    error: 'Cannot get logging channel "nope": not found',
    status: 404,
    code: "notFound",
  });
  r = await t.run({
    kind: "AsteriskLoggingCreate",
    key: key("logging", "mylog"),
    asterisk_logging_channel: { config: "notice,warning" },
  });
  assert.deepEqual(r.response, { error: "", key: stamped("logging", "mylog") });
  assertCall(r.calls[0], {
    method: "POST",
    path: "/asterisk/logging/mylog",
    query: { configuration: "notice,warning" },
  });

  r = await t.run({ kind: "AsteriskModuleData", key: key("module", "m.so") });
  assert.deepEqual(r.response, {
    error: "",
    data: {
      module: {
        key: stamped("module", "m.so"),
        name: "m.so",
        status: "Running",
      },
    },
  });
  r = await t.run({ kind: "AsteriskModuleGet", key: key("module", "m.so") });
  assert.deepEqual(r.response, { error: "", key: stamped("module", "m.so") });
});

Deno.test("execute() maps endpoint, device state and mailbox kinds", async () => {
  await using t = setup();
  const ep = key("endpoint", "PJSIP/alice");
  let r = await t.run({ kind: "EndpointList", key: {} });
  assert.deepEqual(r.response, {
    error: "",
    keys: [stamped("endpoint", "PJSIP/alice")],
  });
  r = await t.run({
    kind: "EndpointListByTech",
    key: {},
    endpoint_list_by_tech: { tech: "PJSIP" },
  });
  assertCall(r.calls[0], { method: "GET", path: "/endpoints/PJSIP" });
  assert.deepEqual(r.response.keys, [stamped("endpoint", "PJSIP/alice")]);
  r = await t.run({ kind: "EndpointData", key: ep });
  assertCall(r.calls[0], { method: "GET", path: "/endpoints/PJSIP/alice" });
  assert.deepEqual(r.response, {
    error: "",
    data: {
      endpoint: {
        key: stamped("endpoint", "PJSIP/alice"),
        technology: "PJSIP",
        resource: "alice",
        state: "online",
      },
    },
  });
  r = await t.run({ kind: "EndpointGet", key: ep });
  assert.deepEqual(r.response, {
    error: "",
    key: stamped("endpoint", "PJSIP/alice"),
  });
  r = await t.run({ kind: "EndpointGet", key: key("endpoint", "alice") });
  assert.equal(r.response.code, "invalidKey");
  assert.equal(r.calls.length, 0);

  r = await t.run({
    kind: "EndpointSendMessage",
    key: ep,
    endpoint_send_message: {
      from: "sip:bob",
      body: "hi",
      variables: { X: "1" },
    },
  });
  assert.deepEqual(r.response, { error: "" });
  assertCall(r.calls[0], {
    method: "PUT",
    path: "/endpoints/PJSIP/alice/sendMessage",
    query: { from: "sip:bob", body: "hi" },
    body: { variables: { X: "1" } },
  });
  r = await t.run({
    kind: "EndpointSendMessage",
    key: null,
    endpoint_send_message: { to: "pjsip:alice", from: "sip:bob" },
  });
  assertCall(r.calls[0], {
    method: "PUT",
    path: "/endpoints/sendMessage",
    query: { to: "pjsip:alice", from: "sip:bob" },
  });
  r = await t.run({
    kind: "EndpointSendMessage",
    key: {},
    endpoint_send_message: { from: "sip:bob" },
  });
  assert.equal(r.response.code, "invalidField");
  r = await t.run({
    kind: "EndpointRefer",
    key: ep,
    endpoint_refer: { from: "sip:bob", refer_to: "sip:carol", to_self: true },
  });
  assertCall(r.calls[0], {
    method: "POST",
    path: "/endpoints/PJSIP/alice/refer",
    query: { from: "sip:bob", refer_to: "sip:carol", to_self: "true" },
  });
  r = await t.run({
    kind: "EndpointRefer",
    key: {},
    endpoint_refer: { to: "pjsip:alice", from: "sip:bob", refer_to: "sip:c" },
  });
  assertCall(r.calls[0], {
    method: "POST",
    path: "/endpoints/refer",
    query: { to: "pjsip:alice", from: "sip:bob", refer_to: "sip:c" },
  });

  const ds = key("devicestate", "Stasis:golden1");
  r = await t.run({
    kind: "DeviceStateUpdate",
    key: ds,
    device_state_update: { state: "INUSE" },
  });
  assertCall(r.calls[0], {
    method: "PUT",
    path: "/deviceStates/Stasis%3Agolden1",
    query: { deviceState: "INUSE" },
  });
  r = await t.run({ kind: "DeviceStateData", key: ds });
  assert.deepEqual(r.response, {
    error: "",
    data: {
      device_state: {
        key: stamped("devicestate", "Stasis:golden1"),
        name: "Stasis:golden1",
        state: "INUSE",
      },
    },
  });
  r = await t.run({ kind: "DeviceStateGet", key: ds });
  assert.deepEqual(r.response.key, stamped("devicestate", "Stasis:golden1"));
  r = await t.run({ kind: "DeviceStateList", key: {} });
  assert.deepEqual(r.response.keys?.[0], stamped("devicestate", "e1"));
  r = await t.run({ kind: "DeviceStateDelete", key: ds });
  assertCall(r.calls[0], {
    method: "DELETE",
    path: "/deviceStates/Stasis%3Agolden1",
  });

  const mb = key("mailbox", "golden@default");
  r = await t.run({ kind: "MailboxList", key: {} });
  assert.deepEqual(r.response, {
    error: "",
    keys: [stamped("mailbox", "e1"), stamped("mailbox", "e2")],
  });
  r = await t.run({ kind: "MailboxGet", key: mb });
  assert.deepEqual(r.response, {
    error: "",
    key: stamped("mailbox", "golden@default"),
  });
  assertCall(r.calls[0], {
    method: "GET",
    path: "/mailboxes/golden%40default",
  });
  r = await t.run({ kind: "MailboxData", key: mb });
  assert.deepEqual(r.response, {
    error: "",
    data: {
      mailbox: {
        key: stamped("mailbox", "golden@default"),
        name: "golden@default",
        old_messages: 1,
        new_messages: 2,
      },
    },
  });
  r = await t.run({
    kind: "MailboxUpdate",
    key: mb,
    mailbox_update: { new: 2, old: 1 },
  });
  assert.deepEqual(r.response, { error: "" });
  assertCall(r.calls[0], {
    method: "PUT",
    path: "/mailboxes/golden%40default",
    query: { oldMessages: "1", newMessages: "2" },
  });
  r = await t.run({ kind: "MailboxDelete", key: mb });
  assertCall(r.calls[0], {
    method: "DELETE",
    path: "/mailboxes/golden%40default",
  });
});

Deno.test("execute() maps playback, recording and sound kinds", async () => {
  await using t = setup();
  const pb = key("playback", "pb1");
  const commands: [Request, Expected][] = [
    [{
      kind: "PlaybackControl",
      key: pb,
      playback_control: { command: "pause" },
    }, {
      method: "POST",
      path: "/playbacks/pb1/control",
      query: { operation: "pause" },
    }],
    [{ kind: "PlaybackStop", key: pb }, {
      method: "DELETE",
      path: "/playbacks/pb1",
    }],
    [{ kind: "RecordingLiveStop", key: key("liverecording", "r1") }, {
      method: "POST",
      path: "/recordings/live/r1/stop",
    }],
    [{ kind: "RecordingLivePause", key: key("liverecording", "r1") }, {
      method: "POST",
      path: "/recordings/live/r1/pause",
    }],
    [{ kind: "RecordingLiveResume", key: key("liverecording", "r1") }, {
      method: "DELETE",
      path: "/recordings/live/r1/pause",
    }],
    [{ kind: "RecordingLiveMute", key: key("liverecording", "r1") }, {
      method: "POST",
      path: "/recordings/live/r1/mute",
    }],
    [{ kind: "RecordingLiveUnmute", key: key("liverecording", "r1") }, {
      method: "DELETE",
      path: "/recordings/live/r1/mute",
    }],
    [{ kind: "RecordingLiveScrap", key: key("liverecording", "r1") }, {
      method: "DELETE",
      path: "/recordings/live/r1",
    }],
    [{ kind: "RecordingStoredDelete", key: key("storedrecording", "r1") }, {
      method: "DELETE",
      path: "/recordings/stored/r1",
    }],
  ];
  for (const [request, expected] of commands) {
    const { response, calls } = await t.run(request);
    assert.deepEqual(response, { error: "" }, request.kind);
    assertCall(calls[0], expected);
  }
  let r = await t.run({ kind: "PlaybackData", key: pb });
  assert.deepEqual(r.response, {
    error: "",
    data: {
      playback: {
        key: stamped("playback", "pb1"),
        id: "pb1",
        state: "playing",
      },
    },
  });
  r = await t.run({ kind: "PlaybackGet", key: pb });
  assert.deepEqual(r.response.key, stamped("playback", "pb1"));
  r = await t.run({
    kind: "RecordingLiveData",
    key: key("liverecording", "r1"),
  });
  assert.deepEqual(r.response.data?.live_recording, {
    key: stamped("liverecording", "r1"),
    name: "r1",
    state: "recording",
    format: "wav",
  });
  r = await t.run({
    kind: "RecordingLiveGet",
    key: key("liverecording", "r1"),
  });
  assert.deepEqual(r.response.key, stamped("liverecording", "r1"));
  r = await t.run({ kind: "RecordingStoredList", key: {} });
  assert.deepEqual(r.response.keys, [
    stamped("storedrecording", "e1"),
    stamped("storedrecording", "e2"),
  ]);
  r = await t.run({
    kind: "RecordingStoredData",
    key: key("storedrecording", "r1"),
  });
  assert.deepEqual(r.response.data?.stored_recording, {
    key: stamped("storedrecording", "r1"),
    name: "r1",
    format: "wav",
  });
  r = await t.run({
    kind: "RecordingStoredGet",
    key: key("storedrecording", "r1"),
  });
  assert.deepEqual(r.response.key, stamped("storedrecording", "r1"));
  r = await t.run({
    kind: "RecordingStoredCopy",
    key: key("storedrecording", "r1"),
    recording_stored_copy: { destination: "r1-copy" },
  });
  assert.deepEqual(r.response, {
    error: "",
    key: stamped("storedrecording", "r1-copy"),
  });
  assertCall(r.calls[0], {
    method: "POST",
    path: "/recordings/stored/r1/copy",
    query: { destinationRecordingName: "r1-copy" },
  });

  r = await t.run({
    kind: "RecordingStoredFile",
    key: key("storedrecording", "r1"),
    recording_stored_file: { offset: 2, length: 3 },
  });
  assert.deepEqual(r.response, {
    error: "",
    data: {
      stored_recording_file: {
        data: btoa(String.fromCharCode(3, 4, 5)),
        offset: 2,
        size: 10,
        content_type: "audio/wav",
      },
    },
  });
  assertCall(r.calls[0], { method: "GET", path: "/recordings/stored/r1/file" });
  r = await t.run({
    kind: "RecordingStoredFile",
    key: key("storedrecording", "r1"),
  });
  assert.equal(r.response.data?.stored_recording_file?.size, 10);
  assert.equal(
    atob(r.response.data!.stored_recording_file!.data).length,
    10,
  );
  r = await t.run({
    kind: "RecordingStoredFile",
    key: key("storedrecording", "r1"),
    recording_stored_file: { offset: 50 },
  });
  assert.deepEqual(r.response.data?.stored_recording_file, {
    data: "",
    offset: 10,
    size: 10,
    content_type: "audio/wav",
  });
  r = await t.run({
    kind: "RecordingStoredFile",
    key: key("storedrecording", "r1"),
    recording_stored_file: { length: 0 },
  });
  assert.equal(r.response.code, "invalidField");

  r = await t.run({
    kind: "SoundList",
    key: {},
    sound_list: { filters: { lang: "en", format: "gsm" } },
  });
  assert.deepEqual(r.response.keys, [
    stamped("sound", "hello-world"),
    stamped("sound", "beep"),
  ]);
  assertCall(r.calls[0], {
    method: "GET",
    path: "/sounds",
    query: { lang: "en", format: "gsm" },
  });
  r = await t.run({ kind: "SoundData", key: key("sound", "hello-world") });
  assert.deepEqual(r.response.data?.sound, {
    key: stamped("sound", "hello-world"),
    id: "hello-world",
    formats: [{ language: "en", format: "gsm" }],
  });
});

Deno.test("execute() reports ARI failures with Asterisk's message and status", async () => {
  await using t = setup({
    route: (call) =>
      call.path.startsWith("/channels/gone")
        ? Response.json({ message: "Channel not found" }, { status: 404 })
        : call.path === "/bridges/b1/addChannel"
        ? Response.json({ message: "Channel not in Stasis application" }, {
          status: 422,
        })
        : call.path === "/channels/bad"
        ? new Response("not json", { status: 200 })
        : undefined,
  });
  let r = await t.run({ kind: "ChannelAnswer", key: chanKey("gone") });
  assert.deepEqual(r.response, {
    error: 'Cannot answer channel "gone": 404 Channel not found',
    status: 404,
    code: "ariHttp",
  });
  r = await t.run({ kind: "ChannelData", key: chanKey("gone") });
  assert.deepEqual(r.response, {
    error: 'Cannot get data of channel "gone": 404 Channel not found',
    status: 404,
    code: "ariHttp",
  });
  r = await t.run({
    kind: "BridgeAddChannel",
    key: key("bridge", "b1"),
    bridge_add_channel: { channel: "c9" },
  });
  assert.equal(r.response.status, 422);
  assert.match(r.response.error, /Channel not in Stasis application/);
  r = await t.run({ kind: "ChannelData", key: chanKey("bad") });
  assert.equal(r.response.code, "badAriResponse");
});

Deno.test("execute() rejects bad requests precisely without calling ARI", async () => {
  await using t = setup();
  let r = await t.run({ kind: "ChannelHangup", key: chanKey("c1") });
  assert.deepEqual(r.response, {
    error:
      'Invalid request "ChannelHangup": body field "channel_hangup" is required',
    code: "missingBody",
  });
  assert.equal(r.calls.length, 0);

  r = await t.run({ kind: "ChannelAnswer", key: null });
  assert.equal(r.response.code, "missingKey");
  assert.match(r.response.error, /key\.id is required/);
  r = await t.run({
    kind: "ChannelAnswer",
    key: { kind: "channel", id: ".." },
  });
  assert.equal(r.response.code, "invalidKey");
  r = await t.run({
    kind: "ChannelPlay",
    key: chanKey("c1"),
    channel_play: { playback_id: 5, media_uri: "sound:x" },
  } as unknown as Request);
  assert.deepEqual(r.response, {
    error:
      'Invalid request "ChannelPlay": channel_play.playback_id must be a string, got a number',
    code: "invalidField",
  });
  assert.equal(r.calls.length, 0);

  r = await t.run({ kind: "GoldenNoSuchKind", key: {} });
  assert.deepEqual(r.response, {
    error: "Not implemented",
    code: "unknownKind",
  });
  r = await t.run({ kind: "", key: null });
  assert.equal(r.response.error, "Not implemented");
  r = await t.run({ kind: "toString", key: null });
  assert.equal(r.response.error, "Not implemented");
  r = await t.run(null as unknown as Request);
  assert.equal(r.response.code, "notObject");
  assert.equal(t.ari.calls.length, 0);
});

Deno.test("execute() never throws and never calls ARI for any kind without its body", async () => {
  await using t = setup();
  const lenient = new Set([
    "AsteriskInfo",
    "BridgeStageCreate",
    "ChannelMute",
    "ChannelUnmute",
    "SoundList",
    "RecordingStoredFile",
  ]);
  for (const kind of KIND_NAMES) {
    const info = KIND_TABLE[kind];
    if (info.body === null || lenient.has(kind)) continue;
    const { response, calls } = await t.run({
      kind,
      key: { kind: info.keyKind ?? "", id: "x/y/z" },
    });
    assert.equal(response.code, "missingBody", kind);
    assert.deepEqual(calls, [], kind);
  }
  // Garbage of every type in every field: always an answer.
  const garbage: unknown[] = [null, 0, "", "x", [], {}, true, [1], { a: 1 }];
  for (const kind of KIND_NAMES) {
    const info = KIND_TABLE[kind];
    for (const value of garbage) {
      const request = { kind, key: value } as Record<string, unknown>;
      if (info.body !== null) request[info.body] = value;
      const response = await t.exec.execute(request as unknown as Request);
      assert.equal(typeof response.error, "string", kind);
      assert.notEqual(response.code, "internal", `${kind}: ${response.error}`);
    }
  }
});

Deno.test("execute() keeps crafted ids inside one path segment", async () => {
  await using t = setup();
  const r = await t.run({
    kind: "ChannelData",
    key: { kind: "channel", id: "../asterisk/modules" },
  });
  assert.equal(r.calls.length, 1);
  assert.equal(r.calls[0]!.path, "/channels/..%2Fasterisk%2Fmodules");
  assert.equal(r.calls[0]!.op, "channels.get");
  const q = await t.run({
    kind: "ChannelAnswer",
    key: { kind: "channel", id: "x?y=1#z" },
  });
  assert.equal(q.calls[0]!.path, "/channels/x%3Fy%3D1%23z/answer");
  assert.deepEqual(q.calls[0]!.query, {});
});

Deno.test("execute() answers code aborted, timeout and ariDown for transport failures", async () => {
  const release = Promise.withResolvers<void>();
  const entered = Promise.withResolvers<void>();
  await using t = setup({
    route: async (call) => {
      if (call.path !== "/channels/slow/answer") return undefined;
      entered.resolve();
      await release.promise;
      return new Response(null, { status: 204 });
    },
  });
  const aborted = new AbortController();
  aborted.abort(new Error("stop"));
  let r = await t.run({ kind: "ChannelAnswer", key: chanKey("c1") }, {
    signal: aborted.signal,
  });
  assert.equal(r.response.code, "aborted");
  assert.equal(r.calls.length, 0);

  const controller = new AbortController();
  const pending = t.exec.execute({
    kind: "ChannelAnswer",
    key: chanKey("slow"),
  }, {
    signal: controller.signal,
  });
  await entered.promise;
  controller.abort(new Error("caller gave up"));
  const abortedResponse = await pending;
  assert.equal(abortedResponse.code, "aborted");
  assert.match(abortedResponse.error, /caller gave up/);

  const timedOut = await t.exec.execute({
    kind: "ChannelAnswer",
    key: chanKey("slow"),
  }, { timeout: 1 });
  assert.equal(timedOut.code, "timeout");
  assert.match(
    timedOut.error,
    /Cannot answer channel "slow": ARI did not answer/,
  );
  release.resolve();

  r = await t.run({ kind: "ChannelAnswer", key: chanKey("c1") }, {
    timeout: -1,
  });
  assert.equal(r.response.code, "invalidField");

  // A closed port: the connection fails.
  const gone = startFakeAri();
  const url = gone.url;
  await gone.close();
  await using rest = createAriRestClient({ url });
  const exec = createKindExecutor({ rest, application: APP, node: () => NODE });
  const down = await exec.execute({
    kind: "ChannelAnswer",
    key: chanKey("c1"),
  });
  assert.equal(down.code, "ariDown");
  assert.match(
    down.error,
    /^Cannot answer channel "c1": ARI connection failed/,
  );

  await rest.close();
  const closed = await exec.execute({
    kind: "ChannelAnswer",
    key: chanKey("c1"),
  });
  assert.equal(closed.code, "closed");
});

Deno.test("execute() generates Go-style ids by default", async () => {
  await using ari = startFakeAri();
  await using rest = createAriRestClient({ url: ari.url });
  const exec = createKindExecutor({ rest, application: APP, node: () => NODE });
  const r = await exec.execute({
    kind: "ChannelStageOriginate",
    key: {},
    channel_originate: { originate_request: { endpoint: "Local/1@x" } },
  });
  assert.match(r.key?.id ?? "", /^[0-9a-hjkmnp-tv-z]{26}-ch$/);
});

// ---- golden corpus ----

interface GoldenExchange {
  phase: string;
  step: string;
  kind: string | null;
  request: unknown;
  "request_raw": string | null;
  responses: Response[];
}

async function loadGolden(): Promise<GoldenExchange[]> {
  const url = new URL(
    "../../tests/testdata/golden/requests.jsonl",
    import.meta.url,
  );
  const text = await Deno.readTextFile(url);
  return text.split("\n").filter((line) => line.trim() !== "").map((line) =>
    JSON.parse(line) as GoldenExchange
  );
}

/**
 * Golden steps where Go answered an error and we deliberately succeed:
 * Go's `StageExternalMedia` sends `ChannelStageOriginate` with an external
 * media body (kinds.tsv: accept it).
 */
const IMPROVED_STEPS = new Set(["ChannelStageExternalMedia"]);

function keyShape(k: Key | undefined): string[] {
  return k === undefined ? [] : Object.keys(k);
}

Deno.test("execute() answers every golden request in the shape Go answered", async () => {
  const golden = await loadGolden();
  await using t = setup({
    route: (call) =>
      call.op === "asterisk.listLogChannels"
        ? Response.json([
          { channel: "/var/log/asterisk/golden_test_log", status: "Enabled" },
          { channel: "/var/log/asterisk/messages.log", status: "Enabled" },
        ])
        : undefined,
  });
  await using failing = setup({
    route: () => Response.json({ message: "Not found" }, { status: 404 }),
  });
  let compared = 0;
  for (const exchange of golden) {
    for (const viaCodec of [false, true]) {
      const expected = exchange.responses[0];
      if (expected === undefined || exchange.request === null) continue;
      let request = exchange.request as Request;
      const label = `${exchange.step} (${exchange.kind}${
        viaCodec ? ", via codec" : ""
      })`;
      if (viaCodec) {
        // The server's pipeline: decode (normalize, validate), then execute.
        const decoded = decodeRequest(exchange.request_raw ?? "");
        if (!decoded.ok) {
          assert.notEqual(
            expected.error,
            "",
            `${label}: ${decoded.error.message}`,
          );
          continue;
        }
        request = decoded.request as Request;
      } else if (!("kind" in request)) {
        // Field names in other cases ("Kind", "KEY") are normalized by the codec.
        continue;
      }
      if (expected.error !== "" && !IMPROVED_STEPS.has(exchange.step)) {
        const { response } = await failing.run(request);
        assert.notEqual(response.error, "", `${label}: expected an error`);
        continue;
      }
      const { response } = await t.run(request);
      assert.equal(response.error, "", `${label}: ${response.error}`);
      compared++;
      if (expected.error !== "") continue;
      // Same top-level members, except lists our fake fills that Go found empty.
      const expectedFields = Object.keys(expected).filter((f) => f !== "keys");
      const actualFields = Object.keys(response).filter((f) => f !== "keys");
      assert.deepEqual(actualFields, expectedFields, label);
      if (expected.key !== undefined) {
        assert.deepEqual(response.key, expected.key, label);
      }
      if (expected.keys !== undefined) {
        const want = expected.keys[0]!;
        const got = response.keys?.[0];
        assert.ok(got, `${label}: expected keys`);
        assert.equal(got.kind, want.kind, label);
        assert.equal(got.node, want.node, label);
        assert.equal(got.app, want.app, label);
        // Go's SoundList keys lack ids (a Go bug); ours carry them.
        const wantShape = keyShape(want);
        if (!wantShape.includes("id")) wantShape.splice(1, 0, "id");
        assert.deepEqual(keyShape(got), wantShape, label);
      }
      if (expected.data !== undefined) {
        const members = Object.keys(expected.data);
        if (members.length === 0) {
          // An empty variable: our fake always has a value.
          assert.deepEqual(
            Object.keys(response.data ?? {}),
            ["variable"],
            label,
          );
          continue;
        }
        assert.deepEqual(Object.keys(response.data ?? {}), members, label);
        const member = members[0] as keyof typeof expected.data;
        const want = expected.data[member];
        const got = response.data?.[member];
        if (typeof want === "object" && want !== null && "key" in want) {
          assert.deepEqual(
            (got as { key?: Key }).key,
            (want as { key?: Key }).key,
            label,
          );
          assert.equal(Object.keys(got as object)[0], "key", label);
        }
        if (member === "config") {
          assert.deepEqual(
            Object.keys(got as object),
            Object.keys(want as object),
            label,
          );
        }
      }
    }
  }
  assert.ok(compared > 400, `compared only ${compared} exchanges`);
});
