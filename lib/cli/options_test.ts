import assert from "node:assert/strict";
import { helpText } from "../config.ts";
import { commandHelp, parseCommand, UsageError } from "./options.ts";

Deno.test("commandHelp() lists the proxy's NATS flags with the proxy's environment variables", () => {
  const proxy = helpText("0.0.0");
  const lines = commandHelp("Usage: x", {}).split("\n")
    .filter((line) => /^\s+--\S+ <value>/.test(line));
  assert.ok(lines.length >= 10);
  for (const line of lines) {
    const [, flag, env] = line.match(/(--\S+) <value>.*\[(\w+)\]$/)!;
    const proxyLine = proxy.split("\n").find((l) => l.includes(`${flag} `));
    assert.ok(proxyLine, `the proxy has ${flag}`);
    assert.ok(proxyLine.endsWith(`[${env}]`), `${flag} reads ${env} in both`);
  }
});

Deno.test("parseCommand() takes flags before the environment, as the proxy does", () => {
  const env = { MESSAGEBUS_URL: "nats://env:4222", ARI_PROXY_PREFIX: "pbx" };
  const fromEnv = parseCommand([], env, {});
  assert.ok(fromEnv !== "help");
  assert.deepEqual(fromEnv.nats.servers, ["nats://env:4222"]);
  assert.equal(fromEnv.prefix, "pbx.");
  const fromFlag = parseCommand(
    ["--messagebus.url", "nats://a:1,nats://b:2"],
    env,
    {},
  );
  assert.ok(fromFlag !== "help");
  assert.deepEqual(fromFlag.nats.servers, ["nats://a:1", "nats://b:2"]);
  assert.equal(parseCommand(["-h"], {}, {}), "help");
});

Deno.test("parseCommand() rejects unknown flags and conflicting credentials with a UsageError", () => {
  assert.throws(() => parseCommand(["--bogus"], {}, {}), UsageError);
  assert.throws(
    () => parseCommand(["--nats.user", "u", "--nats.token", "t"], {}, {}),
    /mutually exclusive/,
  );
  assert.throws(
    () => parseCommand(["--nats.tls_cert", "c.pem"], {}, {}),
    /go together/,
  );
});
