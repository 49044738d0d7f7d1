/**
 * Keys that name a node reach that node: the public client (`connect()`)
 * against two real Asterisk nodes, each behind our proxy, on one NATS. For
 * every resource group a request whose key names only a node (no app) must
 * be answered by that node; a spy on the request subjects checks that it
 * went direct to `<prefix><class>.<app>.<node>`, and where the two nodes
 * hold different data the answer shows which node gave it.
 */
import assert from "node:assert/strict";
import {
  connect as natsConnect,
  type NatsConnection,
} from "@nats-io/transport-node";
import { startAsterisk, startNats, waitFor } from "./harness/mod.ts";
import { proxyOptions } from "./_server_util.ts";
import { startProxy } from "../lib/server.ts";
import { connect, ConnectionError, NotFoundError } from "../client/mod.ts";

const APP = "noderoute";
const TIMEOUT = 10_000;
/** Reads repeated per check: a broadcast would hit the wrong node about half the time. */
const TRIES = 6;

interface Spied {
  subject: string;
  kind: string;
}

/** Records the subject and kind of every request the client publishes. */
async function spy(url: string): Promise<
  { nc: NatsConnection; seen: Spied[]; since(n: number): Spied[] }
> {
  const nc = await natsConnect({ servers: url, name: "spy" });
  const seen: Spied[] = [];
  for (const cls of ["get", "data", "command", "create"]) {
    for (const subject of [`ari.${cls}`, `ari.${cls}.>`]) {
      nc.subscribe(subject, {
        callback: (_err, msg) => {
          try {
            const body = JSON.parse(new TextDecoder().decode(msg.data));
            seen.push({ subject: msg.subject, kind: String(body.kind) });
          } catch {
            // not a request
          }
        },
      });
    }
  }
  await nc.flush();
  return { nc, seen, since: (n) => seen.slice(n) };
}

Deno.test("connect(): a key that names a node reaches that node, for every resource group", async (t) => {
  await using nats = await startNats();
  const [astA, astB] = await Promise.all([
    startAsterisk({ app: APP }),
    startAsterisk({ app: APP }),
  ]);
  await using _a = astA;
  await using _b = astB;
  await using _proxyA = await startProxy(proxyOptions(astA, nats.url));
  await using _proxyB = await startProxy(proxyOptions(astB, nats.url));
  const A = astA.entityId;
  const B = astB.entityId;
  const watcher = await spy(nats.url);
  try {
    await using client = await connect({
      servers: nats.url,
      application: APP,
      timeout: TIMEOUT,
    });
    await waitFor(() => client.nodes().length === 2, {
      message: "both proxies announced",
    });

    /** Runs `call` and checks every request it sent went direct to `node`. */
    const direct = async <T>(
      node: string,
      call: () => Promise<T>,
    ): Promise<T> => {
      const mark = watcher.seen.length;
      const result = await call();
      await watcher.nc.flush();
      const sent = watcher.since(mark);
      assert.ok(sent.length > 0, "a request was sent");
      for (const { subject, kind } of sent) {
        assert.match(
          subject,
          new RegExp(`^ari\\.[a-z]+\\.${APP}\\.${node}$`),
          `${kind} went to ${subject}, not to node ${node}`,
        );
      }
      return result;
    };

    await t.step("asterisk: variables, info, modules, logging", async () => {
      await direct(
        A,
        () => client.asterisk.variables.set({ id: "WHERE", node: A }, "on-A"),
      );
      await direct(
        B,
        () => client.asterisk.variables.set({ id: "WHERE", node: B }, "on-B"),
      );
      for (let i = 0; i < TRIES; i++) {
        assert.equal(
          await direct(
            A,
            () => client.asterisk.variables.get({ id: "WHERE", node: A }),
          ),
          "on-A",
        );
        assert.equal(
          await direct(
            B,
            () => client.asterisk.variables.get({ id: "WHERE", node: B }),
          ),
          "on-B",
        );
      }
      const info = await direct(B, () => client.asterisk.info({ node: B }));
      assert.equal(info.system?.entity_id, B);
      const module = await direct(
        A,
        () => client.asterisk.modules.data({ id: "res_ari.so", node: A }),
      );
      assert.equal(module.key.node, A);
      const modules = await direct(
        B,
        () => client.asterisk.modules.list({ node: B }),
      );
      assert.ok(modules.length > 0);
      assert.ok(modules.every((key) => key.node === B));
      const logs = await direct(
        A,
        () => client.asterisk.logging.list({ node: A }),
      );
      assert.ok(logs.every((key) => key.node === A));
    });

    await t.step("deviceStates: update, data, get, list", async () => {
      const id = "Stasis:route-test";
      await direct(
        A,
        () => client.deviceStates.handle({ id, node: A }).update("BUSY"),
      );
      await direct(
        B,
        () => client.deviceStates.handle({ id, node: B }).update("INUSE"),
      );
      for (let i = 0; i < TRIES; i++) {
        const onA = await direct(
          A,
          () => client.deviceStates.data({ id, node: A }),
        );
        assert.equal(onA.state, "BUSY");
        assert.equal(onA.key.node, A);
        const onB = await direct(
          B,
          () => client.deviceStates.data({ id, node: B }),
        );
        assert.equal(onB.state, "INUSE");
        const handle = await direct(
          A,
          () => client.deviceStates.get({ id, node: A }),
        );
        assert.equal(handle.key.node, A);
      }
      const listB = await direct(
        B,
        () => client.deviceStates.list({ node: B }),
      );
      assert.ok(listB.some((key) => key.id === id));
      assert.ok(listB.every((key) => key.node === B));
      // Every node's view at once.
      const views = await client.eachNode((node) =>
        client.deviceStates.data({ id, node })
      );
      assert.deepEqual(
        views.map((v) => ["value" in v ? v.value.state : v.error, v.node]),
        [["BUSY", A], ["INUSE", B]].sort((x, y) => x[1]!.localeCompare(y[1]!)),
      );
      await direct(
        A,
        () => client.deviceStates.handle({ id, node: A }).delete(),
      );
      await direct(
        B,
        () => client.deviceStates.handle({ id, node: B }).delete(),
      );
    });

    let channelOnB = "";
    await t.step(
      "channels: originate, data, variables, list, hangup",
      async () => {
        const channel = await direct(B, () =>
          client.channels.originate({
            endpoint: "Local/echo@default",
            app: APP,
          }, { node: B }));
        assert.equal(channel.key.node, B);
        channelOnB = channel.id;
        const data = await direct(
          B,
          () => client.channels.data({ id: channel.id, node: B }),
        );
        assert.equal(data.id, channel.id);
        // The same id on the other node: not found there.
        await assert.rejects(
          direct(A, () => client.channels.data({ id: channel.id, node: A })),
          NotFoundError,
        );
        await direct(
          B,
          () =>
            client.channels.handle({ id: channel.id, node: B }).variables.set(
              "X",
              "1",
            ),
        );
        const onA = await direct(A, () => client.channels.list({ node: A }));
        assert.ok(!onA.some((key) => key.id === channel.id));
        assert.ok(onA.every((key) => key.node === A));
      },
    );

    await t.step("bridges and playbacks: create, data, play", async () => {
      const bridge = await direct(
        A,
        () => client.bridges.create({ type: "mixing" }, { node: A }),
      );
      assert.equal(bridge.key.node, A);
      const data = await direct(
        A,
        () => client.bridges.data({ id: bridge.id, node: A }),
      );
      assert.equal(data.id, bridge.id);
      await assert.rejects(
        direct(B, () => client.bridges.data({ id: bridge.id, node: B })),
        NotFoundError,
      );
      const listA = await direct(A, () => client.bridges.list({ node: A }));
      assert.ok(listA.some((key) => key.id === bridge.id));
      const playback = await direct(
        A,
        () =>
          client.bridges.handle({ id: bridge.id, node: A }).play(
            "tone:ring;tonezone=us",
          ),
      );
      assert.equal(playback.key.node, A);
      const pb = await direct(
        A,
        () => client.playbacks.data({ id: playback.id, node: A }),
      );
      assert.equal(pb.id, playback.id);
      await assert.rejects(
        direct(B, () => client.playbacks.data({ id: playback.id, node: B })),
        NotFoundError,
      );
      await direct(
        A,
        () => client.playbacks.handle({ id: playback.id, node: A }).stop(),
      );
      await direct(
        A,
        () => client.bridges.handle({ id: bridge.id, node: A }).delete(),
      );
    });

    await t.step(
      "recordings: live on one node, stored lists per node",
      async () => {
        const bridge = await direct(
          B,
          () => client.bridges.create({ type: "mixing" }, { node: B }),
        );
        const recording = await direct(
          B,
          () =>
            client.bridges.handle({ id: bridge.id, node: B }).record({
              format: "wav",
            }),
        );
        assert.equal(recording.key.node, B);
        const live = await direct(
          B,
          () => client.liveRecordings.data({ id: recording.id, node: B }),
        );
        assert.equal(live.name, recording.id);
        await assert.rejects(
          direct(
            A,
            () => client.liveRecordings.data({ id: recording.id, node: A }),
          ),
          NotFoundError,
        );
        await direct(
          B,
          () =>
            client.liveRecordings.handle({ id: recording.id, node: B }).stop(),
        );
        const storedB = await direct(
          B,
          () => client.storedRecordings.list({ node: B }),
        );
        assert.ok(storedB.some((key) => key.id === recording.id));
        const storedA = await direct(
          A,
          () => client.storedRecordings.list({ node: A }),
        );
        assert.ok(
          !storedA.some((key) => key.id === recording.id),
        );
        await direct(
          B,
          () =>
            client.storedRecordings.handle({ id: recording.id, node: B })
              .delete(),
        );
        await direct(
          B,
          () => client.bridges.handle({ id: bridge.id, node: B }).delete(),
        );
      },
    );

    await t.step("applications, endpoints, sounds, mailboxes", async () => {
      const app = await direct(
        B,
        () => client.applications.data({ id: APP, node: B }),
      );
      assert.equal(app.key.node, B);
      assert.ok(
        app.channel_ids.includes(channelOnB),
        "node B's application holds node B's channel",
      );
      const appA = await direct(
        A,
        () => client.applications.data({ id: APP, node: A }),
      );
      assert.ok(!appA.channel_ids.includes(channelOnB));
      const endpoints = await direct(
        A,
        () => client.endpoints.list({ node: A }),
      );
      assert.ok(endpoints.every((key) => key.node === A));
      const sounds = await direct(
        B,
        () => client.sounds.list(null, { node: B }),
      );
      assert.ok(sounds.length > 0);
      assert.ok(sounds.every((key) => key.node === B));
      const sound = await direct(
        A,
        () => client.sounds.data({ id: "hello-world", node: A }),
      );
      assert.equal(sound.key.node, A);
      // This Asterisk has no res_ari_mailboxes: the request still goes to
      // the node named, which answers 404.
      await assert.rejects(
        direct(
          A,
          () =>
            client.mailboxes.handle({ id: "1000@default", node: A }).update({
              oldMessages: 0,
              newMessages: 1,
            }),
        ),
        NotFoundError,
      );
      await direct(
        B,
        () => client.channels.handle({ id: channelOnB, node: B }).hangup(),
      );
    });

    await t.step(
      "a node no proxy serves: reads fail with ConnectionError, lists are empty",
      async () => {
        assert.deepEqual(
          await client.channels.list({ node: "02:00:de:ad:00:00" }),
          [],
        );
        await assert.rejects(
          client.asterisk.variables.get({
            id: "WHERE",
            node: "02:00:de:ad:00:00",
          }, {
            timeout: 300,
          }),
          (error: unknown) => {
            assert.ok(error instanceof ConnectionError, String(error));
            assert.match(error.message, /02:00:de:ad:00:00/);
            return true;
          },
        );
      },
    );
  } finally {
    await watcher.nc.close();
  }
});
