import assert from "node:assert/strict";
import { BODY_SCHEMAS } from "./_body_schema.ts";
import { isKindName, KIND_NAMES, KIND_TABLE, kindInfo } from "./kinds.ts";

Deno.test("KIND_TABLE lists Go's 111 kinds and our extensions consistently", () => {
  const kinds = Object.entries(KIND_TABLE);
  assert.equal(kinds.filter(([, i]) => !i.extension).length, 111);
  assert.deepEqual([...KIND_NAMES], Object.keys(KIND_TABLE).sort());
  for (const [kind, info] of kinds) {
    assert.ok(["get", "data", "command", "create"].includes(info.class), kind);
    assert.ok(["key", "keys", "data", "none"].includes(info.returns), kind);
    if (info.body !== null) assert.ok(info.body in BODY_SCHEMAS, kind);
    assert.equal(info.staged, kind.includes("Stage"), kind);
    if (info.needsId) assert.notEqual(info.keyKind, null, kind);
  }
});

Deno.test("isKindName() and kindInfo() only know own kinds", () => {
  assert.ok(isKindName("ChannelAnswer"));
  for (
    const name of ["", "toString", "__proto__", "constructor", "channelanswer"]
  ) {
    assert.ok(!isKindName(name), name);
    assert.equal(kindInfo(name), undefined, name);
  }
  assert.equal(kindInfo("BridgeCreate"), KIND_TABLE.BridgeCreate);
});
