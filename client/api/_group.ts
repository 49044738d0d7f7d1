/**
 * Base of the resource group implementations (internal): get, handle and
 * data by key, and list for the groups that have it.
 *
 * @module
 */

import type { KindName } from "../protocol/kinds.ts";
import type { Key } from "../protocol/types.ts";
import type { CallOptions, EventOrigin, KeyLike } from "./common.ts";
import type { ClientContext } from "./_context.ts";
import { keysOf } from "./_context.ts";
import { resolvedKey, toKey } from "./_keys.ts";

/** What a group hands out: a handle that reads its entity. */
interface DataHandle {
  data(options?: CallOptions): Promise<unknown>;
}

/** The entity a handle's `data()` resolves with. */
type DataOf<H extends DataHandle> = Awaited<ReturnType<H["data"]>>;

/** A group of entities of one key kind: get, handle and data. */
export class Group<H extends DataHandle> {
  protected readonly ctx: ClientContext;
  readonly #kind: string;
  readonly #get: KindName;
  readonly #make: (ctx: ClientContext, key: Key) => H;

  constructor(
    ctx: ClientContext,
    kind: string,
    get: KindName,
    make: (ctx: ClientContext, key: Key) => H,
  ) {
    this.ctx = ctx;
    this.#kind = kind;
    this.#get = get;
    this.#make = make;
  }

  async get(key: KeyLike, options?: CallOptions): Promise<H> {
    const k = toKey(this.#kind, key);
    const response = await this.ctx.send(this.#get, k, undefined, options);
    return this.#make(this.ctx, resolvedKey(response.key, k));
  }

  handle(key: KeyLike, origin?: EventOrigin): H {
    return this.#make(this.ctx, toKey(this.#kind, key, origin));
  }

  async data(key: KeyLike, options?: CallOptions): Promise<DataOf<H>> {
    return await this.handle(key).data(options) as DataOf<H>;
  }
}

/** A {@linkcode Group} that can also list its entities. */
export class ListedGroup<H extends DataHandle> extends Group<H> {
  readonly #list: KindName;

  constructor(
    ctx: ClientContext,
    kind: string,
    kinds: { list: KindName; get: KindName },
    make: (ctx: ClientContext, key: Key) => H,
  ) {
    super(ctx, kind, kinds.get, make);
    this.#list = kinds.list;
  }

  async list(filter?: Key | null, options?: CallOptions): Promise<Key[]> {
    return keysOf(
      await this.ctx.send(this.#list, filter ?? null, undefined, options),
    );
  }
}
