/**
 * The kind executor and the native transport against a real Asterisk from
 * the test harness: a realistic call flow through protocol requests.
 */
import assert from "node:assert/strict";
import { startAsterisk } from "../../tests/harness/mod.ts";
import type { ProxiedEvent, Request, Response } from "../protocol/types.ts";
import { createKindExecutor } from "./executor.ts";
import { createAriRestClient } from "./rest.ts";
import { createNativeTransport } from "./transport.ts";

/** Collects events; `next()` waits (with a deadline) for a matching one. */
function eventLog() {
  const events: ProxiedEvent[] = [];
  let waiters: { match: (e: ProxiedEvent) => boolean; resolve: () => void }[] =
    [];
  return {
    events,
    sink(event: ProxiedEvent) {
      events.push(event);
      waiters = waiters.filter((w) => {
        if (!w.match(event)) return true;
        w.resolve();
        return false;
      });
    },
    async next(
      what: string,
      match: (e: ProxiedEvent) => boolean,
      timeout = 20_000,
    ): Promise<void> {
      if (events.some(match)) return;
      const { promise, resolve } = Promise.withResolvers<void>();
      const waiter = { match, resolve };
      waiters.push(waiter);
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        await Promise.race([
          promise,
          new Promise<never>((_, reject) => {
            timer = setTimeout(
              () => reject(new Error(`Timed out waiting for ${what}`)),
              timeout,
            );
          }),
        ]);
      } finally {
        clearTimeout(timer);
        waiters = waiters.filter((w) => w !== waiter);
      }
    },
  };
}

function ok(response: Response, what: string): Response {
  assert.equal(response.error, "", `${what}: ${response.error}`);
  return response;
}

function channelOf(e: ProxiedEvent): string | undefined {
  const channel = e.channel as { id?: string } | undefined;
  return channel?.id;
}

Deno.test({
  name: "createKindExecutor() drives a real Asterisk through a call flow",
  sanitizeOps: true,
  sanitizeResources: true,
  async fn() {
    await using ast = await startAsterisk({ app: "exec-it" });
    await using transport = await createNativeTransport({
      url: ast.httpUrl,
      wsUrl: ast.wsUrl,
      username: ast.username,
      password: ast.password,
      application: ast.app,
    });
    const log = eventLog();
    transport.subscribe({ app: ast.app }, log.sink);
    const run = (request: Request) => transport.request(request);
    const node = ast.entityId;
    const suffix = crypto.randomUUID().slice(0, 8);

    // Asterisk info and the node id.
    const info = ok(await run({ kind: "AsteriskInfo", key: null }), "info");
    assert.equal(
      (info.data?.asterisk?.system as { entity_id?: string }).entity_id,
      node,
    );
    assert.deepEqual(transport.nodes(), [{ node, app: ast.app }]);

    // Originate into the application.
    const originated = ok(
      await run({
        kind: "ChannelOriginate",
        key: null,
        channel_originate: {
          originate_request: {
            endpoint: "Local/100@default",
            app: ast.app,
            appArgs: "it",
          },
        },
      }),
      "originate",
    );
    const channelId = originated.key!.id!;
    assert.deepEqual(originated.key, {
      kind: "channel",
      id: channelId,
      node,
      app: ast.app,
    });
    await log.next(
      "StasisStart",
      (e) => e.type === "StasisStart" && channelOf(e) === channelId,
    );
    const startEvent = log.events.find((e) => e.type === "StasisStart")!;
    assert.equal(startEvent.application, ast.app);
    assert.equal(startEvent.asterisk_id, node);
    const chan = { kind: "channel", id: channelId, node, app: ast.app };

    const data = ok(await run({ kind: "ChannelData", key: chan }), "data");
    assert.deepEqual(data.data?.channel?.key, chan);
    assert.equal(data.data?.channel?.id, channelId);
    ok(await run({ kind: "ChannelGet", key: chan }), "get");
    ok(await run({ kind: "ChannelAnswer", key: chan }), "answer");

    // Play and wait for the end of the playback.
    const playbackId = `pb-${suffix}`;
    const played = ok(
      await run({
        kind: "ChannelPlay",
        key: chan,
        channel_play: {
          playback_id: playbackId,
          media_uri: "sound:hello-world",
        },
      }),
      "play",
    );
    assert.deepEqual(played.key, {
      kind: "playback",
      id: playbackId,
      node,
      app: ast.app,
    });
    await log.next("PlaybackFinished", (e) =>
      e.type === "PlaybackFinished" &&
      (e.playback as { id?: string }).id === playbackId);

    // Channel and global variables.
    ok(
      await run({
        kind: "ChannelVariableSet",
        key: chan,
        channel_variable: { name: "IT_VAR", value: "a & b" },
      }),
      "channel variable set",
    );
    assert.deepEqual(
      await run({
        kind: "ChannelVariableGet",
        key: chan,
        channel_variable: { name: "IT_VAR" },
      }),
      { error: "", data: { variable: "a & b" } },
    );
    const globalKey = { kind: "variable", id: `IT_GLOBAL_${suffix}` };
    ok(
      await run({
        kind: "AsteriskVariableSet",
        key: globalKey,
        asterisk_variable_set: { value: "hello <world>" },
      }),
      "global set",
    );
    assert.deepEqual(
      await run({ kind: "AsteriskVariableGet", key: globalKey }),
      { error: "", data: { variable: "hello <world>" } },
    );

    // Record, stop, then work with the stored recording.
    const recording = `rec-${suffix}`;
    const recorded = ok(
      await run({
        kind: "ChannelRecord",
        key: chan,
        channel_record: {
          name: recording,
          options: { Format: "wav", MaxDuration: 10_000_000_000 },
        },
      }),
      "record",
    );
    assert.deepEqual(recorded.key, {
      kind: "liverecording",
      id: recording,
      node,
      app: ast.app,
    });
    await log.next("RecordingStarted", (e) =>
      e.type === "RecordingStarted" &&
      (e.recording as { name?: string }).name === recording);
    const live = ok(
      await run({
        kind: "RecordingLiveData",
        key: { kind: "liverecording", id: recording },
      }),
      "live data",
    );
    assert.equal(live.data?.live_recording?.name, recording);
    ok(
      await run({
        kind: "RecordingLiveStop",
        key: { kind: "liverecording", id: recording },
      }),
      "live stop",
    );
    await log.next("RecordingFinished", (e) =>
      e.type === "RecordingFinished" &&
      (e.recording as { name?: string }).name === recording);
    const stored = { kind: "storedrecording", id: recording };
    const list = ok(
      await run({ kind: "RecordingStoredList", key: {} }),
      "stored list",
    );
    assert.ok(list.keys?.some((k) => k.id === recording));
    const storedData = ok(
      await run({ kind: "RecordingStoredData", key: stored }),
      "stored data",
    );
    assert.equal(storedData.data?.stored_recording?.format, "wav");
    const copied = ok(
      await run({
        kind: "RecordingStoredCopy",
        key: stored,
        recording_stored_copy: { destination: `${recording}-copy` },
      }),
      "copy",
    );
    assert.deepEqual(copied.key, {
      kind: "storedrecording",
      id: `${recording}-copy`,
      node,
      app: ast.app,
    });
    const file = ok(
      await run({ kind: "RecordingStoredFile", key: stored }),
      "file",
    );
    const chunk = file.data!.stored_recording_file!;
    assert.ok(
      chunk.size >= 44,
      `a WAV file has a header (${chunk.size} bytes)`,
    );
    assert.equal(chunk.offset, 0);
    assert.equal(atob(chunk.data).slice(0, 4), "RIFF");
    assert.match(chunk.content_type, /wav/);
    const tail = ok(
      await run({
        kind: "RecordingStoredFile",
        key: stored,
        recording_stored_file: { offset: 4, length: 4 },
      }),
      "file range",
    );
    assert.equal(atob(tail.data!.stored_recording_file!.data).length, 4);
    ok(await run({ kind: "RecordingStoredDelete", key: stored }), "delete");
    ok(
      await run({
        kind: "RecordingStoredDelete",
        key: { kind: "storedrecording", id: `${recording}-copy` },
      }),
      "delete copy",
    );
    const gone = await run({ kind: "RecordingStoredData", key: stored });
    assert.equal(gone.status, 404);

    // A bridge with the channel in it.
    const bridged = ok(
      await run({
        kind: "BridgeCreate",
        key: null,
        bridge_create: { type: "mixing", name: `it-${suffix}` },
      }),
      "bridge create",
    );
    const bridge = bridged.key!;
    assert.equal(bridge.kind, "bridge");
    ok(
      await run({
        kind: "BridgeAddChannel",
        key: bridge,
        bridge_add_channel: { channel: channelId },
      }),
      "bridge add",
    );
    await log.next(
      "ChannelEnteredBridge",
      (e) => e.type === "ChannelEnteredBridge" && channelOf(e) === channelId,
    );
    const bridges = ok(await run({ kind: "BridgeList", key: {} }), "bridges");
    assert.ok(bridges.keys?.some((k) => k.id === bridge.id));
    const bridgeData = ok(
      await run({ kind: "BridgeData", key: bridge }),
      "bridge data",
    );
    assert.deepEqual(bridgeData.data?.bridge?.channels, [channelId]);

    // Device states.
    const device = { kind: "devicestate", id: `Stasis:it-${suffix}` };
    ok(
      await run({
        kind: "DeviceStateUpdate",
        key: device,
        device_state_update: { state: "INUSE" },
      }),
      "device update",
    );
    const deviceData = ok(
      await run({ kind: "DeviceStateData", key: device }),
      "device data",
    );
    assert.equal(deviceData.data?.device_state?.state, "INUSE");
    ok(await run({ kind: "DeviceStateDelete", key: device }), "device delete");

    // Lists.
    const sounds = ok(
      await run({
        kind: "SoundList",
        key: {},
        sound_list: { filters: { lang: "en" } },
      }),
      "sounds",
    );
    assert.ok(sounds.keys?.some((k) => k.id === "hello-world"));
    const modules = ok(
      await run({ kind: "AsteriskModuleList", key: {} }),
      "modules",
    );
    assert.ok(modules.keys?.some((k) => k.id === "res_ari.so"));
    ok(await run({ kind: "EndpointList", key: {} }), "endpoints");

    // Debian's Asterisk has no res_ari_mailboxes: a clean 404 error.
    const mailboxes = await run({ kind: "MailboxList", key: {} });
    assert.equal(mailboxes.status, 404);
    assert.equal(mailboxes.code, "ariHttp");

    // Hang up.
    ok(
      await run({
        kind: "BridgeRemoveChannel",
        key: bridge,
        bridge_remove_channel: { channel: channelId },
      }),
      "bridge remove",
    );
    ok(
      await run({
        kind: "ChannelHangup",
        key: chan,
        channel_hangup: { reason: "normal" },
      }),
      "hangup",
    );
    await log.next(
      "StasisEnd",
      (e) => e.type === "StasisEnd" && channelOf(e) === channelId,
    );
    ok(await run({ kind: "BridgeDelete", key: bridge }), "bridge delete");
    const after = await run({ kind: "ChannelData", key: chan });
    assert.equal(after.status, 404);
  },
});

Deno.test({
  name:
    "createKindExecutor() keeps crafted ids from reaching other ARI resources",
  async fn() {
    await using ast = await startAsterisk({ app: "exec-safe" });
    await using rest = createAriRestClient({
      url: ast.httpUrl,
      username: ast.username,
      password: ast.password,
    });
    const executor = createKindExecutor({
      rest,
      application: ast.app,
      node: () => ast.entityId,
    });
    for (
      const id of [
        "../asterisk/modules",
        "../../ari/asterisk/modules",
        "..%2Fasterisk%2Fmodules",
        "x/../../asterisk/modules",
      ]
    ) {
      const response = await executor.execute({
        kind: "ChannelData",
        key: { kind: "channel", id },
      });
      assert.notEqual(response.error, "", id);
      assert.equal(response.status, 404, `${id}: ${response.error}`);
      assert.equal(response.data, undefined);
    }
    const dots = await executor.execute({
      kind: "ChannelData",
      key: { kind: "channel", id: ".." },
    });
    assert.equal(dots.code, "invalidKey");
    const modules = await executor.execute({
      kind: "AsteriskModuleData",
      key: { kind: "module", id: "../../channels" },
    });
    assert.equal(modules.status, 404);
  },
});
