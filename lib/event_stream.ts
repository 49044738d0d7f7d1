// deno-lint-ignore-file camelcase -- JetStream API field names
/**
 * Events into a JetStream stream with acknowledged publishes
 * (`--events.stream NAME`).
 *
 * With the stream on, the proxy publishes each event as a JetStream publish:
 * the server stores it in the stream (which captures the event subjects)
 * and answers with an acknowledgement, and core NATS subscribers get the
 * event as before (a JetStream publish is an ordinary NATS message with a
 * reply subject). {@linkcode EventStreamPublisher}:
 *
 * - makes sure the stream exists and captures the proxy's event and dialog
 *   event subjects: it creates a missing stream with the configured limits,
 *   and adds the subjects to an existing stream that lacks them, leaving
 *   every other setting of an operator's stream alone;
 * - keeps at most `window` publishes waiting for their acknowledgement;
 *   events beyond wait in order in a queue bounded by `maxQueuedBytes`;
 * - when a publish times out or finds no stream leader (cluster fail-over:
 *   a leader election takes seconds), stalls: new events queue, one probe
 *   (the oldest failed event) is retried with backoff, and the first
 *   acknowledgement resends every failed event once, in order; after
 *   `retryTimeout` ms of stall it falls back (below). Every publish carries
 *   a `Nats-Msg-Id` header, so the stream stores a retried event once
 *   (duplicate window);
 * - when the stream cannot take an event (`retryTimeout` over, stream
 *   refused, queue full) hands the event to `fallback`: the proxy's core
 *   NATS path (bounded, drops counted), so core subscribers still get it.
 *   It then publishes on core NATS only for `retryInterval` ms, logs that
 *   it does, and tries the stream again.
 *
 * Ordering: events are stored in publish order, except that a failed event
 * whose successors were stored before the failure shows lands after them.
 * Every attempt is an ordinary NATS message, so core subscribers may get a
 * retried event twice (once per fail-over); the stream stores it once.
 *
 * Cost: one reply subscription for all publishes and one timer for all
 * timeouts (not a request object and a timer per event); the
 * `Nats-Msg-Id` header object is reused.
 *
 * @example
 * ```ts ignore
 * const publisher = await EventStreamPublisher.open(nc, {
 *   name: "ARI_EVENTS",
 *   subjects: ["ari.event.myapp.>", "ari.dialogevent.>"],
 *   fallback: (subject, payload) => nc.publish(subject, payload),
 *   logger,
 * });
 * publisher.publish("ari.event.myapp.node1", bytes);
 * await publisher.close();
 * ```
 *
 * @module
 */

import type { Logger } from "@logtape/logtape";
import {
  createInbox,
  headers,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  type Subscription,
} from "@nats-io/nats-core";
import {
  DiscardPolicy,
  type JetStreamManager,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
  type StreamInfo,
} from "@nats-io/jetstream";

/** Default age after which the stream removes events: one day, in ms. */
export const DEFAULT_STREAM_MAX_AGE = 24 * 60 * 60 * 1000;

/** Default size limit of the stream (oldest events removed beyond): 1 GiB. */
export const DEFAULT_STREAM_MAX_BYTES = 1024 * 1024 * 1024;

/** Default number of publishes waiting for an acknowledgement. */
export const DEFAULT_STREAM_WINDOW = 256;

/** Default time a publish that timed out or found no stream leader is retried, in ms. */
export const DEFAULT_STREAM_RETRY_TIMEOUT = 30_000;

/** Default time a publish waits for its acknowledgement, in ms. */
export const DEFAULT_STREAM_ACK_TIMEOUT = 5_000;

/** Default time on core NATS after the stream failed, before trying it again, in ms. */
export const DEFAULT_STREAM_RETRY_INTERVAL = 5_000;

/** Default bytes of events waiting for a free window slot. */
export const DEFAULT_STREAM_MAX_QUEUED_BYTES = 16 * 1024 * 1024;

/** Duplicate window of a stream this proxy creates (retries inside it are stored once), ms. */
const DUPLICATE_WINDOW = 2 * 60 * 1000;

/** Options of {@linkcode EventStreamPublisher.open}. */
export interface EventStreamOptions {
  /** Stream name (one subject token). */
  name: string;
  /** Subjects the stream must capture (the proxy's event and dialog event subjects). */
  subjects: string[];
  /**
   * Subjects of a stream this proxy creates (defaults to `subjects`); lets
   * every proxy of a cluster share one stream (`ari.event.>`).
   */
  createSubjects?: string[];
  /**
   * Max age of a created stream's events, in ms.
   *
   * @default {86400000}
   */
  maxAge?: number;
  /**
   * Size limit of a created stream, in bytes (oldest removed beyond).
   *
   * @default {1073741824}
   */
  maxBytes?: number;
  /**
   * Replicas of a created stream (a cluster needs 3 to survive a server).
   *
   * @default {1}
   */
  replicas?: number;
  /**
   * Publishes waiting for their acknowledgement, at most.
   *
   * @default {256}
   */
  window?: number;
  /**
   * How long a publish that timed out or found no stream leader is retried
   * (with backoff up to 1 s) before its event goes to `fallback`, in ms.
   *
   * @default {30000}
   */
  retryTimeout?: number;
  /**
   * Time a publish waits for its acknowledgement, in ms.
   *
   * @default {5000}
   */
  ackTimeout?: number;
  /**
   * Time on core NATS after the stream failed, in ms.
   *
   * @default {5000}
   */
  retryInterval?: number;
  /**
   * Bytes of events waiting for a window slot; beyond, events go to `fallback`.
   *
   * @default {16777216}
   */
  maxQueuedBytes?: number;
  /** The core NATS path (bounded, counts its own drops). */
  fallback: (subject: string, payload: Uint8Array) => void;
  /** Logger (category of the proxy's events). */
  logger: Logger;
  /**
   * Unique per proxy process: prefix of the `Nats-Msg-Id` of every publish.
   *
   * @default {crypto.randomUUID()}
   */
  publisherId?: string;
}

/** Counters of an {@linkcode EventStreamPublisher}. */
export interface EventStreamStats {
  /** Stream name. */
  stream: string;
  /** `"stream"` (acknowledged publishes) or `"fallback"` (core NATS for a while). */
  mode: "stream" | "fallback";
  /** Events the stream acknowledged as stored. */
  stored: number;
  /** Acknowledgements that said "duplicate" (a retry of an event already stored). */
  duplicates: number;
  /** Publish attempts retried. */
  retried: number;
  /** Events handed to the core NATS path because the stream could not take them. */
  fallback: number;
  /** Times the publisher switched to core NATS. */
  fallbackEpisodes: number;
  /** Publishes waiting for their acknowledgement now. */
  inFlight: number;
  /** Events waiting for a window slot now. */
  queued: number;
}

type ResolvedOptions = Required<EventStreamOptions>;

interface Pending {
  subject: string;
  payload: Uint8Array;
  /** `Nats-Msg-Id`: the same for every attempt (the stream stores it once). */
  id: string;
  /** Reply token of the current attempt ("" while not waiting). */
  token: string;
  /** When the current attempt times out (ms since epoch). */
  deadline: number;
  /** Publish order (for resending in order). */
  order: number;
}

/** One attempt of a publish in the deadline queue. */
interface Attempt {
  pending: Pending;
  token: string;
  deadline: number;
}

/** A publish that failed: whether it may be retried, and why. */
interface Failure {
  retriable: boolean;
  error: Error;
}

/** Reads a JetStream publish acknowledgement (`{"stream":…,"seq":…}` or `{"error":…}`). */
function readAck(msg: Msg): { duplicate: boolean } | Failure {
  const code = msg.headers?.code ?? 0;
  if (code === 503 || (code >= 400 && msg.data.length === 0)) {
    return {
      retriable: true,
      error: new Error(
        `No stream leader answered (status ${code}${
          msg.headers?.description ? ` ${msg.headers.description}` : ""
        })`,
      ),
    };
  }
  const text = msg.string();
  if (!text.includes('"error"')) {
    return { duplicate: text.includes('"duplicate":true') };
  }
  let description = text;
  let errCode = 0;
  try {
    const parsed = JSON.parse(text) as {
      error?: { code?: number; description?: string };
    };
    description = parsed.error?.description ?? text;
    errCode = parsed.error?.code ?? 0;
  } catch {
    // Keep the raw text.
  }
  return {
    // 503: the stream has no leader right now (fail-over); 5xx in general
    // is the server's trouble, 4xx (limits, wrong stream) is not transient.
    retriable: errCode >= 500,
    error: new Error(`The stream refused the event: ${description}`),
  };
}

function positive(value: number, name: string): number {
  if (!(typeof value === "number" && value > 0 && isFinite(value))) {
    throw new RangeError(
      `Invalid event stream option "${name}": ${value} (expected a positive number)`,
    );
  }
  return value;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Whether a subject filter (with `*`, `>`) matches a subject with wildcards, i.e. covers it. */
export function subjectCovers(filter: string, subject: string): boolean {
  const f = filter.split(".");
  const s = subject.split(".");
  for (let i = 0; i < f.length; i++) {
    const token = f[i]!;
    if (token === ">") return i < s.length;
    if (i >= s.length) return false;
    if (token === "*") {
      if (s[i] === ">") return false;
      continue;
    }
    if (token !== s[i]) return false;
  }
  return f.length === s.length;
}

/**
 * Checks the name and the numbers of event stream options.
 *
 * @param options The options (subjects and callbacks are not checked).
 * @throws {TypeError} When `name` is not one subject token.
 * @throws {RangeError} When a number is out of range.
 *
 * @example
 * ```ts
 * import { validateEventStreamOptions } from "./event_stream.ts";
 * validateEventStreamOptions({ name: "ARI_EVENTS", replicas: 3 });
 * ```
 */
export function validateEventStreamOptions(
  options: Partial<EventStreamOptions>,
): void {
  const {
    name,
    maxAge = DEFAULT_STREAM_MAX_AGE,
    maxBytes = DEFAULT_STREAM_MAX_BYTES,
    replicas = 1,
    window = DEFAULT_STREAM_WINDOW,
    retryTimeout = DEFAULT_STREAM_RETRY_TIMEOUT,
    ackTimeout = DEFAULT_STREAM_ACK_TIMEOUT,
    retryInterval = DEFAULT_STREAM_RETRY_INTERVAL,
    maxQueuedBytes = DEFAULT_STREAM_MAX_QUEUED_BYTES,
  } = options;
  if (typeof name !== "string" || !/^[^\s.*>]+$/.test(name)) {
    throw new TypeError(
      `Invalid event stream name "${name}" (expected one subject token)`,
    );
  }
  positive(maxAge, "maxAge");
  positive(maxBytes, "maxBytes");
  positive(ackTimeout, "ackTimeout");
  positive(retryInterval, "retryInterval");
  positive(maxQueuedBytes, "maxQueuedBytes");
  if (!Number.isInteger(window) || window < 1) {
    throw new RangeError(
      `Invalid event stream option "window": ${window} (expected a positive integer)`,
    );
  }
  if (!(retryTimeout >= 0 && isFinite(retryTimeout))) {
    throw new RangeError(
      `Invalid event stream option "retryTimeout": ${retryTimeout} (expected ms >= 0)`,
    );
  }
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 5) {
    throw new RangeError(
      `Invalid event stream option "replicas": ${replicas} (expected 1..5)`,
    );
  }
}

/**
 * Makes sure stream `name` exists and captures `subjects`.
 *
 * @param jsm The JetStream manager.
 * @param options Name, subjects, limits of a new stream.
 * @returns What was done (`"created"`, `"extended"` or `"exists"`) and the stream's info.
 * @throws {Error} When JetStream refuses (overlapping subjects, limits).
 *
 * @example
 * ```ts ignore
 * await ensureEventStream(jsm, { name: "ARI", subjects: ["ari.event.a.>"] });
 * ```
 */
export async function ensureEventStream(
  jsm: JetStreamManager,
  options: Pick<
    EventStreamOptions,
    "name" | "subjects" | "createSubjects" | "maxAge" | "maxBytes" | "replicas"
  >,
): Promise<{ action: "created" | "extended" | "exists"; info: StreamInfo }> {
  const {
    name,
    subjects,
    createSubjects = subjects,
    maxAge = DEFAULT_STREAM_MAX_AGE,
    maxBytes = DEFAULT_STREAM_MAX_BYTES,
    replicas = 1,
  } = options;
  let info: StreamInfo | undefined;
  try {
    info = await jsm.streams.info(name);
  } catch (error) {
    if (!/not found/i.test(errorMessage(error))) throw error;
  }
  if (info === undefined) {
    const config: Partial<StreamConfig> & { name: string } = {
      name,
      subjects: createSubjects,
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      max_age: maxAge * 1_000_000,
      max_bytes: maxBytes,
      num_replicas: replicas,
      duplicate_window: Math.min(DUPLICATE_WINDOW, maxAge) * 1_000_000,
    };
    try {
      return { action: "created", info: await jsm.streams.add(config) };
    } catch (error) {
      // Another proxy created it meanwhile: use it as it is.
      if (!/already in use|already exists/i.test(errorMessage(error))) {
        throw error;
      }
      info = await jsm.streams.info(name);
    }
  }
  const have = info.config.subjects ?? [];
  const missing = subjects.filter((subject) =>
    !have.some((filter) => subjectCovers(filter, subject))
  );
  if (missing.length === 0) return { action: "exists", info };
  const updated = await jsm.streams.update(name, {
    ...info.config,
    subjects: [...have, ...missing],
  });
  return { action: "extended", info: updated };
}

/** See the module doc. */
export class EventStreamPublisher {
  readonly #nc: NatsConnection;
  readonly #jsm: JetStreamManager;
  /** Reply subjects are `<inbox>.<token>`, one subscription for all. */
  readonly #inbox: string;
  readonly #replies: Subscription;
  /** Attempts waiting for their acknowledgement, by reply token. */
  readonly #waiting = new Map<string, Pending>();
  /** The same attempts in send order = deadline order (one timeout length). */
  #deadlines: Attempt[] = [];
  #deadlineHead = 0;
  #deadlineTimer: ReturnType<typeof setInterval> | undefined;
  /**
   * Stalled: a publish failed in a way worth retrying (timeout, no stream
   * leader). Then one probe (the oldest failed event) is retried with
   * backoff while every other failed event waits here, in order, and new
   * events queue; the first acknowledgement resends them all in order. So a
   * fail-over costs one retry per event, not one per event per backoff step
   * (each attempt also reaches core subscribers).
   */
  #resend: Pending[] = [];
  #stalledSince = 0;
  #stallSteps = 0;
  #stallProbe: Pending | undefined;
  #stallTimer: ReturnType<typeof setTimeout> | undefined;
  /** Reused for every publish: NATS encodes headers when publishing. */
  readonly #headers: MsgHdrs = headers();
  #tokens = 0;
  readonly #opts: ResolvedOptions;
  readonly #queue: Pending[] = [];
  #queueHead = 0;
  #queuedBytes = 0;
  #inFlight = 0;
  #counter = 0;
  #mode: "stream" | "fallback" = "stream";
  #probeTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #abort = new AbortController();
  readonly #idle = new Set<() => void>();
  readonly #stats = {
    stored: 0,
    duplicates: 0,
    retried: 0,
    fallback: 0,
    fallbackEpisodes: 0,
  };

  private constructor(
    nc: NatsConnection,
    jsm: JetStreamManager,
    opts: ResolvedOptions,
  ) {
    this.#nc = nc;
    this.#jsm = jsm;
    this.#opts = opts;
    this.#inbox = `${createInbox()}.`;
    this.#replies = nc.subscribe(`${this.#inbox}*`, {
      callback: (_error, msg) => this.#onReply(msg),
    });
    // Timeouts: one check per quarter of the ack timeout (at most 250 ms)
    // instead of one timer per publish.
    this.#deadlineTimer = setInterval(
      () => this.#expire(),
      Math.min(250, Math.max(10, opts.ackTimeout / 4)),
    );
    Deno.unrefTimer(this.#deadlineTimer);
  }

  /**
   * Ensures the stream (see {@linkcode ensureEventStream}) and returns the
   * publisher. When JetStream is unavailable or refuses, the publisher starts
   * on core NATS (logged) and tries the stream again every `retryInterval`.
   *
   * @param nc The proxy's NATS connection.
   * @param options See {@linkcode EventStreamOptions}.
   * @returns The publisher.
   * @throws {RangeError} When a number option is out of range.
   * @throws {TypeError} When `name` is not one subject token or `subjects` is empty.
   */
  static async open(
    nc: NatsConnection,
    options: EventStreamOptions,
  ): Promise<EventStreamPublisher> {
    const {
      name,
      subjects,
      createSubjects = subjects,
      maxAge = DEFAULT_STREAM_MAX_AGE,
      maxBytes = DEFAULT_STREAM_MAX_BYTES,
      replicas = 1,
      window = DEFAULT_STREAM_WINDOW,
      retryTimeout = DEFAULT_STREAM_RETRY_TIMEOUT,
      ackTimeout = DEFAULT_STREAM_ACK_TIMEOUT,
      retryInterval = DEFAULT_STREAM_RETRY_INTERVAL,
      maxQueuedBytes = DEFAULT_STREAM_MAX_QUEUED_BYTES,
      fallback,
      logger,
      publisherId = crypto.randomUUID(),
    } = options;
    validateEventStreamOptions(options);
    if (!Array.isArray(subjects) || subjects.length === 0) {
      throw new TypeError("Invalid event stream subjects: none given");
    }
    const jsm = await jetstreamManager(nc, { checkAPI: false });
    const publisher = new EventStreamPublisher(nc, jsm, {
      name,
      subjects,
      createSubjects,
      maxAge,
      maxBytes,
      replicas,
      window,
      retryTimeout,
      ackTimeout,
      retryInterval,
      maxQueuedBytes,
      fallback,
      logger,
      publisherId,
    });
    if (!(await publisher.#ensure())) publisher.#enterFallback();
    return publisher;
  }

  /** Counters. */
  stats(): EventStreamStats {
    return {
      stream: this.#opts.name,
      mode: this.#mode,
      ...this.#stats,
      inFlight: this.#inFlight,
      queued: this.#queue.length - this.#queueHead,
    };
  }

  /**
   * Publishes one event: acknowledged into the stream, or on core NATS while
   * the stream cannot take events. Never throws.
   *
   * @param subject Event subject.
   * @param payload Event bytes.
   */
  publish(subject: string, payload: Uint8Array): void {
    if (this.#abort.signal.aborted) {
      this.#toFallback(subject, payload);
      return;
    }
    if (this.#mode === "fallback") {
      this.#toFallback(subject, payload);
      return;
    }
    const pending: Pending = {
      subject,
      payload,
      id: `${this.#opts.publisherId}-${++this.#counter}`,
      token: "",
      deadline: 0,
      order: this.#counter,
    };
    if (
      this.#inFlight < this.#opts.window && this.#queueEmpty() &&
      this.#stalledSince === 0
    ) {
      this.#send(pending);
      return;
    }
    if (this.#queuedBytes + payload.length > this.#opts.maxQueuedBytes) {
      this.#toFallback(subject, payload);
      return;
    }
    this.#queue.push(pending);
    this.#queuedBytes += payload.length;
  }

  /**
   * Stops taking events into the stream (later ones go to the fallback) and
   * waits up to `timeout` ms for the acknowledgements of those in flight and
   * queued. Idempotent.
   *
   * @param timeout How long to wait, in ms.
   */
  async close(timeout = DEFAULT_STREAM_ACK_TIMEOUT): Promise<void> {
    if (!this.#abort.signal.aborted) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const idle = new Promise<void>((resolve) => {
        if (this.#inFlight === 0 && this.#queueEmpty()) resolve();
        else this.#idle.add(resolve);
      });
      await Promise.race([
        idle,
        new Promise<void>((resolve) => timer = setTimeout(resolve, timeout)),
      ]);
      clearTimeout(timer);
      this.#abort.abort();
      clearTimeout(this.#probeTimer);
      this.#probeTimer = undefined;
      clearInterval(this.#deadlineTimer);
      this.#deadlineTimer = undefined;
      clearTimeout(this.#stallTimer);
      this.#stallTimer = undefined;
      this.#stallProbe = undefined;
      this.#stalledSince = 0;
      for (const pending of this.#resend.splice(0)) {
        this.#inFlight--;
        this.#toFallback(pending.subject, pending.payload);
      }
      try {
        this.#replies.unsubscribe();
      } catch {
        // The connection is closed.
      }
      // Unacknowledged events go the core way too (the stream may have them
      // already: core subscribers may then see them twice).
      const unacknowledged = new Set(this.#waiting.values());
      this.#waiting.clear();
      this.#deadlines = [];
      this.#deadlineHead = 0;
      for (const pending of unacknowledged) {
        this.#inFlight--;
        this.#toFallback(pending.subject, pending.payload);
      }
    }
    // Whatever still waits goes the core way.
    while (!this.#queueEmpty()) {
      const next = this.#shift()!;
      this.#toFallback(next.subject, next.payload);
    }
  }

  #queueEmpty(): boolean {
    return this.#queueHead === this.#queue.length;
  }

  #shift(): Pending | undefined {
    if (this.#queueEmpty()) return undefined;
    const next = this.#queue[this.#queueHead]!;
    this.#queue[this.#queueHead] = undefined as unknown as Pending;
    this.#queueHead++;
    this.#queuedBytes -= next.payload.length;
    if (this.#queueHead === this.#queue.length) {
      this.#queue.length = 0;
      this.#queueHead = 0;
    } else if (
      this.#queueHead > 1024 && this.#queueHead * 2 > this.#queue.length
    ) {
      this.#queue.splice(0, this.#queueHead);
      this.#queueHead = 0;
    }
    return next;
  }

  #send(pending: Pending): void {
    this.#inFlight++;
    this.#transmit(pending);
  }

  /** One attempt: publish with a reply subject; the ack comes to #onReply. */
  #transmit(pending: Pending): void {
    const token = String(++this.#tokens);
    pending.token = token;
    pending.deadline = Date.now() + this.#opts.ackTimeout;
    this.#waiting.set(token, pending);
    this.#deadlines.push({ pending, token, deadline: pending.deadline });
    try {
      this.#headers.set("Nats-Msg-Id", pending.id);
      this.#nc.publish(pending.subject, pending.payload, {
        reply: this.#inbox + token,
        headers: this.#headers,
      });
    } catch (error) {
      this.#waiting.delete(token);
      pending.token = "";
      this.#fail(pending, {
        retriable: !this.#nc.isClosed(),
        error: error instanceof Error ? error : new Error(String(error)),
      });
    }
  }

  #onReply(msg: Msg): void {
    const token = msg.subject.slice(this.#inbox.length);
    const pending = this.#waiting.get(token);
    if (pending === undefined) return; // timed out before, or closed
    this.#waiting.delete(token);
    pending.token = "";
    const result = readAck(msg);
    if ("retriable" in result) {
      this.#fail(pending, result);
      return;
    }
    if (result.duplicate) this.#stats.duplicates++;
    else this.#stats.stored++;
    if (this.#stalledSince !== 0) this.#resume(pending);
    this.#done();
  }

  #expire(): void {
    const now = Date.now();
    const list = this.#deadlines;
    while (this.#deadlineHead < list.length) {
      const { pending, token, deadline } = list[this.#deadlineHead]!;
      if (deadline > now) break;
      this.#deadlineHead++;
      // Skipped: answered already, or re-sent (a later entry covers it).
      if (pending.token !== token) continue;
      this.#waiting.delete(token);
      pending.token = "";
      this.#fail(pending, {
        retriable: true,
        error: new Error(
          `No acknowledgement within ${this.#opts.ackTimeout} ms`,
        ),
      });
    }
    if (this.#deadlineHead > 1024 && this.#deadlineHead * 2 > list.length) {
      this.#deadlines = list.slice(this.#deadlineHead);
      this.#deadlineHead = 0;
    }
  }

  #fail(pending: Pending, failure: Failure): void {
    const signal = this.#abort.signal;
    if (failure.retriable && !signal.aborted && this.#mode === "stream") {
      const now = Date.now();
      if (this.#stalledSince === 0) this.#stalledSince = now;
      if (this.#stallProbe === pending) this.#stallProbe = undefined;
      this.#resend.push(pending);
      if (now - this.#stalledSince > this.#opts.retryTimeout) {
        this.#enterFallback(failure.error);
        return;
      }
      if (this.#stallProbe === undefined && this.#stallTimer === undefined) {
        const backoff = Math.min(1_000, 50 * 2 ** this.#stallSteps++);
        this.#stallTimer = setTimeout(() => this.#probeStream(), backoff);
      }
      return;
    }
    // The stream cannot take it: core NATS gets it, and for a while every
    // other event too.
    this.#toFallback(pending.subject, pending.payload);
    if (this.#mode === "stream" && !signal.aborted) {
      this.#enterFallback(failure.error);
    }
    this.#done();
  }

  /** Stalled: retries the oldest failed event alone. */
  #probeStream(): void {
    this.#stallTimer = undefined;
    if (this.#resend.length === 0 || this.#abort.signal.aborted) return;
    let oldest = 0;
    for (let i = 1; i < this.#resend.length; i++) {
      if (this.#resend[i]!.order < this.#resend[oldest]!.order) oldest = i;
    }
    const [probe] = this.#resend.splice(oldest, 1);
    this.#stallProbe = probe;
    this.#stats.retried++;
    this.#transmit(probe!);
  }

  /** An acknowledgement while stalled: resend the failed events in order, go on. */
  #resume(acked: Pending): void {
    if (this.#stallProbe === acked) this.#stallProbe = undefined;
    this.#stalledSince = 0;
    this.#stallSteps = 0;
    clearTimeout(this.#stallTimer);
    this.#stallTimer = undefined;
    const resend = this.#resend.splice(0).sort((a, b) => a.order - b.order);
    this.#stats.retried += resend.length;
    for (const pending of resend) this.#transmit(pending);
  }

  /** One publish finished (stored or handed to the fallback). */
  #done(): void {
    this.#inFlight--;
    this.#pumpQueue();
  }

  #pumpQueue(): void {
    while (
      this.#inFlight < this.#opts.window && !this.#queueEmpty() &&
      this.#stalledSince === 0
    ) {
      const next = this.#shift()!;
      if (this.#mode === "fallback" || this.#abort.signal.aborted) {
        this.#toFallback(next.subject, next.payload);
      } else {
        this.#send(next);
      }
    }
    if (this.#inFlight === 0 && this.#queueEmpty() && this.#idle.size > 0) {
      for (const resolve of [...this.#idle]) resolve();
      this.#idle.clear();
    }
  }

  #toFallback(subject: string, payload: Uint8Array): void {
    this.#stats.fallback++;
    this.#opts.fallback(subject, payload);
  }

  #enterFallback(error?: unknown): void {
    this.#mode = "fallback";
    this.#stats.fallbackEpisodes++;
    this.#armProbe();
    // Failed events waiting for a retry go the core way, in order.
    clearTimeout(this.#stallTimer);
    this.#stallTimer = undefined;
    this.#stalledSince = 0;
    this.#stallSteps = 0;
    const waiting = this.#resend.splice(0).sort((a, b) => a.order - b.order);
    for (const pending of waiting) {
      this.#toFallback(pending.subject, pending.payload);
      this.#inFlight--;
    }
    this.#pumpQueue();
    this.#opts.logger.warn(
      "Event stream {stream} is not taking events{reason}: publishing on core NATS only (not stored, bounded, drops counted) and trying the stream again in {seconds} s ({fallback} events so far)",
      {
        stream: this.#opts.name,
        reason: error === undefined ? "" : `: ${errorMessage(error)}`,
        seconds: this.#opts.retryInterval / 1000,
        fallback: this.#stats.fallback,
      },
    );
    // Queued events go the core way now, in order.
    while (!this.#queueEmpty()) {
      const next = this.#shift()!;
      this.#toFallback(next.subject, next.payload);
    }
  }

  /** In fallback: tries the stream again after `retryInterval`. */
  #armProbe(): void {
    clearTimeout(this.#probeTimer);
    this.#probeTimer = setTimeout(() => {
      this.#probeTimer = undefined;
      this.#ensure().then((ok) => {
        if (this.#abort.signal.aborted) return;
        if (!ok) {
          this.#armProbe();
          return;
        }
        this.#mode = "stream";
        this.#opts.logger.info(
          "Event stream {stream} takes events again ({fallback} went to core NATS meanwhile)",
          { stream: this.#opts.name, fallback: this.#stats.fallback },
        );
      });
    }, this.#opts.retryInterval);
    Deno.unrefTimer(this.#probeTimer);
  }

  async #ensure(): Promise<boolean> {
    const { name, logger } = this.#opts;
    try {
      const { action, info } = await ensureEventStream(this.#jsm, this.#opts);
      const fields = {
        stream: name,
        subjects: (info.config.subjects ?? []).join(", "),
        replicas: info.config.num_replicas,
      };
      if (action === "created") {
        logger.info(
          "Created event stream {stream} ({subjects}; {replicas} replicas)",
          fields,
        );
      } else if (action === "extended") {
        logger.warn(
          "Event stream {stream} did not capture this proxy's events: added its subjects ({subjects}); other settings left as they are",
          fields,
        );
      } else {
        logger.info("Using event stream {stream} ({subjects})", fields);
      }
      return true;
    } catch (error) {
      logger.error("Cannot use event stream {stream}: {error}", {
        stream: name,
        error: errorMessage(error),
      });
      return false;
    }
  }
}
