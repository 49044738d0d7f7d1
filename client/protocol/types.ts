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
  /** Endpoint to call, `tech/resource` (e.g. `PJSIP/alice`, `Local/100@default`). */
  endpoint: string;
  /** Seconds to wait for an answer (ARI `timeout`); 0 = Asterisk's default (30 s). */
  timeout?: number;
  /** Caller id, e.g. `"Alice" <100>`. */
  callerId?: string;
  /** Dialplan context (with `extension`/`priority`, instead of `app`). */
  context?: string;
  /** Dialplan extension. */
  extension?: string;
  /** Dialplan priority. */
  priority?: number;
  /** Dialplan label (instead of `priority`). */
  label?: string;
  /** Stasis application to enter (instead of the dialplan). */
  app?: string;
  /** Arguments for `app`, comma-separated. */
  appArgs?: string;
  /** Allowed codecs, comma-separated (e.g. `ulaw,slin16`). */
  formats?: string;
  /** Id for the new channel (generated when empty). */
  channelId?: string;
  /** Id for the second channel of a Local pair. */
  otherChannelId?: string;
  /** Id of the channel this call is made for (codec and linkedid source). */
  originator?: string;
  /** Channel variables to set on the new channel. */
  variables?: Record<string, string> | null;
}

/** Channel create parameters (ARI `POST /channels/create`). */
export interface ChannelCreateRequest {
  /** Endpoint to call, `tech/resource`. */
  endpoint: string;
  /** Stasis application the channel enters. */
  app: string;
  /** Arguments for `app`, comma-separated. */
  appArgs?: string;
  /** Id for the new channel (generated when empty). */
  channelId?: string;
  /** Id for the second channel of a Local pair. */
  otherChannelId?: string;
  /** Id of the channel this call is made for. */
  originator?: string;
  /** Allowed codecs, comma-separated. */
  formats?: string;
  /** Ours: channel variables (ARI 10 accepts them). */
  variables?: Record<string, string> | null;
}

/** Snoop options. */
export interface SnoopOptions {
  /** Stasis application the snoop channel enters. */
  app: string;
  /** Arguments for `app`, comma-separated. */
  appArgs?: string;
  /** `none`, `in`, `out`, `both`. */
  spy?: string;
  /** `none`, `in`, `out`, `both`. */
  whisper?: string;
}

/** External media options (Go sends every field, empty strings included). */
export interface ExternalMediaOptions {
  /** Id for the new channel (generated when empty). */
  channelId?: string;
  /** Stasis application the channel enters. */
  app?: string;
  /** `host:port` of the media server (mandatory for RTP/AudioSocket). */
  external_host?: string;
  /** `rtp`, `audiosocket`, … */
  encapsulation?: string;
  /** `udp`, `tcp`, … */
  transport?: string;
  /** `client` or `server`. */
  connection_type?: string;
  /** Codec of the media stream (e.g. `ulaw`, `slin16`). */
  format: string;
  /** `both` (default), `in` or `out`. */
  direction?: string;
  /** Channel variables to set on the new channel. */
  variables?: Record<string, string> | null;
  /** Ours: ARI 10 `data`. */
  data?: string;
  /** Ours: ARI 10 `transport_data`. */
  transport_data?: string;
}

/** A dynamic configuration attribute/value pair. */
export interface ConfigTuple {
  /** Attribute name. */
  attribute: string;
  /** Attribute value. */
  value: string;
}

/**
 * Request bodies by body field name. Each request carries at most one body
 * field (see `kinds.ts` for which kind uses which).
 */
export interface RequestBodies {
  /** ApplicationSubscribe / ApplicationUnsubscribe: `channel:<id>`, `bridge:<id>`, `endpoint:<tech>/<res>`, `deviceState:<name>`. */
  application_subscribe: { event_source: string };
  /** AsteriskConfigUpdate: the attributes to set on the dynamic object. */
  asterisk_config: { tuples?: ConfigTuple[] | null };
  /** AsteriskLoggingCreate: comma-separated log levels. */
  asterisk_logging_channel: { config: string };
  /** AsteriskVariableSet: the value of the global variable named by the key. */
  asterisk_variable_set: { value: string };
  /** BridgeAddChannel. */
  bridge_add_channel: {
    channel: string;
    absorbDTMF?: boolean;
    mute?: boolean;
    role?: string;
    /** Ours (ARI 10). */
    inhibitConnectedLineUpdates?: boolean;
  };
  /** BridgeCreate / BridgeStageCreate: bridge type attributes (`mixing`, `holding`, …) and name. */
  bridge_create: { type: string; name?: string };
  /** BridgeMOH: the music-on-hold class. */
  bridge_moh: { class: string };
  /** BridgePlay / BridgeStagePlay. */
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
  /** BridgeRecord / BridgeStageRecord. */
  bridge_record: { name: string; options?: RecordingOptions | null };
  /** BridgeRemoveChannel: the channel id. */
  bridge_remove_channel: { channel: string };
  /** BridgeVideoSource: the channel id. */
  bridge_video_source: { channel: string };
  /** ChannelCreate. */
  channel_create: { channel_create_request: ChannelCreateRequest };
  /** ChannelContinue. */
  channel_continue: {
    context: string;
    extension: string;
    priority: number;
    /** Ours. */
    label?: string;
  };
  /** `timeout` in nanoseconds (Go `time.Duration`). */
  channel_dial: { caller: string; timeout: number };
  /** ChannelHangup: the reason (`normal`, `busy`, …). */
  channel_hangup: {
    reason: string;
    /** Ours: numeric Q.850 cause (ARI `reason_code`). */
    reason_code?: string;
  };
  /** ChannelMOH: the music-on-hold class. */
  channel_moh: { music: string };
  /** ChannelMute / ChannelUnmute: `in`, `out` or `both`. */
  channel_mute: { direction?: string };
  /** ChannelOriginate / ChannelStageOriginate. */
  channel_originate: { originate_request: OriginateRequest };
  /** ChannelPlay / ChannelStagePlay. */
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
  /** ChannelRecord / ChannelStageRecord. */
  channel_record: { name: string; options?: RecordingOptions | null };
  /** ChannelSendDTMF. */
  channel_send_dtmf: { dtmf: string; options?: DtmfOptions | null };
  /** ChannelSnoop / ChannelStageSnoop. */
  channel_snoop: { snoop_id: string; options?: SnoopOptions | null };
  /** ChannelExternalMedia / ChannelStageExternalMedia. */
  channel_external_media: { options: ExternalMediaOptions };
  /** ChannelVariableGet / ChannelVariableSet. */
  channel_variable: { name: string; value?: string };
  /** The whole Go `ari.ChannelUserevent` struct; `eventname` and `userevent` matter. */
  channel_user_event: {
    UserEvent: {
      eventname: string;
      userevent?: Record<string, unknown> | null;
      [field: string]: unknown;
    };
  };
  /** DeviceStateUpdate: the new state (`INUSE`, `BUSY`, …). */
  device_state_update: { state: string };
  /** EndpointListByTech: the technology (`PJSIP`, …). */
  endpoint_list_by_tech: { tech: string };
  /** MailboxUpdate: counts of new and old messages. */
  mailbox_update: { new: number; old: number };
  /** PlaybackControl: `pause`, `unpause`, `restart`, `reverse`, `forward`. */
  playback_control: { command: string };
  /** RecordingStoredCopy: name of the copy. */
  recording_stored_copy: { destination: string };
  /** SoundList: filters (`lang`, `format`). */
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
  /** Key of the configuration object. */
  key?: Key | null;
  /** Configuration class (e.g. `res_pjsip`). */
  Class: string;
  /** Object type (e.g. `endpoint`). */
  Type: string;
  /** Object id. */
  Name: string;
  /** The object's attributes. */
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
  /** Application data (ARI `Application`). */
  application?: Record<string, unknown> & { key?: Key | null };
  /** Asterisk information (ARI `AsteriskInfo`). */
  asterisk?: Record<string, unknown>;
  /** Bridge data (ARI `Bridge`). */
  bridge?: Record<string, unknown> & { key?: Key | null };
  /** Channel data (ARI `Channel`). */
  channel?: Record<string, unknown> & { key?: Key | null };
  /** Dynamic configuration object. */
  config?: ConfigData;
  /** Device state (ARI `DeviceState`). */
  device_state?: Record<string, unknown> & { key?: Key | null };
  /** Endpoint data (ARI `Endpoint`). */
  endpoint?: Record<string, unknown> & { key?: Key | null };
  /** Live recording (ARI `LiveRecording`). */
  live_recording?: Record<string, unknown> & { key?: Key | null };
  /** Log channel (ARI `LogChannel`). */
  log?: Record<string, unknown> & { key?: Key | null };
  /** Mailbox (ARI `Mailbox`). */
  mailbox?: Record<string, unknown> & { key?: Key | null };
  /** Module (ARI `Module`). */
  module?: Record<string, unknown> & { key?: Key | null };
  /** Playback (ARI `Playback`). */
  playback?: Record<string, unknown> & { key?: Key | null };
  /** Sound (ARI `Sound`). */
  sound?: Record<string, unknown> & { key?: Key | null };
  /** Stored recording (ARI `StoredRecording`). */
  stored_recording?: Record<string, unknown> & { key?: Key | null };
  /** Text message (never sent by Go v5). */
  text_message?: Record<string, unknown>;
  /** A variable's value. */
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
  /** Error text; `""` on success. */
  error: string;
  /** Entity data (`*Data` kinds). */
  data?: EntityData;
  /** Key of the entity (`*Get`, create kinds). */
  key?: Key;
  /** Keys of the entities (`*List` kinds); omitted when empty. */
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
  /** Asterisk entity id of the proxy's node (Go v5 field). */
  node: string;
  /** The same id (seed-protocol field name). */
  asterisk: string;
  /** ARI application the proxy serves. */
  application: string;
}

/**
 * A proxied ARI event: Asterisk's event JSON with `application` and
 * `asterisk_id` guaranteed, and `dialog` on dialog copies.
 */
export interface ProxiedEvent {
  /** ARI event type (`StasisStart`, …). */
  type: string;
  /** ARI application the event was raised for. */
  application: string;
  /** Asterisk entity id of the node that raised it. */
  asterisk_id: string;
  /** Time Asterisk raised it. */
  timestamp?: string;
  /** Dialog this copy was published for (`ari.dialogevent.<dialog>` copies only). */
  dialog?: string;
  /**
   * Stream position, on events a client received from a JetStream durable
   * consumer (set by the client, never on the wire).
   */
  jetstream?: {
    stream: string;
    consumer: string;
    seq: number;
    deliveries: number;
  };
  /** The ARI event body. */
  [field: string]: unknown;
}
