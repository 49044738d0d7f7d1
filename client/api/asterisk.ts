/**
 * The `asterisk` resource group: system information, ping, global
 * variables, dynamic configuration, logging channels and modules.
 *
 * @example Read the entity id and load a module
 * ```ts
 * import assert from "node:assert/strict";
 * import { createClient } from "./client.ts";
 * import { createFakeTransport } from "../testing.ts";
 *
 * await using client = createClient(createFakeTransport());
 * const info = await client.asterisk.info({ only: ["system"] });
 * assert.equal(typeof info, "object");
 * await client.asterisk.modules.load("res_musiconhold.so");
 * await client.asterisk.variables.set({ id: "OPEN", node: "fake-node" }, "1");
 * ```
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
import type { CallOptions, KeyLike, WithKey } from "./common.ts";

/**
 * Call options that can name the Asterisk node to ask.
 *
 * @example
 * ```ts
 * import type { NodeOptions } from "./asterisk.ts";
 * const opts: NodeOptions = { node: "02:00:00:00:60:0d", timeout: 1_000 };
 * ```
 */
export interface NodeOptions extends CallOptions {
  /** Asterisk entity id of the node; any node when absent. */
  node?: string;
}

/**
 * Options of {@linkcode Asterisk.info}.
 *
 * @example
 * ```ts
 * import type { AsteriskInfoOptions } from "./asterisk.ts";
 * const opts: AsteriskInfoOptions = { only: ["system", "status"] };
 * ```
 */
export interface AsteriskInfoOptions extends NodeOptions {
  /** Sections to return; all when absent. */
  only?: readonly ("build" | "system" | "config" | "status")[];
}

/**
 * Global (dialplan) variables of Asterisk. A name may be given as a key
 * (`{ id: name, node }`) to address one node.
 *
 * @example
 * ```ts
 * import { createClient } from "./client.ts";
 * import { createFakeTransport } from "../testing.ts";
 *
 * await using client = createClient(createFakeTransport());
 * await client.asterisk.variables.set("OPEN", "1");
 * ```
 */
export interface AsteriskVariables {
  /**
   * Reads a global variable.
   *
   * @param name Variable name (or a `variable` key).
   * @param options Timeout and abort signal.
   * @returns Its value (`""` when empty).
   */
  get(name: KeyLike, options?: CallOptions): Promise<string>;
  /**
   * Sets a global variable.
   *
   * @param name Variable name (or a `variable` key).
   * @param value New value.
   * @param options Timeout and abort signal.
   */
  set(name: KeyLike, value: string, options?: CallOptions): Promise<void>;
}

/**
 * A dynamic configuration object (sorcery), as the proxy returns it.
 *
 * @example
 * ```ts
 * import type { ConfigObject } from "./asterisk.ts";
 * const obj: ConfigObject = {
 *   key: { kind: "config", id: "res_pjsip/endpoint/alice" },
 *   configClass: "res_pjsip",
 *   objectType: "endpoint",
 *   id: "alice",
 *   fields: [{ attribute: "context", value: "default" }],
 * };
 * ```
 */
export interface ConfigObject {
  /** Its key (id `class/type/id`). */
  key: Key;
  /** Configuration class, e.g. `res_pjsip`. */
  configClass: string;
  /** Object type, e.g. `endpoint`. */
  objectType: string;
  /** Object id. */
  id: string;
  /** Its attributes. */
  fields: ConfigTuple[];
}

/**
 * Dynamic configuration. Keys name objects as `class/type/id`
 * (`res_pjsip/endpoint/alice`).
 *
 * @example
 * ```ts
 * import { createClient } from "./client.ts";
 * import { createFakeTransport } from "../testing.ts";
 *
 * await using client = createClient(createFakeTransport());
 * await client.asterisk.config.update("res_pjsip/endpoint/alice", { context: "default" });
 * ```
 */
export interface AsteriskConfig {
  /**
   * Reads an object.
   *
   * @param key `class/type/id` or a `config` key.
   * @param options Timeout and abort signal.
   * @returns The object.
   */
  data(key: KeyLike, options?: CallOptions): Promise<ConfigObject>;
  /**
   * Creates or updates an object.
   *
   * @param key `class/type/id` or a `config` key.
   * @param fields Attribute/value pairs, as a list or a record.
   * @param options Timeout and abort signal.
   */
  update(
    key: KeyLike,
    fields: readonly ConfigTuple[] | Readonly<Record<string, string>>,
    options?: CallOptions,
  ): Promise<void>;
  /**
   * Deletes an object.
   *
   * @param key `class/type/id` or a `config` key.
   * @param options Timeout and abort signal.
   */
  delete(key: KeyLike, options?: CallOptions): Promise<void>;
}

/**
 * A handle to a logging channel.
 *
 * @example
 * ```ts
 * import { createClient } from "./client.ts";
 * import { createFakeTransport } from "../testing.ts";
 *
 * await using client = createClient(createFakeTransport());
 * const log = await client.asterisk.logging.create("my_log", ["notice", "warning"]);
 * await log.rotate();
 * ```
 */
export interface LogChannelHandle {
  /** Its key. */
  readonly key: Key;
  /** Its name. */
  readonly id: string;
  /**
   * Reads the channel.
   *
   * @param options Timeout and abort signal.
   * @returns The ARI `LogChannel` with its key.
   */
  data(options?: CallOptions): Promise<WithKey<LogChannel>>;
  /**
   * Rotates the log file.
   *
   * @param options Timeout and abort signal.
   */
  rotate(options?: CallOptions): Promise<void>;
  /**
   * Deletes the logging channel.
   *
   * @param options Timeout and abort signal.
   */
  delete(options?: CallOptions): Promise<void>;
}

/**
 * Logging channels.
 *
 * @example
 * ```ts
 * import { createClient } from "./client.ts";
 * import { createFakeTransport } from "../testing.ts";
 *
 * await using client = createClient(createFakeTransport());
 * const keys = await client.asterisk.logging.list();
 * console.assert(Array.isArray(keys));
 * ```
 */
export interface AsteriskLogging {
  /**
   * Lists logging channels.
   *
   * @param filter Restricts the list (e.g. to a node).
   * @param options Timeout and abort signal.
   * @returns Their keys.
   */
  list(filter?: Key | null, options?: CallOptions): Promise<Key[]>;
  /**
   * Looks a logging channel up.
   *
   * @param key Channel name (the full file name Asterisk lists) or key.
   * @param options Timeout and abort signal.
   * @returns The handle.
   */
  get(key: KeyLike, options?: CallOptions): Promise<LogChannelHandle>;
  /**
   * Returns a handle without asking the server.
   *
   * @param key Channel name or key.
   * @returns The handle.
   */
  handle(key: KeyLike): LogChannelHandle;
  /**
   * Reads a logging channel.
   *
   * @param key Channel name or key.
   * @param options Timeout and abort signal.
   * @returns The ARI `LogChannel` with its key.
   */
  data(key: KeyLike, options?: CallOptions): Promise<WithKey<LogChannel>>;
  /**
   * Creates a logging channel.
   *
   * @param key Channel name or key.
   * @param levels Levels, as a list or comma-separated.
   * @param options Timeout and abort signal.
   * @returns The handle.
   */
  create(
    key: KeyLike,
    levels: string | readonly string[],
    options?: CallOptions,
  ): Promise<LogChannelHandle>;
  /**
   * Deletes a logging channel.
   *
   * @param key Channel name or key.
   * @param options Timeout and abort signal.
   */
  delete(key: KeyLike, options?: CallOptions): Promise<void>;
  /**
   * Rotates a logging channel's file.
   *
   * @param key Channel name or key.
   * @param options Timeout and abort signal.
   */
  rotate(key: KeyLike, options?: CallOptions): Promise<void>;
}

/**
 * A handle to an Asterisk module.
 *
 * @example
 * ```ts
 * import { createClient } from "./client.ts";
 * import { createFakeTransport } from "../testing.ts";
 *
 * await using client = createClient(createFakeTransport());
 * await client.asterisk.modules.handle("res_musiconhold.so").reload();
 * ```
 */
export interface ModuleHandle {
  /** Its key. */
  readonly key: Key;
  /** Its name (`res_musiconhold.so`). */
  readonly id: string;
  /**
   * Reads the module.
   *
   * @param options Timeout and abort signal.
   * @returns The ARI `Module` with its key.
   */
  data(options?: CallOptions): Promise<WithKey<Module>>;
  /**
   * Loads the module.
   *
   * @param options Timeout and abort signal.
   */
  load(options?: CallOptions): Promise<void>;
  /**
   * Unloads the module.
   *
   * @param options Timeout and abort signal.
   */
  unload(options?: CallOptions): Promise<void>;
  /**
   * Reloads the module.
   *
   * @param options Timeout and abort signal.
   */
  reload(options?: CallOptions): Promise<void>;
}

/**
 * Asterisk modules.
 *
 * @example
 * ```ts
 * import { createClient } from "./client.ts";
 * import { createFakeTransport } from "../testing.ts";
 *
 * await using client = createClient(createFakeTransport());
 * await client.asterisk.modules.load("res_musiconhold.so");
 * ```
 */
export interface AsteriskModules {
  /**
   * Lists modules.
   *
   * @param filter Restricts the list (e.g. to a node).
   * @param options Timeout and abort signal.
   * @returns Their keys.
   */
  list(filter?: Key | null, options?: CallOptions): Promise<Key[]>;
  /**
   * Looks a module up.
   *
   * @param key Module name or key.
   * @param options Timeout and abort signal.
   * @returns The handle.
   */
  get(key: KeyLike, options?: CallOptions): Promise<ModuleHandle>;
  /**
   * Returns a handle without asking the server.
   *
   * @param key Module name or key.
   * @returns The handle.
   */
  handle(key: KeyLike): ModuleHandle;
  /**
   * Reads a module.
   *
   * @param key Module name or key.
   * @param options Timeout and abort signal.
   * @returns The ARI `Module` with its key.
   */
  data(key: KeyLike, options?: CallOptions): Promise<WithKey<Module>>;
  /**
   * Loads a module.
   *
   * @param key Module name or key.
   * @param options Timeout and abort signal.
   */
  load(key: KeyLike, options?: CallOptions): Promise<void>;
  /**
   * Unloads a module.
   *
   * @param key Module name or key.
   * @param options Timeout and abort signal.
   */
  unload(key: KeyLike, options?: CallOptions): Promise<void>;
  /**
   * Reloads a module.
   *
   * @param key Module name or key.
   * @param options Timeout and abort signal.
   */
  reload(key: KeyLike, options?: CallOptions): Promise<void>;
}

/**
 * The `asterisk` resource group.
 *
 * @example
 * ```ts
 * import { createClient } from "./client.ts";
 * import { createFakeTransport } from "../testing.ts";
 *
 * await using client = createClient(createFakeTransport());
 * const info = await client.asterisk.info();
 * console.assert(typeof info === "object");
 * ```
 */
export interface Asterisk {
  /**
   * Reads system information.
   *
   * @param options Sections, node, timeout and abort signal.
   * @returns The ARI `AsteriskInfo`.
   */
  info(options?: AsteriskInfoOptions): Promise<AsteriskInfo>;
  /**
   * Pings Asterisk (our extension kind).
   *
   * @param options Node, timeout and abort signal.
   * @returns The ARI `AsteriskPing`.
   * @throws {NotImplementedError} When the server lacks the operation.
   */
  ping(options?: NodeOptions): Promise<AsteriskPing>;
  /** Global variables. */
  readonly variables: AsteriskVariables;
  /** Dynamic configuration. */
  readonly config: AsteriskConfig;
  /** Logging channels. */
  readonly logging: AsteriskLogging;
  /** Modules. */
  readonly modules: AsteriskModules;
}
