/**
 * The bridge: ARI events → NATS subjects.
 *
 * Every ARI event frame goes out on `<prefix>event.<app>.<node>` as Asterisk
 * sent it (with `application` and `asterisk_id` filled in when missing),
 * plus one copy per bound dialog on `<prefix>dialogevent.<dialog>`. Events
 * are queued and published together once per event-loop turn, in order, and
 * dropped (counted, logged) when NATS falls more than `maxPendingEventBytes`
 * behind.
 *
 * Most frames are never parsed: with no dialog bound, a frame that names
 * our node and application at its top level is published as it is.
 *
 * @module
 */

import { clearImmediate, setImmediate } from "node:timers";
import type { Logger } from "@logtape/logtape";
import type { NatsConnection } from "@nats-io/nats-core";
import { eventKeys, isDestroyEvent } from "../client/protocol/event_keys.ts";
import {
  dialogEventSubject,
  eventSubject,
} from "../client/protocol/subjects.ts";
import type { AriEventObject } from "../client/native/events_socket.ts";
import type { DialogRegistry } from "./dialogs.ts";
import { errorMessage } from "./_log_text.ts";

/** Default bound of event bytes waiting for NATS (32 MiB). */
export const DEFAULT_MAX_PENDING_EVENT_BYTES = 32 * 1024 * 1024;
/** Period of the summary logged while events are dropped, in milliseconds. */
export const EVENT_DROP_REPORT_INTERVAL = 5_000;

/**
 * Queued event bytes that are published at once instead of at the end of
 * the turn: bursts are cut into batches of about this size.
 */
const MAX_EVENT_BATCH_BYTES = 256 * 1024;

/** `PUB `, ` `, the length and two CRLFs around a payload (close enough). */
const PUB_OVERHEAD = 16;

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const COMMA = 0x2c;

const encoder = new TextEncoder();

/** Event counters of the bridge (`stats().events` of the proxy). */
export interface ProxyEventStats {
  /** Events received from ARI. */
  received: number;
  /** Events published on `event.<app>.<node>`. */
  published: number;
  /** Dialog copies published on `dialogevent.<dialog>`. */
  dialogPublished: number;
  /**
   * Events and dialog copies not published: NATS refused them (closed,
   * payload too large) or they overflowed `maxPendingEventBytes`.
   */
  dropped: number;
  /** The part of `dropped` that overflowed `maxPendingEventBytes`. */
  overflowed: number;
  /** Events and dialog copies queued for the end of this event-loop turn. */
  queued: number;
  /**
   * Bytes the NATS client has not written to its socket yet (0 when the
   * client does not tell).
   */
  pendingBytes: number;
}

/** Options of {@linkcode createEventBridge}. */
export interface EventBridgeOptions {
  /** Subject prefix, normalised (ends with `.` or is empty). */
  prefix: string;
  /** ARI application whose events this bridge publishes. */
  application: string;
  /** Dialog bindings (copies go to each bound dialog). */
  dialogs: DialogRegistry;
  /** Bytes of events allowed to wait for NATS; beyond, events are dropped. */
  maxPendingEventBytes: number;
  /** Logger for event problems. */
  logger: Logger;
  /** Another client registered our application (an ApplicationReplaced event). */
  onApplicationReplaced(): void;
  /** An event names another node than ours: Asterisk may have a new id. */
  onForeignNode(): void;
}

/** Publishes ARI events on NATS. Create with {@linkcode createEventBridge}. */
export interface EventBridge {
  /** Sets the NATS connection to publish on (events wait until both are set). */
  setConnection(nc: NatsConnection): void;
  /** Sets the node id (the event subject). */
  setNode(node: string): void;
  /** Takes one ARI event frame (JSON text) as the WebSocket delivered it. */
  onFrame(frame: string): void;
  /** Publishes the queued events now, in order. */
  flush(): void;
  /** Counters. */
  stats(): ProxyEventStats;
  /** Publishes what is queued and stops the drop report timer. */
  close(): void;
}

/** Inserts `"dialog"` into an event's JSON text without re-encoding it. */
function withDialog(
  payload: string,
  event: AriEventObject,
  dialog: string,
): string {
  if (payload.charCodeAt(0) === OPEN_BRACE && !("dialog" in event)) {
    return `{"dialog":${JSON.stringify(dialog)},${payload.slice(1)}`;
  }
  return JSON.stringify({ ...event, dialog });
}

/**
 * Whether the JSON object text `frame` has the member `member` (compact
 * `"key":"value"` text, e.g. `"application":"app"`) in its outermost object,
 * decided from the text alone. `false` means "cannot tell cheaply" (parse
 * instead); for valid JSON it is never a wrong `true`:
 *
 * - the last occurrence of `quotedKey` (`"key"`) starts the member, right
 *   after `{` or `,` — so its quote is not escaped and it is a key, and no
 *   later duplicate of the key can override it;
 * - the value is the expected string, followed by `,` or `}`;
 * - the member is at depth 1: no `{`/`[` before it, or no `}`/`]` after it
 *   but the final `}`.
 *
 * Asterisk puts `asterisk_id` and `application` near the end, where the
 * backward search finds them at once.
 */
function hasTopLevelMember(
  frame: string,
  quotedKey: string,
  member: string,
): boolean {
  const at = frame.lastIndexOf(quotedKey);
  if (at <= 0) return false;
  const before = frame.charCodeAt(at - 1);
  if (before !== COMMA && before !== OPEN_BRACE) return false;
  const end = at + member.length;
  // (`slice` + `===` is several times faster than `startsWith` here.)
  if (frame.slice(at, end) !== member) return false;
  const next = frame.charCodeAt(end);
  if (next !== COMMA && next !== CLOSE_BRACE) return false;
  const brace = frame.indexOf("{", 1);
  const bracket = frame.indexOf("[", 1);
  if ((brace === -1 || brace > at) && (bracket === -1 || bracket > at)) {
    return true;
  }
  return frame.indexOf("}", end) === frame.length - 1 &&
    frame.indexOf("]", end) === -1;
}

/**
 * Encodes a batch of payloads. When they are all ASCII (the UTF-8 length
 * of the joined text equals its length, as for nearly every ARI event), one
 * `encode` of the joined text is cut into views; else each is encoded.
 */
function encodeBatch(payloads: string[]): Uint8Array[] {
  const n = payloads.length;
  if (n === 1) return [encoder.encode(payloads[0]!)];
  const joined = payloads.join("");
  const bytes = encoder.encode(joined);
  const out = new Array<Uint8Array>(n);
  if (bytes.length === joined.length) {
    let offset = 0;
    for (let i = 0; i < n; i++) {
      const end = offset + payloads[i]!.length;
      out[i] = bytes.subarray(offset, end);
      offset = end;
    }
  } else {
    for (let i = 0; i < n; i++) out[i] = encoder.encode(payloads[i]!);
  }
  return out;
}

/**
 * Bytes the NATS client holds but has not written to its socket yet: its
 * outbound buffer (which also grows while it reconnects) plus the
 * transport's unwritten bytes. nats.js exposes neither, so this reads
 * nats-core 3.x internals (`protocol.outbound`, `protocol.transport`: the
 * `writableLength` of our Deno socket transport, or of the Node socket of
 * `@nats-io/transport-node`) and counts what it cannot find as 0.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { natsPendingBytes } from "./bridge.ts";
 *
 * assert.equal(natsPendingBytes(undefined), 0);
 * ```
 */
export function natsPendingBytes(nc: NatsConnection | undefined): number {
  const protocol = (nc as {
    protocol?: {
      outbound?: { size?: () => number };
      transport?: unknown;
    };
  } | undefined)?.protocol;
  if (protocol === undefined) return 0;
  const outbound = protocol.outbound;
  const buffered = typeof outbound?.size === "function" ? outbound.size() : 0;
  const transport = protocol.transport as
    | { writableLength?: number; socket?: { writableLength?: number } }
    | undefined;
  const written = transport?.writableLength ??
    transport?.socket?.writableLength;
  return buffered + (typeof written === "number" ? written : 0);
}

class Bridge implements EventBridge {
  readonly #opts: EventBridgeOptions;
  readonly #log: Logger;
  readonly #app: string;
  readonly #prefix: string;
  readonly #dialogs: DialogRegistry;
  #nc: NatsConnection | undefined;
  #node: string | undefined;
  #eventSubject = "";
  readonly #ev = {
    received: 0,
    published: 0,
    dialogPublished: 0,
    dropped: 0,
    overflowed: 0,
  };
  /** `"application":"<app>"`, to find it in a frame without parsing. */
  readonly #appMember: string;
  /** `"asterisk_id":"<node>"`, to find it in a frame without parsing. */
  #nodeMember = "";
  /** `,"asterisk_id":"<node>","application":"<app>"}`: Asterisk's usual tail. */
  #plainTail = "";
  // The outbound event queue: parallel arrays, flushed once per turn.
  #qSubjects: string[] = [];
  #qPayloads: string[] = [];
  #qDialog: boolean[] = [];
  /** Size of the queue in the NATS protocol (`PUB <subject> <n>\r\n…\r\n`). */
  #qBytes = 0;
  #flushHandle: ReturnType<typeof setImmediate> | undefined;
  /** `natsPendingBytes` after the last flush. */
  #natsPending = 0;
  /** Publications NATS refused (part of `dropped`). */
  #publishFailures = 0;
  /** Overflow drops not yet reported, and the report timer. */
  #overflowUnreported = 0;
  #overflowTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(opts: EventBridgeOptions) {
    this.#opts = opts;
    this.#log = opts.logger;
    this.#app = opts.application;
    this.#prefix = opts.prefix;
    this.#dialogs = opts.dialogs;
    this.#appMember = `"application":${JSON.stringify(this.#app)}`;
  }

  setConnection(nc: NatsConnection): void {
    this.#nc = nc;
  }

  setNode(node: string): void {
    this.#node = node;
    this.#eventSubject = eventSubject(this.#prefix, this.#app, node);
    this.#nodeMember = `"asterisk_id":${JSON.stringify(node)}`;
    this.#plainTail = `,${this.#nodeMember},${this.#appMember}}`;
  }

  /**
   * One ARI frame, unparsed. Most frames are published as they are: no
   * dialogs are bound, and the frame names our node and application at its
   * top level. The rest are parsed (`#onEvent`).
   */
  onFrame(frame: string): void {
    if (
      this.#dialogs.size === 0 && this.#node !== undefined &&
      this.#nc !== undefined && this.#isPlainFrame(frame)
    ) {
      this.#ev.received++;
      this.#enqueue(this.#eventSubject, frame, false);
      return;
    }
    let event: unknown;
    try {
      event = JSON.parse(frame);
    } catch (error) {
      this.#log.warn("Bad ARI event frame: {error}", {
        error: `Cannot parse an ARI event frame: it is not JSON (${
          errorMessage(error)
        })`,
      });
      return;
    }
    if (typeof event !== "object" || event === null || Array.isArray(event)) {
      this.#log.warn("Bad ARI event frame: {error}", {
        error: "Cannot use an ARI event frame: it is not a JSON object",
      });
      return;
    }
    this.#onEvent(event as AriEventObject, frame);
  }

  /**
   * Whether a frame can be published as it is, judged from its text: it is
   * an object that names our node and application at its top level (found
   * at once in Asterisk's usual `…,"asterisk_id":…,"application":…}` tail,
   * else by {@linkcode hasTopLevelMember}) and is not ApplicationReplaced.
   */
  #isPlainFrame(frame: string): boolean {
    const n = frame.length;
    if (frame.charCodeAt(0) !== OPEN_BRACE) return false;
    const tail = this.#plainTail;
    if (
      !(n > tail.length && frame.slice(n - tail.length) === tail) &&
      !(frame.charCodeAt(n - 1) === CLOSE_BRACE &&
        hasTopLevelMember(frame, '"asterisk_id"', this.#nodeMember) &&
        hasTopLevelMember(frame, '"application"', this.#appMember))
    ) {
      return false;
    }
    return !frame.includes("ApplicationReplaced");
  }

  #onEvent(event: AriEventObject, raw: string): void {
    this.#ev.received++;
    const node = this.#node;
    if (node === undefined || this.#nc === undefined) return;
    const asteriskId = event.asterisk_id;
    let payload: string;
    if (
      typeof event.application !== "string" || typeof asteriskId !== "string"
    ) {
      if (typeof event.application !== "string") {
        event.application = this.#app;
      }
      if (typeof asteriskId !== "string") event.asterisk_id = node;
      payload = JSON.stringify(event);
    } else {
      if (asteriskId !== node) this.#opts.onForeignNode();
      payload = raw;
    }
    this.#enqueue(this.#eventSubject, payload, false);
    if (this.#dialogs.size > 0) this.#routeDialogs(event, payload);
    if (
      event.type === "ApplicationReplaced" && event.application === this.#app
    ) {
      this.#opts.onApplicationReplaced();
    }
  }

  /**
   * Queues a publication for the end of this event-loop turn, or drops it
   * when NATS is already `maxPendingEventBytes` behind.
   */
  #enqueue(subject: string, payload: string, dialog: boolean): void {
    const size = subject.length + payload.length + PUB_OVERHEAD;
    const limit = this.#opts.maxPendingEventBytes - this.#qBytes - size;
    if (
      this.#natsPending > limit &&
      (this.#natsPending = natsPendingBytes(this.#nc)) > limit
    ) {
      this.#overflow();
      return;
    }
    this.#qSubjects.push(subject);
    this.#qPayloads.push(payload);
    this.#qDialog.push(dialog);
    this.#qBytes += size;
    if (this.#qBytes >= MAX_EVENT_BATCH_BYTES) {
      // A long burst: publish what we have (less memory held per turn).
      this.flush();
    } else {
      // After the I/O callbacks of this turn: every frame the WebSocket had
      // ready is queued by then, so NATS gets one batch (a few socket
      // writes) instead of one write per event.
      this.#flushHandle ??= setImmediate(this.flush);
    }
  }

  /** Publishes the queue, in order. */
  flush = (): void => {
    if (this.#flushHandle !== undefined) {
      clearImmediate(this.#flushHandle);
      this.#flushHandle = undefined;
    }
    const n = this.#qSubjects.length;
    if (n === 0) return;
    const subjects = this.#qSubjects;
    const dialog = this.#qDialog;
    const bodies = encodeBatch(this.#qPayloads);
    this.#qSubjects = [];
    this.#qPayloads = [];
    this.#qDialog = [];
    this.#qBytes = 0;
    for (let i = 0; i < n; i++) {
      if (this.#publish(subjects[i]!, bodies[i]!)) {
        if (dialog[i]) this.#ev.dialogPublished++;
        else this.#ev.published++;
      }
    }
    this.#natsPending = natsPendingBytes(this.#nc);
  };

  #publish(subject: string, payload: Uint8Array): boolean {
    try {
      this.#nc!.publish(subject, payload);
      return true;
    } catch (error) {
      this.#ev.dropped++;
      this.#publishFailures++;
      if (this.#publishFailures === 1 || this.#publishFailures % 1000 === 0) {
        this.#log.warn(
          "Cannot publish on {subject}: {error} ({dropped} dropped so far)",
          { subject, error: errorMessage(error), dropped: this.#ev.dropped },
        );
      }
      return false;
    }
  }

  /** Counts an overflow drop; warns at once, then sums up periodically. */
  #overflow(): void {
    this.#ev.dropped++;
    this.#ev.overflowed++;
    if (this.#overflowTimer !== undefined) {
      this.#overflowUnreported++;
      return;
    }
    this.#log.warn(
      "NATS is not taking events as fast as ARI sends them: {pending} bytes wait to be written (limit {limit}); DROPPING EVENTS until it catches up ({dropped} dropped so far)",
      {
        pending: this.#natsPending + this.#qBytes,
        limit: this.#opts.maxPendingEventBytes,
        dropped: this.#ev.overflowed,
      },
    );
    this.#armOverflowReport();
  }

  #armOverflowReport(): void {
    this.#overflowTimer = setTimeout(
      () => this.#reportOverflow(),
      EVENT_DROP_REPORT_INTERVAL,
    );
    Deno.unrefTimer(this.#overflowTimer);
  }

  #reportOverflow(): void {
    this.#overflowTimer = undefined;
    const count = this.#overflowUnreported;
    this.#overflowUnreported = 0;
    if (count === 0) {
      this.#log.info(
        "NATS caught up with the ARI events; {dropped} events dropped so far",
        { dropped: this.#ev.overflowed },
      );
      return;
    }
    this.#log.warn(
      "DROPPED {count} events in the last {seconds} s: NATS is not taking them as fast as ARI sends them ({pending} bytes wait to be written, limit {limit}; {dropped} dropped so far)",
      {
        count,
        seconds: EVENT_DROP_REPORT_INTERVAL / 1000,
        pending: this.#natsPending + this.#qBytes,
        limit: this.#opts.maxPendingEventBytes,
        dropped: this.#ev.overflowed,
      },
    );
    this.#armOverflowReport();
  }

  #routeDialogs(event: AriEventObject, payload: string): void {
    let dialogs: string[];
    try {
      dialogs = this.#dialogs.dialogsFor(eventKeys(event as never));
    } catch (error) {
      this.#log.debug("Cannot compute event keys: {error}", {
        error: errorMessage(error),
      });
      return;
    }
    for (const dialog of dialogs) {
      this.#enqueue(
        dialogEventSubject(this.#prefix, dialog),
        withDialog(payload, event, dialog),
        true,
      );
    }
    try {
      for (const key of isDestroyEvent(event as never)) {
        if (key.kind && key.id) this.#dialogs.unbind(key.kind, key.id);
      }
    } catch {
      // Not a destroy event we understand.
    }
  }

  stats(): ProxyEventStats {
    return {
      ...this.#ev,
      queued: this.#qSubjects.length,
      pendingBytes: natsPendingBytes(this.#nc),
    };
  }

  close(): void {
    this.flush();
    clearTimeout(this.#overflowTimer);
    this.#overflowTimer = undefined;
  }
}

/**
 * Creates the bridge from ARI events to NATS subjects. It publishes once
 * both {@linkcode EventBridge.setConnection} and
 * {@linkcode EventBridge.setNode} were called; feed it frames with
 * {@linkcode EventBridge.onFrame}.
 *
 * @param options Subjects, dialog bindings, the pending-bytes bound, logger
 * and callbacks.
 * @returns The bridge.
 *
 * @example Publish one frame
 * ```ts ignore
 * import { getLogger } from "@logtape/logtape";
 * import { createDialogRegistry } from "./dialogs.ts";
 * import { createEventBridge } from "./bridge.ts";
 *
 * const bridge = createEventBridge({
 *   prefix: "ari.",
 *   application: "app",
 *   dialogs: createDialogRegistry(),
 *   maxPendingEventBytes: 1 << 25,
 *   logger: getLogger(["ari-proxy", "server", "events"]),
 *   onApplicationReplaced: () => {},
 *   onForeignNode: () => {},
 * });
 * bridge.setConnection(nc);
 * bridge.setNode("node1");
 * bridge.onFrame('{"type":"StasisEnd","asterisk_id":"node1","application":"app"}');
 * bridge.close(); // publishes on ari.event.app.node1
 * ```
 */
export function createEventBridge(options: EventBridgeOptions): EventBridge {
  return new Bridge(options);
}
