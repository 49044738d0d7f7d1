/**
 * Bridge kinds of the kind executor (`Bridge*`). Internal.
 *
 * @module
 */

import { stringMap } from "./executor_channel.ts";
import {
  asObject,
  bindOnlyHandler,
  checkPathId,
  commandHandler,
  dataHandler,
  dataReply,
  type ExecContext,
  getHandler,
  type HandlerGroup,
  keyReply,
  listHandler,
  ok,
  playQuery,
  recordQuery,
  stringField,
  variableReply,
} from "./executor_common.ts";

const P = "bridgeId";

function quoted(id: string): string {
  return JSON.stringify(id);
}

/** The bridge id: the key id, or a generated one. */
function bridgeId(ctx: ExecContext): { id: string; generated: boolean } {
  const given = ctx.optId();
  return given === undefined
    ? { id: ctx.newId("br"), generated: true }
    : { id: given, generated: false };
}

function playbackId(ctx: ExecContext): { id: string; generated: boolean } {
  const given = ctx.body("bridge_play").optString("playback_id");
  return given === undefined ? { id: ctx.newId("pb"), generated: true } : {
    id: checkPathId(ctx, given, "bridge_play.playback_id"),
    generated: false,
  };
}

function recordingName(ctx: ExecContext): string {
  return ctx.body("bridge_record").optString("name") ?? ctx.newId("rc");
}

/** Handlers of the bridge kinds. */
export const BRIDGE_HANDLERS: HandlerGroup = {
  BridgeCreate: {
    ops: ["bridges.create", "bridges.createWithId"],
    async run(ctx) {
      const body = ctx.body("bridge_create");
      const query = {
        type: body.optString("type"),
        name: body.optString("name"),
      };
      const bridge = bridgeId(ctx);
      const action = `create bridge ${quoted(bridge.id)}`;
      if (bridge.generated) {
        await ctx.call("bridges.create", action, {
          query: { ...query, bridgeId: bridge.id },
        });
      } else {
        await ctx.call("bridges.createWithId", action, {
          params: { [P]: bridge.id },
          query,
        });
      }
      return keyReply(ctx.stampKey(bridge.id));
    },
  },
  BridgeStageCreate: {
    ops: [],
    run(ctx) {
      ctx.optBody("bridge_create");
      return Promise.resolve(keyReply(ctx.stampKey(bridgeId(ctx).id)));
    },
  },
  BridgeData: dataHandler("bridges.get", "bridge", P, "bridge"),
  BridgeGet: getHandler("bridges.get", P, "bridge"),
  BridgeList: listHandler(
    "bridges.list",
    "bridge",
    (item) => stringField(item, "id"),
    "bridges",
  ),
  BridgeDelete: commandHandler(
    "bridges.destroy",
    P,
    (id) => `destroy bridge ${quoted(id)}`,
  ),
  BridgeAddChannel: commandHandler(
    "bridges.addChannel",
    P,
    (id) => `add a channel to bridge ${quoted(id)}`,
    (ctx) => {
      const body = ctx.body("bridge_add_channel");
      // Go omits false booleans and empty strings.
      const flag = (name: string) => body.bool(name) ? true : undefined;
      return {
        query: {
          channel: body.nonEmpty("channel", "the channel id"),
          role: body.optString("role"),
          absorbDTMF: flag("absorbDTMF"),
          mute: flag("mute"),
          inhibitConnectedLineUpdates: flag("inhibitConnectedLineUpdates"),
        },
      };
    },
  ),
  BridgeRemoveChannel: commandHandler(
    "bridges.removeChannel",
    P,
    (id) => `remove a channel from bridge ${quoted(id)}`,
    (ctx) => ({
      query: {
        channel: ctx.body("bridge_remove_channel").nonEmpty(
          "channel",
          "the channel id",
        ),
      },
    }),
  ),
  BridgeMOH: commandHandler(
    "bridges.startMoh",
    P,
    (id) => `start music on hold on bridge ${quoted(id)}`,
    (ctx) => ({
      query: { mohClass: ctx.body("bridge_moh").optString("class") },
    }),
  ),
  BridgeStopMOH: commandHandler(
    "bridges.stopMoh",
    P,
    (id) => `stop music on hold on bridge ${quoted(id)}`,
  ),
  BridgeVideoSource: {
    ops: ["bridges.setVideoSource"],
    async run(ctx) {
      const id = ctx.id();
      const channel = checkPathId(
        ctx,
        ctx.body("bridge_video_source").nonEmpty("channel", "the channel id"),
        "bridge_video_source.channel",
      );
      await ctx.call(
        "bridges.setVideoSource",
        `set the video source of bridge ${quoted(id)}`,
        { params: { [P]: id, channelId: channel } },
      );
      return ok();
    },
  },
  BridgeVideoSourceDelete: commandHandler(
    "bridges.clearVideoSource",
    P,
    (id) => `clear the video source of bridge ${quoted(id)}`,
  ),
  BridgePlay: {
    ops: ["bridges.play", "bridges.playWithId"],
    async run(ctx) {
      const id = ctx.id();
      const playback = playbackId(ctx);
      const query = playQuery(ctx, "bridge_play");
      const action = `play media on bridge ${quoted(id)}`;
      if (playback.generated) {
        await ctx.call("bridges.play", action, {
          params: { [P]: id },
          query: { ...query, playbackId: playback.id },
        });
      } else {
        await ctx.call("bridges.playWithId", action, {
          params: { [P]: id, playbackId: playback.id },
          query,
        });
      }
      return keyReply(ctx.makeKey("playback", playback.id));
    },
  },
  BridgeStagePlay: {
    ops: [],
    run(ctx) {
      ctx.id();
      return Promise.resolve(
        keyReply(ctx.makeKey("playback", playbackId(ctx).id)),
      );
    },
  },
  BridgeRecord: {
    ops: ["bridges.record"],
    async run(ctx) {
      const id = ctx.id();
      const name = recordingName(ctx);
      await ctx.call(
        "bridges.record",
        `record bridge ${quoted(id)} as ${quoted(name)}`,
        { params: { [P]: id }, query: recordQuery(ctx, "bridge_record", name) },
      );
      return keyReply(ctx.makeKey("liverecording", name));
    },
  },
  BridgeStageRecord: {
    ops: [],
    run(ctx) {
      ctx.id();
      const name = recordingName(ctx);
      return Promise.resolve(
        keyReply(ctx.makeKey("liverecording", name, ctx.dialog())),
      );
    },
  },
  BridgeSubscribe: bindOnlyHandler(),
  BridgeUnsubscribe: bindOnlyHandler(),
  BridgeVariableGet: {
    ops: ["bridges.getBridgeVar"],
    async run(ctx) {
      const id = ctx.id();
      const name = ctx.body("bridge_variable").nonEmpty(
        "name",
        "the variable name",
      );
      const action = `get variable ${quoted(name)} of bridge ${quoted(id)}`;
      const answer = asObject(
        await ctx.call("bridges.getBridgeVar", action, {
          params: { [P]: id },
          query: { variable: name },
        }),
        action,
      );
      return variableReply(answer.value);
    },
  },
  BridgeVariableSet: commandHandler(
    "bridges.setBridgeVar",
    P,
    (id) => `set a variable on bridge ${quoted(id)}`,
    (ctx) => {
      const body = ctx.body("bridge_variable");
      return {
        query: {
          variable: body.nonEmpty("name", "the variable name"),
          value: body.optString("value"),
        },
      };
    },
  ),
  BridgeVariablesGet: {
    ops: ["bridges.getBridgeVars"],
    async run(ctx) {
      const id = ctx.id();
      const names = ctx.body("variables_get").optStringArray("names");
      if (names === undefined) {
        throw ctx.invalid(
          "variables_get.names must list at least one variable name",
          "invalidField",
          "variables_get.names",
        );
      }
      const action = `get variables of bridge ${quoted(id)}`;
      const answer = asObject(
        await ctx.call("bridges.getBridgeVars", action, {
          params: { [P]: id },
          query: { variables: names },
        }),
        action,
      );
      return dataReply({ variables: stringMap(answer.variables) });
    },
  },
  BridgeVariablesSet: commandHandler(
    "bridges.setBridgeVars",
    P,
    (id) => `set variables on bridge ${quoted(id)}`,
    (ctx) => ({
      body: {
        variables: ctx.body("variables_set").optStringMap("variables") ?? {},
      },
    }),
  ),
};
