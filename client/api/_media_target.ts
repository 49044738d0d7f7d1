// deno-lint-ignore-file camelcase -- request bodies use the Go wire field names
/**
 * What channel and bridge handles share (internal): play, record, their
 * staged forms, and variables.
 *
 * @module
 */

import type { KindName } from "../protocol/kinds.ts";
import type { Key, RequestBodies } from "../protocol/types.ts";
import type { PlayOptions } from "./channels.ts";
import type { EntityVariables, Staged } from "./common.ts";
import type { PlaybackHandle } from "./playbacks.ts";
import type { LiveRecordingHandle, RecordOptions } from "./recordings.ts";
import type { ClientContext, RequestBody } from "./_context.ts";
import { BaseHandle, staged } from "./_handle.ts";
import { keyAt, relocate } from "./_keys.ts";
import { PlaybackHandleImpl } from "./_playbacks.ts";
import { LiveRecordingHandleImpl, recordBody } from "./_recordings.ts";
import { EntityVariablesImpl, type VariableKinds } from "./_variables.ts";

/** The `*_play` body of a play request. */
export function playBody(
  ctx: ClientContext,
  media: string | readonly string[],
  options: PlayOptions = {},
): RequestBodies["channel_play"] {
  const uris = typeof media === "string" ? [media] : [...media];
  if (
    uris.length === 0 || uris.some((u) => typeof u !== "string" || u === "")
  ) {
    throw new TypeError(
      "Cannot play: expected one or more non-empty media URIs",
    );
  }
  const { playbackId = ctx.newId("pb"), lang, offset, skip } = options;
  const body: RequestBodies["channel_play"] = {
    playback_id: playbackId,
    media_uri: uris[0] as string,
  };
  if (uris.length > 1) body.media_uris = uris;
  if (lang !== undefined) body.lang = lang;
  if (offset !== undefined) body.offsetms = offset;
  if (skip !== undefined) body.skipms = skip;
  return body;
}

/** The kinds and bodies of one kind of media target. */
interface MediaKinds {
  play: KindName;
  stagePlay: KindName;
  record: KindName;
  stageRecord: KindName;
  playBody(body: RequestBodies["channel_play"]): RequestBody;
  recordBody(body: RequestBodies["channel_record"]): RequestBody;
  variables: VariableKinds;
}

const MEDIA_KINDS: { readonly [T in "channel" | "bridge"]: MediaKinds } = {
  channel: {
    play: "ChannelPlay",
    stagePlay: "ChannelStagePlay",
    record: "ChannelRecord",
    stageRecord: "ChannelStageRecord",
    playBody: (channel_play) => ({ channel_play }),
    recordBody: (channel_record) => ({ channel_record }),
    variables: {
      get: "ChannelVariableGet",
      set: "ChannelVariableSet",
      getMany: "ChannelVariablesGet",
      setMany: "ChannelVariablesSet",
      body: "channel_variable",
    },
  },
  bridge: {
    play: "BridgePlay",
    stagePlay: "BridgeStagePlay",
    record: "BridgeRecord",
    stageRecord: "BridgeStageRecord",
    playBody: (bridge_play) => ({ bridge_play }),
    recordBody: (bridge_record) => ({ bridge_record }),
    variables: {
      get: "BridgeVariableGet",
      set: "BridgeVariableSet",
      getMany: "BridgeVariablesGet",
      setMany: "BridgeVariablesSet",
      body: "bridge_variable",
    },
  },
};

/** A channel or bridge handle: plays, records and holds variables. */
export class MediaTargetHandle extends BaseHandle {
  readonly variables: EntityVariables;
  readonly #kinds: MediaKinds;

  constructor(ctx: ClientContext, key: Key, target: "channel" | "bridge") {
    super(ctx, key);
    this.#kinds = MEDIA_KINDS[target];
    this.variables = new EntityVariablesImpl(
      ctx,
      this.key,
      this.#kinds.variables,
    );
  }

  async play(
    media: string | readonly string[],
    options?: PlayOptions,
  ): Promise<PlaybackHandle> {
    const body = playBody(this.ctx, media, options);
    const response = await this.send(
      this.#kinds.play,
      this.#kinds.playBody(body),
      options,
    );
    return new PlaybackHandleImpl(
      this.ctx,
      relocate(keyAt(this.key, "playback", body.playback_id), response.key),
    );
  }

  async stagePlay(
    media: string | readonly string[],
    options?: PlayOptions,
  ): Promise<Staged<PlaybackHandle>> {
    const kinds = this.#kinds;
    const body = playBody(this.ctx, media, options);
    const response = await this.send(
      kinds.stagePlay,
      kinds.playBody(body),
      options,
    );
    const target = relocate(this.key, response.key);
    return staged<PlaybackHandle>(
      new PlaybackHandleImpl(
        this.ctx,
        keyAt(target, "playback", body.playback_id),
      ),
      (opts) => this.ctx.send(kinds.play, target, kinds.playBody(body), opts),
    );
  }

  async record(options?: RecordOptions): Promise<LiveRecordingHandle> {
    const body = recordBody(this.ctx, options);
    const response = await this.send(
      this.#kinds.record,
      this.#kinds.recordBody(body),
      options,
    );
    return new LiveRecordingHandleImpl(
      this.ctx,
      relocate(keyAt(this.key, "liverecording", body.name), response.key),
    );
  }

  async stageRecord(
    options?: RecordOptions,
  ): Promise<Staged<LiveRecordingHandle>> {
    const kinds = this.#kinds;
    const body = recordBody(this.ctx, options);
    const response = await this.send(
      kinds.stageRecord,
      kinds.recordBody(body),
      options,
    );
    const target = relocate(this.key, response.key);
    return staged<LiveRecordingHandle>(
      new LiveRecordingHandleImpl(
        this.ctx,
        keyAt(target, "liverecording", body.name),
      ),
      (opts) =>
        this.ctx.send(kinds.record, target, kinds.recordBody(body), opts),
    );
  }
}
