import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { startNats, waitFor } from "../../tests/harness/mod.ts";
import {
  createClusterMonitor,
  type MemberChange,
  PING_BODY,
} from "./cluster.ts";
import { FakeClock } from "./testdata/fake_clock.ts";

async function take<T>(
  iterator: AsyncIterator<T>,
  count: number,
): Promise<T[]> {
  const out: T[] = [];
  while (out.length < count) {
    const next = await iterator.next();
    if (next.done) break;
    out.push(next.value);
  }
  return out;
}

Deno.test("createClusterMonitor() expires silent members after maxAge and reports join/leave", async () => {
  const clock = new FakeClock();
  using cluster = createClusterMonitor(null, { clock, maxAge: 300_000 });
  const changes = cluster.memberChanges();
  cluster.observe("n1", "app");
  clock.advance(100_000);
  cluster.observe("n2", "app");
  assert.deepEqual(cluster.members().map((m) => m.node), ["n1", "n2"]);

  clock.advance(199_999);
  assert.equal(cluster.members().length, 2);
  clock.advance(1); // n1 silent for 300 s
  assert.deepEqual(cluster.members().map((m) => m.node), ["n2"]);

  cluster.observe("n2", "app"); // refreshes n2
  clock.advance(299_999);
  assert.deepEqual(cluster.members().map((m) => m.node), ["n2"]);
  clock.advance(1);
  assert.deepEqual(cluster.members(), []);
  assert.equal(clock.pending, 0);

  const seen = (await take<MemberChange>(changes, 4)).map((c) =>
    `${c.type}:${c.member.node}`
  );
  assert.deepEqual(seen, ["join:n1", "join:n2", "leave:n1", "leave:n2"]);
});

Deno.test("createClusterMonitor() lets an expired member join again", async () => {
  const clock = new FakeClock();
  using cluster = createClusterMonitor(null, { clock, maxAge: 1_000 });
  const changes = cluster.memberChanges();
  cluster.observe("n1", "app");
  clock.advance(1_000);
  cluster.observe("n1", "app");
  const seen = (await take<MemberChange>(changes, 3)).map((c) => c.type);
  assert.deepEqual(seen, ["join", "leave", "join"]);
  assert.equal(cluster.members().length, 1);
});

Deno.test("createClusterMonitor() keys members by node and application", () => {
  const clock = new FakeClock();
  using cluster = createClusterMonitor(null, { clock });
  cluster.observe("n1", "a");
  cluster.observe("n1", "b");
  cluster.observe("n2", "a");
  cluster.observe("n1", "a");
  assert.equal(cluster.members().length, 3);
  assert.deepEqual(
    cluster.matching({ app: "a" }).map((m) => m.node),
    ["n1", "n2"],
  );
  assert.deepEqual(
    cluster.matching({ node: "n1" }).map((m) => m.application),
    ["a", "b"],
  );
});

Deno.test("createClusterMonitor() ends memberChanges() iterations on close", async () => {
  const cluster = createClusterMonitor(null, { clock: new FakeClock() });
  const changes = cluster.memberChanges();
  const next = changes.next();
  cluster.close();
  assert.equal((await next).done, true);
  assert.equal((await cluster.memberChanges().next()).done, true);
});

Deno.test("createClusterMonitor() rejects a non-positive maxAge", () => {
  assert.throws(() => createClusterMonitor(null, { maxAge: 0 }), RangeError);
});

Deno.test("createClusterMonitor() pings like Go and learns members from node or asterisk announcements", async () => {
  await using nats = await startNats();
  const nc = await connect({ servers: nats.url });
  const pings: string[] = [];
  const pingSub = nc.subscribe("ari.ping", {
    callback: (_err, msg) => {
      pings.push(msg.string());
      nc.publish("ari.announce", '{"node":"n1","application":"a"}');
      nc.publish("ari.announce", '{"asterisk":"n2","application":"a"}');
      nc.publish(
        "ari.announce",
        '{"node":"n3","asterisk":"n3","application":"b"}',
      );
      nc.publish("ari.announce", "not json");
    },
  });
  await nc.flush();
  const other = await connect({ servers: nats.url });
  const cluster = createClusterMonitor(other, { clock: new FakeClock() });
  try {
    await waitFor(() => cluster.members().length === 3, {
      timeout: 5_000,
      interval: 10,
      message: "three members",
    });
    assert.deepEqual(pings, [PING_BODY]);
    assert.deepEqual(
      cluster.members().map((m) => `${m.node}/${m.application}`),
      ["n1/a", "n2/a", "n3/b"],
    );
  } finally {
    cluster.close();
    pingSub.unsubscribe();
    await other.close();
    await nc.close();
  }
});

Deno.test("ClusterMonitor.probe() marks members that miss the probe unresponsive until they announce", async () => {
  await using nats = await startNats();
  const nc = await connect({ servers: nats.url });
  let n2Alive = true;
  const pingSub = nc.subscribe("ari.ping", {
    callback: () => {
      nc.publish("ari.announce", '{"node":"n1","application":"a"}');
      if (n2Alive) {
        nc.publish("ari.announce", '{"node":"n2","application":"a"}');
      }
    },
  });
  await nc.flush();
  const other = await connect({ servers: nats.url });
  const clock = new FakeClock();
  const cluster = createClusterMonitor(other, { clock, probeWindow: 1_000 });
  try {
    await waitFor(() => cluster.members().length === 2, { interval: 10 });
    n2Alive = false;
    clock.advance(10);
    const before = cluster.members().find((m) => m.node === "n1")!.lastSeen;
    cluster.probe();
    cluster.probe(); // ignored: one probe per window
    await waitFor(
      () => cluster.members().find((m) => m.node === "n1")!.lastSeen > before,
      { interval: 10, message: "n1 answering the probe" },
    );
    clock.advance(1_000);
    assert.deepEqual(
      cluster.members().map((m) => [m.node, m.unresponsive]),
      [["n1", false], ["n2", true]],
    );
    cluster.observe("n2", "a");
    assert.equal(cluster.members()[1]!.unresponsive, false);
  } finally {
    cluster.close();
    pingSub.unsubscribe();
    await other.close();
    await nc.close();
  }
});
