/**
 * `eventStream` (`--events.stream`) at the proxy level, against a minimal
 * fake ARI (asterisk/info and the events WebSocket) and a real NATS: with
 * JetStream the proxy creates the stream and every event is stored and still
 * reaches core subscribers; without JetStream it says so, falls back to core
 * publishing and counts it.
 *
 * @module
 */

import assert from "node:assert/strict";
import { getLogger, type Logger } from "@logtape/logtape";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { startNats, waitFor } from "./harness/mod.ts";
import { Collector } from "./_server_util.ts";
import { startProxy } from "../lib/server.ts";

const NODE = "02:00:00:00:00:e5";

/** Serves `GET /ari/asterisk/info` and the events WebSocket; `send` pushes frames. */
class MiniAri implements AsyncDisposable {
  readonly #sockets = new Set<WebSocket>();
  readonly #server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: () => {} },
    (req) => {
      const url = new URL(req.url);
      if (url.pathname === "/ari/events") {
        const { socket, response } = Deno.upgradeWebSocket(req);
        socket.onopen = () => this.#sockets.add(socket);
        socket.onclose = () => this.#sockets.delete(socket);
        return response;
      }
      if (url.pathname === "/ari/asterisk/info") {
        return Response.json({ system: { entity_id: NODE } });
      }
      return new Response(null, { status: 204 });
    },
  );

  get url(): string {
    return `http://127.0.0.1:${this.#server.addr.port}/ari`;
  }

  send(frame: string): void {
    for (const socket of this.#sockets) socket.send(frame);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const socket of this.#sockets) socket.close();
    await this.#server.shutdown();
  }
}

/** Records `level message properties` lines of every category. */
function recordingLogger(lines: string[]): Logger {
  const base = getLogger(["ari-proxy", "test"]);
  return new Proxy(base, {
    get: (_target, name) =>
      name === "getChild"
        ? () => recordingLogger(lines)
        : (message: string, properties?: Record<string, unknown>) => {
          lines.push(
            `${String(name)} ${message} ${JSON.stringify(properties)}`,
          );
        },
  }) as unknown as Logger;
}

function frame(n: number): string {
  return `{"type":"ChannelUserevent","n":${n},"asterisk_id":"${NODE}","application":"fake"}`;
}

async function run(jetstream: boolean) {
  await using nats = await startNats({ jetstream });
  await using ari = new MiniAri();
  const lines: string[] = [];
  const proxy = await startProxy({
    ari: {
      application: "fake",
      username: "u",
      password: "p",
      httpUrl: ari.url,
      websocketUrl: ari.url.replace("http", "ws") + "/events",
    },
    nats: { servers: [nats.url] },
    entityCheckInterval: 0,
    eventStream: { name: "EVENTS", maxAge: 3_600_000, maxBytes: 10_000_000 },
    logger: recordingLogger(lines),
  });
  const nc = await connect({ servers: nats.url });
  try {
    using events = new Collector(nc, `ari.event.fake.${NODE}`);
    await nc.flush();
    for (let n = 1; n <= 200; n++) ari.send(frame(n));
    await events.waitFor((ms) => ms.length >= 200, 10_000, "200 events");
    // Core subscribers get every event, in order.
    assert.deepEqual(
      events.messages.map((m) => (m.json as { n: number }).n),
      Array.from({ length: 200 }, (_, i) => i + 1),
    );
    await waitFor(() => proxy.stats().events.stream!.inFlight === 0, {
      timeout: 10_000,
      message: "every publish settled",
    });
    const stats = proxy.stats().events;
    assert.equal(stats.published, 200);
    return { stats, lines, nc };
  } finally {
    if (!jetstream) await nc.close();
    await proxy.close();
    if (jetstream) {
      const info = await (await jetstreamManager(nc)).streams.info("EVENTS");
      await nc.close();
      assert.equal(info.state.messages, 200);
      assert.deepEqual(info.config.subjects, [
        "ari.event.>",
        "ari.dialogevent.>",
      ]);
      assert.equal(info.config.max_age, 3_600_000 * 1_000_000);
      assert.equal(info.config.max_bytes, 10_000_000);
    }
  }
}

Deno.test("startProxy({ eventStream }) creates the stream, stores every event and core subscribers still get them", async () => {
  const { stats, lines } = await run(true);
  assert.equal(stats.stream?.stored, 200);
  assert.equal(stats.stream?.fallback, 0);
  assert.equal(stats.stream?.mode, "stream");
  assert.equal(stats.dropped, 0);
  assert.ok(
    lines.some((l) => l.startsWith("info Created event stream")),
    lines.join("\n"),
  );
});

Deno.test("startProxy({ eventStream }) without JetStream falls back to core publishing, logs it and counts it", async () => {
  const { stats, lines } = await run(false);
  assert.equal(stats.stream?.stored, 0);
  assert.equal(stats.stream?.fallback, 200);
  assert.equal(stats.stream?.mode, "fallback");
  assert.equal(stats.dropped, 0);
  assert.ok(
    lines.some((l) => l.startsWith("error Cannot use event stream")),
    lines.join("\n"),
  );
  assert.ok(
    lines.some((l) => l.startsWith("warn Event stream {stream} is not taking")),
    lines.join("\n"),
  );
});
