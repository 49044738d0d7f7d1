/**
 * The native I/O (REST client + events WebSocket) against a real Asterisk,
 * started by the test harness.
 */
import assert from "node:assert/strict";
import { startAsterisk } from "../../tests/harness/mod.ts";
import { AriHttpError, ConnectionError } from "../errors.ts";
import {
  type AriEventObject,
  openAriEventStream,
  type StreamStatus,
} from "./events_socket.ts";
import { createAriRestClient } from "./rest.ts";

/** Collects items and lets a test wait (with a deadline) for a matching one. */
class Collector<T> {
  readonly items: T[] = [];
  #waiters: { match: (item: T) => boolean; resolve: (item: T) => void }[] = [];

  push = (item: T): void => {
    this.items.push(item);
    this.#waiters = this.#waiters.filter((w) => {
      if (!w.match(item)) return true;
      w.resolve(item);
      return false;
    });
  };

  /** Resolves with the first item from index `from` on that matches. */
  async next(
    what: string,
    match: (item: T) => boolean,
    from = 0,
    timeout = 20_000,
  ): Promise<T> {
    const found = this.items.slice(from).find(match);
    if (found !== undefined) return found;
    const { promise, resolve } = Promise.withResolvers<T>();
    const waiter = { match, resolve };
    this.#waiters.push(waiter);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(`Timed out after ${timeout} ms waiting for ${what}`),
          ),
        timeout,
      );
    });
    try {
      return await Promise.race([promise, deadline]);
    } finally {
      clearTimeout(timer);
      this.#waiters = this.#waiters.filter((w) => w !== waiter);
    }
  }
}

Deno.test({
  name:
    "createAriRestClient() and openAriEventStream() work against a real Asterisk across a restart",
  sanitizeOps: true,
  sanitizeResources: true,
  async fn(t) {
    await using ast = await startAsterisk({
      app: "nativeio",
      allowExternal: false,
    });
    await using ari = createAriRestClient({
      url: ast.httpUrl,
      username: ast.username,
      password: ast.password,
    });
    const events = new Collector<AriEventObject>();
    const statuses = new Collector<StreamStatus>();
    await using stream = openAriEventStream({
      url: ast.wsUrl,
      username: ast.username,
      password: ast.password,
      app: [ast.app, "nativeio-second"],
      maxDelay: 1_000,
      onEvent: events.push,
      onStatus: statuses.push,
    });

    await t.step("GET /asterisk/info answers with the entity id", async () => {
      const info = await ari.request("GET", "/asterisk/info") as {
        system: { entity_id: string };
      };
      assert.equal(info.system.entity_id, ast.entityId);
    });

    await t.step(
      "a missing channel is an AriHttpError with Asterisk's message",
      async () => {
        await assert.rejects(
          ari.request("POST", {
            template: "/channels/{channelId}/answer",
            params: { channelId: "no-such-channel" },
          }),
          (e: unknown) => {
            assert.ok(e instanceof AriHttpError);
            assert.equal(e.status, 404);
            assert.equal(e.ariMessage, "Channel not found");
            assert.equal(
              e.message,
              "Cannot POST /channels/no-such-channel/answer: 404 Channel not found",
            );
            return true;
          },
        );
      },
    );

    await t.step("a traversal id stays inside /channels", async () => {
      await assert.rejects(
        ari.request("GET", {
          template: "/channels/{channelId}",
          params: { channelId: "../asterisk/info" },
        }),
        (e: unknown) => e instanceof AriHttpError && e.status === 404,
      );
    });

    async function originateAndSeeStasisStart(label: string): Promise<void> {
      const channel = await ari.request("POST", "/channels", {
        query: { endpoint: "Local/100@default", app: ast.app },
      }) as { id: string };
      assert.equal(typeof channel.id, "string");
      const start = await events.next(
        `StasisStart of ${channel.id} (${label})`,
        (e) =>
          e.type === "StasisStart" &&
          (e.channel as { id?: string } | undefined)?.id === channel.id,
      );
      assert.equal(start.application, ast.app);
      await ari.request("DELETE", {
        template: "/channels/{channelId}",
        params: { channelId: channel.id },
      });
      await events.next(
        `StasisEnd of ${channel.id} (${label})`,
        (e) =>
          e.type === "StasisEnd" &&
          (e.channel as { id?: string } | undefined)?.id === channel.id,
      );
    }

    await t.step(
      "an originated Local channel produces StasisStart",
      async () => {
        await stream.ready();
        assert.equal(stream.isConnected(), true);
        await originateAndSeeStasisStart("first boot");
      },
    );

    await t.step(
      "after an Asterisk restart the stream reconnects and events flow",
      async () => {
        const from = statuses.items.length;
        await ast.restart();
        await statuses.next(
          "disconnected",
          (s) => s.type === "disconnected",
          from,
        );
        await statuses.next(
          "connected again",
          (s) => s.type === "connected",
          from,
        );
        assert.equal(stream.isConnected(), true);
        const info = await ari.request("GET", "/asterisk/info") as {
          system: { entity_id: string };
        };
        assert.equal(info.system.entity_id, ast.entityId);
        await originateAndSeeStasisStart("after restart");
      },
    );

    await t.step(
      "after an Asterisk crash REST fails with ConnectionError, then both recover",
      async () => {
        const from = statuses.items.length;
        await ast.kill();
        await statuses.next(
          "disconnected",
          (s) => s.type === "disconnected",
          from,
        );
        assert.equal(stream.isConnected(), false);
        await assert.rejects(
          ari.request("GET", "/asterisk/info"),
          ConnectionError,
        );
        await ast.restart();
        await statuses.next(
          "connected again",
          (s) => s.type === "connected",
          from,
        );
        await originateAndSeeStasisStart("after crash");
      },
    );

    await t.step("the stream closes cleanly", async () => {
      await stream.close();
      assert.equal(await stream.closed(), undefined);
      assert.equal(statuses.items.at(-1)?.type, "closed");
    });
  },
});
