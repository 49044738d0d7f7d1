/**
 * `deno task gen --from URL` against a real Asterisk: the description it
 * downloads is the one committed in `tools/ari-api/`, and the generator run
 * on it produces the committed `client/generated/` files.
 */
import assert from "node:assert/strict";
import {
  DEFAULT_INPUT_DIR,
  downloadDescription,
  generate,
} from "../tools/gen_ari.ts";
import { startAsterisk } from "./harness/mod.ts";

function readJsonFile(url: URL): unknown {
  return JSON.parse(Deno.readTextFileSync(url));
}

Deno.test("downloadDescription() fetches what tools/ari-api/ holds from a running Asterisk", async () => {
  await using asterisk = await startAsterisk({ allowExternal: false });
  const dir = await Deno.makeTempDir({ prefix: "ari-api-" });
  try {
    const written = await downloadDescription(asterisk.httpUrl, dir, {
      username: asterisk.username,
      password: asterisk.password,
    });
    assert.equal(written[0], "resources.json");
    const committed = [...Deno.readDirSync(DEFAULT_INPUT_DIR)]
      .filter((entry) => entry.name.endsWith(".json"))
      .map((entry) => entry.name)
      .sort();
    assert.deepEqual([...written].sort(), committed);
    const dirUrl = new URL(`file://${dir}/`);
    for (const name of written) {
      assert.deepEqual(
        readJsonFile(new URL(name, dirUrl)),
        readJsonFile(new URL(name, DEFAULT_INPUT_DIR)),
        `${name} differs from tools/ari-api/${name}`,
      );
    }
    assert.deepEqual(generate(dir), generate(DEFAULT_INPUT_DIR));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("downloadDescription() rejects wrong credentials with the HTTP status", async () => {
  await using asterisk = await startAsterisk({ allowExternal: false });
  const dir = await Deno.makeTempDir({ prefix: "ari-api-" });
  try {
    await assert.rejects(
      downloadDescription(asterisk.httpUrl, dir, {
        username: asterisk.username,
        password: "wrong",
      }),
      /Cannot download ARI description .*resources\.json": HTTP 401/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
