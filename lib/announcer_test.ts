import assert from "node:assert/strict";
import { type AnnouncerClock, createAnnouncer } from "./announcer.ts";
import type { Announcement } from "../client/protocol/types.ts";

function fakeClock() {
  const timers = new Map<number, { cb: () => void; delay: number }>();
  let next = 1;
  const clock: AnnouncerClock = {
    setInterval(cb, delay) {
      const id = next++;
      timers.set(id, { cb, delay });
      return id;
    },
    clearInterval(handle) {
      timers.delete(handle as number);
    },
  };
  return {
    clock,
    timers,
    tick() {
      for (const t of [...timers.values()]) t.cb();
    },
  };
}

function setup(interval?: number) {
  const sent: [string, string][] = [];
  const state = {
    up: true,
    who: { node: "n1", asterisk: "n1", application: "app" } as
      | Announcement
      | undefined,
    fail: false,
  };
  const errors: unknown[] = [];
  const fake = fakeClock();
  const announcer = createAnnouncer({
    subject: "ari.announce",
    publish(subject, payload) {
      if (state.fail) throw new Error("closed");
      sent.push([subject, payload]);
    },
    identity: () => state.who,
    isAriConnected: () => state.up,
    ...(interval === undefined ? {} : { interval }),
    onError: (e) => errors.push(e),
    clock: fake.clock,
  });
  return { announcer, sent, state, errors, fake };
}

Deno.test("createAnnouncer() publishes node, asterisk and application", () => {
  const { announcer, sent } = setup();
  assert.ok(announcer.announce("startup"));
  assert.deepEqual(sent, [[
    "ari.announce",
    '{"node":"n1","asterisk":"n1","application":"app"}',
  ]]);
  assert.deepEqual(announcer.stats(), { sent: 1, skipped: 0 });
});

Deno.test("createAnnouncer() stays silent while ARI is down or the node is unknown", () => {
  const { announcer, sent, state } = setup();
  state.up = false;
  assert.equal(announcer.announce("ping"), false);
  state.up = true;
  state.who = undefined;
  assert.equal(announcer.announce("ping"), false);
  assert.deepEqual(sent, []);
  assert.deepEqual(announcer.stats(), { sent: 0, skipped: 2 });
});

Deno.test("createAnnouncer() start() announces every interval until stop()", () => {
  const { announcer, sent, fake } = setup(60_000);
  announcer.start();
  announcer.start(); // idempotent
  assert.equal(fake.timers.size, 1);
  assert.equal([...fake.timers.values()][0]!.delay, 60_000);
  fake.tick();
  fake.tick();
  assert.equal(sent.length, 2);
  announcer.stop();
  announcer.stop();
  assert.equal(fake.timers.size, 0);
});

Deno.test("createAnnouncer() with interval 0 never starts a timer", () => {
  const { announcer, fake } = setup(0);
  announcer.start();
  assert.equal(fake.timers.size, 0);
  announcer.stop();
});

Deno.test("createAnnouncer() reports publish failures to onError", () => {
  const { announcer, state, errors } = setup();
  state.fail = true;
  assert.equal(announcer.announce("interval"), false);
  assert.equal(errors.length, 1);
});

Deno.test("createAnnouncer() rejects a bad interval with RangeError", () => {
  assert.throws(
    () =>
      createAnnouncer({
        subject: "s",
        publish() {},
        identity: () => undefined,
        isAriConnected: () => false,
        interval: -1,
      }),
    RangeError,
  );
});
