import assert from "node:assert/strict";
import { buildNpmPackage } from "./build_npm.ts";

async function listFiles(root: string, rel = ""): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(`${root}/${rel}`)) {
    const path = rel === "" ? entry.name : `${rel}/${entry.name}`;
    if (entry.isDirectory) files.push(...await listFiles(root, path));
    else files.push(path);
  }
  return files;
}

Deno.test("buildNpmPackage() emits JS and declarations whose relative imports all resolve, without tests", async () => {
  const out = await Deno.makeTempDir({ prefix: "ari-build-npm-" });
  try {
    const build = await buildNpmPackage({ out });
    assert.equal(build.npmName, "@jsr/ari-proxy__client");
    assert.equal(build.importName, "@ari-proxy/client");
    const manifest = JSON.parse(await Deno.readTextFile(`${out}/package.json`));
    assert.equal(manifest.type, "module");
    assert.deepEqual(manifest.exports["."], {
      types: "./mod.d.ts",
      default: "./mod.js",
    });
    assert.ok(manifest.dependencies["@nats-io/transport-node"]);

    const files = new Set(await listFiles(out));
    let checked = 0;
    assert.ok(files.has("mod.js") && files.has("mod.d.ts"));
    assert.ok(files.has("README.md") && files.has("LICENSE"));
    for (const file of files) {
      assert.doesNotMatch(
        file,
        /_test\.|_bench\.|testdata\/|\.ts$(?<!\.d\.ts)/,
      );
      if (!file.endsWith(".js") && !file.endsWith(".d.ts")) continue;
      const text = await Deno.readTextFile(`${out}/${file}`);
      const specifiers = text.matchAll(
        /(?:^|\n)\s*(?:import|export)[^"'\n]*?from\s*["'](\.{1,2}\/[^"']+)["']|import\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/g,
      );
      for (const match of specifiers) {
        const spec = match[1] ?? match[2]!;
        assert.ok(spec.endsWith(".js"), `${file} imports ${spec}`);
        const target = new URL(spec, `file:///pkg/${file}`).pathname.slice(5);
        assert.ok(files.has(target), `${file} imports missing ${spec}`);
        checked++;
      }
    }
    assert.ok(checked > 100, `only ${checked} relative imports found`);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
