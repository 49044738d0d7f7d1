import assert from "node:assert/strict";
import { ReconnectBackoff } from "./reconnect.ts";

Deno.test("ReconnectBackoff.delay() waits briefly at first and longer as the outage lasts", () => {
  let now = 1_000;
  let random = 0;
  const backoff = new ReconnectBackoff({
    now: () => now,
    random: () => random,
  });
  assert.equal(backoff.last, 0);
  assert.equal(backoff.delay(), 100);
  random = 0.999;
  assert.equal(backoff.delay(), 200);
  now += 1_999;
  assert.ok(backoff.delay() <= 200);
  now += 1;
  assert.equal(backoff.delay(), 750);
  now += 8_000;
  assert.equal(backoff.delay(), 2_500);
  assert.equal(backoff.last, 2_500);
  backoff.reset();
  random = 0;
  assert.equal(backoff.delay(), 100);
});

Deno.test("ReconnectBackoff.delay() spreads waits by jitter", () => {
  const backoff = new ReconnectBackoff();
  const waits = new Set(Array.from({ length: 50 }, () => backoff.delay()));
  assert.ok(waits.size > 5, [...waits].join(","));
  assert.ok([...waits].every((w) => w >= 100 && w <= 200));
});
