/**
 * The repository stands alone: no source file resolves a relative path that
 * leaves the repository (a clone has nothing beside it), and the data the
 * tests and the generator read is committed.
 */
import assert from "node:assert/strict";
import { relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
/** The project notes beside a developer's checkout (never beside a clone). */
const SIBLING_NOTES = ["..", "shared", ""].join("/");
const SKIP_DIRS = new Set([".git", "node_modules", "dist", "coverage"]);

function* sourceFiles(dir: string): Generator<string> {
  for (const entry of Deno.readDirSync(dir)) {
    if (SKIP_DIRS.has(entry.name)) continue;
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) yield* sourceFiles(path);
    else if (/\.(ts|tsx|js|mjs|sh|json|yml|yaml)$/.test(entry.name)) {
      yield path;
    } else if (entry.name === "run" && dir.endsWith("/.ci")) yield path;
  }
}

/** Relative paths resolved against a file's own location. */
const RELATIVE_URL =
  /new URL\(\s*["'`](\.\.?\/[^"'`$]*)["'`]\s*,\s*import\.meta\.url/g;

Deno.test("no source file resolves a path outside the repository", () => {
  const escapes: string[] = [];
  for (const file of sourceFiles(ROOT.replace(/\/$/, ""))) {
    const text = Deno.readTextFileSync(file);
    for (const match of text.matchAll(RELATIVE_URL)) {
      const target = resolve(file, "..", match[1]!);
      if (relative(ROOT, target).startsWith("..")) {
        escapes.push(`${relative(ROOT, file)}: ${match[1]}`);
      }
    }
    if (text.includes(SIBLING_NOTES)) {
      escapes.push(`${relative(ROOT, file)}: names ${SIBLING_NOTES}`);
    }
  }
  assert.deepEqual(escapes, []);
});

Deno.test("the golden corpus, the kind table and the ARI description are committed", () => {
  for (
    const path of [
      "tests/testdata/golden/requests.jsonl",
      "tests/testdata/golden/events.jsonl",
      "tests/testdata/golden/raw_vs_proxied.jsonl",
      "tests/testdata/golden/announce_ping.jsonl",
      "tests/testdata/kinds.tsv",
      "tools/ari-api/resources.json",
      "tools/ari-api/events.json",
    ]
  ) {
    assert.ok(
      Deno.statSync(`${ROOT}${path}`).size > 0,
      `${path} is empty`,
    );
  }
});
