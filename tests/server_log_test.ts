/**
 * Every request's fate in the log: with `-v`, one structured line per
 * request (kind, key, node, outcome, duration), in both log formats; at
 * info level no per-request lines; and no secret (ARI password, NATS
 * password, NATS token) in any form, in any format.
 *
 * The CLI runs as an operator runs it (the `start` task), against a real
 * NATS that requires the credentials and a real Asterisk.
 *
 * @module
 */

import assert from "node:assert/strict";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import {
  type AsteriskInstance,
  startAsterisk,
  startNats,
  waitFor,
} from "./harness/mod.ts";

const ROOT = new URL("..", import.meta.url);
const START_TASK: string[] = JSON.parse(
  await Deno.readTextFile(new URL("deno.json", ROOT)),
).tasks.start.split(" ");

const ARI_SECRET = "ari-Pw-7c1e9f";
const NATS_SECRET = "nats-Pw-52ab0d";
const TOKEN_SECRET = "nats-Tok-d41f3a";

/** Every form a secret could take in a log: plain, URL- and JSON-escaped, base64 in Basic auth. */
function secretForms(user: string, secret: string): string[] {
  return [
    secret,
    encodeURIComponent(secret),
    JSON.stringify(secret).slice(1, -1),
    btoa(`${user}:${secret}`),
    btoa(secret),
  ];
}

interface Run {
  log: string;
  code: number;
}

/** Runs the CLI until it serves, sends `requests`, stops it with SIGTERM. */
async function runProxy(
  ast: AsteriskInstance,
  env: Record<string, string>,
  args: string[],
  requests: (nc: NatsConnection) => Promise<void>,
  clientAuth: { user?: string; pass?: string; token?: string },
  natsUrl: string,
): Promise<Run> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [...START_TASK.slice(1), ...args],
    cwd: ROOT,
    env: {
      NO_COLOR: "1",
      HOME: "/nonexistent",
      DENO_DIR: Deno.env.get("DENO_DIR") ??
        `${Deno.env.get("HOME")}/.cache/deno`,
      PATH: Deno.env.get("PATH") ?? "",
      ARI_APPLICATION: ast.app,
      ARI_USERNAME: ast.username,
      ARI_PASSWORD: ast.password,
      ARI_HTTP_URL: ast.httpUrl,
      ARI_WEBSOCKET_URL: ast.wsUrl,
      MESSAGEBUS_URL: natsUrl,
      ...env,
    },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let log = "";
  const drained = Promise.all([
    (async () => {
      for await (
        const chunk of child.stderr.pipeThrough(new TextDecoderStream())
      ) log += chunk;
    })(),
    child.stdout.cancel(),
  ]);
  try {
    const nc = await connect({ servers: natsUrl, ...clientAuth });
    try {
      await waitFor(async () => {
        try {
          const reply = await nc.request(
            `ari.data.${ast.app}.${ast.entityId}`,
            JSON.stringify({ kind: "AsteriskInfo", key: {} }),
            { timeout: 2_000 },
          );
          return reply.json<{ error: string }>().error === "";
        } catch {
          return false;
        }
      }, { timeout: 30_000, message: `the proxy to serve; log:\n${log}` });
      await requests(nc);
    } finally {
      await nc.close();
    }
  } finally {
    child.kill("SIGTERM");
  }
  const status = await child.status;
  await drained;
  return { log, code: status.code };
}

function assertNoSecrets(log: string): void {
  for (
    const form of [
      ...secretForms("proxy", ARI_SECRET),
      ...secretForms("natsuser", NATS_SECRET),
      ...secretForms("", TOKEN_SECRET),
    ]
  ) {
    assert.equal(log.includes(form), false, `log contains "${form}":\n${log}`);
  }
}

async function someRequests(
  nc: NatsConnection,
  ast: AsteriskInstance,
): Promise<void> {
  const subject = `ari.get.${ast.app}.${ast.entityId}`;
  const ok = await nc.request(
    subject,
    JSON.stringify({
      kind: "ApplicationList",
      key: { app: ast.app, node: ast.entityId },
    }),
    { timeout: 10_000 },
  );
  assert.equal(ok.json<{ error: string }>().error, "");
  const unknown = await nc.request(
    subject,
    JSON.stringify({ kind: "NoSuchKind", key: {} }),
    { timeout: 10_000 },
  );
  assert.equal(unknown.json<{ error: string }>().error, "Not implemented");
  const missing = await nc.request(
    `ari.command.${ast.app}.${ast.entityId}`,
    JSON.stringify({
      kind: "ChannelAnswer",
      key: { kind: "channel", id: "log-test-missing", node: ast.entityId },
    }),
    { timeout: 10_000 },
  );
  assert.notEqual(missing.json<{ error: string }>().error, "");
}

Deno.test("main() logs one debug line per request and never a secret, in JSON and text", async () => {
  await using ast = await startAsterisk({
    app: "logtest",
    password: ARI_SECRET,
  });

  // JSON lines, user and password.
  {
    await using nats = await startNats({
      config: `authorization { user: natsuser, password: "${NATS_SECRET}" }\n`,
    });
    const run = await runProxy(
      ast,
      { NATS_USER: "natsuser", NATS_PASSWORD: NATS_SECRET },
      ["-v", "--log.format", "json"],
      (nc) => someRequests(nc, ast),
      { user: "natsuser", pass: NATS_SECRET },
      nats.url,
    );
    assert.equal(run.code, 0, run.log);
    assertNoSecrets(run.log);
    const records = run.log.trim().split("\n").map((line) => JSON.parse(line));
    const requests = records.filter((r) =>
      typeof r.properties?.outcome === "string" &&
      String(r.message).startsWith("Request ")
    );
    const byKind = (kind: string) =>
      requests.filter((r) => r.properties.kind === kind);
    // The readiness probe's AsteriskInfo requests are logged too: at least one.
    assert.ok(byKind("AsteriskInfo").length >= 1);
    for (
      const [kind, outcome] of [
        ["ApplicationList", "ok"],
        ["", "not_implemented"],
        ["ChannelAnswer", "ari_error"],
      ]
    ) {
      const lines = byKind(kind!);
      assert.equal(lines.length, 1, `one line for ${kind}: ${run.log}`);
      const p = lines[0].properties;
      assert.equal(lines[0].level, "DEBUG");
      assert.equal(p.outcome, outcome);
      assert.equal(p.node, ast.entityId);
      assert.equal(p.application, ast.app);
      assert.equal(typeof p.duration, "number");
      assert.ok(p.duration >= 0);
      assert.ok("key" in p);
    }
    assert.deepEqual(
      byKind("ChannelAnswer")[0].properties.key.id,
      "log-test-missing",
    );
  }

  // Readable text, token.
  {
    await using nats = await startNats({
      config: `authorization { token: "${TOKEN_SECRET}" }\n`,
    });
    const run = await runProxy(
      ast,
      { NATS_TOKEN: TOKEN_SECRET },
      ["-v", "--log.format", "text"],
      (nc) => someRequests(nc, ast),
      { token: TOKEN_SECRET },
      nats.url,
    );
    assert.equal(run.code, 0, run.log);
    assertNoSecrets(run.log);
    const lines = run.log.split("\n").filter((l) => /Request /.test(l));
    const answer = lines.filter((l) => l.includes("ChannelAnswer"));
    assert.equal(answer.length, 1, run.log);
    assert.match(answer[0]!, /DBG/);
    assert.match(answer[0]!, /"ari_error" in [\d.]+ ms/);
    assert.ok(answer[0]!.includes(ast.entityId), answer[0]);
    assert.ok(answer[0]!.includes("log-test-missing"), answer[0]);
  }

  // Info level: no per-request lines.
  {
    await using nats = await startNats({
      config: `authorization { user: natsuser, password: "${NATS_SECRET}" }\n`,
    });
    const run = await runProxy(
      ast,
      { NATS_USER: "natsuser", NATS_PASSWORD: NATS_SECRET },
      ["--log.format", "json"],
      (nc) => someRequests(nc, ast),
      { user: "natsuser", pass: NATS_SECRET },
      nats.url,
    );
    assert.equal(run.code, 0, run.log);
    assertNoSecrets(run.log);
    const records = run.log.trim().split("\n").map((line) => JSON.parse(line));
    assert.ok(records.length > 0);
    for (const r of records) {
      assert.notEqual(r.level, "DEBUG", JSON.stringify(r));
      assert.equal(String(r.message).startsWith("Request "), false);
    }
  }
});
