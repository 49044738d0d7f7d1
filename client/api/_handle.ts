/**
 * Base of every handle implementation (internal).
 *
 * @module
 */

import type { AriEventMap, AriEventType } from "../generated/events.ts";
import type { KindName } from "../protocol/kinds.ts";
import type { Key, Response } from "../protocol/types.ts";
import type {
  CallOptions,
  EntityHandle,
  EventHandler,
  EventStream,
  EventStreamOptions,
  EventTypes,
  OnceOptions,
  Staged,
  Unsubscribe,
} from "./common.ts";
import type { ClientContext, DataKind, RequestBody } from "./_context.ts";
import { entityOf } from "./_context.ts";

/**
 * A handle to one entity by key: sends requests about it. Handles of
 * entities without events (logging channels, modules) are just this.
 */
export class KeyedHandle {
  readonly key: Key;
  readonly id: string;
  protected readonly ctx: ClientContext;

  constructor(ctx: ClientContext, key: Key) {
    this.ctx = ctx;
    this.key = Object.freeze(ctx.stamp(key));
    this.id = key.id as string;
  }

  protected send(
    kind: KindName,
    body?: RequestBody,
    options?: CallOptions,
  ): Promise<Response> {
    return this.ctx.send(kind, this.key, body, options);
  }

  protected async command(
    kind: KindName,
    body?: RequestBody,
    options?: CallOptions,
  ): Promise<void> {
    await this.ctx.send(kind, this.key, body, options);
  }

  protected async entity<T>(
    kind: DataKind,
    options?: CallOptions,
  ): Promise<T & { key: Key }> {
    const response = await this.ctx.send(kind, this.key, undefined, options);
    return entityOf<T>(response, kind, this.key);
  }
}

/** See the module doc: a keyed handle with the entity's events. */
export class BaseHandle extends KeyedHandle implements EntityHandle {
  constructor(ctx: ClientContext, key: Key) {
    if (!key.id) {
      throw new TypeError(
        `Cannot make a ${key.kind ?? "entity"} handle: the id is empty`,
      );
    }
    super(ctx, key);
  }

  events<T extends AriEventType = AriEventType>(
    type?: EventTypes<T>,
    options?: EventStreamOptions,
  ): EventStream<AriEventMap[T]> {
    return this.ctx.hub.events(this.key, type, options);
  }

  on<T extends AriEventType>(
    type: EventTypes<T>,
    handler: EventHandler<AriEventMap[T]>,
  ): Unsubscribe {
    return this.ctx.hub.on(this.key, type, handler);
  }

  once<T extends AriEventType>(
    type: EventTypes<T>,
    options?: OnceOptions,
  ): Promise<AriEventMap[T]> {
    return this.ctx.hub.once(this.key, type, options);
  }
}

/**
 * Builds a {@linkcode Staged} whose `exec` runs once.
 */
export function staged<H>(
  handle: H,
  run: (options?: CallOptions) => Promise<unknown>,
): Staged<H> {
  let done: Promise<H> | undefined;
  return {
    handle,
    exec(options?: CallOptions): Promise<H> {
      done ??= run(options).then(() => handle);
      return done;
    },
  };
}
