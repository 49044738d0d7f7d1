/**
 * Thousands of malformed requests (deterministic seed): truncations and
 * mutations of golden requests, wrong types, huge strings, deep nesting,
 * binary garbage, path-traversal ids. Every one gets exactly one reply, the
 * server stays up, and memory stays bounded. Also: overload answers.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createInbox } from "@nats-io/transport-node";
import { rawRequest, request, startStack, until } from "./_server_util.ts";

type Json = Record<string, unknown>;

/** Small deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Kinds left out of the mutation base: they change Asterisk itself. */
const DANGEROUS = new Set([
  "AsteriskConfigUpdate",
  "AsteriskConfigDelete",
  "AsteriskModuleLoad",
  "AsteriskModuleUnload",
  "AsteriskModuleReload",
  "AsteriskLoggingCreate",
  "AsteriskLoggingDelete",
  "AsteriskLoggingRotate",
  "ChannelOriginate",
  "ChannelCreate",
  "ChannelExternalMedia",
  "ChannelSnoop",
  "BridgeCreate",
]);

const NASTY_IDS = [
  "../asterisk/modules",
  "../../asterisk/info",
  "..",
  ".",
  "%2e%2e",
  "%2e%2e%2fasterisk%2finfo",
  "a/../../b",
  "x?y=1",
  "x#frag",
  "\u0000",
  "\\..\\",
  "💥",
  " ",
  "a".repeat(5000),
];

const TYPE_SWAPS: unknown[] = [
  null,
  0,
  -1,
  1e308,
  true,
  [],
  [1, "a"],
  {},
  { a: { b: [] } },
  "",
  "x".repeat(100_000),
];

async function loadBase(): Promise<string[]> {
  const text = await Deno.readTextFile(
    new URL("./testdata/golden/requests.jsonl", import.meta.url),
  );
  return text.trim().split("\n").map((l) => JSON.parse(l))
    .filter((r) => r.kind && !DANGEROUS.has(r.kind))
    .map((r) => r.request_raw as string);
}

function pick<T>(rand: () => number, list: readonly T[]): T {
  return list[Math.floor(rand() * list.length)]!;
}

/** Replaces one random value somewhere in a JSON tree. */
function mutateValue(rand: () => number, value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== "object" || depth > 6) {
    return rand() < 0.5 ? pick(rand, TYPE_SWAPS) : pick(rand, NASTY_IDS);
  }
  if (Array.isArray(value)) {
    if (value.length === 0) return [pick(rand, TYPE_SWAPS)];
    const copy = value.slice();
    const i = Math.floor(rand() * copy.length);
    copy[i] = mutateValue(rand, copy[i], depth + 1);
    return copy;
  }
  const entries = Object.entries(value as Json);
  if (entries.length === 0) return pick(rand, TYPE_SWAPS);
  const copy: Json = { ...(value as Json) };
  const [k, v] = pick(rand, entries);
  const r = rand();
  if (r < 0.1) delete copy[k];
  else if (r < 0.2) {
    copy[k.toUpperCase()] = v;
    delete copy[k];
  } else copy[k] = mutateValue(rand, v, depth + 1);
  return copy;
}

const encoder = new TextEncoder();

function fuzzCase(
  rand: () => number,
  base: readonly string[],
  kinds: readonly string[],
): string | Uint8Array {
  const raw = pick(rand, base);
  const r = rand();
  if (r < 0.15) return raw.slice(0, Math.floor(rand() * raw.length)); // truncation
  if (r < 0.25) { // byte flips
    const bytes = encoder.encode(raw);
    for (let i = 0; i < 1 + rand() * 4; i++) {
      bytes[Math.floor(rand() * bytes.length)] = Math.floor(rand() * 256);
    }
    return bytes;
  }
  if (r < 0.3) { // binary garbage
    const bytes = new Uint8Array(1 + Math.floor(rand() * 512));
    for (let i = 0; i < bytes.length; i++) {
      bytes[i] = Math.floor(rand() * 256);
    }
    return bytes;
  }
  if (r < 0.33) { // deep nesting
    const depth = 100 + Math.floor(rand() * 20_000);
    return '{"kind":"ChannelAnswer","key":' + "[".repeat(depth) +
      "]".repeat(depth) + "}";
  }
  if (r < 0.36) { // other JSON values
    return pick(rand, ['""', "null", "[]", "42", "true", "{}", "", " "]);
  }
  if (r < 0.45) { // a path-traversal id on a random kind
    const kind = pick(rand, kinds);
    return JSON.stringify({
      kind,
      key: { kind: "channel", id: pick(rand, NASTY_IDS), dialog: "fz" },
    });
  }
  if (r < 0.5) { // random kind, random body fields
    const kind = pick(rand, kinds);
    const body: Json = { kind, key: mutateValue(rand, { id: "x" }) };
    body[pick(rand, ["channel_play", "bridge_record", "channel_dial", "x"])] =
      mutateValue(rand, { a: 1 });
    return JSON.stringify(body);
  }
  // structural mutation of a golden request
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return raw;
  }
  let mutated = parsed;
  for (let i = 0; i < 1 + Math.floor(rand() * 3); i++) {
    mutated = mutateValue(rand, mutated);
  }
  const text = JSON.stringify(mutated) ?? "null";
  return text;
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

Deno.test("startProxy() answers 5,000 malformed requests exactly once each and stays up", async () => {
  await using stack = await startStack({
    asterisk: { app: `fz${crypto.randomUUID().slice(0, 6)}` },
    proxy: { maxDialogEntities: 500 },
  });
  const { nc, proxy, node, app } = stack;
  const base = await loadBase();
  const kinds = (await Deno.readTextFile(
    new URL("./testdata/kinds.tsv", import.meta.url),
  )).trim().split("\n").slice(1).map((l) => l.split("\t")[0]!)
    .filter((k) => !DANGEROUS.has(k));
  const subjects = [
    "ari.get",
    "ari.data",
    "ari.command",
    "ari.create",
    `ari.get.${app}`,
    `ari.command.${app}.${node}`,
    `ari.data.${app}.${node}`,
    `ari.create.${app}.${node}`,
  ];

  // Path traversal never reaches another ARI resource.
  for (const id of NASTY_IDS.slice(0, 8)) {
    const reply = await request(nc, "ari.data", {
      kind: "ChannelData",
      key: { kind: "channel", id },
    });
    assert.notEqual(reply.error, "", `ChannelData ${JSON.stringify(id)}`);
    assert.equal(reply.data, undefined);
  }

  const total = 5_000;
  const window = 200;
  const rand = prng(0xa11ce);
  const prefix = createInbox();
  const counts = new Uint16Array(total);
  const codes = new Map<string, number>();
  let received = 0;
  let progress = Promise.withResolvers<void>();
  const sub = nc.subscribe(`${prefix}.>`, {
    callback: (_err, msg) => {
      if (msg.data.length === 0 && msg.headers !== undefined) return;
      const i = Number(msg.subject.slice(prefix.length + 1));
      counts[i]!++;
      received++;
      try {
        const reply = JSON.parse(new TextDecoder().decode(msg.data));
        const code = reply.error === "" ? "ok" : String(reply.code ?? "go");
        codes.set(code, (codes.get(code) ?? 0) + 1);
      } catch {
        codes.set("unparsable", (codes.get("unparsable") ?? 0) + 1);
      }
      progress.resolve();
    },
  });
  await nc.flush();

  const send = (i: number) => {
    const payload = fuzzCase(rand, base, kinds);
    nc.publish(pick(rand, subjects), payload, { reply: `${prefix}.${i}` });
  };
  // Warm up, then measure memory over the bulk.
  const warm = 500;
  const t0 = performance.now();
  let sent = 0;
  const pump = async (upTo: number) => {
    while (sent < upTo) {
      while (sent < upTo && sent - received < window) send(sent++);
      progress = Promise.withResolvers<void>();
      const timer = setTimeout(() => progress.resolve(), 1_000);
      await progress.promise;
      clearTimeout(timer);
    }
    await until(() => received >= upTo, 60_000, `${upTo} replies`);
  };
  await pump(warm);
  gc();
  const heapBefore = Deno.memoryUsage().heapUsed;
  await pump(total);
  await new Promise((r) => setTimeout(r, 500)); // late duplicates
  gc();
  const heapAfter = Deno.memoryUsage().heapUsed;
  const ms = Math.round(performance.now() - t0);
  sub.unsubscribe();

  const wrong = [...counts].map((c, i) => [i, c]).filter(([, c]) => c !== 1);
  assert.deepEqual(wrong, [], "every request answered exactly once");
  // deno-lint-ignore no-console -- test report
  console.log(
    `fuzz: ${total} requests in ${ms} ms; replies by code ${
      JSON.stringify(Object.fromEntries(codes))
    }; heap ${(heapBefore / 1e6).toFixed(1)} → ${
      (heapAfter / 1e6).toFixed(1)
    } MB`,
  );
  assert.ok(
    heapAfter - heapBefore < 50e6,
    `heap grew ${((heapAfter - heapBefore) / 1e6).toFixed(1)} MB`,
  );
  const stats = proxy.stats();
  assert.equal(stats.requests.active, 0);
  assert.equal(stats.requests.queued, 0);
  assert.ok(stats.dialogs.entities <= 500, JSON.stringify(stats.dialogs));
  assert.ok(proxy.isAriConnected());
  assert.equal(proxy.isClosed(), false);
  // Still serving.
  const info = await request(
    nc,
    "ari.data",
    '{"kind":"AsteriskInfo","key":{}}',
  );
  assert.equal(info.error, "");
});

Deno.test("startProxy() answers beyond maxConcurrency + maxQueued with an overload error", async () => {
  await using stack = await startStack({
    asterisk: { app: `ov${crypto.randomUUID().slice(0, 6)}` },
    proxy: { maxConcurrency: 2, maxQueued: 3 },
  });
  const { nc, proxy } = stack;
  const prefix = createInbox();
  const replies: Json[] = [];
  const sub = nc.subscribe(`${prefix}.>`, {
    callback: (_err, msg) => {
      replies.push(JSON.parse(new TextDecoder().decode(msg.data)));
    },
  });
  await nc.flush();
  const n = 300;
  for (let i = 0; i < n; i++) {
    nc.publish("ari.get", '{"kind":"AsteriskModuleList","key":{}}', {
      reply: `${prefix}.${i}`,
    });
  }
  await until(() => replies.length >= n, 30_000, `${n} replies`);
  await new Promise((r) => setTimeout(r, 200));
  sub.unsubscribe();
  assert.equal(replies.length, n);
  const overloaded = replies.filter((r) => r.code === "overloaded");
  assert.ok(overloaded.length > 0, "some requests were refused");
  assert.ok(replies.length - overloaded.length >= 5, "some were served");
  assert.deepEqual(overloaded[0], {
    error: "Proxy overloaded: too many requests in flight",
    code: "overloaded",
  });
  assert.equal(proxy.stats().requests.overloaded, overloaded.length);
  // Capacity comes back once the burst is over.
  const reply = await rawRequest(
    nc,
    "ari.data",
    '{"kind":"AsteriskInfo","key":{}}',
  );
  assert.equal(reply.json[0]!.error, "");
});
