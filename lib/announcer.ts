/**
 * Discovery announcements (PROTOCOL.md "Subjects", `ari.announce`).
 *
 * A proxy announces `{"node","asterisk","application"}` on every `ari.ping`,
 * every `interval` ms, at start-up and after each ARI reconnect — but only
 * while its ARI WebSocket is connected: an announcement tells clients "this
 * node can serve requests now".
 *
 * @module
 */

import type { Announcement } from "../client/protocol/types.ts";

/** Default interval of periodic announcements, in milliseconds. */
export const DEFAULT_ANNOUNCE_INTERVAL = 60_000;

/** Why an announcement is made (for logs and stats). */
export type AnnounceReason = "ping" | "interval" | "startup" | "reconnect";

/** Timer functions; inject fakes in tests. */
export interface AnnouncerClock {
  /** Starts a repeating timer. */
  setInterval(callback: () => void, delay: number): unknown;
  /** Stops a timer made by `setInterval`. */
  clearInterval(handle: unknown): void;
}

/** Options of {@linkcode createAnnouncer}. */
export interface AnnouncerOptions {
  /** The announce subject, e.g. `ari.announce`. */
  subject: string;
  /** Publishes one message; may throw (the error goes to `onError`). */
  publish(subject: string, payload: string): void;
  /** Who we are now; `undefined` while the node id is not known. */
  identity(): Announcement | undefined;
  /** Whether the ARI WebSocket is connected. */
  isAriConnected(): boolean;
  /**
   * Period of the periodic announcement, in milliseconds; `0` disables it.
   *
   * @default {60000}
   */
  interval?: number;
  /**
   * Encodes an announcement.
   *
   * @default {JSON of node, asterisk, application}
   */
  encode?: (announcement: Announcement) => string;
  /** Receives publish failures. */
  onError?: (error: unknown) => void;
  /**
   * Timers.
   *
   * @default {globalThis.setInterval / clearInterval, unref'd}
   */
  clock?: AnnouncerClock;
}

/** Counters of an {@linkcode Announcer}. */
export interface AnnouncerStats {
  /** Announcements published. */
  sent: number;
  /** Announcements skipped because ARI was down or the node unknown. */
  skipped: number;
}

/** Publishes discovery announcements. */
export interface Announcer {
  /**
   * Announces now, if ARI is connected and the node id known.
   *
   * @param reason Why (kept in stats only).
   * @returns Whether an announcement was published.
   */
  announce(reason: AnnounceReason): boolean;
  /** Starts the periodic announcement (idempotent). */
  start(): void;
  /** Stops the periodic announcement (idempotent). */
  stop(): void;
  /** Counters. */
  stats(): AnnouncerStats;
}

const realClock: AnnouncerClock = {
  setInterval(callback, delay) {
    const id = setInterval(callback, delay);
    Deno.unrefTimer(id);
    return id;
  },
  clearInterval(handle) {
    clearInterval(handle as number);
  },
};

function defaultEncode(a: Announcement): string {
  return JSON.stringify({
    node: a.node,
    asterisk: a.asterisk,
    application: a.application,
  });
}

/**
 * Creates an announcer.
 *
 * @param options Subject, publish function, identity, ARI state and timing.
 * @returns The announcer (not started).
 * @throws {RangeError} For a negative or non-finite interval.
 *
 * @example Announce on ping only while ARI is up
 * ```ts
 * import assert from "node:assert/strict";
 * import { createAnnouncer } from "./announcer.ts";
 *
 * const sent: string[] = [];
 * let up = false;
 * const announcer = createAnnouncer({
 *   subject: "ari.announce",
 *   publish: (_subject, payload) => sent.push(payload),
 *   identity: () => ({ node: "n1", asterisk: "n1", application: "app" }),
 *   isAriConnected: () => up,
 * });
 * assert.equal(announcer.announce("ping"), false);
 * up = true;
 * assert.equal(announcer.announce("ping"), true);
 * assert.deepEqual(sent, ['{"node":"n1","asterisk":"n1","application":"app"}']);
 * ```
 */
export function createAnnouncer(options: AnnouncerOptions): Announcer {
  const {
    subject,
    publish,
    identity,
    isAriConnected,
    interval = DEFAULT_ANNOUNCE_INTERVAL,
    encode = defaultEncode,
    onError = () => {},
    clock = realClock,
  } = options;
  if (!(interval >= 0) || !Number.isFinite(interval)) {
    throw new RangeError(
      `Cannot create announcer: interval must be a finite number of milliseconds >= 0, got ${interval}`,
    );
  }
  let timer: unknown;
  let running = false;
  let sent = 0;
  let skipped = 0;

  function announce(_reason: AnnounceReason): boolean {
    const who = identity();
    if (who === undefined || !isAriConnected()) {
      skipped++;
      return false;
    }
    try {
      publish(subject, encode(who));
      sent++;
      return true;
    } catch (error) {
      onError(error);
      return false;
    }
  }

  return {
    announce,
    start() {
      if (running) return;
      running = true;
      if (interval > 0) {
        timer = clock.setInterval(() => announce("interval"), interval);
      }
    },
    stop() {
      if (!running) return;
      running = false;
      if (interval > 0) clock.clearInterval(timer);
    },
    stats: () => ({ sent, skipped }),
  };
}
