/**
 * The NATS transport for connections with TLS options (client certificates,
 * a CA): `@nats-io/transport-node`'s `NodeTransport` on Deno's Node
 * compatibility sockets, with one fix to its TLS upgrade (internal; loaded
 * on demand by `connectNats`).
 *
 * The fix: `NodeTransport.startTLS()` removes every listener of the TLS
 * socket once the handshake completes and adds its own only after the
 * connect resumes. With TLS 1.3 a server that refuses the client
 * certificate says so after the client's side of the handshake is done, and
 * under load its alert arrives in that gap; an `error` event without a
 * listener is thrown from the socket's read callback and ends the process
 * (`received fatal alert: BadCertificate`). Here the TLS socket keeps an
 * error listener for its whole life, and an error in the gap closes the
 * connection with that error, so the caller sees why. Also, a server given
 * by IP address has its certificate checked against that address, not
 * against "localhost".
 *
 * @module
 */

import {
  connect as tlsConnect,
  type ConnectionOptions,
  type TLSSocket,
} from "node:tls";
import { errors } from "@nats-io/nats-core/internal";
import { NodeTransport } from "@nats-io/transport-node/lib/node_transport.js";

/**
 * `NodeTransport` whose TLS socket never emits an `error` without a
 * listener.
 *
 * @example
 * ```ts
 * import { NodeTlsTransport } from "./_node_tls.ts";
 * const transport = new NodeTlsTransport();
 * console.assert(!transport.isClosed);
 * ```
 */
export class NodeTlsTransport extends NodeTransport {
  /** An error of the TLS socket between the handshake and `setupHandlers`. */
  #early: Error | undefined;
  #handlersSet = false;
  /** The server's host name or IP address, for the certificate check. */
  #host = "";

  /** Dials `hp`; remembers its host for the TLS certificate check. */
  override connect(
    hp: { hostname: string; port: number; tlsName: string },
    options: Parameters<NodeTransport["connect"]>[1],
  ): Promise<void> {
    this.#host = hp.hostname;
    return super.connect(hp, options);
  }

  /** Upgrades the connection to TLS, with the client certificate if any. */
  override async startTLS(): Promise<TLSSocket> {
    const tlsOptions: ConnectionOptions = {
      socket: this.socket,
      // The certificate is checked against `host` when there is no name
      // (nats-core gives none for an IP address); unset, it would be
      // checked against "localhost".
      host: this.#host,
      servername: this.tlsName,
      rejectUnauthorized: true,
    };
    if (typeof this.options.tls === "object" && this.options.tls !== null) {
      try {
        Object.assign(
          tlsOptions,
          this.options.tls,
          await this.loadClientCerts() ?? {},
        );
      } catch (err) {
        throw new errors.ConnectionError(messageOf(err), { cause: err });
      }
    }
    return await new Promise<TLSSocket>((resolve, reject) => {
      let failure: Error | undefined;
      let upgraded = false;
      const socket = tlsConnect(tlsOptions, () => {
        if (tlsOptions.rejectUnauthorized !== false && !socket.authorized) {
          socket.destroy();
          reject(
            new errors.ConnectionError(messageOf(socket.authorizationError), {
              cause: socket.authorizationError,
            }),
          );
          return;
        }
        upgraded = true;
        socket.removeListener("close", onClose);
        resolve(socket);
      });
      // Kept for the socket's life (see the module doc).
      socket.on("error", (err: Error) => {
        failure ??= err;
        if (upgraded && !this.#handlersSet) this.#early ??= err;
      });
      const onClose = () => {
        reject(
          new errors.ConnectionError(
            failure ? messageOf(failure) : "TLS connection closed",
            { cause: failure },
          ),
        );
      };
      socket.on("close", onClose);
    });
  }

  /** Installs the data/error/close handlers; reports an error that came first. */
  override setupHandlers(): void {
    super.setupHandlers();
    this.#handlersSet = true;
    const early = this.#early;
    if (early !== undefined) void this.close(early);
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
