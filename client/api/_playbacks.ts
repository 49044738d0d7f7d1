/**
 * Implementation of the `playbacks` group (internal).
 *
 * @module
 */

import type { Playback } from "../generated/models.ts";
import type { CallOptions, WithKey } from "./common.ts";
import type {
  PlaybackHandle,
  PlaybackOperation,
  Playbacks,
} from "./playbacks.ts";
import type { ClientContext } from "./_context.ts";
import { Group } from "./_group.ts";
import { BaseHandle } from "./_handle.ts";

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
export class PlaybacksImpl extends Group<PlaybackHandle> implements Playbacks {
  constructor(ctx: ClientContext) {
    super(
      ctx,
      KIND,
      "PlaybackGet",
      (c, key) => new PlaybackHandleImpl(c, key),
    );
  }
}
