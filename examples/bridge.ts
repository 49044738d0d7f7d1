/**
 * Example: bridging two legs, through the ari-proxy cluster.
 *
 * Every call that enters the application is answered; the application then
 * dials a second leg (`Local/100@default` unless `DIAL_ENDPOINT` says
 * otherwise) into itself, puts both legs in a mixing bridge, and when either
 * leg hangs up, hangs up the other and destroys the bridge.
 *
 * Run it (a proxy must serve the application on the same NATS, e.g.
 * `ARI_APPLICATION=bridge ARI_USERNAME=… ARI_PASSWORD=… deno task start`):
 *
 * ```sh
 * NATS_URL=nats://127.0.0.1:4222 ARI_APPLICATION=bridge \
 *   deno run --allow-net --allow-env examples/bridge.ts
 * ```
 *
 * then send a call into it (`exten => 300,1,Stasis(bridge)`, or originate
 * into the application). Ctrl-C stops it. Inside this repository
 * `@ari-proxy/client` resolves to `client/`; elsewhere add the package.
 *
 * @module
 */

// deno-lint-ignore-file no-console
import { type AriClient, type ChannelHandle, connect } from "@ari-proxy/client";

/** Options of {@linkcode runBridge}. */
export interface BridgeExampleOptions {
  /** The second leg's endpoint. @default {"Local/100@default"} */
  endpoint?: string;
  /** Stops taking calls (calls in progress go on until they end). */
  signal?: AbortSignal;
  /** Where the application reports what it does. */
  log?: (line: string) => void;
}

/** `appArgs` marking the legs this application dialed itself. */
const DIALED = "dialed";

/**
 * Bridges every call entering `client.application` with a second leg,
 * until `signal` aborts.
 *
 * @param client A connected client (`connect()`).
 * @param options Endpoint of the second leg, signal and log.
 *
 * @example
 * ```ts ignore
 * await using client = await connect({ application: "bridge" });
 * await runBridge(client, { log: console.log });
 * ```
 */
export async function runBridge(
  client: AriClient,
  options?: BridgeExampleOptions,
): Promise<void> {
  const {
    endpoint = "Local/100@default",
    signal,
    log = () => {},
  } = options ?? {};
  const calls = new Set<Promise<void>>();
  const starts = client.events("StasisStart", signal ? { signal } : {});
  for await (const event of starts) {
    // The legs we dial ourselves enter the application too; they are handled
    // by the call that dialed them.
    if (event.args.includes(DIALED)) continue;
    const caller = client.channels.handle(event.channel.id, event);
    const call = connectCall(client, caller, endpoint, log).catch((error) =>
      log(`bridge: call ${caller.id} failed: ${error}`)
    );
    calls.add(call);
    call.finally(() => calls.delete(call));
  }
  await Promise.all(calls);
}

async function connectCall(
  client: AriClient,
  caller: ChannelHandle,
  endpoint: string,
  log: (line: string) => void,
): Promise<void> {
  const callerEnded = caller.once("StasisEnd");
  // Awaited only on some paths; a rejection elsewhere must not go unhandled.
  callerEnded.catch(() => {});
  await caller.answer();
  log(`bridge: answered ${caller.id}`);
  const staged = await client.channels.stageOriginate({
    endpoint,
    app: client.application,
    appArgs: DIALED,
  });
  const callee = staged.handle;
  const calleeStarted = callee.once("StasisStart", { timeout: 30_000 });
  const calleeEnded = callee.once("StasisEnd");
  calleeStarted.catch(() => {});
  calleeEnded.catch(() => {});
  await staged.exec();
  await calleeStarted;
  log(`bridge: dialed ${callee.id} (${endpoint})`);
  const bridge = await client.bridges.create({ type: "mixing" });
  try {
    await bridge.addChannel(caller);
    await bridge.addChannel(callee);
    log(`bridge: bridged ${caller.id} and ${callee.id} in ${bridge.id}`);
    const first = await Promise.race([
      callerEnded.then(() => caller),
      calleeEnded.then(() => callee),
    ]);
    const other = first === caller ? callee : caller;
    log(`bridge: ${first.id} hung up; hanging up ${other.id}`);
    await other.hangup().catch(() => {});
  } finally {
    await bridge.delete().catch(() => {});
    log(`bridge: destroyed ${bridge.id}`);
  }
}

if (import.meta.main) {
  const stop = new AbortController();
  Deno.addSignalListener("SIGINT", () => stop.abort());
  await using client = await connect({
    servers: Deno.env.get("NATS_URL") ?? "nats://127.0.0.1:4222",
    application: Deno.env.get("ARI_APPLICATION") ?? "bridge",
  });
  console.log(`bridge: serving application "${client.application}"`);
  const endpoint = Deno.env.get("DIAL_ENDPOINT");
  await runBridge(client, {
    ...(endpoint ? { endpoint } : {}),
    signal: stop.signal,
    log: console.log,
  });
}
