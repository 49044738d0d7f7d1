import assert from "node:assert/strict";
import { ConnectionError } from "../errors.ts";
import { createNativeTransport } from "./transport.ts";
import { startFakeAri } from "./testdata/fake_ari.ts";

const ENTITY = "02:00:00:00:00:0b";

function options(url: string, ariTransport?: "auto" | "websocket" | "http") {
  return {
    url,
    username: "u",
    password: "p",
    application: "app1",
    events: { initialDelay: 5, maxDelay: 20 },
    ...(ariTransport === undefined ? {} : { ariTransport }),
  };
}

/** Answers every RESTRequest on `ws` as Asterisk 22 does; records the uris. */
function answerRequests(ws: WebSocket, uris: string[]): void {
  ws.addEventListener("message", (ev) => {
    const request = JSON.parse(String(ev.data));
    if (request.type !== "RESTRequest") return;
    uris.push(`${request.method} ${request.uri}`);
    const body = request.uri.startsWith("asterisk/info")
      ? JSON.stringify({ system: { entity_id: ENTITY, version: "22.10.1" } })
      : JSON.stringify({ ping: "pong" });
    ws.send(JSON.stringify({
      type: "RESTResponse",
      transaction_id: request.transaction_id,
      request_id: request.request_id,
      status_code: 200,
      reason_phrase: "OK",
      uri: request.uri.split("?")[0],
      content_type: "application/json",
      message_body: body,
    }));
  });
}

Deno.test("createNativeTransport() sends requests over the WebSocket once Asterisk answers there", async () => {
  await using ari = startFakeAri({ entityId: ENTITY });
  const uris: string[] = [];
  const socket = ari.nextSocket().then((ws) => answerRequests(ws, uris));
  await using transport = await createNativeTransport(
    options(ari.url, "websocket"),
  );
  await socket;
  const httpCalls = ari.calls.length;
  const info = await transport.request({ kind: "AsteriskInfo", key: null });
  assert.equal(info.error, "");
  assert.equal(ari.calls.length, httpCalls, "no HTTP call for the request");
  assert.deepEqual(uris, ["GET asterisk/ping", "GET asterisk/info"]);
});

Deno.test("createNativeTransport() in auto mode uses HTTP when Asterisk does not answer RESTRequest", async () => {
  await using ari = startFakeAri({ entityId: ENTITY });
  await using transport = await createNativeTransport(options(ari.url));
  const before = ari.calls.length;
  const info = await transport.request({ kind: "AsteriskInfo", key: null });
  assert.equal(info.error, "");
  assert.equal(ari.calls.length, before + 1);
  assert.equal(ari.calls.at(-1)!.path, "/asterisk/info");
});

Deno.test("createNativeTransport() in websocket mode rejects when Asterisk does not answer RESTRequest", async () => {
  await using ari = startFakeAri({ entityId: ENTITY });
  await assert.rejects(
    createNativeTransport(options(ari.url, "websocket")),
    (error) => {
      assert.ok(error instanceof ConnectionError, String(error));
      assert.match(error.message, /did not answer a RESTRequest message/);
      return true;
    },
  );
});

Deno.test("createNativeTransport() rejects an unknown ariTransport", async () => {
  await assert.rejects(
    // deno-lint-ignore no-explicit-any
    createNativeTransport(options("http://ari.invalid/ari", "tcp" as any)),
    TypeError,
  );
});
