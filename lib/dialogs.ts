/**
 * Dialog bindings (PROTOCOL.md "Dialogs").
 *
 * A request whose key carries `dialog` binds the entities it names to that
 * dialog; every later ARI event that refers to a bound entity is also
 * published on `<prefix>dialogevent.<dialog>`, once per dialog. Bindings of
 * an entity are dropped when Asterisk reports it destroyed.
 *
 * Memory is bounded: at most `maxEntities` entities are tracked; beyond
 * that the oldest binding is evicted (entities that are never destroyed,
 * such as ids of a failed originate, cannot pile up).
 *
 * @module
 */

import { KIND_TABLE } from "../client/protocol/kinds.ts";
import type { Key, Request } from "../client/protocol/types.ts";

/** Default bound on the number of bound entities. */
export const DEFAULT_MAX_DIALOG_ENTITIES = 100_000;

/** One entity a request binds to a dialog. */
export interface DialogBinding {
  /** Entity kind, as event keys name it (`channel`, `liverecording`, …). */
  kind: string;
  /** Entity id. */
  id: string;
}

/** Options of {@linkcode createDialogRegistry}. */
export interface DialogRegistryOptions {
  /**
   * Maximum number of entities with bindings; the oldest is evicted beyond.
   *
   * @default {100000}
   */
  maxEntities?: number;
  /** Called once per eviction (for logging). */
  onEvict?: (kind: string, id: string) => void;
}

/** Counters of a {@linkcode DialogRegistry}. */
export interface DialogRegistryStats {
  /** Entities with at least one binding. */
  entities: number;
  /** Dialogs with at least one binding. */
  dialogs: number;
  /** Bindings evicted because of `maxEntities`. */
  evicted: number;
}

/** Entity ↔ dialog bindings. Create it with {@linkcode createDialogRegistry}. */
export interface DialogRegistry {
  /** Number of entities with bindings (0 means no event needs a look-up). */
  readonly size: number;
  /** Binds entity `kind`/`id` to `dialog`; empty values are ignored. */
  bind(dialog: string, kind: string, id: string): void;
  /** Binds every entity of `bindings` to `dialog`. */
  bindAll(dialog: string, bindings: readonly DialogBinding[]): void;
  /** The dialogs bound to entity `kind`/`id`. */
  list(kind: string, id: string): readonly string[];
  /** The dialogs bound to any of `keys`, each once, in first-seen order. */
  dialogsFor(keys: readonly Key[]): string[];
  /** Drops every binding of entity `kind`/`id`. */
  unbind(kind: string, id: string): void;
  /** Drops every binding of `dialog`. */
  unbindDialog(dialog: string): void;
  /** Counters. */
  stats(): DialogRegistryStats;
  /** Drops everything. */
  clear(): void;
}

const EMPTY: readonly string[] = Object.freeze([]);

function entityKey(kind: string, id: string): string {
  return kind + ":" + id;
}

class Registry implements DialogRegistry {
  /** `kind:id` → dialogs; Map order = insertion order, used for eviction. */
  readonly #byEntity = new Map<string, string[]>();
  /** dialog → `kind:id` entries. */
  readonly #byDialog = new Map<string, Set<string>>();
  readonly #max: number;
  readonly #onEvict: ((kind: string, id: string) => void) | undefined;
  #evicted = 0;

  constructor(max: number, onEvict?: (kind: string, id: string) => void) {
    this.#max = max;
    this.#onEvict = onEvict;
  }

  get size(): number {
    return this.#byEntity.size;
  }

  bind(dialog: string, kind: string, id: string): void {
    if (!dialog || !kind || !id) return;
    const key = entityKey(kind, id);
    const list = this.#byEntity.get(key);
    if (list !== undefined) {
      if (list.includes(dialog)) return;
      list.push(dialog);
    } else {
      if (this.#byEntity.size >= this.#max) this.#evictOldest();
      this.#byEntity.set(key, [dialog]);
    }
    let entities = this.#byDialog.get(dialog);
    if (entities === undefined) {
      entities = new Set();
      this.#byDialog.set(dialog, entities);
    }
    entities.add(key);
  }

  bindAll(dialog: string, bindings: readonly DialogBinding[]): void {
    for (const b of bindings) this.bind(dialog, b.kind, b.id);
  }

  #evictOldest(): void {
    const oldest = this.#byEntity.keys().next();
    if (oldest.done) return;
    const key = oldest.value;
    this.#removeEntity(key);
    this.#evicted++;
    if (this.#onEvict !== undefined) {
      const colon = key.indexOf(":");
      this.#onEvict(key.slice(0, colon), key.slice(colon + 1));
    }
  }

  #removeEntity(key: string): void {
    const list = this.#byEntity.get(key);
    if (list === undefined) return;
    this.#byEntity.delete(key);
    for (const dialog of list) {
      const entities = this.#byDialog.get(dialog);
      if (entities === undefined) continue;
      entities.delete(key);
      if (entities.size === 0) this.#byDialog.delete(dialog);
    }
  }

  list(kind: string, id: string): readonly string[] {
    return this.#byEntity.get(entityKey(kind, id)) ?? EMPTY;
  }

  dialogsFor(keys: readonly Key[]): string[] {
    let out: string[] | undefined;
    for (const k of keys) {
      if (!k || !k.kind || !k.id) continue;
      const list = this.#byEntity.get(entityKey(k.kind, k.id));
      if (list === undefined) continue;
      if (out === undefined) {
        out = list.slice();
        continue;
      }
      for (const d of list) if (!out.includes(d)) out.push(d);
    }
    return out ?? [];
  }

  unbind(kind: string, id: string): void {
    this.#removeEntity(entityKey(kind, id));
  }

  unbindDialog(dialog: string): void {
    const entities = this.#byDialog.get(dialog);
    if (entities === undefined) return;
    this.#byDialog.delete(dialog);
    for (const key of entities) {
      const list = this.#byEntity.get(key);
      if (list === undefined) continue;
      const i = list.indexOf(dialog);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.#byEntity.delete(key);
    }
  }

  stats(): DialogRegistryStats {
    return {
      entities: this.#byEntity.size,
      dialogs: this.#byDialog.size,
      evicted: this.#evicted,
    };
  }

  clear(): void {
    this.#byEntity.clear();
    this.#byDialog.clear();
  }
}

/**
 * Creates an in-memory dialog registry.
 *
 * @param options Bound and eviction callback.
 * @returns The registry.
 * @throws {RangeError} When `maxEntities` is not a positive integer.
 *
 * @example Bind, route, drop
 * ```ts
 * import assert from "node:assert/strict";
 * import { createDialogRegistry } from "./dialogs.ts";
 *
 * const dialogs = createDialogRegistry();
 * dialogs.bind("d1", "channel", "c1");
 * dialogs.bind("d2", "channel", "c1");
 * dialogs.bind("d1", "bridge", "b1");
 * assert.deepEqual(
 *   dialogs.dialogsFor([{ kind: "channel", id: "c1" }, { kind: "bridge", id: "b1" }]),
 *   ["d1", "d2"],
 * );
 * dialogs.unbind("channel", "c1");
 * assert.deepEqual(dialogs.dialogsFor([{ kind: "channel", id: "c1" }]), []);
 * ```
 */
export function createDialogRegistry(
  options?: DialogRegistryOptions,
): DialogRegistry {
  const { maxEntities = DEFAULT_MAX_DIALOG_ENTITIES, onEvict } = options ?? {};
  if (!Number.isSafeInteger(maxEntities) || maxEntities < 1) {
    throw new RangeError(
      `Cannot create dialog registry: maxEntities must be a positive integer, got ${maxEntities}`,
    );
  }
  return new Registry(maxEntities, onEvict);
}

/**
 * Whether `dialog` can be used as the tail of a publish subject
 * (`<prefix>dialogevent.<dialog>`): non-empty, at most 256 characters, no
 * whitespace, no `*` or `>`, no empty token.
 *
 * @param dialog A dialog id from a request key.
 * @returns True when events can be published for it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isValidDialog } from "./dialogs.ts";
 *
 * assert.ok(isValidDialog("golden-dialog-1"));
 * assert.ok(isValidDialog("tenant.call-7"));
 * assert.ok(!isValidDialog("a b"));
 * assert.ok(!isValidDialog("x.>"));
 * ```
 */
export function isValidDialog(dialog: string): boolean {
  return typeof dialog === "string" && dialog.length > 0 &&
    dialog.length <= 256 && !/[\s*>]/.test(dialog) &&
    !dialog.includes("\0") &&
    dialog[0] !== "." && dialog[dialog.length - 1] !== "." &&
    !dialog.includes("..");
}

function str(value: unknown): string {
  return typeof value === "string" ? value : "";
}

function obj(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? value as Record<string, unknown>
    : {};
}

function pushIds(out: DialogBinding[], kind: string, value: unknown): void {
  // ARI accepts comma-separated id lists (e.g. several channels to add).
  for (const id of str(value).split(",")) {
    const trimmed = id.trim();
    if (trimmed !== "") out.push({ kind, id: trimmed });
  }
}

/** Event source prefix (`channel:`, `deviceState:`, …) → event key kind. */
const SOURCE_KINDS: Readonly<Record<string, string>> = {
  channel: "channel",
  bridge: "bridge",
  endpoint: "endpoint",
  devicestate: "devicestate",
};

/**
 * The entities named by an ARI event source (`channel:<id>`,
 * `bridge:<id>`, `endpoint:<tech>/<res>`, `deviceState:<name>`; several
 * separated by commas). `deviceState` maps to kind `devicestate` (the kind
 * event keys use; Go binds `deviceState`, which never matches).
 *
 * @param source The `event_source` of an application subscribe.
 * @returns The bindings; unknown source types are skipped.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { eventSourceBindings } from "./dialogs.ts";
 *
 * assert.deepEqual(eventSourceBindings("deviceState:Stasis:x,channel:c1"), [
 *   { kind: "devicestate", id: "Stasis:x" },
 *   { kind: "channel", id: "c1" },
 * ]);
 * ```
 */
export function eventSourceBindings(source: string): DialogBinding[] {
  const out: DialogBinding[] = [];
  for (const part of source.split(",")) {
    const colon = part.indexOf(":");
    if (colon <= 0) continue;
    const kind = SOURCE_KINDS[part.slice(0, colon).trim().toLowerCase()];
    const id = part.slice(colon + 1).trim();
    if (kind !== undefined && id !== "") out.push({ kind, id });
  }
  return out;
}

/** Kinds whose bindings come from their body (and maybe their key). */
function bodyBindings(request: Request, out: DialogBinding[]): boolean {
  const key = request.key;
  const keyId = str(key?.id);
  const r = request as Record<string, unknown>;
  switch (request.kind) {
    case "ChannelOriginate":
    case "ChannelStageOriginate": {
      const orig = obj(obj(r.channel_originate).originate_request);
      pushIds(out, "channel", orig.channelId);
      pushIds(out, "channel", orig.otherChannelId);
      pushIds(out, "channel", orig.originator);
      // Go: the key's id is bound too, unless it is the originator.
      if (keyId !== "" && keyId !== str(orig.originator)) {
        out.push({ kind: "channel", id: keyId });
      }
      // The Go client's StageExternalMedia sends this kind with an
      // external media body.
      pushIds(
        out,
        "channel",
        obj(obj(r.channel_external_media).options).channelId,
      );
      return true;
    }
    case "ChannelCreate": {
      const create = obj(obj(r.channel_create).channel_create_request);
      pushIds(out, "channel", create.channelId);
      pushIds(out, "channel", create.otherChannelId);
      pushIds(out, "channel", create.originator);
      return true;
    }
    case "ChannelExternalMedia":
    case "ChannelStageExternalMedia":
      pushIds(
        out,
        "channel",
        obj(obj(r.channel_external_media).options).channelId,
      );
      return true;
    case "ChannelSnoop":
    case "ChannelStageSnoop":
      pushIds(out, "channel", obj(r.channel_snoop).snoop_id);
      return true;
    case "ChannelPlay":
    case "ChannelStagePlay":
      pushIds(out, "channel", keyId);
      pushIds(out, "playback", obj(r.channel_play).playback_id);
      return true;
    case "BridgePlay":
    case "BridgeStagePlay":
      pushIds(out, "bridge", keyId);
      pushIds(out, "playback", obj(r.bridge_play).playback_id);
      return true;
    case "ChannelRecord":
    case "ChannelStageRecord":
      pushIds(out, "channel", keyId);
      pushIds(out, "liverecording", obj(r.channel_record).name);
      return true;
    case "BridgeRecord":
    case "BridgeStageRecord":
      pushIds(out, "bridge", keyId);
      pushIds(out, "liverecording", obj(r.bridge_record).name);
      return true;
    case "BridgeCreate":
    case "BridgeStageCreate":
      pushIds(out, "bridge", keyId);
      return true;
    case "BridgeAddChannel":
      pushIds(out, "bridge", keyId);
      pushIds(out, "channel", obj(r.bridge_add_channel).channel);
      return true;
    case "BridgeRemoveChannel":
      pushIds(out, "bridge", keyId);
      pushIds(out, "channel", obj(r.bridge_remove_channel).channel);
      return true;
    case "BridgeVideoSource":
      pushIds(out, "bridge", keyId);
      pushIds(out, "channel", obj(r.bridge_video_source).channel);
      return true;
    case "ApplicationSubscribe":
      out.push(
        ...eventSourceBindings(str(obj(r.application_subscribe).event_source)),
      );
      return true;
    default:
      return false;
  }
}

/** Key kinds whose commands bind the addressed entity. */
const BINDING_KEY_KINDS: ReadonlySet<string> = new Set([
  "channel",
  "bridge",
  "playback",
  "liverecording",
]);

/**
 * The entities a request binds to its key's dialog (PROTOCOL.md
 * "Dialogs"): the channel of a channel command, the new channel(s) of an
 * originate/create (and `otherChannelId`/`originator`), the bridge of a
 * bridge command and the channel it adds/removes, the playback id of a
 * play, the recording name of a record (as `liverecording`), the snoop id,
 * the external media channel id, the event source of an application
 * subscribe, and the entity of any `*Subscribe` (or other command) on a
 * channel, bridge, playback or live recording.
 *
 * The request is not validated: missing or mistyped fields bind nothing.
 *
 * @param request A decoded request.
 * @returns The bindings, possibly with duplicates; empty without `key.dialog`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { requestBindings } from "./dialogs.ts";
 *
 * assert.deepEqual(
 *   requestBindings({
 *     kind: "ChannelPlay",
 *     key: { kind: "channel", id: "c1", dialog: "d" },
 *     channel_play: { playback_id: "p1", media_uri: "sound:beep" },
 *   }),
 *   [{ kind: "channel", id: "c1" }, { kind: "playback", id: "p1" }],
 * );
 * ```
 */
export function requestBindings(request: Request): DialogBinding[] {
  const key = request.key;
  if (!key || typeof key.dialog !== "string" || key.dialog === "") return [];
  const out: DialogBinding[] = [];
  if (bodyBindings(request, out)) return out;
  const info = Object.hasOwn(KIND_TABLE, request.kind)
    ? KIND_TABLE[request.kind as keyof typeof KIND_TABLE]
    : undefined;
  if (
    info !== undefined && info.class === "command" && info.keyKind !== null &&
    BINDING_KEY_KINDS.has(info.keyKind)
  ) {
    pushIds(out, info.keyKind, key.id);
  }
  return out;
}

/**
 * Whether the bindings of `request` are made only after it succeeded
 * (`ApplicationSubscribe`, as in Go) rather than before it is executed (so
 * that events racing the reply are already routed).
 *
 * @param kind The request kind.
 * @returns True for kinds bound after success.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bindsAfterSuccess } from "./dialogs.ts";
 *
 * assert.ok(bindsAfterSuccess("ApplicationSubscribe"));
 * assert.ok(!bindsAfterSuccess("ChannelOriginate"));
 * ```
 */
export function bindsAfterSuccess(kind: string): boolean {
  return kind === "ApplicationSubscribe";
}

const CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz";

/**
 * A new resource id in the Go `rid` format: a lowercase ULID followed by
 * `-<kind>` (`ch` channel, `pb` playback, `rc` recording, `sn` snoop, `br`
 * bridge).
 *
 * @param kind Two-letter resource kind.
 * @returns A unique id such as `01hx…-ch`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { newResourceId } from "./dialogs.ts";
 *
 * assert.match(newResourceId("ch"), /^[0-9a-z]{26}-ch$/);
 * ```
 */
export function newResourceId(kind: string): string {
  let time = Date.now();
  let out = "";
  for (let i = 0; i < 10; i++) {
    out = CROCKFORD[time % 32] + out;
    time = Math.floor(time / 32);
  }
  const random = crypto.getRandomValues(new Uint8Array(16));
  for (let i = 0; i < 16; i++) out += CROCKFORD[random[i]! % 32];
  return `${out}-${kind}`;
}

function withId(
  parent: Record<string, unknown>,
  field: string,
  inner: string | undefined,
  idField: string,
  id: () => string,
): Record<string, unknown> | undefined {
  const outer = parent[field];
  if (outer === null || typeof outer !== "object" || Array.isArray(outer)) {
    return undefined;
  }
  const holder = inner === undefined
    ? outer as Record<string, unknown>
    : (outer as Record<string, unknown>)[inner];
  if (holder === null || typeof holder !== "object" || Array.isArray(holder)) {
    return undefined;
  }
  const current = (holder as Record<string, unknown>)[idField];
  if (current !== undefined && current !== null && current !== "") {
    return undefined;
  }
  const filled = { ...holder as Record<string, unknown>, [idField]: id() };
  return inner === undefined ? { ...parent, [field]: filled } : {
    ...parent,
    [field]: { ...outer as Record<string, unknown>, [inner]: filled },
  };
}

/**
 * Gives a dialog-bound request the ids it would otherwise get from the
 * executor (Go assigns them in the server before binding): the channel id of
 * an originate/create/external media, the playback id of a play, the name
 * of a record, the snoop id. Without these the new entity could not be bound
 * before its first event. Other requests are returned unchanged.
 *
 * @param request A decoded request.
 * @param generate Id generator (default {@linkcode newResourceId}).
 * @returns The request, or a copy with the missing ids filled in.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fillMissingIds } from "./dialogs.ts";
 *
 * const filled = fillMissingIds(
 *   { kind: "ChannelPlay", key: { id: "c1", dialog: "d" }, channel_play: { playback_id: "", media_uri: "sound:beep" } },
 *   (kind) => `new-${kind}`,
 * );
 * assert.equal(filled.channel_play?.playback_id, "new-pb");
 * ```
 */
export function fillMissingIds(
  request: Request,
  generate: (kind: string) => string = newResourceId,
): Request {
  const key = request.key;
  if (!key || typeof key.dialog !== "string" || key.dialog === "") {
    return request;
  }
  const r = request as Record<string, unknown>;
  let filled: Record<string, unknown> | undefined;
  switch (request.kind) {
    case "ChannelOriginate":
    case "ChannelStageOriginate":
      filled = withId(
        r,
        "channel_originate",
        "originate_request",
        "channelId",
        () => generate("ch"),
      ) ?? withId(
        r,
        "channel_external_media",
        "options",
        "channelId",
        () => generate("ch"),
      );
      break;
    case "ChannelCreate":
      filled = withId(
        r,
        "channel_create",
        "channel_create_request",
        "channelId",
        () => generate("ch"),
      );
      break;
    case "ChannelExternalMedia":
    case "ChannelStageExternalMedia":
      filled = withId(
        r,
        "channel_external_media",
        "options",
        "channelId",
        () => generate("ch"),
      );
      break;
    case "ChannelPlay":
    case "ChannelStagePlay":
      filled = withId(
        r,
        "channel_play",
        undefined,
        "playback_id",
        () => generate("pb"),
      );
      break;
    case "BridgePlay":
    case "BridgeStagePlay":
      filled = withId(
        r,
        "bridge_play",
        undefined,
        "playback_id",
        () => generate("pb"),
      );
      break;
    case "ChannelRecord":
    case "ChannelStageRecord":
      filled = withId(
        r,
        "channel_record",
        undefined,
        "name",
        () => generate("rc"),
      );
      break;
    case "BridgeRecord":
    case "BridgeStageRecord":
      filled = withId(
        r,
        "bridge_record",
        undefined,
        "name",
        () => generate("rc"),
      );
      break;
    case "ChannelSnoop":
    case "ChannelStageSnoop":
      filled = withId(
        r,
        "channel_snoop",
        undefined,
        "snoop_id",
        () => generate("sn"),
      );
      break;
  }
  return (filled ?? request) as Request;
}
