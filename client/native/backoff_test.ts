import assert from "node:assert/strict";
import {
  computeBackoff,
  DEFAULT_BACKOFF_INITIAL,
  DEFAULT_BACKOFF_MAX,
} from "./backoff.ts";

const TOP = () => 0.9999999999999999;

Deno.test("computeBackoff() grows exponentially up to max at the top of the jitter", () => {
  const delays = [1, 2, 3, 4, 5, 6, 7, 8, 9, 50, 5000].map((n) =>
    computeBackoff(n, { random: TOP })
  );
  assert.deepEqual(delays, [
    100,
    200,
    400,
    800,
    1600,
    3200,
    6400,
    10_000,
    10_000,
    10_000,
    10_000,
  ]);
  assert.equal(DEFAULT_BACKOFF_INITIAL, 100);
  assert.equal(DEFAULT_BACKOFF_MAX, 10_000);
});

Deno.test("computeBackoff() applies full jitter over [0, ceiling]", () => {
  assert.equal(computeBackoff(4, { random: () => 0 }), 0);
  assert.equal(computeBackoff(4, { random: () => 0.5 }), 400);
  assert.equal(computeBackoff(4, { random: () => 0.25 }), 200);
  for (let i = 0; i < 1000; i++) {
    const d = computeBackoff(3);
    assert.ok(Number.isInteger(d) && d >= 0 && d <= 400, `delay ${d}`);
  }
});

Deno.test("computeBackoff() honours initial, max and factor", () => {
  const options = { initial: 10, max: 50, factor: 3, random: TOP };
  assert.deepEqual(
    [1, 2, 3, 4].map((n) => computeBackoff(n, options)),
    [10, 30, 50, 50],
  );
  assert.equal(computeBackoff(7, { initial: 0, random: TOP }), 0);
  assert.equal(computeBackoff(3, { factor: 1, random: TOP }), 100);
  assert.equal(computeBackoff(2000, { factor: 10, random: TOP }), 10_000);
});

Deno.test("computeBackoff() clamps a misbehaving random source", () => {
  assert.equal(computeBackoff(1, { random: () => 1 }), 100);
  assert.equal(computeBackoff(1, { random: () => 7 }), 100);
  assert.equal(computeBackoff(1, { random: () => -1 }), 0);
  assert.equal(computeBackoff(1, { random: () => NaN }), 0);
});

Deno.test("computeBackoff() rejects invalid arguments with RangeError", () => {
  for (const attempt of [0, -1, 1.5, NaN, Infinity]) {
    assert.throws(() => computeBackoff(attempt), RangeError);
  }
  assert.throws(() => computeBackoff(1, { initial: -1 }), RangeError);
  assert.throws(() => computeBackoff(1, { max: Infinity }), RangeError);
  assert.throws(() => computeBackoff(1, { factor: 0.5 }), RangeError);
  assert.throws(() => computeBackoff(1, { factor: NaN }), RangeError);
});
