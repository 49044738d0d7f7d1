/**
 * ARI over TLS (`https:` REST and `wss:` events) against a fake Asterisk
 * whose certificate is signed by a throwaway private CA, generated at test
 * time with `openssl`. Covers both ways to trust that CA: per client with the
 * `caCerts` option, and process-wide with `deno run --cert` / `DENO_CERT`
 * (in a subprocess, as an operator would run the proxy). Without the CA,
 * calls fail fast with `ConnectionError`.
 */

import assert from "node:assert/strict";
import { ConnectionError } from "../client/errors.ts";
import { createAriRestClient } from "../client/native/rest.ts";
import { createNativeTransport } from "../client/native/transport.ts";
import type { ProxiedEvent } from "../client/protocol/types.ts";
import { startNats, startProxyProcess } from "./harness/mod.ts";

const ROOT = new URL("..", import.meta.url);
const TLS_CLIENT = new URL("testdata/tls_client.ts", import.meta.url);
const USERNAME = "tls";
const PASSWORD = "secret";
const AUTHORIZATION = "Basic " + btoa(`${USERNAME}:${PASSWORD}`);
const ENTITY_ID = "tls-node";
const APP = "tls-app";
/** Bound on every network step, so a TLS problem fails instead of hanging. */
const TIMEOUT = 10_000;

// ---- a throwaway PKI ---------------------------------------------------

/** A private CA and a server certificate for 127.0.0.1/localhost. */
interface Pki extends AsyncDisposable {
  /** Path of the CA certificate (for `--cert` / `DENO_CERT`). */
  readonly caPath: string;
  /** PEM of the CA certificate. */
  readonly ca: string;
  /** PEM of the server certificate. */
  readonly cert: string;
  /** PEM of the server key. */
  readonly key: string;
}

async function openssl(cwd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", {
    args,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `Cannot run openssl ${args[0]}: ${new TextDecoder().decode(out.stderr)}`,
    );
  }
}

async function createPki(): Promise<Pki> {
  const dir = await Deno.makeTempDir({ prefix: "ari_tls_" });
  try {
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
    await openssl(dir, [
      "req",
      "-x509",
      ...ec,
      "-nodes",
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
      "-days",
      "2",
      "-subj",
      "/CN=ARI test CA",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    await openssl(dir, [
      "req",
      ...ec,
      "-nodes",
      "-keyout",
      "server.key",
      "-out",
      "server.csr",
      "-subj",
      "/CN=localhost",
    ]);
    await Deno.writeTextFile(
      `${dir}/server.ext`,
      [
        "subjectAltName=IP:127.0.0.1,DNS:localhost",
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature",
        "extendedKeyUsage=serverAuth",
        "",
      ].join("\n"),
    );
    const serial = "0x" +
      Array.from(
        crypto.getRandomValues(new Uint8Array(8)),
        (b) => b.toString(16).padStart(2, "0"),
      ).join("");
    await openssl(dir, [
      "x509",
      "-req",
      "-in",
      "server.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-set_serial",
      serial,
      "-days",
      "2",
      "-extfile",
      "server.ext",
      "-out",
      "server.pem",
    ]);
    const [ca, cert, key] = await Promise.all(
      ["ca.pem", "server.pem", "server.key"].map((name) =>
        Deno.readTextFile(`${dir}/${name}`)
      ),
    );
    return {
      caPath: `${dir}/ca.pem`,
      ca: ca!,
      cert: cert!,
      key: key!,
      async [Symbol.asyncDispose]() {
        await Deno.remove(dir, { recursive: true });
      },
    };
  } catch (error) {
    await Deno.remove(dir, { recursive: true });
    throw error;
  }
}

// ---- a fake Asterisk over TLS -----------------------------------------

/** A fake ARI served over TLS only. */
interface TlsAri extends AsyncDisposable {
  /** `https://127.0.0.1:<port>/ari`. */
  readonly url: string;
  readonly port: number;
  /** Authorized REST calls, as `"GET /ari/asterisk/info?only=system"`. */
  readonly calls: string[];
  /** Query strings of the accepted (authorized) event WebSockets. */
  readonly sockets: string[];
  /** Requests refused for missing or wrong credentials. */
  unauthorized: number;
}

const STASIS_START = {
  type: "StasisStart",
  timestamp: "2024-01-01T00:00:00.000+0000",
  args: [],
  channel: {
    id: "tls-chan-1",
    name: "PJSIP/alice-00000001",
    state: "Ring",
    caller: { name: "", number: "100" },
    connected: { name: "", number: "" },
    accountcode: "",
    dialplan: { context: "default", exten: "100", priority: 1 },
    creationtime: "2024-01-01T00:00:00.000+0000",
    language: "en",
  },
};

function json(status: number, body: unknown): Response {
  return Response.json(body, { status });
}

/**
 * Answers `GET /ari/asterisk/info` (basic auth required) and upgrades
 * `/ari/events`. Every info call made while an events WebSocket is open
 * also sends a `StasisStart` on it, so a client triggers its event once it
 * has subscribed.
 */
function startTlsAri(pki: Pki): TlsAri {
  const controller = new AbortController();
  const open = new Set<WebSocket>();
  const state = {
    calls: [] as string[],
    sockets: [] as string[],
    unauthorized: 0,
  };
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    cert: pki.cert,
    key: pki.key,
    signal: controller.signal,
    onListen() {},
  }, (request) => {
    const url = new URL(request.url);
    if (request.headers.get("authorization") !== AUTHORIZATION) {
      state.unauthorized++;
      return json(401, { message: "Authentication required" });
    }
    if (url.pathname === "/ari/events") {
      if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
        return json(400, { message: "WebSocket upgrade required" });
      }
      const { socket, response } = Deno.upgradeWebSocket(request);
      state.sockets.push(url.search);
      socket.onopen = () => open.add(socket);
      socket.onclose = () => open.delete(socket);
      return response;
    }
    state.calls.push(`${request.method} ${url.pathname}${url.search}`);
    if (request.method === "GET" && url.pathname === "/ari/asterisk/info") {
      for (const socket of open) socket.send(JSON.stringify(STASIS_START));
      return json(200, {
        system: { entity_id: ENTITY_ID, version: "22.0.0" },
      });
    }
    return json(404, { message: "Resource not found" });
  });
  const { port } = server.addr;
  return {
    url: `https://127.0.0.1:${port}/ari`,
    port,
    get calls() {
      return state.calls;
    },
    get sockets() {
      return state.sockets;
    },
    get unauthorized() {
      return state.unauthorized;
    },
    async [Symbol.asyncDispose]() {
      for (const socket of open) socket.close();
      controller.abort();
      await server.finished;
    },
  };
}

// ---- helpers -------------------------------------------------------------

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return await promise.then(
    () => assert.fail("expected a rejection"),
    (error: unknown) => error,
  );
}

/** The messages of `error` and its causes, joined. */
function messages(error: unknown): string {
  const parts: string[] = [];
  for (let e = error; e instanceof Error; e = e.cause) parts.push(e.message);
  return parts.join(" <- ");
}

/**
 * Wraps `Deno.createHttpClient` (until disposed) to count the clients made
 * and those not closed yet: the resource sanitizer does not track them.
 */
function trackHttpClients(): Disposable & {
  created(): number;
  open(): number;
} {
  const deno = Deno as { createHttpClient: typeof Deno.createHttpClient };
  const original = deno.createHttpClient;
  let created = 0;
  let open = 0;
  deno.createHttpClient = function (
    options: Parameters<typeof Deno.createHttpClient>[0],
  ): Deno.HttpClient {
    const client = original(options);
    created++;
    open++;
    const close = client.close.bind(client);
    client.close = () => {
      close();
      open--;
    };
    return client;
  };
  return {
    created: () => created,
    open: () => open,
    [Symbol.dispose]() {
      deno.createHttpClient = original;
    },
  };
}

interface TlsClientResult {
  ok: boolean;
  error?: string;
  node?: string;
  connected?: boolean;
  infoError?: string;
  infoEntityId?: string;
  event?: {
    type: string;
    application: string;
    asteriskId: string;
    channelId: string;
  };
}

/**
 * Runs `tests/testdata/tls_client.ts` in a fresh Deno with a clean
 * environment plus `extraEnv`, and the given Deno flags.
 */
async function runTlsClient(
  url: string,
  flags: string[],
  extraEnv: Record<string, string> = {},
): Promise<{ code: number; result: TlsClientResult; stderr: string }> {
  const { port } = new URL(url);
  const killer = new AbortController();
  const timer = setTimeout(() => killer.abort(), 60_000);
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-prompt",
        `--allow-net=127.0.0.1:${port}`,
        ...flags,
        TLS_CLIENT.pathname,
        url,
        APP,
      ],
      cwd: ROOT,
      env: {
        NO_COLOR: "1",
        DENO_DIR: Deno.env.get("DENO_DIR") ??
          `${Deno.env.get("HOME")}/.cache/deno`,
        PATH: Deno.env.get("PATH") ?? "",
        ...extraEnv,
      },
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: killer.signal,
    }).output();
    const stdout = new TextDecoder().decode(out.stdout).trim();
    const stderr = new TextDecoder().decode(out.stderr);
    let result: TlsClientResult;
    try {
      result = JSON.parse(stdout.split("\n").at(-1) ?? "");
    } catch {
      assert.fail(
        `tls_client.ts printed no result (code ${out.code}): ${stdout} ${stderr}`,
      );
    }
    return { code: out.code, result, stderr };
  } finally {
    clearTimeout(timer);
  }
}

function assertTransportResult(
  ari: TlsAri,
  run: { code: number; result: TlsClientResult; stderr: string },
): void {
  assert.deepEqual(
    run.result,
    {
      ok: true,
      node: ENTITY_ID,
      connected: true,
      infoError: "",
      infoEntityId: ENTITY_ID,
      event: {
        type: "StasisStart",
        application: APP,
        asteriskId: ENTITY_ID,
        channelId: "tls-chan-1",
      },
    },
    run.stderr,
  );
  assert.equal(run.code, 0);
  assert.equal(ari.unauthorized, 0);
  assert.deepEqual(ari.calls, [
    "GET /ari/asterisk/info?only=system",
    "GET /ari/asterisk/info",
  ]);
  assert.deepEqual(ari.sockets, [`?app=${APP}&subscribeAll=false`]);
}

// ---- tests ---------------------------------------------------------------

Deno.test("createNativeTransport() reaches https and wss ARI when Deno runs with --cert", async () => {
  await using pki = await createPki();
  await using ari = startTlsAri(pki);
  const run = await runTlsClient(ari.url, ["--cert", pki.caPath]);
  assertTransportResult(ari, run);
});

Deno.test("createNativeTransport() reaches https and wss ARI when DENO_CERT names the CA", async () => {
  await using pki = await createPki();
  await using ari = startTlsAri(pki);
  const run = await runTlsClient(ari.url, [], { DENO_CERT: pki.caPath });
  assertTransportResult(ari, run);
});

Deno.test("deno task start reaches https and wss ARI with DENO_CERT, as README.md shows it", async () => {
  const readme = await Deno.readTextFile(new URL("README.md", ROOT));
  const command = readme.match(/```sh\n(DENO_CERT=[\s\S]*?)```/)?.[1]
    ?.replace(/\\\n\s*/g, "").trim();
  assert.ok(command, "README.md shows the DENO_CERT command");
  const words = command.split(/\s+/);
  const env: Record<string, string> = {};
  while (/^[A-Z_]+=/.test(words[0]!)) {
    const [name, ...value] = words.shift()!.split("=");
    env[name!] = value.join("=");
  }
  assert.deepEqual(words, ["deno", "task", "start"]);
  assert.match(env.ARI_HTTP_URL!, /^https:\/\//);
  assert.match(env.ARI_WEBSOCKET_URL!, /^wss:\/\//);
  await using pki = await createPki();
  await using ari = startTlsAri(pki);
  await using nats = await startNats();
  // The README's Asterisk ("pbx", its CA file, its credentials) is the fake.
  const origin = new URL(ari.url).host;
  await using _proxy = await startProxyProcess({
    application: env.ARI_APPLICATION!,
    httpUrl: env.ARI_HTTP_URL!.replace(/\/\/[^/]+/, `//${origin}`),
    websocketUrl: env.ARI_WEBSOCKET_URL!.replace(/\/\/[^/]+/, `//${origin}`),
    username: USERNAME,
    password: PASSWORD,
    natsUrl: nats.url,
    node: ENTITY_ID,
    env: { DENO_CERT: pki.caPath },
  });
  assert.ok(ari.sockets.some((q) => q.includes(`app=${env.ARI_APPLICATION}`)));
  assert.ok(ari.calls.some((c) => c.startsWith("GET /ari/asterisk/info")));
});

Deno.test("createNativeTransport() fails with ConnectionError in a Deno that does not trust the CA", async () => {
  await using pki = await createPki();
  await using ari = startTlsAri(pki);
  const run = await runTlsClient(ari.url, []);
  assert.equal(run.code, 1, run.stderr);
  assert.equal(run.result.ok, false);
  assert.match(run.result.error ?? "", /certificate/i);
  assert.deepEqual(ari.calls, []);
});

Deno.test("createNativeTransport() trusts caCerts for REST and the events WebSocket", async () => {
  await using pki = await createPki();
  await using ari = startTlsAri(pki);
  using clients = trackHttpClients();
  await using transport = await createNativeTransport({
    url: ari.url,
    username: USERNAME,
    password: PASSWORD,
    application: APP,
    timeout: TIMEOUT,
    caCerts: [pki.ca],
  });
  assert.deepEqual(transport.nodes(), [{ node: ENTITY_ID, app: APP }]);
  assert.equal(transport.isConnected(), true);
  const { promise, resolve } = Promise.withResolvers<ProxiedEvent>();
  const stop = transport.subscribe({}, resolve);
  const info = await transport.request({ kind: "AsteriskInfo", key: null });
  assert.equal(info.error, "");
  const event = await promise;
  stop();
  assert.equal(event.type, "StasisStart");
  assert.equal(event.application, APP);
  assert.equal(event.asterisk_id, ENTITY_ID);
  assert.deepEqual(ari.sockets, [`?app=${APP}&subscribeAll=false`]);
  assert.equal(ari.unauthorized, 0);
  // One HttpClient for REST, one for the WebSocket; close() releases both.
  assert.equal(clients.created(), 2);
  await transport.close();
  assert.equal(clients.open(), 0);
});

Deno.test("createNativeTransport() rejects with ConnectionError for an untrusted certificate", async () => {
  await using pki = await createPki();
  await using ari = startTlsAri(pki);
  const error = await rejection(createNativeTransport({
    url: ari.url,
    username: USERNAME,
    password: PASSWORD,
    application: APP,
    timeout: TIMEOUT,
  }));
  assert.ok(error instanceof ConnectionError, messages(error));
  assert.match(error.message, /certificate/i);
  assert.deepEqual(ari.calls, []);
});

Deno.test("createAriRestClient() trusts caCerts over https without a global flag", async () => {
  await using pki = await createPki();
  await using ari = startTlsAri(pki);
  using clients = trackHttpClients();
  await using rest = createAriRestClient({
    url: ari.url,
    username: USERNAME,
    password: PASSWORD,
    timeout: TIMEOUT,
    caCerts: [pki.ca],
  });
  assert.deepEqual(await rest.request("GET", "/asterisk/info"), {
    system: { entity_id: ENTITY_ID, version: "22.0.0" },
  });
  assert.deepEqual(ari.calls, ["GET /ari/asterisk/info"]);
  assert.equal(clients.created(), 1);
  await rest.close();
  assert.equal(clients.open(), 0);
});

Deno.test("createAriRestClient() rejects with ConnectionError for an untrusted certificate", async () => {
  await using pki = await createPki();
  await using ari = startTlsAri(pki);
  await using rest = createAriRestClient({
    url: ari.url,
    username: USERNAME,
    password: PASSWORD,
    timeout: TIMEOUT,
  });
  const error = await rejection(rest.request("GET", "/asterisk/info"));
  assert.ok(error instanceof ConnectionError, messages(error));
  assert.equal(error.target, ari.url);
  assert.match(error.message, /^Cannot GET \/asterisk\/info: .*certificate/i);
  assert.deepEqual(ari.calls, []);
});

Deno.test("createAriRestClient() rejects caCerts that are not PEM certificates", () => {
  using clients = trackHttpClients();
  for (
    const caCerts of [
      ["/etc/asterisk/keys/ca.pem"],
      [""],
      "-----BEGIN CERTIFICATE-----",
      ["-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"],
    ]
  ) {
    assert.throws(
      () =>
        createAriRestClient({
          url: "https://127.0.0.1:1/ari",
          caCerts: caCerts as string[],
        }),
      TypeError,
      JSON.stringify(caCerts),
    );
  }
  assert.equal(clients.open(), 0);
});

Deno.test("createAriRestClient() releases the caCerts client on close(), drain() and an aborted signal", async () => {
  await using pki = await createPki();
  using clients = trackHttpClients();
  const options = { url: "https://127.0.0.1:1/ari", caCerts: [pki.ca] };
  const closing = createAriRestClient(options);
  await closing.close();
  await closing.close();
  const draining = createAriRestClient(options);
  await draining.drain();
  await draining.close();
  const aborted = createAriRestClient({
    ...options,
    signal: AbortSignal.abort(),
  });
  assert.equal(aborted.isClosed(), true);
  await aborted.close();
  assert.equal(clients.created(), 3);
  assert.equal(clients.open(), 0);
});
