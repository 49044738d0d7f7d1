/**
 * The documentation that users rely on stays true: docs/PROTOCOL.md lists
 * every request kind exactly as the kind table defines it, and the README's
 * two commands are the deno.json tasks.
 */

import assert from "node:assert/strict";
import { KIND_TABLE } from "../client/protocol/kinds.ts";

const ROOT = new URL("..", import.meta.url);

Deno.test("docs/PROTOCOL.md lists every kind as KIND_TABLE defines it", async () => {
  const text = await Deno.readTextFile(new URL("docs/PROTOCOL.md", ROOT));
  const documented = new Map<string, string[]>();
  for (const line of text.split("\n")) {
    const cells = line.split("|").slice(1, -1).map((c) => c.trim());
    if (cells.length === 6 && cells[0]! in KIND_TABLE) {
      documented.set(cells[0]!, cells);
    }
  }
  for (const [kind, info] of Object.entries(KIND_TABLE)) {
    const cells = documented.get(kind);
    assert.ok(cells, `docs/PROTOCOL.md lacks a row for ${kind}`);
    const [, cls, body, returns, key, origin] = cells;
    assert.equal(cls, info.class, `${kind} class`);
    const optional = "bodyOptional" in info && info.bodyOptional;
    assert.equal(
      body,
      info.body ? `\`${info.body}\`${optional ? " (optional)" : ""}` : "-",
      `${kind} body`,
    );
    assert.equal(returns, info.returns, `${kind} returns`);
    assert.equal(
      key,
      `${info.keyKind ?? "-"}${info.needsId ? " (id)" : ""}`,
      `${kind} key`,
    );
    assert.equal(origin, info.extension ? "ours" : "Go v5", `${kind} origin`);
  }
  assert.equal(documented.size, Object.keys(KIND_TABLE).length);
});

Deno.test("README.md shows the start and test tasks that deno.json defines", async () => {
  const readme = await Deno.readTextFile(new URL("README.md", ROOT));
  const config = JSON.parse(
    await Deno.readTextFile(new URL("deno.json", ROOT)),
  );
  for (const task of ["start", "test"]) {
    assert.ok(config.tasks[task], `deno.json defines the ${task} task`);
    assert.ok(readme.includes(`deno task ${task}`), `README shows ${task}`);
  }
});
