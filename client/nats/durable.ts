/**
 * Durable events: a client's events from a JetStream durable consumer
 * instead of a core NATS subscription, so that an application that was down
 * or restarting misses nothing.
 *
 * The proxies (started with `--events.stream NAME`) make a JetStream stream
 * capture their event subjects. A client connected with
 * `connect({ durable: { name } })` reads its events from a durable pull
 * consumer of that stream named `name`, filtered to the client's event
 * subject (`ari.event.<app>.>`). Each event is acknowledged once every sink
 * has handled it (the client API: every `on()` handler ran, and its promise
 * settled; every `events()` stream moved past it). The consumer remembers
 * what was acknowledged, so the next client with the same `name` resumes
 * right after the last handled event.
 *
 * Delivery is at least once: events that were delivered but not yet
 * acknowledged when a client crashed are delivered again (after `ackWait`),
 * so duplicates happen only around a crash, at most `maxAckPending` of them.
 * While handlers run, the client tells the server every third of `ackWait`
 * that it is still working on their events, so a slow handler does not get
 * its event again. Every event carries its
 * stream position in `jetstream` ({@linkcode EventStreamInfo}), so an
 * application can make its handling idempotent by stream sequence.
 *
 * @example Resume where the last run stopped
 * ```ts
 * import { connect } from "../mod.ts";
 *
 * // Needs proxies started with --events.stream (JetStream); call it to run.
 * export async function runBilling(
 *   saveCdr: (event: unknown) => Promise<void>,
 * ): Promise<void> {
 *   await using client = await connect({
 *     servers: "nats://127.0.0.1:4222",
 *     application: "billing",
 *     durable: { name: "billing", start: "all" },
 *   });
 *   client.on("ChannelDestroyed", async (event) => {
 *     await saveCdr(event); // acknowledged once this promise settles
 *   });
 *   await client.closed();
 * }
 * ```
 *
 * @module
 */

import type { NatsConnection } from "@nats-io/nats-core";
import {
  AckPolicy,
  type Consumer,
  type ConsumerConfig,
  type ConsumerInfo,
  type ConsumerMessages,
  DeliverPolicy,
  jetstream,
  type JetStreamManager,
  jetstreamManager,
  type JsMsg,
} from "@nats-io/jetstream";
import { ConnectionError } from "../errors.ts";
import { decodeEvent } from "../protocol/codec.ts";
import { isValidToken } from "../protocol/subjects.ts";
import type { ProxiedEvent } from "../protocol/types.ts";
import type { EventSink, TransportStatus } from "../transport.ts";

/** Default time the server waits for an acknowledgement before redelivering, in ms. */
export const DEFAULT_ACK_WAIT = 30_000;

/** Default number of delivered, unacknowledged events (the window that bounds duplicates). */
export const DEFAULT_MAX_ACK_PENDING = 1_000;

/**
 * Where a durable consumer starts the first time (when it is created):
 * `"new"` (events published from now on), `"all"` (everything the stream
 * holds), `{ seq }` (from that stream sequence) or `{ time }` (from that
 * time). An existing consumer resumes where it left off and ignores it.
 */
export type DurableStart =
  | "new"
  | "all"
  | { seq: number }
  | { time: Date | string };

/**
 * Options of durable events (`connect({ durable })`).
 *
 * @example
 * ```ts
 * import type { DurableEventOptions } from "./durable.ts";
 * const durable: DurableEventOptions = { name: "billing", start: { time: "2026-12-01T00:00:00Z" } };
 * ```
 */
export interface DurableEventOptions {
  /**
   * Name of the durable consumer (one NATS subject token: no `.`, `*`,
   * `>` or spaces). Clients that share a name share the consumer: each
   * event goes to one of them.
   */
  name: string;
  /**
   * JetStream stream holding the events. By default, the stream whose
   * subjects capture the client's event subject.
   */
  stream?: string;
  /**
   * Where the consumer starts when it is created; see {@linkcode DurableStart}.
   *
   * @default {"new"}
   */
  start?: DurableStart;
  /**
   * How long the server waits for an event's acknowledgement (or a "still
   * working" signal, sent while handlers run) before it delivers the event
   * again, in ms (applies when the consumer is created). After a crash, the
   * unacknowledged events come again after this long.
   *
   * @default {30000}
   */
  ackWait?: number;
  /**
   * Events delivered and not yet acknowledged, at most (applies when the
   * consumer is created). It bounds the duplicates after a crash.
   *
   * @default {1000}
   */
  maxAckPending?: number;
}

/**
 * Where an event sits in its JetStream stream; set as `event.jetstream` on
 * events from a durable consumer.
 *
 * @example Idempotent handling by stream sequence
 * ```ts
 * import { eventStreamInfo } from "./durable.ts";
 * const event = { type: "ChannelUserevent", jetstream: { stream: "ARI", consumer: "c", seq: 7, deliveries: 1 } };
 * console.assert(eventStreamInfo(event)?.seq === 7);
 * ```
 */
export interface EventStreamInfo {
  /** Stream name. */
  stream: string;
  /** Durable consumer name. */
  consumer: string;
  /** Stream sequence of the event (unique and increasing within the stream). */
  seq: number;
  /** How often the event was delivered (`> 1`: a redelivery). */
  deliveries: number;
}

/**
 * The stream position of an event that came from a durable consumer.
 *
 * @param event Any event the client delivered.
 * @returns Its {@linkcode EventStreamInfo}, or `undefined` for events that
 * did not come from a durable consumer.
 *
 * @example
 * ```ts
 * import { eventStreamInfo } from "./durable.ts";
 * console.assert(eventStreamInfo({ type: "StasisStart" }) === undefined);
 * ```
 */
export function eventStreamInfo(event: object): EventStreamInfo | undefined {
  const info = (event as { jetstream?: unknown }).jetstream;
  if (typeof info !== "object" || info === null) return undefined;
  return typeof (info as EventStreamInfo).seq === "number"
    ? info as EventStreamInfo
    : undefined;
}

/** Counters of a {@linkcode DurableEventSource}. */
export interface DurableEventStats {
  /** Events delivered by the consumer (redeliveries included). */
  delivered: number;
  /** Of those, redeliveries. */
  redelivered: number;
  /** Events acknowledged after their sinks handled them. */
  acked: number;
  /** Events given back for redelivery (a sink did not handle them, or the client closed first). */
  naked: number;
  /** Events that could not be decoded (terminated, never redelivered). */
  invalid: number;
}

interface ValidDurable {
  name: string;
  stream: string | undefined;
  start: DurableStart;
  ackWait: number;
  maxAckPending: number;
}

/**
 * Validates durable options (the factory's first step).
 *
 * @param options The caller's options.
 * @returns A copy with defaults applied.
 * @throws {TypeError} When `name` or `stream` is not one subject token, or `start` has the wrong shape.
 * @throws {RangeError} When `ackWait`, `maxAckPending` or `start.seq` is out of range.
 *
 * @example
 * ```ts
 * import { validateDurableOptions } from "./durable.ts";
 * console.assert(validateDurableOptions({ name: "billing" }).start === "new");
 * ```
 */
export function validateDurableOptions(
  options: DurableEventOptions,
): ValidDurable {
  const {
    name,
    stream,
    start = "new",
    ackWait = DEFAULT_ACK_WAIT,
    maxAckPending = DEFAULT_MAX_ACK_PENDING,
  } = { ...options };
  if (typeof name !== "string" || !isValidToken(name)) {
    throw new TypeError(
      `Invalid option "durable.name": "${name}" (expected one subject token)`,
    );
  }
  if (
    stream !== undefined &&
    (typeof stream !== "string" || !isValidToken(stream))
  ) {
    throw new TypeError(
      `Invalid option "durable.stream": "${stream}" (expected one subject token)`,
    );
  }
  if (!(typeof ackWait === "number" && ackWait >= 1 && isFinite(ackWait))) {
    throw new RangeError(
      `Invalid option "durable.ackWait": ${ackWait} (expected ms >= 1)`,
    );
  }
  if (!Number.isInteger(maxAckPending) || maxAckPending < 1) {
    throw new RangeError(
      `Invalid option "durable.maxAckPending": ${maxAckPending} (expected a positive integer)`,
    );
  }
  if (start !== "new" && start !== "all") {
    if (typeof start !== "object" || start === null) {
      throw new TypeError(
        `Invalid option "durable.start": ${
          JSON.stringify(start)
        } (expected "new", "all", { seq } or { time })`,
      );
    }
    if ("seq" in start) {
      if (!Number.isInteger(start.seq) || start.seq < 1) {
        throw new RangeError(
          `Invalid option "durable.start.seq": ${start.seq} (expected an integer >= 1)`,
        );
      }
    } else if (
      !("time" in start) || Number.isNaN(new Date(start.time).getTime())
    ) {
      throw new TypeError(
        `Invalid option "durable.start": ${
          JSON.stringify(start)
        } (expected "new", "all", { seq } or { time } with a valid time)`,
      );
    }
  }
  return { name, stream, start, ackWait, maxAckPending };
}

function startConfig(start: DurableStart): Partial<ConsumerConfig> {
  if (start === "new") return { deliver_policy: DeliverPolicy.New };
  if (start === "all") return { deliver_policy: DeliverPolicy.All };
  if ("seq" in start) {
    return {
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: start.seq,
    };
  }
  return {
    deliver_policy: DeliverPolicy.StartTime,
    opt_start_time: new Date(start.time).toISOString(),
  };
}

function isNotFound(error: unknown): boolean {
  const code =
    (error as { code?: unknown; apiError?: () => { err_code?: number } })
      ?.apiError?.()?.err_code;
  return code === 10014 ||
    (error instanceof Error && /consumer not found/i.test(error.message));
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then ===
    "function";
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

/** Options of {@linkcode DurableEventSource.open}. */
export interface DurableSourceOptions {
  /** The client's event subject (the consumer's filter). */
  subject: string;
  /** Receives `error` statuses. */
  onStatus: (status: TransportStatus) => void;
}

/**
 * One durable consumer feeding a set of sinks, acknowledging each event once
 * every sink has handled it. Internal: applications use
 * `connect({ durable })`.
 */
/**
 * Lifetime of a pull request, in ms (the library's default is 30 s). The
 * idle heartbeat is half of it and two missed heartbeats make the client
 * pull again elsewhere, so after a NATS server of the cluster dies, events
 * resume within about this long instead of about 30 s. One pull request per
 * 10 s per idle client is little load.
 */
const PULL_EXPIRES = 10_000;

/** How long `close()` waits for the server to confirm the last acks, in ms. */
const CLOSE_FLUSH_TIMEOUT = 2_000;

export class DurableEventSource {
  readonly #nc: NatsConnection;
  readonly #consumer: Consumer;
  readonly #info: ConsumerInfo;
  readonly #maxMessages: number;
  readonly #onStatus: (status: TransportStatus) => void;
  #sinks: readonly EventSink[] = [];
  #messages: ConsumerMessages | undefined;
  #pumping: Promise<void> | undefined;
  readonly #unsettled = new Set<JsMsg>();
  /** Tells the server "still working" on unsettled events (no redelivery while handlers run). */
  #progressTimer: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  readonly #stats: DurableEventStats = {
    delivered: 0,
    redelivered: 0,
    acked: 0,
    naked: 0,
    invalid: 0,
  };

  private constructor(
    nc: NatsConnection,
    consumer: Consumer,
    info: ConsumerInfo,
    onStatus: (status: TransportStatus) => void,
  ) {
    this.#nc = nc;
    this.#consumer = consumer;
    this.#info = info;
    this.#maxMessages = Math.max(1, info.config.max_ack_pending ?? 1);
    this.#onStatus = onStatus;
  }

  /**
   * Finds the stream, binds to the durable consumer (creating it with the
   * options when it does not exist) and returns the source; consuming starts
   * with the first sink.
   *
   * @param nc The NATS connection.
   * @param options Durable options (already validated or not).
   * @param source The client's event subject and a status callback.
   * @returns The source.
   * @throws {ConnectionError} When JetStream is unavailable, no stream
   * captures the subject, or the consumer cannot be created.
   * @throws {TypeError} When the existing consumer filters another subject.
   */
  static async open(
    nc: NatsConnection,
    options: DurableEventOptions,
    source: DurableSourceOptions,
  ): Promise<DurableEventSource> {
    const durable = validateDurableOptions(options);
    const { subject } = source;
    const fail = (what: string, cause?: unknown): never => {
      const detail = cause === undefined ? "" : `: ${asError(cause).message}`;
      throw new ConnectionError(
        `Cannot open durable events "${durable.name}": ${what}${detail}`,
        { target: subject, ...(cause === undefined ? {} : { cause }) },
      );
    };
    let jsm: JetStreamManager;
    try {
      jsm = await jetstreamManager(nc);
    } catch (error) {
      return fail("JetStream is not available", error);
    }
    let stream = durable.stream;
    if (stream === undefined) {
      try {
        stream = await jsm.streams.find(subject);
      } catch (error) {
        return fail(
          `no JetStream stream captures "${subject}" (start the proxies with --events.stream)`,
          error,
        );
      }
    }
    let info: ConsumerInfo;
    try {
      info = await jsm.consumers.info(stream, durable.name);
    } catch (error) {
      if (!isNotFound(error)) {
        return fail(`cannot look up the consumer in stream "${stream}"`, error);
      }
      try {
        info = await jsm.consumers.add(stream, {
          durable_name: durable.name,
          ack_policy: AckPolicy.Explicit,
          ack_wait: durable.ackWait * 1_000_000,
          max_ack_pending: durable.maxAckPending,
          filter_subject: subject,
          ...startConfig(durable.start),
        });
      } catch (error) {
        return fail(`cannot create the consumer in stream "${stream}"`, error);
      }
    }
    const filter = info.config.filter_subject ?? "";
    if (filter !== subject) {
      throw new TypeError(
        `Invalid option "durable.name": consumer "${durable.name}" of stream "${stream}" ` +
          `filters "${filter}", this client needs "${subject}" (use another name)`,
      );
    }
    const consumer = await jetstream(nc).consumers.get(stream, durable.name)
      .catch((error) => fail(`cannot bind to the consumer`, error));
    return new DurableEventSource(nc, consumer, info, source.onStatus);
  }

  /** Stream name. */
  get stream(): string {
    return this.#info.stream_name;
  }

  /** Consumer name. */
  get name(): string {
    return this.#info.name;
  }

  /** Counters. */
  stats(): DurableEventStats {
    return { ...this.#stats };
  }

  /**
   * Adds a sink; the first one starts consuming.
   *
   * @param sink Receives each event; may return a promise of whether it handled it.
   * @returns Removes the sink (idempotent); the last one stops consuming.
   */
  add(sink: EventSink): () => void {
    if (this.#closed) return () => {};
    this.#sinks = [...this.#sinks, sink];
    if (this.#pumping === undefined) this.#pumping = this.#pump();
    let removed = false;
    return () => {
      if (removed) return;
      removed = true;
      this.#sinks = this.#sinks.filter((s) => s !== sink);
      if (this.#sinks.length === 0) this.#stop();
    };
  }

  /**
   * Stops consuming, gives back every event not yet handled (so the next
   * client gets it at once) and waits (up to 2 s) until the server has the
   * acknowledgements. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#sinks = [];
    await this.#stop();
    if (this.#nc.isClosed()) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#nc.flush().catch(() => {}),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, CLOSE_FLUSH_TIMEOUT);
      }),
    ]);
    clearTimeout(timer);
  }

  /**
   * While events wait for their handlers, sends "in progress" for them every
   * third of the consumer's ack wait, so a slow handler does not get its
   * event redelivered (duplicates then happen only around a crash).
   */
  #startProgress(): void {
    if (this.#progressTimer !== undefined) return;
    const ackWaitMs = (this.#info.config.ack_wait ?? 30e9) / 1e6;
    this.#progressTimer = setInterval(() => {
      if (this.#unsettled.size === 0) {
        clearInterval(this.#progressTimer);
        this.#progressTimer = undefined;
        return;
      }
      for (const msg of this.#unsettled) {
        try {
          msg.working();
        } catch {
          // The connection is closed; close() gives the events back.
        }
      }
    }, Math.max(50, ackWaitMs / 3));
    if (typeof Deno !== "undefined") Deno.unrefTimer(this.#progressTimer);
  }

  async #stop(): Promise<void> {
    clearInterval(this.#progressTimer);
    this.#progressTimer = undefined;
    const messages = this.#messages;
    const pumping = this.#pumping;
    this.#messages = undefined;
    this.#pumping = undefined;
    if (messages) {
      messages.stop();
      await messages.closed().catch(() => {});
    }
    await pumping;
    for (const msg of this.#unsettled) this.#nak(msg);
    this.#unsettled.clear();
  }

  async #pump(): Promise<void> {
    let messages: ConsumerMessages;
    try {
      messages = await this.#consumer.consume({
        max_messages: this.#maxMessages,
        expires: PULL_EXPIRES,
      });
    } catch (error) {
      this.#pumping = undefined;
      this.#onStatus({ type: "error", error: asError(error) });
      return;
    }
    if (this.#sinks.length === 0) {
      messages.stop();
      return;
    }
    this.#messages = messages;
    try {
      for await (const msg of messages) {
        if (this.#messages !== messages) {
          this.#nak(msg);
          continue;
        }
        this.#deliver(msg);
      }
    } catch (error) {
      if (!this.#closed) {
        this.#onStatus({ type: "error", error: asError(error) });
      }
    }
  }

  #deliver(msg: JsMsg): void {
    const stats = this.#stats;
    stats.delivered++;
    const { deliveryCount, stream } = msg.info;
    if (deliveryCount > 1) stats.redelivered++;
    let event: ProxiedEvent;
    try {
      event = decodeEvent(msg.data);
    } catch (error) {
      stats.invalid++;
      msg.term("undecodable event");
      this.#onStatus({ type: "error", error: asError(error) });
      return;
    }
    event.jetstream = {
      stream,
      consumer: this.#info.name,
      seq: msg.seq,
      deliveries: deliveryCount,
    } satisfies EventStreamInfo;
    let pending: PromiseLike<unknown>[] | undefined;
    for (const sink of this.#sinks) {
      let result: unknown;
      try {
        result = sink(event);
      } catch (error) {
        this.#onStatus({ type: "error", error: asError(error) });
        continue;
      }
      if (isThenable(result)) (pending ??= []).push(result);
    }
    if (pending === undefined) {
      this.#ack(msg);
      return;
    }
    this.#unsettled.add(msg);
    this.#startProgress();
    Promise.all(pending).then(
      (handled) => handled.every((value) => value !== false),
      () => false,
    ).then((handled) => {
      if (!this.#unsettled.delete(msg)) return; // given back on close
      if (handled) this.#ack(msg);
      else this.#nak(msg);
    });
  }

  #ack(msg: JsMsg): void {
    try {
      msg.ack();
      this.#stats.acked++;
    } catch (error) {
      this.#onStatus({ type: "error", error: asError(error) });
    }
  }

  #nak(msg: JsMsg): void {
    try {
      msg.nak();
      this.#stats.naked++;
    } catch {
      // The connection is closed: the server redelivers after ackWait.
    }
  }
}
