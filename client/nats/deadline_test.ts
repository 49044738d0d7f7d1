import assert from "node:assert/strict";
import { ConnectionError, TimeoutError } from "../errors.ts";
import { type Attempt, runWithDeadline } from "./deadline.ts";

/** An attempt that settles only at its budget (a lost request) or on abort. */
function lost(budget: number, signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    const timer = setTimeout(
      () => reject(new TimeoutError({ timeout: budget, operation: "x" })),
      budget,
    );
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason);
    }, { once: true });
  });
}

const late = () => new TimeoutError({ timeout: 300, operation: "x" });

Deno.test("runWithDeadline() fails with the caller's timeout when every attempt is lost", async () => {
  const budgets: number[] = [];
  let timeouts = 0;
  const attempt: Attempt<string> = (budget, signal) => {
    budgets.push(budget);
    return lost(budget, signal);
  };
  const error = await runWithDeadline(attempt, {
    timeout: 300,
    attempts: 3,
    timeoutError: late,
    onAttemptTimeout: () => timeouts++,
  }).then(() => undefined, (e) => e);
  assert.ok(error instanceof TimeoutError);
  assert.equal(error.timeout, 300);
  assert.equal(budgets.length, 3);
  assert.equal(budgets[0], 300);
  // Each retry gets what is left, never a whole timeout again.
  assert.ok(budgets[1]! <= 300 - 100 + 1 && budgets[2]! <= 300 - 200 + 1);
  assert.equal(timeouts, 3);
});

Deno.test("runWithDeadline() does not retry an error that is not a timeout", async () => {
  let calls = 0;
  const error = await runWithDeadline(() => {
    calls++;
    return Promise.reject(new ConnectionError("no", { target: "t" }));
  }, { timeout: 300, attempts: 3, timeoutError: late }).then(
    () => undefined,
    (e) => e,
  );
  assert.ok(error instanceof ConnectionError);
  assert.equal(calls, 1);
});

Deno.test("runWithDeadline() sends the next attempt at once when one times out early", async () => {
  let calls = 0;
  const value = await runWithDeadline((budget) => {
    calls++;
    return calls === 1
      ? Promise.reject(new TimeoutError({ timeout: budget, operation: "x" }))
      : Promise.resolve("second");
  }, { timeout: 10_000, attempts: 2, timeoutError: late });
  assert.equal(value, "second");
  assert.equal(calls, 2);
});

Deno.test("runWithDeadline() stops the other attempts once one answers", async () => {
  const stopped: unknown[] = [];
  let calls = 0;
  const value = await runWithDeadline((budget, signal) => {
    calls++;
    if (calls === 1) {
      signal.addEventListener("abort", () => stopped.push(signal.reason));
      return lost(budget, signal);
    }
    return Promise.resolve("hedge");
  }, { timeout: 200, attempts: 2, timeoutError: late });
  assert.equal(value, "hedge");
  assert.equal(stopped.length, 1);
});

Deno.test("runWithDeadline() ends with the signal's reason when aborted", async () => {
  const controller = new AbortController();
  const reason = new Error("caller gave up");
  const promise = runWithDeadline(lost, {
    timeout: 10_000,
    attempts: 2,
    signal: controller.signal,
    timeoutError: late,
  });
  controller.abort(reason);
  await assert.rejects(promise, (e) => e === reason);
  await assert.rejects(
    runWithDeadline(lost, {
      timeout: 10,
      signal: controller.signal,
      timeoutError: late,
    }),
    (e) => e === reason,
  );
});
