/**
 * The contract call flow as a Node/Bun program: a user's first program,
 * importing the client package as npm serves it (`@ari-proxy/client`, the
 * alias of `@jsr/ari-proxy__client`). `tests/runtimes_test.ts` transpiles it
 * into a temporary project and runs it with each runtime.
 *
 * Argument: JSON `{ mode: "native" | "nats", eventTimeout, native?, nats? }`
 * (the options of `connectNative()` / `connect()`). Output: one JSON line per
 * step (`{ step, ok, error? }`), then `{ done, runtime, denoReads, failed }`.
 * Exit code 0 when every step passed and nothing read the `Deno` global.
 *
 * @module
 */

import process from "node:process";
import type * as Client from "../../client/mod.ts";
import { runContractFlow } from "../contract_flow.ts";

// Counts every read of the `Deno` global: the client must not touch it here.
let denoReads = 0;
const denoReaders: string[] = [];
Object.defineProperty(globalThis, "Deno", {
  configurable: true,
  get() {
    denoReads++;
    denoReaders.push(new Error("Deno read").stack ?? "");
    return undefined;
  },
});

interface ProgramConfig {
  mode: "native" | "nats";
  eventTimeout: number;
  native?: Client.NativeTransportOptions;
  nats?: Client.NatsTransportOptions;
}

function emit(line: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(line) + "\n");
}

const config = JSON.parse(process.argv[2] ?? "{}") as ProgramConfig;
// Loaded after the trap is set, as a user's program would load it.
const ari: typeof Client = await import("@ari-proxy/client" as string);
const client = config.mode === "native"
  ? await ari.connectNative(config.native!)
  : await ari.connect(config.nats!);
let failed = 0;
try {
  await runContractFlow(client, {
    eventTimeout: config.eventTimeout,
    RemoteError: ari.RemoteError,
    async step(name, fn) {
      try {
        await fn();
        emit({ step: name, ok: true });
      } catch (error) {
        failed++;
        emit({
          step: name,
          ok: false,
          error: error instanceof Error ? error.stack : String(error),
        });
      }
    },
  });
} finally {
  await client.close();
}
emit({
  done: true,
  runtime: navigator.userAgent,
  denoReads,
  denoReaders: denoReaders.slice(0, 3),
  failed,
});
// No process.exit(): the program must end by itself once the client closed.
process.exitCode = failed === 0 && denoReads === 0 ? 0 : 1;
