import assert from "node:assert/strict";
import { connect as natsConnect } from "@nats-io/transport-node";
import { AckPolicy, jetstreamManager } from "@nats-io/jetstream";
import { startNats, waitFor } from "../../tests/harness/mod.ts";
import { ConnectionError } from "../errors.ts";
import { createClient } from "../api/client.ts";
import { eventStreamInfo, validateDurableOptions } from "./durable.ts";
import { createNatsTransport } from "./transport.ts";

async function withStream(
  run: (
    url: string,
    publish: (n: number) => Promise<void>,
    pending: (name: string) => Promise<number>,
  ) => Promise<void>,
): Promise<void> {
  await using nats = await startNats({ jetstream: true });
  const nc = await natsConnect({ servers: nats.url });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "EV", subjects: ["ari.event.>"] });
    const publish = async (n: number) => {
      nc.publish(
        "ari.event.demo.n1",
        JSON.stringify({
          type: "ChannelUserevent",
          eventname: "tick",
          userevent: { n: String(n) },
          application: "demo",
          asterisk_id: "n1",
        }),
      );
      await nc.flush();
    };
    const pending = async (name: string) => {
      const info = await jsm.consumers.info("EV", name);
      return info.num_ack_pending + info.num_pending;
    };
    await run(nats.url, publish, pending);
  } finally {
    await nc.close();
  }
}

function numberOf(event: object): number {
  return Number((event as { userevent?: { n?: string } }).userevent?.n);
}

Deno.test("connect({ durable }) acknowledges after the handler ran and a new client resumes after the last handled event", async () => {
  await withStream(async (url, publish, pending) => {
    const durable = { name: "app1", start: "all" as const, ackWait: 60_000 };
    const firstTransport = await createNatsTransport({
      servers: url,
      application: "demo",
      discoveryWait: 0,
      durable,
    });
    const first = createClient(firstTransport);
    const handled: number[] = [];
    const seqs: number[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => release = resolve);
    first.on("ChannelUserevent", async (event) => {
      const n = numberOf(event);
      seqs.push(eventStreamInfo(event)!.seq);
      if (n === 3) await gate; // the third stays unhandled until released
      handled.push(n);
    });
    for (let n = 1; n <= 3; n++) await publish(n);
    await waitFor(() => handled.length === 2 && seqs.length === 3, {
      timeout: 10_000,
      message: "two events handled, the third in its handler",
    });
    assert.deepEqual(seqs, [1, 2, 3]);
    // Two acknowledged, the one in its handler is not.
    await waitFor(async () => (await pending("app1")) === 1, {
      timeout: 10_000,
      message: "one event unacknowledged",
    });
    // Closing gives the unhandled event back at once (no ackWait).
    await first.close();
    assert.deepEqual(firstTransport.stats().durable, {
      delivered: 3,
      redelivered: 0,
      acked: 2,
      naked: 1,
      invalid: 0,
    });
    release();
    await publish(4);
    const second = createClient(
      await createNatsTransport({
        servers: url,
        application: "demo",
        discoveryWait: 0,
        durable,
      }),
    );
    // [number, stream sequence]: the same stored event comes again (the
    // server may count it as a first delivery when it was the last one
    // delivered, so deliveries is not asserted).
    const again: Array<[number, number]> = [];
    second.on("ChannelUserevent", (event) => {
      const info = eventStreamInfo(event)!;
      again.push([numberOf(event), info.seq]);
    });
    await waitFor(() => again.length === 2, {
      timeout: 10_000,
      message: "the unhandled and the new event",
    });
    assert.deepEqual(again.sort(), [[3, 3], [4, 4]]);
    await waitFor(async () => (await pending("app1")) === 0, {
      timeout: 10_000,
      message: "everything acknowledged",
    });
    await second.close();
  });
});

Deno.test("connect({ durable }) acknowledges events() items once the loop asked for the next", async () => {
  await withStream(async (url, publish, pending) => {
    const transport = await createNatsTransport({
      servers: url,
      application: "demo",
      discoveryWait: 0,
      durable: { name: "loop", start: "all" },
    });
    const client = createClient(transport);
    for (let n = 1; n <= 3; n++) await publish(n);
    const got: number[] = [];
    for await (const event of client.events("ChannelUserevent")) {
      got.push(numberOf(event));
      // Everything before this one is acknowledged, this one is not.
      await waitFor(async () => (await pending("loop")) === 4 - got.length, {
        timeout: 10_000,
        message: `acknowledged up to ${got.length - 1}`,
      });
      if (got.length === 3) break;
    }
    assert.deepEqual(got, [1, 2, 3]);
    await waitFor(async () => (await pending("loop")) === 0, {
      timeout: 10_000,
      message: "the last one acknowledged after break",
    });
    assert.equal(transport.stats().durable?.acked, 3);
    await client.close();
  });
});

Deno.test("connect({ durable }) keeps a slow handler's event from being redelivered", async () => {
  await withStream(async (url, publish, pending) => {
    const transport = await createNatsTransport({
      servers: url,
      application: "demo",
      discoveryWait: 0,
      durable: { name: "slow", start: "all", ackWait: 600 },
    });
    const client = createClient(transport);
    const seen: number[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => release = resolve);
    client.on("ChannelUserevent", async (event) => {
      seen.push(eventStreamInfo(event)!.deliveries);
      await gate;
    });
    await publish(1);
    await waitFor(() => seen.length === 1, {
      timeout: 10_000,
      message: "the event in its handler",
    });
    // Well past ackWait: "in progress" signals hold the event.
    const until = Date.now() + 2_000;
    await waitFor(() => Date.now() >= until, {
      timeout: 10_000,
      interval: 100,
      message: "three ack waits",
    });
    assert.deepEqual(seen, [1], "no redelivery while the handler runs");
    release();
    await waitFor(async () => (await pending("slow")) === 0, {
      timeout: 10_000,
      message: "acknowledged after the handler",
    });
    assert.equal(transport.stats().durable?.redelivered, 0);
    await client.close();
  });
});

Deno.test("connect({ durable: { start: { seq } } }) starts a new consumer at that stream sequence", async () => {
  await withStream(async (url, publish) => {
    for (let n = 1; n <= 5; n++) await publish(n);
    await using client = createClient(
      await createNatsTransport({
        servers: url,
        application: "demo",
        discoveryWait: 0,
        durable: { name: "late", start: { seq: 4 } },
      }),
    );
    const got: number[] = [];
    client.on("ChannelUserevent", (event) => void got.push(numberOf(event)));
    await waitFor(() => got.length === 2, {
      timeout: 10_000,
      message: "events 4 and 5",
    });
    assert.deepEqual(got, [4, 5]);
  });
});

Deno.test("connect({ durable }) rejects with ConnectionError when no stream captures the events", async () => {
  await using nats = await startNats({ jetstream: true });
  await assert.rejects(
    createNatsTransport({
      servers: nats.url,
      application: "demo",
      discoveryWait: 0,
      durable: { name: "x" },
    }),
    (error: unknown) =>
      error instanceof ConnectionError &&
      /no JetStream stream captures "ari\.event\.demo\.>"/.test(error.message),
  );
});

Deno.test("connect({ durable }) rejects a consumer of that name that filters other events", async () => {
  await withStream(async (url) => {
    const nc = await natsConnect({ servers: url });
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.consumers.add("EV", {
        durable_name: "taken",
        ack_policy: AckPolicy.Explicit,
        filter_subject: "ari.event.other.>",
      });
    } finally {
      await nc.close();
    }
    await assert.rejects(
      createNatsTransport({
        servers: url,
        application: "demo",
        discoveryWait: 0,
        durable: { name: "taken" },
      }),
      /consumer "taken" of stream "EV" filters "ari\.event\.other\.>"/,
    );
  });
});

Deno.test("validateDurableOptions() names the bad option", () => {
  assert.throws(() => validateDurableOptions({ name: "a.b" }), TypeError);
  assert.throws(
    () => validateDurableOptions({ name: "a", maxAckPending: 0 }),
    /durable\.maxAckPending/,
  );
  assert.throws(
    () => validateDurableOptions({ name: "a", ackWait: -1 }),
    /durable\.ackWait/,
  );
  assert.throws(
    () => validateDurableOptions({ name: "a", start: { seq: 0 } }),
    /durable\.start\.seq/,
  );
  assert.throws(
    () => validateDurableOptions({ name: "a", start: { time: "never" } }),
    /durable\.start/,
  );
  assert.deepEqual(validateDurableOptions({ name: "a" }), {
    name: "a",
    stream: undefined,
    start: "new",
    ackWait: 30_000,
    maxAckPending: 1_000,
  });
});
