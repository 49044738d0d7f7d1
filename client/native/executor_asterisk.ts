/**
 * Application and Asterisk kinds of the kind executor (`Application*`,
 * `Asterisk*`, `UserEvent`). Internal.
 *
 * @module
 */

import type { AriOperationId } from "../generated/operations.ts";
import {
  AriCallError,
  asList,
  asObject,
  commandHandler,
  dataHandler,
  dataReply,
  type ExecContext,
  getHandler,
  type HandlerGroup,
  keyReply,
  type KindHandler,
  listHandler,
  ok,
  quoted,
  readVariable,
  stringField,
  verbCommandHandler,
} from "./executor_common.ts";

/** Splits a config key id `class/type/name` (Go `ParseConfigID`, strict). */
function configId(
  ctx: ExecContext,
): { configClass: string; objectType: string; id: string } {
  const raw = ctx.id('configuration object id, "class/type/name"');
  const parts = raw.split("/");
  if (
    parts.length !== 3 || parts.some((p) => p === "" || p === "." || p === "..")
  ) {
    throw ctx.invalid(
      `key.id ${
        JSON.stringify(raw)
      } is not a configuration object id (expected "class/type/name")`,
      "invalidKey",
      "key.id",
    );
  }
  return { configClass: parts[0]!, objectType: parts[1]!, id: parts[2]! };
}

/** Reads Asterisk's logging channels. */
async function logChannels(
  ctx: ExecContext,
  action: string,
): Promise<Record<string, unknown>[]> {
  return asList(await ctx.call("asterisk.listLogChannels", action), action);
}

/**
 * Finds a logging channel by key id: the full name Asterisk lists (as Go
 * does), else (ours) the unique channel whose file name is the id.
 */
async function findLogChannel(
  ctx: ExecContext,
): Promise<Record<string, unknown>> {
  const id = ctx.id("logging channel name");
  const action = `get logging channel ${quoted(id)}`;
  const list = await logChannels(ctx, action);
  const exact = list.find((item) => stringField(item, "channel") === id);
  if (exact !== undefined) return exact;
  if (!id.includes("/")) {
    const byBase = list.filter((item) =>
      stringField(item, "channel").endsWith(`/${id}`)
    );
    if (byBase.length === 1) return byBase[0]!;
  }
  throw new AriCallError(action, new LogChannelNotFound(id), undefined);
}

/** No logging channel has the requested name. */
export class LogChannelNotFound extends Error {
  constructor(id: string) {
    super(`no logging channel is named ${JSON.stringify(id)}`);
    this.name = "LogChannelNotFound";
  }
}

function moduleCommand(op: AriOperationId, verb: string): KindHandler {
  return verbCommandHandler(op, "moduleName", "module", verb);
}

/** Handlers of the application and asterisk kinds. */
export const ASTERISK_HANDLERS: HandlerGroup = {
  // ---- applications ----
  ApplicationData: dataHandler(
    "applications.get",
    "application",
    "applicationName",
    "application",
  ),
  ApplicationGet: getHandler(
    "applications.get",
    "applicationName",
    "application",
  ),
  ApplicationList: listHandler(
    "applications.list",
    "application",
    (item) => stringField(item, "name"),
    "applications",
  ),
  ApplicationSubscribe: commandHandler(
    "applications.subscribe",
    "applicationName",
    (id) => `subscribe application ${quoted(id)} to an event source`,
    (ctx) => ({
      query: {
        eventSource: ctx.body("application_subscribe").nonEmpty(
          "event_source",
          'an event source such as "channel:<id>"',
        ),
      },
    }),
  ),
  ApplicationUnsubscribe: commandHandler(
    "applications.unsubscribe",
    "applicationName",
    (id) => `unsubscribe application ${quoted(id)} from an event source`,
    (ctx) => ({
      query: {
        eventSource: ctx.body("application_subscribe").nonEmpty(
          "event_source",
          'an event source such as "channel:<id>"',
        ),
      },
    }),
  ),
  ApplicationEventFilter: commandHandler(
    "applications.filter",
    "applicationName",
    (id) => `set the event filter of application ${quoted(id)}`,
    (ctx) => {
      const filter = ctx.body("application_event_filter").object("filter");
      const body: Record<string, unknown> = {};
      for (const list of ["allowed", "disallowed"] as const) {
        const value = filter.raw[list];
        if (value === undefined || value === null) continue;
        if (
          !Array.isArray(value) ||
          !value.every((item) =>
            typeof item === "object" && item !== null &&
            typeof (item as Record<string, unknown>).type === "string"
          )
        ) {
          throw ctx.invalid(
            `application_event_filter.filter.${list} must be a list of {"type": "<event type>"}`,
            "invalidField",
            `application_event_filter.filter.${list}`,
          );
        }
        body[list] = value.map((item) => ({
          type: (item as Record<string, unknown>).type,
        }));
      }
      return { body };
    },
  ),

  // ---- asterisk ----
  AsteriskInfo: {
    ops: ["asterisk.getInfo"],
    async run(ctx) {
      const only = ctx.optBody("asterisk_info")?.optString("only");
      const action = "get Asterisk information";
      const info = asObject(
        await ctx.call("asterisk.getInfo", action, { query: { only } }),
        action,
      );
      return dataReply({ asterisk: info });
    },
  },
  AsteriskPing: {
    ops: ["asterisk.ping"],
    async run(ctx) {
      const action = "ping Asterisk";
      const pong = asObject(await ctx.call("asterisk.ping", action), action);
      return dataReply({ asterisk_ping: pong });
    },
  },
  AsteriskVariableGet: {
    ops: ["asterisk.getGlobalVar"],
    async run(ctx) {
      const name = ctx.id("global variable name");
      return await readVariable(
        ctx,
        "asterisk.getGlobalVar",
        `get global variable ${quoted(name)}`,
        { query: { variable: name } },
      );
    },
  },
  AsteriskVariableSet: {
    ops: ["asterisk.setGlobalVar"],
    async run(ctx) {
      const name = ctx.id("global variable name");
      const value = ctx.body("asterisk_variable_set").optString("value");
      await ctx.call(
        "asterisk.setGlobalVar",
        `set global variable ${quoted(name)}`,
        { query: { variable: name, value } },
      );
      return ok();
    },
  },

  // ---- dynamic configuration ----
  AsteriskConfigData: {
    ops: ["asterisk.getObject"],
    async run(ctx) {
      const params = configId(ctx);
      const action = `get configuration object ${quoted(ctx.id())}`;
      const fields = asList(
        await ctx.call("asterisk.getObject", action, { params }),
        action,
      ).map((tuple) => ({
        attribute: stringField(tuple, "attribute"),
        value: stringField(tuple, "value"),
      }));
      return dataReply({
        config: {
          key: ctx.stampKey(),
          Class: params.configClass,
          Type: params.objectType,
          Name: params.id,
          Fields: fields,
        },
      });
    },
  },
  AsteriskConfigUpdate: {
    ops: ["asterisk.updateObject"],
    async run(ctx) {
      const params = configId(ctx);
      const body = ctx.body("asterisk_config");
      const tuples = body.raw.tuples;
      const fields: { attribute: string; value: string }[] = [];
      if (tuples !== undefined && tuples !== null) {
        if (!Array.isArray(tuples)) {
          throw ctx.invalid(
            "asterisk_config.tuples must be a list of {attribute, value}",
            "invalidField",
            "asterisk_config.tuples",
          );
        }
        tuples.forEach((tuple: unknown, i) => {
          const t = tuple as Record<string, unknown> | null;
          if (
            typeof t !== "object" || t === null ||
            typeof t.attribute !== "string" ||
            (t.value !== undefined && typeof t.value !== "string")
          ) {
            throw ctx.invalid(
              `asterisk_config.tuples[${i}] must be {attribute: string, value: string}`,
              "invalidField",
              `asterisk_config.tuples[${i}]`,
            );
          }
          fields.push({
            attribute: t.attribute,
            value: (t.value as string | undefined) ?? "",
          });
        });
      }
      await ctx.call(
        "asterisk.updateObject",
        `update configuration object ${quoted(ctx.id())}`,
        { params, body: { fields } },
      );
      return ok();
    },
  },
  AsteriskConfigDelete: {
    ops: ["asterisk.deleteObject"],
    async run(ctx) {
      const params = configId(ctx);
      await ctx.call(
        "asterisk.deleteObject",
        `delete configuration object ${quoted(ctx.id())}`,
        { params },
      );
      return ok();
    },
  },

  // ---- logging ----
  AsteriskLoggingList: {
    ops: ["asterisk.listLogChannels"],
    async run(ctx) {
      const list = await logChannels(ctx, "list logging channels");
      return keysReplyOf(
        ctx,
        list.map((item) => stringField(item, "channel")),
      );
    },
  },
  AsteriskLoggingGet: {
    ops: ["asterisk.listLogChannels"],
    async run(ctx) {
      await findLogChannel(ctx);
      return keyReply(ctx.stampKey());
    },
  },
  AsteriskLoggingData: {
    ops: ["asterisk.listLogChannels"],
    async run(ctx) {
      const channel = await findLogChannel(ctx);
      return dataReply({ log: { key: ctx.stampKey(), ...channel } });
    },
  },
  AsteriskLoggingCreate: {
    ops: ["asterisk.addLog"],
    async run(ctx) {
      const id = ctx.id("logging channel name");
      const configuration = ctx.body("asterisk_logging_channel").nonEmpty(
        "config",
        'comma-separated levels, e.g. "notice,warning"',
      );
      await ctx.call(
        "asterisk.addLog",
        `create logging channel ${quoted(id)}`,
        { params: { logChannelName: id }, query: { configuration } },
      );
      return keyReply(ctx.stampKey());
    },
  },
  AsteriskLoggingDelete: commandHandler(
    "asterisk.deleteLog",
    "logChannelName",
    (id) => `delete logging channel ${quoted(id)}`,
  ),
  AsteriskLoggingRotate: commandHandler(
    "asterisk.rotateLog",
    "logChannelName",
    (id) => `rotate logging channel ${quoted(id)}`,
  ),

  // ---- modules ----
  AsteriskModuleList: listHandler(
    "asterisk.listModules",
    "module",
    (item) => stringField(item, "name"),
    "modules",
  ),
  AsteriskModuleData: dataHandler(
    "asterisk.getModule",
    "module",
    "moduleName",
    "module",
  ),
  AsteriskModuleGet: getHandler("asterisk.getModule", "moduleName", "module"),
  AsteriskModuleLoad: moduleCommand("asterisk.loadModule", "load"),
  AsteriskModuleUnload: moduleCommand("asterisk.unloadModule", "unload"),
  AsteriskModuleReload: moduleCommand("asterisk.reloadModule", "reload"),

  // ---- user events ----
  UserEvent: {
    ops: ["events.userEvent"],
    async run(ctx) {
      const body = ctx.body("user_event");
      const name = body.nonEmpty("name", "the user event name");
      const application = body.optString("application") ?? ctx.application;
      const variables = body.optRecord("variables");
      await ctx.call("events.userEvent", `send user event ${quoted(name)}`, {
        params: { eventName: name },
        query: { application, source: body.optStringArray("source") },
        ...(variables === undefined ? {} : { body: { variables } }),
      });
      return ok();
    },
  },
};

function keysReplyOf(ctx: ExecContext, ids: string[]) {
  const keys = ids.map((id) => ctx.makeKey("logging", id));
  return keys.length === 0 ? ok() : { error: "", keys };
}
