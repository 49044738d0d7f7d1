/**
 * Reconnect timing chosen for call control: a short first wait with jitter,
 * longer waits only once an outage has lasted. nats.js waits
 * `reconnectTimeWait` (2 s) before trying a server again, so a call-control
 * client whose only server restarted in 100 ms still waited up to 2 s.
 *
 * The wait depends on how long the connection has been down (not on how
 * often nats.js asked, which it does on every turn of its dial loop):
 *
 * | down for     | wait                     |
 * | ------------ | ------------------------ |
 * | < 2 s        | 100 ms + 0–100 ms jitter |
 * | 2 s – 10 s   | 500 ms + 0–250 ms jitter |
 * | ≥ 10 s       | 2 s + 0–500 ms jitter    |
 *
 * The jitter spreads the reconnects of many clients after a server restart.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ReconnectBackoff } from "./reconnect.ts";
 *
 * let now = 0;
 * const backoff = new ReconnectBackoff({ now: () => now, random: () => 0.5 });
 * assert.equal(backoff.delay(), 150);
 * now = 3_000;
 * assert.equal(backoff.delay(), 625);
 * backoff.reset();
 * assert.equal(backoff.delay(), 150);
 * ```
 *
 * @module
 */

/** One step of the schedule. */
export interface BackoffStep {
  /** The step applies while the connection has been down less than this, ms. */
  until: number;
  /** Base wait, ms. */
  wait: number;
  /** Jitter added: uniformly 0 up to this, ms. */
  jitter: number;
}

/** The default schedule (see the module description). */
export const RECONNECT_SCHEDULE: readonly BackoffStep[] = [
  { until: 2_000, wait: 100, jitter: 100 },
  { until: 10_000, wait: 500, jitter: 250 },
  { until: Infinity, wait: 2_000, jitter: 500 },
];

/** Options of {@linkcode ReconnectBackoff}. */
export interface ReconnectBackoffOptions {
  /**
   * The schedule, by increasing `until`.
   *
   * @default {RECONNECT_SCHEDULE}
   */
  schedule?: readonly BackoffStep[];
  /** Clock in ms (tests). */
  now?: () => number;
  /** Random source in [0, 1) (tests). */
  random?: () => number;
}

/**
 * The reconnect wait of a NATS connection, as a nats.js
 * `reconnectDelayHandler`: {@linkcode ReconnectBackoff.delay} is the handler,
 * {@linkcode ReconnectBackoff.reset} is called when the connection is back.
 *
 * @example The first waits of an outage are short
 * ```ts
 * import assert from "node:assert/strict";
 * import { ReconnectBackoff } from "./reconnect.ts";
 *
 * const backoff = new ReconnectBackoff();
 * // nats.js: connect({ reconnectDelayHandler: () => backoff.delay() })
 * const wait = backoff.delay();
 * assert.ok(wait >= 100 && wait <= 200);
 * backoff.reset();
 * ```
 */
export class ReconnectBackoff {
  readonly #schedule: readonly BackoffStep[];
  readonly #now: () => number;
  readonly #random: () => number;
  #since: number | undefined;
  #last = 0;

  /**
   * Creates the backoff.
   *
   * @param options Schedule, clock, random source.
   */
  constructor(options?: ReconnectBackoffOptions) {
    this.#schedule = options?.schedule ?? RECONNECT_SCHEDULE;
    this.#now = options?.now ?? Date.now;
    this.#random = options?.random ?? Math.random;
  }

  /**
   * The wait before the next reconnect attempt, ms. The first call after
   * {@linkcode ReconnectBackoff.reset} starts the outage's clock.
   *
   * @returns Milliseconds.
   */
  delay(): number {
    const now = this.#now();
    this.#since ??= now;
    const down = now - this.#since;
    const step = this.#schedule.find((s) => down < s.until) ??
      this.#schedule.at(-1) ?? { until: Infinity, wait: 2_000, jitter: 0 };
    this.#last = Math.round(step.wait + this.#random() * step.jitter);
    return this.#last;
  }

  /** The last wait handed out, ms (0 before the first). */
  get last(): number {
    return this.#last;
  }

  /** The connection is back: the next outage starts with short waits. */
  reset(): void {
    this.#since = undefined;
  }
}
