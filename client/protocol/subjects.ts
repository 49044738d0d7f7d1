/**
 * NATS subject helpers for the ari-proxy protocol (PROTOCOL.md "Subjects"
 * and "Client routing"). Every subject starts with a prefix, `ari.` by
 * default.
 *
 * @example
 * ```ts
 * import { requestSubject } from "./subjects.ts";
 * console.assert(requestSubject("ari.", "get", { app: "a", node: "n" }) === "ari.get.a.n");
 * ```
 *
 * @module
 */

import type { RequestClass } from "./kinds.ts";
import type { Key } from "./types.ts";

/** The default subject prefix. */
export const DEFAULT_PREFIX = "ari.";

/** The four request classes. */
export const REQUEST_CLASSES: readonly RequestClass[] = [
  "get",
  "data",
  "command",
  "create",
];

/** Queue group of `create` subscriptions (exactly one proxy answers). */
export const CREATE_QUEUE_GROUP = "ariproxy";

/**
 * Checks a subject token (an app name, node id or dialog id) can be placed in
 * a subject: non-empty, no spaces, no `.`, `*` or `>`.
 *
 * @param token The token.
 * @returns True when usable as one subject token.
 *
 * @example
 * ```ts
 * import { isValidToken } from "./subjects.ts";
 * console.assert(isValidToken("02:00:00:00:60:0d"));
 * console.assert(!isValidToken("a.b"));
 * ```
 */
export function isValidToken(token: string): boolean {
  return token.length > 0 && !/[\s.*>]/.test(token);
}

/**
 * Normalises a prefix so that it ends with a dot (`"ari"` → `"ari."`).
 *
 * @param prefix A prefix, with or without its trailing dot.
 * @returns The prefix ending with `.` (empty stays empty).
 *
 * @example
 * ```ts
 * import { normalizePrefix } from "./subjects.ts";
 * console.assert(normalizePrefix("ari") === "ari.");
 * ```
 */
export function normalizePrefix(prefix: string): string {
  if (prefix === "" || prefix.endsWith(".")) return prefix;
  return `${prefix}.`;
}

/**
 * Builds a request subject: `prefix + class [+ "." + app [+ "." + node]]`.
 * A key with a node but no app goes to the plain class subject (Go client
 * behaviour).
 *
 * @param prefix Subject prefix ending with `.`.
 * @param cls Request class.
 * @param key The request key (`null` = broadcast).
 * @returns The subject.
 *
 * @example
 * ```ts
 * import { requestSubject } from "./subjects.ts";
 * console.assert(requestSubject("ari.", "create", { app: "a" }) === "ari.create.a");
 * console.assert(requestSubject("ari.", "get", { node: "n" }) === "ari.get");
 * ```
 */
export function requestSubject(
  prefix: string,
  cls: RequestClass,
  key: Key | null | undefined,
): string {
  let subject = prefix + cls;
  if (key?.app) {
    subject += `.${key.app}`;
    if (key.node) subject += `.${key.node}`;
  }
  return subject;
}

/**
 * Tells whether a key routes directly to one proxy (it names app and node).
 *
 * @param key A key.
 * @returns True for a complete key.
 *
 * @example
 * ```ts
 * import { isDirectKey } from "./subjects.ts";
 * console.assert(isDirectKey({ app: "a", node: "n" }));
 * ```
 */
export function isDirectKey(key: Key | null | undefined): boolean {
  return Boolean(key?.app && key.node);
}

/**
 * The subject a proxy publishes an event on: `prefix + "event." + app + "." + node`.
 *
 * @example
 * ```ts
 * import { eventSubject } from "./subjects.ts";
 * console.assert(eventSubject("ari.", "a", "n") === "ari.event.a.n");
 * ```
 */
export function eventSubject(
  prefix: string,
  app: string,
  node: string,
): string {
  return `${prefix}event.${app}.${node}`;
}

/**
 * The subject of a dialog's event copies: `prefix + "dialogevent." + dialog`.
 *
 * @example
 * ```ts
 * import { dialogEventSubject } from "./subjects.ts";
 * console.assert(dialogEventSubject("ari.", "d1") === "ari.dialogevent.d1");
 * ```
 */
export function dialogEventSubject(prefix: string, dialog: string): string {
  return `${prefix}dialogevent.${dialog}`;
}

/**
 * The discovery ping subject.
 *
 * @example
 * ```ts
 * import { pingSubject } from "./subjects.ts";
 * console.assert(pingSubject("ari.") === "ari.ping");
 * ```
 */
export function pingSubject(prefix: string): string {
  return `${prefix}ping`;
}

/**
 * The discovery announcement subject.
 *
 * @example
 * ```ts
 * import { announceSubject } from "./subjects.ts";
 * console.assert(announceSubject("ari.") === "ari.announce");
 * ```
 */
export function announceSubject(prefix: string): string {
  return `${prefix}announce`;
}

/**
 * The subject a client subscribes to for the events of a key (PROTOCOL.md
 * "Client routing"): nil key → `event.>`; dialog → `dialogevent.<d>`; no app
 * → `event.>`; no node → `event.<app>.>`; else `event.<app>.<node>`.
 *
 * @param prefix Subject prefix ending with `.`.
 * @param key The scope key.
 * @returns A subscription subject (may contain a `>` wildcard).
 *
 * @example
 * ```ts
 * import { eventSubscriptionSubject } from "./subjects.ts";
 * console.assert(eventSubscriptionSubject("ari.", { app: "a" }) === "ari.event.a.>");
 * console.assert(eventSubscriptionSubject("ari.", { dialog: "d" }) === "ari.dialogevent.d");
 * ```
 */
export function eventSubscriptionSubject(
  prefix: string,
  key: Key | null | undefined,
): string {
  if (!key) return `${prefix}event.>`;
  if (key.dialog) return dialogEventSubject(prefix, key.dialog);
  if (!key.app) return `${prefix}event.>`;
  if (!key.node) return `${prefix}event.${key.app}.>`;
  return eventSubject(prefix, key.app, key.node);
}

/** A parsed request subject. */
export interface ParsedRequestSubject {
  /** The class token. */
  class: RequestClass;
  /** App token, when present. */
  app?: string;
  /** Node token, when present. */
  node?: string;
}

/**
 * Parses a request subject built by {@linkcode requestSubject}.
 *
 * @param prefix Subject prefix ending with `.`.
 * @param subject The subject.
 * @returns The parts, or `null` when it is not a request subject.
 *
 * @example
 * ```ts
 * import { parseRequestSubject } from "./subjects.ts";
 * console.assert(parseRequestSubject("ari.", "ari.get.a.n")?.node === "n");
 * ```
 */
export function parseRequestSubject(
  prefix: string,
  subject: string,
): ParsedRequestSubject | null {
  if (!subject.startsWith(prefix)) return null;
  const parts = subject.slice(prefix.length).split(".");
  const [cls, app, node, ...rest] = parts;
  if (rest.length > 0) return null;
  if (!REQUEST_CLASSES.includes(cls as RequestClass)) return null;
  const parsed: ParsedRequestSubject = { class: cls as RequestClass };
  if (app !== undefined) parsed.app = app;
  if (node !== undefined) parsed.node = node;
  return parsed;
}

/** A parsed event subject: canonical (`app`, `node`) or a dialog copy (`dialog`). */
export type ParsedEventSubject =
  | { type: "event"; app: string; node: string }
  | { type: "dialog"; dialog: string };

/**
 * Parses a subject built by {@linkcode eventSubject} or
 * {@linkcode dialogEventSubject}. Node ids may contain colons; a dialog id
 * is everything after `dialogevent.`.
 *
 * @param prefix Subject prefix ending with `.`.
 * @param subject The subject an event arrived on.
 * @returns The parts, or `null` when it is not an event subject.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseEventSubject } from "./subjects.ts";
 *
 * assert.deepEqual(parseEventSubject("ari.", "ari.event.golden.02:00:00:00:60:0d"), {
 *   type: "event",
 *   app: "golden",
 *   node: "02:00:00:00:60:0d",
 * });
 * assert.deepEqual(parseEventSubject("ari.", "ari.dialogevent.d1"), { type: "dialog", dialog: "d1" });
 * assert.equal(parseEventSubject("ari.", "ari.get.a"), null);
 * ```
 */
export function parseEventSubject(
  prefix: string,
  subject: string,
): ParsedEventSubject | null {
  if (!subject.startsWith(prefix)) return null;
  const rest = subject.slice(prefix.length);
  if (rest.startsWith("dialogevent.")) {
    const dialog = rest.slice("dialogevent.".length);
    return dialog === "" ? null : { type: "dialog", dialog };
  }
  if (!rest.startsWith("event.")) return null;
  const parts = rest.slice("event.".length).split(".");
  if (parts.length !== 2) return null;
  const [app, node] = parts as [string, string];
  if (app === "" || node === "") return null;
  return { type: "event", app, node };
}
