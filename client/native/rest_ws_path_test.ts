import assert from "node:assert/strict";
import {
  AriHttpError,
  ClosedConnectionError,
  ConnectionError,
  ProtocolError,
  TimeoutError,
} from "../errors.ts";
import { createAriRestClient } from "./rest.ts";
import {
  createRestOverWebSocket,
  type RequestLink,
  type RestOverWebSocket,
} from "./rest_over_ws.ts";

interface Frame {
  "request_id": string;
  method: string;
  uri: string;
  "message_body"?: string;
}

/** A fake Asterisk side of one socket: records frames and answers them. */
class FakeSocket {
  readonly frames: Frame[] = [];
  readonly link: RequestLink;
  readonly #table: RestOverWebSocket;
  #onFrame: (() => void) | undefined;

  constructor(table: RestOverWebSocket, answerProbe = true) {
    this.#table = table;
    this.link = table.attach({
      send: (text) => {
        this.frames.push(JSON.parse(text) as Frame);
        this.#onFrame?.();
      },
    });
    if (answerProbe) this.reply(this.frames[0]!, 200, "{}");
  }

  /** Resolves once `count` frames (probe included) were sent. */
  sent(count: number): Promise<void> {
    if (this.frames.length >= count) return Promise.resolve();
    return new Promise((resolve) => {
      this.#onFrame = () => {
        if (this.frames.length >= count) {
          this.#onFrame = undefined;
          resolve();
        }
      };
    });
  }

  reply(frame: Frame, status: number, body?: string, reason = "OK"): void {
    const answer: Record<string, unknown> = {
      type: "RESTResponse",
      "transaction_id": frame.request_id,
      "request_id": frame.request_id,
      "status_code": status,
      "reason_phrase": reason,
      uri: frame.uri,
    };
    if (body !== undefined) {
      answer.content_type = "application/json";
      answer.message_body = body;
    }
    this.#table.deliver(JSON.stringify(answer));
  }
}

/** A fetch that records URLs and answers `{"via":"http"}`. */
function httpRecorder() {
  const urls: string[] = [];
  return {
    urls,
    fetch(url: string): Promise<Response> {
      urls.push(url);
      return Promise.resolve(Response.json({ via: "http" }));
    },
  };
}

Deno.test("AriRestClient sends JSON calls as RESTRequest messages once the socket answered the probe", async () => {
  const table = createRestOverWebSocket({ probeTimeout: 60_000 });
  const http = httpRecorder();
  await using ari = createAriRestClient({
    url: "http://ari.invalid/ari",
    fetch: http.fetch,
    webSocketRequests: table,
  });
  try {
    const socket = new FakeSocket(table);
    const call = ari.request("POST", {
      template: "/channels/{id}/variable",
      params: { id: "a b/c" },
    }, { query: { variable: "X", value: "1,2" }, body: { k: "é" } });
    await socket.sent(2);
    const frame = socket.frames[1]!;
    assert.equal(frame.method, "POST");
    assert.equal(
      frame.uri,
      "channels/a%20b%2Fc/variable?variable=X&value=1%2C2",
    );
    assert.equal(frame.message_body, '{"k":"é"}');
    socket.reply(frame, 200, '{"value":"ok"}');
    assert.deepEqual(await call, { value: "ok" });

    const empty = ari.request("DELETE", "/bridges");
    await socket.sent(3);
    socket.reply(socket.frames[2]!, 204, undefined, "No Content");
    assert.equal(await empty, undefined);
    assert.deepEqual(http.urls, []);

    // Binary downloads stay on HTTP.
    const file = await ari.requestBytes("GET", "/recordings/stored/r/file");
    assert.equal(new TextDecoder().decode(file.bytes), '{"via":"http"}');
    assert.deepEqual(http.urls, [
      "http://ari.invalid/ari/recordings/stored/r/file",
    ]);
  } finally {
    table.close();
  }
});

Deno.test("AriRestClient maps RESTResponse failures like HTTP ones", async () => {
  const table = createRestOverWebSocket({ probeTimeout: 60_000 });
  await using ari = createAriRestClient({
    url: "http://ari.invalid/ari",
    fetch: () => Promise.reject(new Error("no HTTP expected")),
    webSocketRequests: table,
  });
  try {
    const socket = new FakeSocket(table);
    const missing = ari.request("GET", {
      template: "/channels/{id}",
      params: { id: "nope" },
    });
    await socket.sent(2);
    socket.reply(
      socket.frames[1]!,
      404,
      '{"message":"Channel not found"}',
      "Not Found",
    );
    const error = await missing.then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof AriHttpError, String(error));
    assert.equal(error.status, 404);
    assert.equal(error.method, "GET");
    assert.equal(error.path, "/channels/nope");
    assert.equal(error.ariMessage, "Channel not found");

    const bare = ari.request("GET", "/asterisk/info");
    await socket.sent(3);
    socket.reply(socket.frames[2]!, 500, undefined, "Internal Server Error");
    await assert.rejects(bare, (e) => {
      assert.ok(e instanceof AriHttpError);
      assert.equal(e.ariMessage, "Internal Server Error");
      return true;
    });

    const garbled = ari.request("GET", "/asterisk/info");
    await socket.sent(4);
    socket.reply(socket.frames[3]!, 200, "{oops");
    await assert.rejects(garbled, ProtocolError);
  } finally {
    table.close();
  }
});

Deno.test("AriRestClient in auto mode uses HTTP while no socket carries requests, and for frames that are too large", async () => {
  const table = createRestOverWebSocket({ probeTimeout: 60_000 });
  const http = httpRecorder();
  await using ari = createAriRestClient({
    url: "http://ari.invalid/ari",
    fetch: http.fetch,
    webSocketRequests: table,
  });
  try {
    assert.deepEqual(await ari.request("GET", "/asterisk/info"), {
      via: "http",
    });
    const socket = new FakeSocket(table, false);
    assert.deepEqual(await ari.request("GET", "/asterisk/info"), {
      via: "http",
    });
    socket.reply(socket.frames[0]!, 200, "{}");
    const big = { value: "x".repeat(70_000) };
    assert.deepEqual(
      await ari.request("POST", "/asterisk/variable", { body: big }),
      {
        via: "http",
      },
    );
    assert.equal(http.urls.length, 3);
    assert.equal(socket.frames.length, 1);
  } finally {
    table.close();
  }
});

Deno.test("AriRestClient retries a read whose socket dropped and fails a write at once", async () => {
  const table = createRestOverWebSocket({ probeTimeout: 60_000 });
  const http = httpRecorder();
  await using ari = createAriRestClient({
    url: "http://ari.invalid/ari",
    fetch: http.fetch,
    webSocketRequests: table,
    timeout: 60_000,
  });
  try {
    const socket = new FakeSocket(table);
    const read = ari.request("GET", "/channels");
    const write = ari.request("POST", {
      template: "/channels/{id}/answer",
      params: { id: "c1" },
    });
    await socket.sent(3);
    socket.link.close(new Error("reset"));
    // The read went again, over HTTP (no socket carries requests now).
    assert.deepEqual(await read, { via: "http" });
    assert.deepEqual(http.urls, ["http://ari.invalid/ari/channels"]);
    const error = await write.then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof ConnectionError, String(error));
    assert.match(error.message, /POST \/channels\/c1\/answer/);
    assert.match(error.message, /in flight/);
  } finally {
    table.close();
  }
});

Deno.test("AriRestClient in websocket mode waits for the next socket to send a read again", async () => {
  const table = createRestOverWebSocket({
    probeTimeout: 60_000,
    mode: "websocket",
  });
  await using ari = createAriRestClient({
    url: "http://ari.invalid/ari",
    fetch: () => Promise.reject(new Error("no HTTP expected")),
    webSocketRequests: table,
    timeout: 60_000,
  });
  try {
    const first = new FakeSocket(table);
    const read = ari.request("GET", "/bridges");
    await first.sent(2);
    first.link.close();
    const second = new FakeSocket(table);
    await second.sent(2);
    assert.equal(second.frames[1]!.uri, "bridges");
    second.reply(second.frames[1]!, 200, "[]");
    assert.deepEqual(await read, []);
  } finally {
    table.close();
  }
});

Deno.test("AriRestClient over the WebSocket times out and closes like over HTTP", async () => {
  const table = createRestOverWebSocket({ probeTimeout: 60_000 });
  const ari = createAriRestClient({
    url: "http://ari.invalid/ari",
    fetch: () => Promise.reject(new Error("no HTTP expected")),
    webSocketRequests: table,
  });
  try {
    new FakeSocket(table);
    await assert.rejects(
      ari.request("GET", "/channels", { timeout: 5 }),
      TimeoutError,
    );
    assert.equal(table.pending(), 0);
    const caller = new AbortController();
    const aborted = ari.request("GET", "/channels", { signal: caller.signal });
    caller.abort(new Error("caller gave up"));
    await assert.rejects(aborted, /caller gave up/);
    const pending = ari.request("GET", "/channels");
    await ari.close();
    await assert.rejects(pending, ClosedConnectionError);
    assert.equal(table.pending(), 0);
  } finally {
    await ari.close();
    table.close();
  }
});

Deno.test("AriRestClient keeps at most httpConcurrency HTTP calls in flight, the rest wait in order", async () => {
  const started: string[] = [];
  const release: (() => void)[] = [];
  await using ari = createAriRestClient({
    url: "http://ari.invalid/ari",
    httpConcurrency: 2,
    fetch: (url) => {
      started.push(url.slice(url.lastIndexOf("/") + 1));
      const { promise, resolve } = Promise.withResolvers<Response>();
      release.push(() => resolve(Response.json({})));
      return promise;
    },
  });
  const calls = ["a", "b", "c", "d"].map((name) =>
    ari.request("GET", `/${name}`)
  );
  const late = ari.request("GET", "/late", { timeout: 5 });
  await assert.rejects(late, TimeoutError);
  assert.deepEqual(started, ["a", "b"]);
  release.shift()!();
  await calls[0];
  assert.deepEqual(started, ["a", "b", "c"]);
  release.shift()!();
  await calls[1];
  assert.deepEqual(started, ["a", "b", "c", "d"]);
  for (const next of release.splice(0)) next();
  for (const call of calls) assert.deepEqual(await call, {});
  assert.deepEqual(started, ["a", "b", "c", "d"]);
  assert.throws(
    () => createAriRestClient({ url: "http://x/ari", httpConcurrency: 0 }),
    RangeError,
  );
});
