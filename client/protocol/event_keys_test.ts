// deno-lint-ignore-file camelcase -- ARI event field names
import assert from "node:assert/strict";
import { ARI_EVENT_TYPES, type AriEventType } from "../generated/events.ts";
import { eventKeys, isDestroyEvent } from "./event_keys.ts";

function ch(id: string): Record<string, unknown> {
  return { id, name: `PJSIP/${id}`, state: "Up" };
}

function br(id: string, channels: string[] = []): Record<string, unknown> {
  return { id, technology: "simple_bridge", bridge_type: "mixing", channels };
}

function ep(
  technology: string,
  resource: string,
  channel_ids: string[] = [],
): Record<string, unknown> {
  return { technology, resource, state: "online", channel_ids };
}

/**
 * One sample per ARI event type (its entity fields) and the keys expected,
 * as `kind:id`.
 */
const SAMPLES: {
  [T in AriEventType]: [Record<string, unknown>, string[]];
} = {
  MissingParams: [{ params: ["x"] }, []],
  RESTResponse: [{ transaction_id: "t", status_code: 200 }, []],
  DeviceStateChanged: [
    { device_state: { name: "Stasis:d1", state: "INUSE" } },
    ["devicestate:Stasis:d1"],
  ],
  PlaybackStarted: [
    { playback: { id: "pb1", target_uri: "channel:c1" } },
    ["playback:pb1", "channel:c1"],
  ],
  PlaybackContinuing: [
    { playback: { id: "pb1", target_uri: "bridge:b1" } },
    ["playback:pb1", "bridge:b1"],
  ],
  PlaybackFinished: [
    { playback: { id: "pb1", target_uri: "channel:c1" } },
    ["playback:pb1", "channel:c1"],
  ],
  RecordingStarted: [
    { recording: { name: "r1", target_uri: "channel:c1" } },
    ["liverecording:r1", "channel:c1"],
  ],
  RecordingFinished: [
    { recording: { name: "r1", target_uri: "bridge:b1" } },
    ["liverecording:r1", "bridge:b1"],
  ],
  RecordingFailed: [
    { recording: { name: "r1", target_uri: "channel:c1", cause: "x" } },
    ["liverecording:r1", "channel:c1"],
  ],
  ApplicationMoveFailed: [
    { channel: ch("c1"), destination: "other", args: [] },
    ["channel:c1"],
  ],
  ApplicationRegistered: [{}, ["application:app"]],
  ApplicationUnregistered: [{}, ["application:app"]],
  ApplicationReplaced: [{}, ["application:app"]],
  BridgeCreated: [
    { bridge: br("b1", ["c1", "c2"]) },
    ["bridge:b1", "channel:c1", "channel:c2"],
  ],
  BridgeDestroyed: [{ bridge: br("b1") }, ["bridge:b1"]],
  BridgeMerged: [
    { bridge: br("b1", ["c1"]), bridge_from: br("b2", ["c2"]) },
    ["bridge:b1", "channel:c1", "bridge:b2", "channel:c2"],
  ],
  BridgeVideoSourceChanged: [
    { bridge: br("b1", ["c1"]), old_video_source_id: "c0" },
    ["bridge:b1", "channel:c1"],
  ],
  BridgeBlindTransfer: [
    {
      bridge: br("b1", ["c1"]),
      channel: ch("c2"),
      replace_channel: ch("c3"),
      transferee: ch("c4"),
      exten: "100",
      context: "default",
      result: "Success",
      is_external: false,
    },
    ["bridge:b1", "channel:c1", "channel:c2", "channel:c3", "channel:c4"],
  ],
  BridgeAttendedTransfer: [
    {
      destination_threeway_bridge: br("b1", ["cx"]),
      transferer_first_leg_bridge: br("b2"),
      transferer_second_leg_bridge: br("b3"),
      destination_bridge: "b4",
      destination_link_first_leg: ch("c1"),
      destination_link_second_leg: ch("c2"),
      destination_threeway_channel: ch("c3"),
      replace_channel: ch("c4"),
      transferee: ch("c5"),
      transferer_first_leg: ch("c6"),
      transferer_second_leg: ch("c7"),
      transfer_target: ch("c8"),
    },
    [
      "bridge:b1",
      "bridge:b2",
      "bridge:b3",
      "bridge:b4",
      "channel:c1",
      "channel:c2",
      "channel:c3",
      "channel:c4",
      "channel:c5",
      "channel:c6",
      "channel:c7",
      "channel:c8",
    ],
  ],
  ChannelCreated: [{ channel: ch("c1") }, ["channel:c1"]],
  ChannelDestroyed: [{ channel: ch("c1"), cause: 16 }, ["channel:c1"]],
  ChannelEnteredBridge: [
    { channel: ch("c1"), bridge: br("b1", ["c1", "c2"]) },
    ["channel:c1", "bridge:b1", "channel:c2"],
  ],
  ChannelLeftBridge: [
    { channel: ch("c1"), bridge: br("b1", ["c2"]) },
    ["channel:c1", "bridge:b1", "channel:c2"],
  ],
  ChannelStateChange: [{ channel: ch("c1") }, ["channel:c1"]],
  ChannelDtmfReceived: [{ channel: ch("c1"), digit: "1" }, ["channel:c1"]],
  ChannelDialplan: [{ channel: ch("c1") }, ["channel:c1"]],
  ChannelCallerId: [{ channel: ch("c1") }, ["channel:c1"]],
  ChannelUserevent: [
    {
      channel: ch("c1"),
      bridge: br("b1", ["c2"]),
      endpoint: ep("PJSIP", "alice", ["c3"]),
      eventname: "e",
      userevent: {},
    },
    [
      "channel:c1",
      "bridge:b1",
      "channel:c2",
      "endpoint:PJSIP/alice",
      "channel:c3",
    ],
  ],
  ChannelHangupRequest: [{ channel: ch("c1") }, ["channel:c1"]],
  ChannelVarset: [
    { channel: ch("c1"), variable: "X", value: "1" },
    ["channel:c1"],
  ],
  ChannelHold: [{ channel: ch("c1") }, ["channel:c1"]],
  ChannelUnhold: [{ channel: ch("c1") }, ["channel:c1"]],
  ChannelToneDetected: [{ channel: ch("c1") }, ["channel:c1"]],
  ChannelTalkingStarted: [{ channel: ch("c1") }, ["channel:c1"]],
  ChannelTalkingFinished: [
    { channel: ch("c1"), duration: 10 },
    ["channel:c1"],
  ],
  ContactStatusChange: [
    { endpoint: ep("PJSIP", "alice"), contact_info: { uri: "sip:x" } },
    ["endpoint:PJSIP/alice"],
  ],
  PeerStatusChange: [
    { endpoint: ep("PJSIP", "alice", ["c1"]), peer: { peer_status: "ok" } },
    ["endpoint:PJSIP/alice"],
  ],
  EndpointStateChange: [
    { endpoint: ep("PJSIP", "alice", ["c1"]) },
    ["endpoint:PJSIP/alice"],
  ],
  Dial: [
    {
      caller: ch("c1"),
      peer: ch("c2"),
      forwarded: ch("c3"),
      dialstatus: "ANSWER",
    },
    ["channel:c1", "channel:c2", "channel:c3"],
  ],
  StasisEnd: [{ channel: ch("c1") }, ["channel:c1"]],
  StasisStart: [
    { channel: ch("c1"), replace_channel: ch("c0"), args: [] },
    ["channel:c1", "channel:c0"],
  ],
  TextMessageReceived: [
    { endpoint: ep("PJSIP", "alice"), message: { from: "a", to: "b" } },
    ["endpoint:PJSIP/alice"],
  ],
  ChannelConnectedLine: [{ channel: ch("c1") }, ["channel:c1"]],
  ChannelTransfer: [
    {
      state: "requested",
      refer_to: {
        requested_destination: { destination: "100" },
        destination_channel: ch("c1"),
        connected_channel: ch("c2"),
        bridge: br("b1", ["c9"]),
      },
      referred_by: {
        source_channel: ch("c3"),
        connected_channel: ch("c4"),
        bridge: br("b2"),
      },
    },
    [
      "channel:c1",
      "channel:c2",
      "bridge:b1",
      "channel:c3",
      "channel:c4",
      "bridge:b2",
    ],
  ],
  CallBroadcast: [{ channel: ch("c1"), caller: "100" }, ["channel:c1"]],
  CallClaimed: [{ channel: ch("c1"), winner_app: "app" }, ["channel:c1"]],
};

function ids(keys: { kind?: string; id?: string }[]): string[] {
  return keys.map((k) => `${k.kind}:${k.id}`);
}

Deno.test("eventKeys() names the entities of every ARI event type", () => {
  assert.deepEqual(Object.keys(SAMPLES).sort(), [...ARI_EVENT_TYPES].sort());
  for (const type of ARI_EVENT_TYPES) {
    const [fields, expected] = SAMPLES[type];
    const event = {
      type,
      application: "app",
      asterisk_id: "n1",
      timestamp: "2026-01-01T00:00:00.000+0000",
      ...fields,
    };
    const keys = eventKeys(event);
    assert.deepEqual(ids(keys), expected, type);
    for (const key of keys) {
      assert.equal(key.app, "app", type);
      assert.equal(key.node, "n1", type);
      assert.equal("dialog" in key, false, type);
    }
  }
});

Deno.test("eventKeys() stamps keys with app, node and dialog in wire order", () => {
  const [key] = eventKeys({
    type: "StasisEnd",
    application: "app",
    asterisk_id: "n1",
    dialog: "d1",
    channel: ch("c1"),
  });
  assert.deepEqual(key, {
    kind: "channel",
    id: "c1",
    node: "n1",
    dialog: "d1",
    app: "app",
  });
  assert.deepEqual(Object.keys(key ?? {}), [
    "kind",
    "id",
    "node",
    "dialog",
    "app",
  ]);
  // Missing location fields are omitted, not empty.
  assert.deepEqual(eventKeys({ type: "StasisEnd", channel: ch("c1") }), [
    { kind: "channel", id: "c1" },
  ]);
});

Deno.test("eventKeys() skips zero-valued entities and duplicates", () => {
  // Go's re-encoded Dial: zero-valued caller and forwarded.
  const zero = {
    id: "",
    name: "",
    creationtime: "1970-01-01T00:00:00.000+0000",
  };
  assert.deepEqual(
    ids(
      eventKeys({
        type: "Dial",
        caller: zero,
        peer: ch("c2"),
        forwarded: zero,
      }),
    ),
    ["channel:c2"],
  );
  // Go's ChannelUserevent: zero bridge and endpoint.
  assert.deepEqual(
    ids(eventKeys({
      type: "ChannelUserevent",
      channel: ch("c1"),
      bridge: { key: null, id: "", channels: null },
      endpoint: { technology: "", resource: "", channel_ids: null },
    })),
    ["channel:c1"],
  );
  // Go's BridgeCreated lists the bridge's channels twice; we do not.
  assert.deepEqual(
    ids(
      eventKeys({
        type: "ChannelEnteredBridge",
        channel: ch("c1"),
        bridge: br("b1", ["c1", "c1"]),
      }),
    ),
    ["channel:c1", "bridge:b1"],
  );
  // A global ChannelVarset names no entity.
  assert.deepEqual(
    eventKeys({ type: "ChannelVarset", variable: "X", value: "1" }),
    [],
  );
});

Deno.test("eventKeys() parses playback and recording targets", () => {
  const cases: [unknown, string[]][] = [
    ["channel:c1", ["playback:p", "channel:c1"]],
    ["bridge:b1", ["playback:p", "bridge:b1"]],
    ["channel:a:b", ["playback:p", "channel:a:b"]],
    ["channel:", ["playback:p"]],
    ["endpoint:PJSIP/x", ["playback:p"]],
    ["nocolon", ["playback:p"]],
    [":x", ["playback:p"]],
    [undefined, ["playback:p"]],
    [5, ["playback:p"]],
  ];
  for (const [target_uri, expected] of cases) {
    assert.deepEqual(
      ids(
        eventKeys({
          type: "PlaybackStarted",
          playback: { id: "p", target_uri },
        }),
      ),
      expected,
      String(target_uri),
    );
  }
});

Deno.test("eventKeys() searches unknown event types for the usual entities", () => {
  assert.deepEqual(
    ids(eventKeys({
      type: "SomethingNew",
      application: "app",
      channel: ch("c1"),
      bridge: br("b1", ["c2"]),
      playback: { id: "p1", target_uri: "channel:c1" },
      recording: { name: "r1" },
      endpoint: ep("PJSIP", "x"),
      device_state: { name: "d" },
    })),
    [
      "channel:c1",
      "bridge:b1",
      "channel:c2",
      "playback:p1",
      "liverecording:r1",
      "endpoint:PJSIP/x",
      "devicestate:d",
    ],
  );
  assert.deepEqual(eventKeys({ type: "SomethingNew" }), []);
  assert.deepEqual(eventKeys({}), []);
  assert.deepEqual(eventKeys({ type: 5, channel: ch("c1") }), [{
    kind: "channel",
    id: "c1",
  }]);
  // Inherited names are not event types.
  assert.deepEqual(
    eventKeys({ type: "toString", channel: ch("c1") }).length,
    1,
  );
});

Deno.test("eventKeys() tolerates malformed entity fields", () => {
  for (
    const event of [
      { type: "StasisStart", channel: null },
      { type: "StasisStart", channel: "c1" },
      { type: "StasisStart", channel: [ch("c1")] },
      { type: "StasisStart", channel: { id: 5 } },
      { type: "BridgeCreated", bridge: { id: "b", channels: "c1" } },
      { type: "ChannelTransfer", refer_to: null, referred_by: "x" },
      { type: "EndpointStateChange", endpoint: { resource: "x" } },
    ]
  ) {
    const keys = eventKeys(event);
    assert.ok(keys.every((k) => typeof k.id === "string" && k.id !== ""));
  }
});

Deno.test("isDestroyEvent() names the entities Asterisk reports gone", () => {
  const base = { application: "app", asterisk_id: "n1" };
  assert.deepEqual(
    isDestroyEvent({ ...base, type: "ChannelDestroyed", channel: ch("c1") }),
    [{ kind: "channel", id: "c1", node: "n1", app: "app" }],
  );
  assert.deepEqual(
    ids(
      isDestroyEvent({
        ...base,
        type: "BridgeDestroyed",
        bridge: br("b1", ["c1"]),
      }),
    ),
    ["bridge:b1"],
  );
  assert.deepEqual(
    ids(isDestroyEvent({
      ...base,
      type: "PlaybackFinished",
      playback: { id: "p1", target_uri: "channel:c1" },
    })),
    ["playback:p1"],
  );
  for (const type of ["RecordingFinished", "RecordingFailed"]) {
    assert.deepEqual(
      ids(
        isDestroyEvent({
          ...base,
          type,
          recording: { name: "r1", target_uri: "channel:c1" },
        }),
      ),
      ["liverecording:r1"],
    );
  }
  for (const type of ARI_EVENT_TYPES) {
    if (
      [
        "ChannelDestroyed",
        "BridgeDestroyed",
        "PlaybackFinished",
        "RecordingFinished",
        "RecordingFailed",
      ].includes(type)
    ) continue;
    const [fields] = SAMPLES[type];
    assert.deepEqual(isDestroyEvent({ ...base, type, ...fields }), [], type);
  }
  assert.deepEqual(isDestroyEvent({ type: "ChannelDestroyed" }), []);
  assert.deepEqual(
    isDestroyEvent({ type: "ChannelDestroyed", channel: { id: "" } }),
    [],
  );
});
