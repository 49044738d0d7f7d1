/**
 * Channels: originate, create, external media, and everything a channel
 * handle can do (answer, hang up, play, record, snoop, dial, …).
 *
 * @example Answer every call and play a greeting
 * ```ts
 * import { createClient } from "./client.ts";
 * import { createFakeTransport } from "../testing.ts";
 *
 * const transport = createFakeTransport();
 * await using client = createClient(transport);
 * const done = Promise.withResolvers<void>();
 * client.on("StasisStart", async (event) => {
 *   const channel = client.channels.handle(event.channel.id, event);
 *   await channel.answer();
 *   const playback = await channel.stagePlay("sound:hello-world");
 *   const finished = playback.handle.once("PlaybackFinished");
 *   await playback.exec();
 *   transport.emit({ type: "PlaybackFinished", playback: { id: playback.handle.id } });
 *   await finished;
 *   await channel.hangup();
 *   done.resolve();
 * });
 * transport.emit({ type: "StasisStart", channel: { id: "c1" }, args: [] });
 * await done.promise;
 * ```
 *
 * @module
 */

import type { Channel, RTPstat } from "../generated/models.ts";
import type { Key } from "../protocol/types.ts";
import type {
  CallOptions,
  EntityHandle,
  EntityVariables,
  EventOrigin,
  KeyLike,
  Staged,
  WithKey,
} from "./common.ts";
import type { PlaybackHandle } from "./playbacks.ts";
import type { LiveRecordingHandle, RecordOptions } from "./recordings.ts";

/**
 * Parameters of an originate (ARI `POST /channels`). `timeout` is in
 * milliseconds (ARI counts whole seconds; it is rounded up).
 *
 * When none of `app`, `context`, `extension`, `priority` and `label` is
 * given, the channel goes to the client's own application.
 *
 * @example
 * ```ts
 * import type { OriginateParams } from "./channels.ts";
 * const params: OriginateParams = { endpoint: "PJSIP/alice", callerId: "Bob <200>", timeout: 30_000 };
 * ```
 */
export interface OriginateParams {
  /** Endpoint to call, e.g. `PJSIP/alice` or `Local/100@default`. */
  endpoint: string;
  /** Id of the new channel; a new id when absent. */
  channelId?: string;
  /** Id of the second channel of a Local channel pair. */
  otherChannelId?: string;
  /** Stasis application to put the channel into. */
  app?: string;
  /** Comma-separated arguments of the application. */
  appArgs?: string;
  /** Dialplan context (instead of an application). */
  context?: string;
  /** Dialplan extension. */
  extension?: string;
  /** Dialplan priority. */
  priority?: number;
  /** Dialplan label. */
  label?: string;
  /** Caller id, e.g. `Alice <100>`. */
  callerId?: string;
  /** How long to ring, in milliseconds (ARI default: 30 s). */
  timeout?: number;
  /** Comma-separated codecs when there is no originator. */
  formats?: string;
  /** Id of the channel that is calling. */
  originator?: string;
  /** Channel variables to set on the new channel. */
  variables?: Readonly<Record<string, string>>;
}

/**
 * Parameters of a channel create without dialing (ARI
 * `POST /channels/create`); dial it with {@linkcode ChannelHandle.dial}.
 * `app` defaults to the client's application.
 *
 * @example
 * ```ts
 * import type { ChannelCreateParams } from "./channels.ts";
 * const params: ChannelCreateParams = { endpoint: "Local/100@default" };
 * ```
 */
export interface ChannelCreateParams {
  /** Endpoint to call. */
  endpoint: string;
  /** Stasis application; the client's application when absent. */
  app?: string;
  /** Comma-separated application arguments. */
  appArgs?: string;
  /** Id of the new channel; a new id when absent. */
  channelId?: string;
  /** Id of the second channel of a Local channel pair. */
  otherChannelId?: string;
  /** Id of the channel that is calling. */
  originator?: string;
  /** Comma-separated codecs when there is no originator. */
  formats?: string;
  /** Channel variables. */
  variables?: Readonly<Record<string, string>>;
}

/**
 * Parameters of an external media channel (ARI
 * `POST /channels/externalMedia`). `app` defaults to the client's
 * application.
 *
 * @example
 * ```ts
 * import type { ExternalMediaParams } from "./channels.ts";
 * const params: ExternalMediaParams = { externalHost: "127.0.0.1:40000", format: "ulaw" };
 * ```
 */
export interface ExternalMediaParams {
  /** Id of the new channel; a new id when absent. */
  channelId?: string;
  /** Stasis application; the client's application when absent. */
  app?: string;
  /** `host:port` to send media to (required for RTP/AudioSocket). */
  externalHost?: string;
  /** `rtp`, `audiosocket` or `websocket` (ARI default: `rtp`). */
  encapsulation?: string;
  /** `udp`, `tcp` or `websocket` (ARI default: `udp`). */
  transport?: string;
  /** `client` or `server` (ARI default: `client`). */
  connectionType?: string;
  /** Codec, e.g. `ulaw` or `slin16`. */
  format: string;
  /** `both`, `in` or `out` (ARI default: `both`). */
  direction?: string;
  /** Channel variables. */
  variables?: Readonly<Record<string, string>>;
  /** Encapsulation data (AudioSocket UUID). */
  data?: string;
  /** Transport data. */
  transportData?: string;
}

/**
 * Direction of mute: `in` (from the channel), `out` (to it) or `both`.
 *
 * @example
 * ```ts
 * import type { MediaDirection } from "./channels.ts";
 * const dir: MediaDirection = "in";
 * ```
 */
export type MediaDirection = "in" | "out" | "both";

/**
 * Direction of snooping: `none`, `in`, `out` or `both`.
 *
 * @example
 * ```ts
 * import type { SnoopDirection } from "./channels.ts";
 * const spy: SnoopDirection = "both";
 * ```
 */
export type SnoopDirection = "none" | "in" | "out" | "both";

/**
 * Options of `play()` on a channel or bridge. Offsets are milliseconds.
 *
 * @example
 * ```ts
 * import type { PlayOptions } from "./channels.ts";
 * const opts: PlayOptions = { playbackId: "greeting-1", lang: "en", skip: 3_000 };
 * ```
 */
export interface PlayOptions extends CallOptions {
  /** Id of the playback; a new id when absent. */
  playbackId?: string;
  /** Language of the sound files. */
  lang?: string;
  /** Where to start, in milliseconds. */
  offset?: number;
  /** Step of `forward`/`reverse` controls, in milliseconds (ARI default 3000). */
  skip?: number;
}

/**
 * Options of {@linkcode ChannelHandle.snoop}.
 *
 * @example
 * ```ts
 * import type { SnoopChannelOptions } from "./channels.ts";
 * const opts: SnoopChannelOptions = { spy: "both", appArgs: "supervisor" };
 * ```
 */
export interface SnoopChannelOptions extends CallOptions {
  /** Id of the snoop channel; a new id when absent. */
  snoopId?: string;
  /** Application of the snoop channel; the client's application when absent. */
  app?: string;
  /** Application arguments. */
  appArgs?: string;
  /** Audio to listen to (ARI default: `none`). */
  spy?: SnoopDirection;
  /** Audio to whisper into (ARI default: `none`). */
  whisper?: SnoopDirection;
}

/**
 * Options of {@linkcode ChannelHandle.hangup}.
 *
 * @example
 * ```ts
 * import type { HangupOptions } from "./channels.ts";
 * const opts: HangupOptions = { reason: "busy" };
 * ```
 */
export interface HangupOptions extends CallOptions {
  /**
   * Reason: `normal`, `busy`, `congestion`, `no_answer`, `timeout`,
   * `rejected`, `unallocated`, `normal_unspecified`, `number_incomplete`,
   * `codec_mismatch`, `interworking`, `failure`, `answered_elsewhere`.
   *
   * @default {"normal"}
   */
  reason?: string;
  /** Numeric Q.850 cause instead of `reason` (ARI `reason_code`). */
  reasonCode?: number | string;
}

/**
 * Options of {@linkcode ChannelHandle.dial}.
 *
 * @example
 * ```ts
 * import type { DialOptions } from "./channels.ts";
 * const opts: DialOptions = { caller: "1712345.12", dialTimeout: 20_000 };
 * ```
 */
export interface DialOptions extends CallOptions {
  /** Id of the calling channel, if there is one. */
  caller?: string;
  /** How long to ring, in milliseconds; no limit when absent. */
  dialTimeout?: number;
}

/**
 * Options of {@linkcode ChannelHandle.continue}: where to go in the
 * dialplan (the channel's current location when absent).
 *
 * @example
 * ```ts
 * import type { ContinueOptions } from "./channels.ts";
 * const opts: ContinueOptions = { context: "default", extension: "100", priority: 1 };
 * ```
 */
export interface ContinueOptions extends CallOptions {
  /** Dialplan context. */
  context?: string;
  /** Dialplan extension. */
  extension?: string;
  /** Dialplan priority. */
  priority?: number;
  /** Dialplan label (instead of a priority). */
  label?: string;
}

/**
 * Options of {@linkcode ChannelHandle.sendDtmf}. Durations are milliseconds.
 *
 * @example
 * ```ts
 * import type { SendDtmfOptions } from "./channels.ts";
 * const opts: SendDtmfOptions = { between: 100, duration: 120 };
 * ```
 */
export interface SendDtmfOptions extends CallOptions {
  /** Pause before the first digit, in milliseconds. */
  before?: number;
  /** Pause between digits, in milliseconds (ARI default 100). */
  between?: number;
  /** Length of each digit, in milliseconds (ARI default 100). */
  duration?: number;
  /** Pause after the last digit, in milliseconds. */
  after?: number;
}

/**
 * A handle to one channel. Besides its own events, it sees the events of
 * entities on it: the `PlaybackStarted`/`PlaybackFinished` of playbacks on
 * the channel and the `Recording*` events of its recordings.
 *
 * When events come: Asterisk sends a channel's events to the application
 * while the channel is in it (`StasisStart` to `StasisEnd`) and to
 * applications subscribed to the channel. A channel originated or created
 * by the application is subscribed, so its `ChannelDestroyed` comes after
 * `StasisEnd`; for other channels (a snoop channel, a channel that entered
 * through the dialplan) a listener for `ChannelDestroyed` (or for all
 * events) makes the client subscribe its application to the channel first
 * (`ApplicationSubscribe` of `channel:<id>`; later calls on this channel
 * wait for it). A snoop channel's `ChannelDestroyed` comes when Asterisk
 * destroys it, which is when the snooped channel goes away, not when the
 * snoop is hung up (its `StasisEnd` comes at once).
 *
 * @example
 * ```ts
 * import { createClient } from "./client.ts";
 * import { createFakeTransport } from "../testing.ts";
 *
 * await using client = createClient(createFakeTransport());
 * const channel = client.channels.handle("c1");
 * await channel.answer();
 * await channel.variables.set("CDR(userfield)", "vip");
 * await channel.hangup();
 * ```
 */
export interface ChannelHandle extends EntityHandle {
  /** The channel's variables. */
  readonly variables: EntityVariables;
  /**
   * Reads the channel's state.
   *
   * @param options Timeout and abort signal.
   * @returns The ARI `Channel` with its key.
   * @throws {NotFoundError} When the channel does not exist (any more).
   */
  data(options?: CallOptions): Promise<WithKey<Channel>>;
  /**
   * Answers the channel.
   *
   * @param options Timeout and abort signal.
   */
  answer(options?: CallOptions): Promise<void>;
  /**
   * Hangs the channel up.
   *
   * @param options Reason, timeout and abort signal.
   */
  hangup(options?: HangupOptions): Promise<void>;
  /**
   * Hangs up with the `busy` cause (Go `Busy`).
   *
   * @param options Timeout and abort signal.
   */
  busy(options?: CallOptions): Promise<void>;
  /**
   * Hangs up with the `congestion` cause (Go `Congestion`).
   *
   * @param options Timeout and abort signal.
   */
  congestion(options?: CallOptions): Promise<void>;
  /**
   * Indicates ringing.
   *
   * @param options Timeout and abort signal.
   */
  ring(options?: CallOptions): Promise<void>;
  /**
   * Stops indicating ringing.
   *
   * @param options Timeout and abort signal.
   */
  stopRing(options?: CallOptions): Promise<void>;
  /**
   * Indicates progress (early media).
   *
   * @param options Timeout and abort signal.
   * @throws {NotImplementedError} When the server lacks the operation.
   */
  progress(options?: CallOptions): Promise<void>;
  /**
   * Puts the channel on hold.
   *
   * @param options Timeout and abort signal.
   */
  hold(options?: CallOptions): Promise<void>;
  /**
   * Takes the channel off hold.
   *
   * @param options Timeout and abort signal.
   */
  stopHold(options?: CallOptions): Promise<void>;
  /**
   * Mutes the channel.
   *
   * @param direction `in`, `out` or `both` (ARI default: `both`).
   * @param options Timeout and abort signal.
   */
  mute(direction?: MediaDirection, options?: CallOptions): Promise<void>;
  /**
   * Unmutes the channel.
   *
   * @param direction `in`, `out` or `both` (ARI default: `both`).
   * @param options Timeout and abort signal.
   */
  unmute(direction?: MediaDirection, options?: CallOptions): Promise<void>;
  /**
   * Plays music on hold.
   *
   * @param mohClass Music on hold class; the default class when absent.
   * @param options Timeout and abort signal.
   */
  moh(mohClass?: string, options?: CallOptions): Promise<void>;
  /**
   * Stops music on hold.
   *
   * @param options Timeout and abort signal.
   */
  stopMoh(options?: CallOptions): Promise<void>;
  /**
   * Plays silence.
   *
   * @param options Timeout and abort signal.
   */
  silence(options?: CallOptions): Promise<void>;
  /**
   * Stops playing silence.
   *
   * @param options Timeout and abort signal.
   */
  stopSilence(options?: CallOptions): Promise<void>;
  /**
   * Sends DTMF digits.
   *
   * @param dtmf Digits (`0-9*#A-D`, `,` pauses).
   * @param options Timing (milliseconds), timeout and abort signal.
   */
  sendDtmf(dtmf: string, options?: SendDtmfOptions): Promise<void>;
  /**
   * Plays media to the channel.
   *
   * @param media A media URI (`sound:hello-world`, `tone:ring`, …) or several, played in sequence.
   * @param options Playback id, language, offset, timeout and abort signal.
   * @returns A handle to the playback.
   */
  play(
    media: string | readonly string[],
    options?: PlayOptions,
  ): Promise<PlaybackHandle>;
  /**
   * Stages a playback: subscribe to the handle, then `exec()`.
   *
   * @param media A media URI or several.
   * @param options Playback id, language, offset, timeout and abort signal.
   * @returns The staged playback.
   */
  stagePlay(
    media: string | readonly string[],
    options?: PlayOptions,
  ): Promise<Staged<PlaybackHandle>>;
  /**
   * Records the channel.
   *
   * @param options Name, format, limits (milliseconds), timeout and abort signal.
   * @returns A handle to the live recording.
   */
  record(options?: RecordOptions): Promise<LiveRecordingHandle>;
  /**
   * Stages a recording: subscribe to the handle, then `exec()`.
   *
   * @param options Name, format, limits, timeout and abort signal.
   * @returns The staged recording.
   */
  stageRecord(options?: RecordOptions): Promise<Staged<LiveRecordingHandle>>;
  /**
   * Creates a snoop channel on this channel.
   *
   * @param options Snoop id, application, directions, timeout and abort signal.
   * @returns A handle to the snoop channel.
   */
  snoop(options?: SnoopChannelOptions): Promise<ChannelHandle>;
  /**
   * Stages a snoop: subscribe to the snoop channel's handle, then `exec()`.
   *
   * @param options Snoop id, application, directions, timeout and abort signal.
   * @returns The staged snoop channel.
   */
  stageSnoop(options?: SnoopChannelOptions): Promise<Staged<ChannelHandle>>;
  /**
   * Dials a channel made with `create()`.
   *
   * @param options Caller, ring timeout (milliseconds), request timeout and abort signal.
   */
  dial(options?: DialOptions): Promise<void>;
  /**
   * Sends the channel back to the dialplan.
   *
   * @param options Where to continue, timeout and abort signal.
   */
  continue(options?: ContinueOptions): Promise<void>;
  /**
   * Moves the channel to another Stasis application.
   *
   * @param app Target application.
   * @param options Application arguments, timeout and abort signal.
   * @throws {NotImplementedError} When the server lacks the operation.
   */
  move(
    app: string,
    options?: CallOptions & { appArgs?: string },
  ): Promise<void>;
  /**
   * Redirects the channel to another endpoint.
   *
   * @param endpoint Target endpoint (`PJSIP/bob`).
   * @param options Timeout and abort signal.
   * @throws {NotImplementedError} When the server lacks the operation.
   */
  redirect(endpoint: string, options?: CallOptions): Promise<void>;
  /**
   * Informs the channel about a transfer's progress.
   *
   * @param states Transfer state (`channel_progress`, `channel_answered`, …).
   * @param options Timeout and abort signal.
   * @throws {NotImplementedError} When the server lacks the operation.
   */
  transferProgress(states: string, options?: CallOptions): Promise<void>;
  /**
   * Claims a channel in broadcast state for an application.
   *
   * @param options Application (the client's when absent), timeout and abort signal.
   * @throws {NotImplementedError} When the server lacks the operation.
   */
  claim(options?: CallOptions & { application?: string }): Promise<void>;
  /**
   * Raises a user event (`ChannelUserevent`) on the channel.
   *
   * @param name Event name.
   * @param options Variables of the event, timeout and abort signal.
   */
  userEvent(
    name: string,
    options?: CallOptions & { variables?: Readonly<Record<string, unknown>> },
  ): Promise<void>;
  /**
   * Reads RTP statistics of the channel.
   *
   * @param options Timeout and abort signal.
   * @returns The ARI `RTPstat`.
   * @throws {NotImplementedError} When the server lacks the operation.
   */
  rtpStatistics(options?: CallOptions): Promise<RTPstat>;
  /**
   * Originates a new channel with this channel as its originator.
   *
   * @param params Originate parameters.
   * @param options Timeout and abort signal.
   * @returns A handle to the new channel.
   */
  originate(
    params: OriginateParams,
    options?: CallOptions,
  ): Promise<ChannelHandle>;
  /**
   * Creates (without dialing) a new channel with this channel as its
   * originator.
   *
   * @param params Create parameters.
   * @param options Timeout and abort signal.
   * @returns A handle to the new channel.
   */
  create(
    params: ChannelCreateParams,
    options?: CallOptions,
  ): Promise<ChannelHandle>;
  /**
   * Binds the channel to the client's dialog (Go `ChannelSubscribe`); dialog
   * clients do it by themselves when a first listener subscribes.
   *
   * @param options Timeout and abort signal.
   */
  bindDialog(options?: CallOptions): Promise<void>;
}

/**
 * The `channels` resource group.
 *
 * @example Originate into the application
 * ```ts
 * import assert from "node:assert/strict";
 * import { createClient } from "./client.ts";
 * import { createFakeTransport } from "../testing.ts";
 *
 * await using client = createClient(createFakeTransport());
 * const channel = await client.channels.originate({ endpoint: "Local/100@default" });
 * assert.equal(channel.key.kind, "channel");
 * ```
 */
export interface Channels {
  /**
   * Lists channels (of every node the transport reaches).
   *
   * @param filter Restricts the list (e.g. to a node); all when absent.
   * @param options Timeout and abort signal.
   * @returns Their keys.
   */
  list(filter?: Key | null, options?: CallOptions): Promise<Key[]>;
  /**
   * Looks a channel up and returns a handle bound to the key the server
   * answered with (which names its node).
   *
   * @param key Channel id or key.
   * @param options Timeout and abort signal.
   * @returns The handle.
   * @throws {NotFoundError} When the channel does not exist.
   */
  get(key: KeyLike, options?: CallOptions): Promise<ChannelHandle>;
  /**
   * Returns a handle without asking the server.
   *
   * @param key Channel id or key.
   * @param origin An event whose node and application fill the key.
   * @returns The handle.
   */
  handle(key: KeyLike, origin?: EventOrigin): ChannelHandle;
  /**
   * Reads a channel.
   *
   * @param key Channel id or key.
   * @param options Timeout and abort signal.
   * @returns The ARI `Channel` with its key.
   */
  data(key: KeyLike, options?: CallOptions): Promise<WithKey<Channel>>;
  /**
   * Originates a channel (creates and dials it).
   *
   * @param params Originate parameters.
   * @param ref Where to originate: a key whose node (and dialog) to use,
   *   e.g. a related channel's; any node when absent.
   * @param options Timeout and abort signal.
   * @returns A handle to the new channel.
   */
  originate(
    params: OriginateParams,
    ref?: Key | null,
    options?: CallOptions,
  ): Promise<ChannelHandle>;
  /**
   * Stages an originate: the node and channel id are reserved now, the
   * handle can be subscribed to, and `exec()` originates.
   *
   * @param params Originate parameters.
   * @param ref Where to originate; any node when absent.
   * @param options Timeout and abort signal of the staging request.
   * @returns The staged channel.
   */
  stageOriginate(
    params: OriginateParams,
    ref?: Key | null,
    options?: CallOptions,
  ): Promise<Staged<ChannelHandle>>;
  /**
   * Creates a channel without dialing it; `dial()` it later.
   *
   * @param params Create parameters.
   * @param ref Where to create it; any node when absent.
   * @param options Timeout and abort signal.
   * @returns A handle to the new channel.
   */
  create(
    params: ChannelCreateParams,
    ref?: Key | null,
    options?: CallOptions,
  ): Promise<ChannelHandle>;
  /**
   * Creates an external media channel.
   *
   * @param params External media parameters.
   * @param ref Where to create it; any node when absent.
   * @param options Timeout and abort signal.
   * @returns A handle to the new channel.
   */
  externalMedia(
    params: ExternalMediaParams,
    ref?: Key | null,
    options?: CallOptions,
  ): Promise<ChannelHandle>;
  /**
   * Stages an external media channel.
   *
   * @param params External media parameters.
   * @param ref Where to create it; any node when absent.
   * @param options Timeout and abort signal of the staging request.
   * @returns The staged channel.
   */
  stageExternalMedia(
    params: ExternalMediaParams,
    ref?: Key | null,
    options?: CallOptions,
  ): Promise<Staged<ChannelHandle>>;
}
