/**
 * The client's call-control contract as a runtime-neutral function: the
 * same scenario runs under `deno test` (`contract_suite.ts`, against the
 * client's source) and on Node and Bun (`runtimes/contract_program.ts`,
 * against the npm build of the package). It imports no client code, only
 * types, so each runner hands in the client and its `RemoteError` class.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { AriClient, ChannelHandle, Key } from "../client/mod.ts";

/** Runs one named step; a failed step is reported and the next one runs. */
export type ContractStep = (
  name: string,
  fn: () => Promise<void>,
) => Promise<unknown>;

/** Options of {@linkcode runContractFlow}. */
export interface ContractFlowOptions {
  /** Runs each step (Deno: `t.step`). */
  step: ContractStep;
  /** How long to wait for each expected event, in milliseconds. */
  eventTimeout: number;
  /** The client package's `RemoteError` class (the package under test may be a build). */
  RemoteError: abstract new (...args: never[]) => Error;
}

/** Waits for the first item of `stream` accepted by `match`. */
async function first<T>(
  stream: AsyncIterable<T>,
  match: (item: T) => boolean,
): Promise<T> {
  for await (const item of stream) {
    if (match(item)) return item;
  }
  throw new Error("Cannot find the expected event: the stream ended");
}

/** Marks a promise handled (it is awaited later, maybe never if a step fails first). */
function later<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

function ids(keys: Key[]): string[] {
  return keys.map((k) => k.id ?? "");
}

/**
 * Runs the call-control contract with `client`: originate → StasisStart →
 * answer → play → bridge → record → variables, device states, mailboxes,
 * lists → hang up. Leaves nothing behind on Asterisk (cleans up after failed
 * steps too); does not close the client.
 *
 * @param client A connected client whose application receives the calls.
 * @param options Step runner, event timeout, `RemoteError`.
 *
 * @example
 * ```ts ignore
 * import { RemoteError } from "../client/mod.ts";
 * import { runContractFlow } from "./contract_flow.ts";
 *
 * Deno.test("contract", async (t) => {
 *   await runContractFlow(client, {
 *     step: (name, fn) => t.step(name, fn),
 *     eventTimeout: 20_000,
 *     RemoteError,
 *   });
 * });
 * ```
 */
export async function runContractFlow(
  client: AriClient,
  options: ContractFlowOptions,
): Promise<void> {
  const { step, eventTimeout, RemoteError } = options;
  const wait = { timeout: eventTimeout };
  const run = crypto.randomUUID().slice(0, 8);
  const cleanup: (() => Promise<unknown>)[] = [];
  let channel!: ChannelHandle;
  let second!: ChannelHandle;
  try {
    await step("asterisk.info() names the node", async () => {
      const info = await client.asterisk.info({ only: ["system"] });
      assert.ok(info.system?.entity_id, "system.entity_id is set");
    });

    await step(
      "originate: StasisStart on the client stream and the handle",
      async () => {
        const starts = client.events("StasisStart", { bufferSize: 100 });
        try {
          const staged = await client.channels.stageOriginate({
            endpoint: "Local/100@default",
            channelId: `contract-${run}-a`,
            app: client.application,
          });
          channel = staged.handle;
          cleanup.push(() => channel.hangup());
          const onHandle = later(channel.once("StasisStart", wait));
          assert.equal((await staged.exec()).id, `contract-${run}-a`);
          const event = await onHandle;
          assert.equal(event.channel.id, channel.id);
          const seen = await first(
            starts,
            (e) => e.channel.id === channel.id,
          );
          assert.equal(seen.application, client.application);
          assert.ok(channel.key.node, "the channel key names its node");
        } finally {
          starts.close();
        }
      },
    );

    await step("answer, then data() reports the channel Up", async () => {
      await channel.answer();
      const data = await channel.data();
      assert.equal(data.id, channel.id);
      assert.equal(data.state, "Up");
      assert.equal(data.key.id, channel.id);
    });

    await step(
      "play sound:hello-world and await PlaybackFinished on the channel",
      async () => {
        const started = later(channel.once("PlaybackStarted", wait));
        const finished = later(channel.once("PlaybackFinished", wait));
        const playback = await channel.play("sound:hello-world");
        assert.equal((await started).playback.id, playback.id);
        const done = await finished;
        assert.equal(done.playback.id, playback.id);
        assert.equal(done.playback.target_uri, `channel:${channel.id}`);
      },
    );

    await step(
      "bridge: create, add two channels, list, remove, destroy",
      async () => {
        const secondStart = later(client.once("StasisStart", wait));
        second = await client.channels.originate({
          endpoint: "Local/100@default",
          channelId: `contract-${run}-b`,
          app: client.application,
        });
        cleanup.push(() => second.hangup());
        assert.equal((await secondStart).channel.id, second.id);
        await second.answer();

        const bridge = await client.bridges.create({
          bridgeId: `contract-${run}-br`,
          type: "mixing",
          name: "contract",
        });
        cleanup.push(() => bridge.delete());
        // Asterisk tells an app about a bridge only while subscribed to it
        // (joining channels subscribe it, leaving ones unsubscribe it).
        await client.applications.handle(client.application).subscribe(
          bridge,
        );
        const entered = bridge.events("ChannelEnteredBridge");
        await bridge.addChannel(channel);
        await bridge.addChannel(second.id);
        const inside = new Set<string>();
        for await (const event of entered) {
          if (event.channel) inside.add(event.channel.id);
          if (inside.size === 2) break;
        }
        assert.deepEqual(
          [...inside].sort(),
          [channel.id, second.id].sort(),
        );
        assert.ok(ids(await client.bridges.list()).includes(bridge.id));
        assert.deepEqual(
          (await bridge.data()).channels.sort(),
          [channel.id, second.id].sort(),
        );

        const left = later(channel.once("ChannelLeftBridge", wait));
        await bridge.removeChannel(channel);
        assert.equal((await left).bridge.id, bridge.id);
        // Deleting the bridge ejects the channel still in it.
        const ejected = later(second.once("ChannelLeftBridge", wait));
        const destroyed = later(bridge.once("BridgeDestroyed", wait));
        await bridge.delete();
        cleanup.pop();
        assert.equal((await ejected).bridge.id, bridge.id);
        assert.equal((await destroyed).bridge.id, bridge.id);
        assert.ok(!ids(await client.bridges.list()).includes(bridge.id));
      },
    );

    await step(
      "record, stop, list, copy, download and delete the recording",
      async () => {
        const name = `contract-${run}-rec`;
        // Staged, so RecordingStarted cannot fire before we listen.
        const staged = await channel.stageRecord({
          name,
          format: "wav",
          maxDuration: 10_000,
          ifExists: "overwrite",
        });
        const live = staged.handle;
        assert.equal(live.id, name);
        const started = later(live.once("RecordingStarted", wait));
        await staged.exec();
        await started;
        const finished = later(live.once("RecordingFinished", wait));
        await live.stop();
        assert.equal((await finished).recording.name, name);

        const stored = live.stored();
        cleanup.push(() => stored.delete());
        assert.ok(ids(await client.storedRecordings.list()).includes(name));
        assert.equal((await stored.data()).format, "wav");
        const copy = await stored.copy(`${name}-copy`);
        cleanup.push(() => copy.delete());
        assert.equal(copy.id, `${name}-copy`);
        const bytes = await copy.download();
        assert.equal(
          new TextDecoder().decode(bytes.subarray(0, 4)),
          "RIFF",
        );
        await copy.delete();
        await stored.delete();
        cleanup.splice(-2);
        const left = ids(await client.storedRecordings.list());
        assert.ok(!left.includes(name) && !left.includes(`${name}-copy`));
      },
    );

    await step("channel and global variables", async () => {
      await channel.variables.set("CONTRACT_VAR", run);
      assert.equal(await channel.variables.get("CONTRACT_VAR"), run);
      await client.asterisk.variables.set("CONTRACT_GLOBAL", run);
      assert.equal(
        await client.asterisk.variables.get("CONTRACT_GLOBAL"),
        run,
      );
    });

    await step("device state update, get, data, delete", async () => {
      const name = `Stasis:contract-${run}`;
      await client.deviceStates.handle(name).update("BUSY");
      const device = await client.deviceStates.get(name);
      assert.equal((await device.data()).state, "BUSY");
      assert.ok(ids(await client.deviceStates.list()).includes(name));
      await device.delete();
    });

    await step(
      "mailbox update, data, delete (when Asterisk has mailboxes)",
      async () => {
        const mailbox = client.mailboxes.handle(`contract-${run}`);
        try {
          await mailbox.update({ oldMessages: 1, newMessages: 2 });
        } catch (error) {
          // This Asterisk build may lack res_ari_mailboxes: a typed remote failure.
          assert.ok(
            error instanceof RemoteError,
            `expected RemoteError, got ${error}`,
          );
          return;
        }
        const data = await mailbox.data();
        assert.deepEqual([data.old_messages, data.new_messages], [1, 2]);
        await mailbox.delete();
      },
    );

    await step("list sounds, modules and endpoints", async () => {
      const sounds = await client.sounds.list({ lang: "en" });
      assert.ok(sounds.length > 0, "some sounds");
      const hello = await client.sounds.data("hello-world");
      assert.equal(hello.id, "hello-world");
      const modules = ids(await client.asterisk.modules.list());
      assert.ok(
        modules.includes("res_stasis.so"),
        "res_stasis.so is listed",
      );
      assert.ok(Array.isArray(await client.endpoints.list()));
    });

    await step(
      "hangup: StasisEnd and ChannelDestroyed on the handle",
      async () => {
        const ended = later(channel.once("StasisEnd", wait));
        const destroyed = later(channel.once("ChannelDestroyed", wait));
        await channel.hangup();
        assert.equal((await ended).channel.id, channel.id);
        assert.equal((await destroyed).channel.id, channel.id);
        const secondGone = later(second.once("ChannelDestroyed", wait));
        await second.hangup();
        await secondGone;
        cleanup.length = 0;
        assert.ok(!ids(await client.channels.list()).includes(channel.id));
      },
    );
  } finally {
    for (const undo of cleanup.reverse()) {
      await undo().catch(() => {});
    }
  }
}
