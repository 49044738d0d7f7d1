/**
 * Hostile NATS requests for the proxy, generated from a seed: mutations of
 * every golden request (wrong types, missing and extra fields, renamed
 * fields), ids with `../`, `%2F`, NUL and 10,000 characters, deep JSON
 * nesting, truncations, byte flips, binary garbage, payloads at NATS'
 * `max_payload`, unknown kinds, and random subjects under the prefix.
 *
 * Shared by the fuzz test (`tests/server_fuzz_test.ts`, a few thousand) and
 * the soak runner (`deno task soak`, 100,000 and more). Every case says
 * whether a proxy serves its subject (then exactly one reply is due) or not
 * (then none is).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { HostileRequests } from "./hostile_requests.ts";
 *
 * const gen = await HostileRequests.load({ seed: 1, app: "a", node: "n" });
 * const first = gen.next(0);
 * const again = (await HostileRequests.load({ seed: 1, app: "a", node: "n" })).next(0);
 * assert.deepEqual(first, again);
 * ```
 *
 * @module
 */

type Json = Record<string, unknown>;

/** Small deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
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
export const DANGEROUS: ReadonlySet<string> = new Set([
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

/** Ids that try to leave their resource path, or break it. */
export const NASTY_IDS: readonly string[] = [
  "../asterisk/modules",
  "../../asterisk/info",
  "..",
  ".",
  "%2e%2e",
  "%2e%2e%2fasterisk%2finfo",
  "a%2Fb",
  "%2F",
  "..%2F..%2Fasterisk%2Finfo",
  "a/../../b",
  "x?y=1",
  "x#frag",
  "\u0000",
  "a\u0000b",
  "\\..\\",
  "💥",
  " ",
  "a".repeat(5_000),
  "x".repeat(10_000),
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

const UNKNOWN_KINDS = [
  "Xyzzy",
  "channelanswer",
  "CHANNELANSWER",
  "",
  "__proto__",
  "constructor",
  "toString",
  "ChannelAnswer ",
  "Channel.Answer",
  "k".repeat(10_000),
];

/** NATS' default `max_payload`, bytes. */
export const NATS_MAX_PAYLOAD = 1_048_576;

/** One hostile request. */
export interface HostileCase {
  /** Subject it goes to. */
  subject: string;
  /** Its payload. */
  payload: string | Uint8Array;
  /** Whether a proxy serves the subject (replies due) or not (none). */
  served: boolean;
  /**
   * Replies due: 1 on a direct or `create` subject (a queue group), the
   * number of proxies on a broadcast subject, 0 when unserved.
   */
  replies: number;
  /** What kind of mutation it is (for reports). */
  family: string;
}

/** Options of {@linkcode HostileRequests.load}. */
export interface HostileOptions {
  /** PRNG seed. */
  seed: number;
  /** The proxy's application. */
  app: string;
  /** The proxy's node. */
  node: string;
  /**
   * Subject prefix.
   *
   * @default {"ari."}
   */
  prefix?: string;
  /**
   * Proxies of the application on the NATS cluster: each answers a
   * broadcast (`get`, `data`, `command`).
   *
   * @default {1}
   */
  proxies?: number;
  /**
   * Largest payload to send, bytes (NATS' `max_payload`).
   *
   * @default {NATS_MAX_PAYLOAD}
   */
  maxPayload?: number;
}

const encoder = new TextEncoder();

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
  if (r < 0.1) delete copy[k]; // missing field
  else if (r < 0.2) { // renamed field
    copy[k.toUpperCase()] = v;
    delete copy[k];
  } else if (r < 0.3) { // extra field
    copy[`extra_${Math.floor(rand() * 100)}`] = pick(rand, TYPE_SWAPS);
  } else copy[k] = mutateValue(rand, v, depth + 1);
  return copy;
}

/** Generator of hostile requests (deterministic for a seed). */
export class HostileRequests {
  readonly #base: readonly string[];
  readonly #kinds: readonly string[];
  readonly #rand: () => number;
  readonly #served: readonly string[];
  readonly #prefix: string;
  readonly #maxPayload: number;
  readonly #proxies: number;

  private constructor(
    base: readonly string[],
    kinds: readonly string[],
    options: HostileOptions,
  ) {
    const {
      seed,
      app,
      node,
      prefix = "ari.",
      maxPayload = NATS_MAX_PAYLOAD,
      proxies = 1,
    } = options;
    this.#proxies = proxies;
    this.#base = base;
    this.#kinds = kinds;
    this.#rand = prng(seed);
    this.#prefix = prefix;
    this.#maxPayload = maxPayload;
    this.#served = [
      `${prefix}get`,
      `${prefix}data`,
      `${prefix}command`,
      `${prefix}create`,
      `${prefix}get.${app}`,
      `${prefix}command.${app}.${node}`,
      `${prefix}data.${app}.${node}`,
      `${prefix}create.${app}.${node}`,
    ];
  }

  /**
   * Loads the golden requests and the kind table from `tests/testdata/`.
   *
   * @param options Seed, application, node, prefix.
   * @returns The generator.
   */
  static async load(options: HostileOptions): Promise<HostileRequests> {
    const text = await Deno.readTextFile(
      new URL("./testdata/golden/requests.jsonl", import.meta.url),
    );
    const base = text.trim().split("\n").map((l) => JSON.parse(l))
      .filter((r) => r.kind && !DANGEROUS.has(r.kind))
      .map((r) => r.request_raw as string);
    const kinds = (await Deno.readTextFile(
      new URL("./testdata/kinds.tsv", import.meta.url),
    )).trim().split("\n").slice(1).map((l) => l.split("\t")[0]!)
      .filter((k) => !DANGEROUS.has(k));
    return new HostileRequests(base, kinds, options);
  }

  /** The golden requests mutated (every one in turn). */
  get baseSize(): number {
    return this.#base.length;
  }

  /** Subjects a proxy serves (one reply due). */
  get servedSubjects(): readonly string[] {
    return this.#served;
  }

  /**
   * The `i`-th case (`i` picks the golden request to mutate in turn; the
   * rest comes from the PRNG, so call it with increasing `i`).
   *
   * @param i Case number.
   * @returns The case.
   */
  next(i: number): HostileCase {
    const rand = this.#rand;
    const r = rand();
    if (r < 0.01) {
      // Random subjects under the prefix that no proxy serves.
      const tokens = 1 + Math.floor(rand() * 4);
      const parts = Array.from(
        { length: tokens },
        () => Math.floor(rand() * 1e9).toString(36),
      );
      return {
        subject: `${this.#prefix}${parts.join(".")}`,
        payload: pick(rand, this.#base),
        served: false,
        replies: 0,
        family: "unserved-subject",
      };
    }
    const subject = pick(rand, this.#served);
    const direct = subject.split(".").length - this.#prefix.split(".").length >=
      2;
    const replies = direct || subject.startsWith(`${this.#prefix}create`)
      ? 1
      : this.#proxies;
    const served = (payload: string | Uint8Array, family: string) => ({
      subject,
      payload,
      served: true,
      replies,
      family,
    });
    const raw = this.#base[i % this.#base.length]!;
    if (r < 0.011) return served(this.#maxSized(), "max-payload");
    if (r < 0.13) {
      return served(raw.slice(0, Math.floor(rand() * raw.length)), "truncated");
    }
    if (r < 0.2) {
      const bytes = encoder.encode(raw);
      for (let k = 0; k < 1 + rand() * 4; k++) {
        bytes[Math.floor(rand() * bytes.length)] = Math.floor(rand() * 256);
      }
      return served(bytes, "byte-flips");
    }
    if (r < 0.24) {
      const bytes = new Uint8Array(1 + Math.floor(rand() * 512));
      for (let k = 0; k < bytes.length; k++) {
        bytes[k] = Math.floor(rand() * 256);
      }
      return served(bytes, "binary");
    }
    if (r < 0.27) {
      const depth = 100 + Math.floor(rand() * 20_000);
      return served(
        '{"kind":"ChannelAnswer","key":' + "[".repeat(depth) +
          "]".repeat(depth) + "}",
        "deep-nesting",
      );
    }
    if (r < 0.29) {
      return served(
        pick(rand, ['""', "null", "[]", "42", "true", "{}", "", " "]),
        "other-json",
      );
    }
    if (r < 0.33) {
      return served(
        JSON.stringify({
          kind: pick(rand, UNKNOWN_KINDS),
          key: { kind: "channel", id: "x" },
        }),
        "unknown-kind",
      );
    }
    if (r < 0.43) {
      return served(
        JSON.stringify({
          kind: pick(rand, this.#kinds),
          key: { kind: "channel", id: pick(rand, NASTY_IDS), dialog: "fz" },
        }),
        "nasty-id",
      );
    }
    if (r < 0.48) {
      const body: Json = {
        kind: pick(rand, this.#kinds),
        key: mutateValue(rand, { id: "x" }),
      };
      body[pick(rand, ["channel_play", "bridge_record", "channel_dial", "x"])] =
        mutateValue(rand, { a: 1 });
      return served(JSON.stringify(body), "random-body");
    }
    let mutated: unknown = JSON.parse(raw);
    for (let k = 0; k < 1 + Math.floor(rand() * 3); k++) {
      mutated = mutateValue(rand, mutated);
    }
    return served(JSON.stringify(mutated) ?? "null", "golden-mutation");
  }

  /** A request of exactly `maxPayload` bytes (a huge media list). */
  #maxSized(): string {
    const head = '{"kind":"ChannelPlay","key":{"kind":"channel","id":"' +
      "big" + '"},"channel_play":{"playback_id":"p","media":["sound:';
    const tail = '"]}}';
    return head + "a".repeat(this.#maxPayload - head.length - tail.length) +
      tail;
  }
}

/** A NATS connection that can publish and subscribe (nats.js). */
export interface HostileConnection {
  /** Publishes a message with a reply subject. */
  publish(
    subject: string,
    payload: string | Uint8Array,
    options: { reply: string },
  ): void;
  /** Subscribes with a callback. */
  subscribe(
    subject: string,
    options: {
      callback: (
        error: unknown,
        msg: { subject: string; data: Uint8Array; headers?: unknown },
      ) => void;
    },
  ): { unsubscribe(): void };
  /** Round trip to the server. */
  flush(): Promise<void>;
}

/** Options of {@linkcode sendHostile}. */
export interface SendHostileOptions {
  /** Cases to send. */
  total: number;
  /** Inbox prefix for the replies (`createInbox()`). */
  inbox: string;
  /**
   * Requests in flight at most.
   *
   * @default {200}
   */
  window?: number;
  /**
   * How long to wait for the last replies, ms.
   *
   * @default {60000}
   */
  settleMs?: number;
  /** Called every 1,000 cases (progress, memory samples). */
  onProgress?: (sent: number) => void | Promise<void>;
}

/** What {@linkcode sendHostile} saw. */
export interface HostileResult {
  /** Requests sent. */
  sent: number;
  /** Of those, to subjects a proxy serves. */
  served: number;
  /** Served requests answered exactly once by each proxy due to answer. */
  answeredOnce: number;
  /** Served requests with fewer replies than due. */
  unanswered: number;
  /** Requests with more than one reply, or unserved ones with a reply. */
  extraReplies: number;
  /** Replies that are not a JSON object with a string `error`. */
  malformedReplies: number;
  /**
   * Error replies without a `code` (an imprecise error), other than Go's
   * `{"error":"Not implemented"}` for an unknown kind.
   */
  uncodedErrors: number;
  /** A few error replies without a `code`, for the report. */
  uncodedSamples: string[];
  /** Replies by `code` (`ok` for success). */
  codes: Record<string, number>;
  /** Cases by family. */
  families: Record<string, number>;
  /** First few requests answered other than exactly once (case numbers). */
  wrong: number[];
  /** Wall time, ms. */
  elapsedMs: number;
}

/**
 * Sends `total` hostile requests with a bounded window and checks that each
 * served one is answered exactly once (and each unserved one not at all).
 *
 * @param nc A NATS connection.
 * @param gen The generator.
 * @param options Count, inbox, window.
 * @returns The counts.
 */
export async function sendHostile(
  nc: HostileConnection,
  gen: HostileRequests,
  options: SendHostileOptions,
): Promise<HostileResult> {
  const { total, inbox, window = 200, settleMs = 60_000, onProgress } = options;
  const counts = new Uint8Array(total);
  const expected = new Uint8Array(total);
  const codes: Record<string, number> = {};
  const families: Record<string, number> = {};
  let malformedReplies = 0;
  let uncodedErrors = 0;
  const uncodedSamples: string[] = [];
  let received = 0;
  let wake = Promise.withResolvers<void>();
  const decoder = new TextDecoder();
  const sub = nc.subscribe(`${inbox}.>`, {
    callback: (_error, msg) => {
      if (msg.data.length === 0 && msg.headers !== undefined) return;
      const i = Number(msg.subject.slice(inbox.length + 1));
      if (!(i >= 0 && i < total)) return;
      if (counts[i]! < 255) counts[i]!++;
      received++;
      let code = "unparsable";
      try {
        const reply = JSON.parse(decoder.decode(msg.data));
        if (
          reply === null || typeof reply !== "object" ||
          typeof reply.error !== "string"
        ) {
          malformedReplies++;
        } else if (reply.error === "") {
          code = "ok";
        } else if (typeof reply.code === "string" && reply.code !== "") {
          code = reply.code;
        } else if (reply.error === "Not implemented") {
          // Go ari-proxy's exact reply to an unknown kind (wire-compatible).
          code = "notImplemented";
        } else {
          code = "uncoded";
          uncodedErrors++;
          if (uncodedSamples.length < 5) {
            uncodedSamples.push(String(reply.error).slice(0, 200));
          }
        }
      } catch {
        malformedReplies++;
      }
      codes[code] = (codes[code] ?? 0) + 1;
      wake.resolve();
    },
  });
  const t0 = performance.now();
  let sent = 0;
  let served = 0;
  let due = 0;
  try {
    await nc.flush();
    while (sent < total) {
      while (sent < total && due - received < window) {
        const c = gen.next(sent);
        families[c.family] = (families[c.family] ?? 0) + 1;
        expected[sent] = c.replies;
        if (c.served) served++;
        due += c.replies;
        nc.publish(c.subject, c.payload, { reply: `${inbox}.${sent}` });
        sent++;
        if (sent % 1_000 === 0) await onProgress?.(sent);
      }
      wake = Promise.withResolvers<void>();
      const timer = setTimeout(() => wake.resolve(), 1_000);
      await wake.promise;
      clearTimeout(timer);
    }
    const settleBy = performance.now() + settleMs;
    while (received < due && performance.now() < settleBy) {
      wake = Promise.withResolvers<void>();
      const timer = setTimeout(() => wake.resolve(), 100);
      await wake.promise;
      clearTimeout(timer);
    }
    // Late duplicates.
    await nc.flush();
    await new Promise((resolve) => setTimeout(resolve, 300));
  } finally {
    sub.unsubscribe();
  }
  let answeredOnce = 0;
  let unanswered = 0;
  let extraReplies = 0;
  const wrong: number[] = [];
  for (let i = 0; i < total; i++) {
    const c = counts[i]!;
    const e = expected[i]!;
    if (e > 0) {
      if (c === e) answeredOnce++;
      else if (c < e) unanswered++;
      else extraReplies++;
    } else if (c > 0) extraReplies++;
    if (c !== e && wrong.length < 20) wrong.push(i);
  }
  return {
    sent,
    served,
    answeredOnce,
    unanswered,
    extraReplies,
    malformedReplies,
    uncodedErrors,
    uncodedSamples,
    codes,
    families,
    wrong,
    elapsedMs: Math.round(performance.now() - t0),
  };
}
