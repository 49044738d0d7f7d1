/**
 * Channel kinds of the kind executor (`Channel*`). Internal.
 *
 * @module
 */

import type { AriOperationId } from "../generated/operations.ts";
import type { AriQueryValue } from "./rest.ts";
import {
  asObject,
  bindOnlyHandler,
  checkPathId,
  commandHandler,
  dataHandler,
  dataReply,
  type ExecContext,
  getHandler,
  givenOrNewId,
  type HandlerGroup,
  keyReply,
  type KindHandler,
  listHandler,
  nsToMillis,
  nsToSeconds,
  ok,
  playHandler,
  quoted,
  recordHandler,
  stagePlayHandler,
  stageRecordHandler,
  stringField,
  variableGetHandler,
  variableSetHandler,
  variablesGetHandler,
  variablesSetHandler,
  verbCommandHandler,
} from "./executor_common.ts";

const P = "channelId";

/** A body-less channel command. */
function simple(
  op: AriOperationId,
  verb: string,
  query?: Record<string, AriQueryValue>,
): KindHandler {
  return verbCommandHandler(op, P, "channel", verb, query);
}

/**
 * The originate fields as ARI query parameters (`variables` go in the body).
 * Go's `OriginateRequest` omits empty strings and zero numbers.
 */
function originateQuery(
  ctx: ExecContext,
): {
  channelId: string;
  generated: boolean;
  query: Record<string, AriQueryValue>;
  variables: Record<string, string> | undefined;
} {
  const req = ctx.body("channel_originate").object("originate_request");
  const endpoint = req.nonEmpty(
    "endpoint",
    'the endpoint to call, e.g. "PJSIP/alice"',
  );
  const given = req.optString("channelId");
  const channelId = given === undefined
    ? ctx.newId("ch")
    : checkPathId(ctx, given, "channel_originate.originate_request.channelId");
  let originator = req.optString("originator");
  const keyId = ctx.optId();
  if (originator === undefined && ctx.keyKind() === "channel" && keyId) {
    originator = keyId;
  }
  const timeout = req.optInt("timeout");
  const priority = req.optInt("priority");
  return {
    channelId,
    generated: given === undefined,
    query: {
      endpoint,
      extension: req.optString("extension"),
      context: req.optString("context"),
      priority: priority === 0 ? undefined : priority,
      label: req.optString("label"),
      app: req.optString("app"),
      appArgs: req.optString("appArgs"),
      callerId: req.optString("callerId"),
      timeout: timeout === 0 ? undefined : timeout,
      otherChannelId: req.optString("otherChannelId"),
      originator,
      formats: req.optString("formats"),
    },
    variables: req.optStringMap("variables"),
  };
}

/** External media options with Go's defaults applied. */
function externalMediaQuery(
  ctx: ExecContext,
): {
  channelId: string;
  query: Record<string, AriQueryValue>;
  variables: Record<string, string> | undefined;
} {
  const opts = ctx.body("channel_external_media").object("options");
  const given = opts.optString("channelId");
  const channelId = given ?? ctx.newId("ch");
  const transport = opts.optString("transport") ?? "udp";
  const host = opts.optString("external_host");
  if (host === undefined && transport !== "websocket") {
    throw ctx.invalid(
      "channel_external_media.options.external_host is required (ExternalHost is mandatory)",
      "invalidField",
      "channel_external_media.options.external_host",
    );
  }
  const format = opts.optString("format");
  if (format === undefined) {
    throw ctx.invalid(
      'channel_external_media.options.format is required (Format is mandatory, e.g. "ulaw")',
      "invalidField",
      "channel_external_media.options.format",
    );
  }
  return {
    channelId,
    query: {
      channelId,
      app: opts.optString("app") ?? ctx.application,
      external_host: host,
      encapsulation: opts.optString("encapsulation") ?? "rtp",
      transport,
      connection_type: opts.optString("connection_type") ?? "client",
      format,
      direction: opts.optString("direction") ?? "both",
      data: opts.optString("data"),
      transport_data: opts.optString("transport_data"),
    },
    variables: opts.optStringMap("variables"),
  };
}

/** The snoop id of a snoop body (generated when absent). */
function snoopId(ctx: ExecContext): { id: string; generated: boolean } {
  const given = ctx.body("channel_snoop").optString("snoop_id");
  return givenOrNewId(ctx, given, "sn", "channel_snoop.snoop_id");
}

/** ChannelStageExternalMedia: reserve the channel id, no ARI call. */
function stageExternalMedia(ctx: ExecContext): Promise<ReturnType<typeof ok>> {
  const { channelId } = externalMediaQuery(ctx);
  return Promise.resolve(keyReply(ctx.makeKey("channel", channelId)));
}

/** Handlers of the channel kinds. */
export const CHANNEL_HANDLERS: HandlerGroup = {
  ChannelAnswer: simple("channels.answer", "answer"),
  ChannelBusy: simple("channels.hangup", "hang up (busy)", { reason: "busy" }),
  ChannelCongestion: simple("channels.hangup", "hang up (congestion)", {
    reason: "congestion",
  }),
  ChannelHold: simple("channels.hold", "hold"),
  ChannelStopHold: simple("channels.unhold", "stop holding"),
  ChannelRing: simple("channels.ring", "ring"),
  ChannelStopRing: simple("channels.ringStop", "stop ringing"),
  ChannelSilence: simple("channels.startSilence", "play silence on"),
  ChannelStopSilence: simple("channels.stopSilence", "stop silence on"),
  ChannelStopMOH: simple("channels.stopMoh", "stop music on hold on"),
  ChannelProgress: simple("channels.progress", "indicate progress on"),

  ChannelData: dataHandler("channels.get", "channel", P, "channel"),
  ChannelGet: getHandler("channels.get", P, "channel"),
  ChannelList: listHandler(
    "channels.list",
    "channel",
    (item) => stringField(item, "id"),
    "channels",
  ),

  ChannelHangup: commandHandler(
    "channels.hangup",
    P,
    (id) => `hang up channel ${quoted(id)}`,
    (ctx) => {
      const body = ctx.body("channel_hangup");
      const reason = body.optString("reason");
      const code = body.optString("reason_code");
      return {
        query: code === undefined
          ? { reason: reason ?? "normal" }
          : { reason_code: code, reason },
      };
    },
  ),
  ChannelContinue: commandHandler(
    "channels.continueInDialplan",
    P,
    (id) => `continue channel ${quoted(id)} in the dialplan`,
    (ctx) => {
      const body = ctx.body("channel_continue");
      const priority = body.optInt("priority");
      return {
        query: {
          context: body.optString("context"),
          extension: body.optString("extension"),
          priority: priority === 0 ? undefined : priority,
          label: body.optString("label"),
        },
      };
    },
  ),
  ChannelDial: commandHandler(
    "channels.dial",
    P,
    (id) => `dial channel ${quoted(id)}`,
    (ctx) => {
      const body = ctx.body("channel_dial");
      return {
        query: {
          caller: body.optString("caller"),
          timeout: nsToSeconds(body.number("timeout")),
        },
      };
    },
  ),
  ChannelMOH: commandHandler(
    "channels.startMoh",
    P,
    (id) => `start music on hold on channel ${quoted(id)}`,
    (ctx) => ({
      query: { mohClass: ctx.body("channel_moh").optString("music") },
    }),
  ),
  ChannelMute: commandHandler(
    "channels.mute",
    P,
    (id) => `mute channel ${quoted(id)}`,
    (ctx) => ({
      query: {
        direction: ctx.optBody("channel_mute")?.optString("direction") ??
          "both",
      },
    }),
  ),
  ChannelUnmute: commandHandler(
    "channels.unmute",
    P,
    (id) => `unmute channel ${quoted(id)}`,
    (ctx) => ({
      query: {
        direction: ctx.optBody("channel_mute")?.optString("direction") ??
          "both",
      },
    }),
  ),
  ChannelSendDTMF: commandHandler(
    "channels.sendDTMF",
    P,
    (id) => `send DTMF to channel ${quoted(id)}`,
    (ctx) => {
      const body = ctx.body("channel_send_dtmf");
      const dtmf = body.string("dtmf");
      const opts = body.optObject("options");
      const before = opts?.number("Before") ?? 0;
      const between = opts?.number("Between") ?? 0;
      const duration = opts?.number("Duration") ?? 0;
      const after = opts?.number("After") ?? 0;
      // Go: Duration/Between below 1 ns become ARI's 100 ms default; zero
      // milliseconds are left out (omitempty).
      const nonZero = (ms: number) => ms === 0 ? undefined : ms;
      return {
        query: {
          dtmf: dtmf === "" ? undefined : dtmf,
          before: nonZero(nsToMillis(before)),
          between: nonZero(between < 1 ? 100 : nsToMillis(between)),
          duration: nonZero(duration < 1 ? 100 : nsToMillis(duration)),
          after: nonZero(nsToMillis(after)),
        },
      };
    },
  ),
  ChannelVariableSet: variableSetHandler(
    "channels.setChannelVar",
    P,
    "channel",
  ),
  ChannelVariableGet: variableGetHandler(
    "channels.getChannelVar",
    P,
    "channel",
  ),
  ChannelVariablesGet: variablesGetHandler(
    "channels.getChannelVars",
    P,
    "channel",
  ),
  ChannelVariablesSet: variablesSetHandler(
    "channels.setChannelVars",
    P,
    "channel",
  ),
  ChannelRTPStatistics: {
    ops: ["channels.rtpstatistics"],
    async run(ctx) {
      const id = ctx.id();
      const action = `get RTP statistics of channel ${quoted(id)}`;
      const stats = asObject(
        await ctx.call("channels.rtpstatistics", action, {
          params: { [P]: id },
        }),
        action,
      );
      return dataReply({ rtp_statistics: stats });
    },
  },
  ChannelMove: commandHandler(
    "channels.move",
    P,
    (id) => `move channel ${quoted(id)} to another application`,
    (ctx) => {
      const body = ctx.body("channel_move");
      return {
        query: {
          app: body.nonEmpty("app", "the target application"),
          appArgs: body.optString("appArgs"),
        },
      };
    },
  ),
  ChannelRedirect: commandHandler(
    "channels.redirect",
    P,
    (id) => `redirect channel ${quoted(id)}`,
    (ctx) => ({
      query: {
        endpoint: ctx.body("channel_redirect").nonEmpty(
          "endpoint",
          "the endpoint to redirect to",
        ),
      },
    }),
  ),
  ChannelTransferProgress: commandHandler(
    "channels.transfer_progress",
    P,
    (id) => `report transfer progress on channel ${quoted(id)}`,
    (ctx) => ({
      query: {
        states: ctx.body("channel_transfer_progress").nonEmpty(
          "states",
          "the transfer state",
        ),
      },
    }),
  ),
  ChannelClaim: {
    ops: ["events.claimChannel"],
    async run(ctx) {
      const id = ctx.id();
      const application = ctx.body("channel_claim").optString("application") ??
        ctx.application;
      await ctx.call(
        "events.claimChannel",
        `claim channel ${quoted(id)} for application ${quoted(application)}`,
        { query: { channelId: id, application } },
      );
      return ok();
    },
  },
  ChannelUserEvent: {
    ops: ["events.userEvent"],
    async run(ctx) {
      const id = ctx.id();
      const event = ctx.body("channel_user_event").object("UserEvent");
      const name = event.nonEmpty("eventname", "the user event name");
      const keyApp = ctx.key()?.app;
      const application = typeof keyApp === "string" && keyApp !== ""
        ? keyApp
        : ctx.application;
      await ctx.call(
        "events.userEvent",
        `send user event ${quoted(name)} for channel ${quoted(id)}`,
        {
          params: { eventName: name },
          query: { application, source: `channel:${id}` },
          body: { variables: event.optRecord("userevent") ?? {} },
        },
      );
      return ok();
    },
  },

  ChannelOriginate: {
    ops: ["channels.originate", "channels.originateWithId"],
    async run(ctx) {
      const { channelId, generated, query, variables } = originateQuery(ctx);
      const action = `originate a call to ${
        quoted(String(query.endpoint))
      } (channel ${quoted(channelId)})`;
      const body = variables === undefined ? undefined : { variables };
      if (generated) {
        await ctx.call("channels.originate", action, {
          query: { ...query, channelId },
          ...(body === undefined ? {} : { body }),
        });
      } else {
        await ctx.call("channels.originateWithId", action, {
          params: { [P]: channelId },
          query,
          ...(body === undefined ? {} : { body }),
        });
      }
      return keyReply(ctx.makeKey("channel", channelId));
    },
  },
  ChannelStageOriginate: {
    ops: [],
    run(ctx) {
      const request = ctx.request as Record<string, unknown>;
      if (
        (request.channel_originate === undefined ||
          request.channel_originate === null) &&
        request.channel_external_media !== undefined &&
        request.channel_external_media !== null
      ) {
        // Go's StageExternalMedia sends this kind with an external media body.
        return stageExternalMedia(ctx);
      }
      const { channelId } = originateQuery(ctx);
      return Promise.resolve(keyReply(ctx.makeKey("channel", channelId)));
    },
  },
  ChannelCreate: {
    ops: ["channels.create"],
    async run(ctx) {
      const req = ctx.body("channel_create").object("channel_create_request");
      const endpoint = req.nonEmpty("endpoint", "the endpoint to call");
      const channelId = req.optString("channelId") ?? ctx.newId("ch");
      let originator = req.optString("originator");
      const keyId = ctx.optId();
      if (originator === undefined && ctx.keyKind() === "channel" && keyId) {
        originator = keyId;
      }
      const variables = req.optStringMap("variables");
      await ctx.call(
        "channels.create",
        `create a channel to ${quoted(endpoint)} (channel ${
          quoted(channelId)
        })`,
        {
          query: {
            endpoint,
            app: req.optString("app") ?? ctx.application,
            appArgs: req.optString("appArgs"),
            channelId,
            otherChannelId: req.optString("otherChannelId"),
            originator,
            formats: req.optString("formats"),
          },
          ...(variables === undefined ? {} : { body: { variables } }),
        },
      );
      return keyReply(ctx.makeKey("channel", channelId));
    },
  },
  ChannelExternalMedia: {
    ops: ["channels.externalMedia"],
    async run(ctx) {
      const { channelId, query, variables } = externalMediaQuery(ctx);
      await ctx.call(
        "channels.externalMedia",
        `create external media channel ${quoted(channelId)}`,
        {
          query,
          ...(variables === undefined ? {} : { body: { variables } }),
        },
      );
      return keyReply(ctx.makeKey("channel", channelId));
    },
  },
  ChannelStageExternalMedia: { ops: [], run: stageExternalMedia },

  ChannelPlay: playHandler(
    "channels.play",
    "channels.playWithId",
    P,
    "channel",
  ),
  ChannelStagePlay: stagePlayHandler("channel"),
  ChannelRecord: recordHandler("channels.record", P, "channel"),
  ChannelStageRecord: stageRecordHandler("channel"),
  ChannelSnoop: {
    ops: ["channels.snoopChannel", "channels.snoopChannelWithId"],
    async run(ctx) {
      const id = ctx.id();
      const snoop = snoopId(ctx);
      const opts = ctx.body("channel_snoop").optObject("options");
      const query: Record<string, AriQueryValue> = {
        spy: opts?.optString("spy"),
        whisper: opts?.optString("whisper"),
        app: opts?.optString("app") ?? ctx.application,
        appArgs: opts?.optString("appArgs"),
      };
      const action = `snoop on channel ${quoted(id)}`;
      if (snoop.generated) {
        await ctx.call("channels.snoopChannel", action, {
          params: { [P]: id },
          query: { ...query, snoopId: snoop.id },
        });
      } else {
        await ctx.call("channels.snoopChannelWithId", action, {
          params: { [P]: id, snoopId: snoop.id },
          query,
        });
      }
      return keyReply(ctx.makeKey("channel", snoop.id));
    },
  },
  ChannelStageSnoop: {
    ops: [],
    run(ctx) {
      ctx.id();
      return Promise.resolve(keyReply(ctx.makeKey("channel", snoopId(ctx).id)));
    },
  },
  ChannelSubscribe: bindOnlyHandler(),
};
