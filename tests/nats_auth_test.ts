/**
 * NATS authentication, every option the proxy offers, against a real
 * nats-server configured for it: user/password, token, an NKey/JWT `.creds`
 * file (operator, account and user made here with `@nats-io/jwt`), and TLS
 * with a client certificate (a throwaway CA made here with `openssl`; the
 * server verifies client certificates).
 *
 * The proxy runs as an operator runs it: `main.ts` through the `start` task of
 * deno.json, configured with the `NATS_*` environment variables (the
 * `--nats.*` flags), so the whole path config → connection is exercised. The
 * test's own client connects with the same method through `connect()` of the
 * client package and reaches the proxy with a request. Each case also shows
 * that the server really requires the method: a wrong secret is refused.
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
import { credsAuthenticator } from "@nats-io/nats-core";
import {
  type AriClient,
  connect,
  ConnectionError,
  type NatsTransportOptions,
} from "../client/mod.ts";
import {
  type AsteriskInstance,
  startAsterisk,
  startNats,
  waitFor,
} from "./harness/mod.ts";
import {
  issueCertificate,
  makeCertificateAuthority,
} from "../tools/stack/pki.ts";

const ROOT = new URL("..", import.meta.url);
const APP = "authtest";
const SLOW = { timeout: 30_000, interval: 100 };

/** The `start` task of deno.json, so the test runs exactly what operators run. */
const START_TASK: string[] = JSON.parse(
  await Deno.readTextFile(new URL("deno.json", ROOT)),
).tasks.start.split(" ");

/** One way to authenticate: server config, proxy environment, client options. */
interface AuthCase {
  /** nats-server configuration text. */
  server: string;
  /** URL scheme the proxy and client use. */
  scheme: "nats" | "tls";
  /** The proxy's NATS settings, as environment variables. */
  proxyEnv: Record<string, string>;
  /** The test client's connection options. */
  client: Partial<NatsTransportOptions>;
  /** Client options with a wrong secret, which the server must refuse. */
  wrong: Partial<NatsTransportOptions>;
}

/** A running proxy process; its log is collected. */
interface ProxyProcess extends AsyncDisposable {
  log(): string;
}

function spawnProxy(
  ast: AsteriskInstance,
  natsUrl: string,
  env: Record<string, string>,
): ProxyProcess {
  assert.equal(START_TASK[0], "deno");
  const child = new Deno.Command(Deno.execPath(), {
    args: START_TASK.slice(1),
    cwd: ROOT,
    env: {
      NO_COLOR: "1",
      HOME: "/nonexistent",
      DENO_DIR: Deno.env.get("DENO_DIR") ??
        `${Deno.env.get("HOME")}/.cache/deno`,
      PATH: Deno.env.get("PATH") ?? "",
      ARI_APPLICATION: APP,
      ARI_USERNAME: ast.username,
      ARI_PASSWORD: ast.password,
      ARI_HTTP_URL: ast.httpUrl,
      ARI_WEBSOCKET_URL: ast.wsUrl,
      MESSAGEBUS_URL: natsUrl,
      ...env,
    },
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let log = "";
  const reading = (async () => {
    for await (
      const chunk of child.stderr.pipeThrough(new TextDecoderStream())
    ) log += chunk;
  })();
  return {
    log: () => log,
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGTERM");
      } catch {
        // Already exited.
      }
      await child.status;
      await reading;
    },
  };
}

/** Waits until the proxy answers the client, which proves both connected. */
async function reachProxy(
  client: AriClient,
  ast: AsteriskInstance,
  proxy: ProxyProcess,
): Promise<void> {
  try {
    await waitFor(async () => {
      try {
        const info = await client.asterisk.info({
          node: ast.entityId,
          only: ["system"],
          timeout: 2_000,
        });
        return info.system?.entity_id === ast.entityId;
      } catch {
        return false;
      }
    }, SLOW);
  } catch (error) {
    throw new Error(`The proxy never answered; its log:\n${proxy.log()}`, {
      cause: error,
    });
  }
}

async function runCase(
  ast: AsteriskInstance,
  auth: AuthCase,
): Promise<void> {
  await using nats = await startNats({ config: auth.server });
  const url = `${auth.scheme}://127.0.0.1:${nats.port}`;
  await using proxy = spawnProxy(ast, url, auth.proxyEnv);
  await using client = await connect({
    servers: url,
    application: APP,
    discoveryWait: 0,
    ...auth.client,
  });
  await reachProxy(client, ast, proxy);
  // The server does check: the wrong secret is refused at connect.
  await assert.rejects(
    connect({
      servers: url,
      discoveryWait: 0,
      connectOptions: { timeout: 5_000 },
      ...auth.wrong,
    }),
    ConnectionError,
  );
  assert.doesNotMatch(proxy.log(), /"level":"(ERROR|FATAL)"/);
}

/** A CA, a server certificate for 127.0.0.1 and two client certificates. */
async function makePki(dir: string): Promise<void> {
  await makeCertificateAuthority(dir);
  // A second CA whose client certificate the server must refuse.
  await makeCertificateAuthority(dir, "rogue-ca", "/CN=rogue CA");
  await issueCertificate(dir, {
    name: "server",
    subject: "/CN=127.0.0.1",
    extensions: "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth",
  });
  await issueCertificate(dir, {
    name: "client",
    subject: "/CN=ari-proxy",
    extensions: "extendedKeyUsage=clientAuth",
  });
  await issueCertificate(dir, {
    name: "rogue",
    ca: "rogue-ca",
    subject: "/CN=ari-proxy",
    extensions: "extendedKeyUsage=clientAuth",
  });
}

Deno.test({
  name:
    "the proxy (main.ts) and the client authenticate to a real nats-server with every option",
  async fn(t) {
    await using ast = await startAsterisk({ app: APP, allowExternal: false });
    const dir = await Deno.makeTempDir({ prefix: "ari-nats-auth-" });
    try {
      await t.step(
        "user and password (NATS_USER, NATS_PASSWORD)",
        () =>
          runCase(ast, {
            server: 'authorization { user: ari, password: "s3cret pass" }',
            scheme: "nats",
            proxyEnv: { NATS_USER: "ari", NATS_PASSWORD: "s3cret pass" },
            client: { user: "ari", pass: "s3cret pass" },
            wrong: { user: "ari", pass: "wrong" },
          }),
      );

      await t.step("token (NATS_TOKEN)", () =>
        runCase(ast, {
          server: 'authorization { token: "t0ken-for-ari" }',
          scheme: "nats",
          proxyEnv: { NATS_TOKEN: "t0ken-for-ari" },
          client: { token: "t0ken-for-ari" },
          wrong: { token: "wrong" },
        }));

      await t.step("NKey/JWT credentials file (NATS_CREDS)", async () => {
        const operator = createOperator();
        const account = createAccount();
        const operatorJwt = await encodeOperator("ari-test", operator);
        // No limits in an account JWT means none allowed: lift them.
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
        const user = createUser();
        const userJwt = await encodeUser("ari-proxy", user, account);
        const creds = fmtCreds(userJwt, user);
        const credsPath = `${dir}/ari-proxy.creds`;
        await Deno.writeFile(credsPath, creds, { mode: 0o600 });
        // A user of an account the server does not know.
        const strangerAccount = createAccount();
        const stranger = createUser();
        const strangerCreds = fmtCreds(
          await encodeUser("stranger", stranger, strangerAccount),
          stranger,
        );
        await runCase(ast, {
          server: [
            `operator: ${operatorJwt}`,
            "resolver: MEMORY",
            `resolver_preload: { ${account.getPublicKey()}: ${accountJwt} }`,
          ].join("\n"),
          scheme: "nats",
          proxyEnv: { NATS_CREDS: credsPath },
          client: { authenticator: credsAuthenticator(creds) },
          wrong: { authenticator: credsAuthenticator(strangerCreds) },
        });
      });

      await t.step(
        "TLS with a client certificate (NATS_TLS_CA, NATS_TLS_CERT, NATS_TLS_KEY)",
        async () => {
          await makePki(dir);
          await runCase(ast, {
            server: [
              "tls {",
              `  cert_file: "${dir}/server.pem"`,
              `  key_file: "${dir}/server.key"`,
              `  ca_file: "${dir}/ca.pem"`,
              "  verify: true",
              "  timeout: 5",
              "}",
            ].join("\n"),
            scheme: "tls",
            proxyEnv: {
              NATS_TLS_CA: `${dir}/ca.pem`,
              NATS_TLS_CERT: `${dir}/client.pem`,
              NATS_TLS_KEY: `${dir}/client.key`,
            },
            client: {
              tls: {
                caFile: `${dir}/ca.pem`,
                certFile: `${dir}/client.pem`,
                keyFile: `${dir}/client.key`,
              },
            },
            wrong: {
              tls: {
                caFile: `${dir}/ca.pem`,
                certFile: `${dir}/rogue.pem`,
                keyFile: `${dir}/rogue.key`,
              },
            },
          });
        },
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
