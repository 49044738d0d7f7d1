import assert from "node:assert/strict";
import { detectRuntime, RUNTIME, unrefTimer } from "./_runtime.ts";

Deno.test("detectRuntime() tells Deno, Node and Bun apart by user agent", () => {
  assert.equal(
    detectRuntime({ navigator: { userAgent: "Deno/2.9.6" } }),
    "deno",
  );
  assert.equal(
    detectRuntime({ navigator: { userAgent: "Node.js/22" } }),
    "node",
  );
  assert.equal(detectRuntime({ navigator: { userAgent: "Bun/1.4.5" } }), "bun");
  assert.equal(
    detectRuntime({ process: { versions: { node: "1.1", bun: "1.4.5" } } }),
    "bun",
  );
  assert.equal(detectRuntime({ navigator: {} }), "other");
});

Deno.test("detectRuntime() never reads the Deno global", () => {
  let reads = 0;
  const global = {
    navigator: { userAgent: "Node.js/26" },
    get Deno() {
      reads++;
      return undefined;
    },
  };
  assert.equal(detectRuntime(global), "node");
  assert.equal(reads, 0);
  assert.equal(RUNTIME, "deno");
});

Deno.test("unrefTimer() calls unref() on timer objects", () => {
  let unrefs = 0;
  unrefTimer({ unref: () => unrefs++ });
  assert.equal(unrefs, 1);
  const id = setTimeout(() => {}, 60_000);
  unrefTimer(id);
  clearTimeout(id);
});
