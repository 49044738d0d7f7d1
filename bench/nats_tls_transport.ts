/**
 * What the TLS fallback costs: NATS request/reply round trips through
 * `connectNats` (the proxy's and the client's NATS connection) on
 *
 * - `deno-tcp`: plain TCP on Deno's sockets (reference);
 * - `deno-tls`: TLS on Deno's sockets (`Deno.startTls`), which is what a
 *   connection without TLS options gets when the server requires TLS (the CA
 *   trusted through `DENO_CERT`, as an operator would);
 * - `node-tls`: TLS with a client certificate, which `connectNats` hands to
 *   `@nats-io/transport-node` on Deno's Node-compatibility sockets.
 *
 * Each row: one requester and one responder connection of that kind, a real
 * nats-server on loopback, `--count` sequential requests (after 200 warm-up
 * requests). Prints a Markdown table; re-runs itself with `DENO_CERT` set.
 *
 * @example
 * ```sh
 * deno run --frozen -P=bench bench/nats_tls_transport.ts --count 5000
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import type { ConnectionOptions, NatsConnection } from "@nats-io/nats-core";
import { connectNats } from "../client/nats/deno_socket.ts";
import { startNats } from "../tests/harness/mod.ts";
import {
  issueCertificate,
  makeCertificateAuthority,
} from "../tools/stack/pki.ts";

async function makePki(dir: string): Promise<void> {
  await makeCertificateAuthority(dir, "ca", "/CN=bench CA");
  await issueCertificate(dir, {
    name: "server",
    extensions: "subjectAltName=IP:127.0.0.1",
  });
  await issueCertificate(dir, {
    name: "client",
    extensions: "extendedKeyUsage=clientAuth",
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

async function measure(
  options: ConnectionOptions,
  count: number,
): Promise<{ p50: number; p99: number; mean: number }> {
  const responder: NatsConnection = await connectNats(options);
  const requester: NatsConnection = await connectNats(options);
  try {
    responder.subscribe("bench.tls.echo", {
      callback: (_err, msg) => {
        msg.respond(msg.data);
      },
    });
    await responder.flush();
    const payload = new Uint8Array(200);
    for (let i = 0; i < 200; i++) {
      await requester.request("bench.tls.echo", payload, { timeout: 5_000 });
    }
    const times: number[] = [];
    for (let i = 0; i < count; i++) {
      const t0 = performance.now();
      await requester.request("bench.tls.echo", payload, { timeout: 5_000 });
      times.push((performance.now() - t0) * 1000);
    }
    times.sort((a, b) => a - b);
    const mean = times.reduce((a, b) => a + b, 0) / times.length;
    return { p50: percentile(times, 0.5), p99: percentile(times, 0.99), mean };
  } finally {
    await requester.close();
    await responder.close();
  }
}

async function run(dir: string, count: number): Promise<void> {
  // TLS for every client; client certificates requested, not required, so
  // that the Deno path (no certificate) can connect too.
  await using tlsNats = await startNats({
    config: [
      "tls {",
      `  cert_file: "${dir}/server.pem"`,
      `  key_file: "${dir}/server.key"`,
      `  ca_file: "${dir}/ca.pem"`,
      "}",
    ].join("\n"),
  });
  await using plainNats = await startNats();
  const rows: [string, ConnectionOptions][] = [
    ["deno-tcp (no TLS)", { servers: plainNats.url }],
    ["deno-tls (Deno.startTls, CA from DENO_CERT)", { servers: tlsNats.url }],
    ["node-tls (client certificate, Node-compat sockets)", {
      servers: tlsNats.url,
      tls: {
        caFile: `${dir}/ca.pem`,
        certFile: `${dir}/client.pem`,
        keyFile: `${dir}/client.key`,
      },
    }],
  ];
  const lines = [
    `${count} sequential request/reply round trips, 200-byte payload, µs:`,
    "",
    "| transport | p50 | p99 | mean |",
    "| --- | ---: | ---: | ---: |",
  ];
  for (const [name, options] of rows) {
    const r = await measure(options, count);
    lines.push(
      `| ${name} | ${r.p50.toFixed(0)} | ${r.p99.toFixed(0)} | ${
        r.mean.toFixed(0)
      } |`,
    );
  }
  await Deno.stdout.write(new TextEncoder().encode(lines.join("\n") + "\n"));
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { count: { type: "string", default: "3000" } },
  });
  const count = Number(values.count);
  const given = Deno.env.get("BENCH_TLS_DIR");
  if (given) {
    await run(given, count);
  } else {
    // The Deno path trusts the CA process-wide (DENO_CERT), so the
    // measurement runs in a child process that has it.
    const dir = await Deno.makeTempDir({ prefix: "ari-bench-tls-" });
    try {
      await makePki(dir);
      const child = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--frozen",
          "-P=bench",
          new URL(import.meta.url).pathname,
          "--count",
          String(count),
        ],
        env: { DENO_CERT: `${dir}/ca.pem`, BENCH_TLS_DIR: dir },
        stdout: "inherit",
        stderr: "inherit",
      }).output();
      if (!child.success) Deno.exitCode = child.code;
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  }
}
