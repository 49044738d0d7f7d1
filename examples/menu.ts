/**
 * Example: an answer-play-DTMF menu, through the ari-proxy cluster.
 *
 * Every call that enters the application is answered and greeted
 * (`hello-world`); then each key the caller presses plays something:
 * 1 plays `auth-thankyou`, 2 plays `demo-thanks`, # says goodbye and hangs
 * up; any other key plays `pbx-invalid`.
 *
 * Run it (a proxy must serve the application on the same NATS, e.g.
 * `ARI_APPLICATION=menu ARI_USERNAME=… ARI_PASSWORD=… deno task start`):
 *
 * ```sh
 * NATS_URL=nats://127.0.0.1:4222 ARI_APPLICATION=menu \
 *   deno run --allow-net --allow-env examples/menu.ts
 * ```
 *
 * then send a call into it, e.g. a dialplan extension
 * `exten => 200,1,Stasis(menu)`. Ctrl-C stops it. Inside this repository
 * `@ari-proxy/client` resolves to `client/`; elsewhere add the package.
 *
 * @module
 */

// deno-lint-ignore-file no-console
import { type AriClient, type ChannelHandle, connect } from "@ari-proxy/client";

/** Options of {@linkcode runMenu}. */
export interface MenuOptions {
  /** Stops taking calls (calls in progress go on until they end). */
  signal?: AbortSignal;
  /** Where the menu reports what it does. */
  log?: (line: string) => void;
}

/** What each key plays. */
const MENU: Record<string, string> = {
  "1": "sound:auth-thankyou",
  "2": "sound:demo-thanks",
};

/**
 * Serves the menu to every call entering `client.application`, until
 * `signal` aborts.
 *
 * @param client A connected client (`connect()`).
 * @param options Signal and log.
 *
 * @example
 * ```ts ignore
 * await using client = await connect({ application: "menu" });
 * await runMenu(client, { log: console.log });
 * ```
 */
export async function runMenu(
  client: AriClient,
  options?: MenuOptions,
): Promise<void> {
  const { signal, log = () => {} } = options ?? {};
  const calls = new Set<Promise<void>>();
  const starts = client.events("StasisStart", signal ? { signal } : {});
  for await (const event of starts) {
    const channel = client.channels.handle(event.channel.id, event);
    const call = serve(channel, log).catch((error) =>
      log(`menu: call ${channel.id} failed: ${error}`)
    );
    calls.add(call);
    call.finally(() => calls.delete(call));
  }
  await Promise.all(calls);
}

async function play(channel: ChannelHandle, media: string): Promise<void> {
  const playback = await channel.stagePlay(media);
  const finished = playback.handle.once("PlaybackFinished", {
    timeout: 60_000,
  });
  finished.catch(() => {}); // awaited below unless exec() fails
  await playback.exec();
  await finished;
}

async function serve(
  channel: ChannelHandle,
  log: (line: string) => void,
): Promise<void> {
  // Subscribe before answering, so no key press is missed.
  const events = channel.events(["ChannelDtmfReceived", "StasisEnd"]);
  try {
    await channel.answer();
    log(`menu: answered ${channel.id}`);
    await play(channel, "sound:hello-world");
    log(`menu: greeted ${channel.id}`);
    for await (const event of events) {
      if (event.type === "StasisEnd") {
        log(`menu: ${channel.id} hung up`);
        return;
      }
      const digit = event.digit;
      if (digit === "#") {
        log(`menu: ${channel.id} pressed # -> goodbye`);
        await play(channel, "sound:vm-goodbye");
        await channel.hangup();
        log(`menu: hung up ${channel.id}`);
        return;
      }
      const media = MENU[digit] ?? "sound:pbx-invalid";
      log(`menu: ${channel.id} pressed ${digit} -> ${media}`);
      await play(channel, media);
    }
  } finally {
    events.close();
  }
}

if (import.meta.main) {
  const stop = new AbortController();
  Deno.addSignalListener("SIGINT", () => stop.abort());
  await using client = await connect({
    servers: Deno.env.get("NATS_URL") ?? "nats://127.0.0.1:4222",
    application: Deno.env.get("ARI_APPLICATION") ?? "menu",
  });
  console.log(`menu: serving application "${client.application}"`);
  await runMenu(client, { signal: stop.signal, log: console.log });
}
