/**
 * The events the handles document arrive from the real Asterisk: a bridge's
 * `BridgeDestroyed` after the application's channels left it, and a snoop
 * channel's `ChannelDestroyed` after its `StasisEnd` (it comes when the
 * snooped channel goes away). Asterisk sends those only to applications
 * subscribed to the entity; the client subscribes its application when a
 * listener asks for them. Both transports.
 */
import assert from "node:assert/strict";
import { type AriClient, connect, connectNative } from "../client/mod.ts";
import { startStack } from "./_server_util.ts";

const WAIT = { timeout: 5_000 };

async function inStasis(client: AriClient, app: string) {
  const staged = await client.channels.stageOriginate({
    endpoint: "Local/echo@default",
    app,
  });
  const started = staged.handle.once("StasisStart", WAIT);
  await staged.exec();
  await started;
  return staged.handle;
}

async function bridgeDestroyedAfterChannelsLeft(
  client: AriClient,
  app: string,
) {
  const channel = await inStasis(client, app);
  const bridge = await client.bridges.create({ type: "mixing" });
  const entered = bridge.once("ChannelEnteredBridge", WAIT);
  await bridge.addChannel(channel.id);
  await entered;
  const left = bridge.once("ChannelLeftBridge", WAIT);
  await bridge.removeChannel(channel.id);
  await left;
  // No channel of the application is in the bridge any more.
  const destroyed = bridge.once("BridgeDestroyed", WAIT);
  await bridge.delete();
  const event = await destroyed;
  assert.equal(event.bridge.id, bridge.id);
  await channel.hangup();
}

async function snoopChannelDestroyed(client: AriClient, app: string) {
  const channel = await inStasis(client, app);
  const snoop = await channel.snoop({ spy: "in", app });
  const ended = snoop.once("StasisEnd", WAIT);
  const destroyed = snoop.once("ChannelDestroyed", WAIT);
  await snoop.hangup();
  await ended;
  // Asterisk destroys a snoop channel when the snooped channel goes away.
  await channel.hangup();
  const event = await destroyed;
  assert.equal(event.channel.id, snoop.id);
}

Deno.test("handles get BridgeDestroyed and a snoop's ChannelDestroyed from the real Asterisk (native and NATS)", async (t) => {
  await using stack = await startStack();
  await using native = await connectNative({
    url: stack.ast.httpUrl,
    username: stack.ast.username,
    password: stack.ast.password,
    // Its own application: the proxy holds the WebSocket of stack.app.
    application: `${stack.app}-native`,
  });
  await using nats = await connect({
    servers: stack.nats.url,
    application: stack.app,
  });
  for (const [name, client] of [["native", native], ["NATS", nats]] as const) {
    await t.step(
      `${name}: BridgeDestroyed after the channels left`,
      () => bridgeDestroyedAfterChannelsLeft(client, client.application),
    );
    await t.step(
      `${name}: a snoop channel's ChannelDestroyed`,
      () => snoopChannelDestroyed(client, client.application),
    );
  }
});
