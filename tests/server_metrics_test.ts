/**
 * The operator's HTTP endpoint (`httpListen`): `/healthz`, `/readyz` and
 * the Prometheus `/metrics`, checked with the real tools: `promtool check
 * metrics` lints the exposition, and a real Prometheus scrapes the proxy
 * and answers a query for one of its counters.
 *
 * Real NATS and Asterisk from the harness, our proxy in-process.
 *
 * @module
 */

import assert from "node:assert/strict";
import { startProxy } from "../lib/server.ts";
import {
  freePort,
  promtoolCheckMetrics,
  startPrometheus,
  waitFor,
} from "./harness/mod.ts";
import { rawRequest, request, startStack } from "./_server_util.ts";

async function get(
  url: string,
): Promise<{ status: number; type: string; text: string }> {
  const response = await fetch(url);
  return {
    status: response.status,
    type: response.headers.get("content-type") ?? "",
    text: await response.text(),
  };
}

/** The value of one series in an exposition, or `undefined`. */
function sample(text: string, series: string): number | undefined {
  for (const line of text.split("\n")) {
    if (line.startsWith(series + " ")) {
      return Number(line.slice(series.length + 1));
    }
  }
  return undefined;
}

Deno.test("startProxy({httpListen}) serves health, readiness and metrics that promtool and Prometheus accept", async () => {
  await using stack = await startStack({
    proxy: { httpListen: "127.0.0.1:0", announceInterval: 0, version: "9.9.9" },
  });
  const { nc, app, node, proxy } = stack;
  const addr = proxy.httpAddr();
  assert.ok(addr !== undefined);
  const base = `http://127.0.0.1:${addr.port}`;

  const health = await get(`${base}/healthz`);
  assert.equal(health.status, 200);
  const ready = await get(`${base}/readyz`);
  assert.equal(ready.status, 200, ready.text);
  assert.deepEqual(JSON.parse(ready.text), { ready: true });
  assert.equal((await get(`${base}/nope`)).status, 404);

  // Requests with known outcomes.
  const subject = `ari.get.${app}.${node}`;
  for (let i = 0; i < 3; i++) {
    const reply = await request(nc, subject, {
      kind: "ApplicationList",
      key: { node, app },
    });
    assert.equal(reply.error ?? "", "");
  }
  const notImplemented = await request(nc, subject, {
    kind: "NoSuchKind",
    key: { node, app },
  });
  assert.equal(notImplemented.error, "Not implemented");
  const invalid = await rawRequest(nc, subject, "{not json");
  assert.equal(invalid.json.length, 1);
  const missing = await request(nc, `ari.command.${app}.${node}`, {
    kind: "ChannelAnswer",
    key: { kind: "channel", id: "no-such-channel", node, app },
  });
  assert.notEqual(missing.error ?? "", "");
  // An event: originate a Local channel into the application, hang it up.
  const created = await request(nc, `ari.create.${app}.${node}`, {
    kind: "ChannelOriginate",
    key: { node, app },
    channel_originate: {
      originate_request: { endpoint: "Local/100@default", app },
    },
  });
  assert.equal(created.error ?? "", "", JSON.stringify(created));
  const channelId = String((created.key as { id?: string }).id);
  await waitFor(
    async () =>
      (sample(
        (await get(`${base}/metrics`)).text,
        `ari_proxy_events_published_total{application="${app}",type="StasisStart"}`,
      ) ?? 0) >= 1,
    { timeout: 30_000, interval: 100, message: "a StasisStart to be counted" },
  );
  await request(nc, `ari.command.${app}.${node}`, {
    kind: "ChannelHangup",
    key: { kind: "channel", id: channelId, node, app },
    channel_hangup: { reason: "normal" },
  });

  const metrics = await get(`${base}/metrics`);
  assert.equal(metrics.status, 200);
  assert.match(metrics.type, /^text\/plain; version=0\.0\.4/);
  const text = metrics.text;
  const expect = (series: string, value: number) =>
    assert.equal(sample(text, series), value, `${series} in\n${text}`);
  expect(
    `ari_proxy_requests_total{application="${app}",kind="ApplicationList",outcome="ok"}`,
    3,
  );
  expect(
    `ari_proxy_requests_total{application="${app}",kind="unknown",outcome="not_implemented"}`,
    1,
  );
  expect(
    `ari_proxy_requests_total{application="${app}",kind="unknown",outcome="invalid"}`,
    1,
  );
  expect(
    `ari_proxy_requests_total{application="${app}",kind="ChannelAnswer",outcome="ari_error"}`,
    1,
  );
  expect(
    `ari_proxy_requests_total{application="${app}",kind="ChannelOriginate",outcome="ok"}`,
    1,
  );
  expect(
    `ari_proxy_build_info{version="9.9.9",node="${node}",application="${app}"}`,
    1,
  );
  expect("ari_proxy_ari_connected", 1);
  expect("ari_proxy_nats_connected", 1);
  expect("ari_proxy_requests_in_flight", 0);
  expect(`ari_proxy_request_duration_seconds_count{class="get"}`, 5);
  assert.ok(
    (sample(
      text,
      `ari_proxy_events_received_total{application="${app}",type="StasisStart"}`,
    ) ?? 0) >= 1,
    text,
  );

  const lint = await promtoolCheckMetrics(text);
  assert.equal(lint.code, 0, `promtool check metrics:\n${lint.output}`);
  assert.equal(lint.output.trim(), "", lint.output);

  // A real Prometheus scrapes the proxy; read a counter back through it.
  await using prometheus = await startPrometheus({
    targets: [`127.0.0.1:${addr.port}`],
  });
  const query =
    `ari_proxy_requests_total{job="ari-proxy",application="${app}",kind="ApplicationList",outcome="ok"}`;
  const result = await waitFor(async () => {
    const rows = await prometheus.query(query);
    return rows.length === 1 ? rows : undefined;
  }, {
    timeout: 30_000,
    interval: 250,
    message: `Prometheus to scrape the proxy (${query})`,
  });
  assert.equal(result[0]!.value[1], "3");
  assert.equal(result[0]!.metric.instance, `127.0.0.1:${addr.port}`);
  const up = await prometheus.query('up{job="ari-proxy"}');
  assert.equal(up[0]?.value[1], "1", prometheus.output().slice(-2000));
});

Deno.test("startProxy({httpListen}) reports not ready, naming what is down, while it cannot connect", async () => {
  const httpPort = await freePort();
  const deadPort = await freePort();
  const abort = new AbortController();
  const starting = startProxy({
    ari: {
      application: "app",
      username: "u",
      password: "p",
      httpUrl: `http://127.0.0.1:${deadPort}/ari`,
      websocketUrl: `ws://127.0.0.1:${deadPort}/ari/events`,
    },
    nats: { servers: [`nats://127.0.0.1:${deadPort}`] },
    httpListen: `127.0.0.1:${httpPort}`,
    signal: abort.signal,
  });
  starting.catch(() => {});
  try {
    const ready = await waitFor(async () => {
      try {
        return await get(`http://127.0.0.1:${httpPort}/readyz`);
      } catch {
        return undefined;
      }
    }, { timeout: 10_000, message: "the HTTP endpoint to listen" });
    assert.equal(ready.status, 503);
    assert.deepEqual(JSON.parse(ready.text), {
      ready: false,
      down: ["ari", "nats"],
    });
    assert.equal(
      (await get(`http://127.0.0.1:${httpPort}/healthz`)).status,
      200,
    );
    const metrics = await get(`http://127.0.0.1:${httpPort}/metrics`);
    assert.equal(sample(metrics.text, "ari_proxy_nats_connected"), 0);
    assert.equal(sample(metrics.text, "ari_proxy_ari_connected"), 0);
  } finally {
    abort.abort(new Error("test over"));
    await assert.rejects(starting);
  }
  // Closed with the proxy: the port is free again.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: httpPort });
  listener.close();
});

Deno.test("startProxy({httpListen}) rejects at once with AddrInUse when the address is taken", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = (taken.addr as Deno.NetAddr).port;
    await assert.rejects(
      startProxy({
        ari: {
          application: "app",
          username: "u",
          password: "p",
          httpUrl: "http://127.0.0.1:9/ari",
          websocketUrl: "ws://127.0.0.1:9/ari/events",
        },
        nats: { servers: ["nats://127.0.0.1:9"] },
        httpListen: `127.0.0.1:${port}`,
      }),
      (error: unknown) => {
        assert.ok(error instanceof Deno.errors.AddrInUse, String(error));
        assert.match(String(error), new RegExp(`127\\.0\\.0\\.1:${port}`));
        return true;
      },
    );
  } finally {
    taken.close();
  }
});
