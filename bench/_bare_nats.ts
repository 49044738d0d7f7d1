/**
 * The RSS baseline of the benchmarks: a bare Deno process that holds one NATS
 * connection (the same client library the proxy uses) and answers requests
 * on `bench.echo` with their payload. Prints `ready` once connected; exits on
 * SIGTERM or SIGINT.
 *
 * @example
 * ```sh
 * deno run --frozen -P=bench bench/_bare_nats.ts nats://127.0.0.1:4222
 * ```
 *
 * @module
 */

import { connect } from "@nats-io/transport-node";

if (import.meta.main) {
  const url = Deno.args[0] ?? "nats://127.0.0.1:4222";
  const nc = await connect({ servers: url });
  nc.subscribe("bench.echo", {
    callback: (_error, msg) => {
      msg.respond(msg.data);
    },
  });
  await nc.flush();
  await Deno.stdout.write(new TextEncoder().encode("ready\n"));
  const stop = Promise.withResolvers<void>();
  Deno.addSignalListener("SIGTERM", () => stop.resolve());
  Deno.addSignalListener("SIGINT", () => stop.resolve());
  await stop.promise;
  await nc.close();
  Deno.exit(0);
}
