/**
 * Key helpers of the client API (internal).
 *
 * @module
 */

import type { Key } from "../protocol/types.ts";
import type { EventOrigin, KeyLike } from "./common.ts";

/** Key fields, any of them possibly undefined. */
export type KeyParts = { [F in keyof Key]?: string | undefined };

/**
 * Builds a key in wire order (`kind, id, node, dialog, app`), leaving out
 * empty fields.
 */
export function makeKey(parts: KeyParts): Key {
  const key: Key = {};
  if (parts.kind) key.kind = parts.kind;
  if (parts.id) key.id = parts.id;
  if (parts.node) key.node = parts.node;
  if (parts.dialog) key.dialog = parts.dialog;
  if (parts.app) key.app = parts.app;
  return key;
}

/**
 * Turns a {@linkcode KeyLike} into a key of `kind`: a string is an id; a key
 * keeps its fields and gets `kind` when it has none (another kind is an
 * error). `origin` (an event)
 * fills `node` and `app` when the key lacks them.
 *
 * @throws {TypeError} When the id is empty or the key is of another kind.
 */
export function toKey(
  kind: string,
  like: KeyLike,
  origin?: EventOrigin,
): Key {
  const base: Key = typeof like === "string" ? { id: like } : like;
  if (typeof base !== "object" || base === null) {
    throw new TypeError(
      `Cannot make a ${kind} key: expected a string id or a key, got ${typeof like}`,
    );
  }
  if (!base.id) {
    throw new TypeError(`Cannot make a ${kind} key: the id is empty`);
  }
  if (base.kind && base.kind !== kind) {
    throw new TypeError(
      `Cannot make a ${kind} key from a ${base.kind} key ("${base.id}")`,
    );
  }
  return makeKey({
    kind,
    id: base.id,
    node: base.node || origin?.asterisk_id,
    dialog: base.dialog,
    app: base.app || origin?.application,
  });
}

/** Go `key.New(kind, id)`: a key with the location (node, dialog, app) of `from`. */
export function keyAt(
  from: Key | null | undefined,
  kind: string,
  id: string,
): Key {
  return makeKey({
    kind,
    id,
    node: from?.node,
    dialog: from?.dialog,
    app: from?.app,
  });
}

/** The location of `primary`, falling back field by field to `fallback`. */
export function mergeLocation(
  primary: Key | null | undefined,
  fallback: Key | null | undefined,
): Key {
  return makeKey({
    node: primary?.node || fallback?.node,
    dialog: primary?.dialog || fallback?.dialog,
    app: primary?.app || fallback?.app,
  });
}

/** Index of an entity in the dispatch table. */
export function entityIndex(
  kind: string | undefined,
  id: string | undefined,
): string {
  return `${kind ?? ""}\u0000${id ?? ""}`;
}

/**
 * Whether an event key lies where a listener's key does: node and app are
 * compared only when both keys have them (Go `Key.Match`).
 */
export function sameLocation(listener: Key, event: Key): boolean {
  if (listener.node && event.node && listener.node !== event.node) return false;
  if (listener.app && event.app && listener.app !== event.app) return false;
  return true;
}

/** A channel id from a string or anything with an `id`. */
export function refId(
  ref: string | { readonly id: string },
  what: string,
): string {
  const id = typeof ref === "string" ? ref : ref?.id;
  if (typeof id !== "string" || id === "") {
    throw new TypeError(`Cannot use ${what}: the id is empty`);
  }
  return id;
}

/**
 * The key a server answered with, completed from the request key: the kind
 * stays the request's, id and location come from the answer when present.
 */
export function resolvedKey(answer: Key | null | undefined, request: Key): Key {
  return makeKey({
    kind: request.kind,
    id: answer?.id || request.id,
    node: answer?.node || request.node,
    dialog: request.dialog || answer?.dialog,
    app: answer?.app || request.app,
  });
}

/** `key` moved to the node (and app) of `answer` when the answer names one. */
export function relocate(key: Key, answer: Key | null | undefined): Key {
  return makeKey({
    kind: key.kind,
    id: key.id,
    node: answer?.node || key.node,
    dialog: key.dialog || answer?.dialog,
    app: answer?.app || key.app,
  });
}
