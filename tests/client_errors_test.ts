/**
 * One error class per ARI status, whichever path answered: the native
 * transport and our proxy against the real Asterisk, and every error reply
 * of the Go ari-proxy v5 in the golden corpus.
 */
import assert from "node:assert/strict";
import {
  type AriClient,
  BadRequestError,
  ConflictError,
  connect,
  connectNative,
  createClient,
  NotFoundError,
  RemoteError,
  UnprocessableEntityError,
} from "../client/mod.ts";
import { createFakeTransport } from "../client/testing.ts";
import type { Response } from "../client/protocol/types.ts";
import { startStack } from "./_server_util.ts";

const CLASS_OF: Record<number, typeof RemoteError> = {
  400: BadRequestError,
  404: NotFoundError,
  409: ConflictError,
  422: UnprocessableEntityError,
};

async function rejectsWith(
  call: Promise<unknown>,
  cls: typeof RemoteError,
  status: number,
): Promise<void> {
  await assert.rejects(call, (error: unknown) => {
    assert.ok(error instanceof cls, `expected ${cls.name}, got ${error}`);
    assert.equal((error as RemoteError).status, status);
    return true;
  });
}

async function statuses(client: AriClient, app: string): Promise<void> {
  // 404: a channel that does not exist.
  await rejectsWith(
    client.channels.handle("no-such-channel").answer(),
    NotFoundError,
    404,
  );
  // 409: loading a module that does not exist.
  await rejectsWith(
    client.asterisk.modules.load("no_such_module.so"),
    ConflictError,
    409,
  );
  const bridge = await client.bridges.create({ type: "mixing" });
  // 400: removing a channel that does not exist from a bridge.
  await rejectsWith(
    bridge.removeChannel("no-such-channel"),
    BadRequestError,
    400,
  );
  // 422: removing a channel (in the application) that is not in the bridge.
  const staged = await client.channels.stageOriginate({
    endpoint: "Local/echo@default",
    app,
  });
  const started = staged.handle.once("StasisStart", { timeout: 20_000 });
  await staged.exec();
  await started;
  await rejectsWith(
    bridge.removeChannel(staged.handle.id),
    UnprocessableEntityError,
    422,
  );
  await staged.handle.hangup();
  // 400: subscribing the application to an invalid event source.
  await rejectsWith(
    client.applications.handle(app).subscribe("nothing:here"),
    BadRequestError,
    400,
  );
  await bridge.delete();
}

Deno.test("native and NATS clients throw the same error class for the same ARI status", async (t) => {
  await using stack = await startStack();
  await using native = await connectNative({
    url: stack.ast.httpUrl,
    username: stack.ast.username,
    password: stack.ast.password,
    application: `${stack.app}-native`,
  });
  await using nats = await connect({
    servers: stack.nats.url,
    application: stack.app,
  });
  await t.step("native", () => statuses(native, native.application));
  await t.step("NATS, our proxy", () => statuses(nats, nats.application));
});

Deno.test("every error reply of the Go proxy in the golden corpus maps to the class of its status", async () => {
  const text = await Deno.readTextFile(
    new URL("testdata/golden/requests.jsonl", import.meta.url),
  );
  const transport = createFakeTransport();
  await using client = createClient(transport);
  let checked = 0;
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const record = JSON.parse(line);
    for (const reply of (record.responses ?? []) as Response[]) {
      if (!reply?.error || /^not implemented$/i.test(reply.error)) continue;
      const go = /Non-2XX response: (\d{3})/.exec(reply.error);
      const status = go
        ? Number(go[1])
        : /(^|: )not found$/i.test(reply.error)
        ? 404
        : undefined;
      const expected = (status && CLASS_OF[status]) || RemoteError;
      transport.respond("ChannelAnswer", reply);
      await assert.rejects(
        client.channels.handle("c").answer(),
        (error: unknown) => {
          assert.ok(error instanceof RemoteError, String(error));
          if (expected !== RemoteError) {
            assert.ok(error instanceof expected, `${reply.error}: ${error}`);
            assert.equal(error.status, status);
          }
          return true;
        },
      );
      checked++;
    }
  }
  assert.ok(checked >= 40, `only ${checked} error replies in the corpus`);
});
