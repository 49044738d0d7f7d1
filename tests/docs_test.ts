/**
 * The documentation that users rely on stays true: docs/PROTOCOL.md lists
 * every request kind exactly as the kind table defines it, the README's
 * two commands are the deno.json tasks, and every command the README shows
 * in a `sh` block is run: here against a real NATS, Asterisk and proxy, or
 * by the suite named in `RUN_ELSEWHERE`, or by `.ci/run`.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { connect } from "@nats-io/transport-node";
import { KIND_TABLE } from "../client/protocol/kinds.ts";
import { startAsterisk, startNats, startProxyProcess } from "./harness/mod.ts";
import { follow, type Followed } from "./_follow.ts";

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

// ---- every command of the README is run by a test ------------------------

/** One command of a `sh` block: continuation lines joined, comment dropped. */
function readmeCommands(readme: string): string[] {
  const commands: string[] = [];
  for (const block of readme.matchAll(/```sh\n([\s\S]*?)```/g)) {
    const text = block[1]!.replace(/\\\n\s*/g, "");
    for (const raw of text.split("\n")) {
      const line = raw.replace(/\s+#.*$/, "").trim();
      if (line !== "") commands.push(line);
    }
  }
  return commands;
}

/** `VAR=value … program args`: the assignments and the words after them. */
function splitCommand(command: string): {
  env: Record<string, string>;
  words: string[];
} {
  assert.doesNotMatch(command, /['"`$|&;<>]/, `plain command: ${command}`);
  const words = command.split(/\s+/);
  const env: Record<string, string> = {};
  while (/^[A-Z_]+=/.test(words[0]!)) {
    const [name, ...value] = words.shift()!.split("=");
    env[name!] = value.join("=");
  }
  return { env, words };
}

/** Commands another suite runs, and where. */
const RUN_ELSEWHERE: { pattern: RegExp; file: string; why: string }[] = [
  {
    pattern: /^DENO_CERT=/,
    file: "tests/ari_tls_test.ts",
    why: "needs an ARI behind a private CA",
  },
  {
    pattern: /deno run --allow-net --allow-env examples\/\w+\.ts$/,
    file: "tests/examples_test.ts",
    why: "runs each example's header command against Asterisk",
  },
];

Deno.test("README.md: every command is run by a test", async (t) => {
  const readme = await Deno.readTextFile(new URL("README.md", ROOT));
  const ci = await Deno.readTextFile(new URL(".ci/run", ROOT));
  const commands = readmeCommands(readme);
  assert.ok(commands.length >= 8, "the README shows its commands");
  const local: string[] = [];
  for (const command of commands) {
    const install = command.match(/^npm install -g deno@(\S+)$/);
    if (install) {
      // .ci/run runs it on a machine without Deno; this Deno is that version.
      assert.equal(install[1], Deno.version.deno, "README installs this Deno");
      assert.match(ci, new RegExp(`DENO_VERSION="${install[1]}"`));
      assert.match(ci, /npm install -g .*"deno@\$DENO_VERSION"/);
      continue;
    }
    if (command === "deno task test") {
      // The suite cannot run itself; .ci/run runs exactly this.
      assert.match(ci, /^timeout .* deno task test 2>&1/m);
      continue;
    }
    const elsewhere = RUN_ELSEWHERE.find((e) => e.pattern.test(command));
    if (elsewhere) {
      const text = await Deno.readTextFile(new URL(elsewhere.file, ROOT));
      if (elsewhere.file === "tests/ari_tls_test.ts") {
        assert.match(
          text,
          /README\.md/,
          `${elsewhere.file} runs the README's command`,
        );
      } else {
        const file = command.split(/\s+/).at(-1)!;
        const example = await Deno.readTextFile(new URL(file, ROOT));
        const header = example.slice(0, example.indexOf("*/"))
          .match(/```sh\n([\s\S]*?)```/)![1]!
          .split("\n").map((l) => l.replace(/^\s*\*\s?/, "")).join("\n")
          .replace(/\\\n\s*/g, "").trim();
        assert.equal(
          command,
          header,
          `the README runs ${file} as its header does`,
        );
      }
      continue;
    }
    assert.match(
      command,
      /^([A-Z_]+=\S+ )*deno task (demo|start)\b/,
      `README command "${command}" is not run by any test: run it here or in RUN_ELSEWHERE`,
    );
    local.push(command);
  }

  await using nats = await startNats();
  await using ast = await startAsterisk({ app: "demo", allowExternal: false });
  const stackEnv = {
    MESSAGEBUS_URL: nats.url,
    ARI_HTTP_URL: ast.httpUrl,
    ARI_WEBSOCKET_URL: ast.wsUrl,
    ARI_USERNAME: ast.username,
    ARI_PASSWORD: ast.password,
    // Not "demo": a bare `deno task start` must be told apart from the
    // helper proxy below by its announcement.
    ARI_APPLICATION: "readme",
  };
  // A proxy for the operator commands to talk to.
  await using _proxy = await startProxyProcess({
    application: "demo",
    httpUrl: ast.httpUrl,
    websocketUrl: ast.wsUrl,
    username: ast.username,
    password: ast.password,
    natsUrl: nats.url,
    node: ast.entityId,
  });
  for (const command of local) {
    await t.step(command, async () => {
      const { env, words } = splitCommand(command);
      // The README's local NATS is this test's NATS.
      for (const [name, value] of Object.entries(env)) {
        if (value === "nats://127.0.0.1:4222") env[name] = nats.url;
      }
      const args = words.slice(1).map((w) =>
        w === "nats://127.0.0.1:4222" ? nats.url : w
      );
      const run = follow(Deno.execPath(), args, {
        cwd: fileURLToPath(ROOT),
        env: { ...stackEnv, ...env },
      });
      if (/^deno task start$/.test(words.join(" "))) {
        // The proxy: serving once it announces itself; SIGTERM stops it.
        const app = env.ARI_APPLICATION ?? stackEnv.ARI_APPLICATION;
        await announced(nats.url, app, ast.entityId, run);
        run.child.kill("SIGTERM");
      } else if (words[3] === "events") {
        await run.waitErr(/listening on /);
        run.child.kill("SIGINT");
      }
      const { code, stdout, stderr } = await run.finish();
      assert.equal(
        code,
        0,
        `${command}\nstdout:\n${stdout}\nstderr:\n${stderr}`,
      );
      if (words[3] === "cluster") {
        assert.match(stdout, new RegExp(ast.entityId));
      }
      if (words[3] === "request") assert.equal(JSON.parse(stdout).error, "");
    });
  }
});

/** Waits until a proxy of `app` on `node` answers the discovery ping. */
async function announced(
  url: string,
  app: string,
  node: string,
  run: Followed,
): Promise<void> {
  const nc = await connect({ servers: url });
  try {
    const seen = Promise.withResolvers<void>();
    const sub = nc.subscribe("ari.announce", {
      callback: (_error, msg) => {
        const a = msg.json<{ node?: string; application?: string }>();
        if (a.node === node && a.application === app) seen.resolve();
      },
    });
    const ended = run.finish().then(({ code, stderr }) => {
      throw new Error(`The proxy exited with code ${code}:\n${stderr}`);
    });
    ended.catch(() => {});
    const timer = setInterval(
      () => nc.publish("ari.ping", '{"kind":"","key":null}'),
      250,
    );
    try {
      await Promise.race([seen.promise, ended]);
    } finally {
      clearInterval(timer);
      sub.unsubscribe();
    }
  } finally {
    await nc.close();
  }
}
