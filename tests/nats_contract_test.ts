/**
 * Runs the client contract suite through the NATS transport: client → NATS
 * (harness) → our proxy (`startProxy`, in-process) → real Asterisk (harness).
 * The scenario and its assertions are the same as the native run
 * (`native_contract_test.ts`). It runs once with the proxy's ARI requests on
 * the events WebSocket (`transport: "websocket"`) and once over HTTP.
 *
 * @module
 */

import { connect } from "../client/mod.ts";
import { startProxy } from "../lib/server.ts";
import { type ContractTarget, runContractSuite } from "./contract_suite.ts";
import { startAsterisk, startNats } from "./harness/mod.ts";

/** Starts NATS, Asterisk, the proxy (ARI over `transport`) and a client. */
async function makeTarget(
  transport: "websocket" | "http",
): Promise<ContractTarget> {
  const nats = await startNats();
  const closers: (() => Promise<unknown>)[] = [() => nats.close()];
  async function release(): Promise<void> {
    for (const close of closers.reverse()) await close().catch(() => {});
    closers.length = 0;
  }
  try {
    const asterisk = await startAsterisk({ app: "contract" });
    closers.push(() => asterisk.close());
    const proxy = await startProxy({
      ari: {
        application: asterisk.app,
        username: asterisk.username,
        password: asterisk.password,
        httpUrl: asterisk.httpUrl,
        websocketUrl: asterisk.wsUrl,
        transport,
      },
      nats: { servers: [nats.url] },
    });
    closers.push(() => proxy.close());
    const client = await connect({
      servers: nats.url,
      application: asterisk.app,
      // Generous per-attempt timeout for a noisy machine.
      timeout: 15_000,
      discoveryWait: 2_000,
    });
    closers.push(() => client.close());
    return { client, close: release };
  } catch (error) {
    await release();
    throw error;
  }
}

for (const transport of ["websocket", "http"] as const) {
  runContractSuite(
    `NATS proxy, ARI over ${transport}`,
    () => makeTarget(transport),
  );
}
