/**
 * Runs the client contract suite against the native transport and a real
 * Asterisk from the harness.
 *
 * @module
 */

import { connectNative } from "../client/mod.ts";
import { runContractSuite } from "./contract_suite.ts";
import { startAsterisk } from "./harness/mod.ts";

runContractSuite("native", async () => {
  const asterisk = await startAsterisk({ app: "contract" });
  try {
    const client = await connectNative({
      url: asterisk.httpUrl,
      wsUrl: asterisk.wsUrl,
      username: asterisk.username,
      password: asterisk.password,
      application: asterisk.app,
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
});
