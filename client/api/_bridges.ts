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
import type { CallOptions, ChannelRef, Staged, WithKey } from "./common.ts";
import type { ClientContext } from "./_context.ts";
import { ListedGroup } from "./_group.ts";
import { staged } from "./_handle.ts";
import { keyAt, refId, resolvedKey } from "./_keys.ts";
import { MediaTargetHandle } from "./_media_target.ts";

const KIND = "bridge";

/** Bridge handle implementation. */
export class BridgeHandleImpl extends MediaTargetHandle
  implements BridgeHandle {
  constructor(ctx: ClientContext, key: Key) {
    super(ctx, key, KIND);
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
export class BridgesImpl extends ListedGroup<BridgeHandle> implements Bridges {
  constructor(ctx: ClientContext) {
    super(
      ctx,
      KIND,
      { list: "BridgeList", get: "BridgeGet" },
      (c, key) => new BridgeHandleImpl(c, key),
    );
  }

  async create(
    params: BridgeCreateParams = {},
    ref?: Key | null,
    options?: CallOptions,
  ): Promise<BridgeHandle> {
    const key = keyAt(ref, KIND, params.bridgeId || this.ctx.newId("br"));
    const response = await this.ctx.send(
      "BridgeCreate",
      key,
      { bridge_create: createBody(params) },
      options,
    );
    return new BridgeHandleImpl(this.ctx, resolvedKey(response.key, key));
  }

  async stageCreate(
    params: BridgeCreateParams = {},
    ref?: Key | null,
    options?: CallOptions,
  ): Promise<Staged<BridgeHandle>> {
    const ctx = this.ctx;
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
