/**
 * The operator commands of the binary (`main.ts cluster | events | request`)
 * against the real stack: nats-server, Asterisk and the proxy process,
 * started as `deno task start` starts it. Each command runs as its own
 * process with the start task's command line, as an operator runs it.
 */

import assert from "node:assert/strict";
import {
  freePort,
  startAsterisk,
  startNats,
  startProxyProcess,
  startTaskCommand,
} from "./harness/mod.ts";
import { follow, type Followed } from "./_follow.ts";

const { program, args: START_ARGS, cwd } = await startTaskCommand();

/** Starts `ari-proxy <args>` as a process and follows its output. */
function spawnCli(args: string[], env: Record<string, string>): Followed {
  return follow(program, [...START_ARGS, ...args], { cwd, env });
}

async function runCli(args: string[], env: Record<string, string>) {
  return await spawnCli(args, env).finish();
}

Deno.test("ari-proxy cluster, events and request work against the real stack", async (t) => {
  await using nats = await startNats();
  await using ast = await startAsterisk({
    app: "clitool",
    allowExternal: false,
  });
  const proxyOptions = {
    httpUrl: ast.httpUrl,
    websocketUrl: ast.wsUrl,
    username: ast.username,
    password: ast.password,
    natsUrl: nats.url,
    node: ast.entityId,
  };
  await using _proxy = await startProxyProcess({
    application: "clitool",
    ...proxyOptions,
  });
  const env = { MESSAGEBUS_URL: nats.url };

  await t.step("cluster prints the member table", async () => {
    const { code, stdout, stderr } = await runCli(
      ["cluster", "--wait", "1000"],
      env,
    );
    assert.equal(code, 0, stderr);
    const lines = stdout.trim().split("\n");
    assert.match(lines[0]!, /^NODE\s+APPLICATION$/);
    assert.match(lines[1]!, new RegExp(`^${ast.entityId}\\s+clitool$`));
    assert.equal(lines.at(-1), "1 member");
  });

  await t.step("cluster --json prints one object per member", async () => {
    const { code, stdout } = await runCli(["cluster", "--json"], env);
    assert.equal(code, 0);
    assert.deepEqual(JSON.parse(stdout.trim()), {
      node: ast.entityId,
      application: "clitool",
    });
  });

  await t.step(
    "cluster --watch prints joins and leaves, and ends on SIGINT with 0",
    async () => {
      const watch = spawnCli(["cluster", "--watch", "--interval", "300"], env);
      await watch.waitOut(/1 member/);
      {
        await using _second = await startProxyProcess({
          application: "clitool2",
          ...proxyOptions,
        });
        await watch.waitOut(
          new RegExp(`joined node ${ast.entityId} application clitool2`),
        );
      }
      await watch.waitOut(
        new RegExp(`left\\s+node ${ast.entityId} application clitool2`),
      );
      watch.child.kill("SIGINT");
      const { code, stdout } = await watch.finish();
      assert.equal(code, 0);
      assert.doesNotMatch(
        stdout,
        /application clitool\n/,
        "the first member never left",
      );
    },
  );

  let channelId = "";
  await t.step(
    "events tails a StasisStart that request ChannelOriginate causes",
    async () => {
      const tail = spawnCli([
        "events",
        "--app",
        "clitool",
        "--type",
        "StasisStart",
        "--count",
        "1",
      ], env);
      await tail.waitErr(/listening on ari\.event\.clitool\.\*/);
      const originate = await runCli([
        "request",
        "ChannelOriginate",
        JSON.stringify({
          channel_originate: {
            originate_request: {
              endpoint: "Local/100@default",
              app: "clitool",
            },
          },
        }),
        "--app",
        "clitool",
      ], env);
      assert.equal(originate.code, 0, originate.stderr);
      const reply = JSON.parse(originate.stdout);
      assert.equal(reply.error, "");
      assert.equal(reply.key.kind, "channel");
      assert.equal(reply.key.node, ast.entityId);
      channelId = reply.key.id;
      const { code, stdout } = await tail.finish();
      assert.equal(code, 0);
      assert.match(
        stdout.trim(),
        new RegExp(
          `^\\d\\d:\\d\\d:\\d\\d\\.\\d{3} ${ast.entityId} clitool StasisStart channel:${channelId}$`,
        ),
      );
    },
  );

  await t.step("events --json prints the raw event", async () => {
    const tail = spawnCli([
      "events",
      "--json",
      "--type",
      "StasisEnd",
      "--count",
      "1",
    ], env);
    await tail.waitErr(/listening on ari\.event\.\*\.\*/);
    const hangup = await runCli([
      "request",
      "ChannelHangup",
      JSON.stringify({
        key: { id: channelId },
        channel_hangup: { reason: "normal" },
      }),
      "--app",
      "clitool",
      "--node",
      ast.entityId,
    ], env);
    assert.equal(hangup.code, 0, hangup.stderr);
    const { code, stdout } = await tail.finish();
    assert.equal(code, 0);
    const event = JSON.parse(stdout.trim());
    assert.equal(event.type, "StasisEnd");
    assert.equal(event.channel.id, channelId);
    assert.equal(event.asterisk_id, ast.entityId);
  });

  await t.step("request prints the reply; an error reply exits 1", async () => {
    const info = await runCli([
      "request",
      "AsteriskInfo",
      "--node",
      ast.entityId,
      "--app",
      "clitool",
    ], env);
    assert.equal(info.code, 0, info.stderr);
    assert.equal(
      JSON.parse(info.stdout).data.asterisk.system.entity_id,
      ast.entityId,
    );
    const missing = await runCli([
      "request",
      "ChannelData",
      '{"key":{"id":"no-such-channel"}}',
      "--app",
      "clitool",
    ], env);
    assert.equal(missing.code, 1);
    assert.notEqual(JSON.parse(missing.stdout).error, "");
    assert.match(missing.stderr, /ari-proxy request: ChannelData failed: /);
  });

  await t.step("bad command lines exit 2 with a clear message", async () => {
    const unknown = await runCli(["request", "NoSuchKind"], env);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /Unknown request kind "NoSuchKind"/);
    const badJson = await runCli(["request", "ChannelList", "{"], env);
    assert.equal(badJson.code, 2);
    assert.match(badJson.stderr, /Invalid JSON for "ChannelList"/);
    const badFlag = await runCli(["cluster", "--nope"], env);
    assert.equal(badFlag.code, 2);
    assert.match(badFlag.stderr, /ari-proxy cluster: Invalid command line/);
  });
});

Deno.test("ari-proxy cluster, events and request exit 1 and say so when NATS is unreachable", async () => {
  const url = `nats://127.0.0.1:${await freePort()}`;
  for (const args of [["cluster"], ["events"], ["request", "ChannelList"]]) {
    const { code, stderr } = await runCli(
      [...args, "--messagebus.url", url],
      {},
    );
    assert.equal(code, 1, `${args[0]}: ${stderr}`);
    assert.match(
      stderr.trim(),
      new RegExp(`^ari-proxy ${args[0]}: Cannot connect to NATS at ${url}: `),
    );
  }
});

Deno.test("ari-proxy cluster, events and request have --help; the proxy's --help lists them", async () => {
  for (const command of ["cluster", "events", "request"]) {
    const { code, stdout } = await runCli([command, "--help"], {});
    assert.equal(code, 0);
    assert.match(stdout, new RegExp(`^Usage: ari-proxy ${command}`));
    assert.match(stdout, /--messagebus.url <value>/);
  }
  const { code, stdout } = await runCli(["--help"], {});
  assert.equal(code, 0);
  for (const command of ["cluster", "events", "request"]) {
    assert.match(stdout, new RegExp(`ari-proxy ${command}`));
  }
});
