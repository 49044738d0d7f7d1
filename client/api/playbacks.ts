/**
 * Playbacks: media being played to a channel or bridge.
 *
 * @example Stop a playback
 * ```ts
 * import { createClient } from "./client.ts";
 * import { createFakeTransport } from "../testing.ts";
 *
 * await using client = createClient(createFakeTransport());
 * const playback = await client.channels.handle("c1").play("sound:hello-world");
 * await playback.stop();
 * ```
 *
 * @module
 */

import type { Playback } from "../generated/models.ts";
import type {
  CallOptions,
  EntityHandle,
  EventOrigin,
  KeyLike,
  WithKey,
} from "./common.ts";

/**
 * What {@linkcode PlaybackHandle.control} can do.
 *
 * @example
 * ```ts
 * import type { PlaybackOperation } from "./playbacks.ts";
 * const op: PlaybackOperation = "pause";
 * ```
 */
export type PlaybackOperation =
  | "restart"
  | "pause"
  | "unpause"
  | "reverse"
  | "forward";

/**
 * A handle to one playback. Its events are `PlaybackStarted`,
 * `PlaybackContinuing` and `PlaybackFinished`.
 *
 * @example Wait for the end of a playback
 * ```ts
 * import assert from "node:assert/strict";
 * import { createClient } from "./client.ts";
 * import { createFakeTransport } from "../testing.ts";
 *
 * const transport = createFakeTransport();
 * await using client = createClient(transport);
 * const channel = client.channels.handle("c1");
 * const playback = await channel.play("sound:hello-world");
 * const finished = playback.once("PlaybackFinished", { timeout: 30_000 });
 * transport.emit({ type: "PlaybackFinished", playback: { id: playback.id } });
 * assert.equal((await finished).playback.id, playback.id);
 * ```
 */
export interface PlaybackHandle extends EntityHandle {
  /**
   * Reads the playback's current state.
   *
   * @param options Timeout and abort signal.
   * @returns The ARI `Playback` with its key.
   * @throws {NotFoundError} When the playback does not exist (any more).
   */
  data(options?: CallOptions): Promise<WithKey<Playback>>;
  /**
   * Controls the playback.
   *
   * @param operation `restart`, `pause`, `unpause`, `reverse` or `forward`.
   * @param options Timeout and abort signal.
   */
  control(
    operation: PlaybackOperation,
    options?: CallOptions,
  ): Promise<void>;
  /**
   * Stops the playback.
   *
   * @param options Timeout and abort signal.
   */
  stop(options?: CallOptions): Promise<void>;
  /**
   * Binds the playback to the client's dialog (Go `PlaybackSubscribe`), so
   * its events reach the dialog's event stream. Dialog clients do this by
   * themselves when a first listener subscribes to the handle.
   *
   * @param options Timeout and abort signal.
   */
  bindDialog(options?: CallOptions): Promise<void>;
}

/**
 * The `playbacks` resource group.
 *
 * @example
 * ```ts
 * import { createClient } from "./client.ts";
 * import { createFakeTransport } from "../testing.ts";
 *
 * await using client = createClient(createFakeTransport());
 * const playback = client.playbacks.handle("p1");
 * await playback.control("pause");
 * ```
 */
export interface Playbacks {
  /**
   * Looks a playback up and returns a handle bound to the key the server
   * answered with (which names its node).
   *
   * @param key Playback id or key.
   * @param options Timeout and abort signal.
   * @returns The handle.
   * @throws {NotFoundError} When the playback does not exist.
   */
  get(key: KeyLike, options?: CallOptions): Promise<PlaybackHandle>;
  /**
   * Returns a handle without asking the server.
   *
   * @param key Playback id or key.
   * @param origin An event whose node and application fill the key.
   * @returns The handle.
   */
  handle(key: KeyLike, origin?: EventOrigin): PlaybackHandle;
  /**
   * Reads a playback.
   *
   * @param key Playback id or key.
   * @param options Timeout and abort signal.
   * @returns The ARI `Playback` with its key.
   */
  data(key: KeyLike, options?: CallOptions): Promise<WithKey<Playback>>;
}
