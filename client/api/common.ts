/**
 * Types shared by every resource group and handle of the client API:
 * entity references, event subscription, staging and variables.
 *
 * @example Subscribe to a channel's events
 * ```ts
 * import assert from "node:assert/strict";
 * import { createClient } from "./client.ts";
 * import { createFakeTransport } from "../testing.ts";
 *
 * await using client = createClient(createFakeTransport());
 * const channel = client.channels.handle("c1");
 * const stop = channel.on("ChannelHangupRequest", () => {});
 * stop();
 * assert.equal(channel.id, "c1");
 * ```
 *
 * @module
 */

import type { AriEventMap, AriEventType } from "../generated/events.ts";
import type { Key } from "../protocol/types.ts";
import type { RequestOptions } from "../transport.ts";

/**
 * A reference to an entity: its id as a string (the key kind comes from the
 * resource group), or a full {@linkcode Key} (for example one returned by a
 * `list()`, which carries the node the entity lives on).
 *
 * @example
 * ```ts
 * import type { KeyLike } from "./common.ts";
 * const byId: KeyLike = "1712345.12";
 * const byKey: KeyLike = { kind: "channel", id: "1712345.12", node: "02:00:00:00:60:0d" };
 * ```
 */
export type KeyLike = string | Key;

/**
 * Where an entity reference came from: any ARI event fits, so
 * `client.channels.handle(event.channel.id, event)` gives a handle that
 * routes straight to the node that raised the event.
 *
 * @example
 * ```ts
 * import type { EventOrigin } from "./common.ts";
 * const origin: EventOrigin = { asterisk_id: "02:00:00:00:60:0d", application: "demo" };
 * ```
 */
export interface EventOrigin {
  /** Asterisk entity id of the node (becomes `key.node`). */
  "asterisk_id"?: string | undefined;
  /** ARI application (becomes `key.app`). */
  application?: string | undefined;
}

/**
 * An ARI model together with the cluster key of the entity it describes.
 *
 * @typeParam T The ARI model, e.g. `Channel`.
 *
 * @example
 * ```ts
 * import type { WithKey } from "./common.ts";
 * import type { StoredRecording } from "../generated/models.ts";
 * const rec: WithKey<StoredRecording> = {
 *   key: { kind: "storedrecording", id: "r1" },
 *   name: "r1",
 *   format: "wav",
 * };
 * ```
 */
export type WithKey<T> = T & { key: Key };

/**
 * Options of a single call: per-request timeout (milliseconds) and an abort
 * signal. Every method of the client API accepts them.
 *
 * @example
 * ```ts
 * import type { CallOptions } from "./common.ts";
 * const opts: CallOptions = { timeout: 2_000, signal: AbortSignal.timeout(5_000) };
 * ```
 */
export type CallOptions = RequestOptions;

/**
 * A function that ends a subscription; also usable with `using`.
 *
 * @example
 * ```ts
 * import { createClient } from "./client.ts";
 * import { createFakeTransport } from "../testing.ts";
 *
 * await using client = createClient(createFakeTransport());
 * {
 *   using _sub = client.on("StasisStart", () => {});
 * } // unsubscribed here
 * ```
 */
export type Unsubscribe = (() => void) & Disposable;

/**
 * Handles an event; a returned promise that rejects (or a throw) is reported
 * as an `error` status on `client.status()`.
 *
 * @typeParam T The event type.
 *
 * @example
 * ```ts
 * import type { EventHandler } from "./common.ts";
 * import type { StasisStart } from "../generated/events.ts";
 * const onStart: EventHandler<StasisStart> = (event) => void event.channel.id;
 * ```
 */
export type EventHandler<T> = (event: T) => void | Promise<void>;

/**
 * The event types to select: one type or several.
 *
 * @typeParam T The selected ARI event type names.
 *
 * @example
 * ```ts
 * import type { EventTypes } from "./common.ts";
 * const types: EventTypes<"StasisStart" | "StasisEnd"> = ["StasisStart", "StasisEnd"];
 * ```
 */
export type EventTypes<T extends AriEventType> = T | readonly T[];

/**
 * Options of an event stream.
 *
 * @example
 * ```ts
 * import type { EventStreamOptions } from "./common.ts";
 * const opts: EventStreamOptions = { bufferSize: 1_000 };
 * ```
 */
export interface EventStreamOptions {
  /** Ends the stream when aborted. */
  signal?: AbortSignal;
  /**
   * How many undelivered events the stream keeps. When it is full the
   * oldest event is dropped and a `slowConsumer` status is reported.
   *
   * @default {10000} (or `ClientOptions.bufferSize`)
   */
  bufferSize?: number;
}

/**
 * Options of `once()`.
 *
 * @example
 * ```ts
 * import type { OnceOptions } from "./common.ts";
 * const opts: OnceOptions = { timeout: 10_000 };
 * ```
 */
export interface OnceOptions {
  /** Rejects with the signal's reason when aborted. */
  signal?: AbortSignal;
  /**
   * Rejects with a `TimeoutError` after this many milliseconds; no timeout
   * when absent.
   */
  timeout?: number;
}

/**
 * A bounded stream of events: iterate it with `for await`; `break` (or
 * {@linkcode EventStream.close}) ends the subscription and frees the buffer.
 * Iteration ends when the client closes.
 *
 * @typeParam T The event type.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createClient } from "./client.ts";
 * import { createFakeTransport } from "../testing.ts";
 *
 * const transport = createFakeTransport();
 * await using client = createClient(transport);
 * const stream = client.events("StasisStart");
 * transport.emit({ type: "StasisStart", channel: { id: "c1" } });
 * for await (const event of stream) {
 *   assert.equal(event.channel.id, "c1");
 *   break;
 * }
 * ```
 */
export interface EventStream<T> extends AsyncIterable<T>, AsyncDisposable {
  /** Returns this stream (it is its own iterator). */
  [Symbol.asyncIterator](): AsyncIterator<T, undefined>;
  /** Waits for the next event; `done` once the stream has ended. */
  next(): Promise<IteratorResult<T, undefined>>;
  /** Ends the stream (what `break` calls). */
  return(): Promise<IteratorResult<T, undefined>>;
  /** Ends the stream and drops buffered events. Idempotent. */
  close(): void;
  /** Events buffered and not yet taken. */
  readonly pending: number;
  /** Events dropped so far because the buffer was full. */
  readonly dropped: number;
}

/**
 * Per-entity (or client-wide) event subscription, typed by event name.
 *
 * @example
 * ```ts
 * import { createClient } from "./client.ts";
 * import { createFakeTransport } from "../testing.ts";
 *
 * await using client = createClient(createFakeTransport());
 * const bridge = client.bridges.handle("b1");
 * const off = bridge.on(["ChannelEnteredBridge", "ChannelLeftBridge"], (e) => {
 *   void e.bridge.id;
 * });
 * off();
 * ```
 */
export interface Subscribable {
  /**
   * Returns a bounded stream of the events (of the given types, or all).
   * The subscription starts at once, before the first `next()`, so events
   * raised right after this call are not missed.
   *
   * @typeParam T Selected event type names.
   * @param type One type or several; all events when absent.
   * @param options Abort signal and buffer size.
   * @returns The stream; `break` out of `for await` to unsubscribe.
   */
  events<T extends AriEventType = AriEventType>(
    type?: EventTypes<T>,
    options?: EventStreamOptions,
  ): EventStream<AriEventMap[T]>;
  /**
   * Calls `handler` for each event of the given types until unsubscribed.
   *
   * @typeParam T Selected event type names.
   * @param type One type or several.
   * @param handler Called synchronously on delivery.
   * @returns A function (also `Disposable`) that unsubscribes.
   */
  on<T extends AriEventType>(
    type: EventTypes<T>,
    handler: EventHandler<AriEventMap[T]>,
  ): Unsubscribe;
  /**
   * Resolves with the next event of the given types.
   *
   * @typeParam T Selected event type names.
   * @param type One type or several.
   * @param options Abort signal and timeout (milliseconds).
   * @returns The event.
   * @throws {TimeoutError} When `options.timeout` elapses first.
   * @throws {ClosedConnectionError} When the client closes first.
   */
  once<T extends AriEventType>(
    type: EventTypes<T>,
    options?: OnceOptions,
  ): Promise<AriEventMap[T]>;
}

/**
 * A handle bound to one entity (channel, bridge, playback, …).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createClient } from "./client.ts";
 * import { createFakeTransport } from "../testing.ts";
 *
 * await using client = createClient(createFakeTransport());
 * const handle = client.playbacks.handle({ id: "p1", node: "n1" });
 * assert.deepEqual(handle.key, { kind: "playback", id: "p1", node: "n1" });
 * ```
 */
export interface EntityHandle extends Subscribable {
  /** The entity's cluster key. */
  readonly key: Key;
  /** The entity id (`key.id`). */
  readonly id: string;
}

/**
 * A staged creation (Go `Stage*`): the handle exists, and can be subscribed
 * to, before the entity does; {@linkcode Staged.exec} creates it. No event is
 * missed between the two.
 *
 * @typeParam H The handle type.
 *
 * @example
 * ```ts
 * import { createClient } from "./client.ts";
 * import { createFakeTransport } from "../testing.ts";
 *
 * await using client = createClient(createFakeTransport());
 * const staged = await client.channels.stageOriginate({ endpoint: "Local/100@default" });
 * const started = staged.handle.once("StasisStart");
 * await staged.exec();
 * void started.catch(() => {}); // resolves when the channel enters the app
 * ```
 */
export interface Staged<H> {
  /** The handle of the entity to be created. */
  readonly handle: H;
  /**
   * Creates the entity. Calling it again returns the first call's promise.
   *
   * @param options Timeout and abort signal.
   * @returns The handle.
   */
  exec(options?: CallOptions): Promise<H>;
}

/**
 * Read and write access to the variables of an entity (channel, bridge).
 *
 * @example
 * ```ts
 * import { createClient } from "./client.ts";
 * import { createFakeTransport } from "../testing.ts";
 *
 * await using client = createClient(createFakeTransport());
 * await client.bridges.handle("b1").variables.set("GREETING", "hello");
 * ```
 */
export interface VariableAccessor {
  /**
   * Reads one variable (or dialplan function, e.g. `CHANNEL(name)`).
   *
   * @param name Variable name.
   * @param options Timeout and abort signal.
   * @returns Its value (`""` when empty).
   */
  get(name: string, options?: CallOptions): Promise<string>;
  /**
   * Sets one variable.
   *
   * @param name Variable name.
   * @param value New value.
   * @param options Timeout and abort signal.
   */
  set(name: string, value: string, options?: CallOptions): Promise<void>;
}

/**
 * Variables of a channel or bridge, with bulk access (our extension kinds;
 * a Go proxy answers them with `NotImplementedError`).
 *
 * @example
 * ```ts
 * import { createClient } from "./client.ts";
 * import { createFakeTransport } from "../testing.ts";
 *
 * await using client = createClient(createFakeTransport());
 * await client.channels.handle("c1").variables.setMany({ A: "1", B: "2" });
 * ```
 */
export interface EntityVariables extends VariableAccessor {
  /**
   * Reads several variables at once.
   *
   * @param names Variable names.
   * @param options Timeout and abort signal.
   * @returns Name → value.
   * @throws {NotImplementedError} When the server lacks the operation.
   */
  getMany(
    names: readonly string[],
    options?: CallOptions,
  ): Promise<Record<string, string>>;
  /**
   * Sets several variables at once.
   *
   * @param variables Name → value.
   * @param options Timeout and abort signal.
   * @throws {NotImplementedError} When the server lacks the operation.
   */
  setMany(
    variables: Readonly<Record<string, string>>,
    options?: CallOptions,
  ): Promise<void>;
}

/**
 * A reference to a channel for bridge operations: its id or its handle.
 *
 * @example
 * ```ts
 * import type { ChannelRef } from "./common.ts";
 * const ref: ChannelRef = "1712345.12";
 * ```
 */
export type ChannelRef = string | { readonly id: string };
