import assert from "node:assert/strict";
import { createClient } from "./client.ts";
import { createFakeTransport } from "../testing.ts";
import { eventStreamInfo } from "../nats/durable.ts";
import type { EventSink } from "../transport.ts";
import type { ProxiedEvent } from "../protocol/types.ts";

function capture() {
  const transport = createFakeTransport({ application: "demo" });
  const sinks: EventSink[] = [];
  const subscribe = transport.subscribe.bind(transport);
  transport.subscribe = (scope, sink) => {
    sinks.push(sink);
    return subscribe(scope, sink);
  };
  const client = createClient(transport);
  const send = (event: Partial<ProxiedEvent> & { type: string }) => {
    assert.equal(sinks.length, 1, "the client holds one subscription");
    return sinks[0]!({
      application: "demo",
      asterisk_id: "n1",
      ...event,
    } as ProxiedEvent);
  };
  return { client, send };
}

const position = { stream: "S", consumer: "c", seq: 1, deliveries: 1 };

function settled(value: unknown): Promise<string> {
  assert.ok(value instanceof Promise, "a tracked event returns a promise");
  return Promise.race([
    value.then(String),
    new Promise<string>((resolve) => setTimeout(() => resolve("pending"), 0)),
  ]);
}

Deno.test("client dispatch of a durable event resolves once an async on() handler settled", async () => {
  const { client, send } = capture();
  let finish!: () => void;
  const seen: number[] = [];
  client.on("ChannelUserevent", (event) => {
    seen.push(eventStreamInfo(event)?.seq ?? -1);
    return new Promise<void>((resolve) => finish = resolve);
  });
  const done = send({ type: "ChannelUserevent", jetstream: position });
  assert.deepEqual(seen, [1]);
  assert.equal(await settled(done), "pending");
  finish();
  assert.equal(await settled(done), "true");
  // Without a stream position nothing is tracked.
  assert.equal(send({ type: "ChannelUserevent" }), undefined);
  // Synchronous handlers: handled on return, nothing to wait for.
  assert.equal(send({ type: "StasisStart", jetstream: position }), undefined);
  await client.close();
});

Deno.test("client dispatch of a durable event resolves once the events() loop moved past it", async () => {
  const { client, send } = capture();
  const stream = client.events("ChannelUserevent");
  const first = send({ type: "ChannelUserevent", jetstream: position });
  const second = send({
    type: "ChannelUserevent",
    jetstream: { ...position, seq: 2 },
  });
  const iterator = stream[Symbol.asyncIterator]();
  assert.equal(eventStreamInfo((await iterator.next()).value!)?.seq, 1);
  assert.equal(await settled(first), "pending");
  assert.equal(eventStreamInfo((await iterator.next()).value!)?.seq, 2);
  assert.equal(await settled(first), "true");
  assert.equal(await settled(second), "pending");
  // Ending the loop (break) after taking it counts as handled.
  await iterator.return?.();
  assert.equal(await settled(second), "true");
  await client.close();
});

Deno.test("client dispatch of a durable event resolves false when a stream dropped it", async () => {
  const { client, send } = capture();
  const stream = client.events("ChannelUserevent", { bufferSize: 1 });
  const dropped = send({ type: "ChannelUserevent", jetstream: position });
  const kept = send({
    type: "ChannelUserevent",
    jetstream: { ...position, seq: 2 },
  });
  assert.equal(await settled(dropped), "false");
  const iterator = stream[Symbol.asyncIterator]();
  assert.equal(eventStreamInfo((await iterator.next()).value!)?.seq, 2);
  await iterator.return?.();
  assert.equal(await settled(kept), "true");
  await client.close();
});
