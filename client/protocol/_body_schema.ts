// deno-lint-ignore-file camelcase -- JSON field names are fixed by the Go wire protocol
/**
 * Internal: field schemas of every request body, and the Go-compatible
 * decoder that applies them (case-insensitive field names, `null` treated as
 * "absent", zero values filled in, precise type errors).
 *
 * Not part of the public API; no semver guarantee.
 *
 * @module
 */

import type { BodyField } from "./types.ts";

/** Longest identifier accepted in a key or an id-like body field. */
export const MAX_ID_LENGTH = 1024;

/** JSON shape of one field. */
export type FieldType =
  | "string"
  | "int"
  | "bool"
  | "stringMap"
  | "anyMap"
  | "any"
  | "stringArray"
  | "object"
  | "objectArray";

/** One field of an object schema. */
export interface FieldSpec {
  /** Canonical JSON name (what we emit; Go matches it case-insensitively). */
  readonly name: string;
  /** JSON shape. */
  readonly type: FieldType;
  /** Filled with its zero value when absent (non-optional in the TS type). */
  readonly required: boolean;
  /** Must be a non-empty string (ARI cannot do anything without it). */
  readonly nonEmpty: boolean;
  /** An identifier: at most {@linkcode MAX_ID_LENGTH} characters, no control characters. */
  readonly id: boolean;
  /** Nested schema of `object` / `objectArray` fields. */
  readonly schema: ObjectSchema | undefined;
  /** Position in its schema's `fields`. */
  readonly index: number;
}

/** Schema of a JSON object (a Go struct). */
export interface ObjectSchema {
  /** Fields in canonical (Go declaration) order. */
  readonly fields: readonly FieldSpec[];
  /** Exact-name lookup. */
  readonly exact: ReadonlyMap<string, FieldSpec>;
  /** Case-folded lookup (Go `encoding/json` falls back to it). */
  readonly folded: ReadonlyMap<string, FieldSpec>;
  /** Keep fields the schema does not know (the Go struct has more fields than we check). */
  readonly passthrough: boolean;
  /** Cross-field check; returns `[field, problem]` when the object is invalid. */
  readonly check:
    | ((value: Record<string, unknown>) => [string, string] | null)
    | undefined;
}

/** Why a field was rejected (thrown internally, caught by the codec). */
export class FieldProblem {
  /** JSON path of the field (`channel_play.media_uri`). */
  readonly field: string;
  /** What is wrong with it ("must be a string"). */
  readonly problem: string;
  /** Which protocol error code fits. */
  readonly code: "invalidField" | "invalidKey";

  constructor(
    field: string,
    problem: string,
    code: "invalidField" | "invalidKey" = "invalidField",
  ) {
    this.field = field;
    this.problem = problem;
    this.code = code;
  }
}

/**
 * Folds a JSON field name the way Go's `encoding/json` compares names
 * (simple Unicode case folding; `ſ` folds to `s`, `K` (Kelvin) to `k`).
 */
export function foldName(name: string): string {
  const lower = name.toLowerCase();
  return lower.includes("ſ") ? lower.replaceAll("ſ", "s") : lower;
}

interface FieldFlags {
  required?: boolean;
  nonEmpty?: boolean;
  id?: boolean;
}

function field(
  name: string,
  type: FieldType,
  flags: FieldFlags = {},
  schema?: ObjectSchema,
): FieldSpec {
  return {
    name,
    type,
    required: flags.required ?? false,
    nonEmpty: flags.nonEmpty ?? false,
    id: flags.id ?? false,
    schema,
    index: -1,
  };
}

function objectSchema(
  fields: FieldSpec[],
  options: {
    passthrough?: boolean;
    check?: (value: Record<string, unknown>) => [string, string] | null;
  } = {},
): ObjectSchema {
  const exact = new Map<string, FieldSpec>();
  const folded = new Map<string, FieldSpec>();
  const indexed = fields.map((f, index) => ({ ...f, index }));
  for (const f of indexed) {
    exact.set(f.name, f);
    folded.set(foldName(f.name), f);
  }
  return {
    fields: indexed,
    exact,
    folded,
    passthrough: options.passthrough ?? false,
    check: options.check,
  };
}

const REQ = { required: true } as const;
const NON_EMPTY = { required: true, nonEmpty: true } as const;
const ID = { id: true } as const;
const REQ_ID = { required: true, id: true } as const;
const NON_EMPTY_ID = { required: true, nonEmpty: true, id: true } as const;

/** `media_uri` must be set unless our `media_uris` list is. */
function checkMedia(value: Record<string, unknown>): [string, string] | null {
  if (value.media_uri !== "") return null;
  const list = value.media_uris;
  if (Array.isArray(list) && list.length > 0) return null;
  return ["media_uri", "must be a non-empty string"];
}

const RECORDING_OPTIONS = objectSchema([
  field("Format", "string"),
  field("MaxDuration", "int"),
  field("MaxSilence", "int"),
  field("Exists", "string"),
  field("Beep", "bool"),
  field("Terminate", "string"),
]);

const DTMF_OPTIONS = objectSchema([
  field("Before", "int"),
  field("Between", "int"),
  field("Duration", "int"),
  field("After", "int"),
]);

const ORIGINATE_REQUEST = objectSchema([
  field("endpoint", "string", NON_EMPTY),
  field("timeout", "int"),
  field("callerId", "string"),
  field("context", "string"),
  field("extension", "string"),
  field("priority", "int"),
  field("label", "string"),
  field("app", "string"),
  field("appArgs", "string"),
  field("formats", "string"),
  field("channelId", "string", ID),
  field("otherChannelId", "string", ID),
  field("originator", "string", ID),
  field("variables", "stringMap"),
]);

const CHANNEL_CREATE_REQUEST = objectSchema([
  field("endpoint", "string", NON_EMPTY),
  field("app", "string", NON_EMPTY),
  field("appArgs", "string"),
  field("channelId", "string", ID),
  field("otherChannelId", "string", ID),
  field("originator", "string", ID),
  field("formats", "string"),
  field("variables", "stringMap"),
]);

const SNOOP_OPTIONS = objectSchema([
  field("app", "string", REQ),
  field("appArgs", "string"),
  field("spy", "string"),
  field("whisper", "string"),
]);

const EXTERNAL_MEDIA_OPTIONS = objectSchema([
  field("channelId", "string", ID),
  field("app", "string"),
  field("external_host", "string"),
  field("encapsulation", "string"),
  field("transport", "string"),
  field("connection_type", "string"),
  field("format", "string", REQ),
  field("direction", "string"),
  field("variables", "stringMap"),
  field("data", "string"),
  field("transport_data", "string"),
]);

const CONFIG_TUPLE = objectSchema([
  field("attribute", "string", REQ),
  field("value", "string", REQ),
]);

const EVENT_TYPE_FILTER = objectSchema([field("type", "string", NON_EMPTY)]);

const EVENT_FILTER = objectSchema([
  field("allowed", "objectArray", {}, EVENT_TYPE_FILTER),
  field("disallowed", "objectArray", {}, EVENT_TYPE_FILTER),
]);

/** The whole Go `ari.ChannelUserevent` travels; we check what matters. */
const USER_EVENT = objectSchema([
  field("eventname", "string", NON_EMPTY),
  field("userevent", "any"),
], { passthrough: true });

function playSchema(bridge: boolean): ObjectSchema {
  const fields = [
    field("playback_id", "string", REQ_ID),
    field("media_uri", "string", REQ),
    field("media_uris", "stringArray"),
    field("lang", "string"),
    field("offsetms", "int"),
    field("skipms", "int"),
  ];
  if (bridge) fields.push(field("announcer_format", "string"));
  return objectSchema(fields, { check: checkMedia });
}

const RECORD = objectSchema([
  field("name", "string", REQ_ID),
  field("options", "object", {}, RECORDING_OPTIONS),
]);

const MUTE = objectSchema([field("direction", "string")]);

const CHANNEL_VARIABLE = objectSchema([
  field("name", "string", NON_EMPTY),
  field("value", "string"),
]);

/**
 * Schema of every body field, keyed by its JSON name. Required fields follow
 * the TS types in `types.ts`; `nonEmpty` marks what ARI cannot do without
 * (path parameters and required query parameters that Go does not fill in).
 */
export const BODY_SCHEMAS: { readonly [F in BodyField]: ObjectSchema } = {
  application_subscribe: objectSchema([
    field("event_source", "string", NON_EMPTY_ID),
  ]),
  asterisk_config: objectSchema([
    field("tuples", "objectArray", {}, CONFIG_TUPLE),
  ]),
  asterisk_logging_channel: objectSchema([field("config", "string", REQ)]),
  asterisk_variable_set: objectSchema([field("value", "string", REQ)]),
  bridge_add_channel: objectSchema([
    field("channel", "string", NON_EMPTY_ID),
    field("absorbDTMF", "bool"),
    field("mute", "bool"),
    field("role", "string"),
    field("inhibitConnectedLineUpdates", "bool"),
  ]),
  bridge_create: objectSchema([
    field("type", "string", REQ),
    field("name", "string"),
  ]),
  bridge_moh: objectSchema([field("class", "string", REQ)]),
  bridge_play: playSchema(true),
  bridge_record: RECORD,
  bridge_remove_channel: objectSchema([
    field("channel", "string", NON_EMPTY_ID),
  ]),
  bridge_video_source: objectSchema([
    field("channel", "string", NON_EMPTY_ID),
  ]),
  channel_create: objectSchema([
    field(
      "channel_create_request",
      "object",
      REQ,
      CHANNEL_CREATE_REQUEST,
    ),
  ]),
  channel_continue: objectSchema([
    field("context", "string", REQ),
    field("extension", "string", REQ),
    field("priority", "int", REQ),
    field("label", "string"),
  ]),
  channel_dial: objectSchema([
    field("caller", "string", REQ_ID),
    field("timeout", "int", REQ),
  ]),
  channel_hangup: objectSchema([
    field("reason", "string", REQ),
    field("reason_code", "string"),
  ]),
  channel_moh: objectSchema([field("music", "string", REQ)]),
  channel_mute: MUTE,
  channel_originate: objectSchema([
    field("originate_request", "object", REQ, ORIGINATE_REQUEST),
  ]),
  channel_play: playSchema(false),
  channel_record: RECORD,
  channel_send_dtmf: objectSchema([
    field("dtmf", "string", REQ),
    field("options", "object", {}, DTMF_OPTIONS),
  ]),
  channel_snoop: objectSchema([
    field("snoop_id", "string", REQ_ID),
    field("options", "object", {}, SNOOP_OPTIONS),
  ]),
  channel_external_media: objectSchema([
    field("options", "object", REQ, EXTERNAL_MEDIA_OPTIONS),
  ]),
  channel_variable: CHANNEL_VARIABLE,
  channel_user_event: objectSchema([
    field("UserEvent", "object", REQ, USER_EVENT),
  ]),
  device_state_update: objectSchema([field("state", "string", NON_EMPTY)]),
  endpoint_list_by_tech: objectSchema([
    field("tech", "string", NON_EMPTY_ID),
  ]),
  mailbox_update: objectSchema([
    field("new", "int", REQ),
    field("old", "int", REQ),
  ]),
  playback_control: objectSchema([field("command", "string", NON_EMPTY)]),
  recording_stored_copy: objectSchema([
    field("destination", "string", NON_EMPTY_ID),
  ]),
  sound_list: objectSchema([field("filters", "stringMap")]),

  // ---- ours ----
  application_event_filter: objectSchema([
    field("filter", "object", REQ, EVENT_FILTER),
  ]),
  variables_set: objectSchema([field("variables", "stringMap", REQ)]),
  bridge_variable: CHANNEL_VARIABLE,
  variables_get: objectSchema([field("names", "stringArray", REQ)]),
  channel_move: objectSchema([
    field("app", "string", NON_EMPTY_ID),
    field("appArgs", "string"),
  ]),
  channel_redirect: objectSchema([field("endpoint", "string", NON_EMPTY)]),
  channel_transfer_progress: objectSchema([
    field("states", "string", NON_EMPTY),
  ]),
  channel_claim: objectSchema([
    field("application", "string", NON_EMPTY_ID),
  ]),
  endpoint_send_message: objectSchema([
    field("to", "string"),
    field("from", "string", NON_EMPTY),
    field("body", "string"),
    field("variables", "stringMap"),
  ]),
  endpoint_refer: objectSchema([
    field("to", "string"),
    field("from", "string", NON_EMPTY),
    field("refer_to", "string", NON_EMPTY),
    field("to_self", "bool"),
    field("variables", "stringMap"),
  ]),
  user_event: objectSchema([
    field("name", "string", NON_EMPTY_ID),
    field("application", "string", NON_EMPTY_ID),
    field("source", "stringArray"),
    field("variables", "anyMap"),
  ]),
  recording_stored_file: objectSchema([
    field("offset", "int"),
    field("length", "int"),
  ]),
  asterisk_info: objectSchema([field("only", "string")]),
};

const SCALARS: ReadonlySet<FieldType> = new Set<FieldType>([
  "string",
  "int",
  "bool",
]);

/** Largest magnitude of a Go `int64`. */
const INT64_LIMIT = 9223372036854775807;

/**
 * Checks an identifier: throws a {@linkcode FieldProblem} when it is longer
 * than {@linkcode MAX_ID_LENGTH} or contains control characters.
 */
export function checkId(
  value: string,
  path: string,
  code: "invalidField" | "invalidKey",
): void {
  if (value.length > MAX_ID_LENGTH) {
    throw new FieldProblem(
      path,
      `is too long (${value.length} characters, at most ${MAX_ID_LENGTH})`,
      code,
    );
  }
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) {
      throw new FieldProblem(path, "contains control characters", code);
    }
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  switch (typeof value) {
    case "string":
      return "a string";
    case "number":
      return "a number";
    case "boolean":
      return "a boolean";
    default:
      return "an object";
  }
}

function zeroValue(spec: FieldSpec, path: string): unknown {
  switch (spec.type) {
    case "string":
      return "";
    case "int":
      return 0;
    case "bool":
      return false;
    case "stringMap":
    case "anyMap":
      return {};
    case "stringArray":
    case "objectArray":
      return [];
    case "object":
      return decodeObject({}, spec.schema as ObjectSchema, path);
    default:
      return null;
  }
}

function decodeStringMap(
  value: Record<string, unknown>,
  path: string,
): Record<string, string> {
  let hasNull = false;
  for (const k in value) {
    const v = value[k];
    if (typeof v === "string") continue;
    if (v === null) {
      hasNull = true;
      continue;
    }
    throw new FieldProblem(
      `${path}.${k}`,
      `must be a string, not ${describe(v)}`,
    );
  }
  if (!hasNull) return value as Record<string, string>;
  // Go stores "" for a null map element; copy without tripping over __proto__.
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, v === null ? "" : v]),
  ) as Record<string, string>;
}

/** Throws the {@linkcode FieldProblem} "must be <expected>" unless `ok`. */
function mustBe(
  ok: boolean,
  path: string,
  expected: string,
  value: unknown,
): asserts ok {
  if (!ok) {
    throw new FieldProblem(path, `must be ${expected}, not ${describe(value)}`);
  }
}

/**
 * Decodes one field value; returns `undefined` when the value counts as
 * absent (`null`, like Go leaves the field untouched).
 */
function decodeValue(spec: FieldSpec, value: unknown, path: string): unknown {
  if (value === null) return undefined;
  switch (spec.type) {
    case "string":
      mustBe(typeof value === "string", path, "a string", value);
      if (spec.id) checkId(value, path, "invalidField");
      return value;
    case "int":
      if (
        typeof value !== "number" || !Number.isInteger(value) ||
        Math.abs(value) > INT64_LIMIT
      ) {
        throw new FieldProblem(
          path,
          typeof value === "number"
            ? "must be an integer"
            : `must be an integer, not ${describe(value)}`,
        );
      }
      return value;
    case "bool":
      mustBe(typeof value === "boolean", path, "a boolean", value);
      return value;
    case "stringMap":
      mustBe(isObject(value), path, "an object of strings", value);
      return decodeStringMap(value, path);
    case "anyMap":
      mustBe(isObject(value), path, "an object", value);
      return value;
    case "stringArray":
      mustBe(Array.isArray(value), path, "an array of strings", value);
      for (let i = 0; i < value.length; i++) {
        if (typeof value[i] !== "string") {
          throw new FieldProblem(
            `${path}[${i}]`,
            `must be a string, not ${describe(value[i])}`,
          );
        }
      }
      return value;
    case "object":
      mustBe(isObject(value), path, "an object", value);
      return decodeObject(value, spec.schema as ObjectSchema, path);
    case "objectArray": {
      mustBe(Array.isArray(value), path, "an array of objects", value);
      const schema = spec.schema as ObjectSchema;
      const out = new Array<unknown>(value.length);
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i];
        const itemPath = `${path}[${i}]`;
        if (item === null) {
          out[i] = decodeObject({}, schema, itemPath);
        } else {
          mustBe(isObject(item), itemPath, "an object", item);
          out[i] = decodeObject(item, schema, itemPath);
        }
      }
      return out;
    }
    default:
      return value;
  }
}

/**
 * Decodes a JSON object against a schema, Go style: field names match
 * exactly or case-insensitively (the last matching name wins), unknown fields
 * are dropped (kept when the schema is `passthrough`), `null` leaves a field
 * absent, and required fields get their zero value. Output fields use the
 * canonical names, in schema order.
 *
 * @throws {FieldProblem} On the first invalid field.
 */
export function decodeObject(
  raw: Record<string, unknown>,
  schema: ObjectSchema,
  path: string,
): Record<string, unknown> {
  const prefix = path === "" ? "" : `${path}.`;
  const fields = schema.fields;
  // Decoded values by field index (undefined = absent).
  const slots: unknown[] = new Array(fields.length);
  let extra: [string, unknown][] | undefined;
  for (const name in raw) {
    const spec = schema.exact.get(name) ?? schema.folded.get(foldName(name));
    if (spec === undefined) {
      if (schema.passthrough) (extra ??= []).push([name, raw[name]]);
      continue;
    }
    const decoded = decodeValue(spec, raw[name], prefix + spec.name);
    // Go ignores null for strings, numbers and booleans (an earlier value
    // stays) and resets maps, slices and pointers.
    if (decoded !== undefined || !SCALARS.has(spec.type)) {
      slots[spec.index] = decoded;
    }
  }
  // Canonical order, zero-filled, then the pass-through rest.
  const out: Record<string, unknown> = {};
  for (let i = 0; i < fields.length; i++) {
    const spec = fields[i] as FieldSpec;
    let v = slots[i];
    if (v === undefined) {
      if (!spec.required) continue;
      v = zeroValue(spec, prefix + spec.name);
    }
    if (spec.nonEmpty && v === "") {
      throw new FieldProblem(prefix + spec.name, "must be a non-empty string");
    }
    out[spec.name] = v;
  }
  if (extra !== undefined) {
    for (const [name, value] of extra) {
      if (Object.hasOwn(out, name)) continue;
      // defineProperty: "__proto__" stays a plain key.
      Object.defineProperty(out, name, {
        value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
  }
  if (schema.check !== undefined) {
    const problem = schema.check(out);
    if (problem !== null) {
      throw new FieldProblem(prefix + problem[0], problem[1]);
    }
  }
  return out;
}
