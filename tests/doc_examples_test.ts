/**
 * Every JSDoc example of the client is checked. `deno test --doc` type-checks
 * and runs the plain ones; the ones that need a live Asterisk or NATS are
 * fenced `ts ignore live`, and this suite type-checks each of them and runs
 * it against real components: a NATS server, an Asterisk behind our proxy
 * (application `demo`) for the NATS examples, and a second Asterisk for the
 * native ones. The examples name the usual local addresses
 * (`127.0.0.1:4222`, `127.0.0.1:8088`), credentials `proxy`/`secret` and
 * application `demo`; only the ports are replaced by those of the
 * components started here.
 */
import assert from "node:assert/strict";
import { dirname, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { startAsterisk, startNats } from "./harness/mod.ts";
import { proxyOptions } from "./_server_util.ts";
import { startProxy } from "../lib/server.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url)).replace(/\/$/, "");
const CLIENT = `${ROOT}/client`;
const APP = "demo";
/** How long one example may run, in ms. */
const RUN_LIMIT = 90_000;

interface Example {
  /** `client/x.ts:LINE`. */
  name: string;
  /** The source file's path. */
  file: string;
  /** The code, with imports made absolute. */
  code: string;
}

function* sourceFiles(dir: string): Generator<string> {
  for (const entry of Deno.readDirSync(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) yield* sourceFiles(path);
    else if (entry.name.endsWith(".ts")) yield path;
  }
}

/** Fenced blocks of JSDoc comments: `[fence info, code, line]`. */
function* docBlocks(text: string): Generator<[string, string, number]> {
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = /^\s*\*\s?```(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const line = lines[j]!.replace(/^\s*\*\s?/, "");
      if (line.startsWith("```")) break;
      body.push(line);
    }
    yield [open[1]!.trim(), body.join("\n"), i + 1];
    i = j;
  }
}

function absolutize(code: string, file: string): string {
  const dir = dirname(file);
  return code
    .replace(
      /(from\s+|import\s*\(\s*)"(\.\.?\/[^"]+)"/g,
      (_m, lead: string, spec: string) =>
        `${lead}"${pathToFileURL(`${dir}/${spec}`).href}"`,
    )
    .replace(
      /"@ari-proxy\/client(\/testing)?"/g,
      (_m, testing: string | undefined) =>
        `"${
          pathToFileURL(`${CLIENT}/${testing ? "testing" : "mod"}.ts`).href
        }"`,
    );
}

function liveExamples(): { live: Example[]; ignored: string[] } {
  const live: Example[] = [];
  const ignored: string[] = [];
  for (const file of sourceFiles(CLIENT)) {
    const text = Deno.readTextFileSync(file);
    for (const [info, code, line] of docBlocks(text)) {
      const attrs = info.split(/\s+/);
      if (!attrs.includes("ignore")) continue;
      const name = `${relative(ROOT, file)}:${line}`;
      if (!attrs.includes("live")) {
        ignored.push(name);
        continue;
      }
      live.push({ name, file, code: absolutize(code, file) });
    }
  }
  return { live, ignored };
}

async function deno(
  args: string[],
  signal?: AbortSignal,
): Promise<{ code: number; output: string }> {
  const result = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
    ...(signal ? { signal } : {}),
  }).output();
  const decoder = new TextDecoder();
  return {
    code: result.code,
    output: decoder.decode(result.stdout) + decoder.decode(result.stderr),
  };
}

Deno.test("every ignored JSDoc example of the client is a live example this suite runs", () => {
  const { live, ignored } = liveExamples();
  assert.deepEqual(ignored, [], "examples fenced `ts ignore` without `live`");
  assert.ok(live.length >= 15, `only ${live.length} live examples found`);
});

Deno.test("the live JSDoc examples type-check and run against real NATS, proxy and Asterisk", async (t) => {
  const { live } = liveExamples();
  const dir = await Deno.makeTempDir({ prefix: "ari-doc-examples-" });
  try {
    const files = new Map<Example, string>();
    for (const [i, example] of live.entries()) {
      const path = `${dir}/example_${i}.ts`;
      await Deno.writeTextFile(path, `// ${example.name}\n${example.code}\n`);
      files.set(example, path);
    }
    const config = `${ROOT}/deno.json`;
    const checked = await deno([
      "check",
      "--frozen",
      "--config",
      config,
      ...files.values(),
    ]);
    assert.equal(checked.code, 0, checked.output);

    await using nats = await startNats();
    const [native, proxied] = await Promise.all([
      startAsterisk({ app: APP, username: "proxy", password: "secret" }),
      startAsterisk({ app: APP, username: "proxy", password: "secret" }),
    ]);
    await using _native = native;
    await using _proxied = proxied;
    await using _proxy = await startProxy(proxyOptions(proxied, nats.url));
    const natsPort = new URL(nats.url).port;
    const ariPort = new URL(native.httpUrl).port;

    for (const [example, path] of files) {
      await t.step(example.name, async () => {
        const code = example.code
          .replaceAll("127.0.0.1:4222", `127.0.0.1:${natsPort}`)
          .replaceAll("127.0.0.1:8088", `127.0.0.1:${ariPort}`);
        await Deno.writeTextFile(path, `// ${example.name}\n${code}\n`);
        const limit = AbortSignal.timeout(RUN_LIMIT);
        const running = deno([
          "run",
          "--frozen",
          "--config",
          config,
          "-P=test",
          "--no-check",
          path,
        ], limit);
        // An example waiting for a call gets calls until it ends.
        const calls = code.includes('once("StasisStart"') &&
            code.includes(`127.0.0.1:${ariPort}`)
          ? driveCalls(native.httpUrl, running)
          : Promise.resolve();
        const result = await running;
        await calls;
        assert.equal(
          result.code,
          0,
          `${example.name}\n${code}\n${result.output}`,
        );
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Originates a call into the application every 500 ms until `until` settles. */
async function driveCalls(ariUrl: string, until: Promise<unknown>) {
  let done = false;
  until.finally(() => done = true).catch(() => {});
  const auth = `Basic ${btoa("proxy:secret")}`;
  while (!done) {
    const response = await fetch(
      `${ariUrl}/channels?endpoint=Local/echo@default&app=${APP}`,
      { method: "POST", headers: { authorization: auth } },
    );
    await response.body?.cancel();
    await Promise.race([
      until.catch(() => {}),
      new Promise((resolve) => setTimeout(resolve, 500)),
    ]);
  }
}
