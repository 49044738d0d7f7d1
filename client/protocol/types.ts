// deno-lint-ignore-file camelcase -- JSON field names are fixed by the Go wire protocol
/**
 * Wire types of the ari-proxy NATS protocol (Go ari-proxy v5 compatible).
 *
 * JSON field names follow the Go system exactly (see `PROTOCOL.md`). Fields
 * marked "ours" are additive extensions that Go peers ignore.
 *
 * @module
 */

import type { KindName } from "./kinds.ts";

/** The kinds of entity a {@linkcode Key} can name. */
export type KeyKind =
  | "application"
  | "bridge"
  | "channel"
  | "config"
  | "devicestate"
  | "endpoint"
  | "liverecording"
  | "logging"
  | "mailbox"
  | "module"
  | "playback"
  | "sound"
  | "storedrecording"
  | "variable";

/**
 * A cluster-unique reference to an ARI entity. Every field is optional and
 * omitted from JSON when empty; field order on the wire is
 * `kind, id, node, dialog, app`.
 *
 * @example
 * ```ts
 * import type { Key } from "./types.ts";
 * const key: Key = { kind: "channel", id: "c1", node: "02:00:00:00:60:0d", app: "myapp" };
 * ```
 */
export interface Key {
  /** Entity kind (`channel`, `bridge`, …). */
  kind?: KeyKind | string;
  /** Entity id (channel id, bridge id, module name, recording name, …). */
  id?: string;
  /** Asterisk entity id (`system.entity_id`) of the node the entity lives on. */
  node?: string;
  /** Dialog the entity is bound to. */
  dialog?: string;
  /** ARI application name. */
  app?: string;
}

/** Recording options as Go sends them: untagged field names, durations in nanoseconds. */
export interface RecordingOptions {
  /** Audio format, e.g. `wav`. */
  Format?: string;
  /** Maximum duration in nanoseconds (Go `time.Duration`); 0 = none. */
  MaxDuration?: number;
  /** Maximum silence in nanoseconds; 0 = none. */
  MaxSilence?: number;
  /** `fail`, `overwrite` or `append`. */
  Exists?: string;
  /** Play a beep before recording. */
  Beep?: boolean;
  /** DTMF that terminates: `none`, `any`, `*`, `#`. */
  Terminate?: string;
}

/** DTMF options as Go sends them: untagged names, durations in nanoseconds. */
export interface DtmfOptions {
  /** Delay before the first digit, ns. */
  Before?: number;
  /** Delay between digits, ns. */
  Between?: number;
  /** Duration of each digit, ns. */
  Duration?: number;
  /** Delay after the last digit, ns. */
  After?: number;
}

/** Originate parameters (ARI `POST /channels`). `timeout` is in seconds. */
export interface OriginateRequest {
  endpoint: string;
  timeout?: number;
  callerId?: string;
  context?: string;
  extension?: string;
  priority?: number;
  label?: string;
  app?: string;
  appArgs?: string;
  formats?: string;
  channelId?: string;
  otherChannelId?: string;
  originator?: string;
  variables?: Record<string, string> | null;
}

/** Channel create parameters (ARI `POST /channels/create`). */
export interface ChannelCreateRequest {
  endpoint: string;
  app: string;
  appArgs?: string;
  channelId?: string;
  otherChannelId?: string;
  originator?: string;
  formats?: string;
  /** Ours: channel variables (ARI 10 accepts them). */
  variables?: Record<string, string> | null;
}

/** Snoop options. */
export interface SnoopOptions {
  app: string;
  appArgs?: string;
  /** `none`, `in`, `out`, `both`. */
  spy?: string;
  /** `none`, `in`, `out`, `both`. */
  whisper?: string;
}

/** External media options (Go sends every field, empty strings included). */
export interface ExternalMediaOptions {
  channelId?: string;
  app?: string;
  external_host?: string;
  encapsulation?: string;
  transport?: string;
  connection_type?: string;
  format: string;
  direction?: string;
  variables?: Record<string, string> | null;
  /** Ours: ARI 10 `data`. */
  data?: string;
  /** Ours: ARI 10 `transport_data`. */
  transport_data?: string;
}

/** A dynamic configuration attribute/value pair. */
export interface ConfigTuple {
  attribute: string;
  value: string;
}

/**
 * Request bodies by body field name. Each request carries at most one body
 * field (see `kinds.ts` for which kind uses which).
 */
export interface RequestBodies {
  application_subscribe: { event_source: string };
  asterisk_config: { tuples?: ConfigTuple[] | null };
  asterisk_logging_channel: { config: string };
  asterisk_variable_set: { value: string };
  bridge_add_channel: {
    channel: string;
    absorbDTMF?: boolean;
    mute?: boolean;
    role?: string;
    /** Ours (ARI 10). */
    inhibitConnectedLineUpdates?: boolean;
  };
  bridge_create: { type: string; name?: string };
  bridge_moh: { class: string };
  bridge_play: {
    playback_id: string;
    media_uri: string;
    /** Ours: several media URIs played in sequence (ARI `media` list). */
    media_uris?: string[];
    /** Ours. */
    lang?: string;
    /** Ours. */
    offsetms?: number;
    /** Ours. */
    skipms?: number;
    /** Ours. */
    announcer_format?: string;
  };
  bridge_record: { name: string; options?: RecordingOptions | null };
  bridge_remove_channel: { channel: string };
  bridge_video_source: { channel: string };
  channel_create: { channel_create_request: ChannelCreateRequest };
  channel_continue: {
    context: string;
    extension: string;
    priority: number;
    /** Ours. */
    label?: string;
  };
  /** `timeout` in nanoseconds (Go `time.Duration`). */
  channel_dial: { caller: string; timeout: number };
  channel_hangup: {
    reason: string;
    /** Ours: numeric Q.850 cause (ARI `reason_code`). */
    reason_code?: string;
  };
  channel_moh: { music: string };
  channel_mute: { direction?: string };
  channel_originate: { originate_request: OriginateRequest };
  channel_play: {
    playback_id: string;
    media_uri: string;
    /** Ours: several media URIs played in sequence (ARI `media` list). */
    media_uris?: string[];
    /** Ours. */
    lang?: string;
    /** Ours. */
    offsetms?: number;
    /** Ours. */
    skipms?: number;
  };
  channel_record: { name: string; options?: RecordingOptions | null };
  channel_send_dtmf: { dtmf: string; options?: DtmfOptions | null };
  channel_snoop: { snoop_id: string; options?: SnoopOptions | null };
  channel_external_media: { options: ExternalMediaOptions };
  channel_variable: { name: string; value?: string };
  /** The whole Go `ari.ChannelUserevent` struct; `eventname` and `userevent` matter. */
  channel_user_event: {
    UserEvent: {
      eventname: string;
      userevent?: Record<string, unknown> | null;
      [field: string]: unknown;
    };
  };
  device_state_update: { state: string };
  endpoint_list_by_tech: { tech: string };
  mailbox_update: { new: number; old: number };
  playback_control: { command: string };
  recording_stored_copy: { destination: string };
  sound_list: { filters?: Record<string, string> | null };

  // ---- Ours: bodies of extension kinds ----
  /** ApplicationEventFilter: ARI `PUT /applications/{name}/eventFilter` body. */
  application_event_filter: {
    filter: {
      allowed?: { type: string }[];
      disallowed?: { type: string }[];
    };
  };
  /** BridgeVariableSet / ChannelVariablesSet / BridgeVariablesSet. */
  variables_set: { variables: Record<string, string> };
  /** BridgeVariableSet. */
  bridge_variable: { name: string; value?: string };
  /** ChannelVariablesGet / BridgeVariablesGet: names to read. */
  variables_get: { names: string[] };
  /** ChannelMove. */
  channel_move: { app: string; appArgs?: string };
  /** ChannelRedirect. */
  channel_redirect: { endpoint: string };
  /** ChannelTransferProgress. */
  channel_transfer_progress: { states: string };
  /** ChannelClaim (ARI `POST /events/claim`). */
  channel_claim: { application: string };
  /** EndpointSendMessage: key id `tech/resource`, or `to` for the generic form. */
  endpoint_send_message: {
    to?: string;
    from: string;
    body?: string;
    variables?: Record<string, string>;
  };
  /** EndpointRefer: key id `tech/resource`, or `to` for the generic form. */
  endpoint_refer: {
    to?: string;
    from: string;
    refer_to: string;
    to_self?: boolean;
    variables?: Record<string, string>;
  };
  /** UserEvent (ARI `POST /events/user/{eventName}`). */
  user_event: {
    name: string;
    application: string;
    source?: string[];
    variables?: Record<string, unknown>;
  };
  /** RecordingStoredFile: a byte range of the stored file. */
  recording_stored_file: { offset?: number; length?: number };
  /** AsteriskInfo: ours, ARI `only` filter (`build,system,config,status`). */
  asterisk_info: { only?: string };
}

/** Name of a request body field. */
export type BodyField = keyof RequestBodies;

/**
 * A protocol request: `{"kind","key", <at most one body field>}`.
 *
 * Use {@linkcode TypedRequest} for the per-kind typed form.
 *
 * @example
 * ```ts
 * import type { Request } from "./types.ts";
 * const req: Request = { kind: "ChannelAnswer", key: { kind: "channel", id: "c1" } };
 * ```
 */
export type Request =
  & { kind: string; key: Key | null }
  & Partial<RequestBodies>;

/** A request of one kind, with its body field typed (`KIND_TABLE[K].body`). */
export type TypedRequest<K extends KindName = KindName> = K extends KindName
  ? { kind: K; key: Key | null } & BodyOf<K>
  : never;

import type { KIND_TABLE } from "./kinds.ts";

/** The body part of a request of kind `K`. */
export type BodyOf<K extends KindName> = (typeof KIND_TABLE)[K]["body"] extends
  infer F ? F extends BodyField ? { [P in F]: RequestBodies[F] }
  : Record<never, never>
  : never;

/** A Go `ari.ConfigData` as Go encodes it (untagged field names). */
export interface ConfigData {
  key?: Key | null;
  Class: string;
  Type: string;
  Name: string;
  Fields: ConfigTuple[] | null;
}

/** Bytes of a stored recording (ours: `RecordingStoredFile`). */
export interface StoredRecordingFile {
  /** Base64 of the requested byte range. */
  data: string;
  /** Offset of the first byte of `data`. */
  offset: number;
  /** Total file size in bytes. */
  size: number;
  /** MIME type Asterisk served. */
  content_type: string;
}

/**
 * Entity data: exactly one member is set. Entity members are the ARI model
 * plus a `key`; `variable` is a string.
 */
export interface EntityData {
  application?: Record<string, unknown> & { key?: Key | null };
  asterisk?: Record<string, unknown>;
  bridge?: Record<string, unknown> & { key?: Key | null };
  channel?: Record<string, unknown> & { key?: Key | null };
  config?: ConfigData;
  device_state?: Record<string, unknown> & { key?: Key | null };
  endpoint?: Record<string, unknown> & { key?: Key | null };
  live_recording?: Record<string, unknown> & { key?: Key | null };
  log?: Record<string, unknown> & { key?: Key | null };
  mailbox?: Record<string, unknown> & { key?: Key | null };
  module?: Record<string, unknown> & { key?: Key | null };
  playback?: Record<string, unknown> & { key?: Key | null };
  sound?: Record<string, unknown> & { key?: Key | null };
  stored_recording?: Record<string, unknown> & { key?: Key | null };
  text_message?: Record<string, unknown>;
  variable?: string;
  // ---- Ours (extension kinds) ----
  /** Several variables (ChannelVariablesGet, BridgeVariablesGet). */
  variables?: Record<string, string>;
  /** RTP statistics (ChannelRTPStatistics). */
  rtp_statistics?: Record<string, unknown>;
  /** Asterisk ping (AsteriskPing). */
  asterisk_ping?: Record<string, unknown>;
  /** Stored recording bytes (RecordingStoredFile). */
  stored_recording_file?: StoredRecordingFile;
}

/**
 * A protocol response: `error` is always present (`""` on success).
 *
 * @example
 * ```ts
 * import type { Response } from "./types.ts";
 * const ok: Response = { error: "" };
 * const failed: Response = { error: "Not implemented" };
 * ```
 */
export interface Response {
  error: string;
  data?: EntityData;
  key?: Key;
  keys?: Key[];
  /** Ours: the ARI HTTP status when an ARI call failed. */
  status?: number;
  /** Ours: a machine-readable error code (`ProtocolErrorCode`, `ariDown`, `overloaded`, …). */
  code?: string;
}

/**
 * Discovery announcement. Go v5 sends `node` and `application`; the seed
 * README says `asterisk`; we send all three and accept either.
 */
export interface Announcement {
  node: string;
  asterisk: string;
  application: string;
}

/**
 * A proxied ARI event: Asterisk's event JSON with `application` and
 * `asterisk_id` guaranteed, and `dialog` on dialog copies.
 */
export interface ProxiedEvent {
  type: string;
  application: string;
  asterisk_id: string;
  timestamp?: string;
  dialog?: string;
  [field: string]: unknown;
}
