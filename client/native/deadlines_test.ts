import assert from "node:assert/strict";
import { DeadlineQueue } from "./deadlines.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("DeadlineQueue expires pending deadlines in order, never cancelled ones", async () => {
  const deadlines = new DeadlineQueue();
  const fired: string[] = [];
  const a = deadlines.add(30, () => fired.push("a"));
  const b = deadlines.add(30, () => fired.push("b"));
  deadlines.add(30, () => fired.push("c"));
  b.cancel();
  assert.equal(deadlines.lanes, 1);
  await sleep(80);
  assert.deepEqual(fired, ["a", "c"]);
  a.cancel(); // after expiry: no effect
  assert.equal(
    deadlines.lanes,
    0,
    "the lane goes once its timer found nothing",
  );
});

Deno.test("DeadlineQueue keeps separate timeout lengths apart and never fires early", async () => {
  const deadlines = new DeadlineQueue();
  const fired: [string, number][] = [];
  const start = performance.now();
  deadlines.add(60, () => fired.push(["long", performance.now() - start]));
  deadlines.add(15, () => fired.push(["short", performance.now() - start]));
  assert.equal(deadlines.lanes, 2);
  await sleep(120);
  assert.deepEqual(fired.map(([name]) => name), ["short", "long"]);
  assert.ok(fired[0]![1] >= 14, `short fired at ${fired[0]![1]} ms`);
  assert.ok(fired[1]![1] >= 59, `long fired at ${fired[1]![1]} ms`);
  assert.equal(deadlines.lanes, 0);
});

Deno.test("DeadlineQueue re-arms for a later deadline after the oldest one settles", async () => {
  const deadlines = new DeadlineQueue();
  const fired: string[] = [];
  const first = deadlines.add(40, () => fired.push("first"));
  await sleep(20);
  deadlines.add(40, () => fired.push("second"));
  first.cancel();
  await sleep(30); // 50 ms: past the first deadline, before the second
  assert.deepEqual(fired, []);
  await sleep(40);
  assert.deepEqual(fired, ["second"]);
});

Deno.test("DeadlineQueue uses one timer per length; an idle one lapses, close() stops it", async () => {
  const deadlines = new DeadlineQueue();
  const entries = Array.from(
    { length: 5_000 },
    () => deadlines.add(10_000, () => assert.fail("cancelled")),
  );
  for (const entry of entries) entry.cancel();
  assert.equal(deadlines.lanes, 1, "the timer stays armed (unreferenced)");
  deadlines.close();
  assert.equal(deadlines.lanes, 0);
  // The sanitizer fails this test if a timer were left running.

  using short = new DeadlineQueue();
  short.add(5, () => {}).cancel();
  await sleep(30);
  assert.equal(short.lanes, 0, "an idle timer fires once and is gone");
});

Deno.test("DeadlineQueue: close() drops pending deadlines", async () => {
  const deadlines = new DeadlineQueue();
  let fired = false;
  deadlines.add(10, () => fired = true);
  deadlines.close();
  await sleep(30);
  assert.equal(fired, false);
});

Deno.test("DeadlineQueue: a throwing handler does not stop the others", async () => {
  const deadlines = new DeadlineQueue();
  const fired: string[] = [];
  const errors: unknown[] = [];
  const onError = (event: ErrorEvent) => {
    event.preventDefault();
    errors.push(event.error);
  };
  globalThis.addEventListener("error", onError);
  try {
    deadlines.add(10, () => {
      throw new Error("boom");
    });
    deadlines.add(10, () => fired.push("after"));
    await sleep(50);
    assert.deepEqual(fired, ["after"]);
    assert.equal((errors[0] as Error).message, "boom");
  } finally {
    globalThis.removeEventListener("error", onError);
  }
});
