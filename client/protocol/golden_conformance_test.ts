/**
 * Conformance against the golden corpus captured from Go ari-proxy v5.3.1
 * (`tests/testdata/golden/`): every request, response, event,
 * announcement and ping in it.
 */

import assert from "node:assert/strict";
import { ProtocolError, type ProtocolErrorCode } from "../errors.ts";
import {
  decodeAnnouncement,
  decodeEvent,
  decodeRequest,
  decodeResponse,
  encodeAnnouncement,
  encodeRequest,
  encodeResponse,
  errorResponse,
  NOT_IMPLEMENTED,
} from "./codec.ts";
import { eventKeys } from "./event_keys.ts";
import { isKindName, KIND_TABLE } from "./kinds.ts";
import { parseEventSubject, parseRequestSubject } from "./subjects.ts";

const GOLDEN = new URL("../../tests/testdata/golden/", import.meta.url);

function readLines(name: string): Record<string, unknown>[] {
  const url = new URL(name, GOLDEN);
  let text: string;
  try {
    text = Deno.readTextFileSync(url);
  } catch (err) {
    throw new Error(
      `Cannot read golden file ${url.pathname}: the golden corpus is tests/testdata/golden/ in the repository (${
        String(err)
      })`,
    );
  }
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  assert.ok(lines.length > 0, `golden file ${name} is empty`);
  return lines.map((l, i) => {
    try {
      return JSON.parse(l) as Record<string, unknown>;
    } catch (err) {
      throw new Error(`${name}:${i + 1} is not JSON: ${String(err)}`);
    }
  });
}

/** Requests in the corpus that must be rejected, by step, with the code. */
const EXPECTED_ERRORS: Record<string, ProtocolErrorCode> = {
  "raw.invalidJSON": "invalidJson",
  "raw.unknownKind": "unknownKind",
  "raw.unknownKind.direct": "unknownKind",
  "raw.emptyKind": "unknownKind",
  "crash.ChannelHangupNoBody": "missingBody",
  // Go answers "channel key not supplied" to both.
  "nilkey.ChannelData": "missingKey",
  "raw.nullKey.ChannelData": "missingKey",
};

/**
 * Go's view of a JSON value for comparison: zero values (`""`, `0`, `false`,
 * `null`, empty arrays and objects) dropped, as Go fills them in anyway.
 */
function zeroNormalize(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.length === 0 ? undefined : value.map((v) => zeroNormalize(v));
  }
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const n = zeroNormalize(v);
      if (n !== undefined) out[k] = n;
    }
    return Object.keys(out).length === 0 ? undefined : out;
  }
  if (value === "" || value === 0 || value === false || value === null) {
    return undefined;
  }
  return value;
}

/** Go's `encoding/json` HTML escaping, to compare our bytes with Go's. */
function goEscape(json: string): string {
  return json.replaceAll("<", "\\u003c").replaceAll(">", "\\u003e")
    .replaceAll("&", "\\u0026").replaceAll("\u2028", "\\u2028")
    .replaceAll("\u2029", "\\u2029");
}

const requests = readLines("requests.jsonl");

/** Hand-made request bytes (not sent by the Go client package). */
function isRawRequest(line: Record<string, unknown>): boolean {
  return String(line.go_client_result).startsWith("raw request");
}

Deno.test("decodeRequest() accepts every golden request and rejects only the broken ones", () => {
  assert.ok(requests.length >= 280, `only ${requests.length} requests`);
  const seenErrors = new Set<string>();
  for (const line of requests) {
    const step = String(line.step);
    const decoded = decodeRequest(String(line.request_raw));
    const expected = EXPECTED_ERRORS[step];
    if (expected !== undefined) {
      assert.ok(!decoded.ok, `${step} should fail with ${expected}`);
      assert.ok(decoded.error instanceof ProtocolError);
      assert.equal(decoded.error.code, expected, step);
      seenErrors.add(step);
      continue;
    }
    assert.ok(
      decoded.ok,
      `${step}: ${decoded.ok ? "" : decoded.error.message}`,
    );
    // The kind the corpus names (case-insensitively decoded by the capture).
    const wireKind = String(line.kind);
    if (decoded.rewrittenFrom !== undefined) {
      assert.equal(wireKind, "ChannelStageOriginate", step);
      assert.equal(decoded.request.kind, "ChannelStageExternalMedia", step);
    } else {
      assert.equal(decoded.request.kind, wireKind, step);
    }
  }
  assert.deepEqual([...seenErrors].sort(), Object.keys(EXPECTED_ERRORS).sort());
});

Deno.test("decodeRequest() errors on golden requests match what Go answered", () => {
  for (const line of requests) {
    const step = String(line.step);
    if (EXPECTED_ERRORS[step] === undefined) continue;
    const decoded = decodeRequest(String(line.request_raw));
    assert.ok(!decoded.ok);
    const goReplies = (line.responses_raw ?? []) as string[];
    if (goReplies.length === 0) continue; // Go stayed silent (bad JSON, crash)
    const goError = decodeResponse(goReplies[0] as string).error;
    assert.notEqual(goError, "", step);
    if (goError === NOT_IMPLEMENTED) {
      assert.equal(decoded.notImplemented, true, step);
      assert.equal(errorResponse(decoded.error).error, NOT_IMPLEMENTED, step);
    } else {
      assert.ok(
        decoded.error.message.endsWith(goError),
        `${step}: "${decoded.error.message}" vs Go "${goError}"`,
      );
    }
  }
});

Deno.test("encodeRequest() re-encodes golden requests to the values Go decoded", () => {
  let compared = 0;
  for (const line of requests) {
    const step = String(line.step);
    const decoded = decodeRequest(String(line.request_raw));
    if (!decoded.ok) continue;
    const wire = encodeRequest(decoded.request);
    assert.ok(
      wire.startsWith(`{"kind":"${decoded.request.kind}","key":{`),
      `${step}: ${wire}`,
    );
    // Our decoder (Go's case-insensitive rules) reads back the same values.
    const again = decodeRequest(wire);
    assert.ok(again.ok, step);
    assert.deepEqual(again.request, decoded.request, step);
    // Requests the Go client sent: the same values as its bytes, up to
    // zero values (Go fills those in) and the StageExternalMedia kind rewrite.
    if (!isRawRequest(line)) {
      const captured = JSON.parse(String(line.request_raw));
      if (decoded.rewrittenFrom !== undefined) {
        captured.kind = decoded.request.kind;
      }
      assert.deepEqual(
        zeroNormalize(JSON.parse(wire)),
        zeroNormalize(captured),
        step,
      );
      compared++;
    }
  }
  assert.ok(compared > 250, `only ${compared} compared`);
});

Deno.test("decodeRequest() covers every Go kind of kinds.tsv, and the corpus covers the Go kinds", () => {
  const tsv = Deno.readTextFileSync(new URL("../kinds.tsv", GOLDEN)).trim()
    .split("\n").slice(1).map((l) => l.split("\t"));
  assert.equal(tsv.length, 111);
  const inCorpus = new Set(requests.map((l) => String(l.kind)));
  for (const [kind, cls, body] of tsv) {
    assert.ok(kind && isKindName(kind), `${kind} missing from KIND_TABLE`);
    const info = KIND_TABLE[kind];
    assert.equal(info.class, cls, kind);
    assert.equal(info.extension, false, kind);
    if (body !== "-") assert.equal(info.body, body, kind);
    if (!kind.startsWith("Mailbox")) {
      assert.ok(
        inCorpus.has(kind) || kind === "ChannelStageExternalMedia",
        `${kind} not in corpus`,
      );
    }
  }
});

Deno.test("request subjects in the corpus parse and match the kind's class or a raw class", () => {
  for (const line of requests) {
    const parsed = parseRequestSubject("ari.", String(line.subject));
    assert.ok(parsed, String(line.subject));
    assert.equal(parsed.class, line.class);
    const kind = String(line.kind);
    if (isKindName(kind) && !isRawRequest(line)) {
      const expected = kind === "ChannelStageOriginate"
        ? "create"
        : KIND_TABLE[kind].class;
      assert.equal(parsed.class, expected, String(line.step));
    }
  }
});

Deno.test("decodeResponse() reads every golden response and encodeResponse() reproduces Go's bytes", () => {
  let count = 0;
  for (const line of requests) {
    const parsedList = (line.responses ?? []) as Record<string, unknown>[];
    const rawList = (line.responses_raw ?? []) as string[];
    assert.equal(parsedList.length, rawList.length);
    rawList.forEach((raw, i) => {
      const response = decodeResponse(raw);
      const parsed = parsedList[i] as Record<string, unknown>;
      assert.equal(response.error, parsed.error);
      const keys = (parsed.keys ?? []) as unknown[];
      assert.equal(response.keys?.length ?? 0, keys.length);
      assert.equal(response.key !== undefined, parsed.key != null);
      assert.equal(response.data !== undefined, parsed.data != null);
      assert.equal(goEscape(encodeResponse(response)), raw, String(line.step));
      count++;
    });
  }
  assert.ok(count >= 280, `only ${count} responses`);
});

Deno.test("decodeResponse() keeps Go's untagged config data", () => {
  const line = requests.find((l) =>
    l.step === "AsteriskConfigData" &&
    ((l.responses_raw ?? []) as string[]).length === 1
  );
  assert.ok(line);
  const response = decodeResponse(
    (line.responses_raw as string[])[0] as string,
  );
  const config = response.data?.config;
  assert.ok(config);
  assert.equal(typeof config.Class, "string");
  assert.equal(typeof config.Type, "string");
  assert.equal(typeof config.Name, "string");
  assert.ok(Array.isArray(config.Fields));
});

/** Event types that name no entity (no key expected). */
const NO_ENTITY = new Set(["MissingParams", "RESTResponse"]);

Deno.test("decodeEvent() and eventKeys() handle every golden event, proxied and raw", () => {
  const types = new Set<string>();
  for (const line of readLines("events.jsonl")) {
    const event = decodeEvent(String(line.event_raw));
    assert.equal(event.type, line.type);
    types.add(event.type);
    const subject = parseEventSubject("ari.", String(line.subject));
    assert.ok(subject, String(line.subject));
    if (subject.type === "event") {
      assert.equal(subject.app, event.application);
      assert.equal(subject.node, event.asterisk_id);
    } else {
      assert.equal(subject.dialog, event.dialog);
    }
    const keys = eventKeys(event);
    if (!NO_ENTITY.has(event.type)) {
      assert.ok(keys.length > 0, `${event.type} has no keys`);
    }
    for (const key of keys) {
      assert.ok(key.kind && key.id, JSON.stringify(key));
      assert.equal(key.app, event.application);
      assert.equal(key.node, event.asterisk_id);
      assert.equal(key.dialog, event.dialog);
    }
  }
  for (const line of readLines("raw_vs_proxied.jsonl")) {
    const raw = decodeEvent(String(line.raw_raw));
    assert.equal(raw.type, line.type);
    types.add(raw.type);
    const rawKeys = eventKeys(raw);
    if (!NO_ENTITY.has(raw.type)) {
      assert.ok(rawKeys.length > 0, `${raw.type} has no keys`);
    }
    for (const field of ["proxied_raw", "proxied_equivalent_raw"]) {
      if (typeof line[field] !== "string") continue;
      const proxied = decodeEvent(line[field] as string);
      assert.equal(proxied.type, raw.type);
      // Both shapes name the same entities.
      assert.deepEqual(
        eventKeys(proxied).map((k) => `${k.kind}:${k.id}`),
        rawKeys.map((k) => `${k.kind}:${k.id}`),
        raw.type,
      );
    }
    for (
      const copy of (line.dialog_copies ?? []) as Record<string, unknown>[]
    ) {
      const event = decodeEvent(String(copy.event_raw));
      const subject = parseEventSubject("ari.", String(copy.subject));
      assert.ok(subject?.type === "dialog" && event.dialog === subject.dialog);
      assert.ok(eventKeys(event).every((k) => k.dialog === event.dialog));
    }
  }
  // ApplicationReplaced (no entity for Go) gets our application key.
  assert.ok(types.has("ApplicationReplaced"));
  assert.ok(types.has("ChannelToneDetected"));
});

Deno.test("decodeEvent() turns Go's re-encoding back into Asterisk's shape", () => {
  const subset = (
    a: unknown,
    b: unknown,
    path: string,
    out: string[],
  ): void => {
    if (typeof a !== "object" || a === null || Array.isArray(a)) return;
    for (const [k, v] of Object.entries(a)) {
      const other = (b as Record<string, unknown> | null)?.[k];
      if (typeof b !== "object" || b === null || !(k in b)) {
        out.push(`${path}.${k}`);
      } else subset(v, other, `${path}.${k}`, out);
    }
  };
  for (const line of readLines("raw_vs_proxied.jsonl")) {
    if (typeof line.proxied_raw !== "string") continue;
    const proxied = decodeEvent(line.proxied_raw);
    const raw = decodeEvent(String(line.raw_raw));
    const extra: string[] = [];
    subset(proxied, raw, "", extra);
    // Go adds `soft:false` (an ARI field Asterisk omits when false).
    assert.deepEqual(extra.filter((p) => p !== ".soft"), [], raw.type);
  }
});

Deno.test("decodeAnnouncement() and decodeRequest() read every golden announce and ping", () => {
  let announces = 0;
  let pings = 0;
  for (const line of readLines("announce_ping.jsonl")) {
    if (typeof line.raw !== "string") continue; // the "no announce" note
    if (line.subject === "ari.announce") {
      const body = line.body as Record<string, string>;
      const announcement = decodeAnnouncement(line.raw);
      assert.deepEqual(announcement, {
        node: body.node,
        asterisk: body.node,
        application: body.application,
      });
      assert.deepEqual(
        decodeAnnouncement(encodeAnnouncement(announcement)),
        announcement,
      );
      announces++;
    } else {
      assert.equal(line.subject, "ari.ping");
      assert.equal(decodeAnnouncement(line.raw), null);
      // A ping read as a request is an empty kind: Go answers "Not implemented".
      const decoded = decodeRequest(line.raw);
      assert.ok(!decoded.ok);
      assert.equal(decoded.error.code, "unknownKind");
      assert.equal(decoded.notImplemented, true);
      pings++;
    }
  }
  assert.ok(announces >= 4 && pings >= 4);
});
