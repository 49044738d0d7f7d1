import assert from "node:assert/strict";
import { getLogger } from "@logtape/logtape";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { startNats, waitFor } from "../tests/harness/mod.ts";
import {
  ensureEventStream,
  EventStreamPublisher,
  subjectCovers,
} from "./event_stream.ts";

const logger = getLogger(["ari-proxy", "test", "events"]);
const encoder = new TextEncoder();

Deno.test("subjectCovers() matches wildcards token by token", () => {
  assert.ok(subjectCovers("ari.event.>", "ari.event.app.>"));
  assert.ok(subjectCovers("ari.event.*.>", "ari.event.app.>"));
  assert.ok(subjectCovers("ari.>", "ari.dialogevent.>"));
  assert.ok(!subjectCovers("ari.event.other.>", "ari.event.app.>"));
  assert.ok(!subjectCovers("ari.event.*", "ari.event.app.>"));
  assert.ok(!subjectCovers("ari.event.app.n1", "ari.event.app.>"));
  assert.ok(subjectCovers("a.b", "a.b"));
  assert.ok(!subjectCovers("a.b.>", "a.b"));
});

Deno.test("ensureEventStream() creates a missing stream, leaves an operator's limits alone and adds missing subjects", async () => {
  await using nats = await startNats({ jetstream: true });
  const nc = await connect({ servers: nats.url });
  try {
    const jsm = await jetstreamManager(nc);
    const created = await ensureEventStream(jsm, {
      name: "NEW",
      subjects: ["p1.event.app.>"],
      createSubjects: ["p1.event.>"],
      maxAge: 60_000,
      maxBytes: 1_000_000,
    });
    assert.equal(created.action, "created");
    assert.deepEqual(created.info.config.subjects, ["p1.event.>"]);
    assert.equal(created.info.config.max_age, 60_000 * 1_000_000);
    assert.equal(created.info.config.max_bytes, 1_000_000);
    const again = await ensureEventStream(jsm, {
      name: "NEW",
      subjects: ["p1.event.app.>"],
    });
    assert.equal(again.action, "exists");

    await jsm.streams.add({
      name: "OPS",
      subjects: ["p2.event.app.>"],
      max_msgs: 12_345,
    });
    const extended = await ensureEventStream(jsm, {
      name: "OPS",
      subjects: ["p2.event.app.>", "p2.dialogevent.>"],
      maxBytes: 5,
    });
    assert.equal(extended.action, "extended");
    assert.deepEqual(extended.info.config.subjects, [
      "p2.event.app.>",
      "p2.dialogevent.>",
    ]);
    assert.equal(extended.info.config.max_msgs, 12_345);
    assert.equal(extended.info.config.max_bytes, -1);
  } finally {
    await nc.close();
  }
});

async function collect(nc: NatsConnection, subject: string) {
  const seen: string[] = [];
  const sub = nc.subscribe(subject, {
    callback: (_error, msg) => void seen.push(msg.string()),
  });
  await nc.flush();
  return { seen, sub };
}

Deno.test("EventStreamPublisher stores every event with a bounded window and core subscribers get them all", async () => {
  await using nats = await startNats({ jetstream: true });
  const nc = await connect({ servers: nats.url });
  const watcher = await connect({ servers: nats.url });
  try {
    const core = await collect(watcher, "ari.event.app.n1");
    const fallback: string[] = [];
    const publisher = await EventStreamPublisher.open(nc, {
      name: "EV",
      subjects: ["ari.event.app.>"],
      window: 8,
      fallback: (subject) => fallback.push(subject),
      logger,
    });
    let maxInFlight = 0;
    for (let i = 0; i < 500; i++) {
      publisher.publish("ari.event.app.n1", encoder.encode(`{"n":${i}}`));
      maxInFlight = Math.max(maxInFlight, publisher.stats().inFlight);
    }
    assert.ok(publisher.stats().queued > 0, "events beyond the window queue");
    await waitFor(() => publisher.stats().stored === 500, {
      timeout: 20_000,
      message: "500 events stored",
    });
    assert.equal(maxInFlight, 8);
    await waitFor(() => core.seen.length === 500, {
      timeout: 10_000,
      message: "500 events on core NATS",
    });
    assert.deepEqual(
      core.seen.map((text) => JSON.parse(text).n),
      Array.from({ length: 500 }, (_, i) => i),
    );
    assert.deepEqual(fallback, []);
    const info = await (await jetstreamManager(nc)).streams.info("EV");
    assert.equal(info.state.messages, 500);
    await publisher.close();
    const stats = publisher.stats();
    assert.equal(stats.mode, "stream");
    assert.equal(stats.inFlight, 0);
    assert.equal(stats.fallback, 0);
    core.sub.unsubscribe();
  } finally {
    await watcher.close();
    await nc.close();
  }
});

Deno.test("EventStreamPublisher falls back to the core path when JetStream cannot take events", async () => {
  await using nats = await startNats(); // no JetStream
  const nc = await connect({ servers: nats.url });
  try {
    const fallback: string[] = [];
    const publisher = await EventStreamPublisher.open(nc, {
      name: "EV",
      subjects: ["ari.event.app.>"],
      retryTimeout: 0,
      ackTimeout: 1_000,
      fallback: (subject) => fallback.push(subject),
      logger,
    });
    assert.equal(publisher.stats().mode, "fallback");
    publisher.publish("ari.event.app.n1", encoder.encode("{}"));
    publisher.publish("ari.event.app.n1", encoder.encode("{}"));
    assert.equal(fallback.length, 2);
    const stats = publisher.stats();
    assert.equal(stats.fallback, 2);
    assert.equal(stats.stored, 0);
    assert.equal(stats.fallbackEpisodes, 1);
    await publisher.close();
  } finally {
    await nc.close();
  }
});

Deno.test("EventStreamPublisher hands an event the stream refuses to the core path and tries the stream again later", async () => {
  await using nats = await startNats({ jetstream: true });
  const nc = await connect({ servers: nats.url });
  try {
    const jsm = await jetstreamManager(nc);
    const fallback: string[] = [];
    const publisher = await EventStreamPublisher.open(nc, {
      name: "EV",
      subjects: ["ari.event.app.>"],
      retryTimeout: 300,
      ackTimeout: 1_000,
      retryInterval: 200,
      fallback: (subject) => fallback.push(subject),
      logger,
    });
    publisher.publish("ari.event.app.n1", encoder.encode("{}"));
    await waitFor(() => publisher.stats().stored === 1, {
      timeout: 10_000,
      message: "first event stored",
    });
    await jsm.streams.delete("EV"); // now nothing answers on the subject
    publisher.publish("ari.event.app.n1", encoder.encode("{}"));
    await waitFor(() => publisher.stats().mode === "fallback", {
      timeout: 20_000,
      message: "fallback mode",
    });
    assert.equal(fallback.length, 1, "the refused event went the core way");
    // After retryInterval a probe re-creates the stream, with no event
    // needed to trigger it.
    await waitFor(() => publisher.stats().mode === "stream", {
      timeout: 20_000,
      interval: 50,
      message: "back on the stream",
    });
    await waitFor(() => publisher.stats().inFlight === 0, {
      timeout: 10_000,
      message: "the probing publish acknowledged",
    });
    const before = publisher.stats().stored;
    publisher.publish("ari.event.app.n1", encoder.encode("{}"));
    await waitFor(() => publisher.stats().stored === before + 1, {
      timeout: 10_000,
      message: "stored again",
    });
    assert.equal(publisher.stats().fallbackEpisodes, 1);
    await publisher.close();
  } finally {
    await nc.close();
  }
});

Deno.test("EventStreamPublisher retries an unacknowledged publish until retryTimeout, then hands it to the core path", async () => {
  await using nats = await startNats({ jetstream: true });
  const nc = await connect({ servers: nats.url });
  const watcher = await connect({ servers: nats.url });
  try {
    const fallback: string[] = [];
    const publisher = await EventStreamPublisher.open(nc, {
      name: "EV",
      subjects: ["ari.event.app.>"],
      ackTimeout: 100,
      retryTimeout: 600,
      retryInterval: 60_000,
      fallback: (subject) => fallback.push(subject),
      logger,
    });
    await (await jetstreamManager(nc)).streams.delete("EV");
    // A core subscriber means interest: no "no responders", just silence.
    const core = await collect(watcher, "ari.event.app.n1");
    publisher.publish("ari.event.app.n1", encoder.encode('{"n":1}'));
    await waitFor(() => fallback.length === 1, {
      timeout: 20_000,
      message: "the unacknowledged event handed to the core path",
    });
    const stats = publisher.stats();
    assert.ok(stats.retried >= 2, `retried ${stats.retried}`);
    assert.equal(stats.inFlight, 0);
    assert.equal(stats.mode, "fallback");
    // Each attempt reached core subscribers (same Nats-Msg-Id each time).
    await waitFor(() => core.seen.length >= 3, {
      timeout: 10_000,
      message: "attempts seen on core NATS",
    });
    core.sub.unsubscribe();
    await publisher.close();
  } finally {
    await watcher.close();
    await nc.close();
  }
});

Deno.test("EventStreamPublisher stalls while the stream is gone, probes, then stores every waiting event once and in order", async () => {
  await using nats = await startNats({ jetstream: true });
  const nc = await connect({ servers: nats.url });
  try {
    const jsm = await jetstreamManager(nc);
    const fallback: string[] = [];
    const publisher = await EventStreamPublisher.open(nc, {
      name: "EV",
      subjects: ["ari.event.app.>"],
      ackTimeout: 500,
      retryTimeout: 60_000,
      retryInterval: 60_000,
      window: 20,
      fallback: (subject) => fallback.push(subject),
      logger,
    });
    await jsm.streams.delete("EV");
    for (let n = 1; n <= 20; n++) {
      publisher.publish("ari.event.app.n1", encoder.encode(`{"n":${n}}`));
    }
    await waitFor(() => publisher.stats().retried >= 2, {
      timeout: 20_000,
      message: "probing while the stream is gone",
    });
    assert.equal(publisher.stats().stored, 0);
    await jsm.streams.add({ name: "EV", subjects: ["ari.event.app.>"] });
    await waitFor(() => publisher.stats().stored === 20, {
      timeout: 20_000,
      message: "the 20 waiting events stored",
    });
    const stats = publisher.stats();
    assert.deepEqual(fallback, []);
    assert.equal(stats.mode, "stream");
    // One probe per backoff step plus one resend per failed event (19), not
    // one retry per event per step (that would be 40 after two steps).
    assert.ok(stats.retried <= 19 + 15, `retried ${stats.retried}`);
    const order: number[] = [];
    for (let seq = 1; seq <= 20; seq++) {
      const msg = await jsm.streams.getMessage("EV", { seq });
      order.push(JSON.parse(new TextDecoder().decode(msg!.data)).n);
    }
    assert.deepEqual(order, Array.from({ length: 20 }, (_, i) => i + 1));
    await publisher.close();
  } finally {
    await nc.close();
  }
});
