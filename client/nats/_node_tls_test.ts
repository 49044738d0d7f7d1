import assert from "node:assert/strict";
import { startNats } from "../../tests/harness/mod.ts";
import { NodeTlsTransport } from "./_node_tls.ts";
import { connectNats } from "./deno_socket.ts";

async function openssl(cwd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", {
    args,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `Cannot run openssl ${args[0]}: ${new TextDecoder().decode(out.stderr)}`,
    );
  }
}

/** A CA with a server certificate for 127.0.0.1 and a client certificate. */
async function makePki(dir: string): Promise<void> {
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
  await openssl(dir, [
    "req",
    "-x509",
    ...ec,
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "2",
    "-subj",
    "/CN=test CA",
  ]);
  for (
    const [name, subject, ext] of [
      ["server", "/CN=127.0.0.1", "subjectAltName=IP:127.0.0.1\n"],
      ["client", "/CN=client", "extendedKeyUsage=clientAuth\n"],
    ]
  ) {
    await Deno.writeTextFile(`${dir}/${name}.ext`, ext!);
    await openssl(dir, [
      "req",
      ...ec,
      "-nodes",
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.csr`,
      "-subj",
      subject!,
    ]);
    await openssl(dir, [
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      `${name}.pem`,
      "-days",
      "2",
      "-extfile",
      `${name}.ext`,
    ]);
  }
}

/** Stands in for a TLS alert that arrives before nats-core's handlers. */
class EarlyErrorTransport extends NodeTlsTransport {
  override setupHandlers(): void {
    this.socket.emit("error", new Error("received fatal alert: Simulated"));
    super.setupHandlers();
  }
}

Deno.test("NodeTlsTransport presents a client certificate and reports an early TLS error instead of throwing it", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "ari-node-tls-" });
  try {
    await makePki(dir);
    await using nats = await startNats({
      config: [
        "tls {",
        `  cert_file: "${dir}/server.pem"`,
        `  key_file: "${dir}/server.key"`,
        `  ca_file: "${dir}/ca.pem"`,
        "  verify: true",
        "}",
      ].join("\n"),
    });
    const tls = {
      caFile: `${dir}/ca.pem`,
      certFile: `${dir}/client.pem`,
      keyFile: `${dir}/client.key`,
    };

    await t.step("connectNats() with a client certificate", async () => {
      const nc = await connectNats({ servers: nats.url, tls });
      try {
        assert.equal(nc.info?.tls_required, true);
        const sub = nc.subscribe("echo", {
          callback: (_err, msg) => {
            msg.respond(msg.data);
          },
        });
        const reply = await nc.request("echo", "hi", { timeout: 10_000 });
        assert.equal(reply.string(), "hi");
        sub.unsubscribe();
      } finally {
        await nc.close();
      }
    });

    await t.step(
      "an error between the TLS upgrade and the handlers closes the transport with it",
      async () => {
        const transport = new EarlyErrorTransport();
        await transport.connect(
          { hostname: "127.0.0.1", port: nats.port, tlsName: "" },
          { tls },
        );
        const reason = await transport.closed();
        assert.ok(reason instanceof Error);
        assert.match(reason.message, /Simulated/);
        assert.equal(transport.isClosed, true);
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
