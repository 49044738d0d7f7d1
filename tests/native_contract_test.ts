/**
 * Runs the client contract suite against the native transport and a real
 * Asterisk from the harness.
 *
 * @module
 */

import { connectNative } from "../client/mod.ts";
import { type ContractTarget, runContractSuite } from "./contract_suite.ts";
import { startAsterisk } from "./harness/mod.ts";

/** Starts Asterisk and a native client whose ARI path is `ariTransport`. */
async function makeTarget(
  ariTransport: "websocket" | "http",
): Promise<ContractTarget> {
  const asterisk = await startAsterisk({ app: "contract" });
  try {
    const client = await connectNative({
      url: asterisk.httpUrl,
      wsUrl: asterisk.wsUrl,
      username: asterisk.username,
      password: asterisk.password,
      application: asterisk.app,
      ariTransport,
    });
    return {
      client,
      async close() {
        await client.close();
        await asterisk.close();
      },
    };
  } catch (error) {
    await asterisk.close();
    throw error;
  }
}

// "websocket" fails to connect unless Asterisk answers RESTRequest messages,
// so that run proves the WebSocket path; "http" never uses it.
for (const ariTransport of ["websocket", "http"] as const) {
  runContractSuite(
    `native, ARI over ${ariTransport}`,
    () => makeTarget(ariTransport),
  );
}
