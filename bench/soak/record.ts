/**
 * What the soak records — every request the client applications sent, every
 * user event posted to Asterisk and every one a consumer received, every
 * fault's window — and the figures computed from it, per fault and in total.
 *
 * @module
 */

import { errors } from "../../client/mod.ts";

/** One request of a client application. */
export interface RequestRecord {
  /** Node label it went to (`A`, `B`). */
  node: string;
  /** The operation (`originate`, `answer`, `info`, …). */
  op: string;
  /** Sent, ms since the soak started. */
  start: number;
  /** Settled, ms since the soak started. */
  end: number;
  /** The timeout it was given, ms. */
  timeout: number;
  /** `undefined` when answered; else the error's class name. */
  error?: string;
  /** Whether the error is one of the client's typed errors. */
  typed?: boolean;
}

/** The client's typed errors (everything a caller is promised to get). */
const TYPED: readonly (new (...args: never[]) => Error)[] = [
  errors.AriHttpError,
  errors.TimeoutError,
  errors.ConnectionError,
  errors.ClosedConnectionError,
  errors.ProtocolError,
  errors.RemoteError,
  errors.NotImplementedError,
];

/**
 * Whether `error` is one of the client's typed errors.
 *
 * @param error Anything thrown.
 * @returns `true` for a typed error.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { errors } from "../../client/mod.ts";
 * import { isTypedError } from "./record.ts";
 *
 * assert.ok(isTypedError(new errors.TimeoutError({ timeout: 1, operation: "x" })));
 * assert.ok(!isTypedError(new TypeError("x")));
 * ```
 */
export function isTypedError(error: unknown): boolean {
  return TYPED.some((cls) => error instanceof cls);
}

/** A fault's window. */
export interface FaultWindow {
  /** Its name (`nats-kill`, …). */
  name: string;
  /** What it does. */
  description: string;
  /** Node labels it affects (`[]`: none should notice). */
  affects: string[];
  /** Start, ms since the soak started. */
  start: number;
  /** End (the component is back), ms since the soak started. */
  end: number;
}

/** Posted and received user events of one node. */
export class EventLedger {
  /** Post time by sequence number (accepted by Asterisk). */
  readonly posted = new Map<number, number>();
  /** Posts Asterisk refused or that failed. */
  postFailures = 0;
  /** Per consumer: arrival time by sequence number. */
  readonly received: Map<number, number>[] = [];
  /** Per consumer: duplicates. */
  readonly duplicates: number[] = [];
  /** Every arrival time, any consumer, in order. */
  readonly arrivals: number[] = [];

  /**
   * Adds a consumer.
   *
   * @returns Its index.
   */
  addConsumer(): number {
    this.received.push(new Map());
    this.duplicates.push(0);
    return this.received.length - 1;
  }

  /**
   * Records an arrival.
   *
   * @param consumer Consumer index.
   * @param seq The event's sequence number.
   * @param at Arrival, ms since the soak started.
   */
  receive(consumer: number, seq: number, at: number): void {
    const map = this.received[consumer]!;
    if (map.has(seq)) this.duplicates[consumer]!++;
    else map.set(seq, at);
    this.arrivals.push(at);
  }
}

/** Request counts. */
export interface RequestFigures {
  /** Sent. */
  sent: number;
  /** Answered (no error). */
  answered: number;
  /** Failed. */
  failed: number;
  /** Failed with a typed error within the timeout (+ grace). */
  failedTyped: number;
  /** Failed otherwise (untyped, or late). */
  failedOther: number;
  /** Failures by error class. */
  byError: Record<string, number>;
  /** The longest a failed request took beyond its timeout, ms (≤ 0: never late). */
  maxOverrunMs: number;
}

/** Event counts. */
export interface EventFigures {
  /** Events posted and accepted by Asterisk, times consumers. */
  expected: number;
  /** Of those, received. */
  received: number;
  /** Lost inside a fault window (posted from 1 s before a fault that affects the node until it recovered). */
  lostInside: number;
  /** Lost outside every fault window (the goal: 0). */
  lostOutside: number;
  /** Received twice. */
  duplicates: number;
  /** Posts Asterisk refused or that failed (not counted as expected). */
  postFailures: number;
}

/** One fault's figures. */
export interface FaultFigures extends FaultWindow {
  /** Requests sent inside the window (start to recovery). */
  requests: RequestFigures;
  /** Events posted inside the window. */
  events: { expected: number; lost: number };
  /** Per affected node: ms from the fault's end to the first answered request sent after it. */
  firstRequestMs: Record<string, number | null>;
  /** Per affected node: ms from the fault's end to the first event posted after it and received. */
  firstEventMs: Record<string, number | null>;
}

/** How long before a fault an event may have been in flight and lost to it, ms. */
export const IN_FLIGHT_MS = 1_000;

/** Grace beyond a request's timeout for it to count as "within", ms. */
export const TIMEOUT_GRACE_MS = 1_000;

/**
 * Computes request figures for records.
 *
 * @param records Requests.
 * @returns The counts.
 */
export function requestFigures(
  records: readonly RequestRecord[],
): RequestFigures {
  const fig: RequestFigures = {
    sent: records.length,
    answered: 0,
    failed: 0,
    failedTyped: 0,
    failedOther: 0,
    byError: {},
    maxOverrunMs: -Infinity,
  };
  for (const r of records) {
    if (r.error === undefined) {
      fig.answered++;
      continue;
    }
    fig.failed++;
    fig.byError[r.error] = (fig.byError[r.error] ?? 0) + 1;
    const overrun = r.end - r.start - r.timeout;
    fig.maxOverrunMs = Math.max(fig.maxOverrunMs, Math.round(overrun));
    if (r.typed && overrun <= TIMEOUT_GRACE_MS) fig.failedTyped++;
    else fig.failedOther++;
  }
  if (fig.maxOverrunMs === -Infinity) fig.maxOverrunMs = 0;
  return fig;
}

/** The recovery point of a fault for a node: fault end + first event through it. */
function recoveredAt(
  fault: FaultFigures,
  label: string,
): number {
  const ms = fault.firstEventMs[label];
  return ms === null || ms === undefined ? Infinity : fault.end + ms;
}

/**
 * Computes every figure.
 *
 * @param requests Every request.
 * @param ledgers Event ledgers by node label.
 * @param faults The fault windows.
 * @returns Per fault, and totals.
 */
export function computeFigures(
  requests: readonly RequestRecord[],
  ledgers: ReadonlyMap<string, EventLedger>,
  faults: readonly FaultWindow[],
): { faults: FaultFigures[]; requests: RequestFigures; events: EventFigures } {
  const labels = [...ledgers.keys()];
  const perFault: FaultFigures[] = faults.map((f) => {
    const firstRequestMs: Record<string, number | null> = {};
    const firstEventMs: Record<string, number | null> = {};
    for (const label of f.affects.length > 0 ? f.affects : labels) {
      const ok = requests.filter((r) =>
        r.node === label && r.error === undefined && r.start >= f.end
      );
      firstRequestMs[label] = ok.length === 0
        ? null
        : Math.round(Math.min(...ok.map((r) => r.end)) - f.end);
      const ledger = ledgers.get(label)!;
      let first = Infinity;
      for (const map of ledger.received) {
        for (const [seq, at] of map) {
          if (at < first && (ledger.posted.get(seq) ?? -1) >= f.end) {
            first = at;
          }
        }
      }
      firstEventMs[label] = first === Infinity
        ? null
        : Math.round(Math.max(0, first - f.end));
    }
    return {
      ...f,
      requests: requestFigures([]),
      events: { expected: 0, lost: 0 },
      firstRequestMs,
      firstEventMs,
    };
  });
  // A fault's window for a node: from IN_FLIGHT_MS before its start until
  // the first event through that node after its end.
  const windowsOf = (label: string) =>
    perFault.filter((f) => f.affects.includes(label)).map((f) => ({
      fault: f,
      from: f.start - IN_FLIGHT_MS,
      to: Math.max(f.end, recoveredAt(f, label)),
    }));
  for (const f of perFault) {
    const to = Math.max(
      f.end,
      ...(f.affects.length > 0 ? f.affects : labels).map((l) =>
        Math.min(recoveredAt(f, l), f.end + 60_000)
      ),
    );
    f.requests = requestFigures(
      requests.filter((r) => r.start >= f.start && r.start <= to),
    );
  }
  const events: EventFigures = {
    expected: 0,
    received: 0,
    lostInside: 0,
    lostOutside: 0,
    duplicates: 0,
    postFailures: 0,
  };
  for (const [label, ledger] of ledgers) {
    const windows = windowsOf(label);
    events.postFailures += ledger.postFailures;
    events.duplicates += ledger.duplicates.reduce((a, b) => a + b, 0);
    for (const map of ledger.received) {
      for (const [seq, postedAt] of ledger.posted) {
        events.expected++;
        const inside = windows.find((w) =>
          postedAt >= w.from && postedAt <= w.to
        );
        if (inside) inside.fault.events.expected++;
        if (map.has(seq)) {
          events.received++;
          continue;
        }
        if (inside) {
          events.lostInside++;
          inside.fault.events.lost++;
        } else {
          events.lostOutside++;
        }
      }
    }
  }
  return { faults: perFault, requests: requestFigures(requests), events };
}
