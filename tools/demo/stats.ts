/**
 * What the demo measures while it runs: calls (in progress, completed,
 * failed), events by type (totals and a one-second rate), and the latency
 * of every request the demo application sends through the proxy.
 *
 * @module
 */

/** One call's failure, as the summary reports it. */
export interface CallFailure {
  /** The call's number (1-based). */
  call: number;
  /** What went wrong. */
  reason: string;
}

/** The numbers the live view shows and the summary reports. */
export interface DemoSnapshot {
  /** Milliseconds since the demo application started. */
  elapsedMs: number;
  /** Calls placed so far. */
  placed: number;
  /** Calls in progress. */
  active: number;
  /** Calls that went through every step. */
  completed: number;
  /** Calls that failed (see `failures`). */
  failed: number;
  /** Calls cut short by Ctrl-C (hung up, not failures). */
  interrupted: number;
  /** Events received, by type. */
  eventsByType: Record<string, number>;
  /** Events received in total. */
  eventsTotal: number;
  /** Events per second by type, averaged over the last 5 seconds. */
  eventsPerSecond: Record<string, number>;
  /** Requests sent through the proxy and answered. */
  requests: number;
  /** Requests that failed. */
  requestErrors: number;
  /** Median request latency in ms (0 before the first request). */
  p50Ms: number;
  /** 99th percentile request latency in ms (0 before the first request). */
  p99Ms: number;
  /** Recordings made (and deleted again). */
  recordings: number;
  /** The first failures (at most 20). */
  failures: CallFailure[];
}

/** Largest number of latencies kept (the oldest are replaced beyond it). */
const MAX_SAMPLES = 100_000;

/** The window of the events-per-second rate, in ms. */
const RATE_WINDOW = 5_000;

/** Largest number of failures kept for the summary. */
const MAX_FAILURES = 20;

/**
 * Returns the `q` quantile (0..1) of sorted samples, nearest rank.
 *
 * @param sorted Samples in ascending order.
 * @param q The quantile, e.g. `0.99`.
 * @returns The sample at that rank, or 0 without samples.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { quantile } from "./stats.ts";
 *
 * assert.equal(quantile([1, 2, 3, 4], 0.5), 2);
 * assert.equal(quantile([1, 2, 3, 4], 0.99), 4);
 * assert.equal(quantile([], 0.5), 0);
 * ```
 */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

/**
 * Counters of one demo run. The demo application records into it; the live
 * view and the summary read {@linkcode DemoStats.snapshot}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DemoStats } from "./stats.ts";
 *
 * const stats = new DemoStats(() => 1_000);
 * stats.event("StasisStart");
 * stats.latency(2);
 * assert.equal(stats.snapshot().eventsTotal, 1);
 * assert.equal(stats.snapshot().p50Ms, 2);
 * ```
 */
export class DemoStats {
  #now: () => number;
  #start: number;
  #placed = 0;
  #active = 0;
  #completed = 0;
  #failed = 0;
  #interrupted = 0;
  #recordings = 0;
  #events = new Map<string, number>();
  #eventsTotal = 0;
  /** Event arrival times (ms) and types within the rate window. */
  #recent: { at: number; type: string }[] = [];
  #latencies: number[] = [];
  #requests = 0;
  #requestErrors = 0;
  #failures: CallFailure[] = [];

  /**
   * @param now The clock, in ms.
   */
  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
    this.#start = now();
  }

  /** A call was placed. */
  callPlaced(): void {
    this.#placed++;
    this.#active++;
  }

  /** A call went through every step. */
  callCompleted(): void {
    this.#active--;
    this.#completed++;
  }

  /**
   * A call failed.
   *
   * @param call The call's number.
   * @param reason What went wrong.
   */
  callFailed(call: number, reason: string): void {
    this.#active--;
    this.#failed++;
    if (this.#failures.length < MAX_FAILURES) {
      this.#failures.push({ call, reason });
    }
  }

  /** A call was cut short by Ctrl-C. */
  callInterrupted(): void {
    this.#active--;
    this.#interrupted++;
  }

  /** A recording was made. */
  recordingMade(): void {
    this.#recordings++;
  }

  /**
   * An event arrived.
   *
   * @param type The event's type.
   */
  event(type: string): void {
    this.#events.set(type, (this.#events.get(type) ?? 0) + 1);
    this.#eventsTotal++;
    this.#recent.push({ at: this.#now(), type });
    if (this.#recent.length > 100_000) this.#prune();
  }

  /**
   * A request was answered after `ms` milliseconds.
   *
   * @param ms The round trip in ms.
   */
  latency(ms: number): void {
    this.#requests++;
    if (this.#latencies.length < MAX_SAMPLES) this.#latencies.push(ms);
    else this.#latencies[this.#requests % MAX_SAMPLES] = ms;
  }

  /** A request failed. */
  requestFailed(): void {
    this.#requestErrors++;
  }

  #prune(): void {
    const cutoff = this.#now() - RATE_WINDOW;
    let drop = 0;
    while (drop < this.#recent.length && this.#recent[drop]!.at < cutoff) {
      drop++;
    }
    this.#recent.splice(0, drop);
  }

  /**
   * The numbers as of now.
   *
   * @returns A snapshot that later recording does not change.
   */
  snapshot(): DemoSnapshot {
    this.#prune();
    const perSecond: Record<string, number> = {};
    const window = Math.min(RATE_WINDOW, this.#now() - this.#start) / 1000;
    for (const { type } of this.#recent) {
      perSecond[type] = (perSecond[type] ?? 0) + 1;
    }
    for (const type of Object.keys(perSecond)) {
      perSecond[type] =
        Math.round(perSecond[type]! / Math.max(window, 1) * 10) / 10;
    }
    const sorted = [...this.#latencies].sort((a, b) => a - b);
    const round = (ms: number) => Math.round(ms * 100) / 100;
    return {
      elapsedMs: Math.round(this.#now() - this.#start),
      placed: this.#placed,
      active: this.#active,
      completed: this.#completed,
      failed: this.#failed,
      interrupted: this.#interrupted,
      eventsByType: Object.fromEntries(
        [...this.#events].sort((a, b) => b[1] - a[1]),
      ),
      eventsTotal: this.#eventsTotal,
      eventsPerSecond: perSecond,
      requests: this.#requests,
      requestErrors: this.#requestErrors,
      p50Ms: round(quantile(sorted, 0.5)),
      p99Ms: round(quantile(sorted, 0.99)),
      recordings: this.#recordings,
      failures: [...this.#failures],
    };
  }
}
