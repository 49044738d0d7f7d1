/**
 * Local event fan-out of one client (internal).
 *
 * One transport subscription per client; every stream, handler and `once`
 * of the client and of its handles is a listener here. Entity listeners are
 * indexed by `kind + id`, so dispatching an event costs O(matching
 * listeners + event keys), not O(handles).
 *
 * Events from a durable consumer (they carry `jetstream`) are tracked: the
 * sink returns a promise that settles once every listener is done with the
 * event (an `on()` handler returned or its promise settled; an `events()`
 * stream moved past it or ended its iteration), resolving `false` when a
 * stream dropped it, so the transport acknowledges or redelivers it.
 *
 * @module
 */

import type { AriEventMap, AriEventType } from "../generated/events.ts";
import { ClosedConnectionError, TimeoutError } from "../errors.ts";
import { eventKeys } from "../protocol/event_keys.ts";
import type { Key, ProxiedEvent } from "../protocol/types.ts";
import type {
  AriTransport,
  EventScope,
  TransportStatus,
} from "../transport.ts";
import type {
  EventHandler,
  EventStream,
  EventStreamOptions,
  EventTypes,
  OnceOptions,
  Subscribable,
  Unsubscribe,
} from "./common.ts";
import { entityIndex, sameLocation } from "./_keys.ts";
import { BoundedQueue } from "./_queue.ts";

/** Options of an {@linkcode EventHub}. */
export interface EventHubOptions {
  transport: AriTransport;
  scope: EventScope;
  bufferSize: number;
  /** What the hub is part of, for error messages ("ARI client"). */
  resource: string;
  /** Reports slow consumers and handler failures. */
  report: (status: TransportStatus) => void;
  /** Called when the first listener of an entity is added. */
  onEntityListen?: (key: Key) => void;
  /**
   * Called for every listener of an entity, with the event types it wants
   * (`null`: all).
   */
  onEntityTypes?: (key: Key, types: ReadonlySet<string> | null) => void;
}

interface Listener {
  readonly types: ReadonlySet<string> | null;
  readonly key: Key | null;
  /** Sequence number of the last event delivered (dedupe across keys). */
  seq: number;
  /** Delivers; with `track`, may return a promise of being done with it. */
  readonly deliver: (event: ProxiedEvent, track: boolean) => unknown;
}

function typeSet(
  type: EventTypes<AriEventType> | undefined,
): Set<string> | null {
  if (type === undefined) return null;
  const list: readonly string[] = typeof type === "string" ? [type] : type;
  if (!Array.isArray(list)) {
    throw new TypeError(
      `Cannot subscribe: expected an event type or a list of them, got ${typeof type}`,
    );
  }
  return new Set(list);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then ===
    "function";
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

/** See the module doc. */
export class EventHub {
  #options: EventHubOptions;
  #global = new Set<Listener>();
  #entity = new Map<string, Set<Listener>>();
  #entityCount = 0;
  #unsubscribe: (() => void) | null = null;
  #closed = false;
  #seq = 0;
  #enders = new Set<() => void>();

  constructor(options: EventHubOptions) {
    this.#options = options;
  }

  /** Number of listeners (client-wide plus entity). */
  get size(): number {
    return this.#global.size + this.#entityCount;
  }

  /** True while the hub holds its transport subscription. */
  get subscribed(): boolean {
    return this.#unsubscribe !== null;
  }

  /** The event subscription API filtered to `key` (client-wide when null). */
  subscribable(key: Key | null): Subscribable {
    return {
      events: (type, options) => this.events(key, type, options),
      on: (type, handler) => this.on(key, type, handler),
      once: (type, options) => this.once(key, type, options),
    };
  }

  events<T extends AriEventType = AriEventType>(
    key: Key | null,
    type?: EventTypes<T>,
    options: EventStreamOptions = {},
  ): EventStream<AriEventMap[T]> {
    const types = typeSet(type);
    const { signal, bufferSize = this.#options.bufferSize } = options;
    if (!Number.isInteger(bufferSize) || bufferSize < 1) {
      throw new RangeError(
        `Cannot open an event stream: "bufferSize" must be a positive integer, got ${bufferSize}`,
      );
    }
    let remove = (): void => {};
    const onAbort = (): void => queue.close();
    const ender = (): void => queue.end();
    const queue = new BoundedQueue<AriEventMap[T]>(bufferSize, {
      onEnd: () => {
        remove();
        signal?.removeEventListener("abort", onAbort);
        this.#enders.delete(ender);
      },
      onOverflow: (pending, dropped) =>
        this.#options.report({ type: "slowConsumer", pending, dropped }),
    });
    if (this.#closed || signal?.aborted) {
      queue.end();
      return queue;
    }
    remove = this.#add({
      types,
      key,
      seq: 0,
      deliver: (event, track) =>
        queue.push(event as unknown as AriEventMap[T], track),
    });
    this.#enders.add(ender);
    signal?.addEventListener("abort", onAbort, { once: true });
    return queue;
  }

  on<T extends AriEventType>(
    key: Key | null,
    type: EventTypes<T>,
    handler: EventHandler<AriEventMap[T]>,
  ): Unsubscribe {
    if (typeof handler !== "function") {
      throw new TypeError(
        `Cannot subscribe: the handler must be a function, got ${typeof handler}`,
      );
    }
    const types = typeSet(type);
    let remove = (): void => {};
    if (!this.#closed) {
      remove = this.#add({
        types,
        key,
        seq: 0,
        deliver: (event) =>
          this.#call(handler, event as unknown as AriEventMap[T]),
      });
    }
    const off = (): void => remove();
    return Object.assign(off, { [Symbol.dispose]: off });
  }

  once<T extends AriEventType>(
    key: Key | null,
    type: EventTypes<T>,
    options: OnceOptions = {},
  ): Promise<AriEventMap[T]> {
    const types = typeSet(type);
    const { signal, timeout } = options;
    if (this.#closed) {
      return Promise.reject(new ClosedConnectionError(this.#options.resource));
    }
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (timeout !== undefined && !(timeout >= 0)) {
      return Promise.reject(
        new RangeError(
          `Cannot wait for an event: "timeout" must be a non-negative number, got ${timeout}`,
        ),
      );
    }
    return new Promise<AriEventMap[T]>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const cleanup = (): void => {
        remove();
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        this.#enders.delete(ender);
      };
      const onAbort = (): void => {
        cleanup();
        reject(signal?.reason);
      };
      const ender = (): void => {
        cleanup();
        reject(new ClosedConnectionError(this.#options.resource));
      };
      const remove = this.#add({
        types,
        key,
        seq: 0,
        deliver: (event) => {
          cleanup();
          resolve(event as unknown as AriEventMap[T]);
        },
      });
      this.#enders.add(ender);
      signal?.addEventListener("abort", onAbort, { once: true });
      if (timeout !== undefined) {
        const what = typeof type === "string" ? type : [...type].join("|");
        timer = setTimeout(() => {
          cleanup();
          reject(
            new TimeoutError({
              timeout,
              operation: key?.id
                ? `event ${what} of ${key.kind} "${key.id}"`
                : `event ${what}`,
            }),
          );
        }, timeout);
      }
    });
  }

  /** Ends every stream (buffered events stay readable), rejects pending `once`s, drops the transport subscription. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const end of [...this.#enders]) end();
    this.#global.clear();
    this.#entity.clear();
    this.#entityCount = 0;
    const unsubscribe = this.#unsubscribe;
    this.#unsubscribe = null;
    unsubscribe?.();
  }

  #add(listener: Listener): () => void {
    this.#ensureSubscribed();
    const { key } = listener;
    if (key === null) {
      this.#global.add(listener);
      return () => this.#global.delete(listener);
    }
    const index = entityIndex(key.kind, key.id);
    let set = this.#entity.get(index);
    if (!set) {
      set = new Set();
      this.#entity.set(index, set);
    }
    set.add(listener);
    this.#entityCount++;
    if (set.size === 1) this.#options.onEntityListen?.(key);
    this.#options.onEntityTypes?.(key, listener.types);
    const owner = set;
    return () => {
      if (!owner.delete(listener)) return;
      this.#entityCount--;
      if (owner.size === 0 && this.#entity.get(index) === owner) {
        this.#entity.delete(index);
      }
    };
  }

  #ensureSubscribed(): void {
    if (this.#unsubscribe || this.#closed) return;
    this.#unsubscribe = this.#options.transport.subscribe(
      this.#options.scope,
      this.#sink,
    );
  }

  #sink = (event: ProxiedEvent): Promise<boolean> | undefined => {
    try {
      return this.#dispatch(event);
    } catch (error) {
      this.#options.report({ type: "error", error: asError(error) });
      return undefined;
    }
  };

  #dispatch(event: ProxiedEvent): Promise<boolean> | undefined {
    if (this.#closed || typeof event?.type !== "string") {
      // Nobody can handle it here: a tracked event is given back.
      return event?.jetstream ? Promise.resolve(false) : undefined;
    }
    const track = event.jetstream !== undefined;
    let pending: PromiseLike<unknown>[] | undefined;
    const seq = ++this.#seq;
    for (const listener of this.#global) {
      if (listener.types === null || listener.types.has(event.type)) {
        const done = listener.deliver(event, track);
        if (track && isThenable(done)) (pending ??= []).push(done);
      }
    }
    if (this.#entity.size > 0) {
      this.#dispatchEntities(event, seq, track, (done) => {
        (pending ??= []).push(done);
      });
    }
    if (pending === undefined) return undefined;
    return Promise.all(pending).then(
      (results) => results.every((result) => result !== false),
      () => false,
    );
  }

  #dispatchEntities(
    event: ProxiedEvent,
    seq: number,
    track: boolean,
    wait: (done: PromiseLike<unknown>) => void,
  ): void {
    for (const key of eventKeys(event)) {
      const set = this.#entity.get(entityIndex(key.kind, key.id));
      if (!set) continue;
      for (const listener of set) {
        if (listener.seq === seq) continue;
        if (listener.types !== null && !listener.types.has(event.type)) {
          continue;
        }
        if (!sameLocation(listener.key as Key, key)) continue;
        listener.seq = seq;
        const done = listener.deliver(event, track);
        if (track && isThenable(done)) wait(done);
      }
    }
  }

  /**
   * Runs a handler; returns a promise that settles when its promise does
   * (a failed handler is reported and counts as handled: redelivering an
   * event its handler rejects would only fail again).
   */
  #call<T>(handler: EventHandler<T>, event: T): Promise<unknown> | undefined {
    try {
      const result = handler(event);
      if (result && typeof (result as Promise<void>).then === "function") {
        return (result as Promise<void>).then(
          undefined,
          (error: unknown) =>
            this.#options.report({ type: "error", error: asError(error) }),
        );
      }
    } catch (error) {
      this.#options.report({ type: "error", error: asError(error) });
    }
    return undefined;
  }
}
