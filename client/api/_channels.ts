// deno-lint-ignore-file camelcase -- request bodies use the Go wire field names
/**
 * Implementation of the `channels` group and channel handles (internal).
 *
 * @module
 */

import type { Channel, RTPstat } from "../generated/models.ts";
import type {
  ExternalMediaOptions,
  Key,
  OriginateRequest,
  RequestBodies,
} from "../protocol/types.ts";
import type {
  ChannelCreateParams,
  ChannelHandle,
  Channels,
  ContinueOptions,
  DialOptions,
  ExternalMediaParams,
  HangupOptions,
  MediaDirection,
  OriginateParams,
  SendDtmfOptions,
  SnoopChannelOptions,
} from "./channels.ts";
import type { CallOptions, Staged, WithKey } from "./common.ts";
import type { ClientContext } from "./_context.ts";
import { dataOf, msToNs } from "./_context.ts";
import { ListedGroup } from "./_group.ts";
import { staged } from "./_handle.ts";
import { keyAt, makeKey, relocate, resolvedKey } from "./_keys.ts";
import { MediaTargetHandle } from "./_media_target.ts";

const KIND = "channel";

function secondsOf(ms: number): number {
  if (typeof ms !== "number" || Number.isNaN(ms)) {
    throw new RangeError(
      `Cannot originate: "timeout" must be a number, got ${ms}`,
    );
  }
  return ms < 0 ? -1 : Math.ceil(ms / 1000);
}

function originateRequest(
  ctx: ClientContext,
  params: OriginateParams,
): OriginateRequest {
  if (
    !params || typeof params.endpoint !== "string" || params.endpoint === ""
  ) {
    throw new TypeError(`Cannot originate: "endpoint" is required`);
  }
  const req: OriginateRequest = { endpoint: params.endpoint };
  const dialplan = params.context !== undefined ||
    params.extension !== undefined || params.priority !== undefined ||
    params.label !== undefined;
  const app = params.app ?? (dialplan ? undefined : ctx.application);
  if (params.timeout !== undefined) req.timeout = secondsOf(params.timeout);
  if (params.callerId !== undefined) req.callerId = params.callerId;
  if (params.context !== undefined) req.context = params.context;
  if (params.extension !== undefined) req.extension = params.extension;
  if (params.priority !== undefined) req.priority = params.priority;
  if (params.label !== undefined) req.label = params.label;
  if (app) req.app = app;
  if (params.appArgs !== undefined) req.appArgs = params.appArgs;
  if (params.formats !== undefined) req.formats = params.formats;
  req.channelId = params.channelId || ctx.newId("ch");
  if (params.otherChannelId !== undefined) {
    req.otherChannelId = params.otherChannelId;
  }
  if (params.originator !== undefined) req.originator = params.originator;
  if (params.variables !== undefined) req.variables = { ...params.variables };
  return req;
}

function createRequest(
  ctx: ClientContext,
  params: ChannelCreateParams,
): RequestBodies["channel_create"]["channel_create_request"] {
  if (
    !params || typeof params.endpoint !== "string" || params.endpoint === ""
  ) {
    throw new TypeError(`Cannot create a channel: "endpoint" is required`);
  }
  const req: RequestBodies["channel_create"]["channel_create_request"] = {
    endpoint: params.endpoint,
    app: params.app ?? ctx.application,
  };
  if (params.appArgs !== undefined) req.appArgs = params.appArgs;
  req.channelId = params.channelId || ctx.newId("ch");
  if (params.otherChannelId !== undefined) {
    req.otherChannelId = params.otherChannelId;
  }
  if (params.originator !== undefined) req.originator = params.originator;
  if (params.formats !== undefined) req.formats = params.formats;
  if (params.variables !== undefined) req.variables = { ...params.variables };
  return req;
}

function externalMediaOptions(
  ctx: ClientContext,
  params: ExternalMediaParams,
): ExternalMediaOptions {
  if (!params || typeof params.format !== "string" || params.format === "") {
    throw new TypeError(
      `Cannot create an external media channel: "format" is required`,
    );
  }
  // Go sends every field (empty strings included); so do we.
  const options: ExternalMediaOptions = {
    channelId: params.channelId || ctx.newId("ch"),
    app: params.app ?? ctx.application,
    external_host: params.externalHost ?? "",
    encapsulation: params.encapsulation ?? "",
    transport: params.transport ?? "",
    connection_type: params.connectionType ?? "",
    format: params.format,
    direction: params.direction ?? "",
    variables: params.variables ? { ...params.variables } : null,
  };
  if (params.data !== undefined) options.data = params.data;
  if (params.transportData !== undefined) {
    options.transport_data = params.transportData;
  }
  return options;
}

function snoopBody(
  ctx: ClientContext,
  options: SnoopChannelOptions = {},
): RequestBodies["channel_snoop"] {
  const {
    snoopId = ctx.newId("sn"),
    app = ctx.application,
    appArgs,
    spy,
    whisper,
  } = options;
  const wire: NonNullable<RequestBodies["channel_snoop"]["options"]> = { app };
  if (appArgs !== undefined) wire.appArgs = appArgs;
  if (spy !== undefined) wire.spy = spy;
  if (whisper !== undefined) wire.whisper = whisper;
  return { snoop_id: snoopId, options: wire };
}

/** Channel handle implementation. */
export class ChannelHandleImpl extends MediaTargetHandle
  implements ChannelHandle {
  constructor(ctx: ClientContext, key: Key) {
    super(ctx, key, KIND);
  }

  async data(options?: CallOptions): Promise<WithKey<Channel>> {
    return await this.entity<Channel>("ChannelData", options);
  }

  async answer(options?: CallOptions): Promise<void> {
    return await this.command("ChannelAnswer", undefined, options);
  }

  async hangup(options: HangupOptions = {}): Promise<void> {
    const { reason, reasonCode, ...call } = options;
    const body: RequestBodies["channel_hangup"] = {
      reason: reason ?? (reasonCode === undefined ? "normal" : ""),
    };
    if (reasonCode !== undefined) body.reason_code = String(reasonCode);
    return await this.command("ChannelHangup", { channel_hangup: body }, call);
  }

  async busy(options?: CallOptions): Promise<void> {
    return await this.command("ChannelBusy", undefined, options);
  }

  async congestion(options?: CallOptions): Promise<void> {
    return await this.command("ChannelCongestion", undefined, options);
  }

  async ring(options?: CallOptions): Promise<void> {
    return await this.command("ChannelRing", undefined, options);
  }

  async stopRing(options?: CallOptions): Promise<void> {
    return await this.command("ChannelStopRing", undefined, options);
  }

  async progress(options?: CallOptions): Promise<void> {
    return await this.command("ChannelProgress", undefined, options);
  }

  async hold(options?: CallOptions): Promise<void> {
    return await this.command("ChannelHold", undefined, options);
  }

  async stopHold(options?: CallOptions): Promise<void> {
    return await this.command("ChannelStopHold", undefined, options);
  }

  async mute(direction?: MediaDirection, options?: CallOptions): Promise<void> {
    return await this.command(
      "ChannelMute",
      { channel_mute: direction ? { direction } : {} },
      options,
    );
  }

  async unmute(
    direction?: MediaDirection,
    options?: CallOptions,
  ): Promise<void> {
    return await this.command(
      "ChannelUnmute",
      { channel_mute: direction ? { direction } : {} },
      options,
    );
  }

  async moh(mohClass?: string, options?: CallOptions): Promise<void> {
    return await this.command(
      "ChannelMOH",
      { channel_moh: { music: mohClass ?? "" } },
      options,
    );
  }

  async stopMoh(options?: CallOptions): Promise<void> {
    return await this.command("ChannelStopMOH", undefined, options);
  }

  async silence(options?: CallOptions): Promise<void> {
    return await this.command("ChannelSilence", undefined, options);
  }

  async stopSilence(options?: CallOptions): Promise<void> {
    return await this.command("ChannelStopSilence", undefined, options);
  }

  async sendDtmf(dtmf: string, options: SendDtmfOptions = {}): Promise<void> {
    if (typeof dtmf !== "string" || dtmf === "") {
      return Promise.reject(
        new TypeError(
          `Cannot send DTMF to channel "${this.id}": no digits given`,
        ),
      );
    }
    const { before, between, duration, after, ...call } = options;
    const wire: NonNullable<RequestBodies["channel_send_dtmf"]["options"]> = {};
    const set = (
      name: "Before" | "Between" | "Duration" | "After",
      ms?: number,
    ) => {
      const ns = msToNs(ms, name.toLowerCase());
      if (ns !== undefined) wire[name] = ns;
    };
    set("Before", before);
    set("Between", between);
    set("Duration", duration);
    set("After", after);
    return await this.command(
      "ChannelSendDTMF",
      { channel_send_dtmf: { dtmf, options: wire } },
      call,
    );
  }

  async snoop(options?: SnoopChannelOptions): Promise<ChannelHandle> {
    const body = snoopBody(this.ctx, options);
    const response = await this.send(
      "ChannelSnoop",
      { channel_snoop: body },
      options,
    );
    return new ChannelHandleImpl(
      this.ctx,
      relocate(keyAt(this.key, KIND, body.snoop_id), response.key),
    );
  }

  async stageSnoop(
    options?: SnoopChannelOptions,
  ): Promise<Staged<ChannelHandle>> {
    const body = snoopBody(this.ctx, options);
    const response = await this.send(
      "ChannelStageSnoop",
      { channel_snoop: body },
      options,
    );
    const target = relocate(this.key, response.key);
    const handle = new ChannelHandleImpl(
      this.ctx,
      keyAt(target, KIND, body.snoop_id),
    );
    return staged<ChannelHandle>(
      handle,
      (opts) =>
        this.ctx.send("ChannelSnoop", target, { channel_snoop: body }, opts),
    );
  }

  async dial(options: DialOptions = {}): Promise<void> {
    const { caller = "", dialTimeout, ...call } = options;
    return await this.command(
      "ChannelDial",
      {
        channel_dial: {
          caller,
          timeout: msToNs(dialTimeout, "dialTimeout") ?? 0,
        },
      },
      call,
    );
  }

  async continue(options: ContinueOptions = {}): Promise<void> {
    const { context = "", extension = "", priority = 0, label, ...call } =
      options;
    const body: RequestBodies["channel_continue"] = {
      context,
      extension,
      priority,
    };
    if (label !== undefined) body.label = label;
    return await this.command(
      "ChannelContinue",
      { channel_continue: body },
      call,
    );
  }

  async move(
    app: string,
    options: CallOptions & { appArgs?: string } = {},
  ): Promise<void> {
    const { appArgs, ...call } = options;
    const body: RequestBodies["channel_move"] = { app };
    if (appArgs !== undefined) body.appArgs = appArgs;
    return await this.command("ChannelMove", { channel_move: body }, call);
  }

  async redirect(endpoint: string, options?: CallOptions): Promise<void> {
    return await this.command("ChannelRedirect", {
      channel_redirect: { endpoint },
    }, options);
  }

  async transferProgress(states: string, options?: CallOptions): Promise<void> {
    return await this.command(
      "ChannelTransferProgress",
      { channel_transfer_progress: { states } },
      options,
    );
  }

  async claim(
    options: CallOptions & { application?: string } = {},
  ): Promise<void> {
    const { application = this.ctx.application, ...call } = options;
    return await this.command("ChannelClaim", {
      channel_claim: { application },
    }, call);
  }

  async userEvent(
    name: string,
    options: CallOptions & { variables?: Readonly<Record<string, unknown>> } =
      {},
  ): Promise<void> {
    const { variables, ...call } = options;
    if (typeof name !== "string" || name === "") {
      return Promise.reject(
        new TypeError(
          `Cannot raise a user event on channel "${this.id}": the name is empty`,
        ),
      );
    }
    return await this.command(
      "ChannelUserEvent",
      {
        channel_user_event: {
          UserEvent: {
            eventname: name,
            userevent: variables ? { ...variables } : null,
          },
        },
      },
      call,
    );
  }

  async rtpStatistics(options?: CallOptions): Promise<RTPstat> {
    const response = await this.send(
      "ChannelRTPStatistics",
      undefined,
      options,
    );
    return dataOf(response, "ChannelRTPStatistics") as unknown as RTPstat;
  }

  async originate(
    params: OriginateParams,
    options?: CallOptions,
  ): Promise<ChannelHandle> {
    return await originate(
      this.ctx,
      { originator: this.id, ...params },
      this.key,
      options,
    );
  }

  async create(
    params: ChannelCreateParams,
    options?: CallOptions,
  ): Promise<ChannelHandle> {
    return await create(
      this.ctx,
      { originator: this.id, ...params },
      this.key,
      options,
    );
  }

  async bindDialog(options?: CallOptions): Promise<void> {
    return await this.command("ChannelSubscribe", undefined, options);
  }
}

async function originate(
  ctx: ClientContext,
  params: OriginateParams,
  ref: Key | null | undefined,
  options?: CallOptions,
): Promise<ChannelHandle> {
  const req = originateRequest(ctx, params);
  const response = await ctx.send(
    "ChannelOriginate",
    ref ?? null,
    { channel_originate: { originate_request: req } },
    options,
  );
  return new ChannelHandleImpl(
    ctx,
    resolvedKey(response.key, keyAt(ref, KIND, req.channelId as string)),
  );
}

async function create(
  ctx: ClientContext,
  params: ChannelCreateParams,
  ref: Key | null | undefined,
  options?: CallOptions,
): Promise<ChannelHandle> {
  const req = createRequest(ctx, params);
  const response = await ctx.send(
    "ChannelCreate",
    ref ?? null,
    { channel_create: { channel_create_request: req } },
    options,
  );
  return new ChannelHandleImpl(
    ctx,
    resolvedKey(response.key, keyAt(ref, KIND, req.channelId as string)),
  );
}

/** `channels` implementation. */
export class ChannelsImpl extends ListedGroup<ChannelHandle>
  implements Channels {
  constructor(ctx: ClientContext) {
    super(
      ctx,
      KIND,
      { list: "ChannelList", get: "ChannelGet" },
      (c, key) => new ChannelHandleImpl(c, key),
    );
  }

  async originate(
    params: OriginateParams,
    ref?: Key | null,
    options?: CallOptions,
  ): Promise<ChannelHandle> {
    return await originate(this.ctx, params, ref, options);
  }

  async stageOriginate(
    params: OriginateParams,
    ref?: Key | null,
    options?: CallOptions,
  ): Promise<Staged<ChannelHandle>> {
    const ctx = this.ctx;
    const req = originateRequest(ctx, params);
    const body = { channel_originate: { originate_request: req } };
    const response = await ctx.send(
      "ChannelStageOriginate",
      ref ?? null,
      body,
      options,
    );
    const key = resolvedKey(
      response.key,
      keyAt(ref, KIND, req.channelId as string),
    );
    const target = relocate(ref ?? makeKey({}), key);
    return staged<ChannelHandle>(
      new ChannelHandleImpl(ctx, key),
      (opts) => ctx.send("ChannelOriginate", target, body, opts),
    );
  }

  async create(
    params: ChannelCreateParams,
    ref?: Key | null,
    options?: CallOptions,
  ): Promise<ChannelHandle> {
    return await create(this.ctx, params, ref, options);
  }

  async externalMedia(
    params: ExternalMediaParams,
    ref?: Key | null,
    options?: CallOptions,
  ): Promise<ChannelHandle> {
    const ctx = this.ctx;
    const wire = externalMediaOptions(ctx, params);
    const response = await ctx.send(
      "ChannelExternalMedia",
      ref ?? null,
      { channel_external_media: { options: wire } },
      options,
    );
    return new ChannelHandleImpl(
      ctx,
      resolvedKey(response.key, keyAt(ref, KIND, wire.channelId as string)),
    );
  }

  async stageExternalMedia(
    params: ExternalMediaParams,
    ref?: Key | null,
    options?: CallOptions,
  ): Promise<Staged<ChannelHandle>> {
    const ctx = this.ctx;
    const wire = externalMediaOptions(ctx, params);
    const body = { channel_external_media: { options: wire } };
    const response = await ctx.send(
      "ChannelStageExternalMedia",
      ref ?? null,
      body,
      options,
    );
    const key = resolvedKey(
      response.key,
      keyAt(ref, KIND, wire.channelId as string),
    );
    const target = relocate(ref ?? makeKey({}), key);
    return staged<ChannelHandle>(
      new ChannelHandleImpl(ctx, key),
      (opts) => ctx.send("ChannelExternalMedia", target, body, opts),
    );
  }
}
