/**
 * The entity keys an ARI event refers to: what dialog routing (server) and
 * handle event filtering (client) match against.
 *
 * Follows Go ari v5.3.1 `Keys()` for every event type it knows, and adds what
 * Go misses: the target of a playback or recording (`target_uri`
 * `channel:<id>` / `bridge:<id>`, so a channel handle sees the playbacks on
 * it), the bridges and channels of `ChannelTransfer`, the string
 * `destination_bridge` of `BridgeAttendedTransfer`, the channel of the
 * Asterisk 22 events unknown to Go, and an `application` key for the
 * `Application*` events. Keys with an empty id are never produced (Go emits
 * some for zero-valued structs) and duplicates are removed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { eventKeys } from "./event_keys.ts";
 *
 * const keys = eventKeys({
 *   type: "PlaybackStarted",
 *   application: "app",
 *   asterisk_id: "n1",
 *   playback: { id: "pb1", target_uri: "channel:c1", media_uri: "sound:x", state: "playing" },
 * });
 * assert.deepEqual(keys, [
 *   { kind: "playback", id: "pb1", node: "n1", app: "app" },
 *   { kind: "channel", id: "c1", node: "n1", app: "app" },
 * ]);
 * ```
 *
 * @module
 */

import type { AriEventType } from "../generated/events.ts";
import type { Key, ProxiedEvent } from "./types.ts";

/** How one step finds entities in an event. */
type Op =
  /** `event[field]` (or `event[field][sub]`) is a Channel. */
  | "channel"
  /** A Bridge, plus its `channels`. */
  | "bridge"
  /** A Bridge without its channels (Go's choice for transfer bridges). */
  | "bridgeOnly"
  /** A string bridge id. */
  | "bridgeId"
  /** A Playback, plus its target. */
  | "playback"
  /** A LiveRecording (id = name), plus its target. */
  | "recording"
  /** An Endpoint (id `tech/resource`). */
  | "endpoint"
  /** An Endpoint plus its `channel_ids`. */
  | "endpointChannels"
  /** A DeviceState (id = name). */
  | "deviceState"
  /** The event's own application. */
  | "application";

type Step = readonly [op: Op, field: string, sub?: string];

const CHANNEL: readonly Step[] = [["channel", "channel"]];
const APPLICATION: readonly Step[] = [["application", ""]];
const BRIDGE: readonly Step[] = [["bridge", "bridge"]];
const PLAYBACK: readonly Step[] = [["playback", "playback"]];
const RECORDING: readonly Step[] = [["recording", "recording"]];
const ENDPOINT: readonly Step[] = [["endpoint", "endpoint"]];
const CHANNEL_BRIDGE: readonly Step[] = [
  ["channel", "channel"],
  ["bridge", "bridge"],
];
const NONE: readonly Step[] = [];

/** Steps per known event type (compile-time complete over ARI 10's events). */
const STEPS: { readonly [T in AriEventType]: readonly Step[] } = {
  MissingParams: NONE,
  RESTResponse: NONE,
  DeviceStateChanged: [["deviceState", "device_state"]],
  PlaybackStarted: PLAYBACK,
  PlaybackContinuing: PLAYBACK,
  PlaybackFinished: PLAYBACK,
  RecordingStarted: RECORDING,
  RecordingFinished: RECORDING,
  RecordingFailed: RECORDING,
  ApplicationMoveFailed: CHANNEL,
  ApplicationRegistered: APPLICATION,
  ApplicationUnregistered: APPLICATION,
  ApplicationReplaced: APPLICATION,
  BridgeCreated: BRIDGE,
  BridgeDestroyed: BRIDGE,
  BridgeVideoSourceChanged: BRIDGE,
  BridgeMerged: [["bridge", "bridge"], ["bridge", "bridge_from"]],
  BridgeBlindTransfer: [
    ["bridge", "bridge"],
    ["channel", "channel"],
    ["channel", "replace_channel"],
    ["channel", "transferee"],
  ],
  BridgeAttendedTransfer: [
    ["bridgeOnly", "destination_threeway_bridge"],
    ["bridgeOnly", "transferer_first_leg_bridge"],
    ["bridgeOnly", "transferer_second_leg_bridge"],
    ["bridgeId", "destination_bridge"],
    ["channel", "destination_link_first_leg"],
    ["channel", "destination_link_second_leg"],
    ["channel", "destination_threeway_channel"],
    ["channel", "replace_channel"],
    ["channel", "transferee"],
    ["channel", "transferer_first_leg"],
    ["channel", "transferer_second_leg"],
    ["channel", "transfer_target"],
  ],
  ChannelCreated: CHANNEL,
  ChannelDestroyed: CHANNEL,
  ChannelEnteredBridge: CHANNEL_BRIDGE,
  ChannelLeftBridge: CHANNEL_BRIDGE,
  ChannelStateChange: CHANNEL,
  ChannelDtmfReceived: CHANNEL,
  ChannelDialplan: CHANNEL,
  ChannelCallerId: CHANNEL,
  ChannelUserevent: [
    ["channel", "channel"],
    ["bridge", "bridge"],
    ["endpointChannels", "endpoint"],
  ],
  ChannelHangupRequest: CHANNEL,
  ChannelVarset: CHANNEL,
  ChannelHold: CHANNEL,
  ChannelUnhold: CHANNEL,
  ChannelToneDetected: CHANNEL,
  ChannelTalkingStarted: CHANNEL,
  ChannelTalkingFinished: CHANNEL,
  ContactStatusChange: ENDPOINT,
  PeerStatusChange: ENDPOINT,
  EndpointStateChange: ENDPOINT,
  Dial: [
    ["channel", "caller"],
    ["channel", "peer"],
    ["channel", "forwarded"],
  ],
  StasisEnd: CHANNEL,
  StasisStart: [["channel", "channel"], ["channel", "replace_channel"]],
  TextMessageReceived: ENDPOINT,
  ChannelConnectedLine: CHANNEL,
  ChannelTransfer: [
    ["channel", "refer_to", "destination_channel"],
    ["channel", "refer_to", "connected_channel"],
    ["bridgeOnly", "refer_to", "bridge"],
    ["channel", "referred_by", "source_channel"],
    ["channel", "referred_by", "connected_channel"],
    ["bridgeOnly", "referred_by", "bridge"],
  ],
  CallBroadcast: CHANNEL,
  CallClaimed: CHANNEL,
};

/** Steps for event types we do not know: look at the usual entity fields. */
const GENERIC: readonly Step[] = [
  ["channel", "channel"],
  ["channel", "replace_channel"],
  ["bridge", "bridge"],
  ["playback", "playback"],
  ["recording", "recording"],
  ["endpoint", "endpoint"],
  ["deviceState", "device_state"],
];

type EventLike = ProxiedEvent | Readonly<Record<string, unknown>>;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function stringOf(value: unknown): string {
  return typeof value === "string" ? value : "";
}

/** Collects keys stamped with the event's location, without duplicates. */
class KeyCollector {
  readonly keys: Key[] = [];
  readonly #node: string;
  readonly #dialog: string;
  readonly #app: string;

  constructor(event: EventLike) {
    this.#node = stringOf(event.asterisk_id);
    this.#dialog = stringOf(event.dialog);
    this.#app = stringOf(event.application);
  }

  add(kind: string, id: unknown): void {
    if (typeof id !== "string" || id === "") return;
    const keys = this.keys;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i] as Key;
      if (k.id === id && k.kind === kind) return;
    }
    const key: Key = { kind, id };
    if (this.#node !== "") key.node = this.#node;
    if (this.#dialog !== "") key.dialog = this.#dialog;
    if (this.#app !== "") key.app = this.#app;
    keys.push(key);
  }

  addChannels(ids: unknown): void {
    if (!Array.isArray(ids)) return;
    for (let i = 0; i < ids.length; i++) this.add("channel", ids[i]);
  }

  /** `channel:<id>` / `bridge:<id>` (the id is everything after the first colon). */
  addTarget(uri: unknown): void {
    if (typeof uri !== "string") return;
    const colon = uri.indexOf(":");
    if (colon <= 0) return;
    const scheme = uri.slice(0, colon);
    if (scheme === "channel" || scheme === "bridge") {
      this.add(scheme, uri.slice(colon + 1));
    }
  }
}

function apply(step: Step, event: EventLike, out: KeyCollector): void {
  const [op, field, sub] = step;
  if (op === "application") {
    out.add("application", event.application);
    return;
  }
  let value: unknown = event[field];
  if (sub !== undefined) value = isObject(value) ? value[sub] : undefined;
  if (op === "bridgeId") {
    out.add("bridge", value);
    return;
  }
  if (!isObject(value)) return;
  switch (op) {
    case "channel":
      out.add("channel", value.id);
      break;
    case "bridge":
      out.add("bridge", value.id);
      out.addChannels(value.channels);
      break;
    case "bridgeOnly":
      out.add("bridge", value.id);
      break;
    case "playback":
      out.add("playback", value.id);
      out.addTarget(value.target_uri);
      break;
    case "recording":
      out.add("liverecording", value.name);
      out.addTarget(value.target_uri);
      break;
    case "endpoint":
    case "endpointChannels": {
      const tech = stringOf(value.technology);
      if (tech !== "") {
        out.add("endpoint", `${tech}/${stringOf(value.resource)}`);
      }
      if (op === "endpointChannels") out.addChannels(value.channel_ids);
      break;
    }
    case "deviceState":
      out.add("devicestate", value.name);
      break;
  }
}

/**
 * The keys of the entities an ARI event refers to, each stamped with the
 * event's `application` (as `app`), `asterisk_id` (as `node`) and `dialog`
 * (when the event is a dialog copy), in the order Go ari v5.3.1 lists them.
 *
 * Works on Asterisk's raw events and on Go ari-proxy's re-encoded ones (whose
 * zero-valued entities are skipped). Unknown event types are searched for the
 * usual entity fields (`channel`, `bridge`, `playback`, `recording`,
 * `endpoint`, `device_state`). Events without entities (`MissingParams`,
 * `RESTResponse`, or anything malformed) give `[]`.
 *
 * @param event A proxied or raw ARI event.
 * @returns The entity keys, without duplicates (`[]` when none).
 *
 * @example Channel entering a bridge
 * ```ts
 * import assert from "node:assert/strict";
 * import { eventKeys } from "./event_keys.ts";
 *
 * const keys = eventKeys({
 *   type: "ChannelEnteredBridge",
 *   application: "app",
 *   asterisk_id: "n1",
 *   channel: { id: "c1" },
 *   bridge: { id: "b1", channels: ["c1", "c2"] },
 * });
 * assert.deepEqual(keys.map((k) => `${k.kind}:${k.id}`), ["channel:c1", "bridge:b1", "channel:c2"]);
 * ```
 */
export function eventKeys(
  event: ProxiedEvent | Readonly<Record<string, unknown>>,
): Key[] {
  const type = event.type;
  const steps = typeof type === "string" && Object.hasOwn(STEPS, type)
    ? STEPS[type as AriEventType]
    : GENERIC;
  const out = new KeyCollector(event);
  for (let i = 0; i < steps.length; i++) {
    apply(steps[i] as Step, event, out);
  }
  return out.keys;
}

/**
 * The keys whose bindings (dialogs, subscriptions) should be dropped after
 * this event, because Asterisk reports the entity gone: `ChannelDestroyed` →
 * its channel, `BridgeDestroyed` → its bridge, `PlaybackFinished` → its
 * playback, `RecordingFinished` / `RecordingFailed` → its live recording.
 * Keys are stamped like those of {@linkcode eventKeys}.
 *
 * @param event A proxied or raw ARI event.
 * @returns The destroyed entities' keys (`[]` for any other event).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isDestroyEvent } from "./event_keys.ts";
 *
 * assert.deepEqual(
 *   isDestroyEvent({ type: "ChannelDestroyed", application: "app", asterisk_id: "n1", channel: { id: "c1" } }),
 *   [{ kind: "channel", id: "c1", node: "n1", app: "app" }],
 * );
 * assert.deepEqual(isDestroyEvent({ type: "StasisEnd", application: "app", asterisk_id: "n1" }), []);
 * ```
 */
export function isDestroyEvent(
  event: ProxiedEvent | Readonly<Record<string, unknown>>,
): Key[] {
  let kind: string;
  let entity: unknown;
  let idField: "id" | "name" = "id";
  switch (event.type) {
    case "ChannelDestroyed":
      kind = "channel";
      entity = event.channel;
      break;
    case "BridgeDestroyed":
      kind = "bridge";
      entity = event.bridge;
      break;
    case "PlaybackFinished":
      kind = "playback";
      entity = event.playback;
      break;
    case "RecordingFinished":
    case "RecordingFailed":
      kind = "liverecording";
      entity = event.recording;
      idField = "name";
      break;
    default:
      return [];
  }
  const out = new KeyCollector(event);
  if (isObject(entity)) out.add(kind, entity[idField]);
  return out.keys;
}
