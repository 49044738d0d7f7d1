/**
 * The examples in `examples/` run as their header comments say (the `sh`
 * command is read from the header and run as written, with the test's NATS
 * URL), against the real Asterisk through the proxy process. A test driver
 * places the calls over ARI directly (a native client of its own
 * application) and checks what each example did.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { connectNative } from "../client/mod.ts";
import {
  type AsteriskInstance,
  type NatsServer,
  startAsterisk,
  startNats,
  startProxyProcess,
  waitFor,
} from "./harness/mod.ts";
import { follow, type Followed } from "./_follow.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** The header's command: environment assignments, then `deno run …`. */
interface HeaderCommand {
  env: Record<string, string>;
  args: string[];
}

/**
 * Reads the `sh` block of an example's header comment: one command, maybe
 * continued with a backslash, of the form `VAR=value … deno run … file`.
 */
async function headerCommand(file: string): Promise<HeaderCommand> {
  const text = await Deno.readTextFile(`${ROOT}/${file}`);
  const header = text.slice(0, text.indexOf("*/"));
  const block = header.match(/```sh\n([\s\S]*?)```/);
  assert.ok(block, `${file}: the header has a sh block`);
  const line = block[1]!.split("\n").map((l) => l.replace(/^\s*\*\s?/, ""))
    .join("\n").replace(/\\\n/g, " ").trim();
  assert.ok(!line.includes("\n"), `${file}: the sh block is one command`);
  const words = line.split(/\s+/);
  const env: Record<string, string> = {};
  while (/^[A-Z_]+=/.test(words[0]!)) {
    const [name, ...value] = words.shift()!.split("=");
    env[name!] = value.join("=");
  }
  assert.equal(words[0], "deno", `${file}: the command runs deno`);
  assert.equal(words.at(-1), file, `${file}: the command runs the example`);
  return { env, args: words.slice(1) };
}

/** Runs an example as its header says, with NATS at `natsUrl`. */
async function runExample(file: string, natsUrl: string): Promise<Followed> {
  const { env, args } = await headerCommand(file);
  assert.ok(env.NATS_URL, `${file}: the command sets NATS_URL`);
  return follow(Deno.execPath(), args, {
    cwd: ROOT,
    env: { ...env, NATS_URL: natsUrl },
  });
}

/** Waits until NATS has a subscription to the events of `app` (the example listens). */
async function listening(nats: NatsServer, app: string): Promise<void> {
  await waitFor(async () => {
    const res = await fetch(`${nats.monitorUrl}/subsz?subs=1&limit=1024`);
    const body = await res.json() as {
      subscriptions_list?: { subject: string }[];
    };
    return body.subscriptions_list?.some((s) =>
      s.subject.startsWith(`ari.event.${app}.`)
    );
  }, { timeout: 30_000, message: `a subscription to ${app}'s events` });
}

async function withProxy(
  nats: NatsServer,
  ast: AsteriskInstance,
  application: string,
) {
  return await startProxyProcess({
    application,
    httpUrl: ast.httpUrl,
    websocketUrl: ast.wsUrl,
    username: ast.username,
    password: ast.password,
    natsUrl: nats.url,
    node: ast.entityId,
  });
}

Deno.test("examples/ run as their headers say, against Asterisk through the proxy", async (t) => {
  await using nats = await startNats();
  // Extension 200 enters the menu example's application.
  await using ast = await startAsterisk({ app: "menu", allowExternal: false });
  await using driver = await connectNative({
    url: ast.httpUrl,
    username: ast.username,
    password: ast.password,
    application: "example-driver",
  });
  const run = crypto.randomUUID().slice(0, 8);

  await t.step(
    "menu.ts answers, greets and plays per key; # hangs up",
    async () => {
      await using _proxy = await withProxy(nats, ast, "menu");
      const example = await runExample("examples/menu.ts", nats.url);
      try {
        await example.waitOut(/menu: serving application "menu"/);
        await listening(nats, "menu");
        // The driver's leg enters its own application once the menu answered
        // the other half (extension 200: Stasis(menu)).
        const caller = await driver.channels.stageOriginate({
          endpoint: "Local/200@default",
          app: driver.application,
          channelId: `menu-${run}`,
        });
        const up = caller.handle.once("StasisStart", { timeout: 30_000 });
        const ended = caller.handle.once("StasisEnd", { timeout: 60_000 });
        ended.catch(() => {});
        await caller.exec();
        await up;
        await example.waitOut(/menu: greeted \S+/);
        await caller.handle.sendDtmf("1");
        await example.waitOut(/pressed 1 -> sound:auth-thankyou/);
        await caller.handle.sendDtmf("7");
        await example.waitOut(/pressed 7 -> sound:pbx-invalid/);
        await caller.handle.sendDtmf("#");
        await example.waitOut(/pressed # -> goodbye/);
        await example.waitOut(/menu: hung up \S+/);
        // The menu hung up its half; the driver's half ends with it.
        await ended;
      } finally {
        example.child.kill("SIGINT");
      }
      const { code, stdout } = await example.finish();
      assert.equal(code, 0, stdout);
    },
  );

  await t.step(
    "bridge.ts bridges the caller with a second leg and cleans up",
    async () => {
      await using _proxy = await withProxy(nats, ast, "bridge");
      const example = await runExample("examples/bridge.ts", nats.url);
      try {
        await example.waitOut(/bridge: serving application "bridge"/);
        await listening(nats, "bridge");
        const callerId = `bridge-${run}`;
        await driver.channels.originate({
          endpoint: "Local/100@default",
          app: "bridge",
          channelId: callerId,
        });
        const out = await example.waitOut(
          new RegExp(`bridged ${callerId} and (\\S+) in (\\S+)`),
        );
        const [, calleeId, bridgeId] = out.match(
          new RegExp(`bridged ${callerId} and (\\S+) in (\\S+)`),
        )!;
        const bridge = await driver.bridges.handle(bridgeId!).data();
        assert.deepEqual(bridge.channels.sort(), [callerId, calleeId].sort());
        assert.equal(bridge.bridge_type, "mixing");

        await driver.channels.handle(callerId).hangup();
        await example.waitOut(
          new RegExp(`${callerId} hung up; hanging up ${calleeId}`),
        );
        await example.waitOut(new RegExp(`destroyed ${bridgeId}`));
        const bridges = (await driver.bridges.list()).map((k) => k.id);
        assert.ok(!bridges.includes(bridgeId), "the bridge is gone");
        await waitFor(async () => {
          const channels = (await driver.channels.list()).map((k) => k.id);
          return !channels.includes(calleeId) && !channels.includes(callerId);
        }, { timeout: 30_000, message: "both legs to be gone" });
      } finally {
        example.child.kill("SIGINT");
      }
      const { code, stdout } = await example.finish();
      assert.equal(code, 0, stdout);
    },
  );

  await t.step(
    "dialog.ts: each dialog receives only its own call's events",
    async () => {
      await using _proxy = await withProxy(nats, ast, "dialogs");
      const example = await runExample("examples/dialog.ts", nats.url);
      const { code, stdout } = await example.finish();
      assert.equal(code, 0, stdout);
      assert.match(stdout, /dialogs: isolated/);
      const own = stdout.match(/: \d+ events, all about its own call/g) ?? [];
      assert.equal(own.length, 2, stdout);
      for (const match of stdout.matchAll(/: (\d+) events, all about/g)) {
        assert.ok(Number(match[1]) >= 4, "each dialog saw its call's events");
      }
    },
  );
});
