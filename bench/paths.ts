/**
 * Builds the benchmark paths (see `api.ts`) against one stack: `ari` and
 * `native` talk to Asterisk directly (each with its own Stasis application,
 * so their event sockets do not replace the proxy's), `wire` and `proxy` go
 * through NATS and the proxy.
 *
 * @module
 */

import { connect } from "@nats-io/transport-node";
import { type BenchApi, createAriApi, createWireApi } from "./api.ts";
import { createNativeApi, createProxyApi } from "./client_paths.ts";
import { PREFIX_HTTP, type Stack } from "./env.ts";

/**
 * Path names, in the order tables show them. `native` and `proxy` send ARI
 * requests as `RESTRequest` messages on the events WebSocket
 * (`ariTransport`/`--ari.transport websocket`); `native_http` and
 * `proxy_http` are the same clients with ARI over HTTP (the second proxy of
 * the stack).
 */
export const PATH_NAMES = [
  "ari",
  "native",
  "native_http",
  "wire",
  "proxy",
  "proxy_http",
] as const;

/** A path name. */
export type PathName = (typeof PATH_NAMES)[number];

/** Which path each path is compared with: through the proxy vs direct. */
export const COMPARISONS: readonly [PathName, PathName][] = [
  ["proxy", "native"],
  ["proxy_http", "native_http"],
  ["wire", "ari"],
  ["proxy", "proxy_http"],
  ["native", "native_http"],
];

/**
 * Opens the requested paths against `stack`.
 *
 * @param stack The running stack.
 * @param natsUrl NATS URL for the NATS paths.
 * @param names Which paths.
 * @returns The open paths (and notes, for paths that could not be opened).
 *
 * @example
 * ```ts ignore
 * const { paths } = await openPaths(stack, nats.url, ["ari", "wire"]);
 * ```
 */
export async function openPaths(
  stack: Stack,
  natsUrl: string,
  names: readonly PathName[] = PATH_NAMES,
): Promise<{ paths: BenchApi[]; notes: string[] }> {
  const paths: BenchApi[] = [];
  const notes: string[] = [];
  try {
    for (const name of names) {
      switch (name) {
        case "ari":
          paths.push(await createAriApi(stack.ari, `${stack.app}_ari`));
          break;
        case "native":
          paths.push(
            await createNativeApi(stack.ari, `${stack.app}_native`, stack.node),
          );
          break;
        case "native_http":
          paths.push(
            await createNativeApi(
              stack.ari,
              `${stack.app}_native_http`,
              stack.node,
              { name: "native_http", ariTransport: "http" },
            ),
          );
          break;
        case "wire": {
          const nc = await connect({ servers: natsUrl });
          const wire = createWireApi({ nc, app: stack.app, node: stack.node });
          paths.push({
            ...wire,
            async close() {
              await wire.close();
              await nc.close();
            },
          });
          break;
        }
        case "proxy":
          paths.push(await createProxyApi(natsUrl, stack.app, stack.node));
          break;
        case "proxy_http":
          paths.push(
            await createProxyApi(
              natsUrl,
              stack.appHttp,
              stack.node,
              { name: "proxy_http", prefix: PREFIX_HTTP },
            ),
          );
          break;
      }
    }
  } catch (error) {
    await Promise.allSettled(paths.map((p) => p.close()));
    throw error;
  }
  return { paths, notes };
}
