/**
 * The client on Node and Bun, as their users get it (the npm build of the
 * package in a project of its own, `tests/runtimes/mod.ts`): the contract
 * call flow (`contract_flow.ts`) against the real Asterisk, natively and
 * through our proxy over NATS, on every runtime of `scripts/runtimes.txt`.
 * Each program also proves that nothing read the `Deno` global and that it
 * ends by itself once the client is closed.
 *
 * @module
 */

import assert from "node:assert/strict";
import { startProxy } from "../lib/server.ts";
import { startAsterisk, startNats } from "./harness/mod.ts";
import {
  createConsumerProject,
  findRuntimes,
  type ProgramRun,
  runProgram,
} from "./runtimes/mod.ts";

const PROGRAM = "tests/runtimes/contract_program.ts";
const EVENT_TIMEOUT = 20_000;

/** A user's first TypeScript program on Node (as in client/README.md). */
const FIRST_PROGRAM = `
import { type AriClient, connect, connectNative, errors } from "@ari-proxy/client";

const direct: AriClient = await connectNative({
  url: "http://127.0.0.1:8088/ari",
  username: "asterisk",
  password: "secret",
  application: "hello",
});
direct.on("StasisStart", async (event) => {
  const channel = direct.channels.handle(event.channel.id, event);
  await channel.answer();
  await channel.play("sound:hello-world");
});
const info = await direct.asterisk.info({ only: ["system"] });
console.log(info.system?.entity_id);
await direct.close();

await using viaProxy = await connect({ servers: "nats://127.0.0.1:4222", application: "hello" });
try {
  await viaProxy.channels.list();
} catch (error) {
  if (error instanceof errors.TimeoutError) console.log(error.message);
}
`;

function check(run: ProgramRun, what: string): void {
  const steps = run.lines.filter((l) => typeof l.step === "string");
  const failedSteps = steps.filter((l) => l.ok !== true);
  const done = run.lines.find((l) => l.done === true);
  const detail = `${what}: exit ${run.code}\n${
    failedSteps.map((l) => `step "${l.step}" failed: ${l.error}`).join("\n")
  }\n${JSON.stringify(done ?? null)}\n${run.text}`;
  assert.equal(failedSteps.length, 0, detail);
  assert.ok(steps.length >= 10, `every step ran: ${detail}`);
  assert.ok(done, `the program finished: ${detail}`);
  assert.equal(done.denoReads, 0, `nothing read the Deno global: ${detail}`);
  assert.equal(run.code, 0, `the program exited by itself, with 0: ${detail}`);
}

Deno.test({
  name:
    "the npm build of the client passes the call-control contract on Node and Bun, natively and over NATS",
  async fn(t) {
    const runtimes = await findRuntimes();
    await using project = await createConsumerProject([
      PROGRAM,
      "tests/contract_flow.ts",
    ]);
    const program = project.program(PROGRAM);

    await t.step(
      "tsc --strict type-checks a Node program against the package's declarations (no skipLibCheck)",
      async () => {
        await Deno.writeTextFile(
          `${project.dir}/first.ts`,
          FIRST_PROGRAM,
        );
        const tsc = await Deno.realPath(
          new URL("../node_modules/typescript/bin/tsc", import.meta.url),
        );
        const out = await new Deno.Command(runtimes[0]!.bin, {
          args: [
            tsc,
            "--noEmit",
            "--strict",
            "--target",
            "es2022",
            "--module",
            "nodenext",
            "--moduleResolution",
            "nodenext",
            "--lib",
            "esnext,dom",
            "first.ts",
          ],
          cwd: project.dir,
          stdout: "piped",
          stderr: "piped",
        }).output();
        const text = new TextDecoder().decode(out.stdout) +
          new TextDecoder().decode(out.stderr);
        assert.equal(out.code, 0, `tsc reported:\n${text}`);
      },
    );
    await using asterisk = await startAsterisk({ app: "contract" });
    const native = {
      url: asterisk.httpUrl,
      wsUrl: asterisk.wsUrl,
      username: asterisk.username,
      password: asterisk.password,
      application: asterisk.app,
    };
    // Natively first, one runtime at a time: only one events WebSocket per
    // application is open at once.
    for (const runtime of runtimes) {
      await t.step(`${runtime.label}: native transport`, async () => {
        const run = await runProgram(runtime, project, program, {
          mode: "native",
          eventTimeout: EVENT_TIMEOUT,
          native,
        });
        check(run, `${runtime.label} native`);
      });
    }

    await using nats = await startNats();
    const proxy = await startProxy({
      ari: {
        application: asterisk.app,
        username: asterisk.username,
        password: asterisk.password,
        httpUrl: asterisk.httpUrl,
        websocketUrl: asterisk.wsUrl,
      },
      nats: { servers: [nats.url] },
    });
    try {
      for (const runtime of runtimes) {
        await t.step(`${runtime.label}: NATS through the proxy`, async () => {
          const run = await runProgram(runtime, project, program, {
            mode: "nats",
            eventTimeout: EVENT_TIMEOUT,
            nats: {
              servers: nats.url,
              application: asterisk.app,
              timeout: 15_000,
              discoveryWait: 2_000,
            },
          });
          check(run, `${runtime.label} NATS`);
        });
      }
    } finally {
      await proxy.close();
    }
  },
});
