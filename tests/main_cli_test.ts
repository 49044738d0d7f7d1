/**
 * The CLI as an operator runs it: `deno task start` semantics (main.ts with
 * the `proxy` permission set), Go-style environment variables, help, version,
 * clear errors, and a clean SIGTERM shutdown.
 */

import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { startAsterisk, startNats, waitFor } from "./harness/mod.ts";

const ROOT = new URL("..", import.meta.url);

/** The `start` task of deno.json, so the test runs exactly what operators run. */
const START_TASK: string[] = JSON.parse(
  await Deno.readTextFile(new URL("deno.json", ROOT)),
).tasks.start.split(" ");

function proxyCommand(args: string[], env: Record<string, string>) {
  assert.equal(START_TASK[0], "deno");
  return new Deno.Command(Deno.execPath(), {
    args: [...START_TASK.slice(1), ...args],
    cwd: ROOT,
    env: {
      NO_COLOR: "1",
      // No $HOME/.ari-proxy.yaml, but the same Deno cache as this process.
      HOME: "/nonexistent",
      DENO_DIR: Deno.env.get("DENO_DIR") ??
        `${Deno.env.get("HOME")}/.cache/deno`,
      PATH: Deno.env.get("PATH") ?? "",
      ...env,
    },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
}

Deno.test("main() prints help with every Go flag and exits 0", async () => {
  const out = await proxyCommand(["--help"], {}).output();
  assert.equal(out.code, 0);
  const text = new TextDecoder().decode(out.stdout);
  for (
    const flag of [
      "--ari.application",
      "--ari.username",
      "--ari.password",
      "--ari.http_url",
      "--ari.websocket_url",
      "--messagebus.url",
      "--nats.url",
      "--verbose",
      "--config",
      "--version",
    ]
  ) assert.ok(text.includes(flag), `help lists ${flag}`);
});

Deno.test("main() prints the version from deno.json", async () => {
  const out = await proxyCommand(["-V"], {}).output();
  assert.equal(out.code, 0);
  const denoJson = JSON.parse(
    await Deno.readTextFile(new URL("deno.json", ROOT)),
  );
  assert.equal(new TextDecoder().decode(out.stdout).trim(), denoJson.version);
});

Deno.test("main() says in one line which settings are missing", async () => {
  const out = await proxyCommand([], {}).output();
  assert.equal(out.code, 2);
  const lines = new TextDecoder().decode(out.stderr).trim().split("\n");
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /ARI_APPLICATION/);
  assert.match(lines[0]!, /ARI_PASSWORD/);
});

Deno.test("main() runs with Go-style environment variables and stops cleanly on SIGTERM", async () => {
  await using nats = await startNats();
  await using ast = await startAsterisk({ app: "clitest" });
  const nc = await connect({ servers: nats.url });
  try {
    const announcements = nc.subscribe("ari.announce");
    const child = proxyCommand([], {
      ARI_APPLICATION: "clitest",
      ARI_USERNAME: ast.username,
      ARI_PASSWORD: ast.password,
      ARI_HTTP_URL: ast.httpUrl,
      ARI_WEBSOCKET_URL: ast.wsUrl,
      MESSAGEBUS_URL: nats.url,
    }).spawn();
    const stderr = child.stderr.pipeThrough(new TextDecoderStream());
    let log = "";
    const logDone = (async () => {
      for await (const chunk of stderr) log += chunk;
    })();
    try {
      // The proxy announces itself at start-up once ARI is connected.
      const announced = (async () => {
        for await (const msg of announcements) {
          return msg.json<Record<string, string>>();
        }
      })();
      const timer = Promise.withResolvers<never>();
      const timeout = setTimeout(
        () =>
          timer.reject(
            new Error(`No announcement within 20 s; proxy log:\n${log}`),
          ),
        20_000,
      );
      try {
        const body = await Promise.race([announced, timer.promise]);
        assert.equal(body?.application, "clitest");
        assert.equal(body?.node, ast.entityId);
      } finally {
        clearTimeout(timeout);
        announcements.unsubscribe();
      }
      const reply = await waitFor(async () => {
        try {
          return await nc.request(
            `ari.data.clitest.${ast.entityId}`,
            JSON.stringify({ kind: "AsteriskInfo", key: {} }),
            { timeout: 2000 },
          );
        } catch {
          return undefined;
        }
      }, { timeout: 20_000 });
      const info = reply.json<{ error: string; data: { asterisk: unknown } }>();
      assert.equal(info.error, "");
      assert.ok(info.data.asterisk);
      child.kill("SIGTERM");
      const status = await child.status;
      await logDone;
      assert.equal(status.code, 0, `exit code 0; log:\n${log}`);
      assert.equal(log.includes(ast.password), false, "password never logged");
      // Not a TTY: the log is JSON lines.
      const firstLine = log.trim().split("\n")[0]!;
      assert.doesNotThrow(() => JSON.parse(firstLine), firstLine);
    } finally {
      try {
        child.kill("SIGKILL");
      } catch {
        // already exited
      }
      await child.status;
      await logDone.catch(() => {});
      await child.stdout.cancel().catch(() => {});
    }
  } finally {
    await nc.close();
  }
});
