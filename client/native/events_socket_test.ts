import assert from "node:assert/strict";
import {
  ClosedConnectionError,
  ConnectionError,
  ProtocolError,
} from "../errors.ts";
import {
  type AriEventObject,
  type AriEventStream,
  type AriEventStreamOptions,
  buildEventsUrl,
  openAriEventStream,
  type StreamClock,
  type StreamStatus,
  type WebSocketLike,
} from "./events_socket.ts";

// ---------------------------------------------------------------------------
// Fakes for deterministic unit tests

class FakeClock implements StreamClock {
  time = 0;
  #next = 1;
  readonly timers = new Map<
    number,
    { at: number; delay: number; cb: () => void }
  >();

  now(): number {
    return this.time;
  }
  setTimeout(cb: () => void, delay: number): unknown {
    const id = this.#next++;
    this.timers.set(id, { at: this.time + delay, delay, cb });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  /** Delays of the pending timers, in creation order. */
  pending(): number[] {
    return [...this.timers.values()].map((t) => t.delay);
  }
  /** Advances to the earliest timer and runs it. */
  fireNext(): void {
    let first: [number, { at: number; cb: () => void }] | undefined;
    for (const entry of this.timers) {
      if (first === undefined || entry[1].at < first[1].at) first = entry;
    }
    assert.ok(first !== undefined, "no timer pending");
    this.timers.delete(first[0]);
    this.time = Math.max(this.time, first[1].at);
    first[1].cb();
  }
}

class FakeSocket implements WebSocketLike {
  readyState = 0;
  binaryType: BinaryType = "blob";
  onopen: ((ev: Event) => void) | null = null;
  onmessage: ((ev: MessageEvent) => void) | null = null;
  onerror: ((ev: Event) => void) | null = null;
  onclose: ((ev: CloseEvent) => void) | null = null;
  closeCalls: (number | undefined)[] = [];

  constructor(
    readonly url: string,
    readonly headers: Readonly<Record<string, string>>,
  ) {}

  open(): void {
    this.readyState = 1;
    this.onopen?.(new Event("open"));
  }
  message(data: string | ArrayBuffer): void {
    this.onmessage?.(new MessageEvent("message", { data }));
  }
  fail(message: string): void {
    this.onerror?.(new ErrorEvent("error", { message }));
    this.readyState = 3;
    this.onclose?.(new CloseEvent("close", { code: 1006 }));
  }
  serverClose(code = 1000, reason = ""): void {
    this.readyState = 3;
    this.onclose?.(new CloseEvent("close", { code, reason }));
  }
  close(code?: number): void {
    this.closeCalls.push(code);
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.onclose?.(new CloseEvent("close", { code: code ?? 1005 }));
  }
}

interface Harness {
  stream: AriEventStream;
  clock: FakeClock;
  sockets: FakeSocket[];
  statuses: StreamStatus[];
  events: AriEventObject[];
  last(): FakeSocket;
}

function harness(extra: Partial<AriEventStreamOptions> = {}): Harness {
  const clock = new FakeClock();
  const sockets: FakeSocket[] = [];
  const statuses: StreamStatus[] = [];
  const events: AriEventObject[] = [];
  const stream = openAriEventStream({
    url: "ws://ari.invalid:8088/ari/events",
    username: "proxy",
    password: "secret",
    app: "test",
    onEvent: (e) => events.push(e),
    onStatus: (s) => statuses.push(s),
    webSocket: (url, headers) => {
      const s = new FakeSocket(url, headers);
      sockets.push(s);
      return s;
    },
    clock,
    random: () => 0.5,
    ...extra,
  });
  return {
    stream,
    clock,
    sockets,
    statuses,
    events,
    last: () => sockets[sockets.length - 1]!,
  };
}

function brief(s: StreamStatus): string {
  switch (s.type) {
    case "connecting":
    case "connected":
      return `${s.type}:${s.attempt}`;
    case "reconnecting":
      return `${s.type}:${s.attempt}:${s.delay}`;
    default:
      return s.type;
  }
}

// ---------------------------------------------------------------------------
// Unit tests (fake WebSocket, fake clock)

Deno.test("openAriEventStream() connects with the app query and basic auth", async () => {
  const h = harness({ app: ["test", "other app"], subscribeAll: true });
  assert.equal(h.sockets.length, 1);
  assert.equal(
    h.last().url,
    "ws://ari.invalid:8088/ari/events?app=test,other%20app&subscribeAll=true",
  );
  assert.equal(h.stream.url, h.last().url);
  assert.deepEqual(h.last().headers, {
    authorization: "Basic " + btoa("proxy:secret"),
  });
  assert.equal(h.last().binaryType, "arraybuffer");
  assert.equal(h.stream.isConnected(), false);
  h.last().open();
  await h.stream.ready();
  assert.equal(h.stream.isConnected(), true);
  await h.stream.close();
  assert.deepEqual(h.last().closeCalls, [1000]);
  assert.deepEqual(h.statuses.map(brief), [
    "connecting:0",
    "connected:0",
    "closed",
  ]);
});

Deno.test("buildEventsUrl() normalises the endpoint and validates apps", () => {
  assert.equal(
    buildEventsUrl("https://h/ari/", "a"),
    "wss://h/ari/events?app=a&subscribeAll=false",
  );
  assert.equal(
    buildEventsUrl("ws://h:1/ari/events", ["a/b", "ü"], false),
    "ws://h:1/ari/events?app=a%2Fb,%C3%BC&subscribeAll=false",
  );
  assert.throws(() => buildEventsUrl("ftp://h/ari", "a"), TypeError);
  assert.throws(() => buildEventsUrl("ws://h/ari?x=1", "a"), TypeError);
  assert.throws(() => buildEventsUrl("ws://u:p@h/ari", "a"), TypeError);
  assert.throws(() => buildEventsUrl("nope", "a"), TypeError);
  assert.throws(() => buildEventsUrl("ws://h/ari", []), TypeError);
  assert.throws(() => buildEventsUrl("ws://h/ari", ""), TypeError);
  assert.throws(() => buildEventsUrl("ws://h/ari", "a,b"), TypeError);
});

Deno.test("openAriEventStream() delivers events in order and reports malformed frames", async () => {
  const h = harness();
  h.last().open();
  h.last().message('{"type":"StasisStart","n":1}');
  h.last().message("not json");
  h.last().message("[1,2]");
  h.last().message("null");
  h.last().message(
    new TextEncoder().encode('{"type":"StasisEnd","n":2}').buffer,
  );
  h.last().message('{"type":"ChannelDestroyed","n":3}');
  assert.deepEqual(h.events, [
    { type: "StasisStart", n: 1 },
    { type: "StasisEnd", n: 2 },
    { type: "ChannelDestroyed", n: 3 },
  ]);
  const errors = h.statuses.filter((s) => s.type === "error");
  assert.equal(errors.length, 3);
  for (const s of errors) assert.ok(s.error instanceof ProtocolError);
  assert.deepEqual(
    errors.map((s) => (s.error as ProtocolError).code),
    ["invalidJson", "notObject", "notObject"],
  );
  assert.equal(h.stream.isConnected(), true);
  await h.stream.close();
});

Deno.test("openAriEventStream() reports an onEvent exception and carries on", async () => {
  const seen: unknown[] = [];
  const h = harness({
    onEvent: (e) => {
      if (e.type === "Boom") throw new Error("handler bug");
      seen.push(e.type);
    },
  });
  h.last().open();
  h.last().message('{"type":"Boom"}');
  h.last().message('{"type":"After"}');
  assert.deepEqual(seen, ["After"]);
  const error = h.statuses.find((s) => s.type === "error");
  assert.ok(error?.type === "error");
  assert.equal(error.error.message, "handler bug");
  await h.stream.close();
});

Deno.test("openAriEventStream() with onFrame delivers frame texts unparsed, in order", async () => {
  const frames: string[] = [];
  const h = harness({
    onEvent: undefined,
    onFrame: (frame) => {
      if (frame === "boom") throw new Error("frame handler bug");
      frames.push(frame);
    },
  });
  h.last().open();
  h.last().message('{"type":"StasisStart","n":1}');
  h.last().message("not json");
  h.last().message("boom");
  h.last().message(
    new TextEncoder().encode('{"type":"StasisEnd","n":2}').buffer,
  );
  assert.deepEqual(frames, [
    '{"type":"StasisStart","n":1}',
    "not json",
    '{"type":"StasisEnd","n":2}',
  ]);
  assert.deepEqual(h.events, []);
  const errors = h.statuses.filter((s) => s.type === "error");
  assert.equal(errors.length, 1);
  assert.equal(
    errors[0]!.type === "error" && errors[0]!.error.message,
    "frame handler bug",
  );
  assert.equal(h.stream.isConnected(), true);
  await h.stream.close();
});

Deno.test("openAriEventStream() reconnects with growing full-jitter delays", async () => {
  const h = harness();
  const delays: number[] = [];
  for (let i = 0; i < 9; i++) {
    h.last().fail("NetworkError: failed to connect to WebSocket: bad status");
    delays.push(...h.clock.pending());
    h.clock.fireNext();
  }
  // random 0.5 → half of min(10 000, 100 · 2^(n-1)).
  assert.deepEqual(delays, [50, 100, 200, 400, 800, 1600, 3200, 5000, 5000]);
  assert.equal(h.sockets.length, 10);
  const reconnecting = h.statuses.filter((s) => s.type === "reconnecting");
  assert.deepEqual(reconnecting.map((s) => s.attempt), [
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
  ]);
  const first = reconnecting[0]!;
  assert.ok(first.error instanceof ConnectionError);
  assert.match(first.error.message, /bad status/);
  // A failed attempt is not a disconnection.
  assert.equal(h.statuses.filter((s) => s.type === "disconnected").length, 0);
  h.last().open();
  assert.equal(h.stream.isConnected(), true);
  await h.stream.ready();
  assert.deepEqual(h.statuses.slice(-2).map(brief), [
    "connecting:9",
    "connected:9",
  ]);
  await h.stream.close();
});

Deno.test("openAriEventStream() reports disconnected then reconnects", async () => {
  const h = harness();
  h.last().open();
  h.last().message('{"type":"A"}');
  h.last().serverClose(1001, "going away");
  assert.equal(h.stream.isConnected(), false);
  const disconnected = h.statuses.find((s) => s.type === "disconnected");
  assert.ok(disconnected?.type === "disconnected");
  assert.equal(disconnected.code, 1001);
  assert.equal(disconnected.reason, "going away");
  assert.ok(disconnected.error instanceof ConnectionError);
  h.clock.fireNext();
  h.last().open();
  h.last().message('{"type":"B"}');
  assert.deepEqual(h.events.map((e) => e.type), ["A", "B"]);
  assert.deepEqual(h.statuses.map(brief), [
    "connecting:0",
    "connected:0",
    "disconnected",
    "reconnecting:1:50",
    "connecting:1",
    "connected:1",
  ]);
  await h.stream.close();
});

Deno.test("openAriEventStream() resets the backoff only after a stable connection", async () => {
  const h = harness({ stableAfter: 5_000 });
  // Flapping: open, then closed at once, three times.
  for (let i = 0; i < 3; i++) {
    h.last().open();
    h.last().serverClose();
    h.clock.fireNext();
  }
  const flapping = h.statuses.filter((s) => s.type === "reconnecting");
  assert.deepEqual(flapping.map((s) => s.attempt), [1, 2, 3]);
  // Now a connection stays up long enough.
  h.last().open();
  h.clock.time += 5_000;
  h.last().serverClose();
  const after = h.statuses.filter((s) => s.type === "reconnecting");
  assert.deepEqual(brief(after[after.length - 1]!), "reconnecting:1:50");
  await h.stream.close();
});

Deno.test("openAriEventStream() retries when the handshake times out", async () => {
  const h = harness({ connectTimeout: 3_000 });
  assert.deepEqual(h.clock.pending(), [3_000]);
  const stalled = h.last();
  h.clock.fireNext();
  assert.deepEqual(stalled.closeCalls, [undefined]);
  assert.equal(stalled.onclose, null);
  const retry = h.statuses.find((s) => s.type === "reconnecting");
  assert.ok(retry?.type === "reconnecting");
  assert.match(retry.error.message, /no handshake within 3000 ms/);
  h.clock.fireNext();
  assert.equal(h.sockets.length, 2);
  h.last().open();
  assert.deepEqual(h.clock.pending(), []);
  await h.stream.close();
});

Deno.test("openAriEventStream() gives up after maxReconnectAttempts", async () => {
  const h = harness({ maxReconnectAttempts: 2 });
  const ready = h.stream.ready();
  h.last().fail("refused");
  h.clock.fireNext();
  h.last().fail("refused");
  h.clock.fireNext();
  h.last().fail("refused");
  assert.equal(h.stream.isClosed(), true);
  const reason = await h.stream.closed();
  assert.ok(reason instanceof ConnectionError);
  assert.match(reason.message, /gave up after 2 attempts/);
  await assert.rejects(ready, (e) => e === reason);
  assert.equal(h.clock.timers.size, 0);
  assert.deepEqual(h.statuses.map(brief), [
    "connecting:0",
    "reconnecting:1:50",
    "connecting:1",
    "reconnecting:2:100",
    "connecting:2",
    "closed",
  ]);
});

Deno.test("AriEventStream.close() while waiting cancels the retry and rejects ready()", async () => {
  const h = harness();
  h.last().fail("refused");
  assert.equal(h.clock.timers.size, 1);
  await h.stream.close();
  assert.equal(h.clock.timers.size, 0);
  assert.equal(h.sockets.length, 1);
  await assert.rejects(h.stream.ready(), ClosedConnectionError);
  assert.equal(await h.stream.closed(), undefined);
  await h.stream.close(); // idempotent
  assert.equal(h.statuses.filter((s) => s.type === "closed").length, 1);
});

Deno.test("AriEventStream.close() stops delivering events at once", async () => {
  const h = harness();
  h.last().open();
  const socket = h.last();
  // A socket whose close handshake never completes.
  socket.close = (code?: number) => {
    socket.closeCalls.push(code);
  };
  const closing = h.stream.close();
  assert.equal(socket.onmessage, null);
  assert.equal(h.stream.isConnected(), false);
  assert.deepEqual(h.clock.pending(), [2_000]);
  h.clock.fireNext(); // the close timeout
  await closing;
  assert.equal(socket.onclose, null);
});

Deno.test("openAriEventStream() closes when its signal aborts", async () => {
  const controller = new AbortController();
  const h = harness({ signal: controller.signal });
  h.last().open();
  controller.abort();
  assert.equal(await h.stream.closed(), undefined);
  assert.equal(h.stream.isClosed(), true);
  const aborted = harness({ signal: AbortSignal.abort() });
  assert.equal(aborted.sockets.length, 0);
  await assert.rejects(aborted.stream.ready(), ClosedConnectionError);
});

Deno.test("AriEventStream.status() buffers boundedly and ends on close", async () => {
  const h = harness({ statusBufferSize: 3 });
  const iterator = h.stream.status();
  h.last().open();
  for (let i = 0; i < 10; i++) h.last().message("bad");
  await h.stream.close();
  const seen: string[] = [];
  for await (const s of iterator) seen.push(s.type);
  // The oldest statuses were dropped; the closing one is always last.
  assert.deepEqual(seen, ["error", "error", "closed"]);
  const late = await h.stream.status().next();
  assert.equal(late.done, true);
});

Deno.test("AriEventStream.status() break unsubscribes", async () => {
  const h = harness();
  const iterator = h.stream.status();
  h.last().open();
  for await (const s of iterator) {
    assert.equal(s.type, "connected");
    break;
  }
  h.last().message("bad");
  assert.equal((await iterator.next()).done, true);
  await h.stream.close();
});

Deno.test("openAriEventStream() validates its options", () => {
  const base = { url: "ws://h/ari", app: "a", onEvent: () => {} };
  assert.throws(
    () => openAriEventStream({ ...base, onEvent: undefined as never }),
    TypeError,
  );
  assert.throws(
    () => openAriEventStream({ ...base, onFrame: () => {} }),
    TypeError,
  );
  assert.throws(
    () =>
      openAriEventStream({
        ...base,
        onEvent: undefined,
        onFrame: "x" as never,
      }),
    TypeError,
  );
  assert.throws(
    () => openAriEventStream({ ...base, initialDelay: -1 }),
    RangeError,
  );
  assert.throws(
    () => openAriEventStream({ ...base, backoffFactor: 0 }),
    RangeError,
  );
  assert.throws(
    () => openAriEventStream({ ...base, statusBufferSize: 0 }),
    RangeError,
  );
  assert.throws(() => openAriEventStream({ ...base, app: [] }), TypeError);
});

// ---------------------------------------------------------------------------
// Against a real WebSocket server (Deno.serve + Deno.upgradeWebSocket)

interface FakeEvents extends AsyncDisposable {
  url: string;
  requests: { rawPath: string; authorization: string | null }[];
}

function startFakeEvents(
  onSocket: (socket: WebSocket, index: number) => void,
  reject: (index: number) => boolean = () => false,
): FakeEvents {
  const requests: FakeEvents["requests"] = [];
  const sockets: WebSocket[] = [];
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    (req) => {
      const index = requests.length;
      requests.push({
        rawPath: req.url.slice(req.url.indexOf("/", req.url.indexOf("//") + 2)),
        authorization: req.headers.get("authorization"),
      });
      if (reject(index)) return new Response("not yet", { status: 503 });
      const { socket, response } = Deno.upgradeWebSocket(req);
      sockets.push(socket);
      socket.onopen = () => onSocket(socket, index);
      return response;
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}/ari`,
    requests,
    async [Symbol.asyncDispose]() {
      for (const s of sockets) {
        if (s.readyState === WebSocket.OPEN) s.close();
      }
      await server.shutdown();
    },
  };
}

async function collectUntil(
  iterator: AsyncIterableIterator<StreamStatus>,
  done: (seen: StreamStatus[]) => boolean,
): Promise<StreamStatus[]> {
  const seen: StreamStatus[] = [];
  for await (const s of iterator) {
    seen.push(s);
    if (done(seen)) break;
  }
  return seen;
}

Deno.test("openAriEventStream() receives events in order from a real WebSocket", async () => {
  const total = 2_000;
  await using fake = startFakeEvents((socket) => {
    for (let i = 0; i < total; i++) {
      socket.send(JSON.stringify({ type: "ChannelUserevent", seq: i }));
      if (i === 10) socket.send("{broken");
    }
  });
  const received = Promise.withResolvers<void>();
  const seqs: number[] = [];
  const problems: StreamStatus[] = [];
  await using stream = openAriEventStream({
    url: fake.url,
    username: "proxy",
    password: "secret",
    app: ["test", "other"],
    subscribeAll: true,
    onEvent: (e) => {
      seqs.push(e.seq as number);
      if (seqs.length === total) received.resolve();
    },
    onStatus: (s) => {
      if (s.type === "error") problems.push(s);
    },
  });
  await stream.ready();
  await received.promise;
  assert.deepEqual(seqs, Array.from({ length: total }, (_, i) => i));
  assert.equal(problems.length, 1);
  assert.equal(
    fake.requests[0]!.rawPath,
    "/ari/events?app=test,other&subscribeAll=true",
  );
  assert.equal(
    fake.requests[0]!.authorization,
    "Basic " + btoa("proxy:secret"),
  );
});

Deno.test("openAriEventStream() reconnects after the server closes the socket", async () => {
  await using fake = startFakeEvents((socket, index) => {
    if (index === 0) socket.close(1011, "restarting");
    else socket.send('{"type":"StasisStart"}');
  });
  const events = Promise.withResolvers<AriEventObject>();
  const connectedStates: boolean[] = [];
  // onStatus reads `stream` only after construction (connected/disconnected).
  const stream: AriEventStream = openAriEventStream({
    url: fake.url + "/events",
    app: "test",
    random: () => 0,
    onEvent: (e) => events.resolve(e),
    onStatus: (s) => {
      if (s.type === "connected" || s.type === "disconnected") {
        connectedStates.push(stream.isConnected());
      }
    },
  });
  await using _ = stream;
  const seen = await collectUntil(
    stream.status(),
    (s) => s.filter((x) => x.type === "connected").length === 2,
  );
  assert.deepEqual(seen.map((s) => s.type), [
    // "connecting" for attempt 0 was emitted before status() was called.
    "connected",
    "disconnected",
    "reconnecting",
    "connecting",
    "connected",
  ]);
  const disconnected = seen[1]!;
  assert.ok(disconnected.type === "disconnected");
  assert.equal(disconnected.code, 1011);
  assert.equal(disconnected.reason, "restarting");
  assert.deepEqual(connectedStates, [true, false, true]);
  assert.deepEqual(await events.promise, { type: "StasisStart" });
  assert.equal(fake.requests.length, 2);
});

Deno.test("openAriEventStream() retries while the upgrade is refused", async () => {
  await using fake = startFakeEvents(
    (socket) => socket.send('{"type":"Ready"}'),
    (index) => index < 2,
  );
  const statuses: StreamStatus[] = [];
  await using stream = openAriEventStream({
    url: fake.url,
    app: "test",
    random: () => 0,
    onEvent: () => {},
    onStatus: (s) => statuses.push(s),
  });
  await stream.ready();
  assert.deepEqual(statuses.map(brief), [
    "connecting:0",
    "reconnecting:1:0",
    "connecting:1",
    "reconnecting:2:0",
    "connecting:2",
    "connected:2",
  ]);
  const first = statuses[1]!;
  assert.ok(first.type === "reconnecting");
  assert.match(first.error.message, /503/);
});

Deno.test("AriEventStream.close() ends status iteration on a real WebSocket", async () => {
  await using fake = startFakeEvents(() => {});
  const stream = openAriEventStream({
    url: fake.url,
    app: "test",
    onEvent: () => {},
  });
  const iterator = stream.status();
  await stream.ready();
  const collected = (async () => {
    const seen: string[] = [];
    for await (const s of iterator) seen.push(s.type);
    return seen;
  })();
  await stream.close();
  assert.deepEqual(await collected, ["connected", "closed"]);
  assert.equal(await stream.closed(), undefined);
  assert.equal(stream.isConnected(), false);
});

Deno.test("AriEventStream.close() during the handshake releases the socket", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  const stream = openAriEventStream({
    url: `ws://127.0.0.1:${listener.addr.port}/ari/events`,
    app: "test",
    onEvent: () => {},
  });
  const conn = await accepted;
  await stream.close();
  await assert.rejects(stream.ready(), ClosedConnectionError);
  conn.close();
  listener.close();
});
