import assert from "node:assert/strict";
import { runtimeWebSocketFactory } from "./web_socket.ts";

class FakeWebSocket {
  static made: { url: string; init: Record<string, unknown> }[] = [];
  readyState = 0;
  constructor(url: string, init: Record<string, unknown>) {
    FakeWebSocket.made.push({ url, init });
  }
}

Deno.test("runtimeWebSocketFactory() sends the ARI headers on every runtime", () => {
  for (const runtime of ["deno", "node", "bun"] as const) {
    FakeWebSocket.made = [];
    const factory = runtimeWebSocketFactory({
      runtime,
      webSocket: FakeWebSocket,
    });
    factory("ws://127.0.0.1:8088/ari/events?app=a", {
      authorization: "Basic YTpi",
    });
    assert.deepEqual(FakeWebSocket.made, [{
      url: "ws://127.0.0.1:8088/ari/events?app=a",
      init: { headers: { authorization: "Basic YTpi" } },
    }]);
  }
});

Deno.test("runtimeWebSocketFactory() rejects a runtime without WebSocket with TypeError", () => {
  assert.throws(
    () => runtimeWebSocketFactory({ runtime: "node", webSocket: undefined }),
    (error: unknown) =>
      error instanceof TypeError && /Node 22\+/.test(error.message),
  );
});

Deno.test("runtimeWebSocketFactory() refuses a CA HTTP client outside Deno with TypeError", () => {
  const httpClient = { close() {} };
  for (const runtime of ["node", "bun"] as const) {
    assert.throws(
      () =>
        runtimeWebSocketFactory({
          runtime,
          httpClient,
          webSocket: FakeWebSocket,
        }),
      (error: unknown) =>
        error instanceof TypeError &&
        /NODE_EXTRA_CA_CERTS/.test(error.message),
    );
  }
  FakeWebSocket.made = [];
  runtimeWebSocketFactory({
    runtime: "deno",
    httpClient,
    webSocket: FakeWebSocket,
  })(
    "wss://pbx/ari/events",
    {},
  );
  assert.equal(FakeWebSocket.made[0]?.init.client, httpClient);
});
