import assert from "node:assert/strict";
import {
  announceSubject,
  CREATE_QUEUE_GROUP,
  DEFAULT_PREFIX,
  dialogEventSubject,
  eventSubject,
  eventSubscriptionSubject,
  isDirectKey,
  isValidToken,
  normalizePrefix,
  parseEventSubject,
  parseRequestSubject,
  pingSubject,
  requestSubject,
} from "./subjects.ts";

const NODE = "02:00:00:00:60:0d";

Deno.test("requestSubject() builds the three levels like the Go client", () => {
  assert.equal(requestSubject("ari.", "get", null), "ari.get");
  assert.equal(requestSubject("ari.", "get", {}), "ari.get");
  assert.equal(requestSubject("ari.", "data", { app: "a" }), "ari.data.a");
  assert.equal(
    requestSubject("ari.", "command", { app: "a", node: NODE }),
    `ari.command.a.${NODE}`,
  );
  // Node without app: plain class subject (golden nodeonly.ChannelList).
  assert.equal(requestSubject("ari.", "get", { node: NODE }), "ari.get");
  assert.equal(requestSubject("x.", "create", { app: "a" }), "x.create.a");
});

Deno.test("parseRequestSubject() inverts requestSubject()", () => {
  for (const cls of ["get", "data", "command", "create"] as const) {
    for (const key of [{}, { app: "a" }, { app: "a", node: NODE }]) {
      const parsed = parseRequestSubject(
        "ari.",
        requestSubject("ari.", cls, key),
      );
      assert.deepEqual(parsed, { class: cls, ...key });
    }
  }
  assert.equal(parseRequestSubject("ari.", "ari.ping"), null);
  assert.equal(parseRequestSubject("ari.", "ari.get.a.b.c"), null);
  assert.equal(parseRequestSubject("ari.", "other.get"), null);
});

Deno.test("eventSubscriptionSubject() follows the Go client's routing", () => {
  assert.equal(eventSubscriptionSubject("ari.", null), "ari.event.>");
  assert.equal(eventSubscriptionSubject("ari.", {}), "ari.event.>");
  assert.equal(
    eventSubscriptionSubject("ari.", { dialog: "d", app: "a" }),
    "ari.dialogevent.d",
  );
  assert.equal(eventSubscriptionSubject("ari.", { node: NODE }), "ari.event.>");
  assert.equal(eventSubscriptionSubject("ari.", { app: "a" }), "ari.event.a.>");
  assert.equal(
    eventSubscriptionSubject("ari.", { app: "a", node: NODE }),
    `ari.event.a.${NODE}`,
  );
});

Deno.test("parseEventSubject() reads canonical and dialog event subjects", () => {
  assert.deepEqual(parseEventSubject("ari.", eventSubject("ari.", "a", NODE)), {
    type: "event",
    app: "a",
    node: NODE,
  });
  assert.deepEqual(
    parseEventSubject("ari.", dialogEventSubject("ari.", "golden-dialog-1")),
    { type: "dialog", dialog: "golden-dialog-1" },
  );
  for (
    const s of [
      "ari.event.a",
      "ari.event.a.b.c",
      "ari.event..n",
      "ari.dialogevent.",
      "ari.get.a.b",
      "x.event.a.b",
    ]
  ) {
    assert.equal(parseEventSubject("ari.", s), null, s);
  }
});

Deno.test("subject helpers build the fixed subjects and check tokens", () => {
  assert.equal(DEFAULT_PREFIX, "ari.");
  assert.equal(CREATE_QUEUE_GROUP, "ariproxy");
  assert.equal(pingSubject("ari."), "ari.ping");
  assert.equal(announceSubject("ari."), "ari.announce");
  assert.equal(normalizePrefix("ari"), "ari.");
  assert.equal(normalizePrefix("ari."), "ari.");
  assert.equal(normalizePrefix(""), "");
  assert.ok(isDirectKey({ app: "a", node: "n" }));
  assert.ok(!isDirectKey({ app: "a" }));
  assert.ok(!isDirectKey(null));
  assert.ok(isValidToken(NODE));
  for (const t of ["", "a.b", "a b", "a*", "a>"]) {
    assert.ok(!isValidToken(t), t);
  }
});
