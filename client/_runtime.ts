/**
 * Which JavaScript runtime the client runs on, found without touching the
 * `Deno` global (so that Node and Bun never see a `Deno` access), and the
 * few helpers that differ between runtimes.
 *
 * The client runs on Deno 2.9+, Node 22+ and Bun 1.4+. Runtime-specific code
 * stays in small modules chosen at run time through {@linkcode RUNTIME}
 * (`nats/connect.ts` picks the NATS socket transport; `native/rest.ts`
 * refuses `caCerts` outside Deno).
 *
 * @module
 */

/** The runtimes the client tells apart. */
export type RuntimeName = "deno" | "node" | "bun" | "other";

/**
 * Detects the runtime from `navigator.userAgent` ("Deno/2.9.6",
 * "Node.js/22", "Bun/1.4.5"), then from `process.versions` (Node before
 * 21 has no `navigator`).
 *
 * @param global The global object to inspect.
 * @returns The runtime's name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { detectRuntime } from "./_runtime.ts";
 *
 * assert.equal(detectRuntime({ navigator: { userAgent: "Bun/1.4.5" } }), "bun");
 * assert.equal(detectRuntime({ process: { versions: { node: "20.1.0" } } }), "node");
 * assert.equal(detectRuntime({}), "other");
 * ```
 */
export function detectRuntime(global: object): RuntimeName {
  const g = global as {
    navigator?: { userAgent?: unknown };
    process?: { versions?: { node?: unknown; bun?: unknown } };
  };
  const agent = g.navigator?.userAgent;
  if (typeof agent === "string") {
    if (agent.startsWith("Deno/")) return "deno";
    if (agent.startsWith("Bun/")) return "bun";
    if (agent.startsWith("Node.js/")) return "node";
  }
  const versions = g.process?.versions;
  if (typeof versions?.bun === "string") return "bun";
  if (typeof versions?.node === "string") return "node";
  return "other";
}

/**
 * The runtime this module was loaded on.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RUNTIME } from "./_runtime.ts";
 *
 * assert.equal(RUNTIME, "deno"); // under `deno test`
 * ```
 */
export const RUNTIME: RuntimeName = detectRuntime(globalThis);

/**
 * Lets a timer not keep the process alive: Node and Bun timers have
 * `unref()`; on Deno `Deno.unrefTimer(id)`.
 *
 * @param timer What `setTimeout`/`setInterval` returned.
 *
 * @example
 * ```ts
 * import { unrefTimer } from "./_runtime.ts";
 *
 * const timer = setTimeout(() => {}, 60_000);
 * unrefTimer(timer);
 * clearTimeout(timer);
 * ```
 */
export function unrefTimer(timer: unknown): void {
  const t = timer as { unref?: () => void } | null;
  if (typeof t === "object" && t !== null && typeof t.unref === "function") {
    t.unref();
  } else if (RUNTIME === "deno" && typeof timer === "number") {
    Deno.unrefTimer(timer);
  }
}

/**
 * A `Deno.HttpClient` (from `Deno.createHttpClient`), typed without Deno's
 * namespace so that the package's declarations also compile on Node and Bun.
 *
 * @example
 * ```ts
 * import type { DenoHttpClient } from "./_runtime.ts";
 *
 * const client: DenoHttpClient = Deno.createHttpClient({});
 * client.close();
 * ```
 */
export interface DenoHttpClient {
  /** Releases the client's connections. */
  close(): void;
}

/** The oldest Node major version the client runs on. */
export const MIN_NODE_MAJOR = 22;

/**
 * Says why the runtime described by `global` cannot run the client, or
 * returns `undefined` when it can. Node before 22 lacks the global
 * `WebSocket` and `Promise.withResolvers` the client relies on.
 *
 * @param global The global object to inspect.
 * @returns The reason, or `undefined`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { unsupportedRuntimeReason } from "./_runtime.ts";
 *
 * const node20 = { process: { versions: { node: "20.20.2" } } };
 * assert.match(unsupportedRuntimeReason(node20) ?? "", /Node 22 or later/);
 * assert.equal(unsupportedRuntimeReason(globalThis), undefined);
 * ```
 */
export function unsupportedRuntimeReason(global: object): string | undefined {
  if (detectRuntime(global) !== "node") return undefined;
  const version = (global as { process?: { versions?: { node?: unknown } } })
    .process?.versions?.node;
  const major = typeof version === "string"
    ? Number.parseInt(version, 10)
    : NaN;
  if (!(major < MIN_NODE_MAJOR)) return undefined;
  return `Node ${version} is not supported: @ari-proxy/client needs Node ${MIN_NODE_MAJOR} or later (global WebSocket, Promise.withResolvers), Deno 2.9+ or Bun 1.4+`;
}

/**
 * Throws when this runtime cannot run the client (see
 * {@linkcode unsupportedRuntimeReason}); the transports call it first.
 *
 * @throws {RangeError} On Node before 22.
 *
 * @example
 * ```ts
 * import { assertSupportedRuntime } from "./_runtime.ts";
 *
 * assertSupportedRuntime(); // Deno 2.9: fine
 * ```
 */
export function assertSupportedRuntime(): void {
  const reason = unsupportedRuntimeReason(globalThis);
  if (reason !== undefined) throw new RangeError(reason);
}
