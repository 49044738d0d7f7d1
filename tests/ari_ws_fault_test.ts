/**
 * Fault test of ARI requests over the events WebSocket against the real
 * Asterisk: the socket drops (a TCP relay in front of Asterisk is cut) while
 * requests are in flight. Writes fail at once with a `ConnectionError`
 * (never hang until their timeout); reads are sent again within their
 * deadline (over HTTP in `"auto"` mode, on the next socket in `"websocket"`
 * mode); the stream reconnects and requests flow over the WebSocket again.
 * Also: a proxy that must use the WebSocket refuses to start against an ARI
 * that does not answer there.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ConnectionError } from "../client/errors.ts";
import { openAriEventStream } from "../client/native/events_socket.ts";
import { createAriRestClient } from "../client/native/rest.ts";
import {
  type AriRequestTransport,
  createRestOverWebSocket,
} from "../client/native/rest_over_ws.ts";
import { startAsterisk, startNats, waitFor } from "./harness/mod.ts";
import { connect } from "@nats-io/transport-node";
import { startProxy } from "../lib/server.ts";
import { proxyOptions, request } from "./_server_util.ts";
import { startFakeAri } from "../client/native/testdata/fake_ari.ts";

/**
 * A loopback TCP relay to `port`. `hold()` keeps the replies (upstream →
 * client) in memory; `cut()` closes every connection abruptly. New
 * connections are relayed normally.
 */
function startRelay(port: number) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const pairs = new Set<{ a: Deno.Conn; b: Deno.Conn }>();
  let holding = false;
  let connections = 0;
  const pumps: Promise<void>[] = [];

  async function pump(from: Deno.Conn, to: Deno.Conn, held: boolean) {
    const buffer = new Uint8Array(65_536);
    try {
      for (;;) {
        const n = await from.read(buffer);
        if (n === null) break;
        if (held && holding) continue; // Swallowed: the reply never arrives.
        let off = 0;
        while (off < n) off += await to.write(buffer.subarray(off, n));
      }
    } catch {
      // Cut.
    }
  }

  const accepting = (async () => {
    for await (const client of listener) {
      connections++;
      let upstream: Deno.Conn;
      try {
        upstream = await Deno.connect({ hostname: "127.0.0.1", port });
      } catch {
        client.close();
        continue;
      }
      const pair = { a: client, b: upstream };
      pairs.add(pair);
      pumps.push(
        Promise.all([
          pump(client, upstream, false),
          pump(upstream, client, true),
        ]).then(() => {
          pairs.delete(pair);
          for (const c of [client, upstream]) {
            try {
              c.close();
            } catch {
              // Closed.
            }
          }
        }),
      );
    }
  })();

  return {
    port: (listener.addr as Deno.NetAddr).port,
    connections: () => connections,
    hold() {
      holding = true;
    },
    cut() {
      holding = false;
      for (const { a, b } of pairs) {
        for (const c of [a, b]) {
          try {
            c.close();
          } catch {
            // Closed.
          }
        }
      }
    },
    async close() {
      this.cut();
      listener.close();
      await accepting.catch(() => {});
      await Promise.all(pumps);
    },
  };
}

for (const mode of ["auto", "websocket"] as const) {
  Deno.test(`ARI requests over the WebSocket (${mode}): a dropped socket fails writes at once and retries reads`, async () => {
    await using asterisk = await startAsterisk({ app: "wsfault" });
    const relay = startRelay(asterisk.port);
    const table = createRestOverWebSocket({
      mode: mode satisfies Exclude<AriRequestTransport, "http">,
    });
    const stream = openAriEventStream({
      url: `ws://127.0.0.1:${relay.port}/ari`,
      username: asterisk.username,
      password: asterisk.password,
      app: asterisk.app,
      onFrame: () => {},
      requests: table,
      initialDelay: 10,
      maxDelay: 100,
    });
    const rest = createAriRestClient({
      url: asterisk.httpUrl,
      username: asterisk.username,
      password: asterisk.password,
      webSocketRequests: table,
      // Far beyond the test: a request that hung would show as a timeout.
      timeout: 120_000,
    });
    const http = createAriRestClient({
      url: asterisk.httpUrl,
      username: asterisk.username,
      password: asterisk.password,
    });
    try {
      await stream.ready();
      assert.equal(await table.probed(), "supported");

      relay.hold();
      const run = crypto.randomUUID().slice(0, 8);
      const reads = Array.from(
        { length: 8 },
        () =>
          rest.request("GET", "/asterisk/info", { query: { only: "system" } }),
      );
      const writes = Array.from(
        { length: 8 },
        (_, i) =>
          rest.request("POST", "/asterisk/variable", {
            query: { variable: `FAULT_${run}_${i}`, value: "1" },
          }),
      );
      for (const p of [...reads, ...writes]) p.catch(() => {});
      await waitFor(() => table.pending() === 16, {
        timeout: 20_000,
        message: "16 requests in flight on the WebSocket",
      });
      // Asterisk carried out the writes; their answers are held in the relay.
      await waitFor(async () => {
        const values = await Promise.all(
          writes.map((_, i) =>
            http.request("GET", "/asterisk/variable", {
              query: { variable: `FAULT_${run}_${i}` },
            })
          ),
        );
        return values.every((v) => (v as { value?: string }).value === "1");
      }, { timeout: 20_000, message: "the writes carried out by Asterisk" });
      assert.equal(table.pending(), 16);
      relay.cut();

      for (const write of writes) {
        const error = await write.then(() => undefined, (e: unknown) => e);
        assert.ok(error instanceof ConnectionError, String(error));
        assert.match(error.message, /in flight/);
      }
      for (const read of reads) {
        const info = await read as { system?: { entity_id?: string } };
        assert.equal(info.system?.entity_id, asterisk.entityId);
      }

      // The stream reconnects and requests use the WebSocket again.
      await waitFor(() => table.support() === "supported", {
        timeout: 20_000,
        message: "a new socket that carries requests",
      });
      const before = relay.connections();
      await rest.request("POST", "/asterisk/variable", {
        query: { variable: `FAULT_${run}_after`, value: "2" },
      });
      assert.equal(relay.connections(), before);
      assert.equal(table.pending(), 0);
    } finally {
      await rest.close();
      await http.close();
      await stream.close();
      table.close();
      await relay.close();
    }
  });
}

Deno.test("startProxy() over the WebSocket: a dropped socket answers in-flight writes with an error at once and retries reads", async () => {
  const app = `wf${crypto.randomUUID().slice(0, 6)}`;
  await using nats = await startNats();
  await using asterisk = await startAsterisk({ allowExternal: false });
  const relay = startRelay(asterisk.port);
  const options = proxyOptions(asterisk, nats.url, { requestTimeout: 120_000 });
  options.ari = {
    ...options.ari,
    application: app,
    websocketUrl: `ws://127.0.0.1:${relay.port}/ari/events`,
    transport: "websocket",
  };
  const http = createAriRestClient({
    url: asterisk.httpUrl,
    username: asterisk.username,
    password: asterisk.password,
  });
  const proxy = await startProxy(options);
  const nc = await connect({ servers: nats.url });
  try {
    const node = proxy.node()!;
    const run = crypto.randomUUID().slice(0, 8);
    relay.hold();
    const reads = Array.from(
      { length: 4 },
      () =>
        request(nc, `ari.data.${app}.${node}`, {
          kind: "AsteriskInfo",
          key: { kind: "", id: "", node, app },
        }, 60_000),
    );
    const writes = Array.from(
      { length: 4 },
      (_, i) =>
        request(nc, `ari.command.${app}.${node}`, {
          kind: "AsteriskVariableSet",
          key: { kind: "variable", id: `PFAULT_${run}_${i}`, node, app },
          asterisk_variable_set: { value: "1" },
        }, 60_000),
    );
    for (const p of [...reads, ...writes]) p.catch(() => {});
    await waitFor(() => proxy.stats().requests.active === 8, {
      timeout: 20_000,
      message: "8 requests executing in the proxy",
    });
    await waitFor(async () => {
      const values = await Promise.all(
        writes.map((_, i) =>
          http.request("GET", "/asterisk/variable", {
            query: { variable: `PFAULT_${run}_${i}` },
          })
        ),
      );
      return values.every((v) => (v as { value?: string }).value === "1");
    }, { timeout: 20_000, message: "the writes carried out by Asterisk" });
    relay.cut();
    for (const write of writes) {
      const reply = await write;
      assert.match(String(reply.error), /in flight/);
    }
    for (const read of reads) {
      const reply = await read;
      assert.equal(reply.error, "", JSON.stringify(reply));
    }
    await waitFor(() => proxy.isAriConnected(), {
      timeout: 20_000,
      message: "the proxy reconnected",
    });
  } finally {
    await nc.close();
    await proxy.close();
    await http.close();
    await relay.close();
  }
});

Deno.test("startProxy() with ari.transport websocket fails to start when Asterisk does not answer RESTRequest, auto falls back to HTTP", async () => {
  await using nats = await startNats();
  await using ari = startFakeAri({ entityId: "02:00:00:00:17:01" });
  const options = (transport: "auto" | "websocket") => ({
    ari: {
      application: "fakeapp",
      username: "u",
      password: "p",
      httpUrl: ari.url,
      websocketUrl: ari.url.replace("http:", "ws:") + "/events",
      transport,
    },
    nats: { servers: [nats.url] },
  });
  await assert.rejects(
    startProxy(options("websocket")),
    /did not answer a RESTRequest message/,
  );
  const proxy = await startProxy(options("auto"));
  const nc = await connect({ servers: nats.url });
  try {
    const before = ari.calls.length;
    const reply = await request(
      nc,
      `ari.data.fakeapp.02:00:00:00:17:01`,
      { kind: "AsteriskInfo", key: {} },
    );
    assert.equal(reply.error, "", JSON.stringify(reply));
    assert.equal(ari.calls.length, before + 1, "the request went over HTTP");
  } finally {
    await nc.close();
    await proxy.close();
  }
});
