/**
 * A hostile ARI: a fake server on loopback that answers the REST client and
 * the events socket with broken HTTP — malformed status lines, headers past
 * the limits, bad chunk sizes, truncated bodies, responses that never
 * finish, bodies that never end — and a WebSocket that sends garbage, broken
 * frames and enormous frames. Tested through the interfaces the proxy uses
 * (`createAriRestClient`, `openAriEventStream`), with every `fetch` the
 * proxy may run on: each call ends in a typed error within its timeout,
 * memory stays bounded, and the client works again once ARI is sane.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  AriHttpError,
  ClosedConnectionError,
  ConnectionError,
  ProtocolError,
  TimeoutError,
} from "../client/errors.ts";
import {
  type AriEventObject,
  openAriEventStream,
  type StreamStatus,
} from "../client/native/events_socket.ts";
import { createAriRestClient, type FetchLike } from "../client/native/rest.ts";
import { waitFor } from "./harness/mod.ts";

const encoder = new TextEncoder();

/** The `fetch` implementations the proxy may use for ARI calls. */
const FETCHES: Record<string, () => FetchLike | undefined> = {
  "Deno's fetch": () => undefined,
};

/** What the hostile server does for a path (after reading the request head). */
type Behaviour = (conn: Deno.Conn, signal: AbortSignal) => Promise<void>;

const SANE_BODY = '{"system":{"entity_id":"sane"}}';

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

async function write(conn: Deno.Conn, text: string | Uint8Array) {
  const bytes = typeof text === "string" ? encoder.encode(text) : text;
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

/** Hostile REST answers, by path. */
const BEHAVIOURS: Record<string, Behaviour> = {
  "/ari/sane": (c) =>
    write(
      c,
      `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${SANE_BODY.length}\r\n\r\n${SANE_BODY}`,
    ),
  "/ari/garbage-status": (c) => write(c, "HTTX/9 banana\r\n\r\n"),
  "/ari/no-status-code": (c) =>
    write(c, "HTTP/1.1 OK\r\nContent-Length: 0\r\n\r\n"),
  "/ari/binary-junk": (c) =>
    write(c, new Uint8Array(256).map((_, i) => (i * 37) & 0xff)),
  "/ari/huge-header": (c) =>
    write(c, `HTTP/1.1 200 OK\r\nX-Big: ${"a".repeat(1_000_000)}\r\n\r\n`),
  "/ari/many-headers": (c) =>
    write(
      c,
      "HTTP/1.1 200 OK\r\n" +
        Array.from({ length: 20_000 }, (_, i) => `X-H${i}: v\r\n`).join("") +
        "Content-Length: 2\r\n\r\n{}",
    ),
  "/ari/bad-chunk-size": (c) =>
    write(
      c,
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
    ),
  "/ari/huge-chunk-size": (c) =>
    write(
      c,
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n{}",
    ),
  "/ari/truncated-body": (c) =>
    write(
      c,
      'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":',
    ),
  "/ari/truncated-chunked": (c) =>
    write(
      c,
      'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n{"a":',
    ),
  "/ari/not-json": (c) =>
    write(
      c,
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\n{{{{{",
    ),
  "/ari/error-status": (c) =>
    write(
      c,
      'HTTP/1.1 500 Oops\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n{"message":"bad"}',
    ),
  "/ari/never-answers": async (_c, signal) => {
    await sleep(60_000, signal);
  },
  "/ari/never-finishes": async (c, signal) => {
    await write(
      c,
      'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"a":"',
    );
    // Trickle: a byte every 50 ms, never reaching the length in time.
    while (!signal.aborted) {
      await write(c, "a");
      await sleep(50, signal);
    }
  },
  "/ari/endless-body": async (c, signal) => {
    await write(
      c,
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
    );
    const chunk = encoder.encode(`10000\r\n${"a".repeat(0x10000)}\r\n`);
    // As fast as the client reads, until the client gives up.
    while (!signal.aborted) await write(c, chunk);
  },
  "/ari/close-at-once": (c) => Promise.resolve(c.close()),
};

interface HostileServer extends AsyncDisposable {
  port: number;
  url: string;
}

/** Reads one request head; returns its path (or undefined at EOF). */
async function readHead(conn: Deno.Conn): Promise<string | undefined> {
  const buf = new Uint8Array(16_384);
  let text = "";
  while (!text.includes("\r\n\r\n")) {
    const n = await conn.read(buf);
    if (n === null) return undefined;
    text += new TextDecoder().decode(buf.subarray(0, n));
    if (text.length > 65_536) return undefined;
  }
  const head = text.slice(0, text.indexOf("\r\n\r\n"));
  const length = /content-length:\s*(\d+)/i.exec(head);
  let body = text.length - head.length - 4;
  while (length && body < Number(length[1])) {
    const n = await conn.read(buf);
    if (n === null) return undefined;
    body += n;
  }
  return head.split(" ")[1]?.split("?")[0];
}

function startHostileServer(): HostileServer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const controller = new AbortController();
  const conns = new Set<Deno.Conn>();
  const tasks = new Set<Promise<void>>();
  const serve = async (conn: Deno.Conn) => {
    conns.add(conn);
    try {
      // Keep-alive: one behaviour per request until the connection ends.
      while (!controller.signal.aborted) {
        const path = await readHead(conn);
        if (path === undefined) break;
        const behaviour = BEHAVIOURS[path] ?? BEHAVIOURS["/ari/error-status"]!;
        await behaviour(conn, controller.signal);
        if (path !== "/ari/sane" && path !== "/ari/error-status") break;
      }
    } catch {
      // The client hung up.
    } finally {
      conns.delete(conn);
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    }
  };
  const loop = (async () => {
    try {
      for await (const conn of listener) {
        const task = serve(conn);
        tasks.add(task);
        task.finally(() => tasks.delete(task));
      }
    } catch {
      // Closed.
    }
  })();
  const port = (listener.addr as Deno.NetAddr).port;
  return {
    port,
    url: `http://127.0.0.1:${port}/ari`,
    async [Symbol.asyncDispose]() {
      controller.abort();
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch {
          // Already closed.
        }
      }
      await loop;
      await Promise.all([...tasks]);
    },
  };
}

const TYPED = [
  AriHttpError,
  TimeoutError,
  ConnectionError,
  ClosedConnectionError,
  ProtocolError,
];

/** Grace beyond a call's timeout on a loaded machine, ms. */
const GRACE_MS = 1_500;

for (const [fetchName, makeFetch] of Object.entries(FETCHES)) {
  Deno.test(`createAriRestClient() (${fetchName}) ends every call to a hostile ARI in a typed error within its timeout, and works once ARI is sane`, async () => {
    await using server = startHostileServer();
    const fetch = makeFetch();
    const timeout = 1_000;
    await using ari = createAriRestClient({
      url: server.url,
      username: "u",
      password: "p",
      timeout,
      ...(fetch ? { fetch } : {}),
    });
    const outcomes: Record<string, string> = {};
    const rssBefore = Deno.memoryUsage().rss;
    let rssPeak = rssBefore;
    for (let round = 0; round < 3; round++) {
      for (const path of Object.keys(BEHAVIOURS)) {
        if (path === "/ari/sane") continue;
        const start = performance.now();
        const result = await ari.request("GET", path.slice(4)).then(
          (value) => ({ value }),
          (error: unknown) => ({ error }),
        );
        const took = performance.now() - start;
        assert.ok(
          "error" in result,
          `${path}: resolved ${JSON.stringify(result)}`,
        );
        const error = result.error;
        assert.ok(
          TYPED.some((cls) => error instanceof cls),
          `${path}: untyped ${
            error instanceof Error ? error.name : typeof error
          }: ${error}`,
        );
        assert.ok(
          took <= timeout + GRACE_MS,
          `${path}: took ${Math.round(took)} ms`,
        );
        outcomes[path] = (error as Error).name;
        rssPeak = Math.max(rssPeak, Deno.memoryUsage().rss);
        // Sane again: the same client answers.
        const sane = await ari.request("GET", "/sane") as {
          system: { entity_id: string };
        };
        assert.equal(sane.system.entity_id, "sane", path);
      }
    }
    // deno-lint-ignore no-console -- test report
    console.log(
      `${fetchName}: ${JSON.stringify(outcomes)}; rss ${
        (rssBefore / 2 ** 20).toFixed(0)
      } → peak ${(rssPeak / 2 ** 20).toFixed(0)} MiB`,
    );
    assert.equal(outcomes["/ari/never-answers"], "TimeoutError");
    assert.equal(outcomes["/ari/never-finishes"], "TimeoutError");
    assert.equal(outcomes["/ari/error-status"], "AriHttpError");
    assert.ok(
      rssPeak - rssBefore < 256 * 2 ** 20,
      `rss grew ${((rssPeak - rssBefore) / 2 ** 20).toFixed(0)} MiB`,
    );
  });
}

/** The RFC 6455 accept value of a key. */
async function acceptKey(key: string): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-1",
    encoder.encode(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC11B85`),
  );
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

/** An unmasked server frame. */
function frame(opcode: number, payload: Uint8Array, fin = true): Uint8Array {
  const len = payload.length;
  const head = len < 126 ? 2 : len < 65_536 ? 4 : 10;
  const out = new Uint8Array(head + len);
  out[0] = (fin ? 0x80 : 0) | opcode;
  if (len < 126) out[1] = len;
  else if (len < 65_536) {
    out[1] = 126;
    new DataView(out.buffer).setUint16(2, len);
  } else {
    out[1] = 127;
    new DataView(out.buffer).setBigUint64(2, BigInt(len));
  }
  out.set(payload, head);
  return out;
}

function text(value: string): Uint8Array {
  return frame(0x1, encoder.encode(value));
}

function event(seq: number): string {
  return JSON.stringify({
    type: "StasisStart",
    application: "app",
    asterisk_id: "a",
    timestamp: "2026-01-01T00:00:00.000+0000",
    channel: { id: `c${seq}` },
    args: [],
    seq,
  });
}

/** What the hostile events server sends on the n-th connection. */
type WsScript = (conn: Deno.Conn, signal: AbortSignal) => Promise<void>;

const WS_SCRIPTS: Record<string, WsScript> = {
  "garbage text, binary and invalid UTF-8 between events": async (c) => {
    await write(c, text(event(1)));
    await write(c, text("not json at all {{{"));
    await write(c, frame(0x2, new Uint8Array([0, 1, 2, 255])));
    await write(c, frame(0x1, new Uint8Array([0xc3, 0x28, 0xff])));
    await write(c, text("[]"));
    await write(c, text('"string"'));
    await write(c, text(event(2)));
  },
  "a reserved opcode": async (c) => {
    await write(c, text(event(1)));
    await write(c, frame(0x3, encoder.encode("x")));
  },
  "a frame length of 2^63": async (c) => {
    await write(c, text(event(1)));
    const bad = new Uint8Array(10);
    bad[0] = 0x81;
    bad[1] = 127;
    new DataView(bad.buffer).setBigUint64(2, 1n << 63n);
    await write(c, bad);
  },
  "an enormous frame (64 MiB)": async (c, signal) => {
    await write(c, text(event(1)));
    const size = 64 * 2 ** 20;
    const head = new Uint8Array(10);
    head[0] = 0x81;
    head[1] = 127;
    new DataView(head.buffer).setBigUint64(2, BigInt(size));
    await write(c, head);
    const chunk = new Uint8Array(1 << 20).fill(0x61);
    for (let sent = 0; sent < size && !signal.aborted; sent += chunk.length) {
      await write(c, chunk);
    }
  },
  "a masked server frame and a fragment without start": async (c) => {
    await write(c, text(event(1)));
    const masked = frame(0x1, encoder.encode("abcd"));
    const withMask = new Uint8Array(masked.length + 4);
    withMask[0] = masked[0]!;
    withMask[1] = masked[1]! | 0x80;
    withMask.set([1, 2, 3, 4], 2);
    withMask.set(masked.subarray(2), 6);
    await write(c, withMask);
    await write(c, frame(0x0, encoder.encode("orphan")));
  },
  "a close in the middle of a frame": async (c) => {
    await write(c, text(event(1)));
    await write(c, text(event(2)).subarray(0, 10));
  },
};

interface HostileWs extends AsyncDisposable {
  url: string;
  /** Connections accepted so far. */
  connections(): number;
}

/**
 * A WebSocket server whose first connection runs `script` and whose later
 * connections are sane (one event `seq` 100, then silence).
 */
function startHostileWs(script: WsScript, upgradeFailures = 0): HostileWs {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const controller = new AbortController();
  const conns = new Set<Deno.Conn>();
  const tasks = new Set<Promise<void>>();
  let count = 0;
  const serve = async (conn: Deno.Conn) => {
    conns.add(conn);
    const n = ++count;
    try {
      const buf = new Uint8Array(16_384);
      let head = "";
      while (!head.includes("\r\n\r\n")) {
        const r = await conn.read(buf);
        if (r === null) return;
        head += new TextDecoder().decode(buf.subarray(0, r));
      }
      if (n <= upgradeFailures) {
        // Refused or broken handshakes first.
        await write(
          conn,
          n % 2 === 1
            ? "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n"
            : "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: wrong\r\n\r\n",
        );
        return;
      }
      const key = /sec-websocket-key:\s*(\S+)/i.exec(head)?.[1] ?? "";
      await write(
        conn,
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${await acceptKey(
          key,
        )}\r\n\r\n`,
      );
      if (n === upgradeFailures + 1) {
        await script(conn, controller.signal);
        return;
      }
      await write(conn, text(event(100)));
      // Sane and idle: answer pings, read until the client leaves.
      while (!controller.signal.aborted) {
        const r = await conn.read(buf);
        if (r === null) break;
      }
    } catch {
      // Client gone.
    } finally {
      conns.delete(conn);
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    }
  };
  const loop = (async () => {
    try {
      for await (const conn of listener) {
        const task = serve(conn);
        tasks.add(task);
        task.finally(() => tasks.delete(task));
      }
    } catch {
      // Closed.
    }
  })();
  const port = (listener.addr as Deno.NetAddr).port;
  return {
    url: `ws://127.0.0.1:${port}/ari/events`,
    connections: () => count,
    async [Symbol.asyncDispose]() {
      controller.abort();
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch {
          // Already closed.
        }
      }
      await loop;
      await Promise.all([...tasks]);
    },
  };
}

for (const [name, script] of Object.entries(WS_SCRIPTS)) {
  Deno.test(`openAriEventStream() survives ${name} and reconnects to a sane ARI`, async () => {
    await using ws = startHostileWs(script, 2);
    const events: AriEventObject[] = [];
    const statuses: StreamStatus[] = [];
    const rssBefore = Deno.memoryUsage().rss;
    await using stream = openAriEventStream({
      url: ws.url,
      username: "u",
      password: "p",
      app: "app",
      initialDelay: 20,
      maxDelay: 200,
      connectTimeout: 2_000,
      onEvent: (e) => {
        try {
          events.push(e);
        } catch {
          // Never throws.
        }
      },
      onStatus: (s) => statuses.push(s),
    });
    // Two broken handshakes, the hostile connection, then a sane one whose
    // event (seq 100) arrives.
    await waitFor(() => events.some((e) => e.seq === 100), {
      timeout: 30_000,
      interval: 20,
      message: `a sane event after "${name}"`,
    });
    assert.ok(ws.connections() >= 4, String(ws.connections()));
    assert.ok(stream.isConnected());
    assert.ok(events.some((e) => e.seq === 1), "the event before the fault");
    for (const e of events) {
      assert.equal(typeof e.type, "string", "only events are delivered");
    }
    const errors = statuses.flatMap((s) =>
      s.type === "error" || s.type === "disconnected"
        ? [(s as { error?: unknown }).error]
        : []
    );
    for (const error of errors) {
      if (error === undefined) continue;
      assert.ok(error instanceof Error, `status error ${String(error)}`);
    }
    const rssAfter = Deno.memoryUsage().rss;
    assert.ok(
      rssAfter - rssBefore < 256 * 2 ** 20,
      `rss grew ${((rssAfter - rssBefore) / 2 ** 20).toFixed(0)} MiB`,
    );
  });
}
