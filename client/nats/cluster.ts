/**
 * Cluster awareness for the NATS transport: which proxies (Asterisk node +
 * ARI application) are out there.
 *
 * The monitor subscribes to `<prefix>announce`, publishes a ping
 * (`{"kind":"","key":null}`, as Go clients do) and records every
 * announcement (`node` or `asterisk` field, plus `application`). A member
 * that has not announced for `maxAge` ms leaves (5 minutes by default, like
 * Go). Proxies announce on every ping and every 60 s.
 *
 * Ours: after a broadcast that got fewer replies than expected, the
 * transport calls {@linkcode ClusterMonitor.probe}: a fresh ping, and every
 * member that does not announce within `probeWindow` ms is marked
 * `unresponsive` and no longer awaited by broadcasts (it stays a member until
 * it expires, and becomes responsive again with its next announcement). So a
 * dead proxy slows down at most the broadcasts of one probe window, not five
 * minutes of them.
 *
 * @example Track members of a cluster
 * ```ts ignore live
 * import { connect } from "@nats-io/transport-node";
 * import { createClusterMonitor } from "./cluster.ts";
 *
 * const nc = await connect({ servers: "nats://127.0.0.1:4222" });
 * const cluster = createClusterMonitor(nc);
 * const changes = cluster.memberChanges();
 * cluster.ping(); // every proxy announces itself
 * for await (const change of changes) {
 *   console.log(change.type, change.member.node, change.member.application);
 *   break; // the first proxy is enough here
 * }
 * cluster.close();
 * await nc.close();
 * ```
 *
 * @module
 */

import { unrefTimer } from "../_runtime.ts";
import { decodeAnnouncement } from "../protocol/codec.ts";
import {
  announceSubject,
  DEFAULT_PREFIX,
  normalizePrefix,
  pingSubject,
} from "../protocol/subjects.ts";
import { Broadcaster } from "./_broadcast.ts";

/** Default time after which a silent member leaves, in ms (5 minutes, as Go). */
export const DEFAULT_CLUSTER_MAX_AGE = 300_000;

/** Default time a member has to answer a liveness probe, in ms. */
export const DEFAULT_PROBE_WINDOW = 1_000;

/** The ping body Go clients send. */
export const PING_BODY = '{"kind":"","key":null}';

/** Time source and timers; inject a fake one in tests. */
export interface Clock {
  /** Milliseconds since an arbitrary origin. */
  now(): number;
  /** Schedules `callback` after `delay` ms and returns a handle. */
  setTimeout(callback: () => void, delay: number): unknown;
  /** Cancels a handle returned by `setTimeout`. */
  clearTimeout(handle: unknown): void;
}

/**
 * The real clock. Its timers do not keep the process alive.
 *
 * @example
 * ```ts
 * import { SYSTEM_CLOCK } from "./cluster.ts";
 * console.assert(SYSTEM_CLOCK.now() > 0);
 * ```
 */
export const SYSTEM_CLOCK: Clock = Object.freeze({
  now: () => Date.now(),
  setTimeout(callback: () => void, delay: number): unknown {
    const id = setTimeout(callback, delay);
    unrefTimer(id);
    return id;
  },
  clearTimeout: (handle: unknown) => clearTimeout(handle as number),
});

/** One proxy of the cluster: an Asterisk node served for one ARI application. */
export interface ClusterMember {
  /** Asterisk entity id of the node. */
  readonly node: string;
  /** ARI application the proxy serves. */
  readonly application: string;
  /** When the last announcement arrived ({@linkcode Clock.now} time, ms). */
  readonly lastSeen: number;
  /**
   * True when the member missed the last liveness probe; broadcasts stop
   * waiting for its reply until it announces again.
   */
  readonly unresponsive: boolean;
}

/** A member joined (first announcement, or back after expiry) or left (expired). */
export interface MemberChange {
  /** `join` or `leave`. */
  type: "join" | "leave";
  /** The member, as it was at the change. */
  member: ClusterMember;
}

/** Which members to select: both fields optional, absent means any. */
export interface MemberFilter {
  /** ARI application. */
  app?: string | undefined;
  /** Asterisk node. */
  node?: string | undefined;
}

/**
 * The part of a NATS connection the monitor uses (a `NatsConnection` of
 * `@nats-io/transport-node` fits).
 */
export interface ClusterBus {
  /** Subscribes with a callback; returns something to unsubscribe. */
  subscribe(
    subject: string,
    options: {
      callback: (err: Error | null, msg: { data: Uint8Array }) => void;
    },
  ): { unsubscribe(): void };
  /** Publishes a message. */
  publish(subject: string, data: string): void;
}

/** Options of {@linkcode createClusterMonitor}. */
export interface ClusterMonitorOptions {
  /**
   * Subject prefix.
   *
   * @default {"ari."}
   */
  prefix?: string;
  /**
   * Silence after which a member leaves, in ms.
   *
   * @default {300000}
   */
  maxAge?: number;
  /**
   * How long members have to answer a liveness probe, in ms; probes are
   * sent at most once per window.
   *
   * @default {1000}
   */
  probeWindow?: number;
  /**
   * Publish a ping at start.
   *
   * @default {true}
   */
  ping?: boolean;
  /** Clock and timers. */
  clock?: Clock;
}

/** Tracks cluster members from announcements. */
export interface ClusterMonitor extends Disposable {
  /** Current members (not expired), sorted by node then application. */
  members(): ClusterMember[];
  /** Current members matching a filter. */
  matching(filter: MemberFilter): ClusterMember[];
  /** Join/leave changes from now on; iteration ends on close. */
  memberChanges(): AsyncIterableIterator<MemberChange>;
  /** Records an announcement (also called for every one received on NATS). */
  observe(node: string, application: string): void;
  /** Publishes a ping (every proxy answers with an announcement). */
  ping(): void;
  /** Starts a liveness probe unless one ran within the probe window. */
  probe(): void;
  /** Stops listening; ends `memberChanges()` iterations. Idempotent. */
  close(): void;
}

interface MemberState {
  node: string;
  application: string;
  lastSeen: number;
  unresponsive: boolean;
}

function snapshot(state: MemberState): ClusterMember {
  return Object.freeze({
    node: state.node,
    application: state.application,
    lastSeen: state.lastSeen,
    unresponsive: state.unresponsive,
  });
}

function positive(value: number, name: string): number {
  if (!(typeof value === "number" && value > 0)) {
    throw new RangeError(
      `Invalid option "${name}": ${value} (expected a positive number of ms)`,
    );
  }
  return value;
}

class Monitor implements ClusterMonitor {
  readonly #bus: ClusterBus | null;
  readonly #prefix: string;
  readonly #maxAge: number;
  readonly #probeWindow: number;
  readonly #clock: Clock;
  readonly #members = new Map<string, MemberState>();
  readonly #changes = new Broadcaster<MemberChange>(1024);
  #sub: { unsubscribe(): void } | undefined;
  #expiryTimer: unknown;
  #expiryDue = Infinity;
  #probeTimer: unknown;
  #lastProbe = -Infinity;
  #closed = false;

  constructor(bus: ClusterBus | null, options: ClusterMonitorOptions) {
    const {
      prefix = DEFAULT_PREFIX,
      maxAge = DEFAULT_CLUSTER_MAX_AGE,
      probeWindow = DEFAULT_PROBE_WINDOW,
      ping = true,
      clock = SYSTEM_CLOCK,
    } = options;
    this.#bus = bus;
    this.#prefix = normalizePrefix(prefix);
    this.#maxAge = positive(maxAge, "maxAge");
    this.#probeWindow = positive(probeWindow, "probeWindow");
    this.#clock = clock;
    if (bus) {
      this.#sub = bus.subscribe(announceSubject(this.#prefix), {
        callback: (err, msg) => {
          if (err) return;
          const announcement = decodeAnnouncement(msg.data);
          if (!announcement) return;
          const node = announcement.node || announcement.asterisk;
          if (node) this.observe(node, announcement.application ?? "");
        },
      });
      if (ping) this.ping();
    }
  }

  members(): ClusterMember[] {
    return this.matching({});
  }

  matching(filter: MemberFilter): ClusterMember[] {
    const now = this.#clock.now();
    const list: ClusterMember[] = [];
    for (const state of this.#members.values()) {
      if (now - state.lastSeen >= this.#maxAge) continue;
      if (filter.app && filter.app !== state.application) continue;
      if (filter.node && filter.node !== state.node) continue;
      list.push(snapshot(state));
    }
    return list.sort((a, b) =>
      a.node === b.node
        ? a.application.localeCompare(b.application)
        : a.node.localeCompare(b.node)
    );
  }

  memberChanges(): AsyncIterableIterator<MemberChange> {
    return this.#changes.listen();
  }

  observe(node: string, application: string): void {
    if (this.#closed) return;
    const now = this.#clock.now();
    const id = `${node}|${application}`;
    const state = this.#members.get(id);
    if (state && now - state.lastSeen < this.#maxAge) {
      state.lastSeen = now;
      state.unresponsive = false;
    } else {
      // New, or back after an expiry the sweep has not processed yet.
      if (state) this.#leave(id, state);
      const fresh: MemberState = {
        node,
        application,
        lastSeen: now,
        unresponsive: false,
      };
      this.#members.set(id, fresh);
      this.#changes.emit({ type: "join", member: snapshot(fresh) });
    }
    this.#schedule();
  }

  ping(): void {
    if (this.#closed || !this.#bus) return;
    try {
      this.#bus.publish(pingSubject(this.#prefix), PING_BODY);
    } catch {
      // Closed or draining connection: nothing to probe.
    }
  }

  probe(): void {
    if (this.#closed || !this.#bus || this.#probeTimer !== undefined) return;
    const start = this.#clock.now();
    if (start - this.#lastProbe < this.#probeWindow) return;
    this.#lastProbe = start;
    this.ping();
    this.#probeTimer = this.#clock.setTimeout(() => {
      this.#probeTimer = undefined;
      for (const state of this.#members.values()) {
        if (state.lastSeen < start) state.unresponsive = true;
      }
    }, this.#probeWindow);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#sub?.unsubscribe();
    } catch {
      // The connection is already closed.
    }
    if (this.#expiryTimer !== undefined) {
      this.#clock.clearTimeout(this.#expiryTimer);
    }
    if (this.#probeTimer !== undefined) {
      this.#clock.clearTimeout(this.#probeTimer);
    }
    this.#expiryTimer = undefined;
    this.#probeTimer = undefined;
    this.#changes.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #leave(id: string, state: MemberState): void {
    this.#members.delete(id);
    this.#changes.emit({ type: "leave", member: snapshot(state) });
  }

  #schedule(): void {
    if (this.#closed) return;
    let due = Infinity;
    for (const state of this.#members.values()) {
      due = Math.min(due, state.lastSeen + this.#maxAge);
    }
    if (due === this.#expiryDue && this.#expiryTimer !== undefined) return;
    if (this.#expiryTimer !== undefined) {
      this.#clock.clearTimeout(this.#expiryTimer);
      this.#expiryTimer = undefined;
    }
    this.#expiryDue = due;
    if (due === Infinity) return;
    const delay = Math.max(0, due - this.#clock.now());
    this.#expiryTimer = this.#clock.setTimeout(() => {
      this.#expiryTimer = undefined;
      this.#sweep();
    }, delay);
  }

  #sweep(): void {
    const now = this.#clock.now();
    for (const [id, state] of this.#members) {
      if (now - state.lastSeen >= this.#maxAge) this.#leave(id, state);
    }
    this.#schedule();
  }
}

/**
 * Starts tracking the cluster: subscribes to announcements on `bus` and
 * pings. With `bus` `null` nothing is sent or received; feed it with
 * {@linkcode ClusterMonitor.observe} (tests).
 *
 * @param bus A NATS connection (or `null`).
 * @param options Prefix, member max age, probe window, clock.
 * @returns The monitor; call `close()` to stop it.
 * @throws {RangeError} When `maxAge` or `probeWindow` is not a positive number.
 *
 * @example Expiry with a hand-driven clock
 * ```ts
 * import assert from "node:assert/strict";
 * import { type Clock, createClusterMonitor } from "./cluster.ts";
 *
 * let now = 0;
 * const clock: Clock = {
 *   now: () => now,
 *   setTimeout: () => 0,
 *   clearTimeout: () => {},
 * };
 * using cluster = createClusterMonitor(null, { clock, maxAge: 1_000 });
 * cluster.observe("node-1", "app");
 * assert.equal(cluster.members().length, 1);
 * now = 1_000;
 * assert.equal(cluster.members().length, 0);
 * ```
 */
export function createClusterMonitor(
  bus: ClusterBus | null,
  options?: ClusterMonitorOptions,
): ClusterMonitor {
  return new Monitor(bus, { ...options });
}
