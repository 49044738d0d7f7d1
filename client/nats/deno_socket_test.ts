import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import type { Msg, NatsConnection, Status } from "@nats-io/nats-core";
import { freePort, startNats, waitFor } from "../../tests/harness/mod.ts";
import { connectNats, DenoSocketTransport } from "./deno_socket.ts";

const TLS_DIR = fileURLToPath(new URL("./testdata/tls/", import.meta.url));

function transportOf(nc: NatsConnection): unknown {
  return (nc as unknown as { protocol: { transport: unknown } }).protocol
    .transport;
}

Deno.test("connectNats() carries requests, ordered publishes and large payloads", async () => {
  await using nats = await startNats();
  const a = await connectNats({ servers: nats.url });
  const b = await connectNats({ servers: nats.url });
  try {
    b.subscribe("echo", { callback: (_e, m) => void m.respond(m.data) });
    const received: number[] = [];
    const all = Promise.withResolvers<void>();
    const total = 20_000;
    b.subscribe("seq", {
      callback: (_e, m) => {
        received.push(Number(m.string()));
        if (received.length === total) all.resolve();
      },
    });
    await b.flush();

    const reply = await a.request("echo", "hello", { timeout: 5_000 });
    assert.equal(reply.string(), "hello");

    // 1 MiB takes many socket reads and usually more than one write.
    const big = new Uint8Array(1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = i % 251;
    const bigReply = await a.request("echo", big, { timeout: 10_000 });
    assert.deepEqual(bigReply.data, big);

    for (let i = 0; i < total; i++) a.publish("seq", String(i));
    await all.promise;
    assert.deepEqual(received, Array.from({ length: total }, (_, i) => i));

    assert.ok(transportOf(a) !== undefined);
    assert.equal(
      (transportOf(a) as { isEncrypted(): boolean }).isEncrypted(),
      false,
    );
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("connectNats() close() writes what was published before closing", async () => {
  await using nats = await startNats();
  const sub = await connectNats({ servers: nats.url });
  const pub = await connectNats({ servers: nats.url });
  try {
    let count = 0;
    const done = Promise.withResolvers<void>();
    sub.subscribe("burst", {
      callback: () => {
        if (++count === 5_000) done.resolve();
      },
    });
    await sub.flush();
    const payload = "x".repeat(200);
    for (let i = 0; i < 5_000; i++) pub.publish("burst", payload);
    await pub.close();
    await done.promise;
    assert.equal(count, 5_000);
  } finally {
    await sub.close();
    if (!pub.isClosed()) await pub.close();
  }
});

Deno.test("connectNats() reconnects after the server restarts and resubscribes", async () => {
  await using nats = await startNats();
  const nc = await connectNats({
    servers: nats.url,
    reconnectTimeWait: 50,
    maxReconnectAttempts: -1,
  });
  const statuses: Status["type"][] = [];
  (async () => {
    for await (const s of nc.status()) statuses.push(s.type);
  })();
  try {
    const got: string[] = [];
    nc.subscribe("after", {
      callback: (_e, m: Msg) => void got.push(m.string()),
    });
    await nc.flush();
    await nats.nodes[0]!.stop();
    await waitFor(() => statuses.includes("disconnect"), { timeout: 10_000 });
    await nats.nodes[0]!.restart();
    await waitFor(() => statuses.includes("reconnect"), { timeout: 20_000 });
    const other = await connectNats({ servers: nats.url });
    try {
      other.publish("after", "again");
      await other.flush();
    } finally {
      await other.close();
    }
    await waitFor(() => got.length === 1, { timeout: 10_000 });
    assert.deepEqual(got, ["again"]);
  } finally {
    await nc.close();
  }
});

Deno.test("connectNats() rejects when nothing listens, and refuses WebSocket URLs", async () => {
  const port = await freePort();
  await assert.rejects(
    connectNats({ servers: `127.0.0.1:${port}`, timeout: 2_000 }),
    (error: Error) => {
      assert.match(error.message, /refused|connect/i);
      return true;
    },
  );
  await assert.rejects(
    connectNats({ servers: "ws://127.0.0.1:1" }),
    /websockets/,
  );
});

Deno.test("connectNats() rejects a server that does not speak NATS", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const serving = (async () => {
    for await (const conn of listener) {
      await conn.write(new TextEncoder().encode("HTTP/1.1 400 Bad\r\n\r\n"))
        .catch(() => {});
      conn.close();
    }
  })();
  try {
    await assert.rejects(
      connectNats({ servers: `127.0.0.1:${port}`, timeout: 2_000 }),
      /unexpected response/,
    );
  } finally {
    listener.close();
    await serving.catch(() => {});
  }
});

Deno.test("connectNats() over TLS: a CA file goes through the Node transport; a required TLS upgrade checks the certificate", async () => {
  await using nats = await startNats({
    config: `tls {
  cert_file: "${TLS_DIR}server.pem"
  key_file: "${TLS_DIR}server-key.pem"
}
`,
  });
  const nc = await connectNats({
    servers: nats.url,
    tls: { caFile: `${TLS_DIR}ca.pem` },
  });
  try {
    const transport = transportOf(nc) as { isEncrypted(): boolean };
    assert.equal(transport.isEncrypted(), true);
    nc.subscribe("tls.echo", { callback: (_e, m) => void m.respond(m.data) });
    const reply = await nc.request("tls.echo", "secure", { timeout: 5_000 });
    assert.equal(reply.string(), "secure");
  } finally {
    await nc.close();
  }
  // No TLS options: the Deno transport upgrades itself and verifies the
  // server against the default roots, which do not know the test CA.
  await assert.rejects(
    connectNats({ servers: nats.url, timeout: 5_000 }),
    /certificate|issuer/i,
  );
});

Deno.test("DenoSocketTransport reports no pending bytes and stays closed before connecting", async () => {
  const transport = new DenoSocketTransport();
  assert.equal(transport.isClosed, false);
  assert.equal(transport.writableLength, 0);
  assert.equal(transport.isEncrypted(), false);
  // Sending before connect is dropped, and closing a never-connected
  // transport resolves at once.
  transport.send(new Uint8Array([1, 2, 3]));
  assert.equal(transport.writableLength, 0);
  await transport.close();
  transport.discard();
  assert.equal(transport.isClosed, true);
});

Deno.test("DenoSocketTransport counts bytes the peer has not taken, then writes them all", async () => {
  // A minimal NATS server: INFO, PONG to the first PING, then it stops
  // reading until told to, so the client's writes back up.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const resume = Promise.withResolvers<void>();
  let received = 0;
  const server = (async () => {
    const conn = await listener.accept();
    try {
      const info = {
        "server_id": "fake",
        version: "2.9.10",
        go: "go",
        host: "127.0.0.1",
        port,
        headers: true,
        "max_payload": 8 * 1024 * 1024,
        proto: 1,
      };
      await conn.write(
        new TextEncoder().encode(`INFO ${JSON.stringify(info)}\r\n`),
      );
      const buf = new Uint8Array(64 * 1024);
      let text = "";
      while (!text.includes("PING\r\n")) {
        const n = await conn.read(buf);
        if (n === null) return;
        text += new TextDecoder().decode(buf.subarray(0, n));
      }
      await conn.write(new TextEncoder().encode("PONG\r\n"));
      await resume.promise;
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) return;
        received += n;
      }
    } finally {
      conn.close();
    }
  })();
  const nc = await connectNats({
    servers: `127.0.0.1:${port}`,
    pingInterval: 600_000,
    reconnect: false,
  });
  const transport = transportOf(nc) as { writableLength: number };
  try {
    const payload = new Uint8Array(512 * 1024).fill(120);
    for (let i = 0; i < 64; i++) nc.publish("big", payload);
    await waitFor(() => transport.writableLength > 0, { timeout: 10_000 });
    const stuck = transport.writableLength;
    assert.ok(stuck > 0 && stuck <= 64 * (payload.length + 64));
    resume.resolve();
    await waitFor(() => transport.writableLength === 0, { timeout: 20_000 });
    await waitFor(() => received >= 64 * payload.length, { timeout: 20_000 });
  } finally {
    resume.resolve();
    await nc.close().catch(() => {});
    listener.close();
    await server.catch(() => {});
  }
});
