/**
 * Dialog routing end to end: requests whose key carries `dialog` bind
 * entities; their events are re-published on `ari.dialogevent.<dialog>`
 * with a `dialog` field, once per dialog; bindings go when the entity is
 * destroyed.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Collector, request, startStack } from "./_server_util.ts";

type Json = Record<string, unknown>;

function entityId(event: Json): string | undefined {
  for (const field of ["channel", "playback", "recording", "device_state"]) {
    const e = event[field] as Json | undefined;
    if (e && typeof e === "object") {
      return String(e.id ?? e.name);
    }
  }
  return undefined;
}

function count(c: Collector, type: string, id: string): number {
  return c.messages.filter((m) => {
    const e = m.json as Json;
    return e.type === type && entityId(e) === id;
  }).length;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

Deno.test("startProxy() routes dialog-bound originate, play and record events once per dialog", async () => {
  const app = `dlg${crypto.randomUUID().slice(0, 6)}`;
  await using stack = await startStack({ asterisk: { app } });
  const { nc, node, proxy } = stack;
  const direct = (cls: string) => `ari.${cls}.${app}.${node}`;
  const tag = crypto.randomUUID().slice(0, 8);
  const d1 = `d1-${tag}`, d2 = `d2-${tag}`, dRec = `drec-${tag}`;
  using all = new Collector(nc, `ari.event.${app}.${node}`);
  using c1 = new Collector(nc, `ari.dialogevent.${d1}`);
  using c2 = new Collector(nc, `ari.dialogevent.${d2}`);
  using cRec = new Collector(nc, `ari.dialogevent.${dRec}`);
  await nc.flush();

  // Originate bound to d1 (no channel id: the proxy assigns one and binds it).
  const orig = await request(nc, direct("create"), {
    kind: "ChannelOriginate",
    key: { node, dialog: d1, app },
    channel_originate: {
      originate_request: { endpoint: "Local/100@default", app },
    },
  });
  assert.equal(orig.error, "");
  const chan = String((orig.key as Json).id);
  assert.match(chan, /-ch$/);
  await c1.waitFor(
    (ms) => count({ messages: ms } as Collector, "StasisStart", chan) === 1,
    10_000,
    "StasisStart on d1",
  );
  const copy = c1.messages.find((m) =>
    (m.json as Json).type === "StasisStart"
  )!;
  assert.equal((copy.json as Json).dialog, d1);
  // The copy is the canonical event plus "dialog".
  await all.waitFor((ms) =>
    count({ messages: ms } as Collector, "StasisStart", chan) === 1
  );
  const canonical = all.messages.find((m) =>
    (m.json as Json).type === "StasisStart"
  )!;
  const { dialog: _, ...rest } = copy.json as Json;
  assert.deepEqual(rest, canonical.json);

  // A second dialog subscribes to the channel.
  const sub = await request(nc, direct("command"), {
    kind: "ChannelSubscribe",
    key: { kind: "channel", id: chan, node, dialog: d2, app },
  });
  assert.equal(sub.error, "");

  // Play bound to d1: playback events carry the playback and its target
  // channel (both bound to d1) but reach d1 once.
  const pb = `pb-${tag}`;
  const play = await request(nc, direct("create"), {
    kind: "ChannelPlay",
    key: { kind: "channel", id: chan, node, dialog: d1, app },
    channel_play: { playback_id: pb, media_uri: "sound:beep" },
  });
  assert.equal(play.error, "");
  assert.deepEqual((play.key as Json).id, pb);
  await c1.waitFor(
    (ms) => count({ messages: ms } as Collector, "PlaybackFinished", pb) === 1,
    10_000,
    "PlaybackFinished on d1",
  );
  // d2 is bound to the channel, the playback names it as target.
  await c2.waitFor(
    (ms) => count({ messages: ms } as Collector, "PlaybackFinished", pb) === 1,
    10_000,
    "PlaybackFinished on d2",
  );

  // Record bound to d1; a RecordingLiveSubscribe binds only the recording to dRec.
  const rec = `rec-${tag}`;
  const record = await request(nc, direct("create"), {
    kind: "ChannelRecord",
    key: { kind: "channel", id: chan, node, dialog: d1, app },
    channel_record: {
      name: rec,
      options: {
        Format: "wav",
        MaxDuration: 2_000_000_000,
        MaxSilence: 0,
        Exists: "overwrite",
        Beep: false,
        Terminate: "none",
      },
    },
  });
  assert.equal(record.error, "");
  const recSub = await request(nc, direct("command"), {
    kind: "RecordingLiveSubscribe",
    key: { kind: "liverecording", id: rec, node, dialog: dRec, app },
  });
  assert.equal(recSub.error, "");
  await c1.waitFor(
    (ms) => count({ messages: ms } as Collector, "RecordingStarted", rec) === 1,
    10_000,
    "RecordingStarted on d1",
  );
  await cRec.waitFor(
    (ms) =>
      count({ messages: ms } as Collector, "RecordingFinished", rec) === 1,
    15_000,
    "RecordingFinished on the recording-only dialog",
  );
  assert.ok(cRec.messages.every((m) => (m.json as Json).dialog === dRec));
  await c1.waitFor(
    (ms) =>
      count({ messages: ms } as Collector, "RecordingFinished", rec) === 1,
  );

  // Hang up: ChannelDestroyed reaches both dialogs, then the bindings are gone.
  const hangup = await request(nc, direct("command"), {
    kind: "ChannelHangup",
    key: { kind: "channel", id: chan, node, app },
    channel_hangup: { reason: "normal" },
  });
  assert.equal(hangup.error, "");
  await all.waitFor(
    (ms) =>
      count({ messages: ms } as Collector, "ChannelDestroyed", chan) === 1,
    10_000,
    "ChannelDestroyed",
  );
  await c1.waitFor((ms) =>
    count({ messages: ms } as Collector, "ChannelDestroyed", chan) === 1
  );
  await c2.waitFor((ms) =>
    count({ messages: ms } as Collector, "ChannelDestroyed", chan) === 1
  );
  // Every dialog copy of every event arrived once per dialog.
  for (const c of [c1, c2, cRec]) {
    const seen = new Set<string>();
    for (const m of c.messages) {
      const id = m.text;
      assert.ok(!seen.has(id), `duplicate dialog copy ${id}`);
      seen.add(id);
    }
  }
  // Local/100 has a ;2 half that was never bound: wait until all is quiet.
  await sleep(300);
  assert.equal(
    proxy.stats().dialogs.entities,
    0,
    JSON.stringify(proxy.stats().dialogs),
  );

  // The same channel id used again without dialog: no dialog copies.
  const before = [c1.messages.length, c2.messages.length, cRec.messages.length];
  const again = await request(nc, direct("create"), {
    kind: "ChannelOriginate",
    key: { node, app },
    channel_originate: {
      originate_request: {
        endpoint: "Local/100@default",
        app,
        channelId: chan,
      },
    },
  });
  assert.equal(again.error, "");
  await all.waitFor(
    (ms) => count({ messages: ms } as Collector, "StasisStart", chan) === 2,
    10_000,
    "second StasisStart",
  );
  await request(nc, direct("command"), {
    kind: "ChannelHangup",
    key: { kind: "channel", id: chan, node, app },
    channel_hangup: { reason: "normal" },
  });
  await all.waitFor(
    (ms) =>
      count({ messages: ms } as Collector, "ChannelDestroyed", chan) === 2,
    10_000,
    "second ChannelDestroyed",
  );
  await sleep(200);
  assert.deepEqual(
    [c1.messages.length, c2.messages.length, cRec.messages.length],
    before,
  );
});

Deno.test("startProxy() routes device state events to a dialog that subscribed with deviceState:", async () => {
  const app = `dlg${crypto.randomUUID().slice(0, 6)}`;
  await using stack = await startStack({ asterisk: { app } });
  const { nc, node } = stack;
  const direct = (cls: string) => `ari.${cls}.${app}.${node}`;
  const dialog = `dev-${crypto.randomUUID().slice(0, 8)}`;
  const device = `Stasis:dev${crypto.randomUUID().slice(0, 6)}`;
  using c = new Collector(nc, `ari.dialogevent.${dialog}`);
  await nc.flush();
  const subscribed = await request(nc, direct("command"), {
    kind: "ApplicationSubscribe",
    key: { kind: "application", id: app, node, dialog, app },
    application_subscribe: { event_source: `deviceState:${device}` },
  });
  assert.equal(subscribed.error, "");
  const updated = await request(nc, direct("command"), {
    kind: "DeviceStateUpdate",
    key: { kind: "devicestate", id: device, node, app },
    device_state_update: { state: "INUSE" },
  });
  assert.equal(updated.error, "");
  await c.waitFor(
    (ms) => ms.some((m) => (m.json as Json).type === "DeviceStateChanged"),
    10_000,
    "DeviceStateChanged on the dialog (Go never routes it: deviceState vs devicestate)",
  );
  const event = c.messages[0]!.json as Json;
  assert.equal(event.dialog, dialog);
  assert.equal((event.device_state as Json).name, device);
  await request(nc, direct("command"), {
    kind: "DeviceStateDelete",
    key: { kind: "devicestate", id: device, node, app },
  });
});
