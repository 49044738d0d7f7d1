import assert from "node:assert/strict";
import { type ProxyOptions, startProxy } from "./server.ts";

function options(patch: (o: ProxyOptions) => void): ProxyOptions {
  const o: ProxyOptions = {
    ari: {
      application: "app",
      username: "u",
      password: "p",
      httpUrl: "http://127.0.0.1:9/ari",
      websocketUrl: "ws://127.0.0.1:9/ari/events",
    },
    nats: { servers: ["nats://127.0.0.1:9"] },
  };
  patch(o);
  return o;
}

Deno.test("startProxy() rejects malformed options with TypeError before connecting", async () => {
  const cases: [string, (o: ProxyOptions) => void][] = [
    ["no application", (o) => o.ari.application = ""],
    ["application with a dot", (o) => o.ari.application = "a.b"],
    ["application with a wildcard", (o) => o.ari.application = "*"],
    ["no username", (o) => o.ari.username = ""],
    ["no http url", (o) => o.ari.httpUrl = ""],
    ["no servers", (o) => o.nats = { servers: [] }],
    [
      "token and user",
      (o) => o.nats = { servers: ["nats://x"], token: "t", user: "u" },
    ],
    [
      "creds and token",
      (o) => o.nats = { servers: ["nats://x"], credsFile: "/x", token: "t" },
    ],
    ["prefix with a wildcard", (o) => o.prefix = "ari.*"],
    ["prefix with an empty token", (o) => o.prefix = "a..b"],
    ["a bad http url", (o) => o.ari.httpUrl = "not a url"],
    ["no applications", (o) => o.ari.application = []],
    ["an application twice", (o) => o.ari.application = ["a", "a"]],
    ["an application with a comma", (o) => o.ari.application = ["a,b"]],
    ["an empty application in a list", (o) => o.ari.application = ["a", ""]],
    ["a bad http listen address", (o) => o.httpListen = "nowhere"],
  ];
  for (const [name, patch] of cases) {
    await assert.rejects(startProxy(options(patch)), TypeError, name);
  }
});

Deno.test("startProxy() rejects negative durations and limits with RangeError", async () => {
  const cases: [string, (o: ProxyOptions) => void][] = [
    ["announceInterval", (o) => o.announceInterval = -1],
    ["entityCheckInterval", (o) => o.entityCheckInterval = Infinity],
    ["closeTimeout", (o) => o.closeTimeout = Number.NaN],
    ["requestTimeout", (o) => o.requestTimeout = 0],
    ["maxConcurrency", (o) => o.maxConcurrency = 0],
    ["maxQueued", (o) => o.maxQueued = -1],
    ["maxDialogEntities", (o) => o.maxDialogEntities = 0],
    ["maxPendingEventBytes", (o) => o.maxPendingEventBytes = 0],
    ["maxPendingEventBytes", (o) => o.maxPendingEventBytes = Infinity],
  ];
  for (const [name, patch] of cases) {
    await assert.rejects(startProxy(options(patch)), RangeError, name);
  }
});

Deno.test("startProxy() rejects with the abort reason of an aborted signal", async () => {
  const reason = new Error("not now");
  await assert.rejects(
    startProxy(options((o) => o.signal = AbortSignal.abort(reason))),
    (error) => error === reason,
  );
});
