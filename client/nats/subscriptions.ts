/**
 * Shared event subscriptions: one NATS subscription per subject per
 * connection, whatever the number of sinks, dispatched locally.
 *
 * The Go client opens one NATS subscription per handle subscription, so
 * every event crosses the wire once per interested handle (upstream issue
 * #26). Here every subject is subscribed once; each message is decoded once
 * and handed to every registered sink whose filter accepts it. The last sink
 * of a subject going away unsubscribes it.
 *
 * Messages wait in the NATS subscription's queue until the dispatch loop
 * takes them. The queue is bounded: beyond `maxPending` messages the oldest
 * waiting ones are dropped and counted, and a `slowConsumer` status reports
 * the pending and dropped counts (once when dropping starts, once more when
 * it stops) — events are never dropped silently.
 *
 * @example Two sinks, one NATS subscription
 * ```ts ignore live
 * import assert from "node:assert/strict";
 * import { connectNats } from "./deno_socket.ts";
 * import { SubscriptionHub } from "./subscriptions.ts";
 *
 * const nc = await connectNats({ servers: "127.0.0.1:4222" });
 * const hub = new SubscriptionHub(nc, { onStatus: console.log });
 * const stopA = hub.add("ari.event.app.>", undefined, (e) => console.log("a", e.type));
 * const stopB = hub.add("ari.event.app.>", undefined, (e) => console.log("b", e.type));
 * assert.deepEqual(hub.subjects(), ["ari.event.app.>"]);
 * stopA();
 * stopB(); // unsubscribes from NATS
 * assert.deepEqual(hub.subjects(), []);
 * hub.close();
 * await nc.close();
 * ```
 *
 * @module
 */

import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import { decodeEvent } from "../protocol/codec.ts";
import type { ProxiedEvent } from "../protocol/types.ts";
import type { EventSink, TransportStatus } from "../transport.ts";
import { permissionDenied } from "./router.ts";

/** Default bound of messages waiting per subject before dropping. */
export const DEFAULT_MAX_PENDING = 10_000;

/** Decides whether a sink wants an event (beyond what the subject selects). */
export type EventFilter = (event: ProxiedEvent) => boolean;

/** Options of {@linkcode SubscriptionHub}. */
export interface SubscriptionHubOptions {
  /**
   * Messages that may wait per subject; beyond it the oldest are dropped and
   * reported.
   *
   * @default {10000}
   */
  maxPending?: number;
  /** Receives `slowConsumer` and `error` statuses. */
  onStatus?: (status: TransportStatus) => void;
}

interface Registration {
  readonly sink: EventSink;
  readonly filter: EventFilter | undefined;
}

interface Shared {
  readonly subject: string;
  readonly sub: Subscription;
  registrations: readonly Registration[];
  dropped: number;
  dropping: boolean;
}

/** Counters of a {@linkcode SubscriptionHub}. */
export interface SubscriptionStats {
  /** NATS subscriptions open. */
  subscriptions: number;
  /** Registered sinks. */
  sinks: number;
  /** Events delivered to sinks (one per sink). */
  delivered: number;
  /** Messages dropped because too many were pending. */
  dropped: number;
}

/**
 * Ref-counted event subscriptions on one NATS connection.
 *
 * @example
 * ```ts ignore live
 * import { connectNats } from "./deno_socket.ts";
 * import { SubscriptionHub } from "./subscriptions.ts";
 *
 * const nc = await connectNats({ servers: "127.0.0.1:4222" });
 * const hub = new SubscriptionHub(nc);
 * const stop = hub.add("ari.dialogevent.d1", undefined, (event) => {});
 * stop();
 * hub.close();
 * await nc.close();
 * ```
 */
export class SubscriptionHub {
  readonly #nc: Pick<NatsConnection, "subscribe">;
  readonly #maxPending: number;
  readonly #onStatus: (status: TransportStatus) => void;
  readonly #shared = new Map<string, Shared>();
  #delivered = 0;
  #dropped = 0;
  #closed = false;

  /**
   * @param nc The NATS connection.
   * @param options Pending bound and status callback.
   * @throws {RangeError} When `maxPending` is not a positive integer.
   */
  constructor(
    nc: Pick<NatsConnection, "subscribe">,
    options?: SubscriptionHubOptions,
  ) {
    const { maxPending = DEFAULT_MAX_PENDING, onStatus = () => {} } = options ??
      {};
    if (!Number.isInteger(maxPending) || maxPending < 1) {
      throw new RangeError(
        `Invalid option "maxPending": ${maxPending} (expected a positive integer)`,
      );
    }
    this.#nc = nc;
    this.#maxPending = maxPending;
    this.#onStatus = onStatus;
  }

  /**
   * Registers a sink for a subject, subscribing to it on first use.
   *
   * @param subject NATS subject (wildcards allowed).
   * @param filter Optional extra filter.
   * @param sink Receives matching events; must not throw.
   * @returns A function that removes the registration (idempotent).
   */
  add(
    subject: string,
    filter: EventFilter | undefined,
    sink: EventSink,
  ): () => void {
    if (this.#closed) return () => {};
    let shared = this.#shared.get(subject);
    if (!shared) {
      const sub = this.#nc.subscribe(subject);
      shared = { subject, sub, registrations: [], dropped: 0, dropping: false };
      this.#shared.set(subject, shared);
      this.#pump(shared);
    }
    const registration: Registration = { sink, filter };
    shared.registrations = [...shared.registrations, registration];
    const entry = shared;
    let removed = false;
    return () => {
      if (removed) return;
      removed = true;
      entry.registrations = entry.registrations.filter((r) =>
        r !== registration
      );
      if (
        entry.registrations.length === 0 &&
        this.#shared.get(entry.subject) === entry
      ) {
        this.#shared.delete(entry.subject);
        unsubscribe(entry.sub);
      }
    };
  }

  /** Subjects currently subscribed on NATS. */
  subjects(): string[] {
    return [...this.#shared.keys()];
  }

  /** Counters. */
  stats(): SubscriptionStats {
    let sinks = 0;
    for (const shared of this.#shared.values()) {
      sinks += shared.registrations.length;
    }
    return {
      subscriptions: this.#shared.size,
      sinks,
      delivered: this.#delivered,
      dropped: this.#dropped,
    };
  }

  /** Unsubscribes everything; later `add` calls do nothing. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const shared of this.#shared.values()) unsubscribe(shared.sub);
    this.#shared.clear();
  }

  async #pump(shared: Shared): Promise<void> {
    try {
      for await (const msg of shared.sub) {
        // Messages still queued behind this one.
        const pending = shared.sub.getPending();
        if (pending >= this.#maxPending) {
          shared.dropped++;
          this.#dropped++;
          if (!shared.dropping) {
            shared.dropping = true;
            this.#onStatus({
              type: "slowConsumer",
              pending,
              dropped: shared.dropped,
            });
          }
          continue;
        }
        if (shared.dropping) {
          shared.dropping = false;
          this.#onStatus({
            type: "slowConsumer",
            pending,
            dropped: shared.dropped,
          });
        }
        const registrations = shared.registrations;
        if (registrations.length === 0) continue;
        let event: ProxiedEvent;
        try {
          event = decodeEvent(msg.data);
        } catch (error) {
          this.#onStatus({ type: "error", error: asError(error) });
          continue;
        }
        for (const { sink, filter } of registrations) {
          if (filter && !filter(event)) continue;
          this.#delivered++;
          try {
            sink(event);
          } catch (error) {
            this.#onStatus({ type: "error", error: asError(error) });
          }
        }
      }
    } catch (error) {
      // A subscription error (permissions): report it; sinks stay
      // registered but receive nothing more on this subject.
      if (!this.#closed) {
        this.#onStatus({
          type: "error",
          error: permissionDenied(error) ?? asError(error),
        });
      }
    } finally {
      // Ended by unsubscribe, connection close or error: forget it so that a
      // later add() subscribes afresh.
      if (this.#shared.get(shared.subject) === shared) {
        this.#shared.delete(shared.subject);
      }
    }
  }
}

function unsubscribe(sub: Subscription): void {
  try {
    sub.unsubscribe();
  } catch {
    // The connection is already closed.
  }
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
