/**
 * The contract suite of the ARI client: one call-control scenario that
 * every transport must pass with the same observable results (native →
 * real Asterisk; NATS → our proxy → real Asterisk).
 *
 * Call {@linkcode runContractSuite} from a test file with a factory that
 * starts whatever the transport needs and returns a connected client.
 *
 * @example
 * ```ts ignore
 * import { runContractSuite } from "./contract_suite.ts";
 * import { startAsterisk } from "./harness/mod.ts";
 * import { connectNative } from "../client/mod.ts";
 *
 * runContractSuite("native", async () => {
 *   const ast = await startAsterisk({ app: "contract" });
 *   const client = await connectNative({
 *     url: ast.httpUrl, username: ast.username, password: ast.password, application: ast.app,
 *   });
 *   return { client, close: async () => { await client.close(); await ast.close(); } };
 * });
 * ```
 *
 * @module
 */

import type { AriClient } from "../client/mod.ts";
import { RemoteError } from "../client/mod.ts";
import { runContractFlow } from "./contract_flow.ts";

/** What a contract target provides. */
export interface ContractTarget {
  /** A connected client whose application receives the test calls. */
  client: AriClient;
  /** Releases everything the factory started (client included). */
  close(): Promise<void>;
}

/** Options of {@linkcode runContractSuite}. */
export interface ContractSuiteOptions {
  /**
   * How long to wait for each expected event, in milliseconds.
   *
   * @default {20000}
   */
  eventTimeout?: number;
  /** Skips the whole suite (with the reason in the test name). */
  ignore?: boolean;
}

/**
 * Registers the call-control contract test for one transport.
 *
 * @param name Transport name, used in the test name.
 * @param makeClient Starts the target and returns a connected client.
 * @param options Event timeout, ignore flag.
 */
export function runContractSuite(
  name: string,
  makeClient: () => Promise<ContractTarget>,
  options: ContractSuiteOptions = {},
): void {
  const { eventTimeout = 20_000, ignore = false } = options;

  Deno.test({
    name: `AriClient (${name}) passes the call-control contract`,
    ignore,
    async fn(t) {
      const target = await makeClient();
      try {
        await runContractFlow(target.client, {
          step: (stepName, fn) => t.step(stepName, fn),
          eventTimeout,
          RemoteError,
        });
      } finally {
        await target.close();
      }
    },
  });
}
