/**
 * Encoding, decoding and validation of ari-proxy protocol messages
 * (requests, responses, keys, events, announcements), wire-compatible with Go
 * ari-proxy v5.
 *
 * Decoding follows Go's `encoding/json` where Go peers rely on it: field
 * names match case-insensitively, unknown fields are ignored, `null` counts as
 * absent, durations are integer nanoseconds. Validation is stricter than Go in
 * one way only: where a Go server would crash, drop the message or send
 * garbage to ARI, {@linkcode decodeRequest} returns a precise
 * {@linkcode ProtocolError} instead.
 *
 * @example Decode, validate and answer a request
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeRequest, encodeResponse, errorResponse } from "./codec.ts";
 *
 * const decoded = decodeRequest(
 *   '{"kind":"ChannelPlay","key":{"kind":"channel","id":"c1"},"channel_play":{"playback_id":"p1","media_uri":"sound:hello"}}',
 * );
 * const reply = decoded.ok ? { error: "" } : errorResponse(decoded.error);
 * assert.equal(encodeResponse(reply), '{"error":""}');
 * ```
 *
 * @module
 */

import { ProtocolError } from "../errors.ts";
import {
  BODY_SCHEMAS,
  checkId,
  decodeObject,
  FieldProblem,
  foldName,
} from "./_body_schema.ts";
import { isKindName, KIND_TABLE, type KindName } from "./kinds.ts";
import type {
  Announcement,
  BodyField,
  EntityData,
  Key,
  ProxiedEvent,
  Request,
  Response,
  TypedRequest,
} from "./types.ts";

export { MAX_ID_LENGTH } from "./_body_schema.ts";

/**
 * Largest request accepted by {@linkcode decodeRequest} by default: 1 MiB
 * (NATS' default `max_payload`).
 */
export const MAX_REQUEST_BYTES = 1024 * 1024;

/** The error text Go ari-proxy v5 answers for an unknown or empty kind. */
export const NOT_IMPLEMENTED = "Not implemented";

/** Options of {@linkcode decodeRequest}. */
export interface DecodeRequestOptions {
  /**
   * Largest accepted payload: bytes for a `Uint8Array`, UTF-16 code units for
   * a string. Larger input yields a `tooLarge` error without being parsed.
   *
   * @default {1048576}
   */
  maxBytes?: number;
}

/** A request that decoded and validated. */
export interface DecodedRequestOk {
  /** Discriminant. */
  ok: true;
  /** The typed request, field names canonical, zero values filled in. */
  request: TypedRequest;
  /**
   * Set when the kind on the wire was rewritten: the Go client's
   * `StageExternalMedia` sends kind `ChannelStageOriginate` with a
   * `channel_external_media` body; it decodes as `ChannelStageExternalMedia`.
   */
  rewrittenFrom?: KindName;
}

/** A request that failed to decode or validate. */
export interface DecodedRequestError {
  /** Discriminant. */
  ok: false;
  /** What was wrong (`code`, `kind`, `field`, message). */
  error: ProtocolError;
  /** The kind the request named, when it named one (clipped to 128 characters). */
  kind?: string;
  /**
   * True for an unknown or empty kind: a Go server answers `Not implemented`
   * there, and so should we (see {@linkcode errorResponse}).
   */
  notImplemented?: boolean;
}

/** Outcome of {@linkcode decodeRequest}; never thrown, always returned. */
export type DecodedRequest = DecodedRequestOk | DecodedRequestError;

const KEY_FIELDS = ["kind", "id", "node", "dialog", "app"] as const;
type KeyField = typeof KEY_FIELDS[number];

/**
 * Fields read by {@linkcode readFolded}: lower-case canonical names (which
 * are also their folded forms) to their positions.
 */
function fieldTable(fields: readonly string[]): ReadonlyMap<string, number> {
  return new Map(fields.map((f, i) => [f, i]));
}

const KEY_FOLDED = fieldTable(KEY_FIELDS);

/** Top-level request fields: `kind`, `key` and every body field. */
const TOP_FIELDS: ReadonlyMap<string, string> = new Map<string, string>([
  ["kind", "kind"],
  ["key", "key"],
  ...Object.keys(BODY_SCHEMAS).map((f): [string, string] => [f, f]),
]);
const TOP_FOLDED: ReadonlyMap<string, string> = new Map(
  [...TOP_FIELDS.keys()].map((f): [string, string] => [foldName(f), f]),
);

const RESPONSE_FOLDED = fieldTable([
  "error",
  "data",
  "key",
  "keys",
  "status",
  "code",
]);

const ANNOUNCE_FOLDED = fieldTable(["node", "asterisk", "application"]);

const UTF8 = new TextDecoder("utf-8", { ignoreBOM: true });

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function jsonKind(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  return `a ${typeof value}`;
}

/** Quotes a value for an error message, clipped so huge input stays readable. */
function quote(value: string): string {
  return JSON.stringify(clip(value));
}

function clip(value: string): string {
  return value.length > 128 ? `${value.slice(0, 128)}…` : value;
}

function inputSize(input: Uint8Array | string): number {
  return typeof input === "string" ? input.length : input.byteLength;
}

function toText(input: Uint8Array | string): string {
  return typeof input === "string" ? input : UTF8.decode(input);
}

function fail(
  error: ProtocolError,
  kind?: string,
  notImplemented?: boolean,
): DecodedRequestError {
  const out: DecodedRequestError = { ok: false, error };
  if (kind !== undefined) out.kind = clip(kind);
  if (notImplemented) out.notImplemented = true;
  return out;
}

function lookup<F extends string>(
  name: string,
  folded: ReadonlyMap<string, F>,
): F | undefined {
  return folded.get(name) ?? folded.get(foldName(name));
}

/**
 * The values of the fields of `raw` that `table` knows (exact or case-folded
 * name), by table position, Go style: in `raw`'s order, the last matching
 * name wins. `accept` maps each value to what to keep, or `undefined` to
 * skip it; it may throw.
 */
function readFolded<V = unknown>(
  raw: Readonly<Record<string, unknown>>,
  table: ReadonlyMap<string, number>,
  accept?: (value: unknown, index: number) => V | undefined,
): (V | undefined)[] {
  const out = new Array<V | undefined>(table.size);
  for (const name in raw) {
    const index = table.get(name) ?? table.get(foldName(name));
    if (index === undefined) continue;
    const value = accept === undefined
      ? raw[name] as V
      : accept(raw[name], index);
    if (value !== undefined) out[index] = value;
  }
  return out;
}

/** A key from its field values in {@linkcode KEY_FIELDS} order, empty ones left out. */
function keyFrom(values: readonly (string | undefined)[]): Key {
  const key: Key = {};
  for (let i = 0; i < KEY_FIELDS.length; i++) {
    const value = values[i];
    if (value) key[KEY_FIELDS[i]!] = value;
  }
  return key;
}

/**
 * Decodes a request key (Go `*ari.Key`): field names case-insensitive, `null`
 * fields ignored, empty fields dropped; `null`/absent gives `{}`.
 *
 * @throws {FieldProblem} On a non-object key or an invalid field.
 */
function decodeKey(raw: unknown): Key {
  if (raw === null || raw === undefined) return {};
  if (!isObject(raw)) {
    throw new FieldProblem(
      "key",
      `must be an object or null, not ${jsonKind(raw)}`,
      "invalidKey",
    );
  }
  return keyFrom(readFolded(raw, KEY_FOLDED, checkedKeyField));
}

/** A key field of a request: `null` skipped, else a valid id string. */
function checkedKeyField(value: unknown, index: number): string | undefined {
  if (value === null) return undefined;
  const path = `key.${KEY_FIELDS[index]}`;
  if (typeof value !== "string") {
    throw new FieldProblem(
      path,
      `must be a string, not ${jsonKind(value)}`,
      "invalidKey",
    );
  }
  checkId(value, path, "invalidKey");
  return value;
}

/** A key field to keep when normalising: a non-empty string. */
function nonEmptyString(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

/**
 * Decodes and validates a request as a Go ari-proxy v5 server would receive
 * it, with precise errors where Go would crash or stay silent.
 *
 * Accepted like Go: field names in any letter case (`{"Kind":..,"KEY":{"App":..}}`),
 * unknown fields (ignored), `null` keys, slices and maps, durations as integer
 * nanoseconds, `\u003c`-escaped text, and the Go client's `StageExternalMedia`
 * bug (kind `ChannelStageOriginate` with a `channel_external_media` body,
 * decoded as `ChannelStageExternalMedia`).
 *
 * Rejected with a {@linkcode ProtocolError} whose `code` says why:
 * `tooLarge` (over `maxBytes`), `invalidJson`, `notObject`, `unknownKind`
 * (missing, empty or unknown kind; `notImplemented` is set), `invalidKey`
 * (key not an object, a key field not a string, longer than 1024 characters
 * or containing control characters), `missingKey` (the kind needs `key.id`),
 * `missingBody` (the kind's body field is absent or `null`), `invalidField`
 * (a field of the wrong JSON type, a required field empty, an id-like field
 * too long). The error's `field` names the JSON path
 * (`channel_play.media_uri`).
 *
 * The returned request is typed by kind: body field names are canonical,
 * fields the TS type requires are filled with Go's zero values, and `key` is
 * always an object (`{}` for a `null` or absent key, which Go peers treat
 * alike), so that decoding is idempotent through {@linkcode encodeRequest}.
 *
 * Never throws.
 *
 * @param input The request payload (UTF-8 bytes or text).
 * @param options Size limit.
 * @returns `{ ok: true, request }` or `{ ok: false, error }`.
 *
 * @example Decode a request a Go client sent
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeRequest } from "./codec.ts";
 *
 * const decoded = decodeRequest(
 *   '{"kind":"ChannelDial","key":{"kind":"channel","id":"c1"},"channel_dial":{"caller":"","timeout":7000000000}}',
 * );
 * assert.ok(decoded.ok && decoded.request.kind === "ChannelDial");
 * if (decoded.ok && decoded.request.kind === "ChannelDial") {
 *   assert.equal(decoded.request.channel_dial.timeout, 7_000_000_000);
 * }
 * ```
 *
 * @example Reject a wrong field type
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeRequest } from "./codec.ts";
 *
 * const decoded = decodeRequest(
 *   '{"kind":"ChannelPlay","key":{"id":"c1"},"channel_play":{"media_uri":5}}',
 * );
 * assert.ok(!decoded.ok);
 * assert.equal(decoded.error.code, "invalidField");
 * assert.equal(decoded.error.field, "channel_play.media_uri");
 * assert.equal(
 *   decoded.error.message,
 *   'Invalid request "ChannelPlay": field "channel_play.media_uri" must be a string, not a number',
 * );
 * ```
 */
export function decodeRequest(
  input: Uint8Array | string,
  options?: DecodeRequestOptions,
): DecodedRequest {
  try {
    return decodeRequestUnchecked(
      input,
      options?.maxBytes ?? MAX_REQUEST_BYTES,
    );
  } catch (err) {
    // Not reachable by design; a safety net so the hot path never throws.
    return fail(
      new ProtocolError(`Invalid request: cannot decode it: ${String(err)}`, {
        code: "invalidField",
        cause: err,
      }),
    );
  }
}

function decodeRequestUnchecked(
  input: Uint8Array | string,
  maxBytes: number,
): DecodedRequest {
  if (typeof input !== "string" && !(input instanceof Uint8Array)) {
    return fail(
      new ProtocolError(
        `Invalid request: expected bytes or text, got ${jsonKind(input)}`,
        { code: "notObject" },
      ),
    );
  }
  const size = inputSize(input);
  if (size > maxBytes) {
    return fail(
      new ProtocolError(
        `Invalid request: payload of ${size} bytes exceeds the limit of ${maxBytes} bytes`,
        { code: "tooLarge" },
      ),
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(toText(input));
  } catch (err) {
    return fail(
      new ProtocolError(
        `Invalid request: malformed JSON: ${(err as Error).message}`,
        { code: "invalidJson", cause: err },
      ),
    );
  }
  if (!isObject(parsed)) {
    return fail(
      new ProtocolError(
        `Invalid request: expected a JSON object, got ${jsonKind(parsed)}`,
        { code: "notObject" },
      ),
    );
  }

  // One pass over the top-level fields, Go style: exact or case-folded match,
  // the last matching name wins, unknown names are ignored.
  let kindRaw: unknown;
  let keyRaw: unknown;
  // Body fields seen, as [canonical name, value]; usually one.
  let bodies: [string, unknown][] | undefined;
  for (const name in parsed) {
    const role = lookup(name, TOP_FOLDED);
    if (role === undefined) continue;
    const value = parsed[name];
    if (role === "kind") {
      if (value !== null) kindRaw = value;
    } else if (role === "key") {
      keyRaw = value;
    } else {
      (bodies ??= []).push([role, value]);
    }
  }

  if (kindRaw !== undefined && typeof kindRaw !== "string") {
    return fail(
      new ProtocolError(
        `Invalid request: field "kind" must be a string, not ${
          jsonKind(kindRaw)
        }`,
        { code: "invalidField", field: "kind" },
      ),
    );
  }
  const wireKind = (kindRaw as string | undefined) ?? "";
  if (wireKind === "") {
    return fail(
      new ProtocolError("Invalid request: kind is missing", {
        code: "unknownKind",
        kind: "",
        field: "kind",
      }),
      "",
      true,
    );
  }
  if (!isKindName(wireKind)) {
    return fail(
      new ProtocolError(
        `Invalid request: kind ${quote(wireKind)} is not known`,
        { code: "unknownKind", kind: clip(wireKind), field: "kind" },
      ),
      wireKind,
      true,
    );
  }
  let kind: KindName = wireKind;
  let rewrittenFrom: KindName | undefined;
  if (
    kind === "ChannelStageOriginate" &&
    bodyOf(bodies, "channel_originate") === null &&
    bodyOf(bodies, "channel_external_media") !== null
  ) {
    rewrittenFrom = kind;
    kind = "ChannelStageExternalMedia";
  }
  const info = KIND_TABLE[kind];

  let key: Key;
  try {
    key = decodeKey(keyRaw);
  } catch (err) {
    return problem(err, kind);
  }
  if (info.needsId && !key.id) {
    return fail(
      new ProtocolError(
        `Invalid request "${kind}": ${
          info.keyKind ?? "entity"
        } key not supplied`,
        { code: "missingKey", kind, field: "key.id" },
      ),
      kind,
    );
  }

  const request: Record<string, unknown> = { kind, key };
  const bodyField: BodyField | null = info.body;
  if (bodyField !== null) {
    const raw = bodyOf(bodies, bodyField);
    if (raw === null) {
      if (!("bodyOptional" in info && info.bodyOptional)) {
        return fail(
          new ProtocolError(
            `Invalid request "${kind}": body "${bodyField}" is missing`,
            { code: "missingBody", kind, field: bodyField },
          ),
          kind,
        );
      }
    } else if (!isObject(raw)) {
      return fail(
        new ProtocolError(
          `Invalid request "${kind}": field "${bodyField}" must be an object, not ${
            jsonKind(raw)
          }`,
          { code: "invalidField", kind, field: bodyField },
        ),
        kind,
      );
    } else {
      try {
        request[bodyField] = decodeObject(
          raw,
          BODY_SCHEMAS[bodyField],
          bodyField,
        );
      } catch (err) {
        return problem(err, kind);
      }
    }
  }

  const ok: DecodedRequestOk = {
    ok: true,
    request: request as unknown as TypedRequest,
  };
  if (rewrittenFrom !== undefined) ok.rewrittenFrom = rewrittenFrom;
  return ok;
}

/** The value of a body field (the last one seen wins, like Go); `null` when absent. */
function bodyOf(
  bodies: [string, unknown][] | undefined,
  name: string,
): unknown {
  if (bodies === undefined) return null;
  for (let i = bodies.length - 1; i >= 0; i--) {
    const entry = bodies[i] as [string, unknown];
    if (entry[0] === name) return entry[1] ?? null;
  }
  return null;
}

function problem(err: unknown, kind: KindName): DecodedRequestError {
  if (!(err instanceof FieldProblem)) throw err;
  return fail(
    new ProtocolError(
      `Invalid request "${kind}": field "${err.field}" ${err.problem}`,
      { code: err.code, kind, field: err.field },
    ),
    kind,
  );
}

/**
 * Encodes a key the way Go does: fields in the order
 * `kind, id, node, dialog, app`, empty ones omitted; `null` and an empty key
 * both give `{}`.
 *
 * @param key A key, or `null`/`undefined`.
 * @returns Its JSON text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeKey } from "./codec.ts";
 *
 * assert.equal(encodeKey({ app: "a", id: "c1", kind: "channel" }), '{"kind":"channel","id":"c1","app":"a"}');
 * assert.equal(encodeKey(null), "{}");
 * ```
 */
export function encodeKey(key: Key | null | undefined): string {
  if (key === null || key === undefined) return "{}";
  let out = "{";
  for (const f of KEY_FIELDS) {
    const v = key[f];
    if (typeof v === "string" && v !== "") {
      if (out.length > 1) out += ",";
      out += `"${f}":${JSON.stringify(v)}`;
    }
  }
  return out + "}";
}

/**
 * Encodes a request so that a Go ari-proxy v5 server decodes it to the same
 * values: `kind`, then `key` (`{}` when `null`, as the Go client sends it),
 * then the body field(s) as given.
 *
 * @param request The request.
 * @returns Its JSON text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeRequest } from "./codec.ts";
 *
 * assert.equal(
 *   encodeRequest({ kind: "ChannelHangup", key: { kind: "channel", id: "c1" }, channel_hangup: { reason: "normal" } }),
 *   '{"kind":"ChannelHangup","key":{"kind":"channel","id":"c1"},"channel_hangup":{"reason":"normal"}}',
 * );
 * assert.equal(encodeRequest({ kind: "ChannelList", key: null }), '{"kind":"ChannelList","key":{}}');
 * ```
 */
export function encodeRequest(request: Request | TypedRequest): string {
  let out = `{"kind":${JSON.stringify(request.kind)},"key":${
    encodeKey(request.key)
  }`;
  const fields = request as unknown as Record<string, unknown>;
  for (const name in fields) {
    if (name === "kind" || name === "key") continue;
    const value = fields[name];
    if (value === undefined) continue;
    out += `,${JSON.stringify(name)}:${JSON.stringify(value)}`;
  }
  return out + "}";
}

/**
 * Encodes a response in Go's shape: `error` first and always present, then
 * `data`, `key`, `keys` (each omitted when absent; `keys` also when empty),
 * then our additive `status` and `code` only when set.
 *
 * @param response The response.
 * @returns Its JSON text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeResponse } from "./codec.ts";
 *
 * assert.equal(encodeResponse({ error: "", keys: [] }), '{"error":""}');
 * assert.equal(
 *   encodeResponse({ error: "Channel not found", status: 404, code: "ariHttp" }),
 *   '{"error":"Channel not found","status":404,"code":"ariHttp"}',
 * );
 * ```
 */
export function encodeResponse(response: Response): string {
  let out = `{"error":${JSON.stringify(response.error ?? "")}`;
  if (response.data !== undefined && response.data !== null) {
    out += `,"data":${JSON.stringify(response.data)}`;
  }
  if (response.key !== undefined && response.key !== null) {
    out += `,"key":${encodeKey(response.key)}`;
  }
  const keys = response.keys;
  if (keys !== undefined && keys !== null && keys.length > 0) {
    out += `,"keys":[`;
    for (let i = 0; i < keys.length; i++) {
      if (i > 0) out += ",";
      out += encodeKey(keys[i]);
    }
    out += "]";
  }
  if (typeof response.status === "number" && Number.isFinite(response.status)) {
    out += `,"status":${response.status}`;
  }
  if (typeof response.code === "string" && response.code !== "") {
    out += `,"code":${JSON.stringify(response.code)}`;
  }
  return out + "}";
}

/**
 * The response a server sends for a request that failed to decode: Go's
 * `Not implemented` for an unknown or empty kind, else the error's message;
 * `code` carries the {@linkcode ProtocolError} code (an additive field Go
 * peers ignore).
 *
 * @param error The decode error.
 * @returns A response to publish on the reply subject.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeRequest, errorResponse } from "./codec.ts";
 *
 * const decoded = decodeRequest('{"kind":"NoSuchKind","key":{}}');
 * assert.ok(!decoded.ok);
 * assert.deepEqual(errorResponse(decoded.error), { error: "Not implemented", code: "unknownKind" });
 * ```
 */
export function errorResponse(error: ProtocolError): Response {
  return {
    error: error.code === "unknownKind" ? NOT_IMPLEMENTED : error.message,
    code: error.code,
  };
}

function parseJson(input: Uint8Array | string, what: string): unknown {
  try {
    return JSON.parse(toText(input));
  } catch (err) {
    throw new ProtocolError(
      `Invalid ${what}: malformed JSON: ${(err as Error).message}`,
      { code: "invalidJson", cause: err },
    );
  }
}

function parseObject(
  input: Uint8Array | string,
  what: string,
): Record<string, unknown> {
  const value = parseJson(input, what);
  if (!isObject(value)) {
    throw new ProtocolError(
      `Invalid ${what}: expected a JSON object, got ${jsonKind(value)}`,
      { code: "notObject" },
    );
  }
  return value;
}

/**
 * Decodes a response from a Go or Deno proxy, tolerantly: `"key":null`,
 * `"keys":null`, a missing `error` (taken as `""`), field names in any case,
 * config data with Go's untagged `Class/Type/Name/Fields`, zero-valued
 * entities. Keys are normalised ({@linkcode normalizeKey}); `null` entries
 * in `keys` are skipped and an empty list is omitted.
 *
 * @param input The response payload.
 * @returns The response.
 * @throws {ProtocolError} `invalidJson` or `notObject` only.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeResponse } from "./codec.ts";
 *
 * assert.deepEqual(decodeResponse('{"error":"","key":null}'), { error: "" });
 * assert.deepEqual(
 *   decodeResponse('{"error":"","keys":[{"kind":"channel","id":"c1","app":"a"}]}').keys,
 *   [{ kind: "channel", id: "c1", app: "a" }],
 * );
 * ```
 */
export function decodeResponse(input: Uint8Array | string): Response {
  const raw = parseObject(input, "response");
  const [error, data, key, keys, status, code] = readFolded(
    raw,
    RESPONSE_FOLDED,
  );
  const response: Response = {
    error: typeof error === "string"
      ? error
      : error === null || error === undefined
      ? ""
      : typeof error === "object"
      ? JSON.stringify(error)
      : String(error),
  };
  if (isObject(data)) response.data = data as EntityData;
  if (isObject(key)) response.key = normalizeKey(key);
  if (Array.isArray(keys)) {
    const list: Key[] = [];
    for (const k of keys) if (isObject(k)) list.push(normalizeKey(k));
    if (list.length > 0) response.keys = list;
  }
  if (typeof status === "number" && Number.isFinite(status)) {
    response.status = status;
  }
  if (typeof code === "string" && code !== "") response.code = code;
  return response;
}

/**
 * Returns a copy of a key with only its non-empty string fields, in wire
 * order (`kind, id, node, dialog, app`). Field names are matched
 * case-insensitively, like Go does on receipt. `null`/`undefined` give `{}`.
 *
 * @param key A key or a key-shaped object.
 * @returns The normalised key.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { normalizeKey } from "./codec.ts";
 *
 * assert.deepEqual(normalizeKey({ kind: "channel", id: "c1", node: "", dialog: "" }), { kind: "channel", id: "c1" });
 * ```
 */
export function normalizeKey(
  key: Key | Readonly<Record<string, unknown>> | null | undefined,
): Key {
  if (key === null || key === undefined) return {};
  return keyFrom(
    readFolded(
      key as Readonly<Record<string, unknown>>,
      KEY_FOLDED,
      nonEmptyString,
    ),
  );
}

/**
 * Go's `Key.Match`: two keys match unless some field is set in both and
 * differs. An empty field (in either key) is a wildcard; a `null` or
 * `undefined` key matches everything.
 *
 * @param filter The key to match against (e.g. a handle's key).
 * @param key The key to test (e.g. one of an event's keys).
 * @returns True when they match.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { keyMatches } from "./codec.ts";
 *
 * assert.ok(keyMatches({ kind: "channel", id: "c1" }, { kind: "channel", id: "c1", app: "a", node: "n" }));
 * assert.ok(keyMatches({ app: "a" }, { kind: "bridge", id: "b1", app: "a" }));
 * assert.ok(!keyMatches({ kind: "channel", id: "c1" }, { kind: "channel", id: "c2" }));
 * ```
 */
export function keyMatches(
  filter: Key | null | undefined,
  key: Key | null | undefined,
): boolean {
  if (filter === key || !filter || !key) return true;
  return same(filter.app, key.app) && same(filter.dialog, key.dialog) &&
    same(filter.node, key.node) && same(filter.kind, key.kind) &&
    same(filter.id, key.id);
}

function same(a: string | undefined, b: string | undefined): boolean {
  return !a || !b || a === b;
}

/** True for a zero-valued entity object Go adds for an absent struct field. */
function isZeroEntity(value: Record<string, unknown>): boolean {
  return value.id === "" ||
    (value.technology === "" && value.resource === "");
}

function isZeroTime(value: unknown): boolean {
  return typeof value === "string" && value.startsWith("0001-01-01");
}

function fillCallerId(value: unknown): void {
  if (!isObject(value)) return;
  if (value.name === undefined) value.name = "";
  if (value.number === undefined) value.number = "";
}

/**
 * Decodes a proxied event, accepting both shapes on the wire: Asterisk's own
 * JSON (what our proxies publish) and Go ari-proxy's re-encoding. Go artefacts
 * are undone in place so consumers see one shape: zero-valued entity objects
 * Go adds for absent fields (`Dial.caller`, `StasisStart.replace_channel`, …)
 * are removed, `"key":null` and `"channelvars":null` inside entities are
 * dropped, emptied `caller`/`connected` objects regain `name`/`number`, and
 * the empty event header Go adds to `PeerStatusChange.peer` is removed.
 * `application` and `asterisk_id` are guaranteed strings (`""` when absent).
 *
 * @param input The event payload, or an already parsed event object (changed
 *   in place).
 * @returns The event.
 * @throws {ProtocolError} `invalidJson`, `notObject`, or `invalidField` when
 *   `type` is not a non-empty string.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeEvent } from "./codec.ts";
 *
 * const event = decodeEvent(
 *   '{"application":"a","asterisk_id":"n","type":"Dial","caller":{"id":"","name":"","creationtime":"1970-01-01T00:00:00.000+0000"},"peer":{"id":"c2","name":"PJSIP/x","channelvars":null}}',
 * );
 * assert.equal(event.type, "Dial");
 * assert.equal("caller" in event, false);
 * assert.deepEqual(event.peer, { id: "c2", name: "PJSIP/x" });
 * ```
 */
export function decodeEvent(
  input: Uint8Array | string | Record<string, unknown>,
): ProxiedEvent {
  const event = typeof input === "string" || input instanceof Uint8Array
    ? parseObject(input, "event")
    : input;
  if (!isObject(event)) {
    throw new ProtocolError(
      `Invalid event: expected a JSON object, got ${jsonKind(event)}`,
      { code: "notObject" },
    );
  }
  if (typeof event.type !== "string" || event.type === "") {
    throw new ProtocolError(
      'Invalid event: field "type" must be a non-empty string',
      { code: "invalidField", field: "type" },
    );
  }
  if (typeof event.application !== "string") event.application = "";
  if (typeof event.asterisk_id !== "string") event.asterisk_id = "";
  for (const name in event) {
    const value = event[name];
    if (!isObject(value)) continue;
    if (isZeroEntity(value)) {
      delete event[name];
      continue;
    }
    if (value.key === null) delete value.key;
    if (value.channelvars === null) delete value.channelvars;
    if (value.caller !== undefined) fillCallerId(value.caller);
    if (value.connected !== undefined) fillCallerId(value.connected);
    if (value.type === "" && isZeroTime(value.timestamp)) {
      // Go encodes PeerStatusChange.peer with an empty event header.
      delete value.type;
      delete value.timestamp;
      if (value.application === "") delete value.application;
    }
  }
  return event as ProxiedEvent;
}

/**
 * Encodes a discovery announcement: `{"node","asterisk","application"}`
 * (Go v5 reads `node`; the seed protocol says `asterisk`; we send both).
 * When only one of `node`/`asterisk` is set it fills both.
 *
 * @param announcement The announcement.
 * @returns Its JSON text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeAnnouncement } from "./codec.ts";
 *
 * assert.equal(
 *   encodeAnnouncement({ node: "n1", asterisk: "n1", application: "app" }),
 *   '{"node":"n1","asterisk":"n1","application":"app"}',
 * );
 * ```
 */
export function encodeAnnouncement(announcement: Announcement): string {
  const node = announcement.node || announcement.asterisk || "";
  return `{"node":${JSON.stringify(node)},"asterisk":${
    JSON.stringify(node)
  },"application":${JSON.stringify(announcement.application ?? "")}}`;
}

/**
 * Decodes a discovery announcement from a Go (`node`) or seed-protocol
 * (`asterisk`) proxy.
 *
 * @param input The announcement payload.
 * @returns The announcement with `node` and `asterisk` both set, or `null`
 *   when the payload is not an announcement (bad JSON, no node, no
 *   application).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeAnnouncement } from "./codec.ts";
 *
 * assert.deepEqual(
 *   decodeAnnouncement('{"node":"02:00:00:00:60:0d","application":"golden"}'),
 *   { node: "02:00:00:00:60:0d", asterisk: "02:00:00:00:60:0d", application: "golden" },
 * );
 * assert.equal(decodeAnnouncement("not json"), null);
 * ```
 */
export function decodeAnnouncement(
  input: Uint8Array | string,
): Announcement | null {
  let raw: unknown;
  try {
    raw = JSON.parse(toText(input));
  } catch {
    return null;
  }
  if (!isObject(raw)) return null;
  const [node, asterisk, application] = readFolded(raw, ANNOUNCE_FOLDED);
  const id = typeof node === "string" && node !== ""
    ? node
    : typeof asterisk === "string"
    ? asterisk
    : "";
  if (id === "" || typeof application !== "string") return null;
  return { node: id, asterisk: id, application };
}
