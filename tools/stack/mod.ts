/**
 * Local stack: real NATS and Asterisk processes on free loopback ports, each
 * in its own temp dir. The test harness (`tests/harness/`), the benchmarks and
 * `deno task demo` all start their components with these functions.
 *
 * - {@linkcode startNats} / {@linkcode startNatsCluster}: nats-server (or a
 *   routed cluster) on free loopback ports, each in its own temp dir.
 * - {@linkcode startAsterisk}: a real Asterisk 22 with ARI, run unchrooted
 *   from the sid root built by `scripts/provision-asterisk.sh`; several can
 *   run at once, each with its own port and entity id. With env
 *   `ARI_TEST_URL` set it returns a handle to that Asterisk instead.
 * - {@linkcode startProxyProcess}: the proxy as its own process, started as
 *   `deno task start` starts it (command line from `deno.json`).
 * - {@linkcode freePort} and {@linkcode waitFor}: small utilities.
 *
 * Everything that starts a process is released with `await using` (or
 * `close()`): the process is ended by its pid, its exit status awaited and its
 * temp dir removed, so Deno's resource sanitizers stay green. A component
 * that cannot be provided makes the start function throw an error that says
 * what is missing and how to provide it; nothing is skipped.
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
  randomEntityId,
  startAsterisk,
} from "./asterisk.ts";
export { startNats, startNatsCluster } from "./nats.ts";
export { startProxyProcess, startTaskCommand } from "./proxy.ts";
export { freePort, waitFor } from "./utils.ts";

export type {
  AsteriskInstance,
  RestartAsteriskOptions,
  StartAsteriskOptions,
} from "./asterisk.ts";
export type { NatsNode, NatsServer, StartNatsOptions } from "./nats.ts";
export type { ProxyProcess, StartProxyProcessOptions } from "./proxy.ts";
export type { WaitForOptions } from "./utils.ts";
