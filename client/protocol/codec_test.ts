// deno-lint-ignore-file camelcase -- wire field names
import assert from "node:assert/strict";
import { ProtocolError, type ProtocolErrorCode } from "../errors.ts";
import { BODY_SCHEMAS, type FieldType } from "./_body_schema.ts";
import {
  decodeAnnouncement,
  decodeEvent,
  decodeRequest,
  decodeResponse,
  encodeAnnouncement,
  encodeKey,
  encodeRequest,
  encodeResponse,
  errorResponse,
  keyMatches,
  MAX_ID_LENGTH,
  MAX_REQUEST_BYTES,
  normalizeKey,
  NOT_IMPLEMENTED,
} from "./codec.ts";
import { KIND_NAMES, KIND_TABLE, type KindName } from "./kinds.ts";
import type {
  BodyField,
  Key,
  Request,
  RequestBodies,
  TypedRequest,
} from "./types.ts";

const NODE = "02:00:00:00:60:0d";
const CHANNEL_KEY: Key = {
  kind: "channel",
  id: "c1",
  node: NODE,
  app: "golden",
};

const PLAY =
  '{"kind":"ChannelPlay","key":{"kind":"channel","id":"golden-chan-a","node":"02:00:00:00:60:0d","app":"golden"},"channel_play":{"playback_id":"golden-pb-chan-1","media_uri":"sound:hello-world"}}';
const ORIGINATE =
  '{"kind":"ChannelOriginate","key":{},"channel_originate":{"originate_request":{"endpoint":"Local/echo@default","timeout":10,"callerId":"Golden \\u003c100\\u003e","app":"golden","appArgs":"golden,arg2","channelId":"golden-chan-a","otherChannelId":"golden-chan-a2","variables":{"GOLDEN_ORIG":"1"}}}}';

/** Decodes and asserts success; returns the request. */
function ok(input: string | Uint8Array): TypedRequest {
  const decoded = decodeRequest(input);
  if (!decoded.ok) assert.fail(decoded.error.message);
  return decoded.request;
}

/** Decodes and asserts failure with `code` (and `field`); returns the error. */
function rejects(
  input: string | Uint8Array,
  code: ProtocolErrorCode,
  field?: string,
): ProtocolError {
  const decoded = decodeRequest(input);
  assert.ok(!decoded.ok, `expected ${code} for ${String(input).slice(0, 200)}`);
  assert.ok(decoded.error instanceof ProtocolError);
  assert.equal(decoded.error.code, code, decoded.error.message);
  if (field !== undefined) assert.equal(decoded.error.field, field);
  return decoded.error;
}

/** A minimal valid body for every body field. */
const MINIMAL_BODIES: { [F in BodyField]: RequestBodies[F] } = {
  application_subscribe: { event_source: "channel:c1" },
  asterisk_config: { tuples: [{ attribute: "a", value: "b" }] },
  asterisk_logging_channel: { config: "notice" },
  asterisk_variable_set: { value: "v" },
  bridge_add_channel: { channel: "c1" },
  bridge_create: { type: "mixing" },
  bridge_moh: { class: "default" },
  bridge_play: { playback_id: "p1", media_uri: "sound:x" },
  bridge_record: { name: "r1" },
  bridge_remove_channel: { channel: "c1" },
  bridge_video_source: { channel: "c1" },
  channel_create: {
    channel_create_request: { endpoint: "Local/100@default", app: "golden" },
  },
  channel_continue: { context: "default", extension: "100", priority: 1 },
  channel_dial: { caller: "", timeout: 1_000_000_000 },
  channel_hangup: { reason: "normal" },
  channel_moh: { music: "default" },
  channel_mute: { direction: "both" },
  channel_originate: { originate_request: { endpoint: "Local/100@default" } },
  channel_play: { playback_id: "p1", media_uri: "sound:x" },
  channel_record: { name: "r1" },
  channel_send_dtmf: { dtmf: "1" },
  channel_snoop: { snoop_id: "s1" },
  channel_external_media: { options: { format: "ulaw" } },
  channel_variable: { name: "X" },
  channel_user_event: { UserEvent: { eventname: "e" } },
  device_state_update: { state: "INUSE" },
  endpoint_list_by_tech: { tech: "PJSIP" },
  mailbox_update: { new: 1, old: 2 },
  playback_control: { command: "pause" },
  recording_stored_copy: { destination: "copy" },
  sound_list: { filters: { lang: "en" } },
  application_event_filter: { filter: { allowed: [{ type: "StasisStart" }] } },
  variables_set: { variables: { A: "1" } },
  bridge_variable: { name: "X" },
  variables_get: { names: ["A"] },
  channel_move: { app: "other" },
  channel_redirect: { endpoint: "PJSIP/x" },
  channel_transfer_progress: { states: "ringing" },
  channel_claim: { application: "golden" },
  endpoint_send_message: { from: "a", body: "hi" },
  endpoint_refer: { from: "a", refer_to: "b" },
  user_event: { name: "e", application: "golden" },
  recording_stored_file: { offset: 0, length: 10 },
  asterisk_info: { only: "build" },
};

/** A minimal valid request of a kind, built from its KIND_TABLE facts. */
function minimalRequest(kind: KindName): Request {
  const info = KIND_TABLE[kind];
  const key: Key | null = info.needsId
    ? { kind: info.keyKind ?? "channel", id: "id-1", node: NODE, app: "golden" }
    : null;
  const request: Request = { kind, key };
  if (info.body !== null) {
    (request as Record<string, unknown>)[info.body] = MINIMAL_BODIES[info.body];
  }
  return request;
}

Deno.test("encodeRequest() and decodeRequest() round-trip a minimal request of every kind", () => {
  assert.equal(KIND_NAMES.length, Object.keys(KIND_TABLE).length);
  for (const kind of KIND_NAMES) {
    const request = minimalRequest(kind);
    const wire = encodeRequest(request);
    assert.ok(wire.startsWith(`{"kind":"${kind}","key":{`), wire);
    const decoded = ok(wire);
    assert.equal(decoded.kind, kind);
    assert.deepEqual(
      decoded.key,
      request.key ?? {},
      `${kind}: key round trip`,
    );
    const body = KIND_TABLE[kind].body;
    if (body !== null) {
      const got = (decoded as Record<string, unknown>)[body];
      assert.ok(typeof got === "object" && got !== null, kind);
      // Every field we sent comes back unchanged.
      for (const [f, v] of Object.entries(MINIMAL_BODIES[body])) {
        assert.deepEqual(
          (got as Record<string, unknown>)[f],
          v,
          `${kind}.${f}`,
        );
      }
    }
    // Decoding is idempotent through encoding.
    assert.deepEqual(ok(encodeRequest(decoded)), decoded, kind);
  }
});

Deno.test("decodeRequest() decodes a typical ChannelPlay request", () => {
  const request = ok(PLAY);
  assert.deepEqual(request, {
    kind: "ChannelPlay",
    key: {
      kind: "channel",
      id: "golden-chan-a",
      node: NODE,
      app: "golden",
    },
    channel_play: {
      playback_id: "golden-pb-chan-1",
      media_uri: "sound:hello-world",
    },
  });
  assert.equal(encodeRequest(request), PLAY);
});

Deno.test("decodeRequest() accepts bytes, \\u003c escapes and nanosecond durations", () => {
  const request = ok(new TextEncoder().encode(ORIGINATE));
  assert.equal(request.kind, "ChannelOriginate");
  if (request.kind !== "ChannelOriginate") return;
  assert.equal(
    request.channel_originate.originate_request.callerId,
    "Golden <100>",
  );
  const dial = ok(
    '{"kind":"ChannelDial","key":{"id":"c1"},"channel_dial":{"caller":"c0","timeout":7000000000}}',
  );
  assert.ok(dial.kind === "ChannelDial");
  assert.equal(dial.channel_dial.timeout, 7_000_000_000);
  const record = ok(
    '{"kind":"ChannelRecord","key":{"id":"c1"},"channel_record":{"name":"r","options":{"Format":"wav","MaxDuration":10000000000,"MaxSilence":0,"Exists":"overwrite","Beep":true,"Terminate":"#"}}}',
  );
  assert.ok(record.kind === "ChannelRecord");
  assert.deepEqual(record.channel_record.options, {
    Format: "wav",
    MaxDuration: 10_000_000_000,
    MaxSilence: 0,
    Exists: "overwrite",
    Beep: true,
    Terminate: "#",
  });
});

Deno.test("decodeRequest() matches field names case-insensitively like Go", () => {
  const info = ok(
    '{"Kind":"AsteriskInfo","KEY":{"App":"golden"},"golden_extra":42}',
  );
  assert.deepEqual(info, { kind: "AsteriskInfo", key: { app: "golden" } });

  const play = ok(
    '{"KIND":"ChannelPlay","Key":{"ID":"c1","KinD":"channel"},"Channel_Play":{"Media_URI":"sound:x","PLAYBACK_ID":"p"}}',
  );
  assert.deepEqual(play, {
    kind: "ChannelPlay",
    key: { kind: "channel", id: "c1" },
    channel_play: { playback_id: "p", media_uri: "sound:x" },
  });

  // Nested Go struct fields too (originate_request, untagged options).
  const originate = ok(
    '{"kind":"ChannelOriginate","key":null,"channel_originate":{"Originate_Request":{"ENDPOINT":"Local/1@x","CallerID":"me","ChannelID":"c9"}}}',
  );
  assert.ok(originate.kind === "ChannelOriginate");
  assert.deepEqual(originate.channel_originate.originate_request, {
    endpoint: "Local/1@x",
    callerId: "me",
    channelId: "c9",
  });
  const record = ok(
    '{"kind":"BridgeRecord","key":{"id":"b1"},"bridge_record":{"name":"r","options":{"format":"wav","maxduration":5}}}',
  );
  assert.ok(record.kind === "BridgeRecord");
  assert.deepEqual(record.bridge_record.options, {
    Format: "wav",
    MaxDuration: 5,
  });
  const userEvent = ok(
    '{"kind":"ChannelUserEvent","key":{"id":"c1"},"channel_user_event":{"userEvent":{"EventName":"e","application":""}}}',
  );
  assert.ok(userEvent.kind === "ChannelUserEvent");
  assert.deepEqual(userEvent.channel_user_event, {
    UserEvent: { eventname: "e", application: "" },
  });
  // Go's fold also maps the Kelvin sign and long s.
  assert.equal(ok('{"\u212aind":"ChannelList","key":{}}').kind, "ChannelList");
  assert.equal(
    ok('{"kind":"SoundList","key":{},"ſound_liſt":{"filters":{"lang":"en"}}}')
      .kind,
    "SoundList",
  );
});

Deno.test("decodeRequest() lets the last of several case variants win, like Go", () => {
  assert.equal(
    ok('{"kind":"ChannelHangup","Kind":"ChannelList","key":{}}').kind,
    "ChannelList",
  );
  // null leaves a string untouched (Go ignores null for non-pointers).
  const r = ok(
    '{"kind":"ChannelList","key":{"id":"a","ID":null}}',
  );
  assert.deepEqual(r.key, { id: "a" });
});

Deno.test("decodeRequest() accepts null keys, slices and maps, and fills zero values", () => {
  assert.deepEqual(ok('{"kind":"ChannelList","key":null}'), {
    kind: "ChannelList",
    key: {},
  });
  assert.deepEqual(ok('{"kind":"ChannelList"}').key, {});
  assert.deepEqual(ok('{"kind":"ChannelList","key":{}}').key, {});
  const sounds = ok(
    '{"kind":"SoundList","key":{},"sound_list":{"filters":null}}',
  );
  assert.deepEqual(sounds, { kind: "SoundList", key: {}, sound_list: {} });
  const config = ok(
    '{"kind":"AsteriskConfigUpdate","key":{"id":"a/b/c"},"asterisk_config":{"tuples":null}}',
  );
  assert.ok(config.kind === "AsteriskConfigUpdate");
  assert.deepEqual(config.asterisk_config, {});
  const dial = ok('{"kind":"ChannelDial","key":{"id":"c1"},"channel_dial":{}}');
  assert.ok(dial.kind === "ChannelDial");
  assert.deepEqual(dial.channel_dial, { caller: "", timeout: 0 });
  const em = ok(
    '{"kind":"ChannelExternalMedia","key":{},"channel_external_media":{"options":{"external_host":"","variables":null,"format":"ulaw"}}}',
  );
  assert.ok(em.kind === "ChannelExternalMedia");
  assert.deepEqual(em.channel_external_media, {
    options: { external_host: "", format: "ulaw" },
  });
  // A null map element becomes "" (Go stores the zero value).
  const vars = ok(
    '{"kind":"ChannelOriginate","key":{},"channel_originate":{"originate_request":{"endpoint":"x","variables":{"A":null,"B":"b"}}}}',
  );
  assert.ok(vars.kind === "ChannelOriginate");
  assert.deepEqual(vars.channel_originate.originate_request.variables, {
    A: "",
    B: "b",
  });
});

Deno.test("decodeRequest() rewrites the Go client's StageExternalMedia bug", () => {
  const wire =
    '{"kind":"ChannelStageOriginate","key":{},"channel_external_media":{"options":{"channelId":"e1","app":"golden","external_host":"127.0.0.1:4000","format":"ulaw"}}}';
  const decoded = decodeRequest(wire);
  assert.ok(decoded.ok);
  assert.equal(decoded.request.kind, "ChannelStageExternalMedia");
  assert.equal(decoded.rewrittenFrom, "ChannelStageOriginate");
  // With a channel_originate body it stays what it says.
  const both = decodeRequest(
    '{"kind":"ChannelStageOriginate","key":{},"channel_originate":{"originate_request":{"endpoint":"x"}},"channel_external_media":{"options":{}}}',
  );
  assert.ok(both.ok);
  assert.equal(both.request.kind, "ChannelStageOriginate");
  assert.equal(both.rewrittenFrom, undefined);
});

Deno.test("decodeRequest() keeps __proto__ map keys as data", () => {
  const r = ok(
    '{"kind":"ChannelOriginate","key":{},"channel_originate":{"originate_request":{"endpoint":"x","variables":{"__proto__":"p"}}}}',
  );
  assert.ok(r.kind === "ChannelOriginate");
  const vars = r.channel_originate.originate_request.variables;
  assert.ok(vars);
  assert.equal(Object.getPrototypeOf(vars), Object.prototype);
  assert.ok(Object.hasOwn(vars, "__proto__"));
  const ue = ok(
    '{"kind":"ChannelUserEvent","key":{"id":"c"},"channel_user_event":{"UserEvent":{"eventname":"e","__proto__":{"x":1}}}}',
  );
  assert.ok(ue.kind === "ChannelUserEvent");
  assert.equal(
    Object.getPrototypeOf(ue.channel_user_event.UserEvent),
    Object.prototype,
  );
  assert.ok(Object.hasOwn(ue.channel_user_event.UserEvent, "__proto__"));
});

Deno.test("decodeRequest() rejects invalid JSON and non-objects", () => {
  rejects('{"kind":"AsteriskInfo",', "invalidJson");
  rejects("", "invalidJson");
  rejects("\ufeff{}", "invalidJson"); // Go rejects a BOM too
  rejects(new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d]), "invalidJson");
  for (const text of ["[]", '"x"', "5", "null", "true"]) {
    rejects(text, "notObject");
  }
  assert.equal(
    rejects("[1]", "notObject").message,
    "Invalid request: expected a JSON object, got an array",
  );
});

Deno.test("decodeRequest() rejects JSON truncated at every position", () => {
  for (const wire of [PLAY, ORIGINATE]) {
    const bytes = new TextEncoder().encode(wire);
    for (let i = 0; i < wire.length; i++) {
      rejects(wire.slice(0, i), "invalidJson");
    }
    for (let i = 0; i < bytes.length; i++) {
      rejects(bytes.subarray(0, i), "invalidJson");
    }
  }
});

Deno.test("decodeRequest() rejects missing, empty and unknown kinds as not implemented", () => {
  for (
    const wire of [
      '{"key":{}}',
      '{"kind":"","key":null}',
      '{"kind":null,"key":{}}',
      '{"kind":"GoldenNoSuchKind","key":{}}',
      '{"kind":"toString","key":{}}',
      '{"kind":"__proto__","key":{}}',
      '{"kind":"constructor","key":{}}',
      '{"kind":"channelanswer","key":{"id":"c"}}',
    ]
  ) {
    rejects(wire, "unknownKind", "kind");
    const decoded = decodeRequest(wire);
    assert.ok(!decoded.ok && decoded.notImplemented === true);
    assert.deepEqual(errorResponse(decoded.error), {
      error: NOT_IMPLEMENTED,
      code: "unknownKind",
    });
  }
  assert.equal(
    rejects('{"kind":"Nope","key":{}}', "unknownKind").message,
    'Invalid request: kind "Nope" is not known',
  );
  const wrongType = rejects('{"kind":5,"key":{}}', "invalidField", "kind");
  assert.equal(
    wrongType.message,
    'Invalid request: field "kind" must be a string, not a number',
  );
});

Deno.test("decodeRequest() rejects a missing body for every kind that has one", () => {
  let count = 0;
  for (const kind of KIND_NAMES) {
    const info = KIND_TABLE[kind];
    if (info.body === null) continue;
    const { [info.body]: _omit, ...rest } = minimalRequest(kind) as Record<
      string,
      unknown
    >;
    const withNull = { ...rest, [info.body]: null };
    if ("bodyOptional" in info && info.bodyOptional) {
      assert.ok(decodeRequest(JSON.stringify(rest)).ok, kind);
      assert.ok(decodeRequest(JSON.stringify(withNull)).ok, kind);
      continue;
    }
    const error = rejects(JSON.stringify(rest), "missingBody", info.body);
    assert.equal(error.kind, kind);
    assert.equal(
      error.message,
      `Invalid request "${kind}": body "${info.body}" is missing`,
    );
    rejects(JSON.stringify(withNull), "missingBody", info.body);
    for (const wrong of ["x", 5, true, [1]]) {
      rejects(
        JSON.stringify({ ...rest, [info.body]: wrong }),
        "invalidField",
        info.body,
      );
    }
    count++;
  }
  assert.ok(count >= 55, `only ${count} kinds with a body`);
});

/** JSON values of the wrong type for a field type. */
const WRONG_VALUES: Record<FieldType, unknown[]> = {
  string: [5, true, {}, ["x"]],
  int: ["5", 1.5, true, {}, [], 1e300],
  bool: ["true", 1, {}, []],
  stringMap: ["x", 5, [], { a: 1 }, { a: {} }],
  anyMap: ["x", 5, []],
  any: [],
  stringArray: ["x", {}, [1], [null]],
  object: ["x", 5, true, []],
  objectArray: ["x", {}, [5], ["x"]],
};

Deno.test("decodeRequest() rejects a wrong type in every body field with its path", () => {
  let count = 0;
  for (const kind of KIND_NAMES) {
    const info = KIND_TABLE[kind];
    if (info.body === null) continue;
    const base = minimalRequest(kind) as Record<string, unknown>;
    for (const spec of BODY_SCHEMAS[info.body].fields) {
      for (const wrong of WRONG_VALUES[spec.type]) {
        const body = {
          ...(base[info.body] as Record<string, unknown>),
          [spec.name]: wrong,
        };
        const error = rejects(
          JSON.stringify({ ...base, [info.body]: body }),
          "invalidField",
        );
        assert.ok(
          error.field?.startsWith(`${info.body}.${spec.name}`),
          `${kind}: ${error.field} for ${JSON.stringify(wrong)}`,
        );
        assert.ok(
          error.message.startsWith(
            `Invalid request "${kind}": field "${info.body}.${spec.name}`,
          ),
          error.message,
        );
        count++;
      }
    }
  }
  assert.ok(count > 400, `only ${count} cases`);
});

Deno.test("decodeRequest() names nested fields in its errors", () => {
  const cases: [string, string, string][] = [
    [
      '{"kind":"ChannelPlay","key":{"id":"c1"},"channel_play":{"media_uri":5}}',
      "channel_play.media_uri",
      'Invalid request "ChannelPlay": field "channel_play.media_uri" must be a string, not a number',
    ],
    [
      '{"kind":"ChannelPlay","key":{"id":"c1"},"channel_play":{"playback_id":"p"}}',
      "channel_play.media_uri",
      'Invalid request "ChannelPlay": field "channel_play.media_uri" must be a non-empty string',
    ],
    [
      '{"kind":"ChannelOriginate","key":{},"channel_originate":{"originate_request":{"endpoint":"x","variables":{"A":1}}}}',
      "channel_originate.originate_request.variables.A",
      'Invalid request "ChannelOriginate": field "channel_originate.originate_request.variables.A" must be a string, not a number',
    ],
    [
      '{"kind":"ChannelOriginate","key":{},"channel_originate":{}}',
      "channel_originate.originate_request.endpoint",
      'Invalid request "ChannelOriginate": field "channel_originate.originate_request.endpoint" must be a non-empty string',
    ],
    [
      '{"kind":"AsteriskConfigUpdate","key":{"id":"a/b/c"},"asterisk_config":{"tuples":[{"attribute":"a","value":1}]}}',
      "asterisk_config.tuples[0].value",
      'Invalid request "AsteriskConfigUpdate": field "asterisk_config.tuples[0].value" must be a string, not a number',
    ],
    [
      '{"kind":"ChannelSendDTMF","key":{"id":"c1"},"channel_send_dtmf":{"dtmf":"1","options":{"Before":0.5}}}',
      "channel_send_dtmf.options.Before",
      'Invalid request "ChannelSendDTMF": field "channel_send_dtmf.options.Before" must be an integer',
    ],
    [
      '{"kind":"ChannelUserEvent","key":{"id":"c1"},"channel_user_event":{}}',
      "channel_user_event.UserEvent.eventname",
      'Invalid request "ChannelUserEvent": field "channel_user_event.UserEvent.eventname" must be a non-empty string',
    ],
  ];
  for (const [wire, field, message] of cases) {
    assert.equal(rejects(wire, "invalidField", field).message, message);
  }
});

Deno.test("decodeRequest() requires what ARI cannot do without, and no more", () => {
  // Go-lenient: empty values Asterisk itself judges.
  ok(
    '{"kind":"AsteriskLoggingCreate","key":{"id":"l"},"asterisk_logging_channel":{"config":""}}',
  );
  ok(
    '{"kind":"AsteriskVariableSet","key":{"id":"V"},"asterisk_variable_set":{"value":""}}',
  );
  ok('{"kind":"BridgeCreate","key":{"id":"b"},"bridge_create":{"type":""}}');
  ok('{"kind":"ChannelRecord","key":{"id":"c"},"channel_record":{"name":""}}');
  ok(
    '{"kind":"ChannelPlay","key":{"id":"c"},"channel_play":{"media_uri":"sound:x"}}',
  );
  ok(
    '{"kind":"ChannelPlay","key":{"id":"c"},"channel_play":{"media_uris":["sound:a","sound:b"]}}',
  );
  // Required by ARI.
  rejects(
    '{"kind":"ChannelVariableGet","key":{"id":"c"},"channel_variable":{}}',
    "invalidField",
    "channel_variable.name",
  );
  rejects(
    '{"kind":"BridgeAddChannel","key":{"id":"b"},"bridge_add_channel":{"channel":""}}',
    "invalidField",
    "bridge_add_channel.channel",
  );
  rejects(
    '{"kind":"ApplicationSubscribe","key":{"id":"a"},"application_subscribe":{"event_source":""}}',
    "invalidField",
    "application_subscribe.event_source",
  );
  rejects(
    '{"kind":"DeviceStateUpdate","key":{"id":"d"},"device_state_update":{}}',
    "invalidField",
    "device_state_update.state",
  );
  rejects(
    '{"kind":"ChannelCreate","key":{},"channel_create":{"channel_create_request":{"endpoint":"x"}}}',
    "invalidField",
    "channel_create.channel_create_request.app",
  );
});

Deno.test("decodeRequest() requires key.id where the kind needs it", () => {
  let count = 0;
  for (const kind of KIND_NAMES) {
    const info = KIND_TABLE[kind];
    const request = minimalRequest(kind) as Record<string, unknown>;
    for (const key of [null, {}, { id: "" }, { kind: "channel", app: "a" }]) {
      const wire = JSON.stringify({ ...request, key });
      if (info.needsId) {
        const error = rejects(wire, "missingKey", "key.id");
        assert.equal(
          error.message,
          `Invalid request "${kind}": ${info.keyKind} key not supplied`,
        );
        count++;
      } else {
        assert.ok(
          decodeRequest(wire).ok,
          `${kind} with key ${JSON.stringify(key)}`,
        );
      }
    }
  }
  assert.ok(count > 300);
  assert.equal(
    rejects('{"kind":"ChannelData","key":null}', "missingKey").message,
    'Invalid request "ChannelData": channel key not supplied',
  );
});

Deno.test("decodeRequest() rejects malformed keys", () => {
  rejects('{"kind":"ChannelList","key":"c1"}', "invalidKey", "key");
  rejects('{"kind":"ChannelList","key":[]}', "invalidKey", "key");
  rejects('{"kind":"ChannelList","key":5}', "invalidKey", "key");
  assert.equal(
    rejects('{"kind":"ChannelAnswer","key":{"id":5}}', "invalidKey", "key.id")
      .message,
    'Invalid request "ChannelAnswer": field "key.id" must be a string, not a number',
  );
  rejects(
    '{"kind":"ChannelAnswer","key":{"id":"c","app":{}}}',
    "invalidKey",
    "key.app",
  );
  rejects(
    '{"kind":"ChannelAnswer","key":{"id":"c\\u0000"}}',
    "invalidKey",
    "key.id",
  );
  rejects(
    '{"kind":"ChannelAnswer","key":{"id":"c","dialog":"d\\n"}}',
    "invalidKey",
    "key.dialog",
  );
  rejects(
    '{"kind":"ChannelAnswer","key":{"id":"c\\u007f"}}',
    "invalidKey",
    "key.id",
  );
});

Deno.test("decodeRequest() rejects huge strings", () => {
  const huge = "x".repeat(2 * 1024 * 1024);
  const wire = `{"kind":"ChannelAnswer","key":{"id":"${huge}"}}`;
  assert.match(
    rejects(wire, "tooLarge").message,
    /^Invalid request: payload of \d+ bytes exceeds the limit of 1048576 bytes$/,
  );
  rejects(new TextEncoder().encode(wire), "tooLarge");
  // Within a raised size limit, the id itself is too long.
  const decoded = decodeRequest(wire, { maxBytes: 4 * MAX_REQUEST_BYTES });
  assert.ok(!decoded.ok);
  assert.equal(decoded.error.code, "invalidKey");
  assert.equal(
    decoded.error.message,
    `Invalid request "ChannelAnswer": field "key.id" is too long (${huge.length} characters, at most 1024)`,
  );
  // Boundaries.
  const max = "y".repeat(MAX_ID_LENGTH);
  ok(`{"kind":"ChannelAnswer","key":{"id":"${max}"}}`);
  rejects(
    `{"kind":"ChannelAnswer","key":{"id":"${max}y"}}`,
    "invalidKey",
    "key.id",
  );
  rejects(
    `{"kind":"ChannelPlay","key":{"id":"c"},"channel_play":{"playback_id":"${max}y","media_uri":"sound:x"}}`,
    "invalidField",
    "channel_play.playback_id",
  );
  // A huge kind is clipped in the error.
  const hugeKind = decodeRequest(`{"kind":"${"K".repeat(100_000)}"}`);
  assert.ok(!hugeKind.ok);
  assert.ok(hugeKind.error.message.length < 300);
  assert.ok((hugeKind.kind?.length ?? 0) < 200);
  // Free text is only bound by the payload limit.
  ok(
    `{"kind":"AsteriskVariableSet","key":{"id":"V"},"asterisk_variable_set":{"value":"${
      "v".repeat(500_000)
    }"}}`,
  );
});

/** Deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FUZZ_SEEDS = [
  PLAY,
  ORIGINATE,
  '{"kind":"ChannelRecord","key":{"kind":"channel","id":"golden-chan-a","node":"02:00:00:00:60:0d","app":"golden"},"channel_record":{"name":"golden-rec-1","options":{"Format":"wav","MaxDuration":10000000000,"MaxSilence":3000000000,"Exists":"overwrite","Beep":true,"Terminate":"#"}}}',
  '{"kind":"ChannelUserEvent","key":{"kind":"channel","id":"golden-chan-a","node":"02:00:00:00:60:0d","app":"golden"},"channel_user_event":{"UserEvent":{"application":"","timestamp":"0001-01-01T00:00:00.000+0000","type":"","eventname":"golden-ue","userevent":{"k1":"v1"}}}}',
  '{"kind":"AsteriskConfigUpdate","key":{"kind":"config","id":"res_pjsip/aor/golden","node":"02:00:00:00:60:0d","app":"golden"},"asterisk_config":{"tuples":[{"attribute":"contact","value":"sip:golden@127.0.0.1:5099"},{"attribute":"max_contacts","value":"1"}]}}',
  '{"kind":"ChannelStageOriginate","key":{},"channel_external_media":{"options":{"channelId":"golden-extmedia-2","app":"golden","external_host":"127.0.0.1:40012","format":"ulaw","variables":null}}}',
  '{"Kind":"AsteriskInfo","KEY":{"App":"golden"},"golden_extra":42}',
];

const FUZZ_TOKENS = [
  "null",
  "0",
  "-1",
  "1.5",
  "1e400",
  "true",
  '""',
  '"x"',
  "{}",
  "[]",
  '{"a":1}',
  "[null]",
  '"\\u0000"',
  '"__proto__"',
  ",",
  ":",
  "{",
  "}",
  "[",
  "]",
  '"',
  "\\",
];

function mutate(text: string, rand: () => number): string {
  const pos = Math.floor(rand() * (text.length + 1));
  const token = FUZZ_TOKENS[Math.floor(rand() * FUZZ_TOKENS.length)] as string;
  switch (Math.floor(rand() * 8)) {
    case 0: // delete a span
      return text.slice(0, pos) + text.slice(pos + 1 + Math.floor(rand() * 8));
    case 1: // insert a token
      return text.slice(0, pos) + token + text.slice(pos);
    case 2: // replace a char
      return text.slice(0, pos) +
        String.fromCharCode(Math.floor(rand() * 128)) + text.slice(pos + 1);
    case 3: { // replace a JSON value after a colon
      const colon = text.indexOf(":", pos);
      if (colon < 0) return text + token;
      const end = text.slice(colon + 1).search(/[,}]/);
      return text.slice(0, colon + 1) + token +
        (end < 0 ? "" : text.slice(colon + 1 + end));
    }
    case 4: // truncate
      return text.slice(0, pos);
    case 5: // duplicate a segment
      return text.slice(0, pos) + text.slice(Math.max(0, pos - 10), pos) +
        text.slice(pos);
    case 6: // flip letter case
      return text.slice(0, pos) + text.slice(pos, pos + 6).toUpperCase() +
        text.slice(pos + 6);
    default: { // swap the kind
      const kind = KIND_NAMES[Math.floor(rand() * KIND_NAMES.length)];
      return text.replace(/"kind":"[^"]*"/i, `"kind":"${kind}"`);
    }
  }
}

const CODES = new Set<ProtocolErrorCode>([
  "invalidJson",
  "notObject",
  "unknownKind",
  "missingBody",
  "invalidField",
  "missingKey",
  "invalidKey",
  "tooLarge",
]);

Deno.test("decodeRequest() never throws on 5,000 random mutations of real requests", () => {
  const rand = prng(0x5eed);
  const outcomes = new Map<string, number>();
  for (let i = 0; i < 5000; i++) {
    let text = FUZZ_SEEDS[i % FUZZ_SEEDS.length] as string;
    const rounds = 1 + Math.floor(rand() * 3);
    for (let r = 0; r < rounds; r++) text = mutate(text, rand);
    const input = i % 2 === 0 ? text : new TextEncoder().encode(text);
    let decoded;
    try {
      decoded = decodeRequest(input);
    } catch (err) {
      assert.fail(`threw on ${JSON.stringify(text)}: ${String(err)}`);
    }
    if (decoded.ok) {
      assert.ok(Object.hasOwn(KIND_TABLE, decoded.request.kind));
      // Anything accepted survives a round trip unchanged.
      const again = decodeRequest(encodeRequest(decoded.request));
      assert.ok(again.ok, text);
      assert.deepEqual(again.request, decoded.request, text);
      outcomes.set("ok", (outcomes.get("ok") ?? 0) + 1);
    } else {
      assert.ok(decoded.error instanceof ProtocolError);
      assert.ok(CODES.has(decoded.error.code), decoded.error.code);
      assert.ok(decoded.error.message.startsWith("Invalid request"));
      outcomes.set(
        decoded.error.code,
        (outcomes.get(decoded.error.code) ?? 0) + 1,
      );
    }
  }
  // The mutations reach both sides and most error kinds.
  assert.ok((outcomes.get("ok") ?? 0) > 200, JSON.stringify([...outcomes]));
  assert.ok(outcomes.size >= 6, JSON.stringify([...outcomes]));
});

Deno.test("decodeRequest() never throws on inputs that are not bytes or text", () => {
  const decoded = decodeRequest(42 as unknown as string);
  assert.ok(!decoded.ok);
  assert.equal(decoded.error.code, "notObject");
});

Deno.test("encodeKey() writes Go's field order and omits empty fields", () => {
  assert.equal(
    encodeKey({ app: "a", dialog: "d", node: "n", id: "i", kind: "k" }),
    '{"kind":"k","id":"i","node":"n","dialog":"d","app":"a"}',
  );
  assert.equal(
    encodeKey({ kind: "channel", id: "", node: "" }),
    '{"kind":"channel"}',
  );
  assert.equal(encodeKey({}), "{}");
  assert.equal(encodeKey(null), "{}");
  assert.equal(encodeKey(undefined), "{}");
  assert.equal(encodeKey({ id: 'a"<b>' }), '{"id":"a\\"<b>"}');
});

Deno.test("encodeRequest() writes kind, key, then the body", () => {
  assert.equal(
    encodeRequest({
      channel_hangup: { reason: "busy" },
      key: { app: "a", id: "c1" },
      kind: "ChannelHangup",
    } as Request),
    '{"kind":"ChannelHangup","key":{"id":"c1","app":"a"},"channel_hangup":{"reason":"busy"}}',
  );
  assert.equal(
    encodeRequest({ kind: "ChannelList", key: null }),
    '{"kind":"ChannelList","key":{}}',
  );
  assert.equal(
    encodeRequest({ kind: "ChannelList", key: {}, channel_play: undefined }),
    '{"kind":"ChannelList","key":{}}',
  );
});

Deno.test("encodeResponse() writes Go's shape with our additive fields last", () => {
  assert.equal(encodeResponse({ error: "" }), '{"error":""}');
  assert.equal(encodeResponse({ error: "", keys: [] }), '{"error":""}');
  assert.equal(
    encodeResponse({
      code: "ariHttp",
      status: 404,
      keys: [{ id: "b", kind: "bridge" }],
      key: { kind: "channel", id: "c", app: "a", node: "n" },
      data: { variable: "v" },
      error: "x",
    }),
    '{"error":"x","data":{"variable":"v"},"key":{"kind":"channel","id":"c","node":"n","app":"a"},"keys":[{"kind":"bridge","id":"b"}],"status":404,"code":"ariHttp"}',
  );
  assert.equal(
    encodeResponse({ error: "", code: "", status: Number.NaN }),
    '{"error":""}',
  );
});

Deno.test("decodeResponse() is tolerant of Go's shapes", () => {
  assert.deepEqual(decodeResponse('{"error":"","key":null}'), { error: "" });
  assert.deepEqual(decodeResponse('{"error":"","keys":null}'), { error: "" });
  assert.deepEqual(decodeResponse("{}"), { error: "" });
  assert.deepEqual(decodeResponse('{"Error":"boom","Status":500,"CODE":"x"}'), {
    error: "boom",
    status: 500,
    code: "x",
  });
  assert.deepEqual(
    decodeResponse(
      '{"error":"","keys":[null,{"kind":"sound","id":"","node":"n","app":"a"}]}',
    ).keys,
    [{ kind: "sound", node: "n", app: "a" }],
  );
  assert.deepEqual(
    decodeResponse(
      new TextEncoder().encode('{"error":"","data":{"variable":"v"}}'),
    ),
    { error: "", data: { variable: "v" } },
  );
  assert.equal(decodeResponse('{"error":42}').error, "42");
  assert.throws(
    () => decodeResponse("{"),
    (e) => e instanceof ProtocolError && e.code === "invalidJson",
  );
  assert.throws(
    () => decodeResponse("[]"),
    (e) => e instanceof ProtocolError && e.code === "notObject",
  );
});

Deno.test("errorResponse() maps decode errors to replies", () => {
  const decoded = decodeRequest('{"kind":"ChannelHangup","key":{"id":"c"}}');
  assert.ok(!decoded.ok);
  assert.deepEqual(errorResponse(decoded.error), {
    error: 'Invalid request "ChannelHangup": body "channel_hangup" is missing',
    code: "missingBody",
  });
});

Deno.test("normalizeKey() drops empty fields and orders the rest", () => {
  const key = normalizeKey({
    app: "a",
    dialog: "",
    node: "n",
    id: "i",
    kind: "channel",
  });
  assert.deepEqual(key, { kind: "channel", id: "i", node: "n", app: "a" });
  assert.deepEqual(Object.keys(key), ["kind", "id", "node", "app"]);
  assert.deepEqual(normalizeKey(null), {});
  assert.deepEqual(normalizeKey(undefined), {});
  assert.deepEqual(normalizeKey({ ID: "x", extra: "y", kind: 5 }), { id: "x" });
});

Deno.test("keyMatches() follows Go's Key.Match", () => {
  const full = CHANNEL_KEY;
  const cases: [Key | null, Key | null, boolean][] = [
    [null, full, true],
    [full, null, true],
    [{}, full, true],
    [full, full, true],
    [{ kind: "channel" }, full, true],
    [{ kind: "bridge" }, full, false],
    [{ id: "c1" }, full, true],
    [{ id: "c2" }, full, false],
    [{ app: "golden" }, full, true],
    [{ app: "other" }, full, false],
    [{ node: NODE }, full, true],
    [{ node: "x" }, full, false],
    [{ dialog: "d1" }, full, true], // empty on one side is a wildcard
    [{ dialog: "d1" }, { ...full, dialog: "d2" }, false],
    [{ kind: "channel", id: "c1" }, { id: "c1" }, true],
  ];
  for (const [filter, key, expected] of cases) {
    assert.equal(
      keyMatches(filter, key),
      expected,
      `${JSON.stringify(filter)} vs ${JSON.stringify(key)}`,
    );
  }
});

Deno.test("decodeEvent() accepts Asterisk's and Go's shapes", () => {
  const raw = decodeEvent(
    '{"type":"StasisStart","timestamp":"t","args":[],"channel":{"id":"c1","name":"x","caller":{"name":"","number":""}},"asterisk_id":"n","application":"a"}',
  );
  assert.equal(raw.type, "StasisStart");
  assert.equal(raw.application, "a");
  const go = decodeEvent(
    '{"application":"a","asterisk_id":"n","timestamp":"t","type":"StasisStart","args":[],"channel":{"id":"c1","name":"x","caller":{},"connected":{},"channelvars":null},"replace_channel":{"id":"","name":"","state":"","caller":null,"creationtime":"1970-01-01T00:00:00.000+0000","channelvars":null}}',
  );
  assert.equal("replace_channel" in go, false);
  assert.deepEqual(go.channel, {
    id: "c1",
    name: "x",
    caller: { name: "", number: "" },
    connected: { name: "", number: "" },
  });
  const userEvent = decodeEvent(
    '{"application":"a","type":"ChannelUserevent","bridge":{"key":null,"id":"","channels":null},"endpoint":{"key":null,"channel_ids":null,"resource":"","technology":""},"eventname":"e"}',
  );
  assert.deepEqual(userEvent, {
    application: "a",
    type: "ChannelUserevent",
    eventname: "e",
    asterisk_id: "",
  });
  const peer = decodeEvent(
    '{"type":"PeerStatusChange","application":"a","endpoint":{"key":null,"technology":"PJSIP","resource":"x"},"peer":{"application":"","timestamp":"0001-01-01T00:00:00.000+0000","type":"","peer_status":"Reachable"}}',
  );
  assert.deepEqual(peer.peer, { peer_status: "Reachable" });
  assert.deepEqual(peer.endpoint, { technology: "PJSIP", resource: "x" });
});

Deno.test("decodeEvent() rejects what is not an event", () => {
  for (
    const [input, code] of [
      ["{", "invalidJson"],
      ["[]", "notObject"],
      ['{"application":"a"}', "invalidField"],
      ['{"type":""}', "invalidField"],
      ['{"type":5}', "invalidField"],
    ] as const
  ) {
    assert.throws(
      () => decodeEvent(input),
      (e) => e instanceof ProtocolError && e.code === code,
      input,
    );
  }
  assert.throws(
    () => decodeEvent(null as unknown as string),
    (e) => e instanceof ProtocolError && e.code === "notObject",
  );
});

Deno.test("decodeEvent() normalises a parsed object in place", () => {
  const event: Record<string, unknown> = {
    type: "Dial",
    caller: { id: "" },
    peer: { id: "c2" },
  };
  const decoded = decodeEvent(event);
  assert.equal(decoded, event);
  assert.deepEqual(event, {
    type: "Dial",
    peer: { id: "c2" },
    application: "",
    asterisk_id: "",
  });
});

Deno.test("encodeAnnouncement() sends node, asterisk and application", () => {
  assert.equal(
    encodeAnnouncement({ node: "n", asterisk: "n", application: "a" }),
    '{"node":"n","asterisk":"n","application":"a"}',
  );
  assert.equal(
    encodeAnnouncement({ node: "", asterisk: "n", application: "a" }),
    '{"node":"n","asterisk":"n","application":"a"}',
  );
});

Deno.test("decodeAnnouncement() accepts node or asterisk and rejects the rest", () => {
  const expected = { node: "n", asterisk: "n", application: "a" };
  assert.deepEqual(
    decodeAnnouncement('{"node":"n","application":"a"}'),
    expected,
  );
  assert.deepEqual(
    decodeAnnouncement('{"asterisk":"n","application":"a"}'),
    expected,
  );
  assert.deepEqual(
    decodeAnnouncement('{"Node":"n","Application":"a"}'),
    expected,
  );
  assert.deepEqual(
    decodeAnnouncement(
      new TextEncoder().encode('{"node":"n","asterisk":"m","application":"a"}'),
    ),
    { node: "n", asterisk: "n", application: "a" },
  );
  for (
    const input of [
      "",
      "{",
      "[]",
      "{}",
      '{"node":"n"}',
      '{"application":"a"}',
      '{"node":"","application":"a"}',
      '{"node":5,"application":"a"}',
      '{"kind":"","key":null}',
    ]
  ) {
    assert.equal(decodeAnnouncement(input), null, input);
  }
});
