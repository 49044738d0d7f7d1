import assert from "node:assert/strict";
import {
  createHealthHandler,
  type HealthSource,
  METRICS_CONTENT_TYPE,
  parseListenAddress,
} from "./http.ts";

function source(patch: Partial<HealthSource>): HealthSource {
  return {
    running: () => true,
    ariConnected: () => true,
    natsConnected: () => true,
    metrics: () => "# TYPE x gauge\nx 1\n",
    ...patch,
  };
}

Deno.test("createHealthHandler() answers /healthz 200 while running and 503 once stopping", async () => {
  let running = true;
  const handler = createHealthHandler(source({ running: () => running }));
  const up = handler(new Request("http://p/healthz"));
  assert.equal(up.status, 200);
  assert.deepEqual(await up.json(), { status: "ok" });
  running = false;
  const down = handler(new Request("http://p/healthz"));
  assert.equal(down.status, 503);
  await down.body?.cancel();
});

Deno.test("createHealthHandler() answers /readyz 503 naming each part that is down", async () => {
  let ari = false;
  let nats = false;
  const handler = createHealthHandler(
    source({ ariConnected: () => ari, natsConnected: () => nats }),
  );
  const both = handler(new Request("http://p/readyz"));
  assert.equal(both.status, 503);
  assert.deepEqual(await both.json(), { ready: false, down: ["ari", "nats"] });
  ari = true;
  const natsOnly = handler(new Request("http://p/readyz"));
  assert.deepEqual(await natsOnly.json(), { ready: false, down: ["nats"] });
  nats = true;
  const ready = handler(new Request("http://p/readyz"));
  assert.equal(ready.status, 200);
  assert.deepEqual(await ready.json(), { ready: true });
});

Deno.test("createHealthHandler() serves /metrics as Prometheus text, 404 when off", async () => {
  const on = createHealthHandler(source({}))(new Request("http://p/metrics"));
  assert.equal(on.status, 200);
  assert.equal(on.headers.get("content-type"), METRICS_CONTENT_TYPE);
  assert.equal(await on.text(), "# TYPE x gauge\nx 1\n");
  const off = createHealthHandler(source({ metrics: () => undefined }))(
    new Request("http://p/metrics"),
  );
  assert.equal(off.status, 404);
  await off.body?.cancel();
});

Deno.test("createHealthHandler() refuses other paths (404) and methods (405)", async () => {
  const handler = createHealthHandler(source({}));
  const missing = handler(new Request("http://p/"));
  assert.equal(missing.status, 404);
  await missing.body?.cancel();
  const post = handler(new Request("http://p/healthz", { method: "POST" }));
  assert.equal(post.status, 405);
  assert.equal(post.headers.get("allow"), "GET, HEAD");
});

Deno.test("parseListenAddress() reads HOST:PORT, :PORT, [IPV6]:PORT and PORT, rejects the rest", () => {
  assert.deepEqual(parseListenAddress("0.0.0.0:9464"), {
    hostname: "0.0.0.0",
    port: 9464,
  });
  assert.deepEqual(parseListenAddress("localhost:1"), {
    hostname: "localhost",
    port: 1,
  });
  assert.deepEqual(parseListenAddress("9464"), {
    hostname: "0.0.0.0",
    port: 9464,
  });
  assert.deepEqual(parseListenAddress("[::]:9464"), {
    hostname: "::",
    port: 9464,
  });
  for (const bad of ["", "localhost", "host:99999", "host:port", "a:b:1"]) {
    assert.throws(() => parseListenAddress(bad), TypeError, bad);
  }
});
