/**
 * The discovery pinger: answers `<prefix>ping` and announces this proxy on
 * `<prefix>announce` (at start-up, after reconnects, periodically and on
 * every ping) while ARI is connected, through an {@linkcode Announcer}.
 *
 * @module
 */

import type { Logger } from "@logtape/logtape";
import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import { encodeAnnouncement } from "../client/protocol/codec.ts";
import { announceSubject, pingSubject } from "../client/protocol/subjects.ts";
import {
  type Announcer,
  type AnnounceReason,
  type AnnouncerStats,
  createAnnouncer,
} from "./announcer.ts";
import { errorMessage } from "./_log_text.ts";

/** Options of {@linkcode createDiscoveryPinger}. */
export interface DiscoveryPingerOptions {
  /** Subject prefix, normalised (ends with `.` or is empty). */
  prefix: string;
  /** ARI application announced. */
  application: string;
  /** The node id now (`undefined` while unknown: nothing is announced). */
  node(): string | undefined;
  /** Whether ARI is connected now (else nothing is announced). */
  isAriConnected(): boolean;
  /** The NATS connection to announce on now. */
  connection(): NatsConnection | undefined;
  /**
   * Period of the announcement, in milliseconds (0 disables).
   *
   * @default {60000}
   */
  interval?: number;
  /** Logger for publish failures. */
  logger: Logger;
}

/** Answers pings and announces. Create with {@linkcode createDiscoveryPinger}. */
export interface DiscoveryPinger {
  /** Subscribes `<prefix>ping` on `nc` and announces on it from now on. */
  subscribe(nc: NatsConnection): void;
  /** Forgets the subscription of a connection that died. */
  forget(): void;
  /** Starts the periodic announcement (idempotent). */
  start(): void;
  /** Announces now (if ARI is connected and the node known). */
  announce(reason: AnnounceReason): boolean;
  /** Stops the periodic announcement (idempotent). */
  stop(): void;
  /** Stops answering pings: drains the ping subscription. */
  drain(): Promise<void>;
  /** Counters. */
  stats(): AnnouncerStats;
}

/**
 * Creates the discovery pinger.
 *
 * @param options Subjects, identity, ARI state, interval, logger.
 * @returns The pinger (not subscribed, not started).
 * @throws {RangeError} For a negative or non-finite interval.
 *
 * @example Announce at start-up and on pings
 * ```ts ignore
 * import { getLogger } from "@logtape/logtape";
 * import { createDiscoveryPinger } from "./discovery.ts";
 *
 * const pinger = createDiscoveryPinger({
 *   prefix: "ari.",
 *   application: "app",
 *   node: () => "node1",
 *   isAriConnected: () => true,
 *   connection: () => nc,
 *   logger: getLogger(["ari-proxy", "server", "nats"]),
 * });
 * pinger.subscribe(nc);
 * pinger.start();
 * pinger.announce("startup");
 * pinger.stop();
 * await pinger.drain();
 * ```
 */
export function createDiscoveryPinger(
  options: DiscoveryPingerOptions,
): DiscoveryPinger {
  const {
    prefix,
    application,
    node,
    isAriConnected,
    connection,
    interval,
    logger,
  } = options;
  let subscribed: NatsConnection | undefined;
  let sub: Subscription | undefined;
  const announcer: Announcer = createAnnouncer({
    subject: announceSubject(prefix),
    publish: (subject, payload) => {
      const nc = connection();
      if (nc === undefined) throw new Error("NATS is not connected");
      nc.publish(subject, payload);
    },
    identity: () => {
      const id = node();
      return id === undefined
        ? undefined
        : { node: id, asterisk: id, application };
    },
    isAriConnected,
    ...(interval === undefined ? {} : { interval }),
    encode: encodeAnnouncement,
    onError: (error) =>
      logger.warn("Cannot publish announcement: {error}", {
        error: errorMessage(error),
      }),
  });
  return {
    subscribe(nc) {
      subscribed = nc;
      sub = nc.subscribe(pingSubject(prefix), {
        callback: (err) => {
          if (err === null) announcer.announce("ping");
        },
      });
    },
    forget() {
      sub = undefined;
    },
    start: () => announcer.start(),
    announce: (reason) => announcer.announce(reason),
    stop: () => announcer.stop(),
    async drain() {
      const current = sub;
      sub = undefined;
      if (current === undefined || subscribed?.isClosed() !== false) return;
      await Promise.allSettled([current.drain()]);
    },
    stats: () => announcer.stats(),
  };
}
