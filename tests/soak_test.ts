/**
 * A 60-second soak (`bench/soak/`) in the suite: the real cluster (3 NATS
 * servers, 2 Asterisks, 2 proxies) under call flows and user events while
 * every fault is injected, then hostile requests. Asserts the promises of
 * RELIABILITY.md, never speeds: no process crashed, every failed request
 * ended in a typed error within its timeout, no event lost outside a fault
 * window and none delivered twice, every fault recovered, nothing left
 * behind in Asterisk, every hostile request answered exactly once.
 *
 * @module
 */

import assert from "node:assert/strict";
import { runSoak } from "../bench/soak/soak.ts";

Deno.test("runSoak() for 60 s under every fault keeps the promises of RELIABILITY.md", async () => {
  const lines: string[] = [];
  const result = await runSoak({
    durationMs: 60_000,
    hostile: 3_000,
    log: (line) => lines.push(line),
  });
  const context = () =>
    `${JSON.stringify(result, null, 1).slice(0, 6_000)}\n${lines.join("\n")}`;

  assert.deepEqual(result.crashes, [], context());
  for (const lives of Object.values(result.proxies)) {
    for (const life of lives) assert.notEqual(life.ended, "crashed");
  }
  assert.equal(result.faults.length, 6, context());

  // Requests: answered, or a typed error within the timeout; nothing else.
  assert.ok(result.requests.answered > 0, context());
  assert.equal(result.requests.failedOther, 0, context());
  assert.ok(result.flows.completed > 0, context());

  // Events: none lost outside a fault window, none twice.
  assert.ok(result.events.received > 0, context());
  assert.equal(result.events.lostOutside, 0, context());
  assert.equal(result.events.duplicates, 0, context());

  // Every fault recovered: requests and events through each affected node.
  for (const fault of result.faults) {
    for (const [node, ms] of Object.entries(fault.firstRequestMs)) {
      assert.notEqual(ms, null, `${fault.name}: no request via ${node}`);
    }
    for (const [node, ms] of Object.entries(fault.firstEventMs)) {
      assert.notEqual(ms, null, `${fault.name}: no event via ${node}`);
    }
  }

  // Nothing left behind.
  for (const [node, left] of Object.entries(result.leftovers)) {
    assert.deepEqual(left, { channels: 0, bridges: 0 }, node);
  }

  // Hostile requests: each answered exactly once, with a precise error.
  const h = result.hostile;
  assert.equal(h.sent, 3_000);
  assert.equal(h.answeredOnce, h.served, JSON.stringify(h));
  assert.equal(h.unanswered, 0);
  assert.equal(h.extraReplies, 0);
  assert.equal(h.malformedReplies, 0);
  assert.equal(h.uncodedErrors, 0);
  assert.ok(h.proxyAnswers);
});
