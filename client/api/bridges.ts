/**
 * Bridges: create, add and remove channels, play, record, music on hold,
 * video source.
 *
 * @example Bridge two channels
 * ```ts
 * import { createClient } from "./client.ts";
 * import { createFakeTransport } from "../testing.ts";
 *
 * await using client = createClient(createFakeTransport());
 * const bridge = await client.bridges.create({ type: "mixing" });
 * await bridge.addChannel("c1");
 * await bridge.addChannel(client.channels.handle("c2"));
 * await bridge.delete();
 * ```
 *
 * @module
 */

import type { Bridge } from "../generated/models.ts";
import type { Key } from "../protocol/types.ts";
import type { PlayOptions } from "./channels.ts";
import type {
  CallOptions,
  ChannelRef,
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
 * Parameters of a bridge creation.
 *
 * @example
 * ```ts
 * import type { BridgeCreateParams } from "./bridges.ts";
 * const params: BridgeCreateParams = { type: "mixing,dtmf_events", name: "conference" };
 * ```
 */
export interface BridgeCreateParams {
  /** Bridge id; a new id when absent. */
  bridgeId?: string;
  /**
   * Comma-separated bridge type flags: `mixing`, `holding`, `dtmf_events`,
   * `proxy_media`, `video_sfu`, `video_single`, `sdp_label`.
   *
   * @default {"mixing"}
   */
  type?: string;
  /** Name of the bridge. */
  name?: string;
}

/**
 * Options of {@linkcode BridgeHandle.addChannel}.
 *
 * @example
 * ```ts
 * import type { AddChannelOptions } from "./bridges.ts";
 * const opts: AddChannelOptions = { role: "announcer", mute: true };
 * ```
 */
export interface AddChannelOptions extends CallOptions {
  /** DTMF from the channel is not passed to the bridge. */
  absorbDtmf?: boolean;
  /** Audio from the channel is not passed to the bridge. */
  mute?: boolean;
  /** Role of the channel in the bridge. */
  role?: string;
  /** Do not update connected line information (ARI 10). */
  inhibitConnectedLineUpdates?: boolean;
}

/**
 * A handle to one bridge. It sees the bridge's events
 * (`ChannelEnteredBridge`, `ChannelLeftBridge`, `BridgeDestroyed`, …) and
 * those of playbacks and recordings on it.
 *
 * When events come: Asterisk sends a bridge's events to applications with
 * a channel in the bridge and to applications subscribed to it. Once the
 * last channel of the application has left, only a subscription brings
 * `BridgeDestroyed`, so a listener for `BridgeDestroyed` (or for all
 * events) makes the client subscribe its application to the bridge first
 * (`ApplicationSubscribe` of `bridge:<id>`; later calls on this bridge,
 * e.g. `delete()`, wait for it). A failed subscription is reported on
 * `client.status()` as an `error`.
 *
 * @example
 * ```ts
 * import { createClient } from "./client.ts";
 * import { createFakeTransport } from "../testing.ts";
 *
 * await using client = createClient(createFakeTransport());
 * const bridge = client.bridges.handle("b1");
 * await bridge.moh("default");
 * await bridge.stopMoh();
 * ```
 */
export interface BridgeHandle extends EntityHandle {
  /** Bridge variables (our extension kinds). */
  readonly variables: EntityVariables;
  /**
   * Reads the bridge's state.
   *
   * @param options Timeout and abort signal.
   * @returns The ARI `Bridge` with its key.
   */
  data(options?: CallOptions): Promise<WithKey<Bridge>>;
  /**
   * Adds a channel to the bridge.
   *
   * @param channel Channel id or handle.
   * @param options DTMF/mute/role flags, timeout and abort signal.
   */
  addChannel(channel: ChannelRef, options?: AddChannelOptions): Promise<void>;
  /**
   * Removes a channel from the bridge.
   *
   * @param channel Channel id or handle.
   * @param options Timeout and abort signal.
   */
  removeChannel(channel: ChannelRef, options?: CallOptions): Promise<void>;
  /**
   * Destroys the bridge.
   *
   * @param options Timeout and abort signal.
   */
  delete(options?: CallOptions): Promise<void>;
  /**
   * Plays music on hold to the bridge.
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
   * Plays media to the bridge.
   *
   * @param media A media URI or several, played in sequence.
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
   * Records the bridge.
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
   * Makes a channel the video source of a multi-party mixing bridge.
   *
   * @param channel Channel id or handle.
   * @param options Timeout and abort signal.
   */
  videoSource(channel: ChannelRef, options?: CallOptions): Promise<void>;
  /**
   * Removes the explicit video source (back to talker detection).
   *
   * @param options Timeout and abort signal.
   */
  videoSourceDelete(options?: CallOptions): Promise<void>;
  /**
   * Binds the bridge to the client's dialog (Go `BridgeSubscribe`); dialog
   * clients do it by themselves when a first listener subscribes.
   *
   * @param options Timeout and abort signal.
   */
  bindDialog(options?: CallOptions): Promise<void>;
  /**
   * Sends `BridgeUnsubscribe` (a no-op on Go proxies; kept for parity).
   *
   * @param options Timeout and abort signal.
   */
  unbindDialog(options?: CallOptions): Promise<void>;
}

/**
 * The `bridges` resource group.
 *
 * @example
 * ```ts
 * import { createClient } from "./client.ts";
 * import { createFakeTransport } from "../testing.ts";
 *
 * await using client = createClient(createFakeTransport());
 * const staged = await client.bridges.stageCreate({ type: "holding" });
 * const destroyed = staged.handle.once("BridgeDestroyed", { timeout: 1 });
 * await staged.exec();
 * await destroyed.catch(() => {}); // nothing destroys it here
 * ```
 */
export interface Bridges {
  /**
   * Lists bridges (of every node the transport reaches).
   *
   * @param filter Restricts the list (e.g. to a node); all when absent.
   * @param options Timeout and abort signal.
   * @returns Their keys.
   */
  list(filter?: Key | null, options?: CallOptions): Promise<Key[]>;
  /**
   * Looks a bridge up and returns a handle bound to the key the server
   * answered with.
   *
   * @param key Bridge id or key.
   * @param options Timeout and abort signal.
   * @returns The handle.
   * @throws {NotFoundError} When the bridge does not exist.
   */
  get(key: KeyLike, options?: CallOptions): Promise<BridgeHandle>;
  /**
   * Returns a handle without asking the server.
   *
   * @param key Bridge id or key.
   * @param origin An event whose node and application fill the key.
   * @returns The handle.
   */
  handle(key: KeyLike, origin?: EventOrigin): BridgeHandle;
  /**
   * Reads a bridge.
   *
   * @param key Bridge id or key.
   * @param options Timeout and abort signal.
   * @returns The ARI `Bridge` with its key.
   */
  data(key: KeyLike, options?: CallOptions): Promise<WithKey<Bridge>>;
  /**
   * Creates a bridge.
   *
   * @param params Id, type and name.
   * @param ref Where to create it: a key whose node (and dialog) to use;
   *   any node when absent.
   * @param options Timeout and abort signal.
   * @returns A handle to the bridge.
   */
  create(
    params?: BridgeCreateParams,
    ref?: Key | null,
    options?: CallOptions,
  ): Promise<BridgeHandle>;
  /**
   * Stages a bridge creation: the node and id are reserved now, the handle
   * can be subscribed to, and `exec()` creates the bridge.
   *
   * @param params Id, type and name.
   * @param ref Where to create it; any node when absent.
   * @param options Timeout and abort signal of the staging request.
   * @returns The staged bridge.
   */
  stageCreate(
    params?: BridgeCreateParams,
    ref?: Key | null,
    options?: CallOptions,
  ): Promise<Staged<BridgeHandle>>;
}
