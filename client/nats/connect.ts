/**
 * Connects nats.js with the socket transport of the runtime it runs on:
 * Deno's own sockets on Deno (`connectNats` of `./deno_socket.ts`), and
 * `connect()` of `@nats-io/transport-node` (`node:net`/`node:tls`) on Node
 * and Bun, loaded only there, so that no `Deno` global is touched on those
 * runtimes.
 *
 * @module
 */

import type { ConnectionOptions, NatsConnection } from "@nats-io/nats-core";
import { RUNTIME, type RuntimeName } from "../_runtime.ts";
import { connectNats } from "./deno_socket.ts";

/**
 * Connects to NATS with the transport that fits `runtime`.
 *
 * @param options nats.js connection options (servers, credentials, TLS, …).
 * @param runtime The runtime to connect for.
 * @returns The NATS connection.
 * @throws {Error} nats.js' errors when no server can be reached.
 *
 * @example
 * ```ts ignore live
 * import { connectForRuntime } from "./connect.ts";
 *
 * const nc = await connectForRuntime({ servers: "127.0.0.1:4222" });
 * await nc.close();
 * ```
 */
export async function connectForRuntime(
  options: ConnectionOptions,
  runtime: RuntimeName = RUNTIME,
): Promise<NatsConnection> {
  if (runtime === "deno") return await connectNats(options);
  const { connect } = await import("@nats-io/transport-node");
  return await connect(options);
}
