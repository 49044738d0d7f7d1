/**
 * Runs the client contract suite against the native transport and a real
 * Asterisk from the harness, once per ARI request path: every JSON call as a
 * `RESTRequest` on the events WebSocket (`ariTransport: "websocket"`, which
 * fails to connect unless Asterisk answers there), and every call over HTTP.
 *
 * @module
 */

import { connectNative } from "../client/mod.ts";
import { runContractSuite } from "./contract_suite.ts";
import { startAsterisk } from "./harness/mod.ts";

for (const ariTransport of ["websocket", "http"] as const) {
  runContractSuite(`native, ARI over ${ariTransport}`, async () => {
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
  });
}
