/**
 * Small utilities for integration tests: free loopback ports and polling.
 *
 * @module
 */

import { delay } from "./_internal.ts";

/** Options for {@linkcode waitFor}. */
export interface WaitForOptions {
  /**
   * How long to keep polling, in milliseconds.
   *
   * @default {10000}
   */
  timeout?: number;
  /**
   * Pause between two calls of the predicate, in milliseconds.
   *
   * @default {100}
   */
  interval?: number;
  /** What is being waited for; used in the timeout error message. */
  message?: string;
  /** Aborts the wait; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

const handedOut = new Set<number>();

/**
 * Returns a TCP port on 127.0.0.1 that was free a moment ago: the kernel picks
 * it (`Deno.listen({ port: 0 })`), the listener is closed, and the port is
 * returned. The same process is never handed the same port twice, so
 * concurrent starts in one test file do not collide; another process may still
 * take the port, so starters retry on a bind failure.
 *
 * @returns A port number between 1024 and 65535.
 *
 * @example Pick a port for a server
 * ```ts
 * import assert from "node:assert/strict";
 * import { freePort } from "./utils.ts";
 *
 * const port = await freePort();
 * assert.ok(port > 0 && port < 65536);
 * ```
 */
export function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const { port } = listener.addr as Deno.NetAddr;
    listener.close();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return Promise.resolve(port);
    }
  }
  return Promise.reject(
    new Error("Cannot find a free port: 100 attempts returned used ports"),
  );
}

/**
 * Calls `predicate` until it returns a truthy value (or a promise of one) and
 * returns that value. A predicate that throws counts as "not yet"; the last
 * error becomes the `cause` of the timeout error.
 *
 * @typeParam T The predicate's result type.
 * @param predicate Called first at once, then every `interval` ms.
 * @param options Timeout, interval, message and abort signal.
 * @returns The first truthy result of `predicate`.
 * @throws {Error} When `timeout` ms pass without a truthy result.
 *
 * @example Wait for a condition
 * ```ts
 * import assert from "node:assert/strict";
 * import { waitFor } from "./utils.ts";
 *
 * let calls = 0;
 * const result = await waitFor(() => ++calls >= 3 && "done", { interval: 1 });
 * assert.equal(result, "done");
 * assert.equal(calls, 3);
 * ```
 */
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  options?: WaitForOptions,
): Promise<NonNullable<T>> {
  const { timeout = 10_000, interval = 100, message = "condition", signal } =
    options ?? {};
  if (!(timeout >= 0)) {
    throw new RangeError(`Invalid option "timeout": ${timeout}`);
  }
  if (!(interval >= 0)) {
    throw new RangeError(`Invalid option "interval": ${interval}`);
  }
  const deadline = Date.now() + timeout;
  let lastError: unknown;
  while (true) {
    signal?.throwIfAborted();
    try {
      const value = await predicate();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const detail = lastError instanceof Error
        ? `: last error: ${lastError.message}`
        : "";
      throw new Error(
        `Timed out after ${timeout} ms waiting for ${message}${detail}`,
        {
          cause: lastError,
        },
      );
    }
    await delay(Math.min(interval, Math.max(0, deadline - Date.now())), signal);
  }
}
