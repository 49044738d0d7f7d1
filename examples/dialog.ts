/**
 * Example: dialog-scoped applications that see only their own events.
 *
 * `client.dialog(id)` gives a client bound to one dialog: the proxy binds
 * what it creates (channels, playbacks, …) to the dialog and sends it only
 * the events of those entities (`ari.dialogevent.<id>`), so several
 * conversations share one application without filtering each other's
 * events. This example runs two dialogs at once (each: originate, answer,
 * play, hang up) next to a call of no dialog, and checks that every event a
 * dialog received was about its own call. It exits 0 when they were, 1 if
 * not.
 *
 * Run it (a proxy must serve the application on the same NATS, e.g.
 * `ARI_APPLICATION=dialogs ARI_USERNAME=… ARI_PASSWORD=… deno task start`):
 *
 * ```sh
 * NATS_URL=nats://127.0.0.1:4222 ARI_APPLICATION=dialogs \
 *   deno run --allow-net --allow-env examples/dialog.ts
 * ```
 *
 * The calls are Local channels to `Local/100@default` (an extension that
 * answers and waits; set `DIAL_ENDPOINT` for another). Inside this
 * repository `@ari-proxy/client` resolves to `client/`; elsewhere add the
 * package.
 *
 * @module
 */

// deno-lint-ignore-file no-console
import { type AriClient, connect } from "@ari-proxy/client";

/** Options of {@linkcode runDialogs}. */
export interface DialogExampleOptions {
  /** Endpoint of the calls. @default {"Local/100@default"} */
  endpoint?: string;
  /** How many dialogs run at once. @default {2} */
  dialogs?: number;
  /** Where the example reports what it does. */
  log?: (line: string) => void;
}

/** What one dialog saw. */
export interface DialogReport {
  /** The dialog id. */
  dialog: string;
  /** The channel it created. */
  channel: string;
  /** Events it received, by type. */
  events: Record<string, number>;
  /** Events about anything but its own channel (should be none). */
  foreign: string[];
}

/** The channel an event is about (directly, or as a playback's target). */
function channelOf(event: Record<string, unknown>): string | undefined {
  const channel = event.channel as { id?: string } | undefined;
  if (channel?.id) return channel.id;
  const playback = event.playback as { target_uri?: string } | undefined;
  const target = playback?.target_uri;
  return target?.startsWith("channel:") ? target.slice(8) : target;
}

async function call(
  client: AriClient,
  endpoint: string,
  id: string,
): Promise<void> {
  const staged = await client.channels.stageOriginate({
    endpoint,
    app: client.application,
    channelId: id,
  });
  const channel = staged.handle;
  const started = channel.once("StasisStart", { timeout: 30_000 });
  started.catch(() => {});
  await staged.exec();
  await started;
  await channel.answer();
  const played = await channel.stagePlay("sound:hello-world");
  const finished = played.handle.once("PlaybackFinished", { timeout: 30_000 });
  finished.catch(() => {});
  await played.exec();
  await finished;
  const destroyed = channel.once("ChannelDestroyed", { timeout: 30_000 });
  destroyed.catch(() => {});
  await channel.hangup();
  await destroyed;
}

/**
 * Runs `dialogs` dialogs at once, each with one call, beside a call of no
 * dialog, and reports what each dialog received.
 *
 * @param client A connected client (`connect()`).
 * @param options Endpoint, number of dialogs, log.
 * @returns One report per dialog.
 *
 * @example
 * ```ts ignore
 * await using client = await connect({ application: "dialogs" });
 * const reports = await runDialogs(client);
 * console.log(reports.every((r) => r.foreign.length === 0));
 * ```
 */
export async function runDialogs(
  client: AriClient,
  options?: DialogExampleOptions,
): Promise<DialogReport[]> {
  const {
    endpoint = "Local/100@default",
    dialogs = 2,
    log = () => {},
  } = options ?? {};
  const run = crypto.randomUUID().slice(0, 8);
  const reports: DialogReport[] = [];
  const work: Promise<void>[] = [];
  for (let i = 1; i <= dialogs; i++) {
    const report: DialogReport = {
      dialog: `dialog-${run}-${i}`,
      channel: `call-${run}-${i}`,
      events: {},
      foreign: [],
    };
    reports.push(report);
    const scoped = client.dialog(report.dialog);
    const events = scoped.events();
    const seen = (async () => {
      for await (const event of events) {
        report.events[event.type] = (report.events[event.type] ?? 0) + 1;
        const about = channelOf(event as unknown as Record<string, unknown>);
        if (about !== undefined && about !== report.channel) {
          report.foreign.push(`${event.type} about ${about}`);
        }
      }
    })();
    work.push((async () => {
      try {
        log(`dialog ${report.dialog}: calling ${report.channel}`);
        await call(scoped, endpoint, report.channel);
        log(`dialog ${report.dialog}: ${report.channel} done`);
      } finally {
        events.close();
        await seen;
      }
    })());
  }
  // A call of no dialog at the same time: no dialog may see its events.
  work.push(call(client, endpoint, `call-${run}-nodialog`));
  await Promise.all(work);
  for (const report of reports) {
    const total = Object.values(report.events).reduce((a, b) => a + b, 0);
    log(
      report.foreign.length === 0
        ? `dialog ${report.dialog}: ${total} events, all about its own call ${report.channel}`
        : `dialog ${report.dialog}: ${report.foreign.length} events about other calls: ${
          report.foreign.join(", ")
        }`,
    );
  }
  return reports;
}

if (import.meta.main) {
  await using client = await connect({
    servers: Deno.env.get("NATS_URL") ?? "nats://127.0.0.1:4222",
    application: Deno.env.get("ARI_APPLICATION") ?? "dialogs",
  });
  const endpoint = Deno.env.get("DIAL_ENDPOINT");
  const reports = await runDialogs(client, {
    ...(endpoint ? { endpoint } : {}),
    log: console.log,
  });
  const isolated = reports.every((r) =>
    r.foreign.length === 0 && (r.events.StasisStart ?? 0) > 0
  );
  console.log(isolated ? "dialogs: isolated" : "dialogs: NOT isolated");
  Deno.exitCode = isolated ? 0 : 1;
}
