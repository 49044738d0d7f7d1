import assert from "node:assert/strict";
import { BoundedQueue } from "./_queue.ts";

function state(promise: Promise<boolean> | undefined): Promise<string> {
  assert.ok(promise, "a tracked push returns a promise");
  // A settled promise wins the race against a fresh macrotask.
  return Promise.race([
    promise.then(String),
    new Promise<string>((resolve) => setTimeout(() => resolve("pending"), 0)),
  ]);
}

Deno.test("BoundedQueue.push(track) settles true once the consumer asks for the next item", async () => {
  const queue = new BoundedQueue<number>(10);
  const first = queue.push(1, true);
  const second = queue.push(2, true);
  assert.equal((await queue.next()).value, 1);
  assert.equal(await state(first), "pending");
  assert.equal((await queue.next()).value, 2);
  assert.equal(await state(first), "true");
  assert.equal(await state(second), "pending");
  await queue.return();
  assert.equal(await state(second), "true");
});

Deno.test("BoundedQueue.push(track) to a waiting consumer settles on its next call", async () => {
  const queue = new BoundedQueue<number>(10);
  const waiting = queue.next();
  const done = queue.push(7, true);
  assert.equal((await waiting).value, 7);
  assert.equal(await state(done), "pending");
  const again = queue.next();
  assert.equal(await state(done), "true");
  queue.end();
  assert.equal((await again).done, true);
});

Deno.test("BoundedQueue.push(track) settles false when the item is dropped or the queue closed first", async () => {
  const queue = new BoundedQueue<number>(2);
  const dropped = queue.push(1, true);
  const kept = queue.push(2, true);
  const untracked = queue.push(3);
  assert.equal(untracked, undefined);
  assert.equal(await state(dropped), "false");
  assert.equal(queue.dropped, 1);
  assert.equal(await state(kept), "pending");
  queue.close();
  assert.equal(await state(kept), "false");
  assert.equal(await state(queue.push(4, true)), "false");
});

Deno.test("BoundedQueue.push(track) keeps count across untracked items and buffer compaction", async () => {
  const queue = new BoundedQueue<number>(5_000);
  for (let i = 0; i < 3_000; i++) queue.push(i);
  const tracked = queue.push(3_000, true);
  for (let i = 0; i < 3_000; i++) await queue.next();
  assert.equal(await state(tracked), "pending");
  assert.equal((await queue.next()).value, 3_000);
  assert.equal(await state(tracked), "pending");
  queue.push(3_001);
  await queue.next();
  assert.equal(await state(tracked), "true");
});
