/**
 * Variables of channels, bridges and Asterisk (internal).
 *
 * @module
 */

import type { KindName } from "../protocol/kinds.ts";
import type { Key } from "../protocol/types.ts";
import type { CallOptions, EntityVariables } from "./common.ts";
import type { ClientContext, DataKind } from "./_context.ts";
import { dataOf } from "./_context.ts";

/** The kinds an entity's variables use. */
export interface VariableKinds {
  get: DataKind;
  set: KindName;
  getMany: DataKind;
  setMany: KindName;
  /** Body field of single get/set. */
  body: "channel_variable" | "bridge_variable";
}

function checkName(name: string): void {
  if (typeof name !== "string" || name === "") {
    throw new TypeError("Cannot use a variable: the name is empty");
  }
}

/** Variables of one channel or bridge. */
export class EntityVariablesImpl implements EntityVariables {
  #ctx: ClientContext;
  #key: Key;
  #kinds: VariableKinds;

  constructor(ctx: ClientContext, key: Key, kinds: VariableKinds) {
    this.#ctx = ctx;
    this.#key = key;
    this.#kinds = kinds;
  }

  async get(name: string, options?: CallOptions): Promise<string> {
    checkName(name);
    const response = await this.#ctx.send(
      this.#kinds.get as KindName,
      this.#key,
      { [this.#kinds.body]: { name } },
      options,
    );
    return response.data?.variable ?? "";
  }

  async set(name: string, value: string, options?: CallOptions): Promise<void> {
    checkName(name);
    await this.#ctx.send(
      this.#kinds.set,
      this.#key,
      { [this.#kinds.body]: { name, value } },
      options,
    );
  }

  async getMany(
    names: readonly string[],
    options?: CallOptions,
  ): Promise<Record<string, string>> {
    names.forEach(checkName);
    const response = await this.#ctx.send(
      this.#kinds.getMany as KindName,
      this.#key,
      { variables_get: { names: [...names] } },
      options,
    );
    return {
      ...dataOf(response, this.#kinds.getMany) as Record<string, string>,
    };
  }

  async setMany(
    variables: Readonly<Record<string, string>>,
    options?: CallOptions,
  ): Promise<void> {
    Object.keys(variables).forEach(checkName);
    await this.#ctx.send(
      this.#kinds.setMany,
      this.#key,
      { variables_set: { variables: { ...variables } } },
      options,
    );
  }
}
