import assert from "node:assert/strict";
import { ConnectionError, ProtocolError } from "../errors.ts";
import {
  createRestOverWebSocket,
  MAX_WS_REQUEST_BYTES,
  type RestOverWebSocket,
} from "./rest_over_ws.ts";

interface Sent {
  type: string;
  "request_id": string;
  "transaction_id": string;
  method: string;
  uri: string;
  "content_type"?: string;
  "message_body"?: string;
}

/** A socket that records frames; `answer` replies to one of them. */
function fakeSocket(table: RestOverWebSocket) {
  const sent: Sent[] = [];
  const socket = {
    sent,
    send(frame: string) {
      sent.push(JSON.parse(frame) as Sent);
    },
  };
  const link = table.attach(socket);
  return {
    sent,
    link,
    answer(index: number, extra: Record<string, unknown> = {}) {
      const request = sent[index]!;
      table.deliver(JSON.stringify({
        type: "RESTResponse",
        transaction_id: request.transaction_id,
        request_id: request.request_id,
        status_code: 200,
        reason_phrase: "OK",
        uri: request.uri,
        ...extra,
      }));
    },
  };
}

Deno.test("createRestOverWebSocket() probes each socket with GET asterisk/ping", async () => {
  const table = createRestOverWebSocket({ probeTimeout: 60_000 });
  try {
    assert.equal(table.support(), "unknown");
    const socket = fakeSocket(table);
    assert.equal(socket.sent.length, 1);
    assert.equal(socket.sent[0]!.type, "RESTRequest");
    assert.equal(socket.sent[0]!.method, "GET");
    assert.equal(socket.sent[0]!.uri, "asterisk/ping");
    const probed = table.probed();
    socket.answer(0);
    assert.equal(await probed, "supported");
    assert.equal(table.support(), "supported");
    await table.whenSupported();
  } finally {
    table.close();
  }
});

Deno.test("createRestOverWebSocket() marks a silent socket unsupported after the probe timeout", async () => {
  const table = createRestOverWebSocket({ probeTimeout: 5, mode: "websocket" });
  try {
    const socket = fakeSocket(table);
    const waiting = table.whenSupported();
    assert.equal(await table.probed(), "unsupported");
    await assert.rejects(waiting, ConnectionError);
    await assert.rejects(table.whenSupported(), /did not answer a RESTRequest/);
    // A late answer still counts.
    socket.answer(0);
    assert.equal(table.support(), "supported");
  } finally {
    table.close();
  }
});

Deno.test("RestOverWebSocket.request() correlates answers by request_id, in any order", async () => {
  const table = createRestOverWebSocket({ probeTimeout: 60_000 });
  try {
    const socket = fakeSocket(table);
    socket.answer(0);
    const a = table.request("GET", "channels", undefined);
    const b = table.request("POST", "channels/x/answer", '{"k":"v"}');
    assert.equal(table.pending(), 2);
    assert.notEqual(socket.sent[1]!.request_id, socket.sent[2]!.request_id);
    assert.equal(socket.sent[2]!.content_type, "application/json");
    assert.equal(socket.sent[2]!.message_body, '{"k":"v"}');
    assert.equal(socket.sent[1]!.message_body, undefined);
    socket.answer(2, { status_code: 204, reason_phrase: "No Content" });
    socket.answer(1, {
      content_type: "application/json",
      message_body: "[]",
    });
    assert.deepEqual(await b, {
      status: 204,
      reason: "No Content",
      contentType: undefined,
      body: "",
    });
    assert.deepEqual(await a, {
      status: 200,
      reason: "OK",
      contentType: "application/json",
      body: "[]",
    });
    assert.equal(table.pending(), 0);
    // An answer nobody waits for (twice, or unknown) is dropped.
    socket.answer(1);
    table.deliver('{"type":"RESTResponse","request_id":"nope"}');
    table.deliver("not json");
  } finally {
    table.close();
  }
});

Deno.test("RestOverWebSocket.request() rejects an answer without a valid status_code", async () => {
  const table = createRestOverWebSocket({ probeTimeout: 60_000 });
  try {
    const socket = fakeSocket(table);
    socket.answer(0);
    const a = table.request("GET", "channels", undefined);
    socket.answer(1, { status_code: "200" });
    await assert.rejects(a, ProtocolError);
  } finally {
    table.close();
  }
});

Deno.test("RestOverWebSocket.request() fails in-flight requests at once when their socket closes", async () => {
  const table = createRestOverWebSocket({ probeTimeout: 60_000 });
  try {
    const socket = fakeSocket(table);
    socket.answer(0);
    const calls = [
      table.request("POST", "channels/a/answer", undefined),
      table.request("GET", "channels", undefined),
    ];
    const cause = new Error("socket reset");
    socket.link.close(cause);
    for (const call of calls) {
      const error = await call.then(() => undefined, (e: unknown) => e);
      assert.ok(error instanceof ConnectionError, String(error));
      assert.match(error.message, /closed with the request in flight/);
      assert.equal(error.cause, cause);
    }
    assert.equal(table.pending(), 0);
    assert.equal(table.support(), "unknown");
    await assert.rejects(
      table.request("GET", "channels", undefined),
      /no ARI WebSocket carries requests/,
    );
  } finally {
    table.close();
  }
});

Deno.test("RestOverWebSocket.request() rejects with the signal's reason and forgets the request", async () => {
  const table = createRestOverWebSocket({ probeTimeout: 60_000 });
  try {
    const socket = fakeSocket(table);
    socket.answer(0);
    const controller = new AbortController();
    const call = table.request("GET", "channels", undefined, controller.signal);
    const reason = new Error("stop");
    controller.abort(reason);
    await assert.rejects(call, (e) => e === reason);
    assert.equal(table.pending(), 0);
    socket.answer(1); // Late: ignored.
  } finally {
    table.close();
  }
});

Deno.test("RestOverWebSocket.attach() keeps the serving socket until the new one answered its probe", async () => {
  const table = createRestOverWebSocket({ probeTimeout: 60_000 });
  try {
    const first = fakeSocket(table);
    first.answer(0);
    const second = fakeSocket(table);
    void table.request("GET", "a", undefined).catch(() => {});
    assert.equal(first.sent.at(-1)!.uri, "a");
    second.answer(0);
    const b = table.request("GET", "b", undefined);
    assert.equal(second.sent.at(-1)!.uri, "b");
    second.answer(1, { message_body: "{}" });
    assert.equal((await b).body, "{}");
    // The first socket's request fails when that socket closes.
    first.link.close();
    assert.equal(table.support(), "supported");
  } finally {
    table.close();
  }
});

Deno.test("RestOverWebSocket.whenSupported() waits for a socket in websocket mode", async () => {
  const table = createRestOverWebSocket({
    probeTimeout: 60_000,
    mode: "websocket",
  });
  try {
    const waiting = table.whenSupported();
    const socket = fakeSocket(table);
    socket.answer(0);
    await waiting;
    const controller = new AbortController();
    socket.link.close();
    const again = table.whenSupported(controller.signal);
    controller.abort(new Error("gave up"));
    await assert.rejects(again, /gave up/);
  } finally {
    table.close();
  }
});

Deno.test("RestOverWebSocket.isResponseFrame() finds RESTResponse frames, compact or pretty, and nothing else", () => {
  const table = createRestOverWebSocket();
  try {
    assert.ok(
      table.isResponseFrame('{"type":"RESTResponse","request_id":"1"}'),
    );
    assert.ok(
      table.isResponseFrame(
        '{\n  "type": "RESTResponse",\n  "request_id": "1"\n}',
      ),
    );
    assert.ok(
      table.isResponseFrame('{"request_id":"1","type":"RESTResponse"}'),
    );
    assert.ok(!table.isResponseFrame('{"type":"StasisStart","args":[]}'));
    assert.ok(
      !table.isResponseFrame(
        '{"type":"ChannelVarset","value":"RESTResponse","x":1}',
      ),
    );
    assert.ok(
      !table.isResponseFrame(
        '{"type":"ChannelUserevent","userevent":{"type":"RESTResponse"}}',
      ),
    );
  } finally {
    table.close();
  }
});

Deno.test("RestOverWebSocket.fits() bounds one frame at MAX_WS_REQUEST_BYTES", () => {
  const table = createRestOverWebSocket();
  try {
    assert.ok(table.fits("channels", '{"a":1}'));
    assert.ok(
      table.fits("channels", JSON.stringify({ v: "x".repeat(60_000) })),
    );
    assert.ok(
      !table.fits(
        "channels",
        JSON.stringify({ v: "x".repeat(MAX_WS_REQUEST_BYTES) }),
      ),
    );
    // Multi-byte characters count in bytes.
    assert.ok(
      !table.fits("channels", JSON.stringify({ v: "é".repeat(40_000) })),
    );
    // Quotes are escaped in the frame.
    assert.ok(
      !table.fits("channels", JSON.stringify({ v: '"'.repeat(40_000) })),
    );
  } finally {
    table.close();
  }
});

Deno.test("RestOverWebSocket.close() fails pending requests and later ones", async () => {
  const table = createRestOverWebSocket({ probeTimeout: 60_000 });
  const socket = fakeSocket(table);
  socket.answer(0);
  const call = table.request("GET", "channels", undefined);
  table.close();
  await assert.rejects(call, ConnectionError);
  await assert.rejects(table.request("GET", "x", undefined), /it is closed/);
  table.close();
});

Deno.test("createRestOverWebSocket() rejects bad options", () => {
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => createRestOverWebSocket({ mode: "http" as any }),
    TypeError,
  );
  assert.throws(() => createRestOverWebSocket({ probeTimeout: 0 }), RangeError);
});
