/**
 * Generates the TypeScript ARI models, events and REST operation table in
 * `client/generated/` from Asterisk's ARI description (Swagger 1.1/1.2 JSON,
 * as served by Asterisk under `/ari/api-docs/`).
 *
 * Usage:
 *
 * ```sh
 * deno task gen                                     # input tools/ari-api/
 * deno task gen --from http://127.0.0.1:8088/ari --user proxy --password secret
 * deno run --allow-read --allow-write tools/gen_ari.ts [inputDir] [--out dir]
 * deno run --allow-read tools/gen_ari.ts --check    # exit 1 when stale
 * ```
 *
 * `inputDir` holds `resources.json` (the resource listing, which carries the
 * ARI version) and one API declaration per resource (`channels.json`,
 * `events.json`, ...). It defaults to `tools/ari-api/` in this repository
 * (see `tools/ari-api/README.md` for where it comes from). With `--from URL`
 * the generator first downloads the description from a running Asterisk
 * (`URL/api-docs/resources.json` and every resource file it lists) into the
 * input directory, so moving to a new ARI version is one command plus a
 * review of the diff. `--out` defaults to `client/generated/` in this
 * repository. The output is deterministic: resources follow the order of
 * `resources.json` (unlisted files follow alphabetically), and models and
 * operations keep their declaration order.
 *
 * Written files:
 * - `models.ts`: `ARI_VERSION` and one interface per non-event model.
 * - `events.ts`: one interface per event, `AriEvent`, `AriEventType`,
 *   `AriEventMap`, `ARI_EVENT_TYPES` and `isAriEventType()`.
 * - `operations.ts`: `ARI_OPERATIONS` (every REST operation, including the
 *   events WebSocket), `AriOperationId`, `AriOperationParams` and
 *   `AriOperationResult`.
 *
 * Tests import {@linkcode generate} to check the committed files are current.
 *
 * @module
 */

import { parseArgs } from "node:util";

/** Default directory of the ARI description: `tools/ari-api/` in this repository. */
export const DEFAULT_INPUT_DIR: URL = new URL("./ari-api/", import.meta.url);

/**
 * `basePath` written into downloaded description files. Asterisk puts the
 * address the request came to in every file; a fixed value keeps the committed
 * files independent of where they were downloaded from.
 */
export const DESCRIPTION_BASE_PATH = "http://localhost:8088/ari";

/** Options of {@linkcode downloadDescription}. */
export interface DownloadDescriptionOptions {
  /** ARI user name (HTTP basic authentication), if Asterisk asks for one. */
  username?: string;
  /** ARI password. */
  password?: string;
  /** Injected `fetch` (tests). @default globalThis.fetch */
  fetch?: typeof fetch;
}

/**
 * Downloads the ARI description a running Asterisk serves
 * (`<ariUrl>/api-docs/resources.json` and every API declaration it lists)
 * into `outputDir`, one JSON file per resource, with `basePath` set to
 * {@linkcode DESCRIPTION_BASE_PATH}. Files of the directory that the listing
 * no longer names are left alone (review the diff).
 *
 * @param ariUrl Base URL of ARI, e.g. `http://127.0.0.1:8088/ari`.
 * @param outputDir Directory to write into (created when missing).
 * @returns The file names written, `resources.json` first.
 * @throws {Error} When Asterisk does not answer 200 with JSON for a file.
 *
 * @example Refresh the committed description
 * ```ts ignore
 * import { DEFAULT_INPUT_DIR, downloadDescription } from "./gen_ari.ts";
 *
 * await downloadDescription("http://127.0.0.1:8088/ari", DEFAULT_INPUT_DIR, {
 *   username: "proxy",
 *   password: "secret",
 * });
 * ```
 */
export async function downloadDescription(
  ariUrl: string,
  outputDir: string | URL,
  options: DownloadDescriptionOptions = {},
): Promise<string[]> {
  const { username, password, fetch: fetchFn = globalThis.fetch } = options;
  const base = ariUrl.replace(/\/+$/, "");
  const headers = new Headers();
  if (username !== undefined) {
    headers.set(
      "authorization",
      `Basic ${btoa(`${username}:${password ?? ""}`)}`,
    );
  }
  async function download(file: string): Promise<Record<string, unknown>> {
    const url = `${base}/api-docs/${file}`;
    const response = await fetchFn(url, { headers });
    const text = await response.text();
    if (response.status !== 200) {
      throw new Error(
        `Cannot download ARI description "${url}": HTTP ${response.status} ${
          text.slice(0, 200)
        }`,
      );
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new Error(`Cannot download ARI description "${url}": not JSON`, {
        cause: error,
      });
    }
    if (!isRecord(value)) {
      throw new Error(
        `Cannot download ARI description "${url}": top level is not an object`,
      );
    }
    if ("basePath" in value) value.basePath = DESCRIPTION_BASE_PATH;
    return value;
  }
  const dir = toDirUrl(outputDir);
  const listing = await download("resources.json");
  const files = new Map<string, Record<string, unknown>>([
    ["resources.json", listing],
  ]);
  const apis = Array.isArray(listing.apis) ? listing.apis : [];
  for (const api of apis) {
    const path = isRecord(api) ? api.path : undefined;
    if (typeof path !== "string") continue;
    const name = path.replace(/^.*\//, "").replace("{format}", "json");
    files.set(name, await download(name));
  }
  Deno.mkdirSync(dir, { recursive: true });
  for (const [name, json] of files) {
    Deno.writeTextFileSync(
      new URL(name, dir),
      `${JSON.stringify(json, null, "\t")}\n`,
    );
  }
  return [...files.keys()];
}

/** Default output directory: `client/generated/` in this repository. */
export const DEFAULT_OUTPUT_DIR: URL = new URL(
  "../client/generated/",
  import.meta.url,
);

/** First characters of every generated file; used to recognise stale generated files. */
export const GENERATED_HEADER_PREFIX = "// Code generated by tools/gen_ari.ts";

// ---------------------------------------------------------------------------
// Swagger input shapes (only the fields the generator reads)

interface AllowableValues {
  valueType?: string;
  values?: unknown[];
  min?: number;
  max?: number;
}

interface SwaggerProperty {
  type: string;
  description?: string;
  required?: boolean;
  allowableValues?: AllowableValues;
}

interface SwaggerModel {
  id: string;
  description?: string;
  discriminator?: string;
  subTypes?: string[];
  properties: Record<string, SwaggerProperty>;
}

interface SwaggerParameter {
  name: string;
  description?: string;
  /** Misspelt `description` found in some Asterisk releases (endpoints.json). */
  descriptioni?: string;
  paramType: string;
  dataType: string;
  required?: boolean;
  allowMultiple?: boolean;
  allowableValues?: AllowableValues;
  defaultValue?: unknown;
}

interface SwaggerOperation {
  httpMethod: string;
  nickname: string;
  summary?: string;
  notes?: string;
  responseClass?: string;
  upgrade?: string;
  parameters?: SwaggerParameter[];
}

interface SwaggerApi {
  path: string;
  operations?: SwaggerOperation[];
}

interface SwaggerApiDeclaration {
  apis?: SwaggerApi[];
  models?: Record<string, SwaggerModel>;
}

interface Resource {
  /** File name without `.json`, e.g. `deviceStates`. */
  name: string;
  file: string;
  declaration: SwaggerApiDeclaration;
}

interface ModelEntry {
  name: string;
  file: string;
  model: SwaggerModel;
}

/** Everything the emitters need, resolved once. */
interface AriDescription {
  version: string;
  resources: Resource[];
  /** All models, in resource then declaration order. */
  models: Map<string, ModelEntry>;
  /** Model name to the model listing it in `subTypes`. */
  parents: Map<string, string>;
  /** Models with `subTypes` (abstract bases such as `Message`, `Event`). */
  bases: Set<string>;
  /** Concrete members of the message hierarchy, in declaration order. */
  events: string[];
}

// ---------------------------------------------------------------------------
// Reading

function fail(file: string, detail: string): never {
  throw new SyntaxError(
    `Cannot read ARI description "${file}": ${detail}`,
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function readJson(dir: URL, file: string): Record<string, unknown> {
  const text = Deno.readTextFileSync(new URL(file, dir));
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    fail(file, error instanceof Error ? error.message : String(error));
  }
  if (!isRecord(value)) fail(file, "top level is not an object");
  return value;
}

function checkDeclaration(
  file: string,
  json: Record<string, unknown>,
): SwaggerApiDeclaration {
  const apis = json.apis ?? [];
  if (!Array.isArray(apis)) fail(file, `"apis" is not an array`);
  for (const api of apis) {
    if (!isRecord(api) || typeof api.path !== "string") {
      fail(file, `an entry of "apis" has no "path"`);
    }
    const operations = api.operations ?? [];
    if (!Array.isArray(operations)) {
      fail(file, `"operations" of "${api.path}" is not an array`);
    }
    for (const op of operations) {
      if (
        !isRecord(op) || typeof op.httpMethod !== "string" ||
        typeof op.nickname !== "string"
      ) {
        fail(file, `an operation of "${api.path}" lacks httpMethod/nickname`);
      }
      const params = op.parameters ?? [];
      if (!Array.isArray(params)) {
        fail(file, `parameters of "${op.nickname}" are not an array`);
      }
      for (const param of params) {
        if (
          !isRecord(param) || typeof param.name !== "string" ||
          typeof param.paramType !== "string" ||
          typeof param.dataType !== "string"
        ) {
          fail(file, `a parameter of "${op.nickname}" is malformed`);
        }
      }
    }
  }
  const models = json.models ?? {};
  if (!isRecord(models)) fail(file, `"models" is not an object`);
  for (const [name, model] of Object.entries(models)) {
    if (!isRecord(model) || !isRecord(model.properties ?? {})) {
      fail(file, `model "${name}" is malformed`);
    }
    for (const [prop, spec] of Object.entries(model.properties ?? {})) {
      if (!isRecord(spec) || typeof spec.type !== "string") {
        fail(file, `property "${name}.${prop}" has no "type"`);
      }
    }
  }
  return { apis, models } as SwaggerApiDeclaration;
}

function listJsonFiles(dir: URL): string[] {
  const files: string[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    if (entry.isFile && entry.name.endsWith(".json")) files.push(entry.name);
  }
  return files.sort();
}

function readDescription(inputDir: string | URL): AriDescription {
  const dir = toDirUrl(inputDir);
  const listing = readJson(dir, "resources.json");
  const version = listing.apiVersion;
  if (typeof version !== "string") {
    fail("resources.json", `"apiVersion" is missing`);
  }
  const listed: string[] = [];
  for (const api of Array.isArray(listing.apis) ? listing.apis : []) {
    const path = isRecord(api) ? api.path : undefined;
    const match = typeof path === "string"
      ? /\/([^/]+)\.\{format\}$/.exec(path)
      : null;
    if (!match?.[1]) fail("resources.json", `unexpected api path "${path}"`);
    listed.push(`${match[1]}.json`);
  }
  const present = listJsonFiles(dir).filter((f) => f !== "resources.json");
  const ordered = [
    ...listed,
    ...present.filter((f) => !listed.includes(f)),
  ];

  const resources: Resource[] = [];
  const models = new Map<string, ModelEntry>();
  const parents = new Map<string, string>();
  const bases = new Set<string>();
  for (const file of ordered) {
    const declaration = checkDeclaration(file, readJson(dir, file));
    resources.push({ name: file.slice(0, -".json".length), file, declaration });
    for (const [name, model] of Object.entries(declaration.models ?? {})) {
      const previous = models.get(name);
      if (previous) {
        fail(file, `model "${name}" is also declared in "${previous.file}"`);
      }
      models.set(name, { name, file, model });
      if (model.subTypes?.length) bases.add(name);
      for (const sub of model.subTypes ?? []) parents.set(sub, name);
    }
  }
  for (const [sub, parent] of parents) {
    if (!models.has(sub)) {
      fail(models.get(parent)!.file, `unknown subtype "${sub}"`);
    }
  }
  const events = [...models.keys()].filter((name) =>
    parents.has(name) && !bases.has(name)
  );
  return { version, resources, models, parents, bases, events };
}

function toDirUrl(dir: string | URL): URL {
  if (dir instanceof URL) {
    return dir.href.endsWith("/") ? dir : new URL(`${dir.href}/`);
  }
  const cwd = `file://${Deno.cwd().replaceAll("\\", "/")}/`;
  return new URL(dir.endsWith("/") ? dir : `${dir}/`, cwd);
}

// ---------------------------------------------------------------------------
// Rendering helpers

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function propertyKey(name: string): string {
  return IDENTIFIER.test(name) ? name : JSON.stringify(name);
}

/** A JSDoc block for `lines` at `indent`; empty when there is nothing to say. */
function jsdoc(lines: string[], indent: string): string {
  const clean = lines
    .flatMap((line) => line.split(/\r?\n/))
    .map((line) => line.trimEnd().replaceAll("*/", "*\\/"));
  while (clean.length > 0 && clean[clean.length - 1] === "") clean.pop();
  if (clean.length === 0) return "";
  if (clean.length === 1) return `${indent}/** ${clean[0]} */\n`;
  return `${indent}/**\n${
    clean.map((l) => l === "" ? `${indent} *\n` : `${indent} * ${l}\n`).join(
      "",
    )
  }${indent} */\n`;
}

/** Description text from the ARI JSON, made safe for JSDoc (no tags). */
function text(value: string | undefined): string {
  return (value ?? "").trim().replace(/(^|\s)@/g, "$1\\@");
}

function header(version: string): string {
  return `${GENERATED_HEADER_PREFIX} from ARI ${version}. DO NOT EDIT.\n\n`;
}

function literalUnion(values: unknown[]): string {
  return values.map((v) => JSON.stringify(String(v))).join(" | ");
}

function rangeNote(allowable: AllowableValues | undefined): string | undefined {
  if (allowable?.valueType !== "RANGE") return undefined;
  const parts: string[] = [];
  if (allowable.min !== undefined) parts.push(`minimum ${allowable.min}`);
  if (allowable.max !== undefined) parts.push(`maximum ${allowable.max}`);
  return parts.length ? `Allowed range: ${parts.join(", ")}.` : undefined;
}

/** Tracks which generated file each referenced type name comes from. */
class TypeRenderer {
  readonly #ari: AriDescription;
  /** Names used by the current file, with the file they are declared in. */
  readonly used: Map<string, "models" | "events"> = new Map();

  constructor(ari: AriDescription) {
    this.#ari = ari;
  }

  /** The TypeScript name of a hierarchy base interface (`Event` → `AriEventBase`). */
  static baseName(model: string): string {
    return `Ari${model}Base`;
  }

  /**
   * Renders a Swagger type. `values` (from LIST allowableValues) narrows
   * strings to a literal union; `objectType` replaces `object`.
   */
  render(
    type: string,
    where: string,
    values?: unknown[],
    objectType = "Record<string, unknown>",
  ): string {
    const list = /^List\[(.+)\]$/.exec(type);
    if (list?.[1]) {
      const inner = this.render(list[1], where, values, objectType);
      return inner.includes("|") ? `(${inner})[]` : `${inner}[]`;
    }
    switch (type) {
      case "string":
        return values?.length ? literalUnion(values) : "string";
      case "int":
      case "long":
      case "double":
      case "float":
      case "number":
        return "number";
      case "boolean":
        return "boolean";
      case "Date":
        return "string";
      case "object":
        return objectType;
      case "binary":
        return "Uint8Array";
      case "void":
        return "void";
    }
    if (!this.#ari.models.has(type)) {
      throw new TypeError(`Cannot map ARI type "${type}" used by ${where}`);
    }
    if (this.#ari.bases.has(type)) {
      this.used.set("AriEvent", "events");
      if (!this.#ari.parents.has(type)) return "AriEvent";
      const base = TypeRenderer.baseName(type);
      this.used.set(base, "events");
      return `Extract<AriEvent, ${base}>`;
    }
    const file = this.#ari.parents.has(type) ? "events" : "models";
    this.used.set(type, file);
    return type;
  }

  /** `import type` lines for names declared in another generated file. */
  imports(self: "models" | "events" | "operations"): string {
    const byFile = new Map<string, string[]>();
    for (const [name, file] of this.used) {
      if (file === self) continue;
      byFile.set(file, [...(byFile.get(file) ?? []), name]);
    }
    let out = "";
    for (const file of ["events", "models"]) {
      const names = byFile.get(file)?.sort();
      if (!names?.length) continue;
      const line = `import type { ${names.join(", ")} } from "./${file}.ts";`;
      out += line.length <= 80
        ? `${line}\n`
        : `import type {\n${
          names.map((n) => `  ${n},\n`).join("")
        }} from "./${file}.ts";\n`;
    }
    return out ? `${out}\n` : "";
  }
}

/** Object-typed model properties holding channel/bridge variables map to string dictionaries. */
function objectTypeFor(property: string): string {
  return /^(variables|\w*vars)$/.test(property)
    ? "Record<string, string>"
    : "Record<string, unknown>";
}

function renderProperties(
  renderer: TypeRenderer,
  entry: ModelEntry,
  skip: ReadonlySet<string> = new Set(),
): string {
  let out = "";
  for (const [name, spec] of Object.entries(entry.model.properties)) {
    if (skip.has(name)) continue;
    const values = spec.allowableValues?.valueType === "LIST"
      ? spec.allowableValues.values
      : undefined;
    const type = renderer.render(
      spec.type,
      `"${entry.name}.${name}" in ${entry.file}`,
      values,
      objectTypeFor(name),
    );
    const doc = [
      text(spec.description) || `ARI type \`${spec.type}\`.`,
      ...[rangeNote(spec.allowableValues)].filter((x) => x !== undefined),
    ];
    out += jsdoc([doc.join(" ")], "  ");
    out += `  ${propertyKey(name)}${spec.required ? "" : "?"}: ${type};\n`;
  }
  return out;
}

function modelDoc(entry: ModelEntry, extra: string[] = []): string {
  return jsdoc(
    [
      text(entry.model.description) || `ARI model \`${entry.name}\`.`,
      "",
      `ARI model \`${entry.name}\` (${entry.file}).`,
      ...extra,
    ],
    "",
  );
}

// ---------------------------------------------------------------------------
// models.ts

function emitModels(ari: AriDescription): string {
  const renderer = new TypeRenderer(ari);
  let body = "";
  for (const resource of ari.resources) {
    const entries = [...ari.models.values()].filter((e) =>
      e.file === resource.file && !ari.parents.has(e.name) &&
      !ari.bases.has(e.name)
    );
    if (entries.length === 0) continue;
    body += `// ${resource.file}\n\n`;
    for (const entry of entries) {
      body += modelDoc(entry);
      body += `export interface ${entry.name} {\n`;
      body += renderProperties(renderer, entry);
      body += "}\n\n";
    }
  }
  return header(ari.version) +
    jsdoc([
      `Models (resource types) of the Asterisk REST Interface ${ari.version}.`,
      "",
      "Generated from the ARI Swagger description; see `tools/gen_ari.ts`.",
      "Events live in `events.ts` and REST operations in `operations.ts`.",
      "",
      "@module",
    ], "") +
    "\n" +
    renderer.imports("models") +
    jsdoc([
      "Version of the ARI description these types were generated from",
      "(`apiVersion` of `resources.json`).",
      "",
      "@example Compare with the version Asterisk reports",
      "```ts",
      'import assert from "node:assert/strict";',
      'import { ARI_VERSION } from "./models.ts";',
      "",
      "assert.match(ARI_VERSION, /^\\d+\\.\\d+\\.\\d+$/);",
      "```",
    ], "") +
    `export const ARI_VERSION = ${JSON.stringify(ari.version)};\n\n` +
    body.replace(/\n+$/, "\n");
}

// ---------------------------------------------------------------------------
// events.ts

function emitEvents(ari: AriDescription): string {
  const renderer = new TypeRenderer(ari);
  let body = "";
  const hierarchy = [...ari.models.values()].filter((e) =>
    ari.bases.has(e.name) || ari.parents.has(e.name)
  );
  for (const entry of hierarchy) {
    const parent = ari.parents.get(entry.name);
    const extendsClause = parent
      ? ` extends ${TypeRenderer.baseName(parent)}`
      : "";
    if (ari.bases.has(entry.name)) {
      const discriminator = entry.model.discriminator;
      body += modelDoc(entry, [
        "",
        `Base of the event interfaces; never sent on its own.`,
      ]);
      body += `export interface ${
        TypeRenderer.baseName(entry.name)
      }${extendsClause} {\n`;
      body += renderProperties(renderer, entry);
      body += "}\n\n";
      if (
        discriminator && entry.model.properties[discriminator] === undefined
      ) {
        fail(entry.file, `discriminator "${discriminator}" is not a property`);
      }
      continue;
    }
    const discriminator = findDiscriminator(ari, entry.name);
    body += modelDoc(entry);
    body += `export interface ${entry.name}${extendsClause} {\n`;
    body += jsdoc([`Discriminator: always \`"${entry.name}"\`.`], "  ");
    body += `  ${discriminator}: ${JSON.stringify(entry.name)};\n`;
    body += renderProperties(renderer, entry, new Set([discriminator]));
    body += "}\n\n";
  }

  const events = ari.events;
  body += jsdoc([
    "Maps each ARI event type name to its interface.",
    "",
    "@example Type a handler by event name",
    "```ts",
    'import assert from "node:assert/strict";',
    'import type { AriEventMap, AriEventType } from "./events.ts";',
    "",
    "function describe<T extends AriEventType>(",
    "  _type: T,",
    '  event: Pick<AriEventMap[T], "type">,',
    "): string {",
    "  return event.type;",
    "}",
    'assert.equal(describe("StasisStart", { type: "StasisStart" }), "StasisStart");',
    "```",
  ], "");
  body += "export interface AriEventMap {\n";
  for (const name of events) {
    body += `  /** The {@linkcode ${name}} event. */\n  ${name}: ${name};\n`;
  }
  body += "}\n\n";

  body += jsdoc([
    "Name of an ARI event type (the `type` field of an {@linkcode AriEvent}).",
    "",
    "@example Narrow a string",
    "```ts",
    'import assert from "node:assert/strict";',
    'import { type AriEventType, isAriEventType } from "./events.ts";',
    "",
    'const name: string = "ChannelDestroyed";',
    "assert.ok(isAriEventType(name));",
    "const type: AriEventType = name;",
    'assert.equal(type, "ChannelDestroyed");',
    "```",
  ], "");
  body += `export type AriEventType =\n${
    events.map((n) => `  | ${JSON.stringify(n)}`).join("\n")
  };\n\n`;

  body += jsdoc([
    "Any message Asterisk sends on the ARI events WebSocket, discriminated on",
    "`type`. `MissingParams` carries no `application`/`timestamp`, so narrow",
    'on `type` (or check `"application" in event`) before reading them.',
    "",
    "@example Narrow on type",
    "```ts",
    'import assert from "node:assert/strict";',
    'import type { AriEvent } from "./events.ts";',
    "",
    "function channelOf(event: AriEvent): string | undefined {",
    '  return event.type === "StasisStart" ? event.channel.id : undefined;',
    "}",
    "assert.equal(",
    "  channelOf({",
    '    type: "ChannelVarset",',
    '    application: "app",',
    '    timestamp: "2024-01-01T00:00:00.000+0000",',
    '    variable: "X",',
    '    value: "1",',
    "  }),",
    "  undefined,",
    ");",
    "```",
  ], "");
  body += `export type AriEvent =\n${
    events.map((n) => `  | ${n}`).join("\n")
  };\n\n`;

  body += jsdoc([
    "Every ARI event type name, in the order of the ARI description.",
    "",
    "@example List event types",
    "```ts",
    'import assert from "node:assert/strict";',
    'import { ARI_EVENT_TYPES } from "./events.ts";',
    "",
    'assert.ok(ARI_EVENT_TYPES.includes("StasisStart"));',
    "```",
  ], "");
  body += `export const ARI_EVENT_TYPES: readonly AriEventType[] = [\n${
    events.map((n) => `  ${JSON.stringify(n)},\n`).join("")
  }];\n\n`;

  body +=
    "const EVENT_TYPES: ReadonlySet<string> = new Set(ARI_EVENT_TYPES);\n\n";
  body += jsdoc([
    "Reports whether `value` is a known ARI event type name.",
    "",
    "@param value The `type` field of a received message.",
    "@returns `true` when `value` is one of {@linkcode ARI_EVENT_TYPES}.",
    "",
    "@example Filter unknown messages",
    "```ts",
    'import assert from "node:assert/strict";',
    'import { isAriEventType } from "./events.ts";',
    "",
    'assert.equal(isAriEventType("StasisEnd"), true);',
    'assert.equal(isAriEventType("NotAnEvent"), false);',
    "```",
  ], "");
  body +=
    "export function isAriEventType(value: string): value is AriEventType {\n" +
    "  return EVENT_TYPES.has(value);\n" +
    "}\n";

  return header(ari.version) +
    jsdoc([
      `Events of the Asterisk REST Interface ${ari.version}, as sent on the`,
      "events WebSocket.",
      "",
      "Generated from `events.json` of the ARI Swagger description; see",
      "`tools/gen_ari.ts`.",
      "",
      "@module",
    ], "") +
    "\n" +
    renderer.imports("events") +
    body;
}

function findDiscriminator(ari: AriDescription, name: string): string {
  let current = ari.parents.get(name);
  while (current) {
    const discriminator = ari.models.get(current)?.model.discriminator;
    if (discriminator) return discriminator;
    current = ari.parents.get(current);
  }
  fail(ari.models.get(name)!.file, `no discriminator above "${name}"`);
}

// ---------------------------------------------------------------------------
// operations.ts

const METHODS = new Set(["GET", "POST", "PUT", "DELETE"]);
const LOCATIONS = new Set(["path", "query", "body"]);

/** TypeScript type of a `containers` body parameter (a JSON object in the body). */
function containerType(
  renderer: TypeRenderer,
  param: SwaggerParameter,
  where: string,
): string {
  const description = param.description ?? param.descriptioni ?? "";
  if (/list of ConfigTuples/i.test(description)) {
    return renderer.render("List[ConfigTuple]", where);
  }
  if (description.includes("report_events")) {
    return "Record<string, string | { value: string; report_events?: boolean }>";
  }
  return "Record<string, string>";
}

interface OperationEntry {
  id: string;
  resource: string;
  path: string;
  op: SwaggerOperation;
}

function collectOperations(ari: AriDescription): OperationEntry[] {
  const out: OperationEntry[] = [];
  const ids = new Set<string>();
  for (const resource of ari.resources) {
    for (const api of resource.declaration.apis ?? []) {
      for (const op of api.operations ?? []) {
        const id = `${resource.name}.${op.nickname}`;
        if (ids.has(id)) fail(resource.file, `duplicate operation "${id}"`);
        ids.add(id);
        if (!METHODS.has(op.httpMethod)) {
          fail(
            resource.file,
            `unsupported method "${op.httpMethod}" of "${id}"`,
          );
        }
        for (const param of op.parameters ?? []) {
          if (!LOCATIONS.has(param.paramType)) {
            fail(
              resource.file,
              `unsupported paramType "${param.paramType}" of "${id}"`,
            );
          }
        }
        out.push({ id, resource: resource.name, path: api.path, op });
      }
    }
  }
  return out;
}

function emitOperations(ari: AriDescription): string {
  const renderer = new TypeRenderer(ari);
  const operations = collectOperations(ari);
  const resources = [...new Set(operations.map((o) => o.resource))];

  let table = "";
  let params = "";
  let results = "";
  for (const { id, resource, path, op } of operations) {
    const responseClass = op.responseClass ?? "void";
    table += "  {\n";
    table += `    id: ${JSON.stringify(id)},\n`;
    table += `    resource: ${JSON.stringify(resource)},\n`;
    table += `    nickname: ${JSON.stringify(op.nickname)},\n`;
    table += `    method: ${JSON.stringify(op.httpMethod)},\n`;
    table += `    path: ${JSON.stringify(path)},\n`;
    table += `    summary: ${JSON.stringify(op.summary?.trim() ?? "")},\n`;
    const list = op.parameters ?? [];
    if (list.length === 0) {
      table += "    params: [],\n";
    } else {
      table += "    params: [\n";
      for (const p of list) {
        const required = p.paramType === "path" || p.required === true;
        table += `      { name: ${JSON.stringify(p.name)}, in: ${
          JSON.stringify(p.paramType)
        }, required: ${required}, type: ${JSON.stringify(p.dataType)}${
          p.allowMultiple ? ", allowMultiple: true" : ""
        } },\n`;
      }
      table += "    ],\n";
    }
    table += `    responseType: ${JSON.stringify(responseClass)},\n`;
    if (op.upgrade === "websocket") table += "    websocket: true,\n";
    table += "  },\n";

    const opDoc = [
      `${op.httpMethod} ${path}: ${text(op.summary)}`.trimEnd(),
      ...(text(op.notes) ? ["", text(op.notes)] : []),
    ];
    params += jsdoc(opDoc, "  ");
    if (list.length === 0) {
      params += `  ${JSON.stringify(id)}: Record<PropertyKey, never>;\n`;
    } else {
      params += `  ${JSON.stringify(id)}: {\n`;
      for (const p of list) {
        const where = `parameter "${p.name}" of "${id}"`;
        const values = p.allowableValues?.valueType === "LIST"
          ? p.allowableValues.values
          : undefined;
        let type = p.dataType === "containers"
          ? containerType(renderer, p, where)
          : renderer.render(p.dataType, where, values);
        if (p.allowMultiple) {
          type = type.includes("|")
            ? `${type} | readonly (${type})[]`
            : `${type} | readonly ${type}[]`;
        }
        const required = p.paramType === "path" || p.required === true;
        const description = text(p.description ?? p.descriptioni);
        const location = `${p.paramType[0]!.toUpperCase()}${
          p.paramType.slice(1)
        } parameter${p.allowMultiple ? " (repeatable)" : ""}.`;
        const notes = [location, description, rangeNote(p.allowableValues)]
          .filter((x) => x);
        params += jsdoc(
          [
            notes.join(" "),
            ...(p.defaultValue !== undefined
              ? ["", `@default ${JSON.stringify(p.defaultValue)}`]
              : []),
          ],
          "    ",
        );
        params += `    ${propertyKey(p.name)}${
          required ? "" : "?"
        }: ${type};\n`;
      }
      params += "  };\n";
    }
    results += jsdoc([
      `${op.httpMethod} ${path} responds with \`${responseClass}\`.`,
    ], "  ");
    results += `  ${JSON.stringify(id)}: ${
      renderer.render(responseClass, `response of "${id}"`)
    };\n`;
  }

  const example = (lines: string[]) => [
    "```ts",
    'import assert from "node:assert/strict";',
    ...lines,
    "```",
  ];

  return header(ari.version) +
    jsdoc([
      `REST operations of the Asterisk REST Interface ${ari.version}.`,
      "",
      "Generated from the ARI Swagger description; see `tools/gen_ari.ts`.",
      "",
      "@module",
    ], "") +
    "\n" +
    renderer.imports("operations") +
    jsdoc([
      "HTTP method of an ARI operation.",
      "",
      "@example Check a method",
      ...example([
        'import type { AriHttpMethod } from "./operations.ts";',
        "",
        'const method: AriHttpMethod = "POST";',
        'assert.equal(method, "POST");',
      ]),
    ], "") +
    'export type AriHttpMethod = "GET" | "POST" | "PUT" | "DELETE";\n\n' +
    jsdoc([
      "Where an operation parameter goes: the URL path template, the query",
      "string, or a key of the JSON request body.",
      "",
      "@example Check a location",
      ...example([
        'import type { AriParamLocation } from "./operations.ts";',
        "",
        'const where: AriParamLocation = "query";',
        'assert.equal(where, "query");',
      ]),
    ], "") +
    'export type AriParamLocation = "path" | "query" | "body";\n\n' +
    jsdoc([
      "Name of an ARI resource (its API declaration file name).",
      "",
      "@example Check a resource",
      ...example([
        'import type { AriResourceName } from "./operations.ts";',
        "",
        'const resource: AriResourceName = "channels";',
        'assert.equal(resource, "channels");',
      ]),
    ], "") +
    `export type AriResourceName =\n${
      resources.map((r) => `  | ${JSON.stringify(r)}`).join("\n")
    };\n\n` +
    jsdoc([
      "Identifier of an ARI operation: resource file name, a dot, and the",
      'Swagger nickname (`"channels.originate"`).',
      "",
      "@example Check an id",
      ...example([
        'import type { AriOperationId } from "./operations.ts";',
        "",
        'const id: AriOperationId = "channels.originate";',
        'assert.equal(id, "channels.originate");',
      ]),
    ], "") +
    `export type AriOperationId =\n${
      operations.map((o) => `  | ${JSON.stringify(o.id)}`).join("\n")
    };\n\n` +
    jsdoc([
      "One parameter of an {@linkcode AriOperation}.",
      "",
      "@example Read a parameter",
      ...example([
        'import { ARI_OPERATIONS_BY_ID } from "./operations.ts";',
        "",
        'const param = ARI_OPERATIONS_BY_ID["channels.get"].params[0];',
        'assert.deepEqual(param, { name: "channelId", in: "path", required: true, type: "string" });',
      ]),
    ], "") +
    "export interface AriOperationParam {\n" +
    "  /** Parameter name: path placeholder, query key or body key. */\n" +
    "  readonly name: string;\n" +
    "  /** Where the parameter goes. */\n" +
    "  readonly in: AriParamLocation;\n" +
    "  /** Whether Asterisk requires it (path parameters always are). */\n" +
    "  readonly required: boolean;\n" +
    '  /** Swagger data type as written in the description (`"string"`, `"int"`, `"containers"`, ...). */\n' +
    "  readonly type: string;\n" +
    "  /** Present when the query parameter may repeat (comma-separated values). */\n" +
    "  readonly allowMultiple?: true;\n" +
    "}\n\n" +
    jsdoc([
      "One ARI REST operation.",
      "",
      "@example Build a request line",
      ...example([
        'import { ARI_OPERATIONS_BY_ID } from "./operations.ts";',
        "",
        'const op = ARI_OPERATIONS_BY_ID["channels.hangup"];',
        'assert.equal(`${op.method} ${op.path}`, "DELETE /channels/{channelId}");',
      ]),
    ], "") +
    "export interface AriOperation {\n" +
    '  /** Resource file name and nickname, e.g. `"channels.originate"`. */\n' +
    "  readonly id: AriOperationId;\n" +
    "  /** Resource (API declaration file name without `.json`). */\n" +
    "  readonly resource: AriResourceName;\n" +
    "  /** Swagger nickname of the operation. */\n" +
    "  readonly nickname: string;\n" +
    "  /** HTTP method. */\n" +
    "  readonly method: AriHttpMethod;\n" +
    '  /** Path template relative to the ARI base URL, e.g. `"/channels/{channelId}"`. */\n' +
    "  readonly path: string;\n" +
    "  /** One-line summary from the description. */\n" +
    "  readonly summary: string;\n" +
    "  /** Parameters in declaration order. */\n" +
    "  readonly params: readonly AriOperationParam[];\n" +
    '  /** Swagger response class, e.g. `"Channel"`, `"List[Channel]"`, `"void"`, `"binary"`. */\n' +
    "  readonly responseType: string;\n" +
    "  /** Present on operations that upgrade to a WebSocket (`events.eventWebsocket`). */\n" +
    "  readonly websocket?: true;\n" +
    "}\n\n" +
    jsdoc([
      "Every REST operation of the ARI description, in resource then",
      "declaration order.",
      "",
      "@example Find the WebSocket operation",
      ...example([
        'import { ARI_OPERATIONS } from "./operations.ts";',
        "",
        "const ws = ARI_OPERATIONS.filter((op) => op.websocket);",
        'assert.deepEqual(ws.map((op) => op.id), ["events.eventWebsocket"]);',
      ]),
    ], "") +
    `export const ARI_OPERATIONS: readonly AriOperation[] = [\n${table}];\n\n` +
    jsdoc([
      "{@linkcode ARI_OPERATIONS} keyed by {@linkcode AriOperationId}.",
      "",
      "@example Look up an operation",
      ...example([
        'import { ARI_OPERATIONS_BY_ID } from "./operations.ts";',
        "",
        'assert.equal(ARI_OPERATIONS_BY_ID["channels.originate"].method, "POST");',
      ]),
    ], "") +
    "export const ARI_OPERATIONS_BY_ID: Readonly<Record<AriOperationId, AriOperation>> =\n" +
    "  Object.fromEntries(ARI_OPERATIONS.map((op) => [op.id, op])) as Record<\n" +
    "    AriOperationId,\n" +
    "    AriOperation\n" +
    "  >;\n\n" +
    jsdoc([
      "Parameters of each operation, by {@linkcode AriOperationId}: path, query",
      "and body parameters flattened into one object. `containers` body",
      "parameters are JSON objects; `allowMultiple` query parameters accept",
      "arrays.",
      "",
      "@example Type the parameters of an originate",
      ...example([
        'import type { AriOperationParams } from "./operations.ts";',
        "",
        'const params: AriOperationParams["channels.originate"] = {',
        '  endpoint: "PJSIP/alice",',
        '  app: "demo",',
        '  variables: { "CALLERID(name)": "Alice" },',
        "};",
        'assert.equal(params.endpoint, "PJSIP/alice");',
      ]),
    ], "") +
    `export interface AriOperationParams {\n${params}}\n\n` +
    jsdoc([
      "Decoded response body of each operation, by {@linkcode AriOperationId}",
      "(`void` when Asterisk answers 204, `Uint8Array` for binary downloads,",
      "{@linkcode AriEvent} for the messages of the events WebSocket).",
      "",
      "@example Type a response",
      ...example([
        'import type { AriOperationResult } from "./operations.ts";',
        "",
        'const ping: AriOperationResult["asterisk.ping"] = {',
        '  asterisk_id: "id",',
        '  ping: "pong",',
        '  timestamp: "2024-01-01T00:00:00.000+0000",',
        "};",
        'assert.equal(ping.ping, "pong");',
      ]),
    ], "") +
    `export interface AriOperationResult {\n${results}}\n`;
}

// ---------------------------------------------------------------------------
// Entry points

/**
 * Generates the contents of `client/generated/` from an ARI description.
 *
 * Pure apart from reading `inputDir`: the same input always yields the same
 * bytes.
 *
 * @param inputDir Directory holding `resources.json` and the API declarations;
 *   a relative string resolves against the current working directory.
 * @returns File name (`models.ts`, `events.ts`, `operations.ts`) to file text.
 * @throws {SyntaxError} When a file is not the expected Swagger shape.
 * @throws {TypeError} When a type name cannot be mapped.
 *
 * @example Generate in memory
 * ```ts ignore
 * import { DEFAULT_INPUT_DIR, generate } from "./gen_ari.ts";
 *
 * const files = generate(DEFAULT_INPUT_DIR);
 * console.log([...files.keys()]); // ["models.ts", "events.ts", "operations.ts"]
 * ```
 */
export function generate(inputDir: string | URL): Map<string, string> {
  const ari = readDescription(inputDir);
  return new Map([
    ["models.ts", emitModels(ari)],
    ["events.ts", emitEvents(ari)],
    ["operations.ts", emitOperations(ari)],
  ]);
}

/**
 * Lists files in `outputDir` that carry the generated header but are not in
 * `files` (left over from an earlier generator version).
 */
function staleGeneratedFiles(
  outputDir: URL,
  files: ReadonlyMap<string, string>,
): string[] {
  const stale: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(outputDir)];
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return stale;
    throw error;
  }
  for (const entry of entries) {
    if (!entry.isFile || !entry.name.endsWith(".ts") || files.has(entry.name)) {
      continue;
    }
    const text = Deno.readTextFileSync(new URL(entry.name, outputDir));
    if (text.startsWith(GENERATED_HEADER_PREFIX)) stale.push(entry.name);
  }
  return stale.sort();
}

function readOrUndefined(url: URL): string | undefined {
  try {
    return Deno.readTextFileSync(url);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

const USAGE = `Usage: deno task gen [inputDir] [--out dir] [--check]
       deno task gen --from ARI_URL [--user U --password P] [inputDir]

Generates client/generated/*.ts from the ARI Swagger description.

  inputDir       directory with resources.json and the API declarations
                 (default: tools/ari-api/ in this repository)
  --from URL     first download the description from a running Asterisk
                 (e.g. http://127.0.0.1:8088/ari) into inputDir
  --user U       ARI user for --from (or ARI_USERNAME)
  --password P   ARI password for --from (or ARI_PASSWORD)
  --out dir      output directory (default: client/generated/)
  --check        write nothing; exit 1 when the output is stale
  --help         show this help`;

async function main(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        out: { type: "string" },
        from: { type: "string" },
        user: { type: "string" },
        password: { type: "string" },
        check: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (error) {
    // deno-lint-ignore no-console
    console.error(
      `${error instanceof Error ? error.message : error}\n\n${USAGE}`,
    );
    return 2;
  }
  if (parsed.values.help) {
    // deno-lint-ignore no-console
    console.log(USAGE);
    return 0;
  }
  if (parsed.positionals.length > 1) {
    // deno-lint-ignore no-console
    console.error(`Expected at most one inputDir\n\n${USAGE}`);
    return 2;
  }
  const inputDir = parsed.positionals[0] ?? DEFAULT_INPUT_DIR;
  if (parsed.values.from !== undefined) {
    if (parsed.values.check) {
      // deno-lint-ignore no-console
      console.error(`--from and --check are mutually exclusive\n\n${USAGE}`);
      return 2;
    }
    const username = parsed.values.user ?? Deno.env.get("ARI_USERNAME");
    const password = parsed.values.password ?? Deno.env.get("ARI_PASSWORD");
    try {
      const written = await downloadDescription(parsed.values.from, inputDir, {
        ...(username === undefined ? {} : { username }),
        ...(password === undefined ? {} : { password }),
      });
      // deno-lint-ignore no-console
      console.log(
        `Downloaded ${written.length} description files into ${
          toDirUrl(inputDir).pathname
        }`,
      );
    } catch (error) {
      // deno-lint-ignore no-console
      console.error(error instanceof Error ? error.message : String(error));
      return 1;
    }
  }
  const outputDir = parsed.values.out === undefined
    ? DEFAULT_OUTPUT_DIR
    : toDirUrl(parsed.values.out);
  let files: Map<string, string>;
  try {
    files = generate(inputDir);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    // deno-lint-ignore no-console
    console.error(
      `Cannot generate ARI code: ${error.message}\n\n${USAGE}`,
    );
    return 1;
  }
  const stale = staleGeneratedFiles(outputDir, files);

  if (parsed.values.check) {
    const changed = [...files]
      .filter(([name, text]) =>
        readOrUndefined(new URL(name, outputDir)) !== text
      )
      .map(([name]) => name);
    if (changed.length === 0 && stale.length === 0) return 0;
    // deno-lint-ignore no-console
    console.error(
      `Stale generated files: ${
        [...changed, ...stale].join(", ")
      }; run \`deno task gen\``,
    );
    return 1;
  }
  Deno.mkdirSync(outputDir, { recursive: true });
  for (const [name, text] of files) {
    const url = new URL(name, outputDir);
    if (readOrUndefined(url) !== text) Deno.writeTextFileSync(url, text);
  }
  for (const name of stale) Deno.removeSync(new URL(name, outputDir));
  // deno-lint-ignore no-console
  console.log(
    `Generated ${[...files.keys()].join(", ")} in ${outputDir.pathname}`,
  );
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
