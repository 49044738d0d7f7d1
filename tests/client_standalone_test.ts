/**
 * The client is a package that stands alone: a program in a temp directory
 * outside the repository, with its own `deno.json` that imports
 * `@ari-proxy/client` the way a user does (`jsr:@ari-proxy/client`, linked
 * to this checkout's `client/` because JSR is not reachable from CI), runs a
 * call flow against a real Asterisk through our proxy. And
 * `deno publish --dry-run` of the package passes without warnings.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { startStack } from "./_server_util.ts";

const CLIENT_DIR = fileURLToPath(new URL("../client/", import.meta.url))
  .replace(/\/$/, "");

const PROGRAM = `
import { connect, NotFoundError } from "@ari-proxy/client";

const servers = Deno.env.get("NATS_URL")!;
const application = Deno.env.get("ARI_APP")!;
await using client = await connect({ servers, application, timeout: 10_000 });

const staged = await client.channels.stageOriginate({
  endpoint: "Local/echo@default",
  app: application,
});
const channel = staged.handle;
const started = channel.once("StasisStart", { timeout: 20_000 });
await staged.exec();
await started;
await channel.answer();
const playback = await channel.stagePlay("sound:beep");
const finished = playback.handle.once("PlaybackFinished", { timeout: 20_000 });
await playback.exec();
await finished;
const ended = channel.once("StasisEnd", { timeout: 20_000 });
await channel.hangup();
await ended;
let gone = false;
try {
  await channel.data();
} catch (error) {
  gone = error instanceof NotFoundError;
}
console.log(JSON.stringify({ channel: channel.id, node: channel.key.node, gone }));
`;

async function run(
  args: string[],
  options: { cwd: string; env?: Record<string, string> },
): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: options.cwd,
    env: { NO_COLOR: "1", ...options.env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

Deno.test("a program outside the repository imports @ari-proxy/client and runs a call through the proxy", async () => {
  await using stack = await startStack();
  const dir = await Deno.makeTempDir({ prefix: "ari-client-user-" });
  try {
    await Deno.writeTextFile(
      `${dir}/deno.json`,
      JSON.stringify(
        {
          imports: { "@ari-proxy/client": "jsr:@ari-proxy/client@^0.1.0" },
          links: [CLIENT_DIR],
        },
        null,
        2,
      ),
    );
    await Deno.writeTextFile(`${dir}/main.ts`, PROGRAM);
    const checked = await run(["check", "main.ts"], { cwd: dir });
    assert.equal(checked.code, 0, checked.stderr);
    const result = await run(
      [
        "run",
        "--allow-net",
        "--allow-env",
        "--allow-read",
        "--allow-sys",
        "main.ts",
      ],
      {
        cwd: dir,
        env: { NATS_URL: stack.nats.url, ARI_APP: stack.app },
      },
    );
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    const report = JSON.parse(result.stdout.trim().split("\n").at(-1)!);
    assert.equal(report.node, stack.node);
    assert.equal(report.gone, true);
    assert.ok(String(report.channel).length > 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno publish --dry-run of the client passes without warnings", async () => {
  const result = await run(["publish", "--dry-run", "--allow-dirty"], {
    cwd: CLIENT_DIR,
  });
  const output = `${result.stdout}\n${result.stderr}`;
  assert.equal(result.code, 0, output);
  assert.match(output, /Dry run complete/);
  assert.doesNotMatch(output, /warning/i, output);
  assert.doesNotMatch(output, /error\[/i, output);
});
