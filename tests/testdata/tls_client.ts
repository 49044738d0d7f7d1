/**
 * Fixture of `tests/ari_tls_test.ts`: connects the native transport to an
 * `https:` ARI with no `caCerts` option, so the only trust in the private CA
 * comes from how Deno was started (`--cert ca.pem` or `DENO_CERT=ca.pem`).
 * It learns the node from `GET /asterisk/info`, subscribes, asks the fake
 * for a `StasisStart` (an `AsteriskInfo` request), waits for the event over
 * `wss:`, and prints one JSON line; exit code 1 on failure.
 *
 * ```sh
 * deno run --cert ca.pem --allow-net=127.0.0.1 tests/testdata/tls_client.ts \
 *   https://127.0.0.1:8089/ari myapp
 * ```
 *
 * @module
 */

import { createNativeTransport } from "../../client/native/transport.ts";
import type { ProxiedEvent } from "../../client/protocol/types.ts";

/** Each step must finish within this many milliseconds. */
const STEP_TIMEOUT = 10_000;

function print(value: unknown): void {
  Deno.stdout.writeSync(
    new TextEncoder().encode(JSON.stringify(value) + "\n"),
  );
}

async function withDeadline<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Timed out waiting for ${what}`)),
      STEP_TIMEOUT,
    );
  });
  try {
    return await Promise.race([promise, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

async function main(url: string, application: string): Promise<void> {
  await using transport = await createNativeTransport({
    url,
    username: "tls",
    password: "secret",
    application,
    timeout: STEP_TIMEOUT,
  });
  const node = transport.nodes()[0]?.node;
  const { promise, resolve } = Promise.withResolvers<ProxiedEvent>();
  const stop = transport.subscribe({}, (event) => {
    if (event.type === "StasisStart") resolve(event);
  });
  const info = await transport.request({ kind: "AsteriskInfo", key: null });
  const event = await withDeadline(promise, "StasisStart");
  stop();
  const channel = event.channel as { id?: unknown } | undefined;
  print({
    ok: true,
    node,
    connected: transport.isConnected(),
    infoError: info.error,
    infoEntityId: (info.data?.asterisk?.system as Record<string, unknown>)
      ?.entity_id,
    event: {
      type: event.type,
      application: event.application,
      asteriskId: event.asterisk_id,
      channelId: channel?.id,
    },
  });
}

if (import.meta.main) {
  const [url, application] = Deno.args;
  if (url === undefined || application === undefined) {
    print({ ok: false, error: "usage: tls_client.ts <ari-url> <application>" });
    Deno.exit(2);
  }
  try {
    await main(url, application);
  } catch (error) {
    print({
      ok: false,
      name: error instanceof Error ? error.name : typeof error,
      error: error instanceof Error ? error.message : String(error),
    });
    Deno.exitCode = 1;
  }
}
