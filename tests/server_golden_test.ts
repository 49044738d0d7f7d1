// deno-lint-ignore-file camelcase -- golden corpus field names
/**
 * Replays every request of the golden corpus (captured from Go ari-proxy
 * v5.3.1) as raw NATS messages against our proxy on a real Asterisk, and
 * checks each reply has the shape of the captured Go reply.
 *
 * Adaptation to the live system: the ARI application `golden` becomes the
 * live application and the node `02:00:00:00:60:0d` the live entity id, in
 * subjects, keys and bodies (textually, so the raw bytes of hand-made
 * requests — case-folded field names, invalid JSON — stay as they were).
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  Collector,
  goKinds,
  rawRequest,
  startStack,
  until,
} from "./_server_util.ts";
import type { AsteriskInstance } from "./harness/mod.ts";

const GOLDEN_APP = "golden";
const GOLDEN_NODE = "02:00:00:00:60:0d";

interface GoldenRecord {
  seq: number;
  phase: string;
  step: string;
  kind: string | null;
  subject: string;
  request_raw: string;
  responses_raw?: string[];
  no_reply?: boolean;
  note?: string;
}

async function loadGolden(): Promise<GoldenRecord[]> {
  const text = await Deno.readTextFile(
    new URL(
      "./testdata/golden/requests.jsonl",
      import.meta.url,
    ),
  );
  return text.trim().split("\n").map((line) => JSON.parse(line));
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Rewrites app and node in a subject (token-wise). */
function adaptSubject(subject: string, app: string, node: string): string {
  return subject.split(".").map((token, i) =>
    i === 2 && token === GOLDEN_APP
      ? app
      : i === 3 && token === GOLDEN_NODE
      ? node
      : token
  ).join(".");
}

/** Rewrites app and node in a raw JSON request, keeping its bytes otherwise. */
function adaptBody(raw: string, app: string, node: string): string {
  return raw
    .replace(/"(app|App)":"golden"/g, `"$1":"${app}"`)
    .replace(
      /"kind":"application","id":"golden"/g,
      `"kind":"application","id":"${app}"`,
    )
    .replace(new RegExp(escapeRegExp(GOLDEN_NODE), "g"), node);
}

async function ari(
  ast: AsteriskInstance,
  method: string,
  path: string,
): Promise<number> {
  const res = await fetch(`${ast.httpUrl}${path}`, {
    method,
    headers: { authorization: ast.authorization },
  });
  await res.body?.cancel();
  return res.status;
}

type Json = Record<string, unknown>;

function isObj(v: unknown): v is Json {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Differences between a Go reply and ours, as readable strings. */
function shapeDiff(go: Json, ours: Json): string[] {
  const out: string[] = [];
  const goErr = typeof go.error === "string" ? go.error : "";
  if (typeof ours.error !== "string") out.push("ours has no string error");
  const ourErr = typeof ours.error === "string" ? ours.error : "";
  if ((goErr === "") !== (ourErr === "")) {
    out.push(
      `error: Go ${JSON.stringify(goErr)} vs ours ${JSON.stringify(ourErr)}`,
    );
    return out;
  }
  for (const field of ["data", "key", "keys"]) {
    if ((field in go) !== (field in ours)) {
      out.push(`field ${field}: Go ${field in go} vs ours ${field in ours}`);
    }
  }
  if (isObj(go.data) && isObj(ours.data)) {
    const gm = Object.keys(go.data).sort().join(",");
    const om = Object.keys(ours.data).sort().join(",");
    if (gm !== om) out.push(`data members: Go ${gm} vs ours ${om}`);
    if ("variable" in go.data && go.data.variable !== ours.data.variable) {
      out.push(
        `data.variable: Go ${JSON.stringify(go.data.variable)} vs ours ${
          JSON.stringify(ours.data.variable)
        }`,
      );
    }
    for (const member of Object.keys(go.data)) {
      const g = go.data[member], o = ours.data[member];
      if (isObj(g) && isObj(o) && isObj(g.key)) {
        out.push(...keyDiff(g.key, o.key, `data.${member}.key`));
      }
    }
  }
  if (isObj(go.key)) out.push(...keyDiff(go.key, ours.key, "key"));
  if (Array.isArray(go.keys)) {
    if (!Array.isArray(ours.keys) || ours.keys.length === 0) {
      out.push("keys: Go has a list, ours has none");
    } else {
      const gk = new Set(go.keys.map((k) => (k as Json).kind));
      const ok = new Set(ours.keys.map((k) => (k as Json).kind));
      if ([...gk].sort().join() !== [...ok].sort().join()) {
        out.push(`keys kinds: Go ${[...gk]} vs ours ${[...ok]}`);
      }
      for (const k of ours.keys as Json[]) {
        const g0 = go.keys[0] as Json;
        if (k.app !== g0.app || k.node !== g0.node) {
          out.push(`keys app/node: ${JSON.stringify(k)}`);
          break;
        }
      }
    }
  }
  return out;
}

function keyDiff(go: Json, ours: unknown, where: string): string[] {
  if (!isObj(ours)) return [`${where}: ours missing`];
  const out: string[] = [];
  for (const f of ["kind", "id", "node", "app", "dialog"]) {
    if (go[f] !== ours[f]) {
      out.push(
        `${where}.${f}: Go ${JSON.stringify(go[f])} vs ours ${
          JSON.stringify(ours[f])
        }`,
      );
    }
  }
  return out;
}

/** Entity data fields whose values depend on the run (not compared). */
const VOLATILE_FIELDS = new Set(["creationtime", "use_count", "name"]);

/** Compares primitive entity fields present in both replies. */
function valueDiff(go: Json, ours: Json, app: string): string[] {
  const out: string[] = [];
  if (!isObj(go.data) || !isObj(ours.data)) return out;
  for (const [member, g] of Object.entries(go.data)) {
    const o = ours.data[member];
    if (!isObj(g) || !isObj(o)) continue;
    for (const [field, value] of Object.entries(g)) {
      if (value === null || typeof value === "object") continue;
      if (VOLATILE_FIELDS.has(field) && member === "channel") continue;
      if (field === "use_count" || field === "creationtime") continue;
      if (!(field in o)) continue; // Go adds zero values Asterisk never sent
      const expected = member === "application" && field === "name" &&
          value === GOLDEN_APP
        ? app
        : value;
      if (o[field] !== expected) {
        out.push(
          `data.${member}.${field}: Go ${JSON.stringify(value)} vs ours ${
            JSON.stringify(o[field])
          }`,
        );
      }
    }
  }
  return out;
}

/**
 * Where our reply differs from Go's on purpose (PROTOCOL.md "we"), keyed by
 * golden step; each entry checks our reply instead of the Go shape.
 */
const DEVIATIONS: Record<
  string,
  { reason: string; check: (ours: Json[], go: string | undefined) => void }
> = {
  "raw.invalidJSON": {
    reason: "Go drops invalid JSON silently; we always reply",
    check(ours) {
      assert.equal(ours.length, 1);
      assert.equal(ours[0]!.code, "invalidJson");
      assert.match(String(ours[0]!.error), /malformed JSON/);
    },
  },
  "crash.ChannelHangupNoBody": {
    reason: "Go crashes on a missing body; we reply with an error",
    check(ours) {
      assert.equal(ours.length, 1);
      assert.equal(ours[0]!.code, "missingBody");
      assert.match(String(ours[0]!.error), /channel_hangup/);
    },
  },
  "tone.AsteriskInfo": {
    reason:
      "Go crashed on ChannelToneDetected before this request; we keep serving",
    check(ours) {
      assert.equal(ours.length, 1);
      assert.equal(ours[0]!.error, "");
      assert.ok(isObj((ours[0]!.data as Json)?.asterisk));
    },
  },
  "wrongnode.ChannelData": {
    reason: "a direct subject of another node: nobody answers (as in Go)",
    check(ours) {
      assert.equal(ours.length, 0);
    },
  },
  "wrongapp.AsteriskInfo": {
    reason: "a direct subject of another app: nobody answers (as in Go)",
    check(ours) {
      assert.equal(ours.length, 0);
    },
  },
  "AsteriskLoggingGet": {
    reason:
      "ours finds a logging channel by the short name used at creation; Go only by full path",
    check(ours) {
      assert.equal(ours[0]!.error, "");
      assert.equal((ours[0]!.key as Json).kind, "logging");
    },
  },
  "AsteriskLoggingData": {
    reason: "as AsteriskLoggingGet",
    check(ours) {
      assert.equal(ours[0]!.error, "");
      assert.ok(isObj((ours[0]!.data as Json).log));
    },
  },
  "ChannelStageExternalMedia": {
    reason:
      "the Go client's StageExternalMedia sends ChannelStageOriginate with an external media body; Go fails (OriginateRequest is mandatory), we stage it",
    check(ours) {
      assert.equal(ours[0]!.error, "");
      assert.equal((ours[0]!.key as Json).kind, "channel");
      assert.equal((ours[0]!.key as Json).id, "golden-extmedia-2");
    },
  },
};

/** Modules the harness loads at start that the scenario loads itself. */
const PRELOADED = [
  "res_musiconhold.so",
  "chan_bridge_media.so",
  "func_callerid.so",
  "app_playtones.so",
  "res_tonedetect.so",
  "res_timing_timerfd.so",
];

function eventMentions(m: { json: unknown }, type: string, id: string) {
  const e = m.json as Json;
  if (!isObj(e) || e.type !== type) return false;
  for (const field of ["channel", "playback", "recording", "bridge"]) {
    const entity = e[field];
    if (isObj(entity) && (entity.id === id || entity.name === id)) return true;
  }
  return false;
}

/** Replays the golden corpus through a proxy whose ARI path is `ariTransport`. */
async function replayGolden(ariTransport: "websocket" | "http"): Promise<void> {
  const records = await loadGolden();
  const app = `gl${crypto.randomUUID().slice(0, 6)}`;
  await using stack = await startStack({ asterisk: { app }, ariTransport });
  const { nc, node, ast, proxy } = stack;
  using events = new Collector(nc, `ari.event.${app}.${node}`);
  const logDir = `${ast.dir}/log/`;
  const adapt = (text: string) =>
    adaptBody(text, app, node).replaceAll("/var/log/asterisk/", logDir);

  // Start from the capture's module state.
  for (const module of PRELOADED) {
    const status = await ari(ast, "DELETE", `/asterisk/modules/${module}`);
    assert.ok(status === 204 || status === 404, `unload ${module}: ${status}`);
  }

  const waitEvent = (type: string, id: string, timeout = 8_000) =>
    events.waitFor(
      (ms) => ms.some((m) => eventMentions(m, type, id)),
      timeout,
      `${type} ${id}`,
    );

  /** Waits the scenario's Go client did implicitly (it awaited events). */
  const before: Record<string, () => Promise<void>> = {
    // The recording starts only after the queued playbacks finished.
    "ChannelRecord": async () => {
      for (const pb of ["golden-pb-chan-1", "golden-pb-chan-2"]) {
        await waitEvent("PlaybackFinished", pb, 15_000);
      }
      // The unplayable media starts and fails without PlaybackFinished.
      await waitEvent("PlaybackStarted", "golden-pb-bad", 15_000);
    },
  };

  const kindsSent = new Set<string>();
  const problems: string[] = [];
  const deviations: string[] = [];
  let replies = 0;
  const t0 = performance.now();
  for (const rec of records) {
    await before[rec.step]?.();
    const subject = adaptSubject(rec.subject, app, node);
    const body = adapt(rec.request_raw);
    try {
      const parsed = JSON.parse(body);
      const kind = parsed.kind ?? parsed.Kind;
      if (typeof kind === "string") kindsSent.add(kind);
    } catch {
      // Invalid JSON on purpose.
    }
    const goRaw = rec.responses_raw?.[0];
    const got = await rawRequest(nc, subject, body, {
      timeout: goRaw === undefined ? 1_000 : 10_000,
      settle: 30,
    });
    replies += got.texts.length;
    const label = `#${rec.seq} ${rec.step}`;
    if (got.texts.length > 1) {
      problems.push(`${label}: ${got.texts.length} replies`);
      continue;
    }
    const deviation = DEVIATIONS[rec.step];
    if (deviation !== undefined) {
      try {
        deviation.check(got.json, goRaw);
        deviations.push(`${label}: ${deviation.reason}`);
      } catch (error) {
        problems.push(
          `${label}: ${(error as Error).message}; ours ${got.texts[0]}`,
        );
      }
      continue;
    }
    if (goRaw === undefined) {
      problems.push(`${label}: Go sent no reply and no deviation is listed`);
      continue;
    }
    if (got.texts.length === 0) {
      problems.push(`${label}: no reply (Go: ${goRaw.slice(0, 120)})`);
      continue;
    }
    const go = JSON.parse(adapt(goRaw)) as Json;
    const ours = got.json[0]!;
    const diff = [...shapeDiff(go, ours), ...valueDiff(go, ours, app)];
    if (diff.length > 0) {
      problems.push(
        `${label}: ${diff.join("; ")}\n    ours: ${
          got.texts[0]!.slice(0, 240)
        }`,
      );
    }
    // What the Go scenario waited for before its next step.
    if (ours.error === "") {
      const key = ours.key as Json | undefined;
      if (rec.kind === "ChannelRecord" || rec.kind === "BridgeRecord") {
        await waitEvent("RecordingStarted", String(key?.id));
      }
      if (
        rec.kind === "ChannelOriginate" &&
        /"app":/.test(body) && key?.id !== undefined
      ) {
        // The Go client's next steps ran after the channel entered Stasis.
        await waitEvent("StasisStart", String(key.id), 15_000);
      }
      if (rec.kind === "RecordingLiveStop") {
        await waitEvent("RecordingFinished", String(JSON.parse(body).key.id));
      }
      if (rec.kind === "ChannelHangup") {
        const id = String(JSON.parse(body).key.id);
        await events.waitFor(
          (ms) =>
            ms.some((m) =>
              eventMentions(m, "ChannelDestroyed", id) ||
              eventMentions(m, "StasisEnd", id)
            ),
          8_000,
          `end of ${id}`,
        );
      }
      if (rec.step === "tone.ChannelVariableSet") {
        // An event type unknown to Go (it crashed on it): published as is.
        await waitEvent("ChannelToneDetected", "golden-tone-chan");
      }
    }
    if (rec.step === "astcrash.AsteriskConfigUpdate") {
      // This request crashes Asterisk 22.10.1; emulate if it did not.
      try {
        await until(() => !proxy.isAriConnected(), 5_000, "ARI down");
      } catch {
        await ast.kill();
        await until(() => !proxy.isAriConnected(), 10_000, "ARI down");
      }
    }
  }
  const ms = Math.round(performance.now() - t0);
  // deno-lint-ignore no-console -- test report
  console.log(
    `replayed ${records.length} golden requests in ${ms} ms; ${deviations.length} deliberate deviations:\n  ${
      deviations.join("\n  ")
    }`,
  );
  assert.deepEqual(problems, [], problems.join("\n"));
  assert.ok(!proxy.isAriConnected(), "Asterisk crashed at the end");
  assert.equal(proxy.stats().requests.answered, replies);
  assert.equal(proxy.isClosed(), false);

  // Every kind of kinds.tsv went through the server end to end.
  const missing = (await goKinds()).filter((k) => !kindsSent.has(k));
  assert.deepEqual(missing, []);
}

for (const ariTransport of ["websocket", "http"] as const) {
  Deno.test(
    `startProxy() answers every golden request like Go ari-proxy v5 (ARI over ${ariTransport})`,
    () => replayGolden(ariTransport),
  );
}
