/**
 * A durable-events consumer process for `tests/durable_events_test.ts`: the
 * test starts it, kills it with SIGKILL in the middle of a stream of
 * numbered user events, and starts it again.
 *
 * Settings come as one JSON argument: `{ servers, application, name,
 * maxAckPending, ackWait }`. It prints `ready` once subscribed, then one
 * line `<bench_seq> <stream seq> <deliveries>` per handled ChannelUserevent,
 * written synchronously before the handler returns (so a printed line is an
 * event the application handled; it is acknowledged after that). SIGTERM
 * closes the client and exits 0.
 *
 * @module
 */

import { connect, eventStreamInfo } from "../client/mod.ts";

interface Settings {
  servers: string[];
  application: string;
  name: string;
  maxAckPending: number;
  ackWait: number;
}

const encoder = new TextEncoder();

function line(text: string): void {
  const bytes = encoder.encode(`${text}\n`);
  let written = 0;
  while (written < bytes.length) {
    written += Deno.stdout.writeSync(bytes.subarray(written));
  }
}

if (import.meta.main) {
  const settings = JSON.parse(Deno.args[0] ?? "{}") as Settings;
  const client = await connect({
    servers: settings.servers,
    application: settings.application,
    discoveryWait: 0,
    durable: {
      name: settings.name,
      start: "all",
      maxAckPending: settings.maxAckPending,
      ackWait: settings.ackWait,
    },
  });
  client.on("ChannelUserevent", async (event) => {
    // Handling takes a moment (I/O in a real application), so several
    // events are in their handlers at once: the unacknowledged window.
    await new Promise((resolve) => setTimeout(resolve, 1));
    const info = eventStreamInfo(event);
    const n = (event.userevent as Record<string, unknown>)?.bench_seq;
    line(`${n} ${info?.seq ?? 0} ${info?.deliveries ?? 0}`);
  });
  Deno.addSignalListener("SIGTERM", () => {
    client.close().finally(() => Deno.exit(0));
  });
  line("ready");
}
