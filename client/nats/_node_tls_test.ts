import assert from "node:assert/strict";
import { startNats } from "../../tests/harness/mod.ts";
import { NodeTlsTransport } from "./_node_tls.ts";
import { connectNats } from "./deno_socket.ts";
import {
  issueCertificate,
  makeCertificateAuthority,
} from "../../tools/stack/pki.ts";

/** A CA with a server certificate for 127.0.0.1 and a client certificate. */
async function makePki(dir: string): Promise<void> {
  await makeCertificateAuthority(dir, "ca", "/CN=test CA");
  await issueCertificate(dir, {
    name: "server",
    subject: "/CN=127.0.0.1",
    extensions: "subjectAltName=IP:127.0.0.1",
  });
  await issueCertificate(dir, {
    name: "client",
    extensions: "extendedKeyUsage=clientAuth",
  });
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
