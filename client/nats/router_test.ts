import assert from "node:assert/strict";
import { errors as natsErrors } from "@nats-io/transport-node";
import {
  ClosedConnectionError,
  ConnectionError,
  PermissionDeniedError,
  ProtocolError,
  TimeoutError,
} from "../errors.ts";
import type { ClusterMember, MemberChange, MemberFilter } from "./cluster.ts";
import {
  awaitNodeMember,
  mapNatsError,
  type MemberSource,
  type NodeWaitSource,
  planRoute,
  ReplyCollector,
} from "./router.ts";

function member(
  node: string,
  application: string,
  unresponsive = false,
): ClusterMember {
  return { node, application, lastSeen: 0, unresponsive };
}

function source(...members: ClusterMember[]): MemberSource {
  return {
    matching: (filter: MemberFilter) =>
      members.filter((m) =>
        (!filter.app || m.application === filter.app) &&
        (!filter.node || m.node === filter.node)
      ),
  };
}

const TWO_APPS = source(
  member("n1", "a"),
  member("n2", "a"),
  member("n1", "b"),
);

Deno.test("planRoute() sends a key with app and node direct", () => {
  const plan = planRoute("ari.", {
    kind: "ChannelAnswer",
    key: { kind: "channel", id: "c", app: "a", node: "n1" },
  }, TWO_APPS);
  assert.equal(plan.subject, "ari.command.a.n1");
  assert.equal(plan.direct, true);
  assert.equal(plan.expected, 1);
  assert.equal(plan.mode, "single");
});

Deno.test("planRoute() broadcasts other keys and awaits every reached member", () => {
  const all = planRoute("ari.", { kind: "ChannelList", key: null }, TWO_APPS);
  assert.deepEqual(
    [all.subject, all.direct, all.expected, all.known, all.mode],
    ["ari.get", false, 3, 3, "list"],
  );
  const app = planRoute(
    "ari.",
    { kind: "ChannelData", key: { app: "a" } },
    TWO_APPS,
  );
  assert.deepEqual(
    [app.subject, app.class, app.expected, app.mode],
    ["ari.data.a", "data", 2, "single"],
  );
});

Deno.test("planRoute() awaits one reply for create (queue group) and for an unknown cluster", () => {
  const create = planRoute("ari.", {
    kind: "ChannelOriginate",
    key: null,
    channel_originate: { originate_request: { endpoint: "Local/100" } },
  }, TWO_APPS);
  assert.equal(create.subject, "ari.create");
  assert.equal(create.expected, 1);
  const empty = planRoute("ari.", { kind: "ChannelList", key: null }, source());
  assert.equal(empty.expected, 1);
  assert.equal(empty.known, 0);
});

Deno.test("planRoute() skips unresponsive members", () => {
  const plan = planRoute(
    "ari.",
    { kind: "ChannelList", key: null },
    source(member("n1", "a"), member("n2", "a", true)),
  );
  assert.equal(plan.expected, 1);
});

Deno.test("planRoute() sends a node-only key direct to a proxy of that node", () => {
  const single = planRoute(
    "ari.",
    {
      kind: "DeviceStateData",
      key: { kind: "deviceState", id: "Stasis:x", node: "n2" },
    },
    TWO_APPS,
  );
  assert.equal(single.direct, true);
  assert.equal(single.subject, "ari.data.a.n2");
  assert.equal(single.expected, 1);
  const list = planRoute(
    "ari.",
    { kind: "ChannelList", key: { node: "n2" } },
    TWO_APPS,
  );
  assert.equal(list.subject, "ari.get.a.n2");
  assert.equal(list.expected, 1);
  // The transport's own application wins when a proxy of the node serves it.
  const preferred = planRoute(
    "ari.",
    {
      kind: "AsteriskVariableSet",
      key: { kind: "variable", id: "A", node: "n1" },
    },
    TWO_APPS,
    "b",
  );
  assert.equal(preferred.subject, "ari.command.b.n1");
});

Deno.test("planRoute() broadcasts a key naming an unknown node and filters list keys", () => {
  const plan = planRoute(
    "ari.",
    { kind: "ChannelList", key: { node: "n9" } },
    TWO_APPS,
  );
  assert.equal(plan.subject, "ari.get");
  assert.equal(plan.expected, 3);
  assert.equal(plan.nodeFilter, "n9");
  const collector = new ReplyCollector(plan);
  collector.add({
    error: "",
    keys: [{ kind: "channel", id: "x", node: "n1" }],
  });
  collector.add({
    error: "",
    keys: [{ kind: "channel", id: "y", node: "n9" }],
  });
  assert.equal(collector.add({ error: "" }), true);
  assert.deepEqual(collector.result()?.keys, [
    { kind: "channel", id: "y", node: "n9" },
  ]);
});

function waitSource(members: ClusterMember[]): NodeWaitSource & {
  pings: number;
  join(m: ClusterMember): void;
} {
  const listeners = new Set<(change: MemberChange) => void>();
  const state = {
    pings: 0,
    matching: (filter: MemberFilter) =>
      members.filter((m) => !filter.node || m.node === filter.node),
    ping() {
      state.pings++;
    },
    join(m: ClusterMember) {
      members.push(m);
      for (const listener of listeners) listener({ type: "join", member: m });
    },
    memberChanges(): AsyncIterableIterator<MemberChange> {
      const queue: MemberChange[] = [];
      let wake: (() => void) | undefined;
      const listener = (change: MemberChange) => {
        queue.push(change);
        wake?.();
      };
      listeners.add(listener);
      const iterator: AsyncIterableIterator<MemberChange> = {
        async next() {
          while (queue.length === 0) {
            if (!listeners.has(listener)) {
              return { done: true, value: undefined };
            }
            await new Promise<void>((resolve) => (wake = resolve));
          }
          return { done: false, value: queue.shift()! };
        },
        return() {
          listeners.delete(listener);
          wake?.();
          return Promise.resolve({ done: true, value: undefined });
        },
        [Symbol.asyncIterator]() {
          return iterator;
        },
      };
      return iterator;
    },
  };
  return state;
}

Deno.test("awaitNodeMember() returns at once for known nodes and keys without a lone node", async () => {
  const cluster = waitSource([member("n1", "a")]);
  const options = { kind: "DeviceStateData", timeout: 10_000 };
  await awaitNodeMember(cluster, { id: "x", node: "n1" }, options);
  await awaitNodeMember(cluster, { id: "x", app: "a", node: "n7" }, options);
  await awaitNodeMember(cluster, { id: "x" }, options);
  await awaitNodeMember(cluster, null, options);
  assert.equal(cluster.pings, 0);
});

Deno.test("awaitNodeMember() does not wait for lists (they are broadcast and filtered)", async () => {
  const cluster = waitSource([member("n1", "a")]);
  await awaitNodeMember(cluster, { node: "n9" }, {
    kind: "ChannelList",
    timeout: 60_000,
  });
  assert.equal(cluster.pings, 0);
});

Deno.test("awaitNodeMember() pings and waits until the node announces itself", async () => {
  const cluster = waitSource([member("n1", "a")]);
  const waiting = awaitNodeMember(cluster, { id: "x", node: "n2" }, {
    kind: "DeviceStateData",
    timeout: 60_000,
  });
  await waitFor(() => cluster.pings === 1);
  cluster.join(member("n3", "a"));
  cluster.join(member("n2", "a"));
  await waiting;
});

Deno.test("awaitNodeMember() fails with ConnectionError when the node never announces itself", async () => {
  const cluster = waitSource([member("n1", "a")]);
  await assert.rejects(
    awaitNodeMember(cluster, { id: "x", node: "n2" }, {
      kind: "DeviceStateData",
      timeout: 1,
    }),
    (error: unknown) => {
      assert.ok(error instanceof ConnectionError);
      assert.equal(error.target, "n2");
      assert.match(error.message, /DeviceStateData.*"n2"/);
      return true;
    },
  );
});

Deno.test("awaitNodeMember() rejects with the abort reason", async () => {
  const cluster = waitSource([]);
  const controller = new AbortController();
  const waiting = awaitNodeMember(cluster, { id: "x", node: "n2" }, {
    kind: "DeviceStateData",
    timeout: 60_000,
    signal: controller.signal,
  });
  controller.abort(new Error("stop"));
  await assert.rejects(waiting, /stop/);
});

async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 1));
}

Deno.test("planRoute() sends unknown kinds as single commands", () => {
  const plan = planRoute("ari.", { kind: "NoSuchKind", key: null }, TWO_APPS);
  assert.equal(plan.subject, "ari.command");
  assert.equal(plan.mode, "single");
});

Deno.test("ReplyCollector.add() lets the first good reply win", () => {
  const plan = planRoute(
    "ari.",
    { kind: "ChannelData", key: { id: "c" } },
    TWO_APPS,
  );
  const collector = new ReplyCollector(plan);
  assert.equal(collector.add({ error: "not here" }), false);
  assert.equal(collector.add({ error: "", data: { variable: "1" } }), true);
  assert.equal(collector.add({ error: "", data: { variable: "2" } }), true);
  assert.deepEqual(collector.result(), { error: "", data: { variable: "1" } });
});

Deno.test("ReplyCollector.result() returns the last error when every reply failed", () => {
  const plan = planRoute(
    "ari.",
    { kind: "ChannelData", key: { app: "a" } },
    TWO_APPS,
  );
  const collector = new ReplyCollector(plan);
  assert.equal(collector.add({ error: "first" }), false);
  assert.equal(collector.add({ error: "second", status: 404 }), true);
  assert.deepEqual(collector.result(), { error: "second", status: 404 });
});

Deno.test("ReplyCollector.add() concatenates list keys and skips error replies", () => {
  const plan = planRoute("ari.", { kind: "ChannelList", key: null }, TWO_APPS);
  const collector = new ReplyCollector(plan);
  collector.add({ error: "", keys: [{ id: "a" }] });
  collector.add({ error: "ARI connection is down" });
  assert.equal(collector.done, false);
  assert.equal(
    collector.add({ error: "", keys: [{ id: "b" }, { id: "c" }] }),
    true,
  );
  assert.deepEqual(collector.result(), {
    error: "",
    keys: [{ id: "a" }, { id: "b" }, { id: "c" }],
  });
});

Deno.test("ReplyCollector.result() gives an empty list, an error, or nothing", () => {
  const plan = planRoute("ari.", { kind: "ChannelList", key: null }, source());
  const empty = new ReplyCollector(plan);
  empty.add({ error: "" });
  assert.deepEqual(empty.result(), { error: "", keys: [] });
  const failed = new ReplyCollector(plan);
  failed.add({ error: "ARI connection is down" });
  assert.deepEqual(failed.result(), { error: "ARI connection is down" });
  assert.equal(new ReplyCollector(plan).result(), undefined);
});

Deno.test("ReplyCollector.result() throws the decoding failure when nothing else came", () => {
  const plan = planRoute("ari.", { kind: "ChannelData", key: null }, source());
  const collector = new ReplyCollector(plan);
  const failure = new ProtocolError("Invalid response", {
    code: "invalidJson",
  });
  assert.equal(collector.fail(failure), true);
  assert.throws(() => collector.result(), ProtocolError);
});

Deno.test("mapNatsError() maps NATS errors to typed errors", () => {
  const context = { kind: "ChannelList", subject: "ari.get", timeout: 50 };
  const noResponders = mapNatsError(
    new natsErrors.RequestError("no responders", {
      cause: new natsErrors.NoRespondersError("ari.get"),
    }),
    context,
  );
  assert.ok(noResponders instanceof ConnectionError);
  assert.equal(noResponders.target, "ari.get");
  const timeout = mapNatsError(new natsErrors.TimeoutError(), context);
  assert.ok(timeout instanceof TimeoutError);
  assert.equal(timeout.operation, "ChannelList");
  assert.ok(
    mapNatsError(new natsErrors.ClosedConnectionError(), context) instanceof
      ClosedConnectionError,
  );
  assert.ok(
    mapNatsError(
      new natsErrors.RequestError("connection closed"),
      context,
    ) instanceof
      ClosedConnectionError,
  );
  assert.ok(mapNatsError("boom", context) instanceof ConnectionError);
});

Deno.test("mapNatsError() maps a permissions violation to PermissionDeniedError", () => {
  const context = { kind: "ChannelList", subject: "ari.get", timeout: 50 };
  const publish = mapNatsError(
    natsErrors.PermissionViolationError.parse(
      'Permissions Violation for Publish to "ari.get"',
    ),
    context,
  );
  assert.ok(publish instanceof PermissionDeniedError);
  assert.equal(publish.operation, "publish");
  assert.equal(publish.subject, "ari.get");
  assert.equal(publish.kind, "ChannelList");
  assert.equal(
    publish.message,
    'Cannot send request "ChannelList": NATS denies publish to "ari.get" (permissions violation)',
  );
  // The reply inbox refused (a request's mux subscription), wrapped as nats
  // request errors are.
  const raw = natsErrors.PermissionViolationError.parse(
    'Permissions Violation for Subscription to "_INBOX.abc.*" using queue "q"',
  );
  const inbox = mapNatsError(
    new natsErrors.RequestError(raw?.message ?? "", { cause: raw }),
    context,
  );
  assert.ok(inbox instanceof PermissionDeniedError);
  assert.equal(inbox.operation, "subscribe");
  assert.equal(inbox.subject, "_INBOX.abc.*");
  assert.equal(inbox.queue, "q");
  assert.equal(inbox.cause, raw);
});
