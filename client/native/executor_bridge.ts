/**
 * Bridge kinds of the kind executor (`Bridge*`). Internal.
 *
 * @module
 */

import {
  bindOnlyHandler,
  checkPathId,
  commandHandler,
  dataHandler,
  type ExecContext,
  getHandler,
  type HandlerGroup,
  keyReply,
  listHandler,
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
} from "./executor_common.ts";

const P = "bridgeId";

/** The bridge id: the key id, or a generated one. */
function bridgeId(ctx: ExecContext): { id: string; generated: boolean } {
  const given = ctx.optId();
  return given === undefined
    ? { id: ctx.newId("br"), generated: true }
    : { id: given, generated: false };
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
  BridgePlay: playHandler("bridges.play", "bridges.playWithId", P, "bridge"),
  BridgeStagePlay: stagePlayHandler("bridge"),
  BridgeRecord: recordHandler("bridges.record", P, "bridge"),
  BridgeStageRecord: stageRecordHandler("bridge"),
  BridgeSubscribe: bindOnlyHandler(),
  BridgeUnsubscribe: bindOnlyHandler(),
  BridgeVariableGet: variableGetHandler("bridges.getBridgeVar", P, "bridge"),
  BridgeVariableSet: variableSetHandler("bridges.setBridgeVar", P, "bridge"),
  BridgeVariablesGet: variablesGetHandler("bridges.getBridgeVars", P, "bridge"),
  BridgeVariablesSet: variablesSetHandler("bridges.setBridgeVars", P, "bridge"),
};
