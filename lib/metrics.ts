/**
 * Prometheus metrics of the proxy: the counters the hot paths bump (plain
 * numbers in typed arrays, found without allocating) and the text
 * exposition (format 0.0.4) that `GET /metrics` serves.
 *
 * The exposition is written here rather than with `prom-client`: its
 * counters build a label key string on every `inc()` (an allocation per
 * event), it is tied to Node's `process`, and what we need of the text
 * format is one escaping rule and a few loops.
 *
 * Names follow Prometheus conventions: prefix `ari_proxy_`, counters end
 * in `_total`, durations are histograms in `_seconds`.
 *
 * @module
 */

import type { EventStreamStats } from "./event_stream.ts";
import { isKindName } from "../client/protocol/kinds.ts";
import type { RequestClass } from "../client/protocol/kinds.ts";

/** How a request ended, as the `outcome` label of `ari_proxy_requests_total`. */
export type RequestOutcome =
  | "ok"
  | "ari_error"
  | "timeout"
  | "invalid"
  | "overloaded"
  | "not_implemented"
  | "ari_down"
  | "error";

/** Every {@linkcode RequestOutcome}, in label order. */
export const REQUEST_OUTCOMES: readonly RequestOutcome[] = [
  "ok",
  "ari_error",
  "timeout",
  "invalid",
  "overloaded",
  "not_implemented",
  "ari_down",
  "error",
];

/** Index of each outcome in {@linkcode REQUEST_OUTCOMES}. */
export const OUTCOME = {
  ok: 0,
  ariError: 1,
  timeout: 2,
  invalid: 3,
  overloaded: 4,
  notImplemented: 5,
  ariDown: 6,
  error: 7,
} as const;

/** Request classes in label order (index = `class` argument). */
export const METRIC_CLASSES: readonly RequestClass[] = [
  "get",
  "data",
  "command",
  "create",
];

/**
 * Upper bounds of the request duration buckets, in seconds (ARI calls on
 * loopback take about a millisecond; timeouts 10 s).
 */
export const REQUEST_DURATION_BUCKETS: readonly number[] = [
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
];

/** Distinct event types counted by name; more are counted as `other`. */
const MAX_EVENT_TYPES = 256;

/** Maps a response's `code` to an outcome index. */
export function outcomeOfCode(code: string | undefined): number {
  switch (code) {
    case undefined:
    case "":
      return OUTCOME.error;
    case "timeout":
      return OUTCOME.timeout;
    case "unknownKind":
      return OUTCOME.notImplemented;
    case "ariHttp":
    case "notFound":
    case "badAriResponse":
      return OUTCOME.ariError;
    case "ariDown":
    case "closed":
      return OUTCOME.ariDown;
    case "overloaded":
      return OUTCOME.overloaded;
    case "invalidJson":
    case "notObject":
    case "missingBody":
    case "invalidField":
    case "missingKey":
    case "invalidKey":
    case "tooLarge":
      return OUTCOME.invalid;
    default:
      return OUTCOME.error;
  }
}

/** Request counters of one kind: `[application × outcome]`. */
export interface KindCounters {
  /** The `kind` label (`unknown` for names that are not kinds). */
  readonly kind: string;
  /** Counts at `app * REQUEST_OUTCOMES.length + outcome`. */
  readonly counts: Float64Array;
}

/** Event counters of one type, one slot per application. */
export interface EventTypeCounters {
  /** The `type` label. */
  readonly type: string;
  /** Events received from ARI. */
  readonly received: Float64Array;
  /** Events published on the event subject. */
  readonly published: Float64Array;
  /** Dialog copies published. */
  readonly dialogPublished: Float64Array;
  /** Events and copies dropped because NATS was too far behind. */
  readonly overflowed: Float64Array;
  /** Events and copies NATS refused. */
  readonly failed: Float64Array;
  /** The next type of the same shape (internal lookup chain). */
  next?: EventTypeCounters | undefined;
}

/** Values read at scrape time (not counted on the hot path). */
export interface MetricsSnapshot {
  /** The node id (`""` before it is known). */
  node: string;
  /** Proxy version. */
  version: string;
  /** ARI WebSocket connected and verified. */
  ariConnected: boolean;
  /** NATS connected. */
  natsConnected: boolean;
  /** ARI event stream reconnects. */
  ariReconnects: number;
  /** NATS reconnects. */
  natsReconnects: number;
  /** Requests executing now. */
  inFlight: number;
  /** Requests waiting for a slot now. */
  queued: number;
  /** Request messages received. */
  received: number;
  /** Request messages without reply subject. */
  noReply: number;
  /** Entities with dialog bindings. */
  dialogEntities: number;
  /** Dialogs with bindings. */
  dialogs: number;
  /** Bindings evicted at the limit. */
  dialogEvicted: number;
  /** Announcements sent, per application (same order). */
  announcements: readonly number[];
  /** Entity id changes. */
  entityChanges: number;
  /** Event bytes waiting for NATS. */
  pendingEventBytes: number;
  /** The JetStream event publisher's counters, when `--events.stream` is on. */
  eventStream?: EventStreamStats;
}

/** The proxy's counters. Create with {@linkcode createProxyMetrics}. */
export interface ProxyMetrics {
  /** The applications (label values; indices used by the record calls). */
  readonly applications: readonly string[];
  /** Counters of a request kind (`unknown` for a name that is no kind). */
  kind(kind: string | undefined): KindCounters;
  /**
   * Counts one answered request.
   *
   * @param app Application index.
   * @param kind From {@linkcode ProxyMetrics.kind}.
   * @param cls Class index in {@linkcode METRIC_CLASSES}.
   * @param outcome Index in {@linkcode REQUEST_OUTCOMES}.
   * @param seconds Time from receipt to reply.
   */
  request(
    app: number,
    kind: KindCounters,
    cls: number,
    outcome: number,
    seconds: number,
  ): void;
  /** Counters of the event type of an unparsed ARI frame. */
  frameType(frame: string): EventTypeCounters;
  /** Counters of an event type taken from a parsed event. */
  eventType(type: unknown): EventTypeCounters;
  /** The text exposition. */
  render(snapshot: MetricsSnapshot): string;
}

/** Options of {@linkcode createProxyMetrics}. */
export interface ProxyMetricsOptions {
  /** The applications, in the proxy's order. */
  applications: readonly string[];
}

const TYPE_HEAD = '{"type":"';
const TYPE_HEAD_CODES: readonly number[] = [...TYPE_HEAD].map((c) =>
  c.charCodeAt(0)
);

function escapeLabel(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => c === "\n" ? "\\n" : `\\${c}`);
}

function formatNumber(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "+Inf";
  if (n === -Infinity) return "-Inf";
  return String(n);
}

const TYPE_MEMBER = '"type":"';

/**
 * Where the value of a top-level `"type"` member starts when it is not
 * first (Asterisk writes ChannelVarset as `{"variable":…,"type":…}`): the
 * first `"type":"`, right after `{` or `,`, with no object or array opened
 * before it. -1 when that cannot be told from the text.
 */
function topLevelTypeStart(frame: string): number {
  const at = frame.indexOf(TYPE_MEMBER);
  if (at <= 0) return -1;
  const before = frame.charCodeAt(at - 1);
  if (before !== 0x2c && before !== 0x7b) return -1;
  const brace = frame.indexOf("{", 1);
  const bracket = frame.indexOf("[", 1);
  if ((brace !== -1 && brace < at) || (bracket !== -1 && bracket < at)) {
    return -1;
  }
  return at + TYPE_MEMBER.length;
}

class Metrics implements ProxyMetrics {
  readonly applications: readonly string[];
  readonly #apps: number;
  readonly #kinds = new Map<string, KindCounters>();
  readonly #unknownKind: KindCounters;
  // Histograms per class: bucket counts (not cumulative), sum, count.
  readonly #buckets: Float64Array[];
  readonly #sums = new Float64Array(METRIC_CLASSES.length);
  readonly #counts = new Float64Array(METRIC_CLASSES.length);
  readonly #types = new Map<string, EventTypeCounters>();
  /**
   * Length, first and last letter of a type name → the counters of the
   * types of that shape (a chain through `next`), for frames.
   */
  readonly #typeByShape = new Map<number, EventTypeCounters>();
  #otherType: EventTypeCounters | undefined;

  constructor(options: ProxyMetricsOptions) {
    this.applications = [...options.applications];
    this.#apps = this.applications.length;
    this.#unknownKind = this.#newKind("unknown");
    this.#buckets = METRIC_CLASSES.map(() =>
      new Float64Array(REQUEST_DURATION_BUCKETS.length + 1)
    );
  }

  #newKind(kind: string): KindCounters {
    return {
      kind,
      counts: new Float64Array(this.#apps * REQUEST_OUTCOMES.length),
    };
  }

  kind(kind: string | undefined): KindCounters {
    if (kind === undefined) return this.#unknownKind;
    let counters = this.#kinds.get(kind);
    if (counters === undefined) {
      if (!isKindName(kind)) return this.#unknownKind;
      counters = this.#newKind(kind);
      this.#kinds.set(kind, counters);
    }
    return counters;
  }

  request(
    app: number,
    kind: KindCounters,
    cls: number,
    outcome: number,
    seconds: number,
  ): void {
    kind.counts[app * REQUEST_OUTCOMES.length + outcome]!++;
    const bounds = REQUEST_DURATION_BUCKETS;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]!) i++;
    this.#buckets[cls]![i]!++;
    this.#sums[cls]! += seconds;
    this.#counts[cls]!++;
  }

  #newType(type: string): EventTypeCounters {
    const n = this.#apps;
    return {
      type,
      received: new Float64Array(n),
      published: new Float64Array(n),
      dialogPublished: new Float64Array(n),
      overflowed: new Float64Array(n),
      failed: new Float64Array(n),
      next: undefined,
    };
  }

  eventType(type: unknown): EventTypeCounters {
    if (typeof type !== "string") return this.#other();
    let counters = this.#types.get(type);
    if (counters === undefined) {
      if (this.#types.size >= MAX_EVENT_TYPES) return this.#other();
      counters = this.#newType(type);
      this.#types.set(type, counters);
    }
    return counters;
  }

  #other(): EventTypeCounters {
    return this.#otherType ??= this.eventType("other");
  }

  frameType(frame: string): EventTypeCounters {
    // Asterisk writes `"type"` first. Find the name's end (a native
    // search), look up the types of that length and first and last letter,
    // and compare the name char by char: no substring, no hashing loop.
    let start = TYPE_HEAD.length;
    for (let i = 0; i < start; i++) {
      if (frame.charCodeAt(i) !== TYPE_HEAD_CODES[i]) {
        start = topLevelTypeStart(frame);
        if (start === -1) return this.#other();
        break;
      }
    }
    const end = frame.indexOf('"', start);
    if (end <= start) return this.#other();
    const length = end - start;
    const key = length * 0x10000 +
      ((frame.charCodeAt(start) & 0xff) << 8) +
      (frame.charCodeAt(end - 1) & 0xff);
    let candidate = this.#typeByShape.get(key);
    while (candidate !== undefined) {
      const name = candidate.type;
      let k = 1;
      while (k < length && name.charCodeAt(k) === frame.charCodeAt(start + k)) {
        k++;
      }
      if (k === length) return candidate;
      candidate = candidate.next;
    }
    const text = frame.slice(start, end);
    if (text.includes("\\")) return this.#other();
    const counters = this.eventType(text);
    if (counters !== this.#otherType && counters.type === text) {
      const head = this.#typeByShape.get(key);
      if (head !== counters) {
        counters.next = head;
        this.#typeByShape.set(key, counters);
      }
    }
    return counters;
  }

  render(s: MetricsSnapshot): string {
    const out: string[] = [];
    const apps = this.applications.map(escapeLabel);
    const head = (name: string, type: string, help: string) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    };
    const one = (name: string, type: string, help: string, value: number) => {
      head(name, type, help);
      out.push(`${name} ${formatNumber(value)}`);
    };

    head(
      "ari_proxy_build_info",
      "gauge",
      "Build and identity of the proxy: version, Asterisk node id, ARI application.",
    );
    const version = escapeLabel(s.version);
    const node = escapeLabel(s.node);
    for (const app of apps) {
      out.push(
        `ari_proxy_build_info{version="${version}",node="${node}",application="${app}"} 1`,
      );
    }
    one(
      "ari_proxy_ari_connected",
      "gauge",
      "Whether the ARI events WebSocket is connected and verified (1) or not (0).",
      s.ariConnected ? 1 : 0,
    );
    one(
      "ari_proxy_nats_connected",
      "gauge",
      "Whether the NATS connection is up (1) or not (0).",
      s.natsConnected ? 1 : 0,
    );
    one(
      "ari_proxy_ari_reconnects_total",
      "counter",
      "Times the ARI events WebSocket reconnected.",
      s.ariReconnects,
    );
    one(
      "ari_proxy_nats_reconnects_total",
      "counter",
      "Times the NATS connection reconnected.",
      s.natsReconnects,
    );
    one(
      "ari_proxy_entity_changes_total",
      "counter",
      "Times Asterisk came back with another entity id.",
      s.entityChanges,
    );

    one(
      "ari_proxy_requests_received_total",
      "counter",
      "Request messages received, with or without a reply subject.",
      s.received,
    );
    one(
      "ari_proxy_requests_ignored_total",
      "counter",
      "Request messages ignored because they had no reply subject.",
      s.noReply,
    );
    head(
      "ari_proxy_requests_total",
      "counter",
      "Requests answered, by application, kind and outcome.",
    );
    const kinds = [this.#unknownKind, ...this.#kinds.values()];
    for (const k of kinds) {
      const kind = escapeLabel(k.kind);
      for (let a = 0; a < apps.length; a++) {
        for (let o = 0; o < REQUEST_OUTCOMES.length; o++) {
          const value = k.counts[a * REQUEST_OUTCOMES.length + o]!;
          if (value === 0) continue;
          out.push(
            `ari_proxy_requests_total{application="${
              apps[a]
            }",kind="${kind}",outcome="${REQUEST_OUTCOMES[o]}"} ${value}`,
          );
        }
      }
    }
    head(
      "ari_proxy_request_duration_seconds",
      "histogram",
      "Time from receiving a request to sending its reply, by request class.",
    );
    for (let c = 0; c < METRIC_CLASSES.length; c++) {
      const cls = METRIC_CLASSES[c];
      const buckets = this.#buckets[c]!;
      let cumulative = 0;
      for (let b = 0; b < REQUEST_DURATION_BUCKETS.length; b++) {
        cumulative += buckets[b]!;
        out.push(
          `ari_proxy_request_duration_seconds_bucket{class="${cls}",le="${
            formatNumber(REQUEST_DURATION_BUCKETS[b]!)
          }"} ${cumulative}`,
        );
      }
      cumulative += buckets[REQUEST_DURATION_BUCKETS.length]!;
      out.push(
        `ari_proxy_request_duration_seconds_bucket{class="${cls}",le="+Inf"} ${cumulative}`,
        `ari_proxy_request_duration_seconds_sum{class="${cls}"} ${
          formatNumber(this.#sums[c]!)
        }`,
        `ari_proxy_request_duration_seconds_count{class="${cls}"} ${this
          .#counts[c]!}`,
      );
    }
    one(
      "ari_proxy_requests_in_flight",
      "gauge",
      "Requests executing now.",
      s.inFlight,
    );
    one(
      "ari_proxy_requests_queued",
      "gauge",
      "Requests waiting for a free execution slot now.",
      s.queued,
    );

    const types = [...this.#types.values()];
    const eventSeries = (
      name: string,
      pick: (t: EventTypeCounters) => Float64Array,
      extra = "",
    ) => {
      for (const t of types) {
        const values = pick(t);
        const type = escapeLabel(t.type);
        for (let a = 0; a < apps.length; a++) {
          if (values[a] === 0) continue;
          out.push(
            `${name}{application="${apps[a]}",type="${type}"${extra}} ${
              values[a]
            }`,
          );
        }
      }
    };
    head(
      "ari_proxy_events_received_total",
      "counter",
      "ARI events received, by application and event type.",
    );
    eventSeries("ari_proxy_events_received_total", (t) => t.received);
    head(
      "ari_proxy_events_published_total",
      "counter",
      "ARI events published on NATS, by application and event type.",
    );
    eventSeries("ari_proxy_events_published_total", (t) => t.published);
    head(
      "ari_proxy_dialog_events_published_total",
      "counter",
      "Dialog copies of ARI events published on NATS, by application and event type.",
    );
    eventSeries(
      "ari_proxy_dialog_events_published_total",
      (t) => t.dialogPublished,
    );
    head(
      "ari_proxy_events_dropped_total",
      "counter",
      "ARI events and dialog copies not published, by application, event type and reason (overflow: NATS too far behind; nats_error: NATS refused).",
    );
    eventSeries(
      "ari_proxy_events_dropped_total",
      (t) => t.overflowed,
      ',reason="overflow"',
    );
    eventSeries(
      "ari_proxy_events_dropped_total",
      (t) => t.failed,
      ',reason="nats_error"',
    );
    one(
      "ari_proxy_events_pending_bytes",
      "gauge",
      "Bytes of events waiting to be written to NATS.",
      s.pendingEventBytes,
    );

    one(
      "ari_proxy_dialog_bindings",
      "gauge",
      "Entities (channels, bridges, ...) bound to at least one dialog.",
      s.dialogEntities,
    );
    one(
      "ari_proxy_dialogs",
      "gauge",
      "Dialogs with at least one binding.",
      s.dialogs,
    );
    one(
      "ari_proxy_dialog_bindings_evicted_total",
      "counter",
      "Dialog bindings evicted because the binding limit was reached.",
      s.dialogEvicted,
    );
    head(
      "ari_proxy_announcements_total",
      "counter",
      "Discovery announcements sent, by application.",
    );
    for (let a = 0; a < apps.length; a++) {
      out.push(
        `ari_proxy_announcements_total{application="${apps[a]}"} ${
          s.announcements[a] ?? 0
        }`,
      );
    }
    const stream = s.eventStream;
    if (stream !== undefined) {
      const label = `{stream="${escapeLabel(stream.stream)}"}`;
      const streamFigures: [string, string, string, number][] = [
        [
          "stored_total",
          "counter",
          "Events the JetStream stream acknowledged as stored.",
          stream.stored,
        ],
        [
          "duplicates_total",
          "counter",
          "Acknowledgements that reported a duplicate (a retry of a stored event).",
          stream.duplicates,
        ],
        [
          "retries_total",
          "counter",
          "Event publishes to the stream retried.",
          stream.retried,
        ],
        [
          "fallback_events_total",
          "counter",
          "Events sent on core NATS only because the stream could not take them.",
          stream.fallback,
        ],
        [
          "fallback_episodes_total",
          "counter",
          "Times the proxy fell back from the stream to core NATS.",
          stream.fallbackEpisodes,
        ],
        [
          "in_flight",
          "gauge",
          "Stream publishes waiting for their acknowledgement.",
          stream.inFlight,
        ],
        [
          "queued",
          "gauge",
          "Events waiting for a slot in the acknowledgement window.",
          stream.queued,
        ],
        [
          "active",
          "gauge",
          "1 while events go to the stream, 0 while on the core NATS fallback.",
          stream.mode === "stream" ? 1 : 0,
        ],
      ];
      for (const [suffix, type, help, value] of streamFigures) {
        const name = `ari_proxy_event_stream_${suffix}`;
        head(name, type, help);
        out.push(`${name}${label} ${formatNumber(value)}`);
      }
    }
    const memory = Deno.memoryUsage();
    one(
      "process_resident_memory_bytes",
      "gauge",
      "Resident memory size in bytes.",
      memory.rss,
    );
    one(
      "ari_proxy_heap_used_bytes",
      "gauge",
      "V8 heap in use, in bytes.",
      memory.heapUsed,
    );
    out.push("");
    return out.join("\n");
  }
}

/**
 * Creates the proxy's counters.
 *
 * @param options The applications (label values, in the proxy's order).
 * @returns The counters, all zero.
 *
 * @example Count a request and render the exposition
 * ```ts
 * import assert from "node:assert/strict";
 * import { createProxyMetrics, OUTCOME } from "./metrics.ts";
 *
 * const metrics = createProxyMetrics({ applications: ["app"] });
 * metrics.request(0, metrics.kind("ChannelAnswer"), 2, OUTCOME.ok, 0.002);
 * const text = metrics.render({
 *   node: "n1", version: "1.0.0", ariConnected: true, natsConnected: true,
 *   ariReconnects: 0, natsReconnects: 0, inFlight: 0, queued: 0,
 *   received: 1, noReply: 0, dialogEntities: 0, dialogs: 0,
 *   dialogEvicted: 0, announcements: [1], entityChanges: 0,
 *   pendingEventBytes: 0,
 * });
 * assert.match(
 *   text,
 *   /ari_proxy_requests_total\{application="app",kind="ChannelAnswer",outcome="ok"\} 1/,
 * );
 * ```
 */
export function createProxyMetrics(options: ProxyMetricsOptions): ProxyMetrics {
  if (options.applications.length === 0) {
    throw new TypeError(
      "Cannot create metrics: at least one application is required",
    );
  }
  return new Metrics(options);
}
