import assert from "node:assert/strict";
import {
  DEFAULT_ARI_HTTP_URL,
  DEFAULT_ARI_WEBSOCKET_URL,
  DEFAULT_NATS_URL,
  helpText,
  loadConfig,
  type LoadConfigOptions,
  type ProxyConfig,
  redactConfig,
} from "./config.ts";
import { toProxyOptions } from "../main.ts";

const REQUIRED_ENV = {
  ARI_APPLICATION: "envapp",
  ARI_USERNAME: "proxy",
  ARI_PASSWORD: "secret",
};

function load(
  partial: Partial<LoadConfigOptions> & { files?: Record<string, string> },
) {
  const { files = {}, ...rest } = partial;
  return loadConfig({
    args: [],
    env: {},
    homeDir: "/home/u",
    readTextFile: (path) => files[path],
    ...rest,
  });
}

async function config(
  partial: Partial<LoadConfigOptions> & { files?: Record<string, string> },
): Promise<ProxyConfig> {
  const result = await load(partial);
  if (result.type !== "config") {
    throw new Error(`Expected a config, got ${JSON.stringify(result)}`);
  }
  return result.config;
}

Deno.test("loadConfig() applies Go defaults", async () => {
  const c = await config({ env: REQUIRED_ENV });
  assert.equal(c.ari.httpUrl, DEFAULT_ARI_HTTP_URL);
  assert.equal(c.ari.websocketUrl, DEFAULT_ARI_WEBSOCKET_URL);
  assert.deepEqual(c.nats.servers, [DEFAULT_NATS_URL]);
  assert.equal(c.prefix, "ari.");
  assert.equal(c.verbose, false);
  assert.equal(c.logFormat, "json");
  assert.equal(c.nats.name, "ari-proxy-envapp");
});

Deno.test("loadConfig() reads the Go environment variable names", async () => {
  const c = await config({
    env: {
      ...REQUIRED_ENV,
      ARI_HTTP_URL: "http://pbx:8088/ari",
      ARI_WEBSOCKET_URL: "ws://pbx:8088/ari/events",
      MESSAGEBUS_URL: "nats://a:4222,nats://b:4222",
      VERBOSE: "true",
    },
  });
  assert.deepEqual(c.ari, {
    application: "envapp",
    username: "proxy",
    password: "secret",
    httpUrl: "http://pbx:8088/ari",
    websocketUrl: "ws://pbx:8088/ari/events",
    transport: "auto",
  });
  assert.deepEqual(c.nats.servers, ["nats://a:4222", "nats://b:4222"]);
  assert.equal(c.verbose, true);
});

Deno.test("loadConfig() accepts the Go flag names", async () => {
  const c = await config({
    args: [
      "--ari.application",
      "flagapp",
      "--ari.username=u",
      "--ari.password",
      "p",
      "--ari.http_url",
      "https://pbx/ari",
      "--ari.websocket_url",
      "wss://pbx/ari/events",
      "--nats.url",
      "nats://n:4222",
      "-v",
    ],
  });
  assert.equal(c.ari.application, "flagapp");
  assert.equal(c.ari.httpUrl, "https://pbx/ari");
  assert.deepEqual(c.nats.servers, ["nats://n:4222"]);
  assert.equal(c.verbose, true);
});

Deno.test("loadConfig() ranks flag over environment over file over default", async () => {
  const files = {
    "/home/u/.ari-proxy.yaml": [
      "ari:",
      "  application: fileapp",
      "  username: fileuser",
      "  password: filepass",
      "  http_url: http://file:8088/ari",
      "messagebus:",
      "  url: nats://file:4222",
    ].join("\n"),
  };
  const c = await config({
    files,
    args: ["--ari.application", "flagapp"],
    env: { ARI_USERNAME: "envuser" },
  });
  assert.equal(c.ari.application, "flagapp");
  assert.equal(c.ari.username, "envuser");
  assert.equal(c.ari.password, "filepass");
  assert.equal(c.ari.httpUrl, "http://file:8088/ari");
  assert.equal(c.ari.websocketUrl, DEFAULT_ARI_WEBSOCKET_URL);
  assert.deepEqual(c.nats.servers, ["nats://file:4222"]);
  assert.equal(c.configFile, "/home/u/.ari-proxy.yaml");
});

Deno.test("loadConfig() reads --config files with dotted keys", async () => {
  const c = await config({
    args: ["--config", "/etc/proxy.yaml"],
    files: {
      "/etc/proxy.yaml":
        "ari.application: dotted\nari.username: u\nari.password: p\nverbose: true\n",
    },
  });
  assert.equal(c.ari.application, "dotted");
  assert.equal(c.verbose, true);
});

Deno.test("loadConfig() reports a missing explicit config file", async () => {
  const r = await load({ args: ["--config", "/nope.yaml"], env: REQUIRED_ENV });
  assert.equal(r.type, "error");
  assert.match(
    r.type === "error" ? r.message : "",
    /"\/nope\.yaml".*not found/,
  );
});

Deno.test("loadConfig() reports invalid YAML with the file name", async () => {
  const r = await load({
    env: REQUIRED_ENV,
    files: { "/home/u/.ari-proxy.yaml": "ari: [unclosed" },
  });
  assert.equal(r.type, "error");
  assert.match(r.type === "error" ? r.message : "", /Invalid config file/);
});

Deno.test("loadConfig() names every missing required setting in one line", async () => {
  const r = await load({});
  assert.equal(r.type, "error");
  const message = r.type === "error" ? r.message : "";
  assert.match(message, /ARI_APPLICATION/);
  assert.match(message, /ARI_USERNAME/);
  assert.match(message, /ARI_PASSWORD/);
  assert.equal(message.includes("\n"), false);
});

Deno.test("loadConfig() rejects unknown flags and bad URLs", async () => {
  assert.equal(
    (await load({ args: ["--nope"], env: REQUIRED_ENV })).type,
    "error",
  );
  const r = await load({ env: { ...REQUIRED_ENV, ARI_HTTP_URL: "ftp://x" } });
  assert.equal(r.type, "error");
  assert.match(r.type === "error" ? r.message : "", /ari\.http_url/);
  assert.equal(
    (await load({ env: { ...REQUIRED_ENV, ARI_APPLICATION: "a.b" } })).type,
    "error",
  );
});

Deno.test("loadConfig() handles our additions: prefix, NATS credentials, TLS", async () => {
  const c = await config({
    env: REQUIRED_ENV,
    args: [
      "--prefix",
      "pbx",
      "--nats.user",
      "nu",
      "--nats.password",
      "np",
      "--nats.tls_ca",
      "/ca.pem",
      "--nats.name",
      "edge-1",
    ],
  });
  assert.equal(c.prefix, "pbx.");
  assert.equal(c.nats.user, "nu");
  assert.equal(c.nats.password, "np");
  assert.deepEqual(c.nats.tls, { caFile: "/ca.pem" });
  assert.equal(c.nats.name, "edge-1");
  assert.equal(
    (await load({ env: REQUIRED_ENV, args: ["--nats.tls_cert", "/c.pem"] }))
      .type,
    "error",
  );
  assert.equal(
    (await load({
      env: REQUIRED_ENV,
      args: ["--nats.token", "t", "--nats.user", "u"],
    })).type,
    "error",
  );
});

Deno.test("loadConfig() reads the event backlog bound as a positive number of bytes", async () => {
  assert.equal(
    (await config({ env: REQUIRED_ENV })).eventsMaxPendingBytes,
    undefined,
  );
  const c = await config({
    env: { ...REQUIRED_ENV, EVENTS_MAX_PENDING_BYTES: "1048576" },
  });
  assert.equal(c.eventsMaxPendingBytes, 1_048_576);
  const f = await config({
    args: ["--events.max_pending_bytes", "4096"],
    env: { ...REQUIRED_ENV, EVENTS_MAX_PENDING_BYTES: "1048576" },
  });
  assert.equal(f.eventsMaxPendingBytes, 4096);
  for (const bad of ["0", "-1", "1.5", "32MiB", "x"]) {
    const r = await load({
      env: { ...REQUIRED_ENV, EVENTS_MAX_PENDING_BYTES: bad },
    });
    assert.equal(r.type, "error", bad);
    assert.match(
      r.type === "error" ? r.message : "",
      /events\.max_pending_bytes/,
    );
  }
});

Deno.test("loadConfig() reads the event stream name and the limits of a created stream", async () => {
  assert.equal((await config({ env: REQUIRED_ENV })).eventStream, undefined);
  const c = await config({
    args: ["--events.stream", "ARI_EVENTS", "--events.stream_max_age", "7d"],
    env: {
      ...REQUIRED_ENV,
      EVENTS_STREAM_MAX_BYTES: "1048576",
      EVENTS_STREAM_REPLICAS: "3",
    },
  });
  assert.deepEqual(c.eventStream, {
    name: "ARI_EVENTS",
    maxAge: 7 * 86_400_000,
    maxBytes: 1_048_576,
    replicas: 3,
  });
  assert.equal(
    (await config({
      env: {
        ...REQUIRED_ENV,
        EVENTS_STREAM: "S",
        EVENTS_STREAM_MAX_AGE: "90000",
      },
    })).eventStream?.maxAge,
    90_000,
  );
  assert.deepEqual(toProxyOptions(c).eventStream, c.eventStream);
  for (
    const [key, bad] of [
      ["EVENTS_STREAM", "a.b"],
      ["EVENTS_STREAM_MAX_AGE", "1 week"],
      ["EVENTS_STREAM_MAX_AGE", "0"],
      ["EVENTS_STREAM_MAX_BYTES", "1.5"],
      ["EVENTS_STREAM_REPLICAS", "6"],
    ] as const
  ) {
    const r = await load({
      env: { ...REQUIRED_ENV, EVENTS_STREAM: "S", [key]: bad },
    });
    assert.equal(r.type, "error", `${key}=${bad}`);
    assert.match(
      r.type === "error" ? r.message : "",
      new RegExp(key.toLowerCase().replace("events_", "events\\.")),
    );
  }
});

Deno.test("toProxyOptions() passes the event backlog bound only when set", async () => {
  const plain = toProxyOptions(await config({ env: REQUIRED_ENV }));
  assert.equal("maxPendingEventBytes" in plain, false);
  const set = toProxyOptions(
    await config({
      env: { ...REQUIRED_ENV, EVENTS_MAX_PENDING_BYTES: "2048" },
    }),
  );
  assert.equal(set.maxPendingEventBytes, 2048);
  assert.equal(set.ari.application, "envapp");
});

Deno.test("loadConfig() follows Kubernetes NATS service variables like Go", async () => {
  const c = await config({
    env: {
      ...REQUIRED_ENV,
      NATS_SERVICE_HOST: "10.0.0.5",
      NATS_SERVICE_PORT_CLIENT: "4223",
    },
  });
  assert.deepEqual(c.nats.servers, ["nats://10.0.0.5:4223"]);
});

Deno.test("loadConfig() answers --help and --version", async () => {
  assert.equal((await load({ args: ["--help"] })).type, "help");
  assert.equal((await load({ args: ["-V"] })).type, "version");
  const text = helpText("9.9.9");
  for (
    const name of [
      "--ari.application",
      "--ari.username",
      "--ari.password",
      "--ari.http_url",
      "--ari.websocket_url",
      "--messagebus.url",
      "--nats.url",
      "--verbose",
      "--config",
      "--version",
      "--prefix",
      "MESSAGEBUS_URL",
    ]
  ) assert.ok(text.includes(name), `help mentions ${name}`);
});

Deno.test("redactConfig() hides passwords and tokens", async () => {
  const c = await config({
    env: {
      ...REQUIRED_ENV,
      NATS_TOKEN: "tok",
      MESSAGEBUS_URL: "nats://u:pw@host:4222",
    },
  });
  const text = JSON.stringify(redactConfig(c));
  assert.equal(text.includes("secret"), false);
  assert.equal(text.includes('tok"'), false);
  assert.equal(text.includes(":pw@"), false);
  assert.equal(c.ari.password, "secret", "the original is not modified");
});

Deno.test("loadConfig() takes several applications from a comma list or a YAML list", async () => {
  const fromFlag = await config({
    args: ["--ari.application", "a, b,c"],
    env: { ARI_USERNAME: "proxy", ARI_PASSWORD: "secret" },
  });
  assert.equal(fromFlag.ari.application, "a,b,c");
  assert.deepEqual(toProxyOptions(fromFlag).ari.application, ["a", "b", "c"]);
  const fromYaml = await config({
    args: ["--config", "/etc/p.yaml"],
    env: {},
    files: {
      "/etc/p.yaml":
        "ari:\n  application: [x, y]\n  username: u\n  password: p\n",
    },
  });
  assert.deepEqual(toProxyOptions(fromYaml).ari.application, ["x", "y"]);
  const single = await config({ env: REQUIRED_ENV });
  assert.equal(toProxyOptions(single).ari.application, "envapp");
  for (const bad of ["a,a", "a,b.c"]) {
    const result = await load({
      args: ["--ari.application", bad],
      env: { ARI_USERNAME: "proxy", ARI_PASSWORD: "secret" },
    });
    assert.equal(result.type, "error", bad);
  }
});

Deno.test("loadConfig() reads --http.listen / HTTP_LISTEN and rejects a bad address", async () => {
  const off = await config({ env: REQUIRED_ENV });
  assert.equal(off.httpListen, undefined);
  assert.equal(toProxyOptions(off).httpListen, undefined);
  const on = await config({
    env: { ...REQUIRED_ENV, HTTP_LISTEN: "127.0.0.1:9464" },
  });
  assert.equal(toProxyOptions(on).httpListen, "127.0.0.1:9464");
  const flag = await config({
    args: ["--http.listen", ":9464"],
    env: REQUIRED_ENV,
  });
  assert.equal(flag.httpListen, ":9464");
  const bad = await load({
    args: ["--http.listen", "localhost"],
    env: REQUIRED_ENV,
  });
  assert.equal(bad.type, "error");
  assert.match((bad as { message: string }).message, /--http\.listen/);
});

Deno.test("redactConfig() hides credentials in the ARI URLs too", async () => {
  const c = await config({
    env: {
      ...REQUIRED_ENV,
      ARI_HTTP_URL: "http://proxy:urlpw@pbx:8088/ari",
      ARI_WEBSOCKET_URL: "ws://proxy:urlpw@pbx:8088/ari/events",
    },
  });
  const text = JSON.stringify(redactConfig(c));
  assert.equal(text.includes("urlpw"), false, text);
  assert.equal(text.includes("secret"), false, text);
});

Deno.test("loadConfig() reads --ari.transport and rejects unknown paths", async () => {
  const flag = await config({
    args: ["--ari.transport", "http"],
    env: REQUIRED_ENV,
  });
  assert.equal(flag.ari.transport, "http");
  const env = await config({
    env: { ...REQUIRED_ENV, ARI_TRANSPORT: "websocket" },
  });
  assert.equal(env.ari.transport, "websocket");
  const result = await load({
    args: ["--ari.transport", "tcp"],
    env: REQUIRED_ENV,
  });
  assert.equal(result.type, "error");
  assert.match(
    (result as { message: string }).message,
    /--ari\.transport "tcp": expected websocket, http or auto/,
  );
});
