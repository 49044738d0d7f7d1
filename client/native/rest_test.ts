import assert from "node:assert/strict";
import {
  AriHttpError,
  ClosedConnectionError,
  ConnectionError,
  ProtocolError,
  TimeoutError,
} from "../errors.ts";
import {
  type AriRestClient,
  createAriRestClient,
  encodeAriQuery,
  MAX_URL_LENGTH,
  resolveAriPath,
} from "./rest.ts";

interface Recorded {
  method: string;
  /** The request target exactly as received (Deno.serve does not normalise it). */
  rawPath: string;
  authorization: string | null;
  contentType: string | null;
  accept: string | null;
  body: string;
}

interface FakeAri extends AsyncDisposable {
  url: string;
  requests: Recorded[];
  /** A response that never comes (until the fake is disposed). */
  hang(): Promise<Response>;
}

function rawPathOf(url: string): string {
  // req.url is "http://host:port" + the raw request target; new URL() would
  // normalise dot segments, so cut the string instead.
  return url.slice(url.indexOf("/", url.indexOf("//") + 2));
}

function startFakeAri(
  handler: (req: Request, recorded: Recorded) => Response | Promise<Response>,
): FakeAri {
  const requests: Recorded[] = [];
  const stopped = Promise.withResolvers<Response>();
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    async (req) => {
      const recorded: Recorded = {
        method: req.method,
        rawPath: rawPathOf(req.url),
        authorization: req.headers.get("authorization"),
        contentType: req.headers.get("content-type"),
        accept: req.headers.get("accept"),
        body: await req.text(),
      };
      requests.push(recorded);
      return handler(req, recorded);
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}/ari`,
    requests,
    hang: () => stopped.promise,
    async [Symbol.asyncDispose]() {
      stopped.resolve(new Response(null, { status: 503 }));
      await server.shutdown();
    },
  };
}

function json(value: unknown, status = 200): Response {
  return new Response(JSON.stringify(value), {
    status,
    headers: { "content-type": "application/json" },
  });
}

function client(
  url: string,
  extra: Partial<Parameters<typeof createAriRestClient>[0]> = {},
): AriRestClient {
  return createAriRestClient({
    url,
    username: "proxy",
    password: "secret",
    ...extra,
  });
}

Deno.test("createAriRestClient() sends basic auth and returns parsed JSON", async () => {
  await using fake = startFakeAri(() =>
    json({ system: { version: "22.0.0", entity_id: "02:00" } })
  );
  await using ari = client(fake.url + "/");
  const info = await ari.request("GET", "/asterisk/info");
  assert.deepEqual(info, { system: { version: "22.0.0", entity_id: "02:00" } });
  assert.equal(fake.requests.length, 1);
  const [r] = fake.requests;
  assert.equal(r!.method, "GET");
  assert.equal(r!.rawPath, "/ari/asterisk/info");
  assert.equal(r!.authorization, "Basic " + btoa("proxy:secret"));
  assert.equal(r!.accept, "application/json");
  assert.equal(r!.contentType, null);
  assert.equal(r!.body, "");
});

Deno.test("createAriRestClient() encodes UTF-8 credentials and omits auth without a username", async () => {
  await using fake = startFakeAri(() => new Response(null, { status: 204 }));
  await using ari = createAriRestClient({
    url: fake.url,
    username: "usér",
    password: "p:w",
  });
  await ari.request("GET", "/asterisk/ping");
  await using anonymous = createAriRestClient({ url: fake.url });
  await anonymous.request("GET", "/asterisk/ping");
  assert.equal(fake.requests[0]!.authorization, "Basic dXPDqXI6cDp3");
  assert.equal(fake.requests[1]!.authorization, null);
});

Deno.test("AriRestClient.request() encodes the query with comma-joined arrays", async () => {
  await using fake = startFakeAri(() => json({}));
  await using ari = client(fake.url);
  await ari.request(
    "POST",
    { template: "/channels/{channelId}/play", params: { channelId: "c-1" } },
    {
      query: {
        media: ["sound:hello-world", "sound:tt monkeys"],
        lang: "en",
        offsetms: 0,
        skipms: 3000,
        early: false,
        playbackId: undefined,
        empty: [],
        "odd key&": "a=b&c",
      },
    },
  );
  assert.equal(
    fake.requests[0]!.rawPath,
    "/ari/channels/c-1/play?media=sound%3Ahello-world,sound%3Att%20monkeys" +
      "&lang=en&offsetms=0&skipms=3000&early=false&odd%20key%26=a%3Db%26c",
  );
  assert.equal(encodeAriQuery(undefined), "");
  assert.equal(encodeAriQuery({ a: undefined }), "");
  assert.throws(() => encodeAriQuery({ v: ["a,b"] }), TypeError);
  assert.throws(() => encodeAriQuery({ n: NaN }), RangeError);
  assert.throws(
    () => encodeAriQuery({ o: {} as unknown as string }),
    TypeError,
  );
});

Deno.test("AriRestClient.request() sends a JSON body", async () => {
  await using fake = startFakeAri(() => json({ id: "c-1" }));
  await using ari = client(fake.url);
  const created = await ari.request("POST", "/channels", {
    query: { endpoint: "Local/100@default", app: "test" },
    body: { variables: { CALLERID: "x", "ü": "ß" } },
  });
  assert.deepEqual(created, { id: "c-1" });
  const [r] = fake.requests;
  assert.equal(r!.contentType, "application/json");
  assert.deepEqual(JSON.parse(r!.body), {
    variables: { CALLERID: "x", "ü": "ß" },
  });
  assert.equal(
    r!.rawPath,
    "/ari/channels?endpoint=Local%2F100%40default&app=test",
  );
});

Deno.test("AriRestClient.request() returns undefined for 204 and empty bodies", async () => {
  await using fake = startFakeAri((req) =>
    req.url.endsWith("/a")
      ? new Response(null, { status: 204 })
      : new Response("", { status: 200 })
  );
  await using ari = client(fake.url);
  assert.equal(await ari.request("DELETE", "/a"), undefined);
  assert.equal(await ari.request("POST", "/b"), undefined);
});

Deno.test("AriRestClient.request() rejects with AriHttpError carrying Asterisk's message", async () => {
  await using fake = startFakeAri((req) => {
    if (req.url.includes("/json")) {
      return json({ message: "Channel not found" }, 404);
    }
    if (req.url.includes("/text")) {
      return new Response("Internal trouble\n", { status: 500 });
    }
    return new Response(null, { status: 409, statusText: "Conflict" });
  });
  await using ari = client(fake.url);
  const err = await ari.request("POST", {
    template: "/json/{id}/answer",
    params: { id: "x" },
  }).then(() => assert.fail("expected a rejection"), (e: unknown) => e);
  assert.ok(err instanceof AriHttpError);
  assert.equal(err.status, 404);
  assert.equal(err.method, "POST");
  assert.equal(err.path, "/json/x/answer");
  assert.equal(err.ariMessage, "Channel not found");
  assert.equal(
    err.message,
    "Cannot POST /json/x/answer: 404 Channel not found",
  );

  await assert.rejects(ari.request("GET", "/text"), (e: unknown) => {
    assert.ok(e instanceof AriHttpError);
    assert.equal(e.status, 500);
    assert.equal(e.ariMessage, "Internal trouble");
    return true;
  });
  await assert.rejects(ari.request("PUT", "/other"), (e: unknown) => {
    assert.ok(e instanceof AriHttpError);
    assert.equal(e.status, 409);
    assert.equal(e.ariMessage, "Conflict");
    assert.equal(e.message, "Cannot PUT /other: 409 Conflict");
    return true;
  });
});

Deno.test("AriRestClient.request() rejects with ProtocolError for a non-JSON 2xx body", async () => {
  await using fake = startFakeAri(() =>
    new Response("<html>", { status: 200 })
  );
  await using ari = client(fake.url);
  await assert.rejects(ari.request("GET", "/x"), ProtocolError);
});

Deno.test("AriRestClient.request() rejects with TimeoutError when ARI is silent", async () => {
  await using fake = startFakeAri(() => fake.hang());
  await using ari = client(fake.url, { timeout: 10_000 });
  const err = await ari.request("POST", "/channels/x/answer", { timeout: 50 })
    .then(() => assert.fail("expected a rejection"), (e: unknown) => e);
  assert.ok(err instanceof TimeoutError);
  assert.equal(err.timeout, 50);
  assert.equal(err.operation, "POST /channels/x/answer");
});

Deno.test("AriRestClient.request() times out while the body is still streaming", async () => {
  let cancelled!: () => void;
  const bodyCancelled = new Promise<void>((resolve) => cancelled = resolve);
  await using fake = startFakeAri(() =>
    new Response(
      new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('{"partial":'));
        },
        cancel() {
          cancelled();
        },
      }),
      { status: 200 },
    )
  );
  await using ari = client(fake.url, { timeout: 50 });
  await assert.rejects(ari.request("GET", "/slow"), TimeoutError);
  await bodyCancelled;
});

Deno.test("AriRestClient.request() times out deterministically with an injected fetch", async () => {
  await using ari = createAriRestClient({
    url: "http://ari.invalid/ari",
    timeout: 1,
    fetch: (_url, init) =>
      new Promise((_resolve, reject) => {
        init.signal!.addEventListener(
          "abort",
          () => reject(init.signal!.reason),
        );
      }),
  });
  await assert.rejects(ari.request("GET", "/asterisk/info"), TimeoutError);
});

Deno.test("AriRestClient.request() encodes path traversal as one segment", async () => {
  await using fake = startFakeAri(() => new Response(null, { status: 204 }));
  await using ari = client(fake.url);
  await ari.request("POST", {
    template: "/channels/{channelId}/answer",
    params: { channelId: "../asterisk/modules" },
  });
  await ari.request("GET", {
    template: "/recordings/stored/{recordingName}",
    params: { recordingName: "%2e%2e" },
  });
  await ari.request("GET", {
    template: "/channels/{channelId}",
    params: { channelId: "a b/c?d#e\\f" },
  });
  assert.deepEqual(fake.requests.map((r) => r.rawPath), [
    "/ari/channels/..%2Fasterisk%2Fmodules/answer",
    "/ari/recordings/stored/%252e%252e",
    "/ari/channels/a%20b%2Fc%3Fd%23e%5Cf",
  ]);
  assert.ok(!fake.requests.some((r) => r.rawPath.includes("/asterisk/")));
});

Deno.test("AriRestClient.request() rejects empty and dot path parameters with TypeError", async () => {
  await using fake = startFakeAri(() => new Response(null, { status: 204 }));
  await using ari = client(fake.url);
  for (const channelId of ["", ".", ".."]) {
    await assert.rejects(
      ari.request("DELETE", {
        template: "/channels/{channelId}",
        params: { channelId },
      }),
      TypeError,
    );
  }
  await assert.rejects(
    ari.request("DELETE", { template: "/channels/{channelId}", params: {} }),
    TypeError,
  );
  for (
    const path of [
      "/channels/../asterisk/modules",
      "/channels/%2E%2e/x",
      "/a/./b",
      "channels",
      "/channels?x=1",
      "/a\\..\\b",
    ]
  ) {
    await assert.rejects(ari.request("GET", path), TypeError, path);
  }
  await assert.rejects(
    ari.request("GET", { template: "/../{x}", params: { x: "a" } }),
    TypeError,
  );
  await assert.rejects(
    ari.request("GET", { template: "/a/{}", params: {} }),
    TypeError,
  );
  assert.equal(fake.requests.length, 0);
  // Ids that merely contain dots are fine.
  assert.equal(
    resolveAriPath({ template: "/x/{id}", params: { id: "1700000000.12" } }),
    "/x/1700000000.12",
  );
  assert.equal(
    resolveAriPath({ template: "/x/{id}", params: { id: "..." } }),
    "/x/...",
  );
});

Deno.test("AriRestClient.request() rejects with ConnectionError when ARI is down", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  await using ari = client(`http://127.0.0.1:${port}/ari`);
  const err = await ari.request("GET", "/asterisk/info").then(
    () => assert.fail("expected a rejection"),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ConnectionError);
  assert.equal(err.target, `http://127.0.0.1:${port}/ari`);
  assert.ok(err.cause !== undefined);
  assert.match(err.message, /^Cannot GET \/asterisk\/info: /);
});

Deno.test("AriRestClient.request() rejects with the caller's abort reason", async () => {
  await using fake = startFakeAri(() => fake.hang());
  await using ari = client(fake.url);
  const controller = new AbortController();
  const pending = ari.request("GET", "/x", { signal: controller.signal });
  const reason = new Error("caller gave up");
  controller.abort(reason);
  await assert.rejects(pending, (e) => e === reason);
  await assert.rejects(
    ari.request("GET", "/x", { signal: controller.signal }),
    (e) => e === reason,
  );
});

Deno.test("AriRestClient.close() aborts in-flight calls with ClosedConnectionError", async () => {
  let arrived!: () => void;
  const inServer = new Promise<void>((resolve) => arrived = resolve);
  await using fake = startFakeAri(() => {
    arrived();
    return fake.hang();
  });
  const ari = client(fake.url);
  const pending = ari.request("GET", "/x");
  await inServer;
  assert.equal(ari.isClosed(), false);
  await ari.close();
  await assert.rejects(pending, ClosedConnectionError);
  assert.equal(ari.isClosed(), true);
  assert.equal(await ari.closed(), undefined);
  await assert.rejects(ari.request("GET", "/x"), ClosedConnectionError);
  await ari.close();
  await ari[Symbol.asyncDispose]();
});

Deno.test("AriRestClient.drain() lets in-flight calls finish", async () => {
  let release!: () => void;
  const released = new Promise<void>((resolve) => release = resolve);
  let arrived!: () => void;
  const inServer = new Promise<void>((resolve) => arrived = resolve);
  await using fake = startFakeAri(async () => {
    arrived();
    await released;
    return json({ ok: true });
  });
  const ari = client(fake.url);
  const pending = ari.request("GET", "/x");
  await inServer;
  const drained = ari.drain();
  await assert.rejects(ari.request("GET", "/y"), ClosedConnectionError);
  release();
  assert.deepEqual(await pending, { ok: true });
  await drained;
  assert.equal(await ari.closed(), undefined);
});

Deno.test("createAriRestClient() closes when its signal aborts", async () => {
  const controller = new AbortController();
  const ari = client("http://127.0.0.1:1/ari", { signal: controller.signal });
  controller.abort();
  assert.equal(await ari.closed(), undefined);
  await assert.rejects(ari.request("GET", "/x"), ClosedConnectionError);
});

Deno.test("AriRestClient.requestBytes() returns the body and its content type", async () => {
  const payload = new Uint8Array([0, 1, 2, 250, 255]);
  await using fake = startFakeAri(() =>
    new Response(payload, { headers: { "content-type": "audio/x-wav" } })
  );
  await using ari = client(fake.url);
  const file = await ari.requestBytes("GET", {
    template: "/recordings/stored/{recordingName}/file",
    params: { recordingName: "rec 1" },
  });
  assert.deepEqual(file.bytes, payload);
  assert.equal(file.contentType, "audio/x-wav");
  assert.equal(fake.requests[0]!.accept, "*/*");
  assert.equal(
    fake.requests[0]!.rawPath,
    "/ari/recordings/stored/rec%201/file",
  );
});

Deno.test("createAriRestClient() validates its options", () => {
  assert.throws(() => createAriRestClient({ url: "not a url" }), TypeError);
  assert.throws(() => createAriRestClient({ url: "ws://h/ari" }), TypeError);
  assert.throws(
    () => createAriRestClient({ url: "http://h/ari?x" }),
    TypeError,
  );
  assert.throws(
    () => createAriRestClient({ url: "http://u:p@h/ari" }),
    TypeError,
  );
  assert.throws(
    () => createAriRestClient({ url: "http://h/ari", timeout: 0 }),
    RangeError,
  );
  assert.throws(
    () => createAriRestClient({ url: "http://h/ari", timeout: NaN }),
    RangeError,
  );
});

Deno.test("AriRestClient.request() rejects an unsupported method with TypeError", async () => {
  await using ari = createAriRestClient({
    url: "http://ari.invalid/ari",
    fetch: () => Promise.reject(new Error("unreachable")),
  });
  await assert.rejects(
    ari.request("PATCH" as "GET", "/x"),
    TypeError,
  );
});

Deno.test("request() rejects an absurdly long URL with RangeError, sending nothing", async () => {
  let calls = 0;
  const client = createAriRestClient({
    url: "http://127.0.0.1:1/ari",
    username: "u",
    password: "p",
    fetch: () => {
      calls++;
      return Promise.resolve(new Response(null, { status: 204 }));
    },
  });
  await assert.rejects(
    client.request("GET", "/asterisk/variable", {
      query: { variable: "x".repeat(MAX_URL_LENGTH) },
    }),
    RangeError,
  );
  assert.equal(calls, 0);
  await client.close();
});
