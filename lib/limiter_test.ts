import assert from "node:assert/strict";
import { createLimiter } from "./limiter.ts";

function gate() {
  let open!: () => void;
  let fail!: (e: unknown) => void;
  const promise = new Promise<void>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  return { promise, open, fail };
}

async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

Deno.test("createLimiter() runs up to maxConcurrency tasks at once", async () => {
  const limiter = createLimiter({ maxConcurrency: 2, maxQueued: 0 });
  const a = gate(), b = gate();
  let started = 0;
  assert.ok(limiter.tryRun(() => (started++, a.promise)));
  assert.ok(limiter.tryRun(() => (started++, b.promise)));
  assert.equal(limiter.tryRun(() => Promise.resolve()), false);
  assert.equal(started, 2);
  assert.deepEqual(limiter.stats(), {
    active: 2,
    queued: 0,
    accepted: 2,
    rejected: 1,
    completed: 0,
  });
  a.open();
  b.open();
  await limiter.idle();
  assert.equal(limiter.stats().completed, 2);
  assert.equal(limiter.stats().active, 0);
});

Deno.test("createLimiter() queues in FIFO order and starts the next task when one ends", async () => {
  const limiter = createLimiter({ maxConcurrency: 1, maxQueued: 3 });
  const order: number[] = [];
  const gates = [gate(), gate(), gate(), gate()];
  for (let i = 0; i < 4; i++) {
    assert.ok(limiter.tryRun(() => (order.push(i), gates[i]!.promise)));
  }
  assert.equal(limiter.tryRun(() => Promise.resolve()), false);
  assert.deepEqual(order, [0]);
  assert.equal(limiter.stats().queued, 3);
  gates[0]!.open();
  await flush();
  assert.deepEqual(order, [0, 1]);
  gates[1]!.open();
  gates[2]!.open();
  gates[3]!.open();
  await limiter.idle();
  assert.deepEqual(order, [0, 1, 2, 3]);
  assert.equal(limiter.stats().queued, 0);
});

Deno.test("createLimiter() frees the slot of a task that rejects or throws", async () => {
  const errors: unknown[] = [];
  const limiter = createLimiter(
    { maxConcurrency: 1, maxQueued: 0 },
    (e) => errors.push(e),
  );
  const g = gate();
  assert.ok(limiter.tryRun(() => g.promise));
  g.fail(new Error("boom"));
  await limiter.idle();
  assert.ok(limiter.tryRun(() => {
    throw new Error("sync");
  }));
  await limiter.idle();
  assert.equal(errors.length, 2);
  assert.ok(limiter.tryRun(() => Promise.resolve()));
  await limiter.idle();
  assert.equal(limiter.stats().completed, 3);
});

Deno.test("createLimiter() idle() resolves at once when nothing runs", async () => {
  const limiter = createLimiter();
  await limiter.idle();
  assert.equal(limiter.stats().active, 0);
});

Deno.test("createLimiter() keeps a long queue bounded while draining", async () => {
  const limiter = createLimiter({ maxConcurrency: 1, maxQueued: 5000 });
  let done = 0;
  for (let i = 0; i < 5001; i++) {
    assert.ok(limiter.tryRun(() => (done++, Promise.resolve())));
  }
  await limiter.idle();
  assert.equal(done, 5001);
  assert.equal(limiter.stats().queued, 0);
});

Deno.test("createLimiter() rejects invalid limits with RangeError", () => {
  assert.throws(() => createLimiter({ maxConcurrency: 0 }), RangeError);
  assert.throws(() => createLimiter({ maxConcurrency: 1.5 }), RangeError);
  assert.throws(() => createLimiter({ maxQueued: -1 }), RangeError);
});
