import assert from "node:assert/strict";
import { ConnectionError } from "../errors.ts";
import { openAriEventStream, type WebSocketLike } from "./events_socket.ts";
import { createRestOverWebSocket } from "./rest_over_ws.ts";

interface FakeWs extends WebSocketLike {
  sent: string[];
  readyState: number;
}

function fakeWs(): FakeWs {
  const ws: FakeWs = {
    sent: [],
    readyState: 0,
    binaryType: "blob",
    onopen: null,
    onmessage: null,
    onerror: null,
    onclose: null,
    close() {
      ws.readyState = 3;
      ws.onclose?.(new CloseEvent("close", { code: 1000 }));
    },
    send(data: string) {
      ws.sent.push(data);
    },
  };
  return ws;
}

function receive(ws: FakeWs, frame: string): void {
  ws.onmessage?.(new MessageEvent("message", { data: frame }));
}

Deno.test("openAriEventStream({ requests }) attaches each socket and routes RESTResponse frames to the table", async () => {
  const table = createRestOverWebSocket({ probeTimeout: 60_000 });
  const sockets: FakeWs[] = [];
  const frames: string[] = [];
  const stream = openAriEventStream({
    url: "ws://ari.invalid/ari",
    app: "test",
    onFrame: (frame) => frames.push(frame),
    requests: table,
    webSocket: () => {
      const ws = fakeWs();
      sockets.push(ws);
      return ws;
    },
    initialDelay: 0,
  });
  try {
    const ws = sockets[0]!;
    ws.readyState = 1;
    ws.onopen?.(new Event("open"));
    await stream.ready();
    const probe = JSON.parse(ws.sent[0]!);
    assert.equal(probe.type, "RESTRequest");
    receive(
      ws,
      `{"type":"RESTResponse","transaction_id":"${probe.request_id}","request_id":"${probe.request_id}","status_code":200,"reason_phrase":"OK","uri":"asterisk/ping"}`,
    );
    assert.equal(table.support(), "supported");
    receive(ws, '{"type":"StasisStart","args":[]}');
    assert.deepEqual(frames, ['{"type":"StasisStart","args":[]}']);

    const call = table.request("GET", "channels", undefined);
    // The socket drops (code 1006): the request fails at once.
    ws.readyState = 3;
    ws.onclose?.(new CloseEvent("close", { code: 1006 }));
    await assert.rejects(call, ConnectionError);
    assert.equal(table.support(), "unknown");
  } finally {
    await stream.close();
    table.close();
  }
});

Deno.test("openAriEventStream() without requests delivers RESTResponse frames as events", async () => {
  const ws = fakeWs();
  const events: string[] = [];
  await using stream = openAriEventStream({
    url: "ws://ari.invalid/ari",
    app: "test",
    onEvent: (event) => events.push(String(event.type)),
    webSocket: () => ws,
  });
  ws.onopen?.(new Event("open"));
  await stream.ready();
  assert.deepEqual(ws.sent, []);
  receive(ws, '{"type":"RESTResponse","request_id":"1","status_code":200}');
  assert.deepEqual(events, ["RESTResponse"]);
});
