// deno-lint-ignore-file camelcase -- the golden corpus uses snake_case field names
/**
 * The client decodes everything a Go ari-proxy v5 sends (issue #5), fed
 * from the golden corpus (`tests/testdata/golden/`) through the client's
 * real code paths: NATS transport (routing, reply handling) and client API
 * (result mapping, typed errors, event dispatch).
 *
 * - Responses: a Go-like responder on a harness NATS answers each request
 *   with the exact bytes a Go proxy sent for that exchange
 *   (`requests.jsonl` `responses_raw`), and announces itself on `ari.ping`
 *   with the captured announcement. For every exchange the matching client
 *   method is called; it must send that kind and return the typed result
 *   (or throw `RemoteError` / `NotImplementedError` / `TimeoutError`).
 * - Events: every captured event (`events.jsonl` `event_raw`,
 *   `raw_vs_proxied.jsonl` `raw_raw`/`proxied_raw`/equivalents and dialog
 *   copies) is published on its subject and must reach `events()` unchanged,
 *   with its `type`, and reach exactly the handles of the entities it names
 *   (zero-valued Go objects name nothing).
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  connect as natsConnect,
  type Msg,
  type NatsConnection,
} from "@nats-io/transport-node";
import {
  type AriClient,
  createClient,
  type EventStream,
  type Key,
  NotImplementedError,
  RemoteError,
  TimeoutError,
} from "../client/mod.ts";
import {
  createNatsTransport,
  type NatsAriTransport,
} from "../client/nats/mod.ts";
import type { AriEvent } from "../client/generated/events.ts";
import type { PlaybackOperation } from "../client/api/playbacks.ts";
import type { DeviceStateValue } from "../client/api/device_states.ts";
import type { Response } from "../client/protocol/types.ts";
import { startNats, waitFor } from "./harness/mod.ts";

const GOLDEN = new URL("./testdata/golden/", import.meta.url);
const NODE = "02:00:00:00:60:0d";
const APP = "golden";
const encoder = new TextEncoder();

type Json = Record<string, unknown>;

/** One line of `requests.jsonl`. */
interface Exchange {
  seq: number;
  phase: string;
  step: string;
  kind: string | null;
  class: string;
  request: (Json & { key?: Key | null }) | null;
  responses?: Response[];
  responses_raw?: string[];
  no_reply?: boolean;
  go_client_result: string;
}

async function readLines<T>(name: string): Promise<T[]> {
  const text = await Deno.readTextFile(new URL(name, GOLDEN));
  return text.split("\n").filter((line) => line.trim() !== "").map((line) =>
    JSON.parse(line) as T
  );
}

// ---------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------

/** The request body member `field` of an exchange (`{}` when absent). */
function body<T = Json>(g: Exchange, field: string): T {
  const value = g.request?.[field];
  return (typeof value === "object" && value !== null ? value : {}) as T;
}

/** The exchange's key as a key of `kind` (a placeholder id when it has none). */
function key(g: Exchange, kind: string): Key {
  const k = g.request?.key;
  if (k && typeof k === "object" && k.id) return { ...k, kind };
  return { kind, id: "golden-placeholder" };
}

/** The exchange's key as a list filter (`null` when empty). */
function filter(g: Exchange): Key | null {
  const k = g.request?.key;
  return k && typeof k === "object" && Object.keys(k).length > 0 ? k : null;
}

function nsToMs(ns: unknown): number | undefined {
  return typeof ns === "number" ? Math.round(ns / 1_000_000) : undefined;
}

interface GoRecordOptions {
  Format?: string;
  MaxDuration?: number;
  MaxSilence?: number;
  Exists?: string;
  Beep?: boolean;
  Terminate?: string;
}

function recordOptions(b: { name?: string; options?: GoRecordOptions }) {
  const o = b.options ?? {};
  return {
    name: b.name ?? "golden-rec",
    ...(o.Format ? { format: o.Format } : {}),
    ...(o.MaxDuration ? { maxDuration: nsToMs(o.MaxDuration)! } : {}),
    ...(o.MaxSilence ? { maxSilence: nsToMs(o.MaxSilence)! } : {}),
    ...(o.Exists ? { ifExists: o.Exists as "overwrite" } : {}),
    ...(o.Beep ? { beep: true } : {}),
    ...(o.Terminate ? { terminateOn: o.Terminate as "#" } : {}),
  };
}

function playArgs(
  b: { media_uri?: string; playback_id?: string },
): [string, { playbackId?: string }] {
  return [
    b.media_uri ?? "sound:beep",
    b.playback_id ? { playbackId: b.playback_id } : {},
  ];
}

interface GoOriginate {
  endpoint?: string;
  app?: string;
  appArgs?: string;
  channelId?: string;
  otherChannelId?: string;
  callerId?: string;
  variables?: Record<string, string>;
}

function originateParams(g: Exchange) {
  const o = body<{ originate_request?: GoOriginate }>(g, "channel_originate")
    .originate_request ?? {};
  return {
    endpoint: o.endpoint ?? "Local/100@default",
    ...(o.app ? { app: o.app } : {}),
    ...(o.appArgs ? { appArgs: o.appArgs } : {}),
    ...(o.channelId ? { channelId: o.channelId } : {}),
    ...(o.otherChannelId ? { otherChannelId: o.otherChannelId } : {}),
    ...(o.callerId ? { callerId: o.callerId } : {}),
    ...(o.variables ? { variables: o.variables } : {}),
  };
}

function externalMediaParams(g: Exchange) {
  const o = body<{ options?: Json }>(g, "channel_external_media").options ??
    {};
  const text = (name: string) =>
    typeof o[name] === "string" && o[name] !== ""
      ? { [name === "external_host" ? "externalHost" : name]: o[name] }
      : {};
  return {
    format: typeof o.format === "string" && o.format ? o.format : "ulaw",
    ...text("channelId"),
    ...text("app"),
    ...text("external_host"),
  } as { format: string; channelId?: string; app?: string };
}

function snoopOptions(g: Exchange) {
  const b = body<{ snoop_id?: string; options?: Json }>(g, "channel_snoop");
  const o = b.options ?? {};
  return {
    ...(b.snoop_id ? { snoopId: b.snoop_id } : {}),
    ...(typeof o.app === "string" ? { app: o.app } : {}),
    ...(typeof o.appArgs === "string" ? { appArgs: o.appArgs } : {}),
    ...(typeof o.spy === "string" ? { spy: o.spy as "both" } : {}),
    ...(typeof o.whisper === "string" ? { whisper: o.whisper as "out" } : {}),
  };
}

/** What a successful call must return, given the Go response. */
type Expect = (result: unknown, response: Response, g: Exchange) => void;

const nothing: Expect = (result) => assert.equal(result, undefined);

const keys: Expect = (result, response) =>
  assert.deepEqual(result, response.keys ?? []);

const variable: Expect = (result, response) =>
  assert.equal(result, response.data?.variable ?? "");

/** An entity model with its key: the Go object, key from the reply or the request. */
function entity(member: string): Expect {
  return (result, response, g) => {
    const data = (response.data as Json | undefined)?.[member] as Json;
    assert.ok(data, `data.${member} is in the Go reply`);
    const { key: resultKey, ...rest } = result as Json;
    const { key: dataKey, ...expected } = data;
    assert.deepEqual(rest, expected);
    assert.deepEqual(
      resultKey,
      dataKey ?? key(g, (resultKey as Key).kind ?? ""),
    );
  };
}

/** A handle (or a staged handle) bound to the key of the Go reply. */
function handle(kind: string, staged = false): Expect {
  return (result, response) => {
    const h = (staged ? (result as { handle: unknown }).handle : result) as {
      key: Key;
      id: string;
    };
    const answer = response.key;
    assert.ok(answer?.id, "the Go reply has a key");
    assert.equal(h.id, answer.id);
    assert.equal(h.key.id, answer.id);
    assert.equal(h.key.kind, kind);
    assert.equal(h.key.node, answer.node);
    assert.equal(h.key.app, answer.app);
  };
}

/** A `*Get` handle: the request's kind and id, the reply's location. */
function gotHandle(kind: string): Expect {
  return (result, response, g) => {
    const h = result as { key: Key; id: string };
    assert.equal(h.key.kind, kind);
    assert.equal(h.id, response.key?.id ?? key(g, kind).id);
    assert.equal(h.key.node, response.key?.node ?? key(g, kind).node);
  };
}

interface Case {
  call(client: AriClient, g: Exchange): Promise<unknown>;
  expect: Expect;
}

const CASES: Record<string, Case> = {
  // applications
  ApplicationList: {
    call: (c, g) => c.applications.list(filter(g)),
    expect: keys,
  },
  ApplicationGet: {
    call: (c, g) => c.applications.get(key(g, "application")),
    expect: gotHandle("application"),
  },
  ApplicationData: {
    call: (c, g) => c.applications.data(key(g, "application")),
    expect: entity("application"),
  },
  ApplicationSubscribe: {
    call: (c, g) =>
      c.applications.handle(key(g, "application")).subscribe(
        body<{ event_source: string }>(g, "application_subscribe")
          .event_source,
      ),
    expect: nothing,
  },
  ApplicationUnsubscribe: {
    call: (c, g) =>
      c.applications.handle(key(g, "application")).unsubscribe(
        body<{ event_source: string }>(g, "application_subscribe")
          .event_source,
      ),
    expect: nothing,
  },
  // asterisk
  AsteriskInfo: {
    call: (c, g) => {
      const node = filter(g)?.node;
      return c.asterisk.info(node ? { node } : {});
    },
    expect: (result, response) =>
      assert.deepEqual(result, response.data?.asterisk),
  },
  AsteriskVariableGet: {
    call: (c, g) => c.asterisk.variables.get(key(g, "variable")),
    expect: variable,
  },
  AsteriskVariableSet: {
    call: (c, g) =>
      c.asterisk.variables.set(
        key(g, "variable"),
        body<{ value?: string }>(g, "asterisk_variable_set").value ?? "",
      ),
    expect: nothing,
  },
  AsteriskConfigData: {
    call: (c, g) => c.asterisk.config.data(key(g, "config")),
    expect: (result, response, g) => {
      const config = response.data?.config as unknown as Json;
      assert.deepEqual(result, {
        key: config.key ?? key(g, "config"),
        configClass: config.Class,
        objectType: config.Type,
        id: config.Name,
        fields: config.Fields,
      });
    },
  },
  AsteriskConfigUpdate: {
    call: (c, g) =>
      c.asterisk.config.update(
        key(g, "config"),
        body<{ tuples: { attribute: string; value: string }[] }>(
          g,
          "asterisk_config",
        ).tuples ?? [],
      ),
    expect: nothing,
  },
  AsteriskConfigDelete: {
    call: (c, g) => c.asterisk.config.delete(key(g, "config")),
    expect: nothing,
  },
  AsteriskLoggingList: {
    call: (c, g) => c.asterisk.logging.list(filter(g)),
    expect: keys,
  },
  AsteriskLoggingCreate: {
    call: (c, g) =>
      c.asterisk.logging.create(
        key(g, "logging"),
        body<{ config?: string }>(g, "asterisk_logging_channel").config ||
          "notice",
      ),
    expect: handle("logging"),
  },
  AsteriskLoggingGet: {
    call: (c, g) => c.asterisk.logging.get(key(g, "logging")),
    expect: gotHandle("logging"),
  },
  AsteriskLoggingData: {
    call: (c, g) => c.asterisk.logging.data(key(g, "logging")),
    expect: entity("log"),
  },
  AsteriskLoggingDelete: {
    call: (c, g) => c.asterisk.logging.delete(key(g, "logging")),
    expect: nothing,
  },
  AsteriskLoggingRotate: {
    call: (c, g) => c.asterisk.logging.rotate(key(g, "logging")),
    expect: nothing,
  },
  AsteriskModuleList: {
    call: (c, g) => c.asterisk.modules.list(filter(g)),
    expect: keys,
  },
  AsteriskModuleGet: {
    call: (c, g) => c.asterisk.modules.get(key(g, "module")),
    expect: gotHandle("module"),
  },
  AsteriskModuleData: {
    call: (c, g) => c.asterisk.modules.data(key(g, "module")),
    expect: entity("module"),
  },
  AsteriskModuleLoad: {
    call: (c, g) => c.asterisk.modules.load(key(g, "module")),
    expect: nothing,
  },
  AsteriskModuleUnload: {
    call: (c, g) => c.asterisk.modules.unload(key(g, "module")),
    expect: nothing,
  },
  AsteriskModuleReload: {
    call: (c, g) => c.asterisk.modules.reload(key(g, "module")),
    expect: nothing,
  },
  // bridges
  BridgeList: { call: (c, g) => c.bridges.list(filter(g)), expect: keys },
  BridgeGet: {
    call: (c, g) => c.bridges.get(key(g, "bridge")),
    expect: gotHandle("bridge"),
  },
  BridgeData: {
    call: (c, g) => c.bridges.data(key(g, "bridge")),
    expect: entity("bridge"),
  },
  BridgeCreate: {
    call: (c, g) => {
      const b = body<{ type?: string; name?: string }>(g, "bridge_create");
      return c.bridges.create({
        bridgeId: key(g, "bridge").id!,
        ...(b.type ? { type: b.type } : {}),
        ...(b.name ? { name: b.name } : {}),
      });
    },
    expect: handle("bridge"),
  },
  BridgeStageCreate: {
    call: (c, g) => {
      const b = body<{ type?: string; name?: string }>(g, "bridge_create");
      return c.bridges.stageCreate({
        bridgeId: key(g, "bridge").id!,
        ...(b.type ? { type: b.type } : {}),
        ...(b.name ? { name: b.name } : {}),
      });
    },
    expect: handle("bridge", true),
  },
  BridgeDelete: {
    call: (c, g) => c.bridges.handle(key(g, "bridge")).delete(),
    expect: nothing,
  },
  BridgeAddChannel: {
    call: (c, g) => {
      const b = body<{ channel: string; absorbDTMF?: boolean; role?: string }>(
        g,
        "bridge_add_channel",
      );
      return c.bridges.handle(key(g, "bridge")).addChannel(b.channel, {
        ...(b.absorbDTMF ? { absorbDtmf: true } : {}),
        ...(b.role ? { role: b.role } : {}),
      });
    },
    expect: nothing,
  },
  BridgeRemoveChannel: {
    call: (c, g) =>
      c.bridges.handle(key(g, "bridge")).removeChannel(
        body<{ channel: string }>(g, "bridge_remove_channel").channel,
      ),
    expect: nothing,
  },
  BridgeMOH: {
    call: (c, g) =>
      c.bridges.handle(key(g, "bridge")).moh(
        body<{ class?: string }>(g, "bridge_moh").class,
      ),
    expect: nothing,
  },
  BridgeStopMOH: {
    call: (c, g) => c.bridges.handle(key(g, "bridge")).stopMoh(),
    expect: nothing,
  },
  BridgePlay: {
    call: (c, g) =>
      c.bridges.handle(key(g, "bridge")).play(
        ...playArgs(body(g, "bridge_play")),
      ),
    expect: handle("playback"),
  },
  BridgeStagePlay: {
    call: (c, g) =>
      c.bridges.handle(key(g, "bridge")).stagePlay(
        ...playArgs(body(g, "bridge_play")),
      ),
    expect: handle("playback", true),
  },
  BridgeRecord: {
    call: (c, g) =>
      c.bridges.handle(key(g, "bridge")).record(
        recordOptions(body(g, "bridge_record")),
      ),
    expect: handle("liverecording"),
  },
  BridgeStageRecord: {
    call: (c, g) =>
      c.bridges.handle(key(g, "bridge")).stageRecord(
        recordOptions(body(g, "bridge_record")),
      ),
    expect: handle("liverecording", true),
  },
  BridgeVideoSource: {
    call: (c, g) =>
      c.bridges.handle(key(g, "bridge")).videoSource(
        body<{ channel: string }>(g, "bridge_video_source").channel,
      ),
    expect: nothing,
  },
  BridgeVideoSourceDelete: {
    call: (c, g) => c.bridges.handle(key(g, "bridge")).videoSourceDelete(),
    expect: nothing,
  },
  BridgeSubscribe: {
    call: (c, g) => c.bridges.handle(key(g, "bridge")).bindDialog(),
    expect: nothing,
  },
  BridgeUnsubscribe: {
    call: (c, g) => c.bridges.handle(key(g, "bridge")).unbindDialog(),
    expect: nothing,
  },
  // channels
  ChannelList: { call: (c, g) => c.channels.list(filter(g)), expect: keys },
  ChannelGet: {
    call: (c, g) => c.channels.get(key(g, "channel")),
    expect: gotHandle("channel"),
  },
  ChannelData: {
    call: (c, g) => c.channels.data(key(g, "channel")),
    expect: entity("channel"),
  },
  ChannelOriginate: {
    call: (c, g) => c.channels.originate(originateParams(g)),
    expect: handle("channel"),
  },
  ChannelStageOriginate: {
    call: (c, g) => c.channels.stageOriginate(originateParams(g)),
    expect: handle("channel", true),
  },
  ChannelCreate: {
    call: (c, g) => {
      const o = body<{ channel_create_request?: GoOriginate }>(
        g,
        "channel_create",
      ).channel_create_request ?? {};
      return c.channels.create({
        endpoint: o.endpoint ?? "Local/100@default",
        ...(o.app ? { app: o.app } : {}),
        ...(o.channelId ? { channelId: o.channelId } : {}),
      });
    },
    expect: handle("channel"),
  },
  ChannelExternalMedia: {
    call: (c, g) => c.channels.externalMedia(externalMediaParams(g)),
    expect: handle("channel"),
  },
  ChannelStageExternalMedia: {
    call: (c, g) => c.channels.stageExternalMedia(externalMediaParams(g)),
    expect: handle("channel", true),
  },
  ChannelAnswer: {
    call: (c, g) => c.channels.handle(key(g, "channel")).answer(),
    expect: nothing,
  },
  ChannelHangup: {
    call: (c, g) => {
      const reason = body<{ reason?: string }>(g, "channel_hangup").reason;
      return c.channels.handle(key(g, "channel")).hangup(
        reason ? { reason } : {},
      );
    },
    expect: nothing,
  },
  ChannelBusy: {
    call: (c, g) => c.channels.handle(key(g, "channel")).busy(),
    expect: nothing,
  },
  ChannelCongestion: {
    call: (c, g) => c.channels.handle(key(g, "channel")).congestion(),
    expect: nothing,
  },
  ChannelRing: {
    call: (c, g) => c.channels.handle(key(g, "channel")).ring(),
    expect: nothing,
  },
  ChannelStopRing: {
    call: (c, g) => c.channels.handle(key(g, "channel")).stopRing(),
    expect: nothing,
  },
  ChannelHold: {
    call: (c, g) => c.channels.handle(key(g, "channel")).hold(),
    expect: nothing,
  },
  ChannelStopHold: {
    call: (c, g) => c.channels.handle(key(g, "channel")).stopHold(),
    expect: nothing,
  },
  ChannelMute: {
    call: (c, g) =>
      c.channels.handle(key(g, "channel")).mute(
        body<{ direction?: "both" }>(g, "channel_mute").direction,
      ),
    expect: nothing,
  },
  ChannelUnmute: {
    call: (c, g) =>
      c.channels.handle(key(g, "channel")).unmute(
        body<{ direction?: "both" }>(g, "channel_mute").direction,
      ),
    expect: nothing,
  },
  ChannelMOH: {
    call: (c, g) =>
      c.channels.handle(key(g, "channel")).moh(
        body<{ music?: string }>(g, "channel_moh").music,
      ),
    expect: nothing,
  },
  ChannelStopMOH: {
    call: (c, g) => c.channels.handle(key(g, "channel")).stopMoh(),
    expect: nothing,
  },
  ChannelSilence: {
    call: (c, g) => c.channels.handle(key(g, "channel")).silence(),
    expect: nothing,
  },
  ChannelStopSilence: {
    call: (c, g) => c.channels.handle(key(g, "channel")).stopSilence(),
    expect: nothing,
  },
  ChannelSendDTMF: {
    call: (c, g) => {
      const b = body<{ dtmf: string; options?: Record<string, number> }>(
        g,
        "channel_send_dtmf",
      );
      const o = b.options ?? {};
      return c.channels.handle(key(g, "channel")).sendDtmf(b.dtmf, {
        ...(o.Before ? { before: nsToMs(o.Before)! } : {}),
        ...(o.Between ? { between: nsToMs(o.Between)! } : {}),
        ...(o.Duration ? { duration: nsToMs(o.Duration)! } : {}),
        ...(o.After ? { after: nsToMs(o.After)! } : {}),
      });
    },
    expect: nothing,
  },
  ChannelPlay: {
    call: (c, g) =>
      c.channels.handle(key(g, "channel")).play(
        ...playArgs(body(g, "channel_play")),
      ),
    expect: handle("playback"),
  },
  ChannelStagePlay: {
    call: (c, g) =>
      c.channels.handle(key(g, "channel")).stagePlay(
        ...playArgs(body(g, "channel_play")),
      ),
    expect: handle("playback", true),
  },
  ChannelRecord: {
    call: (c, g) =>
      c.channels.handle(key(g, "channel")).record(
        recordOptions(body(g, "channel_record")),
      ),
    expect: handle("liverecording"),
  },
  ChannelStageRecord: {
    call: (c, g) =>
      c.channels.handle(key(g, "channel")).stageRecord(
        recordOptions(body(g, "channel_record")),
      ),
    expect: handle("liverecording", true),
  },
  ChannelSnoop: {
    call: (c, g) => c.channels.handle(key(g, "channel")).snoop(snoopOptions(g)),
    expect: handle("channel"),
  },
  ChannelStageSnoop: {
    call: (c, g) =>
      c.channels.handle(key(g, "channel")).stageSnoop(snoopOptions(g)),
    expect: handle("channel", true),
  },
  ChannelDial: {
    call: (c, g) => {
      const b = body<{ caller?: string; timeout?: number }>(g, "channel_dial");
      return c.channels.handle(key(g, "channel")).dial({
        ...(b.caller ? { caller: b.caller } : {}),
        ...(b.timeout ? { dialTimeout: nsToMs(b.timeout)! } : {}),
      });
    },
    expect: nothing,
  },
  ChannelContinue: {
    call: (c, g) => {
      const b = body<
        { context?: string; extension?: string; priority?: number }
      >(
        g,
        "channel_continue",
      );
      return c.channels.handle(key(g, "channel")).continue({
        ...(b.context ? { context: b.context } : {}),
        ...(b.extension ? { extension: b.extension } : {}),
        ...(b.priority ? { priority: b.priority } : {}),
      });
    },
    expect: nothing,
  },
  ChannelUserEvent: {
    call: (c, g) => {
      const b = body<{ UserEvent?: { eventname?: string } }>(
        g,
        "channel_user_event",
      );
      return c.channels.handle(key(g, "channel")).userEvent(
        b.UserEvent?.eventname || "golden-ue",
      );
    },
    expect: nothing,
  },
  ChannelSubscribe: {
    call: (c, g) => c.channels.handle(key(g, "channel")).bindDialog(),
    expect: nothing,
  },
  ChannelVariableGet: {
    call: (c, g) =>
      c.channels.handle(key(g, "channel")).variables.get(
        body<{ name: string }>(g, "channel_variable").name,
      ),
    expect: variable,
  },
  ChannelVariableSet: {
    call: (c, g) => {
      const b = body<{ name: string; value?: string }>(g, "channel_variable");
      return c.channels.handle(key(g, "channel")).variables.set(
        b.name,
        b.value ?? "",
      );
    },
    expect: nothing,
  },
  // device states
  DeviceStateList: {
    call: (c, g) => c.deviceStates.list(filter(g)),
    expect: keys,
  },
  DeviceStateGet: {
    call: (c, g) => c.deviceStates.get(key(g, "devicestate")),
    expect: gotHandle("devicestate"),
  },
  DeviceStateData: {
    call: (c, g) => c.deviceStates.data(key(g, "devicestate")),
    expect: entity("device_state"),
  },
  DeviceStateUpdate: {
    call: (c, g) =>
      c.deviceStates.handle(key(g, "devicestate")).update(
        body<{ state: DeviceStateValue }>(g, "device_state_update").state,
      ),
    expect: nothing,
  },
  DeviceStateDelete: {
    call: (c, g) => c.deviceStates.handle(key(g, "devicestate")).delete(),
    expect: nothing,
  },
  // endpoints
  EndpointList: { call: (c, g) => c.endpoints.list(filter(g)), expect: keys },
  EndpointListByTech: {
    call: (c, g) =>
      c.endpoints.listByTech(
        body<{ tech: string }>(g, "endpoint_list_by_tech").tech,
      ),
    expect: keys,
  },
  EndpointGet: {
    call: (c, g) => c.endpoints.get(key(g, "endpoint")),
    expect: gotHandle("endpoint"),
  },
  EndpointData: {
    call: (c, g) => c.endpoints.data(key(g, "endpoint")),
    expect: entity("endpoint"),
  },
  // mailboxes
  MailboxList: { call: (c, g) => c.mailboxes.list(filter(g)), expect: keys },
  MailboxGet: {
    call: (c, g) => c.mailboxes.get(key(g, "mailbox")),
    expect: gotHandle("mailbox"),
  },
  MailboxData: {
    call: (c, g) => c.mailboxes.data(key(g, "mailbox")),
    expect: entity("mailbox"),
  },
  MailboxUpdate: {
    call: (c, g) => {
      const b = body<{ old?: number; new?: number }>(g, "mailbox_update");
      return c.mailboxes.handle(key(g, "mailbox")).update({
        oldMessages: b.old ?? 0,
        newMessages: b.new ?? 0,
      });
    },
    expect: nothing,
  },
  MailboxDelete: {
    call: (c, g) => c.mailboxes.handle(key(g, "mailbox")).delete(),
    expect: nothing,
  },
  // playbacks
  PlaybackGet: {
    call: (c, g) => c.playbacks.get(key(g, "playback")),
    expect: gotHandle("playback"),
  },
  PlaybackData: {
    call: (c, g) => c.playbacks.data(key(g, "playback")),
    expect: entity("playback"),
  },
  PlaybackControl: {
    call: (c, g) =>
      c.playbacks.handle(key(g, "playback")).control(
        body<{ command: PlaybackOperation }>(g, "playback_control").command,
      ),
    expect: nothing,
  },
  PlaybackStop: {
    call: (c, g) => c.playbacks.handle(key(g, "playback")).stop(),
    expect: nothing,
  },
  PlaybackSubscribe: {
    call: (c, g) => c.playbacks.handle(key(g, "playback")).bindDialog(),
    expect: nothing,
  },
  // live recordings
  RecordingLiveGet: {
    call: (c, g) => c.liveRecordings.get(key(g, "liverecording")),
    expect: gotHandle("liverecording"),
  },
  RecordingLiveData: {
    call: (c, g) => c.liveRecordings.data(key(g, "liverecording")),
    expect: entity("live_recording"),
  },
  RecordingLiveStop: {
    call: (c, g) => c.liveRecordings.handle(key(g, "liverecording")).stop(),
    expect: nothing,
  },
  RecordingLivePause: {
    call: (c, g) => c.liveRecordings.handle(key(g, "liverecording")).pause(),
    expect: nothing,
  },
  RecordingLiveResume: {
    call: (c, g) => c.liveRecordings.handle(key(g, "liverecording")).resume(),
    expect: nothing,
  },
  RecordingLiveMute: {
    call: (c, g) => c.liveRecordings.handle(key(g, "liverecording")).mute(),
    expect: nothing,
  },
  RecordingLiveUnmute: {
    call: (c, g) => c.liveRecordings.handle(key(g, "liverecording")).unmute(),
    expect: nothing,
  },
  RecordingLiveScrap: {
    call: (c, g) => c.liveRecordings.handle(key(g, "liverecording")).scrap(),
    expect: nothing,
  },
  RecordingLiveSubscribe: {
    call: (c, g) =>
      c.liveRecordings.handle(key(g, "liverecording")).bindDialog(),
    expect: nothing,
  },
  // stored recordings
  RecordingStoredList: {
    call: (c, g) => c.storedRecordings.list(filter(g)),
    expect: keys,
  },
  RecordingStoredGet: {
    call: (c, g) => c.storedRecordings.get(key(g, "storedrecording")),
    expect: gotHandle("storedrecording"),
  },
  RecordingStoredData: {
    call: (c, g) => c.storedRecordings.data(key(g, "storedrecording")),
    expect: entity("stored_recording"),
  },
  RecordingStoredCopy: {
    call: (c, g) =>
      c.storedRecordings.handle(key(g, "storedrecording")).copy(
        body<{ destination: string }>(g, "recording_stored_copy").destination,
      ),
    expect: handle("storedrecording"),
  },
  RecordingStoredDelete: {
    call: (c, g) =>
      c.storedRecordings.handle(key(g, "storedrecording")).delete(),
    expect: nothing,
  },
  // sounds
  SoundList: {
    call: (c, g) =>
      c.sounds.list(
        body<{ filters?: { lang?: string; format?: string } | null }>(
          g,
          "sound_list",
        ).filters ?? null,
      ),
    expect: keys,
  },
  SoundData: {
    call: (c, g) => c.sounds.data(key(g, "sound")),
    expect: entity("sound"),
  },
};

/**
 * Kinds a Go proxy does not know (raw requests in the corpus): replayed as
 * the answer to one of our extension kinds.
 */
const EXTENSION_CALL: Case = {
  call: (c) => c.channels.handle("golden-placeholder").progress(),
  expect: nothing,
};
const EXTENSION_KIND = "ChannelProgress";

/** A Go-like proxy on NATS that answers every request with scripted bytes. */
class GoResponder {
  readonly received: Json[] = [];
  #reply: string[] = [];
  readonly #nc: NatsConnection;

  private constructor(nc: NatsConnection) {
    this.#nc = nc;
  }

  static async start(url: string): Promise<GoResponder> {
    const nc = await natsConnect({ servers: url, name: "golden-go-proxy" });
    const responder = new GoResponder(nc);
    for (const cls of ["get", "data", "command", "create"]) {
      for (const subject of [`ari.${cls}`, `ari.${cls}.>`]) {
        nc.subscribe(subject, {
          callback: (_error, msg) => responder.#answer(msg),
        });
      }
    }
    const announce = (await readLines<{ subject: string; raw: string | null }>(
      "announce_ping.jsonl",
    )).find((line) => line.subject === "ari.announce" && line.raw)!.raw!;
    nc.subscribe("ari.ping", {
      callback: () => nc.publish("ari.announce", encoder.encode(announce)),
    });
    await nc.flush();
    return responder;
  }

  /** The replies to send (in order) to the next request; `[]` sends none. */
  script(replies: string[]): void {
    this.#reply = replies;
    this.received.length = 0;
  }

  #answer(msg: Msg): void {
    try {
      this.received.push(msg.json<Json>());
    } catch {
      this.received.push({});
    }
    for (const raw of this.#reply) msg.respond(encoder.encode(raw));
  }

  close(): Promise<void> {
    return this.#nc.close();
  }
}

Deno.test({
  name:
    "createClient() over createNatsTransport() decodes every Go response of the golden corpus into typed results or errors",
  async fn(t) {
    const exchanges = await readLines<Exchange>("requests.jsonl");
    await using nats = await startNats();
    const responder = await GoResponder.start(nats.url);
    const client = await connectClient(nats.url, { timeout: 10_000 });
    // For exchanges the Go proxy never answered: short, no retry.
    const hasty = await connectClient(nats.url, { timeout: 300, retries: 0 });
    const dialogs = new Map<string, AriClient>();
    const counts = { ok: 0, remote: 0, notImplemented: 0, timeout: 0 };
    try {
      assert.deepEqual(
        client.nodes(),
        [{ node: NODE, app: APP }],
        "the client learnt the Go proxy from its announcement",
      );
      const missing = exchanges
        .map((g) => g.kind)
        .filter((k): k is string => !!k && k !== "GoldenNoSuchKind")
        .filter((k) => !CASES[k]);
      assert.deepEqual([...new Set(missing)], [], "every kind has a case");

      for (const g of exchanges) {
        const known = g.kind !== null && CASES[g.kind] !== undefined;
        const test = known ? CASES[g.kind!]! : EXTENSION_CALL;
        const sentKind = known ? g.kind! : EXTENSION_KIND;
        const replies = g.responses_raw ?? [];
        const what = `#${g.seq} ${g.step} (${g.kind})`;
        await t.step({
          name: what,
          async fn() {
            const dialog = g.request?.key?.dialog;
            let target = client;
            if (dialog && !g.no_reply) {
              if (!dialogs.has(dialog)) {
                dialogs.set(dialog, client.dialog(dialog));
              }
              target = dialogs.get(dialog)!;
            }
            if (replies.length === 0) target = hasty;
            responder.script(replies);
            const outcome = await test.call(target, g).then(
              (value) => ({ ok: true as const, value }),
              (error: unknown) => ({ ok: false as const, error }),
            );
            assert.ok(responder.received.length >= 1, "a request was sent");
            assert.ok(
              responder.received.every((r) => r.kind === sentKind),
              `sent ${responder.received.map((r) => r.kind)}, want ${sentKind}`,
            );
            if (replies.length === 0) {
              assert.ok(!outcome.ok, "no reply: the call fails");
              assert.ok(
                outcome.error instanceof TimeoutError,
                `expected TimeoutError, got ${outcome.error}`,
              );
              counts.timeout++;
              return;
            }
            assert.equal(replies.length, 1, "one reply per Go exchange");
            const response = JSON.parse(replies[0]!) as Response;
            if (response.error === "Not implemented") {
              assert.ok(!outcome.ok);
              assert.ok(
                outcome.error instanceof NotImplementedError,
                `expected NotImplementedError, got ${outcome.error}`,
              );
              assert.equal(outcome.error.kind, sentKind);
              counts.notImplemented++;
            } else if (response.error) {
              assert.ok(!outcome.ok, `error reply: the call fails`);
              assert.ok(
                outcome.error instanceof RemoteError,
                `expected RemoteError, got ${outcome.error}`,
              );
              assert.equal(outcome.error.remoteMessage, response.error);
              assert.equal(outcome.error.kind, sentKind);
              counts.remote++;
            } else {
              if (!outcome.ok) throw outcome.error;
              test.expect(outcome.value, response, g);
              counts.ok++;
            }
          },
        });
      }
      // Every line of the corpus was replayed.
      assert.equal(
        counts.ok + counts.remote + counts.notImplemented + counts.timeout,
        exchanges.length,
      );
      assert.ok(counts.ok > 150 && counts.remote > 50, JSON.stringify(counts));
    } finally {
      for (const dialog of dialogs.values()) await dialog.close();
      await hasty.close();
      await client.close();
      await responder.close();
    }
  },
});

async function connectClient(
  url: string,
  options: { timeout: number; retries?: number },
): Promise<AriClient> {
  const transport = await createNatsTransport({
    servers: url,
    application: APP,
    discoveryWait: 5_000,
    ...options,
  });
  return createClient(transport);
}

// ---------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------

/** One event publication. */
interface Publication {
  subject: string;
  raw: string;
  what: string;
}

interface EventLine {
  subject: string;
  type: string;
  event_raw: string;
}

interface RawVsProxiedLine {
  type: string;
  raw: Json;
  raw_raw: string;
  proxied_raw: string | null;
  proxied_subject: string | null;
  proxied_equivalent_raw?: string;
  dialog_copies?: { subject: string; event_raw: string }[];
}

async function publications(): Promise<Publication[]> {
  const out: Publication[] = [];
  for (const line of await readLines<EventLine>("events.jsonl")) {
    out.push({
      subject: line.subject,
      raw: line.event_raw,
      what: `events.jsonl ${line.type}`,
    });
  }
  for (
    const line of await readLines<RawVsProxiedLine>("raw_vs_proxied.jsonl")
  ) {
    // Our proxy publishes Asterisk's frame as is.
    const subject = `ari.event.${line.raw.application}.${line.raw.asterisk_id}`;
    out.push({ subject, raw: line.raw_raw, what: `raw ${line.type}` });
    if (line.proxied_raw && line.proxied_subject) {
      out.push({
        subject: line.proxied_subject,
        raw: line.proxied_raw,
        what: `proxied ${line.type}`,
      });
    } else if (line.proxied_equivalent_raw) {
      out.push({
        subject,
        raw: line.proxied_equivalent_raw,
        what: `proxied equivalent ${line.type}`,
      });
    }
    for (const copy of line.dialog_copies ?? []) {
      out.push({
        subject: copy.subject,
        raw: copy.event_raw,
        what: `dialog copy ${line.type}`,
      });
    }
  }
  return out;
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function nonEmpty(value: unknown): value is string {
  return typeof value === "string" && value !== "";
}

/**
 * The entities an event names, as `kind:id` — the oracle of this test,
 * written from the ARI models (Go ari v5.3.1 `Keys()` plus playback and
 * recording targets), skipping zero-valued Go objects (empty ids).
 */
function expectedEntities(event: Json): Set<string> {
  const out = new Set<string>();
  const channel = (value: unknown) => {
    if (isObject(value) && nonEmpty(value.id)) out.add(`channel:${value.id}`);
  };
  const target = (uri: unknown) => {
    const match = nonEmpty(uri) ? /^(channel|bridge):(.+)$/.exec(uri) : null;
    if (match) out.add(`${match[1]}:${match[2]}`);
  };
  if (String(event.type).startsWith("Application")) {
    if (nonEmpty(event.application)) {
      out.add(`application:${event.application}`);
    }
    return out;
  }
  for (
    const field of ["channel", "replace_channel", "caller", "peer", "forwarded"]
  ) {
    if (field === "peer" && event.type === "PeerStatusChange") continue;
    channel(event[field]);
  }
  const bridge = event.bridge;
  if (isObject(bridge) && nonEmpty(bridge.id)) {
    out.add(`bridge:${bridge.id}`);
    for (const id of Array.isArray(bridge.channels) ? bridge.channels : []) {
      if (nonEmpty(id)) out.add(`channel:${id}`);
    }
  }
  const playback = event.playback;
  if (isObject(playback) && nonEmpty(playback.id)) {
    out.add(`playback:${playback.id}`);
    target(playback.target_uri);
  }
  const recording = event.recording;
  if (isObject(recording) && nonEmpty(recording.name)) {
    out.add(`liverecording:${recording.name}`);
    target(recording.target_uri);
  }
  const device = event.device_state;
  if (isObject(device) && nonEmpty(device.name)) {
    out.add(`devicestate:${device.name}`);
  }
  const endpoint = event.endpoint;
  if (isObject(endpoint) && nonEmpty(endpoint.technology)) {
    out.add(`endpoint:${endpoint.technology}/${endpoint.resource ?? ""}`);
    if (event.type === "ChannelUserevent") {
      for (
        const id of Array.isArray(endpoint.channel_ids)
          ? endpoint.channel_ids
          : []
      ) {
        if (nonEmpty(id)) out.add(`channel:${id}`);
      }
    }
  }
  return out;
}

/**
 * Checks an event as delivered against what was published: same type,
 * header and entities; Asterisk's own JSON unchanged; in Go re-encodings,
 * no zero-valued entity object and no `"key":null` left.
 */
function assertDelivered(
  delivered: AriEvent,
  published: Json,
  publication: Publication,
): void {
  const event = delivered as unknown as Json;
  const what = publication.what;
  assert.equal(event.type, published.type, what);
  for (const field of ["application", "asterisk_id", "timestamp", "dialog"]) {
    assert.equal(event[field], published[field], `${what}: ${field}`);
  }
  assert.deepEqual(
    [...expectedEntities(event)].sort(),
    [...expectedEntities(published)].sort(),
    `${what}: entities`,
  );
  if (publication.what.startsWith("raw ")) {
    assert.deepEqual(event, published, `${what}: Asterisk's JSON unchanged`);
    return;
  }
  for (const [field, value] of Object.entries(event)) {
    if (!isObject(value)) continue;
    assert.notEqual(value.id, "", `${what}: zero-valued "${field}" left`);
    assert.ok(
      !(value.technology === "" && value.resource === ""),
      `${what}: zero-valued "${field}" left`,
    );
    assert.notEqual(value.key, null, `${what}: "${field}.key" is null`);
  }
}

/** Buffers a stream's events in the background. */
class Recorder {
  readonly events: AriEvent[] = [];
  readonly #done: Promise<void>;

  constructor(stream: EventStream<AriEvent>) {
    this.#done = (async () => {
      for await (const event of stream) this.events.push(event);
    })();
  }

  finished(): Promise<void> {
    return this.#done;
  }
}

function subscribable(client: AriClient, entity: string) {
  const colon = entity.indexOf(":");
  const kind = entity.slice(0, colon);
  const id = entity.slice(colon + 1);
  switch (kind) {
    case "channel":
      return client.channels.handle(id);
    case "bridge":
      return client.bridges.handle(id);
    case "playback":
      return client.playbacks.handle(id);
    case "liverecording":
      return client.liveRecordings.handle(id);
    case "devicestate":
      return client.deviceStates.handle(id);
    case "endpoint":
      return client.endpoints.handle(id);
    case "application":
      return client.applications.handle(id);
    default:
      throw new Error(`No handle for ${entity}`);
  }
}

Deno.test({
  name:
    "createClient() over createNatsTransport() delivers every golden event to events() and to exactly the handles it names",
  async fn() {
    const all = await publications();
    const plain = all.filter((p) => p.subject.startsWith("ari.event."));
    const dialogPubs = all.filter((p) =>
      p.subject.startsWith("ari.dialogevent.")
    );
    assert.ok(plain.length > 100 && dialogPubs.length > 10);
    const parsed = plain.map((p) => JSON.parse(p.raw) as Json);
    const expected = parsed.map(expectedEntities);
    const entities = new Set(expected.flatMap((set) => [...set]));

    await using nats = await startNats();
    const transport: NatsAriTransport = await createNatsTransport({
      servers: nats.url,
      application: APP,
      discoveryWait: 0,
    });
    // Every application (the corpus has `goldenraw` events too).
    const client = createClient(transport, { scope: {} });
    const appOnly = client.child();
    const golden = createClient(transport.child(), {});
    const dialogs = new Map<string, AriClient>();
    const recorders: Recorder[] = [];
    const record = (stream: EventStream<AriEvent>) => {
      const recorder = new Recorder(stream);
      recorders.push(recorder);
      return recorder;
    };
    const publisher = await natsConnect({ servers: nats.url });
    try {
      const everything = record(client.events());
      const childStream = record(appOnly.events());
      const goldenOnly = record(golden.events());
      const dialogRecorders = new Map<string, Recorder>();
      for (const p of dialogPubs) {
        const dialog = p.subject.slice("ari.dialogevent.".length);
        if (dialogRecorders.has(dialog)) continue;
        const child = client.dialog(dialog);
        dialogs.set(dialog, child);
        dialogRecorders.set(dialog, record(child.events()));
      }
      const perEntity = new Map<string, Recorder>();
      for (const entity of [...entities].sort()) {
        perEntity.set(entity, record(subscribable(client, entity).events()));
      }
      // Zero-valued Go objects must not name an entity with an empty id.
      const bogus = [
        record(client.endpoints.handle("/").events()),
        record(client.channels.handle("null").events()),
      ];
      await transport.connection.flush();

      for (const p of all) publisher.publish(p.subject, encoder.encode(p.raw));
      await publisher.flush();

      await waitFor(() => everything.events.length >= plain.length, {
        timeout: 30_000,
        message: `${plain.length} events on events()`,
      });
      // In order, with their type, header and entities.
      assert.equal(everything.events.length, plain.length);
      for (const [i, event] of everything.events.entries()) {
        assertDelivered(event, parsed[i]!, plain[i]!);
      }
      // A child client of the same transport sees the same stream.
      await waitFor(() => childStream.events.length >= plain.length, {
        timeout: 30_000,
        message: "the child client's events",
      });
      // The default scope is the client's application.
      const goldenCount = plain.filter((p) =>
        p.subject.startsWith(`ari.event.${APP}.`)
      ).length;
      await waitFor(() => goldenOnly.events.length >= goldenCount, {
        timeout: 30_000,
        message: "the golden app's events",
      });
      assert.equal(goldenOnly.events.length, goldenCount);
      assert.ok(
        goldenOnly.events.every((e) =>
          (e as { application?: string }).application === APP
        ),
      );

      // Dialog copies reach the dialog client, with their dialog.
      for (const [dialog, recorder] of dialogRecorders) {
        const want = dialogPubs.filter((p) => p.subject.endsWith(`.${dialog}`))
          .map((p) => ({ publication: p, event: JSON.parse(p.raw) as Json }));
        await waitFor(() => recorder.events.length >= want.length, {
          timeout: 30_000,
          message: `the events of dialog ${dialog}`,
        });
        assert.equal(recorder.events.length, want.length);
        for (const [i, event] of recorder.events.entries()) {
          assertDelivered(event, want[i]!.event, want[i]!.publication);
          assert.equal((event as { dialog?: string }).dialog, dialog);
        }
      }

      // Each handle got exactly the events naming its entity, in order.
      const index = new Map<object, number>(
        everything.events.map((event, i) => [event, i]),
      );
      for (const [entity, recorder] of perEntity) {
        const want = expected.flatMap((set, i) => set.has(entity) ? [i] : []);
        await waitFor(() => recorder.events.length >= want.length, {
          timeout: 30_000,
          message: `${want.length} events on the handle of ${entity}`,
        });
        const got = recorder.events.map((event) => index.get(event) ?? -1);
        assert.deepEqual(
          got.map((i) => `${i} ${plain[i]?.what}`),
          want.map((i) => `${i} ${plain[i]?.what}`),
          `events of the handle of ${entity}`,
        );
      }
      for (const recorder of bogus) assert.deepEqual(recorder.events, []);
    } finally {
      await publisher.close();
      for (const dialog of dialogs.values()) await dialog.close();
      await golden.close();
      await appOnly.close();
      await client.close();
      await Promise.all(recorders.map((r) => r.finished()));
    }
  },
});
