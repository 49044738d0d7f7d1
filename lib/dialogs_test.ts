// deno-lint-ignore-file camelcase -- wire names
import assert from "node:assert/strict";
import {
  createDialogRegistry,
  eventSourceBindings,
  fillMissingIds,
  isValidDialog,
  newResourceId,
  requestBindings,
} from "./dialogs.ts";
import type { Request } from "../client/protocol/types.ts";

const D = { dialog: "d1", node: "n", app: "a" };

Deno.test("createDialogRegistry() returns each dialog once for several matching keys", () => {
  const reg = createDialogRegistry();
  reg.bind("d1", "channel", "c1");
  reg.bind("d1", "bridge", "b1");
  reg.bind("d2", "bridge", "b1");
  reg.bind("d1", "channel", "c1"); // duplicate
  assert.deepEqual(reg.list("channel", "c1"), ["d1"]);
  assert.deepEqual(
    reg.dialogsFor([
      { kind: "channel", id: "c1" },
      { kind: "bridge", id: "b1" },
      { kind: "channel", id: "other" },
    ]),
    ["d1", "d2"],
  );
  assert.deepEqual(reg.stats(), { entities: 2, dialogs: 2, evicted: 0 });
});

Deno.test("createDialogRegistry() ignores empty dialog, kind or id", () => {
  const reg = createDialogRegistry();
  reg.bind("", "channel", "c1");
  reg.bind("d", "", "c1");
  reg.bind("d", "channel", "");
  assert.equal(reg.size, 0);
  assert.deepEqual(reg.dialogsFor([{ kind: "channel" }, {}]), []);
});

Deno.test("createDialogRegistry() unbind() drops an entity and unbindDialog() a dialog", () => {
  const reg = createDialogRegistry();
  reg.bind("d1", "channel", "c1");
  reg.bind("d2", "channel", "c1");
  reg.bind("d1", "playback", "p1");
  reg.unbind("channel", "c1");
  assert.deepEqual(reg.list("channel", "c1"), []);
  assert.deepEqual(reg.stats(), { entities: 1, dialogs: 1, evicted: 0 });
  reg.bind("d2", "playback", "p1");
  reg.unbindDialog("d1");
  assert.deepEqual(reg.list("playback", "p1"), ["d2"]);
  reg.unbindDialog("d2");
  assert.equal(reg.size, 0);
  assert.equal(reg.stats().dialogs, 0);
});

Deno.test("createDialogRegistry() evicts the oldest entity beyond maxEntities", () => {
  const evicted: string[] = [];
  const reg = createDialogRegistry({
    maxEntities: 3,
    onEvict: (kind, id) => evicted.push(`${kind}:${id}`),
  });
  for (let i = 0; i < 10; i++) reg.bind("d", "channel", `c${i}`);
  assert.equal(reg.size, 3);
  assert.deepEqual(evicted, [
    "channel:c0",
    "channel:c1",
    "channel:c2",
    "channel:c3",
    "channel:c4",
    "channel:c5",
    "channel:c6",
  ]);
  assert.deepEqual(reg.list("channel", "c9"), ["d"]);
  assert.equal(reg.stats().evicted, 7);
  reg.clear();
  assert.equal(reg.size, 0);
  assert.throws(() => createDialogRegistry({ maxEntities: 0 }), RangeError);
});

Deno.test("requestBindings() binds nothing without a dialog", () => {
  assert.deepEqual(
    requestBindings({
      kind: "ChannelAnswer",
      key: { kind: "channel", id: "c" },
    }),
    [],
  );
  assert.deepEqual(requestBindings({ kind: "ChannelAnswer", key: null }), []);
});

Deno.test("requestBindings() follows PROTOCOL.md for every binding kind", () => {
  const cases: [Request, string[]][] = [
    [{ kind: "ChannelAnswer", key: { kind: "channel", id: "c1", ...D } }, [
      "channel:c1",
    ]],
    [{ kind: "ChannelSubscribe", key: { kind: "channel", id: "c1", ...D } }, [
      "channel:c1",
    ]],
    [{
      kind: "ChannelVariableSet",
      key: { kind: "channel", id: "c1", ...D },
      channel_variable: { name: "X", value: "1" },
    }, ["channel:c1"]],
    [{ kind: "ChannelData", key: { kind: "channel", id: "c1", ...D } }, []],
    [{
      kind: "ChannelOriginate",
      key: { ...D },
      channel_originate: {
        originate_request: {
          endpoint: "Local/100@default",
          channelId: "c1",
          otherChannelId: "c2",
          originator: "c0",
        },
      },
    }, ["channel:c1", "channel:c2", "channel:c0"]],
    [{
      kind: "ChannelOriginate",
      key: { kind: "channel", id: "k", ...D },
      channel_originate: {
        originate_request: { endpoint: "Local/100@default", channelId: "c1" },
      },
    }, ["channel:c1", "channel:k"]],
    [{
      kind: "ChannelCreate",
      key: { ...D },
      channel_create: {
        channel_create_request: {
          endpoint: "Local/100@default",
          app: "a",
          channelId: "c1",
          otherChannelId: "c2",
        },
      },
    }, ["channel:c1", "channel:c2"]],
    [{
      kind: "ChannelStageExternalMedia",
      key: { ...D },
      channel_external_media: { options: { channelId: "x1", format: "ulaw" } },
    }, ["channel:x1"]],
    [{
      kind: "ChannelStageOriginate",
      key: { ...D },
      channel_external_media: { options: { channelId: "x2", format: "ulaw" } },
    }, ["channel:x2"]],
    [{
      kind: "ChannelSnoop",
      key: { kind: "channel", id: "c1", ...D },
      channel_snoop: { snoop_id: "s1" },
    }, ["channel:s1"]],
    [{
      kind: "ChannelPlay",
      key: { kind: "channel", id: "c1", ...D },
      channel_play: { playback_id: "p1", media_uri: "sound:beep" },
    }, ["channel:c1", "playback:p1"]],
    [{
      kind: "BridgeStagePlay",
      key: { kind: "bridge", id: "b1", ...D },
      bridge_play: { playback_id: "p1", media_uri: "sound:beep" },
    }, ["bridge:b1", "playback:p1"]],
    [{
      kind: "ChannelRecord",
      key: { kind: "channel", id: "c1", ...D },
      channel_record: { name: "r1" },
    }, ["channel:c1", "liverecording:r1"]],
    [{
      kind: "BridgeRecord",
      key: { kind: "bridge", id: "b1", ...D },
      bridge_record: { name: "r1" },
    }, ["bridge:b1", "liverecording:r1"]],
    [{
      kind: "BridgeCreate",
      key: { kind: "bridge", id: "b1", ...D },
      bridge_create: { type: "mixing" },
    }, ["bridge:b1"]],
    [{
      kind: "BridgeAddChannel",
      key: { kind: "bridge", id: "b1", ...D },
      bridge_add_channel: { channel: "c1,c2" },
    }, ["bridge:b1", "channel:c1", "channel:c2"]],
    [{
      kind: "BridgeRemoveChannel",
      key: { kind: "bridge", id: "b1", ...D },
      bridge_remove_channel: { channel: "c1" },
    }, ["bridge:b1", "channel:c1"]],
    [{
      kind: "BridgeVideoSource",
      key: { kind: "bridge", id: "b1", ...D },
      bridge_video_source: { channel: "c1" },
    }, ["bridge:b1", "channel:c1"]],
    [{ kind: "BridgeSubscribe", key: { kind: "bridge", id: "b1", ...D } }, [
      "bridge:b1",
    ]],
    [{ kind: "PlaybackSubscribe", key: { kind: "playback", id: "p1", ...D } }, [
      "playback:p1",
    ]],
    [{
      kind: "RecordingLiveSubscribe",
      key: { kind: "liverecording", id: "r1", ...D },
    }, ["liverecording:r1"]],
    [{
      kind: "ApplicationSubscribe",
      key: { kind: "application", id: "a", ...D },
      application_subscribe: { event_source: "deviceState:Stasis:x" },
    }, ["devicestate:Stasis:x"]],
    [{
      kind: "DeviceStateUpdate",
      key: { kind: "devicestate", id: "Stasis:x", ...D },
      device_state_update: { state: "BUSY" },
    }, []],
  ];
  for (const [request, expected] of cases) {
    assert.deepEqual(
      requestBindings(request).map((b) => `${b.kind}:${b.id}`),
      expected,
      request.kind,
    );
  }
});

Deno.test("requestBindings() tolerates missing and mistyped bodies", () => {
  const broken = [
    { kind: "ChannelPlay", key: { id: "c1", ...D } },
    { kind: "ChannelOriginate", key: { ...D }, channel_originate: 5 },
    {
      kind: "BridgeAddChannel",
      key: { id: "b", ...D },
      bridge_add_channel: [],
    },
    {
      kind: "ApplicationSubscribe",
      key: { ...D },
      application_subscribe: null,
    },
    { kind: "NoSuchKind", key: { id: "x", ...D } },
  ] as unknown as Request[];
  for (const request of broken) requestBindings(request);
  assert.deepEqual(requestBindings(broken[0]!), [{
    kind: "channel",
    id: "c1",
  }]);
});

Deno.test("eventSourceBindings() maps the event source kinds", () => {
  assert.deepEqual(
    eventSourceBindings(
      "channel:c1,bridge:b1,endpoint:PJSIP/x,deviceState:Stasis:y,golden:x,nocolon",
    ),
    [
      { kind: "channel", id: "c1" },
      { kind: "bridge", id: "b1" },
      { kind: "endpoint", id: "PJSIP/x" },
      { kind: "devicestate", id: "Stasis:y" },
    ],
  );
});

Deno.test("isValidDialog() accepts subject-safe dialog ids only", () => {
  assert.ok(isValidDialog("d-1"));
  assert.ok(isValidDialog("a.b"));
  for (
    const bad of ["", "a b", "*", "a.>", ".a", "a.", "a..b", "x".repeat(257)]
  ) {
    assert.equal(isValidDialog(bad), false, bad);
  }
});

Deno.test("fillMissingIds() fills the ids of dialog-bound creations only", () => {
  const gen = (kind: string) => `gen-${kind}`;
  const orig: Request = {
    kind: "ChannelOriginate",
    key: { ...D },
    channel_originate: { originate_request: { endpoint: "Local/1@default" } },
  };
  const filled = fillMissingIds(orig, gen);
  assert.equal(filled.channel_originate?.originate_request.channelId, "gen-ch");
  assert.equal(orig.channel_originate?.originate_request.channelId, undefined);
  assert.deepEqual(requestBindings(filled), [{
    kind: "channel",
    id: "gen-ch",
  }]);

  const kept: Request = {
    kind: "ChannelOriginate",
    key: { ...D },
    channel_originate: {
      originate_request: { endpoint: "Local/1@default", channelId: "mine" },
    },
  };
  assert.equal(fillMissingIds(kept, gen), kept);
  const noDialog: Request = { ...orig, key: {} };
  assert.equal(fillMissingIds(noDialog, gen), noDialog);

  const cases: [Request, (r: Request) => unknown, string][] = [
    [
      {
        kind: "ChannelRecord",
        key: { id: "c", ...D },
        channel_record: { name: "" },
      },
      (r) => r.channel_record?.name,
      "gen-rc",
    ],
    [
      {
        kind: "BridgePlay",
        key: { id: "b", ...D },
        bridge_play: { playback_id: "", media_uri: "sound:x" },
      },
      (r) => r.bridge_play?.playback_id,
      "gen-pb",
    ],
    [
      {
        kind: "ChannelSnoop",
        key: { id: "c", ...D },
        channel_snoop: { snoop_id: "" },
      },
      (r) => r.channel_snoop?.snoop_id,
      "gen-sn",
    ],
    [
      {
        kind: "ChannelCreate",
        key: { ...D },
        channel_create: {
          channel_create_request: { endpoint: "Local/1@default", app: "a" },
        },
      },
      (r) => r.channel_create?.channel_create_request.channelId,
      "gen-ch",
    ],
    [
      {
        kind: "ChannelExternalMedia",
        key: { ...D },
        channel_external_media: { options: { format: "ulaw" } },
      },
      (r) => r.channel_external_media?.options.channelId,
      "gen-ch",
    ],
  ];
  for (const [request, get, expected] of cases) {
    assert.equal(get(fillMissingIds(request, gen)), expected, request.kind);
  }
  // A missing body stays missing (the codec reports it).
  const missing = { kind: "ChannelPlay", key: { id: "c", ...D } } as Request;
  assert.equal(fillMissingIds(missing, gen), missing);
});

Deno.test("newResourceId() makes unique Go-style ids", () => {
  const ids = new Set(Array.from({ length: 1000 }, () => newResourceId("pb")));
  assert.equal(ids.size, 1000);
  for (const id of ids) assert.match(id, /^[0-9a-hjkmnp-tv-z]{26}-pb$/);
});
