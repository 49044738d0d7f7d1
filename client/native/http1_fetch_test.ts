import assert from "node:assert/strict";
import {
  ClosedConnectionError,
  ConnectionError,
  TimeoutError,
} from "../errors.ts";
import { createHttp1Fetch } from "./http1_fetch.ts";
import { createAriRestClient } from "./rest.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// ---------------------------------------------------------------------------
// Fakes

interface ServeFake extends AsyncDisposable {
  url: string;
  /** Client port of each request, in order (one port per socket). */
  ports: number[];
  /** Releases every request that `hang()` holds. */
  release(): void;
  hang(): Promise<Response>;
}

function startServe(
  handler: (req: Request, fake: ServeFake) => Response | Promise<Response>,
): ServeFake {
  const ports: number[] = [];
  let held = Promise.withResolvers<Response>();
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    (req, info) => {
      ports.push(info.remoteAddr.port);
      return handler(req, fake);
    },
  );
  const fake: ServeFake = {
    url: `http://127.0.0.1:${server.addr.port}`,
    ports,
    release() {
      held.resolve(new Response("released"));
      held = Promise.withResolvers<Response>();
    },
    hang: () => held.promise,
    async [Symbol.asyncDispose]() {
      held.resolve(new Response(null, { status: 503 }));
      await server.shutdown();
    },
  };
  return fake;
}

interface RawRequest {
  method: string;
  target: string;
  headers: Map<string, string>;
  body: string;
}

/** One accepted socket of a raw fake, with a buffered request reader. */
class RawSocket {
  readonly conn: Deno.Conn;
  #buf = new Uint8Array(0);
  constructor(conn: Deno.Conn) {
    this.conn = conn;
  }

  async #more(): Promise<boolean> {
    const chunk = new Uint8Array(16 * 1024);
    const n = await this.conn.read(chunk).catch(() => null);
    if (n === null) return false;
    const joined = new Uint8Array(this.#buf.length + n);
    joined.set(this.#buf);
    joined.set(chunk.subarray(0, n), this.#buf.length);
    this.#buf = joined;
    return true;
  }

  /** Reads one request, or `null` when the client closed the socket. */
  async request(): Promise<RawRequest | null> {
    let end: number;
    while ((end = decoder.decode(this.#buf).indexOf("\r\n\r\n")) < 0) {
      if (!await this.#more()) return null;
    }
    const head = decoder.decode(this.#buf.subarray(0, end));
    this.#buf = this.#buf.subarray(end + 4);
    const [requestLine, ...lines] = head.split("\r\n");
    const [method, target] = requestLine!.split(" ");
    const headers = new Map<string, string>();
    for (const line of lines) {
      const i = line.indexOf(":");
      headers.set(line.slice(0, i).toLowerCase(), line.slice(i + 1).trim());
    }
    const length = Number(headers.get("content-length") ?? 0);
    while (this.#buf.length < length) {
      if (!await this.#more()) return null;
    }
    const body = decoder.decode(this.#buf.subarray(0, length));
    this.#buf = this.#buf.subarray(length);
    return { method: method!, target: target!, headers, body };
  }

  async write(text: string | Uint8Array): Promise<void> {
    const bytes = typeof text === "string" ? encoder.encode(text) : text;
    let offset = 0;
    while (offset < bytes.length) {
      offset += await this.conn.write(bytes.subarray(offset));
    }
  }

  close(): void {
    try {
      this.conn.close();
    } catch {
      // Already closed.
    }
  }
}

interface RawFake extends AsyncDisposable {
  url: string;
  /** Number of sockets accepted so far. */
  accepted(): number;
  /** Requests seen, in order. */
  requests: RawRequest[];
}

/**
 * A TCP server that runs `session(socket, index)` for each accepted socket
 * (`index` counts from 0) and closes the socket when it returns.
 */
function startRaw(
  session: (socket: RawSocket, index: number, fake: RawFake) => Promise<void>,
): RawFake {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const sockets = new Set<RawSocket>();
  const sessions: Promise<void>[] = [];
  let count = 0;
  const fake: RawFake = {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    accepted: () => count,
    requests: [],
    async [Symbol.asyncDispose]() {
      listener.close();
      for (const s of sockets) s.close();
      await accepting;
      await Promise.allSettled(sessions);
    },
  };
  const accepting = (async () => {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch {
        return;
      }
      const socket = new RawSocket(conn);
      sockets.add(socket);
      const index = count++;
      sessions.push(
        session(socket, index, fake).catch(() => {}).finally(() => {
          socket.close();
          sockets.delete(socket);
        }),
      );
    }
  })();
  return fake;
}

/** Serves every request on a socket with `answer` until the client closes. */
function keepAliveSession(
  answer: (req: RawRequest) => string,
): (socket: RawSocket, index: number, fake: RawFake) => Promise<void> {
  return async (socket, _index, fake) => {
    for (;;) {
      const req = await socket.request();
      if (req === null) return;
      fake.requests.push(req);
      await socket.write(answer(req));
    }
  };
}

function ok(body: string, extra = ""): string {
  return `HTTP/1.1 200 OK\r\ncontent-length: ${
    encoder.encode(body).length
  }\r\n${extra}\r\n${body}`;
}

// ---------------------------------------------------------------------------
// Tests

Deno.test("createHttp1Fetch() reuses one keep-alive socket for sequential requests", async () => {
  await using server = startServe((req) =>
    new Response(`${req.method} ${new URL(req.url).pathname}`)
  );
  await using http = createHttp1Fetch();
  for (let i = 0; i < 5; i++) {
    const res = await http(`${server.url}/ari/item/${i}?x=1`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), `GET /ari/item/${i}`);
  }
  assert.equal(new Set(server.ports).size, 1);
});

Deno.test("createHttp1Fetch() sends method, headers and a UTF-8 string body", async () => {
  const seen: { method: string; type: string | null; auth: string | null }[] =
    [];
  await using server = startServe(async (req) => {
    seen.push({
      method: req.method,
      type: req.headers.get("content-type"),
      auth: req.headers.get("authorization"),
    });
    return new Response(await req.text(), { status: 201, statusText: "Made" });
  });
  await using http = createHttp1Fetch();
  const body = JSON.stringify({ name: "Grüße ☎" });
  const res = await http(`${server.url}/x`, {
    method: "post",
    headers: Object.freeze({
      authorization: "Basic cHJveHk6c2VjcmV0",
      "content-type": "application/json",
    }),
    body,
  });
  assert.equal(res.status, 201);
  assert.equal(res.statusText, "Created");
  assert.equal(res.ok, true);
  assert.equal(await res.text(), body);
  const plain = await http(`${server.url}/x`, {
    method: "PUT",
    headers: new Headers({ "x-a": "1" }),
    body: "hi",
  });
  assert.equal(await plain.text(), "hi");
  assert.deepEqual(seen, [
    {
      method: "POST",
      type: "application/json",
      auth: "Basic cHJveHk6c2VjcmV0",
    },
    { method: "PUT", type: "text/plain;charset=UTF-8", auth: null },
  ]);
});

Deno.test("createHttp1Fetch() returns response headers, status and bytes", async () => {
  await using server = startServe(() => {
    const headers = new Headers({ "content-type": "application/json" });
    headers.append("set-cookie", "a=1");
    headers.append("set-cookie", "b=2");
    return new Response(new Uint8Array([0, 1, 2, 255]), {
      status: 404,
      headers,
    });
  });
  await using http = createHttp1Fetch();
  const res = await http(new URL(`${server.url}/missing`));
  assert.equal(res.status, 404);
  assert.equal(res.ok, false);
  assert.equal(res.headers.get("content-type"), "application/json");
  assert.deepEqual(res.headers.getSetCookie(), ["a=1", "b=2"]);
  assert.deepEqual(await res.bytes(), new Uint8Array([0, 1, 2, 255]));
});

Deno.test("createHttp1Fetch() reads chunked and large bodies", async () => {
  const big = new Uint8Array(3 * 1024 * 1024 + 17).map((_, i) => i % 251);
  await using server = startServe((req) => {
    if (new URL(req.url).pathname === "/chunked") {
      // A stream body makes Deno.serve use chunked transfer-encoding.
      let sent = 0;
      return new Response(
        new ReadableStream<Uint8Array>({
          pull(controller) {
            if (sent >= big.length) return controller.close();
            const size = Math.min(100_003, big.length - sent);
            controller.enqueue(big.slice(sent, sent + size));
            sent += size;
          },
        }),
      );
    }
    return new Response(big);
  });
  await using http = createHttp1Fetch();
  const chunkedRes = await http(`${server.url}/chunked`);
  assert.equal(chunkedRes.headers.get("transfer-encoding"), "chunked");
  assert.deepEqual(await chunkedRes.bytes(), big);
  const fixed = await http(`${server.url}/fixed`);
  assert.equal(fixed.headers.get("content-length"), String(big.length));
  assert.deepEqual(await fixed.bytes(), big);
  // Both on one socket: the framing left it reusable.
  assert.equal(new Set(server.ports).size, 1);
});

Deno.test("createHttp1Fetch() parses chunk extensions, trailers and split reads", async () => {
  await using server = startRaw(async (socket, _i, fake) => {
    const req = await socket.request();
    fake.requests.push(req!);
    const parts = [
      "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n",
      "\r\n5;ext=1\r\nhel",
      "lo\r\n1",
      "\r\n \r\n6\r\nworld!\r\n0\r\nx-trailer: 1\r\n",
      "\r\n",
    ];
    for (const part of parts) await socket.write(part);
    // Keep the socket for a second request on it.
    const again = await socket.request();
    if (again !== null) await socket.write(ok("again"));
  });
  await using http = createHttp1Fetch();
  const res = await http(`${server.url}/c`);
  assert.equal(await res.text(), "hello world!");
  assert.equal(await (await http(`${server.url}/c`)).text(), "again");
  assert.equal(server.accepted(), 1);
});

Deno.test("createHttp1Fetch() handles 204, 304 and HEAD without a body and keeps the socket", async () => {
  await using server = startRaw(keepAliveSession((req) => {
    if (req.target === "/204") return "HTTP/1.1 204 No Content\r\n\r\n";
    if (req.target === "/304") {
      return "HTTP/1.1 304 Not Modified\r\ncontent-length: 10\r\n\r\n";
    }
    if (req.method === "HEAD") {
      return "HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n";
    }
    return ok("done");
  }));
  await using http = createHttp1Fetch();
  const r204 = await http(`${server.url}/204`, { method: "DELETE" });
  assert.equal(r204.status, 204);
  assert.equal(r204.body, null);
  assert.equal(await r204.text(), "");
  const r304 = await http(`${server.url}/304`);
  assert.equal(r304.status, 304);
  assert.equal(await r304.text(), "");
  const head = await http(`${server.url}/h`, { method: "HEAD" });
  assert.equal(head.headers.get("content-length"), "1000");
  assert.equal(await head.text(), "");
  assert.equal(await (await http(`${server.url}/last`)).text(), "done");
  assert.equal(server.accepted(), 1);
});

Deno.test("createHttp1Fetch() skips interim 1xx responses", async () => {
  await using server = startRaw(
    keepAliveSession(() => "HTTP/1.1 100 Continue\r\n\r\n" + ok("final")),
  );
  await using http = createHttp1Fetch();
  const res = await http(`${server.url}/`, { method: "POST", body: "x" });
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "final");
});

Deno.test("createHttp1Fetch() does not reuse a socket after Connection: close or an HTTP/1.0 response", async () => {
  await using server = startRaw(async (socket, index) => {
    const req = await socket.request();
    if (req === null) return;
    if (index === 0) {
      await socket.write(ok("first", "connection: close\r\n"));
    } else if (index === 1) {
      // HTTP/1.0 without a length: the body ends when the socket closes.
      await socket.write("HTTP/1.0 200 OK\r\n\r\nuntil close");
    } else {
      await socket.write(ok("third"));
    }
  });
  await using http = createHttp1Fetch();
  assert.equal(await (await http(server.url)).text(), "first");
  assert.equal(await (await http(server.url)).text(), "until close");
  assert.equal(await (await http(server.url)).text(), "third");
  assert.equal(server.accepted(), 3);
});

Deno.test("createHttp1Fetch() opens one socket per request in flight, up to maxConnections", async () => {
  let arrived = 0;
  const allArrived = Promise.withResolvers<void>();
  await using server = startServe(async (req, fake) => {
    if (++arrived === 3) allArrived.resolve();
    if (new URL(req.url).pathname === "/hold") await fake.hang();
    return new Response(new URL(req.url).pathname);
  });
  await using http = createHttp1Fetch({ maxConnections: 3 });
  const calls = Array.from(
    { length: 6 },
    (_, i) => http(`${server.url}/${i < 3 ? "hold" : `q${i}`}`),
  );
  await allArrived.promise;
  // Three sockets are busy; the other three requests wait for them.
  assert.equal(server.ports.length, 3);
  server.release();
  const texts = await Promise.all(calls.map(async (p) => (await p).text()));
  assert.deepEqual(texts, ["/hold", "/hold", "/hold", "/q3", "/q4", "/q5"]);
  assert.equal(new Set(server.ports).size, 3);
});

Deno.test("createHttp1Fetch() serves many concurrent requests correctly", async () => {
  await using server = startServe(async (req) =>
    new Response(`${new URL(req.url).searchParams.get("n")}:${await req
      .text()}`)
  );
  await using http = createHttp1Fetch({ maxConnections: 8 });
  const results = await Promise.all(
    Array.from({ length: 200 }, async (_, n) => {
      const res = await http(`${server.url}/?n=${n}`, {
        method: "POST",
        body: "x".repeat(n),
      });
      return res.text();
    }),
  );
  results.forEach((text, n) => assert.equal(text, `${n}:${"x".repeat(n)}`));
  assert.ok(new Set(server.ports).size <= 8);
});

Deno.test("createHttp1Fetch() rejects with the abort reason and closes that socket", async () => {
  const arrived = Promise.withResolvers<void>();
  const closed = Promise.withResolvers<void>();
  await using server = startRaw(async (socket, index) => {
    const req = await socket.request();
    if (req === null) return;
    if (index === 0) {
      arrived.resolve();
      // Never answer; the client's abort closes the socket.
      assert.equal(await socket.request(), null);
      closed.resolve();
      return;
    }
    await socket.write(ok("fresh"));
  });
  await using http = createHttp1Fetch();
  const controller = new AbortController();
  const call = http(server.url, { signal: controller.signal });
  await arrived.promise;
  const reason = new Error("stop");
  controller.abort(reason);
  await assert.rejects(call, (e) => e === reason);
  await closed.promise;
  assert.equal(await (await http(server.url)).text(), "fresh");
  // An already aborted signal rejects before anything is sent.
  await assert.rejects(
    http(server.url, { signal: AbortSignal.abort(reason) }),
    (e) => e === reason,
  );
  assert.equal(server.accepted(), 2);
});

Deno.test("createHttp1Fetch() rejects a request aborted while it waits for a socket", async () => {
  const arrived = Promise.withResolvers<void>();
  await using server = startServe((_req, fake) => {
    arrived.resolve();
    return fake.hang();
  });
  await using http = createHttp1Fetch({ maxConnections: 1 });
  const first = http(server.url);
  const controller = new AbortController();
  const second = http(server.url, { signal: controller.signal });
  controller.abort(new RangeError("gave up"));
  await assert.rejects(second, RangeError);
  await arrived.promise;
  server.release();
  assert.equal(await (await first).text(), "released");
  assert.equal(server.ports.length, 1);
});

Deno.test("createHttp1Fetch() retries an idempotent request once when a pooled socket was closed by the server", async () => {
  await using server = startRaw(async (socket, index, fake) => {
    const req = await socket.request();
    if (req === null) return;
    fake.requests.push(req);
    await socket.write(ok(`socket ${index}`));
    if (index === 0) {
      // Take the next request, then close without answering (the server
      // timed the socket out just as the request arrived).
      const next = await socket.request();
      if (next !== null) fake.requests.push(next);
    }
  });
  await using http = createHttp1Fetch();
  assert.equal(await (await http(server.url)).text(), "socket 0");
  assert.equal(
    await (await http(server.url, { method: "DELETE" })).text(),
    "socket 1",
  );
  assert.deepEqual(server.requests.map((r) => r.method), [
    "GET",
    "DELETE",
    "DELETE",
  ]);
});

Deno.test("createHttp1Fetch() does not retry a POST whose socket closed without an answer", async () => {
  await using server = startRaw(async (socket, index, fake) => {
    const req = await socket.request();
    if (req === null) return;
    fake.requests.push(req);
    await socket.write(ok(`socket ${index}`));
    if (index === 0) {
      const next = await socket.request();
      if (next !== null) fake.requests.push(next);
    }
  });
  await using http = createHttp1Fetch();
  assert.equal(await (await http(server.url)).text(), "socket 0");
  await assert.rejects(
    http(server.url, { method: "POST", body: "once" }),
    (e) =>
      e instanceof ConnectionError && e.target === server.url &&
      /closed/.test(e.message),
  );
  assert.deepEqual(server.requests.map((r) => r.method), ["GET", "POST"]);
  // The pool recovers with a new socket.
  assert.equal(await (await http(server.url)).text(), "socket 1");
});

Deno.test("createHttp1Fetch() opens a new socket after the server closed an idle one", async () => {
  const firstClosed = Promise.withResolvers<void>();
  await using server = startRaw(async (socket, index) => {
    const req = await socket.request();
    if (req === null) return;
    await socket.write(ok(`socket ${index}`));
    if (index === 0) {
      socket.close();
      firstClosed.resolve();
      return;
    }
    const next = await socket.request();
    if (next !== null) await socket.write(ok("still socket 1"));
  });
  await using http = createHttp1Fetch();
  assert.equal(await (await http(server.url)).text(), "socket 0");
  await firstClosed.promise;
  assert.equal(await (await http(server.url)).text(), "socket 1");
  assert.equal(await (await http(server.url)).text(), "still socket 1");
  assert.equal(server.accepted(), 2);
});

Deno.test("createHttp1Fetch() closes sockets idle for longer than idleTimeout", async () => {
  const clientClosed = Promise.withResolvers<void>();
  await using server = startRaw(async (socket, index) => {
    const req = await socket.request();
    if (req === null) return;
    await socket.write(ok(`socket ${index}`));
    if (index === 0) {
      // The client closes the idle socket on its own.
      assert.equal(await socket.request(), null);
      clientClosed.resolve();
    }
  });
  await using http = createHttp1Fetch({ idleTimeout: 1 });
  assert.equal(await (await http(server.url)).text(), "socket 0");
  await clientClosed.promise;
  assert.equal(await (await http(server.url)).text(), "socket 1");
});

Deno.test("createHttp1Fetch() fails malformed or truncated responses instead of hanging", async () => {
  const answers = [
    "garbage\r\n\r\n",
    "HTTP/1.1 200 OK\r\ncontent-length: nope\r\n\r\n",
    "HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-length: 6\r\n\r\nhello!",
    "HTTP/1.1 200 OK\r\nbad header line\r\n\r\n",
    "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
    "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n",
    "HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort",
    "HTTP/1.1 200 OK\r\ncontent-le",
    "",
    "HTTP/1.1 101 Switching Protocols\r\n\r\n",
    "HTTP/1.1 700 Odd\r\ncontent-length: 0\r\n\r\n",
  ];
  await using server = startRaw(async (socket, index) => {
    const req = await socket.request();
    if (req === null) return;
    await socket.write(answers[index]!);
    // Returning closes the socket.
  });
  await using http = createHttp1Fetch();
  for (const answer of answers) {
    await assert.rejects(
      http(server.url),
      (e) => e instanceof ConnectionError,
      JSON.stringify(answer),
    );
  }
  assert.equal(server.accepted(), answers.length);
});

Deno.test("createHttp1Fetch() rejects a response head or body above the limits", async () => {
  await using server = startRaw(
    keepAliveSession((req) =>
      req.target === "/mid"
        ? `HTTP/1.1 200 OK\r\nx-big: ${"m".repeat(30_000)}\r\n` +
          "content-length: 0\r\n\r\n"
        : req.target === "/head"
        ? `HTTP/1.1 200 OK\r\nx-big: ${"a".repeat(70_000)}\r\n\r\n`
        : req.target === "/chunked"
        ? "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n" +
          "401\r\n" + "b".repeat(1025) + "\r\n0\r\n\r\n"
        : ok("c".repeat(1025))
    ),
  );
  await using http = createHttp1Fetch({ maxResponseBytes: 1024 });
  // A head above the 16 KiB first buffer but within the 64 KiB limit works.
  const mid = await http(server.url + "/mid");
  assert.equal(mid.headers.get("x-big")?.length, 30_000);
  assert.equal(await mid.text(), "");
  for (const path of ["/head", "/chunked", "/fixed"]) {
    await assert.rejects(
      http(server.url + path),
      (e) => e instanceof ConnectionError && /exceeds|too long/.test(e.message),
      path,
    );
  }
});

Deno.test("createHttp1Fetch() validates the method, headers and body", async () => {
  await using http = createHttp1Fetch({
    fetch: () => Promise.reject(new Error("unexpected fallback")),
  });
  const url = "http://127.0.0.1:9/";
  await assert.rejects(
    http(url, { headers: { "x-a": "1\r\nx-injected: 1" } }),
    TypeError,
  );
  await assert.rejects(http(url, { headers: { "bad name": "1" } }), TypeError);
  await assert.rejects(http(url, { method: "GE T" }), TypeError);
  await assert.rejects(http(url, { method: "CONNECT" }), TypeError);
  await assert.rejects(http(url, { body: "x" }), TypeError);
  await assert.rejects(http("not a url"), TypeError);
  await assert.rejects(http("http://user:pw@127.0.0.1:9/"), TypeError);
});

Deno.test("createHttp1Fetch() hands https:, streamed bodies and custom clients to the fallback", async () => {
  const seen: string[] = [];
  await using http = createHttp1Fetch({
    fetch: (input, init) => {
      seen.push(`${init.method ?? "GET"} ${input}`);
      return Promise.resolve(new Response("fallback"));
    },
  });
  assert.equal(await (await http("https://example.test/a")).text(), "fallback");
  await http("http://127.0.0.1:9/b", {
    method: "POST",
    body: new ReadableStream(),
  });
  await http(
    "http://127.0.0.1:9/c",
    {
      client: {},
    } as RequestInit & { client: unknown },
  );
  assert.deepEqual(seen, [
    "GET https://example.test/a",
    "POST http://127.0.0.1:9/b",
    "GET http://127.0.0.1:9/c",
  ]);
});

Deno.test("createHttp1Fetch() reports a refused connection as ConnectionError", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  await using http = createHttp1Fetch();
  await assert.rejects(
    http(`http://127.0.0.1:${port}/`),
    (e) =>
      e instanceof ConnectionError && e.target === `http://127.0.0.1:${port}`,
  );
});

Deno.test("Http1Fetch.close() fails calls in flight and later calls", async () => {
  const arrived = Promise.withResolvers<void>();
  await using server = startServe((_req, fake) => {
    arrived.resolve();
    return fake.hang();
  });
  const http = createHttp1Fetch();
  const call = http(server.url);
  await arrived.promise;
  assert.equal(http.isClosed(), false);
  await http.close();
  assert.equal(http.isClosed(), true);
  await assert.rejects(call, ClosedConnectionError);
  await assert.rejects(http(server.url), ClosedConnectionError);
  await http.close();
});

Deno.test("createHttp1Fetch() rejects invalid options", () => {
  assert.throws(() => createHttp1Fetch({ maxConnections: 0 }), RangeError);
  assert.throws(() => createHttp1Fetch({ maxConnections: 1.5 }), RangeError);
  assert.throws(() => createHttp1Fetch({ idleTimeout: 0 }), RangeError);
  assert.throws(() => createHttp1Fetch({ maxResponseBytes: -1 }), RangeError);
  assert.throws(
    () => createHttp1Fetch({ fetch: "x" as unknown as typeof fetch }),
    TypeError,
  );
});

Deno.test("createHttp1Fetch() works as the fetch of createAriRestClient()", async () => {
  await using server = startServe(async (req, fake) => {
    const path = new URL(req.url).pathname;
    if (path === "/ari/slow") return fake.hang();
    if (path === "/ari/missing") {
      return Response.json({ message: "Channel not found" }, { status: 404 });
    }
    return Response.json({
      method: req.method,
      auth: req.headers.get("authorization"),
      body: req.body === null ? null : await req.json(),
    });
  });
  await using http = createHttp1Fetch();
  await using ari = createAriRestClient({
    url: `${server.url}/ari`,
    username: "proxy",
    password: "secret",
    fetch: http,
  });
  assert.deepEqual(
    await ari.request("POST", "/channels", { body: { a: 1 } }),
    { method: "POST", auth: "Basic cHJveHk6c2VjcmV0", body: { a: 1 } },
  );
  await assert.rejects(
    ari.request("GET", "/missing"),
    (e) => e instanceof Error && e.name === "AriHttpError",
  );
  await assert.rejects(
    ari.request("GET", "/slow", { timeout: 20 }),
    TimeoutError,
  );
  assert.equal(
    (await ari.request("GET", "/ok") as { method: string }).method,
    "GET",
  );
});

Deno.test("Http1Fetch.buffered() resolves a read-only response without a Response object", async () => {
  await using server = startRaw(
    keepAliveSession((req) =>
      req.target === "/none"
        ? "HTTP/1.1 204 No Content\r\n\r\n"
        : "HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\n" +
          "x-multi: a\r\nX-Multi: b\r\ncontent-length: 10\r\n\r\n" +
          '{"a":"ü"}'
    ),
  );
  await using http = createHttp1Fetch();
  const res = await http.buffered(`${server.url}/missing`, {});
  assert.ok(!(res instanceof Response));
  assert.equal(res.status, 404);
  assert.equal(res.statusText, "Not Found");
  assert.equal(res.ok, false);
  assert.equal(res.headers.get("Content-Type"), "application/json");
  assert.equal(res.headers.get("x-multi"), "a, b");
  assert.equal(res.headers.get("absent"), null);
  assert.equal(await res.text(), '{"a":"ü"}');
  assert.deepEqual(await res.bytes(), encoder.encode('{"a":"ü"}'));
  const none = await http.buffered(`${server.url}/none`, { method: "DELETE" });
  assert.equal(none.status, 204);
  assert.equal(none.ok, true);
  assert.equal(await none.text(), "");
  assert.equal((await none.bytes()).length, 0);
});

Deno.test("createHttp1Fetch() sends the request target the URL parser would, with or without parsing", async () => {
  await using server = startRaw(keepAliveSession((req) => ok(req.target)));
  await using http = createHttp1Fetch();
  const port = new URL(server.url).port;
  const cases = [
    // The fast path: already-encoded targets are sent as they are.
    "/ari/channels/abc.1%2F2?api_key=a%3Ab&x=1,2",
    "/ari/events/user/name?application=app&variables=(a)*!$;=:@~-_",
    // Dot segments, fragments, spaces, quotes and non-ASCII: parsed.
    "/ari/a/./b/../c",
    "/ari/x?q=a b",
    '/ari/x"y',
    "/ari/ü?ä=1#frag",
    "",
  ];
  for (const target of cases) {
    for (const host of [`127.0.0.1:${port}`, `LOCALHOST:${port}`]) {
      const url = `http://${host}${target}`;
      const expected = new URL(url);
      const res = await http(url);
      assert.equal(
        await res.text(),
        expected.pathname + expected.search,
        `target of ${url}`,
      );
    }
  }
  const hosts = server.requests.map((r) => r.headers.get("host"));
  assert.ok(
    hosts.every((h) => h === `127.0.0.1:${port}` || h === `localhost:${port}`),
    `host headers ${hosts.join(", ")}`,
  );
});
