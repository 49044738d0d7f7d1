import assert from "node:assert/strict";
import { errors as natsErrors } from "@nats-io/transport-node";
import {
  ClosedConnectionError,
  ConnectionError,
  PermissionDeniedError,
  ProtocolError,
  TimeoutError,
} from "../errors.ts";
import type { ClusterMember, MemberFilter } from "./cluster.ts";
import {
  mapNatsError,
  type MemberSource,
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

Deno.test("planRoute() broadcasts a node-only key to every member and filters list keys", () => {
  const plan = planRoute(
    "ari.",
    { kind: "ChannelList", key: { node: "n2" } },
    TWO_APPS,
  );
  assert.equal(plan.subject, "ari.get");
  assert.equal(plan.expected, 3);
  assert.equal(plan.nodeFilter, "n2");
  const collector = new ReplyCollector(plan);
  collector.add({
    error: "",
    keys: [{ kind: "channel", id: "x", node: "n1" }],
  });
  collector.add({
    error: "",
    keys: [{ kind: "channel", id: "y", node: "n2" }],
  });
  assert.equal(collector.add({ error: "" }), true);
  assert.deepEqual(collector.result()?.keys, [
    { kind: "channel", id: "y", node: "n2" },
  ]);
});

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
