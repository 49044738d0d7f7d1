/**
 * Implementation of the `playbacks` group (internal).
 *
 * @module
 */

import type { Playback } from "../generated/models.ts";
import type { CallOptions, EventOrigin, KeyLike, WithKey } from "./common.ts";
import type {
  PlaybackHandle,
  PlaybackOperation,
  Playbacks,
} from "./playbacks.ts";
import type { ClientContext } from "./_context.ts";
import { BaseHandle } from "./_handle.ts";
import { resolvedKey, toKey } from "./_keys.ts";

const KIND = "playback";

/** Handle implementation. */
export class PlaybackHandleImpl extends BaseHandle implements PlaybackHandle {
  async data(options?: CallOptions): Promise<WithKey<Playback>> {
    return await this.entity<Playback>("PlaybackData", options);
  }

  async control(
    operation: PlaybackOperation,
    options?: CallOptions,
  ): Promise<void> {
    return await this.command(
      "PlaybackControl",
      { playback_control: { command: operation } },
      options,
    );
  }

  async stop(options?: CallOptions): Promise<void> {
    return await this.command("PlaybackStop", undefined, options);
  }

  async bindDialog(options?: CallOptions): Promise<void> {
    return await this.command("PlaybackSubscribe", undefined, options);
  }
}

/** Group implementation. */
export class PlaybacksImpl implements Playbacks {
  #ctx: ClientContext;

  constructor(ctx: ClientContext) {
    this.#ctx = ctx;
  }

  async get(key: KeyLike, options?: CallOptions): Promise<PlaybackHandle> {
    const k = toKey(KIND, key);
    const response = await this.#ctx.send("PlaybackGet", k, undefined, options);
    return new PlaybackHandleImpl(this.#ctx, resolvedKey(response.key, k));
  }

  handle(key: KeyLike, origin?: EventOrigin): PlaybackHandle {
    return new PlaybackHandleImpl(this.#ctx, toKey(KIND, key, origin));
  }

  async data(key: KeyLike, options?: CallOptions): Promise<WithKey<Playback>> {
    return await this.handle(key).data(options);
  }
}
