/**
 * Dialog-bound clients over NATS (issue #5): `client.dialog(id)` stamps its
 * dialog on every request key, so the proxy binds the entities it creates,
 * and it receives only that dialog's events (`ari.dialogevent.<id>`), while
 * a plain client receives every event of the application.
 *
 * Real NATS and Asterisk from the harness, our proxy in-process.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type AriClient, connect, type EventStream } from "../client/mod.ts";
import type { AriEvent } from "../client/generated/events.ts";
import { startProxy } from "../lib/server.ts";
import { startAsterisk, startNats, waitFor } from "./harness/mod.ts";

const SLOW = { timeout: 30_000, interval: 50 };

/** Entity kind of an event field holding an object with an `id`. */
const FIELD_KIND: Record<string, string> = {
  playback: "playback",
  bridge: "bridge",
  recording: "recording",
  endpoint: "endpoint",
};

/**
 * The entities an event names, as `kind:id`: every top-level object with a
 * non-empty `id` (`channel`, `peer`, `caller`, `replace_channel` are
 * channels; `playback`, `bridge`) and a playback's target (`channel:<id>`).
 */
function entitiesOf(event: AriEvent): string[] {
  const out: string[] = [];
  for (const [field, value] of Object.entries(event)) {
    if (typeof value !== "object" || value === null) continue;
    const { id, target_uri: target } = value as Record<string, unknown>;
    if (typeof id === "string" && id !== "") {
      out.push(`${FIELD_KIND[field] ?? "channel"}:${id}`);
    }
    if (typeof target === "string" && target !== "") out.push(target);
  }
  return out;
}

/** Buffers the events of a stream in the background. */
class Recorder {
  readonly events: AriEvent[] = [];
  readonly #done: Promise<void>;

  constructor(stream: EventStream<AriEvent>) {
    this.#done = (async () => {
      for await (const event of stream) this.events.push(event);
    })();
  }

  /** Whether an event of `type` refers to an entity with this id. */
  has(type: string, id: string): boolean {
    return this.events.some((event) =>
      event.type === type &&
      entitiesOf(event).some((entity) => entity.endsWith(`:${id}`))
    );
  }

  /** Every entity id the recorded events refer to, as `kind:id`. */
  entities(): Set<string> {
    const out = new Set<string>();
    for (const event of this.events) {
      for (const entity of entitiesOf(event)) out.add(entity);
    }
    return out;
  }

  /** Resolves once the stream ended (its client closed). */
  finished(): Promise<void> {
    return this.#done;
  }
}

interface Call {
  channel: string;
  playback: string;
}

/** Originates into `app`, answers and plays a short sound, through `client`. */
async function callAndPlay(
  client: AriClient,
  app: string,
  call: Call,
): Promise<void> {
  const staged = await client.channels.stageOriginate({
    endpoint: "Local/100@default",
    app,
    channelId: call.channel,
  });
  const started = staged.handle.once("StasisStart", { timeout: 30_000 });
  started.catch(() => {});
  const channel = await staged.exec();
  await started;
  await channel.answer();
  const finished = channel.once("PlaybackFinished", { timeout: 30_000 });
  finished.catch(() => {});
  const playback = await channel.play("sound:beep", {
    playbackId: call.playback,
  });
  assert.equal(playback.id, call.playback);
  assert.equal((await finished).playback.id, call.playback);
}

Deno.test({
  name:
    "AriClient.dialog() receives only its own dialog's events while a plain client sees all",
  async fn() {
    const run = crypto.randomUUID().slice(0, 8);
    const app = `dlg-${run}`;
    await using nats = await startNats();
    await using asterisk = await startAsterisk({
      app: "ready",
      allowExternal: false,
    });
    await using _proxy = await startProxy({
      ari: {
        application: app,
        username: asterisk.username,
        password: asterisk.password,
        httpUrl: asterisk.httpUrl,
        websocketUrl: asterisk.wsUrl,
      },
      nats: { servers: [nats.url] },
      announceInterval: 0,
    });
    const root = await connect({
      servers: nats.url,
      application: app,
      timeout: 15_000,
      discoveryWait: 2_000,
    });
    const d1 = root.dialog(`d1-${run}`);
    const d2 = root.dialog(`d2-${run}`);
    assert.equal(d1.dialogId, `d1-${run}`);
    const all = new Recorder(root.events());
    const only1 = new Recorder(d1.events());
    const only2 = new Recorder(d2.events());
    const call1: Call = { channel: `${app}-c1`, playback: `${app}-p1` };
    const call2: Call = { channel: `${app}-c2`, playback: `${app}-p2` };
    // A call of no dialog: only the plain client may see it.
    const call3: Call = { channel: `${app}-c3`, playback: `${app}-p3` };
    try {
      // Both dialogs work at the same time.
      await Promise.all([
        callAndPlay(d1, app, call1),
        callAndPlay(d2, app, call2),
        callAndPlay(root, app, call3),
      ]);
      const destroyed1 = d1.channels.handle(call1.channel).once(
        "ChannelDestroyed",
        { timeout: 30_000 },
      );
      const destroyed2 = d2.channels.handle(call2.channel).once(
        "ChannelDestroyed",
        { timeout: 30_000 },
      );
      await d1.channels.handle(call1.channel).hangup();
      const destroyed3 = root.channels.handle(call3.channel).once(
        "ChannelDestroyed",
        { timeout: 30_000 },
      );
      await d2.channels.handle(call2.channel).hangup();
      await root.channels.handle(call3.channel).hangup();
      await Promise.all([destroyed1, destroyed2, destroyed3]);

      // The plain client saw both calls.
      for (const call of [call1, call2, call3]) {
        await waitFor(
          () =>
            all.has("StasisStart", call.channel) &&
            all.has("PlaybackStarted", call.playback) &&
            all.has("PlaybackFinished", call.playback) &&
            all.has("ChannelDestroyed", call.channel),
          { ...SLOW, message: `the plain client to see ${call.channel}` },
        );
      }

      // Each dialog client saw its own call, and nothing else.
      for (
        const [recorder, dialog, own, other] of [
          [only1, `d1-${run}`, call1, call2],
          [only2, `d2-${run}`, call2, call1],
        ] as const
      ) {
        await waitFor(
          () =>
            recorder.has("StasisStart", own.channel) &&
            recorder.has("PlaybackStarted", own.playback) &&
            recorder.has("PlaybackFinished", own.playback) &&
            recorder.has("ChannelDestroyed", own.channel),
          { ...SLOW, message: `dialog ${dialog} to see ${own.channel}` },
        );
        const entities = recorder.entities();
        assert.ok(
          !entities.has(`channel:${other.channel}`),
          `dialog ${dialog} saw the other dialog's channel`,
        );
        assert.ok(
          !entities.has(`playback:${other.playback}`),
          `dialog ${dialog} saw the other dialog's playback`,
        );
        assert.deepEqual(
          [...entities].sort(),
          [`channel:${own.channel}`, `playback:${own.playback}`].sort(),
          `dialog ${dialog} saw only its own entities`,
        );
        for (const event of recorder.events) {
          assert.equal(
            (event as { dialog?: string }).dialog,
            dialog,
            `${event.type} carries dialog ${dialog}`,
          );
        }
      }
      // The plain client got canonical events, not dialog copies.
      assert.ok(
        all.events.every((e) =>
          (e as { dialog?: string }).dialog === undefined
        ),
      );
    } finally {
      await root.close();
      await Promise.all([
        all.finished(),
        only1.finished(),
        only2.finished(),
      ]);
    }
    assert.ok(d1.isClosed() && d2.isClosed(), "children close with the root");
  },
});
