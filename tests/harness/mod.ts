/**
 * Test harness: real components for integration tests.
 *
 * The start-up code lives in `tools/stack/` (shared with `deno task demo`
 * and the benchmarks); this module re-exports it for the tests.
 *
 * - {@linkcode startNats} / {@linkcode startNatsCluster}: nats-server (or a
 *   routed cluster) on free loopback ports, each in its own temp dir.
 * - {@linkcode startAsterisk}: a real Asterisk 22 with ARI, run unchrooted
 *   from the sid root built by `scripts/provision-asterisk.sh`.
 * - {@linkcode startProxyProcess}: the proxy process, as `deno task start`.
 * - {@linkcode freePort} and {@linkcode waitFor}: small utilities.
 *
 * @example NATS and Asterisk together
 * ```ts ignore
 * import { startAsterisk, startNats } from "./mod.ts";
 *
 * await using nats = await startNats();
 * await using ast = await startAsterisk({ app: "demo" });
 * console.log(nats.url, ast.httpUrl, ast.wsUrl, ast.entityId);
 * ```
 *
 * @module
 */

export {
  asteriskRoot,
  DEFAULT_ASTERISK_ROOT,
  freePort,
  randomEntityId,
  startAsterisk,
  startNats,
  startNatsCluster,
  startProxyProcess,
  startTaskCommand,
  waitFor,
} from "../../tools/stack/mod.ts";

export type {
  AsteriskInstance,
  NatsNode,
  NatsServer,
  ProxyProcess,
  RestartAsteriskOptions,
  StartAsteriskOptions,
  StartNatsOptions,
  StartProxyProcessOptions,
  WaitForOptions,
} from "../../tools/stack/mod.ts";
