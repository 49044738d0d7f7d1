/**
 * Internals shared by the kind executor's resource groups: the execution
 * context of one request (validated access to its key and body, ARI calls
 * through the generated operation table, key stamping) and the reply
 * builders. Not part of the public API.
 *
 * @module
 */

import {
  ProtocolError,
  type ProtocolErrorCode,
  TimeoutError,
} from "../errors.ts";
import {
  ARI_OPERATIONS_BY_ID,
  type AriOperationId,
} from "../generated/operations.ts";
import { KIND_TABLE, type KindName } from "../protocol/kinds.ts";
import type {
  BodyField,
  EntityData,
  Key,
  Request,
  Response,
} from "../protocol/types.ts";
import type { AriBytesResponse, AriQueryValue, AriRestClient } from "./rest.ts";

/** Suffix of a generated id, as Go's `rid` package adds it. */
export type IdSuffix = "ch" | "pb" | "rc" | "sn" | "br";

/** What one kind does: the ARI operations it may call and how it runs. */
export interface KindHandler {
  /** Every ARI operation the kind may call (empty: no ARI call). */
  readonly ops: readonly AriOperationId[];
  /** Runs the request; throws {@linkcode ProtocolError} or {@linkcode AriCallError}. */
  run(ctx: ExecContext): Promise<Response>;
}

/** Handlers of a resource group, by kind. */
export type HandlerGroup = { readonly [K in KindName]?: KindHandler };

/** An ARI call failed; carries what was being done. */
export class AriCallError extends Error {
  /** What the call did, e.g. `answer channel "c1"`. */
  readonly action: string;
  /** ARI operation id of the call. */
  readonly operation: AriOperationId | undefined;

  constructor(
    action: string,
    cause: unknown,
    operation: AriOperationId | undefined,
  ) {
    super(`Cannot ${action}`, { cause });
    this.name = "AriCallError";
    this.action = action;
    this.operation = operation;
  }
}

/** Parameters of {@linkcode ExecContext.call}. */
export interface CallOptions {
  /** Path template parameters (URL-encoded by the REST client). */
  params?: Record<string, string>;
  /** Query parameters. */
  query?: Record<string, AriQueryValue>;
  /** JSON body. */
  body?: unknown;
}

/** Internal construction options of an {@linkcode ExecContext}. */
export interface ExecContextInit {
  request: Request;
  kind: KindName;
  application: string;
  node: () => string;
  newId: (suffix: IdSuffix) => string;
  rest: AriRestClient;
  ops: readonly AriOperationId[];
  signal: AbortSignal | undefined;
  timeout: number | undefined;
}

const UNSAFE_IDS: ReadonlySet<string> = new Set(["", ".", ".."]);

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "string"
    ? `the string ${JSON.stringify(value)}`
    : `a ${typeof value}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** An id or name quoted for an action description. */
export function quoted(id: string): string {
  return JSON.stringify(id);
}

/**
 * Typed, validated access to one object of a request body. Absent and `null`
 * optional fields read as `undefined` (Go peers send `null` for nil maps).
 */
export class BodyReader {
  readonly #ctx: ExecContext;
  readonly #path: string;
  /** The raw object. */
  readonly raw: Readonly<Record<string, unknown>>;

  constructor(
    ctx: ExecContext,
    path: string,
    raw: Readonly<Record<string, unknown>>,
  ) {
    this.#ctx = ctx;
    this.#path = path;
    this.raw = raw;
  }

  #fail(name: string, expected: string, value: unknown): never {
    throw this.#ctx.invalid(
      `${this.#path}.${name} must be ${expected}, got ${describe(value)}`,
      "invalidField",
      `${this.#path}.${name}`,
    );
  }

  #missing(name: string, detail = ""): never {
    throw this.#ctx.invalid(
      `${this.#path}.${name} is required${detail}`,
      "invalidField",
      `${this.#path}.${name}`,
    );
  }

  #get(name: string): unknown {
    return Object.hasOwn(this.raw, name) ? this.raw[name] : undefined;
  }

  /** A string field that must be present (it may be empty). */
  string(name: string): string {
    const value = this.#get(name);
    if (typeof value !== "string") {
      if (value === undefined || value === null) this.#missing(name);
      this.#fail(name, "a string", value);
    }
    return value;
  }

  /** A string field that must be present and not empty. */
  nonEmpty(name: string, what = "a non-empty string"): string {
    const value = this.#get(name);
    if (typeof value !== "string" || value === "") {
      if (value === undefined || value === null || value === "") {
        this.#missing(name, ` (${what})`);
      }
      this.#fail(name, what, value);
    }
    return value;
  }

  /** An optional string; `undefined` when absent, `null` or empty. */
  optString(name: string): string | undefined {
    const value = this.#get(name);
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "string") this.#fail(name, "a string", value);
    return value === "" ? undefined : value;
  }

  /** An optional finite number (`0` when absent). */
  number(name: string): number {
    const value = this.#get(name);
    if (value === undefined || value === null) return 0;
    if (typeof value !== "number" || !Number.isFinite(value)) {
      this.#fail(name, "a finite number", value);
    }
    return value;
  }

  /** An optional integer; `undefined` when absent or `null`. */
  optInt(name: string): number | undefined {
    const value = this.#get(name);
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "number" || !Number.isSafeInteger(value)) {
      this.#fail(name, "an integer", value);
    }
    return value;
  }

  /** An optional boolean (`false` when absent). */
  bool(name: string): boolean {
    const value = this.#get(name);
    if (value === undefined || value === null) return false;
    if (typeof value !== "boolean") this.#fail(name, "a boolean", value);
    return value;
  }

  /** An optional boolean; `undefined` when absent. */
  optBool(name: string): boolean | undefined {
    const value = this.#get(name);
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "boolean") this.#fail(name, "a boolean", value);
    return value;
  }

  /** An optional map of strings; `undefined` when absent, `null` or empty. */
  optStringMap(name: string): Record<string, string> | undefined {
    const value = this.#get(name);
    if (value === undefined || value === null) return undefined;
    if (!isObject(value)) this.#fail(name, "an object of strings", value);
    const out: Record<string, string> = {};
    let count = 0;
    for (const [k, v] of Object.entries(value)) {
      if (typeof v !== "string") this.#fail(`${name}.${k}`, "a string", v);
      out[k] = v;
      count++;
    }
    return count === 0 ? undefined : out;
  }

  /** An optional object of any values; `undefined` when absent or `null`. */
  optRecord(name: string): Record<string, unknown> | undefined {
    const value = this.#get(name);
    if (value === undefined || value === null) return undefined;
    if (!isObject(value)) this.#fail(name, "an object", value);
    return value;
  }

  /** An optional array of strings; `undefined` when absent, `null` or empty. */
  optStringArray(name: string): string[] | undefined {
    const value = this.#get(name);
    if (value === undefined || value === null) return undefined;
    if (!Array.isArray(value)) this.#fail(name, "an array of strings", value);
    for (let i = 0; i < value.length; i++) {
      if (typeof value[i] !== "string") {
        this.#fail(`${name}[${i}]`, "a string", value[i]);
      }
    }
    return value.length === 0 ? undefined : [...value as string[]];
  }

  /** A nested object that must be present. */
  object(name: string): BodyReader {
    const value = this.#get(name);
    if (!isObject(value)) {
      if (value === undefined || value === null) this.#missing(name);
      this.#fail(name, "an object", value);
    }
    return new BodyReader(this.#ctx, `${this.#path}.${name}`, value);
  }

  /** A nested object; `undefined` when absent or `null`. */
  optObject(name: string): BodyReader | undefined {
    const value = this.#get(name);
    if (value === undefined || value === null) return undefined;
    if (!isObject(value)) this.#fail(name, "an object", value);
    return new BodyReader(this.#ctx, `${this.#path}.${name}`, value);
  }
}

/** The execution context of one request. */
export class ExecContext {
  /** The request as received. */
  readonly request: Request;
  /** Its kind. */
  readonly kind: KindName;
  /** The ARI application of this executor. */
  readonly application: string;
  readonly #node: () => string;
  readonly #newId: (suffix: IdSuffix) => string;
  readonly #rest: AriRestClient;
  readonly #ops: readonly AriOperationId[];
  readonly #signal: AbortSignal | undefined;
  readonly #timeout: number | undefined;
  readonly #deadline: number | undefined;

  constructor(init: ExecContextInit) {
    this.request = init.request;
    this.kind = init.kind;
    this.application = init.application;
    this.#node = init.node;
    this.#newId = init.newId;
    this.#rest = init.rest;
    this.#ops = init.ops;
    this.#signal = init.signal;
    this.#timeout = init.timeout;
    this.#deadline = init.timeout === undefined
      ? undefined
      : Date.now() + init.timeout;
  }

  /** A validation error for this request. */
  invalid(
    detail: string,
    code: ProtocolErrorCode,
    field?: string,
  ): ProtocolError {
    const options: { code: ProtocolErrorCode; kind: string; field?: string } = {
      code,
      kind: this.kind,
    };
    if (field !== undefined) options.field = field;
    return new ProtocolError(
      `Invalid request "${this.kind}": ${detail}`,
      options,
    );
  }

  /** A fresh id (Go `rid` style unless an id generator was injected). */
  newId(suffix: IdSuffix): string {
    return this.#newId(suffix);
  }

  /** The current node id. */
  node(): string {
    return this.#node();
  }

  /** The request key as an object, or `undefined` when null/absent. */
  key(): Readonly<Key> | undefined {
    const key: unknown = this.request.key;
    return isObject(key) ? key as Key : undefined;
  }

  #keyField(name: "id" | "dialog" | "kind"): string | undefined {
    const key: unknown = this.request.key;
    if (key === undefined || key === null) return undefined;
    if (!isObject(key)) {
      throw this.invalid(
        `key must be an object or null, got ${describe(key)}`,
        "invalidKey",
        "key",
      );
    }
    const value = key[name];
    if (value === undefined || value === null || value === "") {
      return undefined;
    }
    if (typeof value !== "string") {
      throw this.invalid(
        `key.${name} must be a string, got ${describe(value)}`,
        "invalidKey",
        `key.${name}`,
      );
    }
    return value;
  }

  /** The key's id, which must be present and safe to place in a path. */
  id(what = `${KIND_TABLE[this.kind].keyKind ?? "entity"} id`): string {
    const id = this.#keyField("id");
    if (id === undefined) {
      throw this.invalid(
        `key.id is required (the ${what})`,
        "missingKey",
        "key.id",
      );
    }
    return checkPathId(this, id, "key.id");
  }

  /** The key's id when present (validated), else `undefined`. */
  optId(): string | undefined {
    const id = this.#keyField("id");
    return id === undefined ? undefined : checkPathId(this, id, "key.id");
  }

  /** The key's kind, when present. */
  keyKind(): string | undefined {
    return this.#keyField("kind");
  }

  /** The key's dialog, when present. */
  dialog(): string | undefined {
    return this.#keyField("dialog");
  }

  /**
   * A key stamped with this executor's app and node, in Go field order
   * (`kind, id, node, dialog, app`).
   */
  makeKey(kind: string, id: string | undefined, dialog?: string): Key {
    const key: Key = {};
    if (kind !== "") key.kind = kind;
    if (id !== undefined && id !== "") key.id = id;
    const node = this.#node();
    if (node !== "") key.node = node;
    if (dialog !== undefined && dialog !== "") key.dialog = dialog;
    key.app = this.application;
    return key;
  }

  /**
   * The request key re-stamped (Go's `stamp`): kind (defaulting to the
   * kind's key kind), id (overridable), dialog kept, app and node replaced.
   */
  stampKey(id?: string): Key {
    const kind = this.#keyField("kind") ??
      KIND_TABLE[this.kind].keyKind ?? "";
    return this.makeKey(kind, id ?? this.#keyField("id"), this.dialog());
  }

  /** The body object of `field`, which must be present. */
  body(field: BodyField): BodyReader {
    const value: unknown = (this.request as Record<string, unknown>)[field];
    if (value === undefined || value === null) {
      throw this.invalid(
        `body field "${field}" is required`,
        "missingBody",
        field,
      );
    }
    if (!isObject(value)) {
      throw this.invalid(
        `body field "${field}" must be an object, got ${describe(value)}`,
        "invalidField",
        field,
      );
    }
    return new BodyReader(this, field, value);
  }

  /** The body object of `field`, or `undefined` when absent or `null`. */
  optBody(field: BodyField): BodyReader | undefined {
    const value: unknown = (this.request as Record<string, unknown>)[field];
    if (value === undefined || value === null) return undefined;
    return this.body(field);
  }

  /** The per-request timeout in ms, when one was given. */
  get timeout(): number | undefined {
    return this.#timeout;
  }

  #check(op: AriOperationId): void {
    if (!this.#ops.includes(op)) {
      throw new Error(
        `Internal error: kind "${this.kind}" called ARI operation "${op}" missing from its operation list`,
      );
    }
  }

  #options(options: CallOptions | undefined, op: AriOperationId) {
    let remaining: number | undefined;
    if (this.#deadline !== undefined) {
      remaining = this.#deadline - Date.now();
      if (remaining <= 0) {
        throw new TimeoutError({
          timeout: this.#timeout ?? 0,
          operation: `${this.kind} (before calling ${op})`,
        });
      }
    }
    const out: {
      query?: Record<string, AriQueryValue>;
      body?: unknown;
      timeout?: number;
      signal?: AbortSignal;
    } = {};
    if (options?.query !== undefined) out.query = options.query;
    if (options?.body !== undefined) out.body = options.body;
    if (remaining !== undefined) out.timeout = remaining;
    if (this.#signal !== undefined) out.signal = this.#signal;
    return out;
  }

  /**
   * Calls ARI operation `op`; failures become {@linkcode AriCallError}
   * naming `action`.
   */
  call(
    op: AriOperationId,
    action: string,
    options?: CallOptions,
  ): Promise<unknown> {
    return this.#send(op, action, options, (...a) => this.#rest.request(...a));
  }

  /** Like {@linkcode ExecContext.call} for binary answers. */
  callBytes(
    op: AriOperationId,
    action: string,
    options?: CallOptions,
  ): Promise<AriBytesResponse> {
    return this.#send(
      op,
      action,
      options,
      (...a) => this.#rest.requestBytes(...a),
    );
  }

  async #send<T>(
    op: AriOperationId,
    action: string,
    options: CallOptions | undefined,
    send: (...args: Parameters<AriRestClient["request"]>) => Promise<T>,
  ): Promise<T> {
    this.#check(op);
    const spec = ARI_OPERATIONS_BY_ID[op];
    try {
      const opts = this.#options(options, op);
      return await send(
        spec.method,
        { template: spec.path, params: options?.params ?? {} },
        opts,
      );
    } catch (cause) {
      throw new AriCallError(action, cause, op);
    }
  }
}

/** Rejects ids that cannot be placed in an ARI path segment. */
export function checkPathId(
  ctx: ExecContext,
  id: string,
  field: string,
): string {
  if (UNSAFE_IDS.has(id)) {
    throw ctx.invalid(
      `${field} ${JSON.stringify(id)} is not a valid id`,
      "invalidKey",
      field,
    );
  }
  return id;
}

// ---- ARI answer checks ----

/** ARI answered 2xx with a body of an unexpected shape. */
export class UnexpectedAriAnswerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnexpectedAriAnswerError";
  }
}

/** The ARI answer as an object, or an {@linkcode AriCallError}. */
export function asObject(
  value: unknown,
  action: string,
): Record<string, unknown> {
  if (!isObject(value)) {
    throw new AriCallError(
      action,
      new UnexpectedAriAnswerError(
        `ARI answered ${describe(value)} where an object was expected`,
      ),
      undefined,
    );
  }
  return value;
}

/** The ARI answer as an array of objects, or an {@linkcode AriCallError}. */
export function asList(
  value: unknown,
  action: string,
): Record<string, unknown>[] {
  if (!Array.isArray(value)) {
    throw new AriCallError(
      action,
      new UnexpectedAriAnswerError(
        `ARI answered ${describe(value)} where a list was expected`,
      ),
      undefined,
    );
  }
  return value.filter(isObject);
}

/** A string member of an ARI object, `""` when absent. */
export function stringField(
  object: Record<string, unknown>,
  name: string,
): string {
  const value = object[name];
  return typeof value === "string" ? value : "";
}

// ---- replies ----

/** `{"error":""}`. */
export function ok(): Response {
  return { error: "" };
}

/** `{"error":"","key":…}`. */
export function keyReply(key: Key): Response {
  return { error: "", key };
}

/** `{"error":"","keys":[…]}`, `keys` omitted when empty (as Go does). */
export function keysReply(keys: Key[]): Response {
  return keys.length === 0 ? { error: "" } : { error: "", keys };
}

/** `{"error":"","data":…}`. */
export function dataReply(data: EntityData): Response {
  return { error: "", data };
}

/** Entity data: the key first, then the ARI model. */
export function entity(
  key: Key,
  model: Record<string, unknown>,
): Record<string, unknown> & { key: Key } {
  return { key, ...withoutKey(model) };
}

function withoutKey(model: Record<string, unknown>): Record<string, unknown> {
  if (!Object.hasOwn(model, "key")) return model;
  const { key: _ignored, ...rest } = model;
  return rest;
}

/**
 * Reads one variable (ARI answers `{"value":…}`) and replies it as Go does,
 * leaving an empty value out (`"data":{}`).
 */
export async function readVariable(
  ctx: ExecContext,
  op: AriOperationId,
  action: string,
  options: CallOptions,
): Promise<Response> {
  const answer = asObject(await ctx.call(op, action, options), action);
  const text = typeof answer.value === "string" ? answer.value : "";
  return dataReply(text === "" ? {} : { variable: text });
}

/** Keeps the string members of an ARI `variables` object. */
export function stringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (isObject(value)) {
    for (const [k, v] of Object.entries(value)) {
      if (typeof v === "string") out[k] = v;
      else if (v !== undefined && v !== null) out[k] = String(v);
    }
  }
  return out;
}

// ---- conversions ----

/** Go `time.Duration` (ns) to whole seconds, truncated as Go does. */
export function nsToSeconds(ns: number): number {
  return Math.trunc(ns / 1e9) || 0;
}

/** Go `time.Duration` (ns) to whole milliseconds, truncated as Go does. */
export function nsToMillis(ns: number): number {
  return Math.trunc(ns / 1e6) || 0;
}

/** Splits an endpoint key id `tech/resource`. */
export function splitEndpointId(
  ctx: ExecContext,
  id: string,
  field = "key.id",
): { tech: string; resource: string } {
  const slash = id.indexOf("/");
  const tech = slash < 0 ? "" : id.slice(0, slash);
  const resource = slash < 0 ? "" : id.slice(slash + 1);
  if (tech === "" || resource === "") {
    throw ctx.invalid(
      `${field} ${
        JSON.stringify(id)
      } is not an endpoint id (expected "technology/resource")`,
      "invalidKey",
      field,
    );
  }
  checkPathId(ctx, tech, field);
  checkPathId(ctx, resource, field);
  return { tech, resource };
}

// ---- ids ----

const CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz";

/**
 * A lower-case ULID (26 Crockford base32 characters: 48-bit millisecond
 * time, 80 random bits), as Go's `rid.New` makes them.
 */
export function ulid(now = Date.now()): string {
  let out = "";
  let time = now;
  for (let i = 0; i < 10; i++) {
    out = CROCKFORD[time % 32]! + out;
    time = Math.floor(time / 32);
  }
  const bytes = crypto.getRandomValues(new Uint8Array(10));
  // 80 bits -> 16 characters of 5 bits.
  let acc = 0;
  let bits = 0;
  for (const byte of bytes) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += CROCKFORD[(acc >> bits) & 31]!;
    }
    acc &= (1 << bits) - 1;
  }
  return out;
}

/** Go `rid.New(kind)`: a lower-case ULID plus `-<suffix>`. */
export function goStyleId(suffix: IdSuffix): string {
  return `${ulid()}-${suffix}`;
}

// ---- base64 ----

/** Standard base64 of `bytes`. */
export function toBase64(bytes: Uint8Array): string {
  let out = "";
  const chunk = 0x6000; // multiple of 3, keeps String.fromCharCode arguments small
  for (let i = 0; i < bytes.length; i += chunk) {
    const part = bytes.subarray(i, Math.min(i + chunk, bytes.length));
    let binary = "";
    for (let j = 0; j < part.length; j++) {
      binary += String.fromCharCode(part[j]!);
    }
    out += btoa(binary);
  }
  return out;
}

// ---- handler factories ----

/**
 * A `*Data` kind: GET the entity by the key id, reply
 * `{"data":{<member>:{key,…model}}}`.
 */
export function dataHandler(
  op: AriOperationId,
  member: keyof EntityData,
  param: string,
  noun: string,
): KindHandler {
  return {
    ops: [op],
    async run(ctx) {
      const id = ctx.id();
      const action = `get data of ${noun} ${JSON.stringify(id)}`;
      const model = asObject(
        await ctx.call(op, action, { params: { [param]: id } }),
        action,
      );
      return dataReply({ [member]: entity(ctx.stampKey(), model) });
    },
  };
}

/** A `*Get` kind: verify the entity exists (ARI GET), reply its key. */
export function getHandler(
  op: AriOperationId,
  param: string,
  noun: string,
): KindHandler {
  return {
    ops: [op],
    async run(ctx) {
      const id = ctx.id();
      const action = `get ${noun} ${JSON.stringify(id)}`;
      asObject(await ctx.call(op, action, { params: { [param]: id } }), action);
      return keyReply(ctx.stampKey());
    },
  };
}

/** A `*List` kind: list entities, reply their keys. */
export function listHandler(
  op: AriOperationId,
  keyKind: string,
  idOf: (item: Record<string, unknown>) => string,
  noun: string,
): KindHandler {
  return {
    ops: [op],
    async run(ctx) {
      const action = `list ${noun}`;
      const items = asList(await ctx.call(op, action), action);
      return keysReply(items.map((item) => ctx.makeKey(keyKind, idOf(item))));
    },
  };
}

/** A command on the key's entity: one ARI call, reply `{"error":""}`. */
export function commandHandler(
  op: AriOperationId,
  param: string,
  describeAction: (id: string) => string,
  options?: (ctx: ExecContext) => Omit<CallOptions, "params">,
): KindHandler {
  return {
    ops: [op],
    async run(ctx) {
      const id = ctx.id();
      const extra = options?.(ctx) ?? {};
      await ctx.call(op, describeAction(id), {
        ...extra,
        params: { [param]: id },
      });
      return ok();
    },
  };
}

/**
 * A body-less command on the key's entity, described as
 * `<verb> <noun> "<id>"`, with a fixed query when given.
 */
export function verbCommandHandler(
  op: AriOperationId,
  param: string,
  noun: string,
  verb: string,
  query?: Record<string, AriQueryValue>,
): KindHandler {
  return commandHandler(
    op,
    param,
    (id) => `${verb} ${noun} ${quoted(id)}`,
    query === undefined ? undefined : () => ({ query }),
  );
}

/** A kind that exists only to bind dialogs: no ARI call, `{"error":""}`. */
export function bindOnlyHandler(): KindHandler {
  return {
    ops: [],
    run(ctx) {
      ctx.optId();
      return Promise.resolve(ok());
    },
  };
}

// ---- media targets: channels and bridges ----

/** What plays, records and holds variables (and its body field prefix). */
export type MediaTarget = "channel" | "bridge";

/**
 * An id a body may give (checked as a path segment, `field` names it), else
 * a generated one.
 */
export function givenOrNewId(
  ctx: ExecContext,
  given: string | undefined,
  suffix: IdSuffix,
  field: string,
): { id: string; generated: boolean } {
  return given === undefined
    ? { id: ctx.newId(suffix), generated: true }
    : { id: checkPathId(ctx, given, field), generated: false };
}

/** The playback id of a play body (generated when absent). */
function playbackId(
  ctx: ExecContext,
  field: `${MediaTarget}_play`,
): { id: string; generated: boolean } {
  const given = ctx.body(field).optString("playback_id");
  return givenOrNewId(ctx, given, "pb", `${field}.playback_id`);
}

/** The recording name of a record body (generated when absent). */
function recordingName(
  ctx: ExecContext,
  field: `${MediaTarget}_record`,
): string {
  return ctx.body(field).optString("name") ?? ctx.newId("rc");
}

/**
 * A `*Play` kind: play media on the key's channel or bridge (`withIdOp` when
 * the body names the playback), reply the playback key.
 */
export function playHandler(
  op: AriOperationId,
  withIdOp: AriOperationId,
  param: string,
  noun: MediaTarget,
): KindHandler {
  const field = `${noun}_play` as const;
  return {
    ops: [op, withIdOp],
    async run(ctx) {
      const id = ctx.id();
      const playback = playbackId(ctx, field);
      const query = playQuery(ctx, field);
      const action = `play media on ${noun} ${quoted(id)}`;
      if (playback.generated) {
        await ctx.call(op, action, {
          params: { [param]: id },
          query: { ...query, playbackId: playback.id },
        });
      } else {
        await ctx.call(withIdOp, action, {
          params: { [param]: id, playbackId: playback.id },
          query,
        });
      }
      return keyReply(ctx.makeKey("playback", playback.id));
    },
  };
}

/** A `*StagePlay` kind: reserve the playback id, no ARI call. */
export function stagePlayHandler(noun: MediaTarget): KindHandler {
  return {
    ops: [],
    run(ctx) {
      ctx.id();
      const playback = playbackId(ctx, `${noun}_play`);
      return Promise.resolve(keyReply(ctx.makeKey("playback", playback.id)));
    },
  };
}

/** A `*Record` kind: record the key's channel or bridge, reply its key. */
export function recordHandler(
  op: AriOperationId,
  param: string,
  noun: MediaTarget,
): KindHandler {
  const field = `${noun}_record` as const;
  return {
    ops: [op],
    async run(ctx) {
      const id = ctx.id();
      const name = recordingName(ctx, field);
      await ctx.call(op, `record ${noun} ${quoted(id)} as ${quoted(name)}`, {
        params: { [param]: id },
        query: recordQuery(ctx, field, name),
      });
      return keyReply(ctx.makeKey("liverecording", name));
    },
  };
}

/** A `*StageRecord` kind: reserve the recording name, no ARI call. */
export function stageRecordHandler(noun: MediaTarget): KindHandler {
  return {
    ops: [],
    run(ctx) {
      ctx.id();
      const name = recordingName(ctx, `${noun}_record`);
      return Promise.resolve(
        keyReply(ctx.makeKey("liverecording", name, ctx.dialog())),
      );
    },
  };
}

/** A `*VariableGet` kind: read one variable of the key's entity. */
export function variableGetHandler(
  op: AriOperationId,
  param: string,
  noun: MediaTarget,
): KindHandler {
  return {
    ops: [op],
    async run(ctx) {
      const id = ctx.id();
      const name = ctx.body(`${noun}_variable`).nonEmpty(
        "name",
        "the variable name",
      );
      return await readVariable(
        ctx,
        op,
        `get variable ${quoted(name)} of ${noun} ${quoted(id)}`,
        { params: { [param]: id }, query: { variable: name } },
      );
    },
  };
}

/** A `*VariableSet` kind: set one variable of the key's entity. */
export function variableSetHandler(
  op: AriOperationId,
  param: string,
  noun: MediaTarget,
): KindHandler {
  return commandHandler(
    op,
    param,
    (id) => `set a variable on ${noun} ${quoted(id)}`,
    (ctx) => {
      const body = ctx.body(`${noun}_variable`);
      return {
        query: {
          variable: body.nonEmpty("name", "the variable name"),
          value: body.optString("value"),
        },
      };
    },
  );
}

/** A `*VariablesGet` kind (ours): read several variables at once. */
export function variablesGetHandler(
  op: AriOperationId,
  param: string,
  noun: MediaTarget,
): KindHandler {
  return {
    ops: [op],
    async run(ctx) {
      const id = ctx.id();
      const names = ctx.body("variables_get").optStringArray("names");
      if (names === undefined) {
        throw ctx.invalid(
          "variables_get.names must list at least one variable name",
          "invalidField",
          "variables_get.names",
        );
      }
      const action = `get variables of ${noun} ${quoted(id)}`;
      const answer = asObject(
        await ctx.call(op, action, {
          params: { [param]: id },
          query: { variables: names },
        }),
        action,
      );
      return dataReply({ variables: stringMap(answer.variables) });
    },
  };
}

/** A `*VariablesSet` kind (ours): set several variables at once. */
export function variablesSetHandler(
  op: AriOperationId,
  param: string,
  noun: MediaTarget,
): KindHandler {
  return commandHandler(
    op,
    param,
    (id) => `set variables on ${noun} ${quoted(id)}`,
    (ctx) => ({
      body: {
        variables: ctx.body("variables_set").optStringMap("variables") ?? {},
      },
    }),
  );
}

// ---- shared query builders ----

/**
 * ARI query of a record request from Go's untagged `RecordingOptions`
 * (durations in ns, truncated to whole seconds).
 */
export function recordQuery(
  ctx: ExecContext,
  field: "channel_record" | "bridge_record",
  name: string,
): Record<string, AriQueryValue> {
  const options = ctx.body(field).optObject("options");
  const format = options?.optString("Format");
  if (format === undefined) {
    throw ctx.invalid(
      `${field}.options.Format is required (the recording format, e.g. "wav")`,
      "invalidField",
      `${field}.options.Format`,
    );
  }
  return {
    name,
    format,
    maxDurationSeconds: nsToSeconds(options?.number("MaxDuration") ?? 0),
    maxSilenceSeconds: nsToSeconds(options?.number("MaxSilence") ?? 0),
    ifExists: options?.optString("Exists"),
    beep: options?.bool("Beep") ?? false,
    terminateOn: options?.optString("Terminate"),
  };
}

/** ARI query of a play request (`media_uris` wins over `media_uri`). */
export function playQuery(
  ctx: ExecContext,
  field: "channel_play" | "bridge_play",
): Record<string, AriQueryValue> {
  const body = ctx.body(field);
  const list = body.optStringArray("media_uris");
  const media: AriQueryValue = list ??
    body.nonEmpty("media_uri", 'a media URI such as "sound:hello-world"');
  const query: Record<string, AriQueryValue> = {
    media,
    lang: body.optString("lang"),
    offsetms: body.optInt("offsetms"),
    skipms: body.optInt("skipms"),
  };
  if (field === "bridge_play") {
    query.announcer_format = body.optString("announcer_format");
  }
  return query;
}
