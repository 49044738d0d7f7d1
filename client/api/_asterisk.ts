/**
 * Implementation of the `asterisk` group (internal).
 *
 * @module
 */

import type {
  AsteriskInfo,
  AsteriskPing,
  ConfigTuple,
  LogChannel,
  Module,
} from "../generated/models.ts";
import type { Key } from "../protocol/types.ts";
import type {
  Asterisk,
  AsteriskConfig,
  AsteriskInfoOptions,
  AsteriskLogging,
  AsteriskModules,
  AsteriskVariables,
  ConfigObject,
  LogChannelHandle,
  ModuleHandle,
  NodeOptions,
} from "./asterisk.ts";
import type { CallOptions, KeyLike, WithKey } from "./common.ts";
import type { ClientContext } from "./_context.ts";
import { dataOf } from "./_context.ts";
import { ListedGroup } from "./_group.ts";
import { KeyedHandle } from "./_handle.ts";
import { makeKey, resolvedKey, toKey } from "./_keys.ts";

function nodeKey(ctx: ClientContext, node: string | undefined): Key | null {
  return node ? makeKey({ node, app: ctx.application }) : null;
}

class AsteriskVariablesImpl implements AsteriskVariables {
  #ctx: ClientContext;

  constructor(ctx: ClientContext) {
    this.#ctx = ctx;
  }

  async get(name: KeyLike, options?: CallOptions): Promise<string> {
    const response = await this.#ctx.send(
      "AsteriskVariableGet",
      toKey("variable", name),
      undefined,
      options,
    );
    return response.data?.variable ?? "";
  }

  async set(
    name: KeyLike,
    value: string,
    options?: CallOptions,
  ): Promise<void> {
    await this.#ctx.send(
      "AsteriskVariableSet",
      toKey("variable", name),
      { asterisk_variable_set: { value } },
      options,
    );
  }
}

class AsteriskConfigImpl implements AsteriskConfig {
  #ctx: ClientContext;

  constructor(ctx: ClientContext) {
    this.#ctx = ctx;
  }

  async data(key: KeyLike, options?: CallOptions): Promise<ConfigObject> {
    const k = toKey("config", key);
    const response = await this.#ctx.send(
      "AsteriskConfigData",
      k,
      undefined,
      options,
    );
    const data = dataOf(response, "AsteriskConfigData");
    return {
      key: data.key ?? k,
      configClass: data.Class ?? "",
      objectType: data.Type ?? "",
      id: data.Name ?? "",
      fields: data.Fields ?? [],
    };
  }

  async update(
    key: KeyLike,
    fields: readonly ConfigTuple[] | Readonly<Record<string, string>>,
    options?: CallOptions,
  ): Promise<void> {
    const tuples: ConfigTuple[] = Array.isArray(fields)
      ? fields.map(({ attribute, value }) => ({ attribute, value }))
      : Object.entries(fields as Record<string, string>).map((
        [attribute, value],
      ) => ({
        attribute,
        value,
      }));
    await this.#ctx.send(
      "AsteriskConfigUpdate",
      toKey("config", key),
      { asterisk_config: { tuples } },
      options,
    );
  }

  async delete(key: KeyLike, options?: CallOptions): Promise<void> {
    await this.#ctx.send(
      "AsteriskConfigDelete",
      toKey("config", key),
      undefined,
      options,
    );
  }
}

class LogChannelHandleImpl extends KeyedHandle implements LogChannelHandle {
  async data(options?: CallOptions): Promise<WithKey<LogChannel>> {
    return await this.entity<LogChannel>("AsteriskLoggingData", options);
  }

  async rotate(options?: CallOptions): Promise<void> {
    return await this.command("AsteriskLoggingRotate", undefined, options);
  }

  async delete(options?: CallOptions): Promise<void> {
    return await this.command("AsteriskLoggingDelete", undefined, options);
  }
}

class AsteriskLoggingImpl extends ListedGroup<LogChannelHandle>
  implements AsteriskLogging {
  constructor(ctx: ClientContext) {
    super(
      ctx,
      "logging",
      { list: "AsteriskLoggingList", get: "AsteriskLoggingGet" },
      (c, key) => new LogChannelHandleImpl(c, key),
    );
  }

  async create(
    key: KeyLike,
    levels: string | readonly string[],
    options?: CallOptions,
  ): Promise<LogChannelHandle> {
    const k = toKey("logging", key);
    const config = typeof levels === "string" ? levels : levels.join(",");
    const response = await this.ctx.send(
      "AsteriskLoggingCreate",
      k,
      { asterisk_logging_channel: { config } },
      options,
    );
    return new LogChannelHandleImpl(this.ctx, resolvedKey(response.key, k));
  }

  async delete(key: KeyLike, options?: CallOptions): Promise<void> {
    return await this.handle(key).delete(options);
  }

  async rotate(key: KeyLike, options?: CallOptions): Promise<void> {
    return await this.handle(key).rotate(options);
  }
}

class ModuleHandleImpl extends KeyedHandle implements ModuleHandle {
  async data(options?: CallOptions): Promise<WithKey<Module>> {
    return await this.entity<Module>("AsteriskModuleData", options);
  }

  async load(options?: CallOptions): Promise<void> {
    return await this.command("AsteriskModuleLoad", undefined, options);
  }

  async unload(options?: CallOptions): Promise<void> {
    return await this.command("AsteriskModuleUnload", undefined, options);
  }

  async reload(options?: CallOptions): Promise<void> {
    return await this.command("AsteriskModuleReload", undefined, options);
  }
}

class AsteriskModulesImpl extends ListedGroup<ModuleHandle>
  implements AsteriskModules {
  constructor(ctx: ClientContext) {
    super(
      ctx,
      "module",
      { list: "AsteriskModuleList", get: "AsteriskModuleGet" },
      (c, key) => new ModuleHandleImpl(c, key),
    );
  }

  async load(key: KeyLike, options?: CallOptions): Promise<void> {
    return await this.handle(key).load(options);
  }

  async unload(key: KeyLike, options?: CallOptions): Promise<void> {
    return await this.handle(key).unload(options);
  }

  async reload(key: KeyLike, options?: CallOptions): Promise<void> {
    return await this.handle(key).reload(options);
  }
}

/** `asterisk` implementation. */
export class AsteriskImpl implements Asterisk {
  readonly variables: AsteriskVariables;
  readonly config: AsteriskConfig;
  readonly logging: AsteriskLogging;
  readonly modules: AsteriskModules;
  #ctx: ClientContext;

  constructor(ctx: ClientContext) {
    this.#ctx = ctx;
    this.variables = new AsteriskVariablesImpl(ctx);
    this.config = new AsteriskConfigImpl(ctx);
    this.logging = new AsteriskLoggingImpl(ctx);
    this.modules = new AsteriskModulesImpl(ctx);
  }

  async info(options: AsteriskInfoOptions = {}): Promise<AsteriskInfo> {
    const { node, only, ...call } = options;
    const response = await this.#ctx.send(
      "AsteriskInfo",
      nodeKey(this.#ctx, node),
      only ? { asterisk_info: { only: only.join(",") } } : undefined,
      call,
    );
    return dataOf(response, "AsteriskInfo") as unknown as AsteriskInfo;
  }

  async ping(options: NodeOptions = {}): Promise<AsteriskPing> {
    const { node, ...call } = options;
    const response = await this.#ctx.send(
      "AsteriskPing",
      nodeKey(this.#ctx, node),
      undefined,
      call,
    );
    return dataOf(response, "AsteriskPing") as unknown as AsteriskPing;
  }
}
