// deno-lint-ignore-file camelcase -- request bodies use the Go wire field names
/**
 * Implementation of the `bridges` group and bridge handles (internal).
 *
 * @module
 */

import type { Bridge } from "../generated/models.ts";
import type { Key, RequestBodies } from "../protocol/types.ts";
import type {
  AddChannelOptions,
  BridgeCreateParams,
  BridgeHandle,
  Bridges,
} from "./bridges.ts";
import type { PlayOptions } from "./channels.ts";
import type {
  CallOptions,
  ChannelRef,
  EntityVariables,
  EventOrigin,
  KeyLike,
  Staged,
  WithKey,
} from "./common.ts";
import type { PlaybackHandle } from "./playbacks.ts";
import type { LiveRecordingHandle, RecordOptions } from "./recordings.ts";
import { playBody } from "./_channels.ts";
import type { ClientContext } from "./_context.ts";
import { keysOf } from "./_context.ts";
import { BaseHandle, staged } from "./_handle.ts";
import { keyAt, refId, relocate, resolvedKey, toKey } from "./_keys.ts";
import { PlaybackHandleImpl } from "./_playbacks.ts";
import { LiveRecordingHandleImpl, recordBody } from "./_recordings.ts";
import { EntityVariablesImpl } from "./_variables.ts";

const KIND = "bridge";

/** Bridge handle implementation. */
export class BridgeHandleImpl extends BaseHandle implements BridgeHandle {
  readonly variables: EntityVariables;

  constructor(ctx: ClientContext, key: Key) {
    super(ctx, key);
    this.variables = new EntityVariablesImpl(ctx, this.key, {
      get: "BridgeVariableGet",
      set: "BridgeVariableSet",
      getMany: "BridgeVariablesGet",
      setMany: "BridgeVariablesSet",
      body: "bridge_variable",
    });
  }

  async data(options?: CallOptions): Promise<WithKey<Bridge>> {
    return await this.entity<Bridge>("BridgeData", options);
  }

  async addChannel(
    channel: ChannelRef,
    options: AddChannelOptions = {},
  ): Promise<void> {
    const { absorbDtmf, mute, role, inhibitConnectedLineUpdates, ...call } =
      options;
    const body: RequestBodies["bridge_add_channel"] = {
      channel: refId(channel, "a channel"),
    };
    if (absorbDtmf !== undefined) body.absorbDTMF = absorbDtmf;
    if (mute !== undefined) body.mute = mute;
    if (role !== undefined) body.role = role;
    if (inhibitConnectedLineUpdates !== undefined) {
      body.inhibitConnectedLineUpdates = inhibitConnectedLineUpdates;
    }
    return await this.command(
      "BridgeAddChannel",
      { bridge_add_channel: body },
      call,
    );
  }

  async removeChannel(
    channel: ChannelRef,
    options?: CallOptions,
  ): Promise<void> {
    return await this.command(
      "BridgeRemoveChannel",
      { bridge_remove_channel: { channel: refId(channel, "a channel") } },
      options,
    );
  }

  async delete(options?: CallOptions): Promise<void> {
    return await this.command("BridgeDelete", undefined, options);
  }

  async moh(mohClass?: string, options?: CallOptions): Promise<void> {
    return await this.command("BridgeMOH", {
      bridge_moh: { class: mohClass ?? "" },
    }, options);
  }

  async stopMoh(options?: CallOptions): Promise<void> {
    return await this.command("BridgeStopMOH", undefined, options);
  }

  async play(
    media: string | readonly string[],
    options?: PlayOptions,
  ): Promise<PlaybackHandle> {
    const body = playBody(this.ctx, media, options);
    const response = await this.send(
      "BridgePlay",
      { bridge_play: body },
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
    const body = playBody(this.ctx, media, options);
    const response = await this.send(
      "BridgeStagePlay",
      { bridge_play: body },
      options,
    );
    const target = relocate(this.key, response.key);
    return staged<PlaybackHandle>(
      new PlaybackHandleImpl(
        this.ctx,
        keyAt(target, "playback", body.playback_id),
      ),
      (opts) =>
        this.ctx.send("BridgePlay", target, { bridge_play: body }, opts),
    );
  }

  async record(options?: RecordOptions): Promise<LiveRecordingHandle> {
    const body = recordBody(this.ctx, options);
    const response = await this.send(
      "BridgeRecord",
      { bridge_record: body },
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
    const body = recordBody(this.ctx, options);
    const response = await this.send(
      "BridgeStageRecord",
      { bridge_record: body },
      options,
    );
    const target = relocate(this.key, response.key);
    return staged<LiveRecordingHandle>(
      new LiveRecordingHandleImpl(
        this.ctx,
        keyAt(target, "liverecording", body.name),
      ),
      (opts) =>
        this.ctx.send("BridgeRecord", target, { bridge_record: body }, opts),
    );
  }

  async videoSource(channel: ChannelRef, options?: CallOptions): Promise<void> {
    return await this.command(
      "BridgeVideoSource",
      { bridge_video_source: { channel: refId(channel, "a channel") } },
      options,
    );
  }

  async videoSourceDelete(options?: CallOptions): Promise<void> {
    return await this.command("BridgeVideoSourceDelete", undefined, options);
  }

  async bindDialog(options?: CallOptions): Promise<void> {
    return await this.command("BridgeSubscribe", undefined, options);
  }

  async unbindDialog(options?: CallOptions): Promise<void> {
    return await this.command("BridgeUnsubscribe", undefined, options);
  }
}

function createBody(
  params: BridgeCreateParams,
): RequestBodies["bridge_create"] {
  const body: RequestBodies["bridge_create"] = {
    type: params.type ?? "mixing",
  };
  if (params.name !== undefined) body.name = params.name;
  return body;
}

/** `bridges` implementation. */
export class BridgesImpl implements Bridges {
  #ctx: ClientContext;

  constructor(ctx: ClientContext) {
    this.#ctx = ctx;
  }

  async list(filter?: Key | null, options?: CallOptions): Promise<Key[]> {
    return keysOf(
      await this.#ctx.send("BridgeList", filter ?? null, undefined, options),
    );
  }

  async get(key: KeyLike, options?: CallOptions): Promise<BridgeHandle> {
    const k = toKey(KIND, key);
    const response = await this.#ctx.send("BridgeGet", k, undefined, options);
    return new BridgeHandleImpl(this.#ctx, resolvedKey(response.key, k));
  }

  handle(key: KeyLike, origin?: EventOrigin): BridgeHandle {
    return new BridgeHandleImpl(this.#ctx, toKey(KIND, key, origin));
  }

  async data(key: KeyLike, options?: CallOptions): Promise<WithKey<Bridge>> {
    return await this.handle(key).data(options);
  }

  async create(
    params: BridgeCreateParams = {},
    ref?: Key | null,
    options?: CallOptions,
  ): Promise<BridgeHandle> {
    const key = keyAt(ref, KIND, params.bridgeId || this.#ctx.newId("br"));
    const response = await this.#ctx.send(
      "BridgeCreate",
      key,
      { bridge_create: createBody(params) },
      options,
    );
    return new BridgeHandleImpl(this.#ctx, resolvedKey(response.key, key));
  }

  async stageCreate(
    params: BridgeCreateParams = {},
    ref?: Key | null,
    options?: CallOptions,
  ): Promise<Staged<BridgeHandle>> {
    const ctx = this.#ctx;
    const key = keyAt(ref, KIND, params.bridgeId || ctx.newId("br"));
    const body = { bridge_create: createBody(params) };
    const response = await ctx.send("BridgeStageCreate", key, body, options);
    const target = resolvedKey(response.key, key);
    return staged<BridgeHandle>(
      new BridgeHandleImpl(ctx, target),
      (opts) => ctx.send("BridgeCreate", target, body, opts),
    );
  }
}
