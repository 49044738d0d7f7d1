/**
 * The least-privilege NATS permissions of `deploy/nats/ari-permissions.conf`,
 * against a real nats-server started with that file as it is: a proxy and a
 * client application work with exactly those permissions, and a client that
 * lacks a permission gets a `PermissionDeniedError` at once (request
 * timeouts here are 60 s, so a timeout would show up as a `TimeoutError`,
 * never as a pass).
 *
 * Real NATS and Asterisk from the harness, our proxy in-process on a NATS
 * connection of the `ari-proxy` user, whose errors the test watches. A
 * second test puts the same lists, read from the file, into user JWTs
 * (decentralized auth) and runs the proxy and a client with them.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  createAccount,
  createOperator,
  createUser,
  encodeAccount,
  encodeOperator,
  encodeUser,
  fmtCreds,
} from "@nats-io/jwt";
import { credsAuthenticator, type NatsConnection } from "@nats-io/nats-core";
import {
  type AriClient,
  connect,
  PermissionDeniedError,
  TimeoutError,
} from "../client/mod.ts";
import { connectNats } from "../client/nats/deno_socket.ts";
import { startProxy } from "../lib/server.ts";
import { startAsterisk, startNats, waitFor } from "./harness/mod.ts";

const PERMISSIONS_FILE = new URL(
  "../deploy/nats/ari-permissions.conf",
  import.meta.url,
);
/** The application the checked-in file is written for. */
const APP = "myapp";
const PROXY_PASSWORD = `p-${crypto.randomUUID()}`;
const CLIENT_PASSWORD = `c-${crypto.randomUUID()}`;
/** Long enough that a missed permission error would end as a timeout. */
const REQUEST_TIMEOUT = 60_000;
const SLOW = { timeout: 30_000, interval: 50 };

/** nats-server config: the checked-in file, then users that use its blocks. */
async function serverConfig(): Promise<string> {
  const permissions = await Deno.readTextFile(PERMISSIONS_FILE);
  return [
    permissions,
    "authorization {",
    "  users = [",
    `    { user: ari-proxy, password: "${PROXY_PASSWORD}", permissions: $ARI_PROXY_PERMISSIONS }`,
    `    { user: ${APP}, password: "${CLIENT_PASSWORD}", permissions: $ARI_CLIENT_PERMISSIONS }`,
    "  ]",
    "}",
  ].join("\n");
}

/** Collects the error statuses of a NATS connection. */
function watchErrors(nc: NatsConnection): Error[] {
  const seen: Error[] = [];
  (async () => {
    for await (const status of nc.status()) {
      if (status.type === "error") seen.push(status.error);
    }
  })().catch(() => {});
  return seen;
}

/** Connects a client of `myapp` with the user of the client block. */
function connectClient(
  url: string,
  connectOptions: Record<string, unknown> = { inboxPrefix: `_INBOX.${APP}` },
): Promise<AriClient> {
  return connect({
    servers: url,
    user: APP,
    pass: CLIENT_PASSWORD,
    application: APP,
    timeout: REQUEST_TIMEOUT,
    retries: 0,
    discoveryWait: 2_000,
    connectOptions,
  });
}

async function rejectsDenied(
  promise: Promise<unknown>,
  expected: { operation: "publish" | "subscribe"; subject: RegExp },
): Promise<PermissionDeniedError> {
  const error = await promise.then(
    () => assert.fail("expected a PermissionDeniedError, the call succeeded"),
    (error: unknown) => error,
  );
  assert.ok(
    !(error instanceof TimeoutError),
    `expected a PermissionDeniedError at once, got a timeout: ${error}`,
  );
  assert.ok(
    error instanceof PermissionDeniedError,
    `expected a PermissionDeniedError, got ${error}`,
  );
  assert.equal(error.operation, expected.operation);
  assert.match(error.subject, expected.subject);
  assert.match(error.message, /permissions violation/);
  return error;
}

Deno.test({
  name:
    "deploy/nats/ari-permissions.conf lets the proxy and a client work and refuses the rest with PermissionDeniedError",
  async fn(t) {
    await using nats = await startNats({ config: await serverConfig() });
    await using ast = await startAsterisk({ app: APP, allowExternal: false });

    const proxyNc = await connectNats({
      servers: nats.url,
      user: "ari-proxy",
      pass: PROXY_PASSWORD,
      name: "ari-proxy-permissions-test",
    });
    const proxyErrors = watchErrors(proxyNc);
    try {
      await using _proxy = await startProxy({
        ari: {
          application: APP,
          username: ast.username,
          password: ast.password,
          httpUrl: ast.httpUrl,
          websocketUrl: ast.wsUrl,
        },
        nats: { connection: proxyNc },
      });
      await using client = await connectClient(nats.url);
      const node = ast.entityId;
      const where = { app: APP };

      await t.step("requests of every class and events work", async () => {
        // get, direct to the node (discovery found it through ping/announce)
        const info = await client.asterisk.info({ node, only: ["system"] });
        assert.equal(info.system?.entity_id, node);

        // create (queue group) to the application; the event comes back on
        // ari.event.myapp.<node>
        const id = `perm-${crypto.randomUUID().slice(0, 8)}`;
        const staged = await client.channels.stageOriginate(
          { endpoint: "Local/100@default", app: APP, channelId: id },
          where,
        );
        const started = staged.handle.once("StasisStart", { timeout: 30_000 });
        started.catch(() => {});
        const channel = await staged.exec();
        assert.equal((await started).channel.id, id);

        // command and data, direct (the handle's key names app and node)
        await channel.answer();
        const data = await channel.data();
        assert.equal(data.id, id);

        // get (list) broadcast to the application
        const keys = await client.channels.list(where);
        assert.ok(keys.some((key) => key.id === id), "the channel is listed");

        // a dialog: its copies come on ari.dialogevent.<dialog>
        const dialog = client.dialog(`dlg-${crypto.randomUUID().slice(0, 8)}`);
        const bound = dialog.channels.handle({ ...channel.key });
        const hungUp = dialog.once("StasisEnd", { timeout: 30_000 });
        hungUp.catch(() => {});
        await bound.bindDialog();
        await bound.hangup();
        assert.equal((await hungUp).channel.id, id);
      });

      await t.step(
        "a request to every application (no app in the key) is refused at once",
        async () => {
          await rejectsDenied(client.channels.list(), {
            operation: "publish",
            subject: /^ari\.get$/,
          });
          await rejectsDenied(client.asterisk.info(), {
            operation: "publish",
            subject: /^ari\.data$/,
          });
          // The connection survives: the next allowed request works.
          const info = await client.asterisk.info({ node, only: ["system"] });
          assert.equal(info.system?.entity_id, node);
        },
      );

      await t.step(
        "a client on the default _INBOX prefix cannot receive replies and is told so at once",
        async () => {
          await using plain = await connectClient(nats.url, {});
          const error = await rejectsDenied(
            plain.asterisk.info({ node, only: ["system"] }),
            { operation: "subscribe", subject: /^_INBOX\./ },
          );
          assert.equal(error.kind, "AsteriskInfo");
        },
      );

      await t.step(
        "subscribing to another application's events reports PermissionDeniedError on status()",
        async () => {
          await using other = await connect({
            servers: nats.url,
            user: APP,
            pass: CLIENT_PASSWORD,
            application: "otherapp",
            discoveryWait: 0,
            connectOptions: { inboxPrefix: `_INBOX.${APP}` },
          });
          const statuses: Error[] = [];
          (async () => {
            for await (const status of other.status()) {
              if (status.type === "error") statuses.push(status.error);
            }
          })().catch(() => {});
          const unsubscribe = other.on("StasisStart", () => {});
          try {
            await waitFor(() => statuses.length > 0, SLOW);
            const error = statuses[0];
            assert.ok(
              error instanceof PermissionDeniedError,
              `expected a PermissionDeniedError, got ${error}`,
            );
            assert.equal(error.operation, "subscribe");
            assert.equal(error.subject, "ari.event.otherapp.>");
          } finally {
            unsubscribe();
          }
        },
      );

      // The proxy published and subscribed only within its block.
      assert.deepEqual(proxyErrors.map((e) => e.message), []);
    } finally {
      await proxyNc.close();
    }
  },
});

/** The subjects of one block of the permissions file. */
interface PermissionLists {
  publish: string[];
  subscribe: string[];
  allowResponses: boolean;
}

/**
 * Reads block `name` of the permissions file: the quoted subjects of its
 * `publish` and `subject` allow lists (comments skipped).
 */
function permissionLists(text: string, name: string): PermissionLists {
  const lines = text.split("\n").map((line) => line.replace(/#.*$/, ""));
  const start = lines.findIndex((line) =>
    new RegExp(`^${name}\\s*=\\s*\\{`).test(line.trim())
  );
  assert.ok(start >= 0, `no block ${name}`);
  const lists: PermissionLists = {
    publish: [],
    subscribe: [],
    allowResponses: false,
  };
  let depth = 0;
  let section: "publish" | "subscribe" | undefined;
  for (const line of lines.slice(start)) {
    const trimmed = line.trim();
    const open = /^(publish|subscribe)\s*=\s*\{/.exec(trimmed);
    if (open) section = open[1] as "publish" | "subscribe";
    if (/^allow_responses\s*=\s*true/.test(trimmed)) {
      lists.allowResponses = true;
    }
    for (const quoted of trimmed.matchAll(/"([^"]+)"/g)) {
      assert.ok(section, `subject outside publish/subscribe: ${trimmed}`);
      lists[section].push(quoted[1]!);
    }
    depth += (line.match(/\{/g) ?? []).length;
    depth -= (line.match(/\}/g) ?? []).length;
    if (depth === 1 && trimmed === "}") section = undefined;
    if (depth === 0) break;
  }
  return lists;
}

Deno.test({
  name:
    "the permissions of deploy/nats/ari-permissions.conf work the same in user JWTs (decentralized auth)",
  async fn() {
    const text = await Deno.readTextFile(PERMISSIONS_FILE);
    const proxyLists = permissionLists(text, "ARI_PROXY_PERMISSIONS");
    const clientLists = permissionLists(text, "ARI_CLIENT_PERMISSIONS");
    assert.ok(proxyLists.allowResponses && !clientLists.allowResponses);
    assert.ok(proxyLists.subscribe.includes("ari.create.myapp.* ariproxy"));
    assert.ok(clientLists.subscribe.includes("_INBOX.myapp.>"));

    const operator = createOperator();
    const account = createAccount();
    const accountJwt = await encodeAccount("ARI", account, {
      limits: {
        conn: -1,
        subs: -1,
        data: -1,
        payload: -1,
        imports: -1,
        exports: -1,
        leaf: -1,
        wildcards: true,
      },
    }, { signer: operator });
    async function creds(
      name: string,
      lists: PermissionLists,
    ): Promise<Uint8Array> {
      const user = createUser();
      const jwt = await encodeUser(name, user, account, {
        pub: { allow: lists.publish },
        sub: { allow: lists.subscribe },
        ...(lists.allowResponses ? { resp: { max: 1, ttl: 0 } } : {}),
      });
      return fmtCreds(jwt, user);
    }
    await using nats = await startNats({
      config: [
        `operator: ${await encodeOperator("ari-test", operator)}`,
        "resolver: MEMORY",
        `resolver_preload: { ${account.getPublicKey()}: ${accountJwt} }`,
      ].join("\n"),
    });
    await using ast = await startAsterisk({ app: APP, allowExternal: false });
    const proxyNc = await connectNats({
      servers: nats.url,
      authenticator: credsAuthenticator(
        await creds("ari-proxy", proxyLists),
      ),
    });
    const proxyErrors = watchErrors(proxyNc);
    try {
      await using _proxy = await startProxy({
        ari: {
          application: APP,
          username: ast.username,
          password: ast.password,
          httpUrl: ast.httpUrl,
          websocketUrl: ast.wsUrl,
        },
        nats: { connection: proxyNc },
      });
      await using client = await connect({
        servers: nats.url,
        authenticator: credsAuthenticator(await creds(APP, clientLists)),
        application: APP,
        timeout: REQUEST_TIMEOUT,
        retries: 0,
        discoveryWait: 2_000,
        connectOptions: { inboxPrefix: `_INBOX.${APP}` },
      });
      const node = ast.entityId;
      const info = await client.asterisk.info({ node, only: ["system"] });
      assert.equal(info.system?.entity_id, node);

      const id = `jwt-${crypto.randomUUID().slice(0, 8)}`;
      const staged = await client.channels.stageOriginate(
        { endpoint: "Local/100@default", app: APP, channelId: id },
        { app: APP },
      );
      const started = staged.handle.once("StasisStart", { timeout: 30_000 });
      started.catch(() => {});
      const channel = await staged.exec();
      assert.equal((await started).channel.id, id);
      await channel.hangup();

      await rejectsDenied(client.channels.list(), {
        operation: "publish",
        subject: /^ari\.get$/,
      });
      assert.deepEqual(proxyErrors.map((e) => e.message), []);
    } finally {
      await proxyNc.close();
    }
  },
});
