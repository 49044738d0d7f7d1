/**
 * The event path against a scripted fake ARI (REST + events WebSocket on
 * `Deno.serve`) and a real NATS: frames are published byte for byte,
 * missing `application`/`asterisk_id` are added, unknown types pass, dialog
 * copies are the frame plus `dialog`, an event naming another node triggers
 * the entity check, and the hot path keeps up with a burst.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Logger } from "@logtape/logtape";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { startNats } from "./harness/mod.ts";
import { Collector, request, until } from "./_server_util.ts";
import {
  type ProxyOptions,
  type ProxyServer,
  startProxy,
} from "../lib/server.ts";

type Json = Record<string, unknown>;

/** A fake Asterisk: `GET /ari/asterisk/info`, any other call → 204, events WS. */
class FakeAri implements AsyncDisposable {
  entityId: string;
  readonly sockets = new Set<WebSocket>();
  readonly calls: string[] = [];
  /** Milliseconds to delay answers to non-info REST calls. */
  restDelay = 0;
  /** JSON answers by path (e.g. `/ari/channels`). */
  readonly routes = new Map<string, unknown>();
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #connected: (() => void)[] = [];

  constructor(entityId: string) {
    this.entityId = entityId;
    this.#server = Deno.serve(
      { port: 0, hostname: "127.0.0.1", onListen: () => {} },
      (req) => this.#handle(req),
    );
  }

  get url(): string {
    return `http://127.0.0.1:${this.#server.addr.port}/ari`;
  }

  async #handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    this.calls.push(`${req.method} ${url.pathname}${url.search}`);
    if (url.pathname === "/ari/events") {
      const { socket, response } = Deno.upgradeWebSocket(req);
      socket.onopen = () => {
        this.sockets.add(socket);
        for (const resolve of this.#connected.splice(0)) resolve();
      };
      socket.onclose = () => this.sockets.delete(socket);
      return response;
    }
    if (url.pathname === "/ari/asterisk/info") {
      return Response.json({
        system: { entity_id: this.entityId, version: "22.0.0-fake" },
      });
    }
    if (this.routes.has(url.pathname)) {
      return Response.json(this.routes.get(url.pathname));
    }
    if (this.restDelay > 0) {
      await new Promise((r) => setTimeout(r, this.restDelay));
    }
    return new Response(null, { status: 204 });
  }

  /** Sends a frame to every connected events socket. */
  send(frame: string): void {
    for (const socket of this.sockets) socket.send(frame);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const socket of this.sockets) socket.close();
    await this.#server.shutdown();
  }
}

/** A logger that records `level category message properties` lines. */
function recordingLogger(lines: string[], category = "proxy"): Logger {
  return new Proxy({}, {
    get: (_target, name) =>
      name === "getChild"
        ? (child: string) => recordingLogger(lines, `${category}.${child}`)
        : (message: string, properties?: Record<string, unknown>) => {
          lines.push(
            `${String(name)} ${category} ${message} ${
              JSON.stringify(properties)
            }`,
          );
        },
  }) as unknown as Logger;
}

async function setup(
  fake: FakeAri,
  natsUrl: string,
  extra?: Partial<ProxyOptions>,
): Promise<{
  proxy: ProxyServer;
  nc: NatsConnection;
}> {
  const proxy = await startProxy({
    ari: {
      application: "fake",
      username: "u",
      password: "p",
      httpUrl: fake.url,
      websocketUrl: fake.url.replace("http", "ws") + "/events",
    },
    nats: { servers: [natsUrl] },
    entityCheckInterval: 0,
    ...extra,
  });
  const nc = await connect({ servers: natsUrl });
  return { proxy, nc };
}

Deno.test("startProxy() publishes ARI event frames byte for byte, adding only what is missing", async () => {
  await using nats = await startNats();
  await using fake = new FakeAri("02:00:00:00:00:aa");
  const { proxy, nc } = await setup(fake, nats.url);
  try {
    assert.ok(fake.calls.some((c) => c.startsWith("GET /ari/events?app=fake")));
    using events = new Collector(nc, "ari.event.fake.02:00:00:00:00:aa");
    await nc.flush();
    const frames = [
      // Field order, spacing and unknown fields as Asterisk sent them.
      '{"type":"ChannelToneDetected","timestamp":"2026-01-01T00:00:00.000+0000","channel":{"id":"c1","protocol_id":"","language":"en"},"asterisk_id":"02:00:00:00:00:aa","application":"fake"}',
      '{"application":"fake","type":"ApplicationReplaced","asterisk_id":"02:00:00:00:00:aa", "x":[1,2]}',
      '{"type":"StasisEnd","application":"fake","channel":{"id":"c2"}}',
      '{"type":"Custom"}',
    ];
    for (const f of frames) fake.send(f);
    await events.waitFor((ms) => ms.length === 4, 5_000, "4 events");
    assert.equal(events.messages[0]!.text, frames[0]);
    assert.equal(events.messages[1]!.text, frames[1]);
    assert.deepEqual(events.messages[2]!.json, {
      type: "StasisEnd",
      application: "fake",
      channel: { id: "c2" },
      asterisk_id: "02:00:00:00:00:aa",
    });
    assert.deepEqual(events.messages[3]!.json, {
      type: "Custom",
      application: "fake",
      asterisk_id: "02:00:00:00:00:aa",
    });
  } finally {
    await nc.close();
    await proxy.close();
  }
});

Deno.test("startProxy() forwards a frame unparsed only when its text proves it names our node and application", async () => {
  await using nats = await startNats();
  const node = "02:00:00:00:00:a1";
  await using fake = new FakeAri(node);
  const lines: string[] = [];
  const { proxy, nc } = await setup(fake, nats.url, {
    logger: recordingLogger(lines),
  });
  try {
    using events = new Collector(nc, `ari.event.fake.${node}`);
    await nc.flush();
    const id = `"asterisk_id":"${node}"`;
    // [frame, what must be published: the frame itself, or this object]
    const cases: [string, "same" | Json][] = [
      // Asterisk's usual tail.
      [
        `{"type":"ChannelVarset","channel":{"id":"c1"},${id},"application":"fake"}`,
        "same",
      ],
      // application first, asterisk_id last.
      [
        `{"type":"DeviceStateChanged","application":"fake","device_state":{"name":"d"},${id}}`,
        "same",
      ],
      // Only nested: the top level lacks both.
      [`{"type":"ChannelUserevent","userevent":{${id},"application":"fake"}}`, {
        type: "ChannelUserevent",
        userevent: { asterisk_id: node, application: "fake" },
        application: "fake",
        asterisk_id: node,
      }],
      // Only inside a string value.
      [
        `{"type":"ChannelUserevent","text":"\\"asterisk_id\\":\\"${node}\\",\\"application\\":\\"fake\\""}`,
        {
          type: "ChannelUserevent",
          text: `"asterisk_id":"${node}","application":"fake"`,
          application: "fake",
          asterisk_id: node,
        },
      ],
      // Top-level application, asterisk_id only nested.
      [`{"type":"X","application":"fake","inner":{${id}}}`, {
        type: "X",
        application: "fake",
        inner: { asterisk_id: node },
        asterisk_id: node,
      }],
      // Another application, a nested copy of ours, spaces: kept as sent.
      [`{"type":"StasisStart","application":"other",${id}}`, "same"],
      [
        `{"type":"Y",${id},"application":"fake","nested":{"application":"x"}}`,
        "same",
      ],
      [`{"type":"Z", "asterisk_id": "${node}", "application": "fake"}`, "same"],
    ];
    for (const [frame] of cases) fake.send(frame);
    // Malformed frames are logged and skipped, never published.
    fake.send("[1,2]");
    fake.send(`{"type":"Broken",${id},"application":"fake"`);
    fake.send(`{"type":"Last",${id},"application":"fake"}`);
    await events.waitFor(
      (ms) => ms.length === cases.length + 1,
      5_000,
      "every event",
    );
    cases.forEach(([frame, expected], i) => {
      const message = events.messages[i]!;
      if (expected === "same") assert.equal(message.text, frame, frame);
      else assert.deepEqual(message.json, expected, frame);
    });
    assert.equal(
      (events.messages[cases.length]!.json as Json).type,
      "Last",
    );
    const stats = proxy.stats().events;
    assert.equal(stats.received, cases.length + 1);
    assert.equal(stats.published, cases.length + 1);
    assert.equal(stats.dropped, 0);
    assert.equal(
      lines.filter((l) => l.startsWith("warn proxy.events Bad ARI event frame"))
        .length,
      2,
    );
  } finally {
    await nc.close();
    await proxy.close();
  }
});

Deno.test("startProxy() re-registers on ApplicationReplaced in a frame that names our node and application", async () => {
  await using nats = await startNats();
  const node = "02:00:00:00:00:a2";
  await using fake = new FakeAri(node);
  const lines: string[] = [];
  const { proxy, nc } = await setup(fake, nats.url, {
    logger: recordingLogger(lines),
  });
  try {
    const before = fake.calls.filter((c) => c.startsWith("GET /ari/events"))
      .length;
    fake.send(
      `{"type":"ApplicationReplaced","timestamp":"2026-01-01T00:00:00.000+0000","asterisk_id":"${node}","application":"fake"}`,
    );
    await until(
      () =>
        fake.calls.filter((c) => c.startsWith("GET /ari/events")).length >
          before,
      5_000,
      "a new events WebSocket",
    );
    assert.ok(lines.some((l) => l.includes("registering it again")));
  } finally {
    await nc.close();
    await proxy.close();
  }
});

Deno.test("startProxy() drops events beyond maxPendingEventBytes, counts them and warns", async () => {
  await using nats = await startNats();
  const node = "02:00:00:00:00:a3";
  await using fake = new FakeAri(node);
  const lines: string[] = [];
  const { proxy, nc } = await setup(fake, nats.url, {
    maxPendingEventBytes: 200,
    logger: recordingLogger(lines),
  });
  try {
    using events = new Collector(nc, `ari.event.fake.${node}`);
    await nc.flush();
    const small = (n: number) =>
      `{"type":"S","n":${n},"asterisk_id":"${node}","application":"fake"}`;
    const big = `{"type":"B","pad":"${"x".repeat(200)}"}`;
    // A big frame never fits; each small one fits alone.
    fake.send(small(1));
    fake.send(big);
    await events.waitFor((ms) => ms.length === 1, 5_000, "the first event");
    fake.send(big);
    fake.send(small(2));
    await events.waitFor((ms) => ms.length === 2, 5_000, "the second event");
    assert.deepEqual(events.messages.map((m) => (m.json as Json).n), [1, 2]);
    const stats = proxy.stats().events;
    assert.equal(stats.received, 4);
    assert.equal(stats.published, 2);
    assert.equal(stats.overflowed, 2);
    assert.equal(stats.dropped, 2);
    assert.equal(stats.queued, 0);
    const warnings = lines.filter((l) => l.includes("DROPPING EVENTS"));
    assert.equal(warnings.length, 1, "one warning, then periodic summaries");
    assert.match(warnings[0]!, /^warn proxy\.events /);
    assert.match(warnings[0]!, /"limit":200/);
  } finally {
    await nc.close();
    await proxy.close();
  }
});

Deno.test("startProxy() bounds what it buffers for NATS while NATS is down", async () => {
  await using nats = await startNats();
  const node = "02:00:00:00:00:a4";
  await using fake = new FakeAri(node);
  const limit = 4_000;
  const { proxy, nc } = await setup(fake, nats.url, {
    maxPendingEventBytes: limit,
    logger: recordingLogger([]),
  });
  try {
    await nc.close();
    await nats.stopNode(0);
    await until(() => !proxy.stats().natsConnected, 10_000, "NATS down");
    const frame = (n: number) =>
      `{"type":"S","n":${n},"pad":"${
        "x".repeat(200)
      }","asterisk_id":"${node}","application":"fake"}`;
    for (let n = 0; n < 100; n++) fake.send(frame(n));
    await until(() => proxy.stats().events.received === 100, 5_000, "all");
    const stats = proxy.stats().events;
    assert.ok(stats.pendingBytes > 0, "NATS holds what was published");
    assert.ok(
      stats.pendingBytes <= limit,
      `pending ${stats.pendingBytes} bytes, limit ${limit}`,
    );
    assert.equal(stats.published + stats.overflowed, 100);
    assert.ok(stats.overflowed >= 80, `overflowed ${stats.overflowed}`);
    await nats.nodes[0]!.restart();
    await until(() => proxy.stats().natsConnected, 10_000, "NATS back");
  } finally {
    await proxy.close();
  }
});

Deno.test("startProxy() publishes dialog copies as the frame plus dialog, once per dialog", async () => {
  await using nats = await startNats();
  await using fake = new FakeAri("02:00:00:00:00:bb");
  const { proxy, nc } = await setup(fake, nats.url);
  try {
    const node = "02:00:00:00:00:bb";
    for (const dialog of ["dA", "dB"]) {
      const reply = await request(nc, `ari.command.fake.${node}`, {
        kind: "ChannelSubscribe",
        key: { kind: "channel", id: "c1", node, dialog, app: "fake" },
      });
      assert.equal(reply.error, "");
    }
    // dA also binds the bridge: an event naming both reaches dA once.
    await request(nc, `ari.command.fake.${node}`, {
      kind: "BridgeSubscribe",
      key: { kind: "bridge", id: "b1", node, dialog: "dA", app: "fake" },
    });
    using a = new Collector(nc, "ari.dialogevent.dA");
    using b = new Collector(nc, "ari.dialogevent.dB");
    using all = new Collector(nc, `ari.event.fake.${node}`);
    await nc.flush();
    const entered =
      '{"type":"ChannelEnteredBridge","application":"fake","asterisk_id":"02:00:00:00:00:bb","bridge":{"id":"b1","channels":["c1"]},"channel":{"id":"c1"}}';
    fake.send(entered);
    const destroyed =
      '{"type":"ChannelDestroyed","application":"fake","asterisk_id":"02:00:00:00:00:bb","channel":{"id":"c1"}}';
    fake.send(destroyed);
    // After the destroy, c1 events reach no dialog; b1 still reaches dA.
    fake.send(
      '{"type":"ChannelVarset","application":"fake","asterisk_id":"02:00:00:00:00:bb","channel":{"id":"c1"}}',
    );
    fake.send(
      '{"type":"BridgeDestroyed","application":"fake","asterisk_id":"02:00:00:00:00:bb","bridge":{"id":"b1"}}',
    );
    await all.waitFor((ms) => ms.length === 4, 5_000, "4 events");
    await a.waitFor((ms) => ms.length === 3, 5_000, "3 on dA");
    await b.waitFor((ms) => ms.length === 2, 5_000, "2 on dB");
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(a.messages.length, 3);
    assert.equal(b.messages.length, 2);
    assert.equal(a.messages[0]!.text, '{"dialog":"dA",' + entered.slice(1));
    assert.equal(b.messages[1]!.text, '{"dialog":"dB",' + destroyed.slice(1));
    assert.equal((a.messages[2]!.json as Json).type, "BridgeDestroyed");
    assert.equal(proxy.stats().dialogs.entities, 0);
  } finally {
    await nc.close();
    await proxy.close();
  }
});

Deno.test("startProxy() re-checks the entity id when an event names another node", async () => {
  await using nats = await startNats();
  await using fake = new FakeAri("02:00:00:00:00:cc");
  const { proxy, nc } = await setup(fake, nats.url);
  try {
    using announces = new Collector(nc, "ari.announce");
    await nc.flush();
    fake.entityId = "02:00:00:00:00:dd";
    fake.send(
      '{"type":"StasisStart","application":"fake","asterisk_id":"02:00:00:00:00:dd","channel":{"id":"c1"}}',
    );
    await until(() => proxy.node() === "02:00:00:00:00:dd", 5_000, "new node");
    await announces.waitFor((ms) => ms.length === 1, 5_000, "announcement");
    assert.deepEqual(announces.messages[0]!.json, {
      node: "02:00:00:00:00:dd",
      asterisk: "02:00:00:00:00:dd",
      application: "fake",
    });
    const reply = await request(
      nc,
      "ari.data.fake.02:00:00:00:00:dd",
      '{"kind":"AsteriskVariableGet","key":{"kind":"variable","id":"X"}}',
    );
    assert.equal(typeof reply.error, "string");
  } finally {
    await nc.close();
    await proxy.close();
  }
});

Deno.test("startProxy() keeps up with a burst of 30,000 events", async () => {
  await using nats = await startNats();
  await using fake = new FakeAri("02:00:00:00:00:ee");
  const { proxy, nc } = await setup(fake, nats.url);
  try {
    const n = 30_000;
    let received = 0;
    const done = Promise.withResolvers<void>();
    const sub = nc.subscribe("ari.event.fake.02:00:00:00:00:ee", {
      callback: () => {
        if (++received === n) done.resolve();
      },
    });
    await nc.flush();
    const frame = (i: number) =>
      `{"type":"ChannelVarset","timestamp":"2026-01-01T00:00:00.000+0000","variable":"V","value":"${i}","channel":{"id":"c${
        i % 100
      }","name":"PJSIP/x-${i}","state":"Up","caller":{"name":"","number":""},"connected":{"name":"","number":""},"accountcode":"","dialplan":{"context":"default","exten":"100","priority":1,"app_name":"Wait","app_data":"30"},"creationtime":"2026-01-01T00:00:00.000+0000","language":"en"},"asterisk_id":"02:00:00:00:00:ee","application":"fake"}`;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) fake.send(frame(i));
    const timer = setTimeout(() => done.resolve(), 30_000);
    await done.promise;
    clearTimeout(timer);
    const ms = performance.now() - t0;
    sub.unsubscribe();
    // deno-lint-ignore no-console -- test report
    console.log(
      `${received} events through the proxy in ${Math.round(ms)} ms (${
        Math.round(received / (ms / 1000))
      }/s, fake ARI, proxy and subscriber in one process)`,
    );
    assert.equal(received, n);
    assert.equal(proxy.stats().events.published, n);
    assert.equal(proxy.stats().events.dropped, 0);
  } finally {
    await nc.close();
    await proxy.close();
  }
});

Deno.test("ProxyServer.close() lets in-flight requests answer, then stops intake", async () => {
  await using nats = await startNats();
  await using fake = new FakeAri("02:00:00:00:00:ff");
  const { proxy, nc } = await setup(fake, nats.url);
  try {
    fake.restDelay = 400;
    const pending = request(
      nc,
      "ari.command",
      '{"kind":"ChannelAnswer","key":{"kind":"channel","id":"c1"}}',
    );
    await until(() => proxy.stats().requests.active === 1, 5_000, "in flight");
    const closing = proxy.close();
    assert.equal(proxy.isClosed(), true);
    assert.deepEqual(await pending, { error: "" });
    await closing;
    assert.equal(await proxy.closed(), undefined);
    await assert.rejects(
      nc.request("ari.data", '{"kind":"AsteriskInfo","key":{}}', {
        timeout: 1_000,
      }),
      /no responders/,
    );
    await proxy.close(); // idempotent
  } finally {
    await nc.close();
  }
});

Deno.test("startProxy() with an injected NATS connection leaves it open on close()", async () => {
  await using nats = await startNats();
  await using fake = new FakeAri("02:00:00:00:00:11");
  const shared = await connect({ servers: nats.url });
  try {
    const proxy = await startProxy({
      ari: {
        application: "fake",
        username: "u",
        password: "p",
        httpUrl: fake.url,
        websocketUrl: fake.url.replace("http", "ws") + "/events",
      },
      nats: { connection: shared },
    });
    const reply = await request(
      shared,
      "ari.command",
      '{"kind":"ChannelAnswer","key":{"kind":"channel","id":"c1"}}',
    );
    assert.deepEqual(reply, { error: "" });
    await proxy.close();
    assert.equal(shared.isClosed(), false);
  } finally {
    await shared.close();
  }
});

Deno.test("startProxy() answers tooLarge when a reply exceeds the NATS max payload", async () => {
  await using nats = await startNats();
  await using fake = new FakeAri("02:00:00:00:00:22");
  const { proxy, nc } = await setup(fake, nats.url);
  try {
    fake.routes.set(
      "/ari/channels",
      Array.from({ length: 30_000 }, (_, i) => ({ id: `channel-${i}` })),
    );
    const reply = await request(
      nc,
      "ari.get",
      '{"kind":"ChannelList","key":{}}',
    );
    assert.equal(reply.code, "tooLarge");
    assert.match(String(reply.error), /larger than the NATS maximum payload/);
  } finally {
    await nc.close();
    await proxy.close();
  }
});
