/**
 * A NATS transport for `@nats-io/nats-core` on Deno's own sockets
 * (`Deno.connect`, `Deno.startTls`, `Deno.connectTls`), and `connectNats()`,
 * which connects with it.
 *
 * Why it exists: the official Deno transport (`@nats-io/transport-deno`) is
 * published on JSR only. Its npm sibling, `@nats-io/transport-node`, runs on
 * Deno's Node-compatibility sockets, which cost a request/reply round trip
 * measurably more (see BENCHMARKS.md). Once JSR is reachable,
 * `connectNats` can become `connect` of `@nats-io/transport-deno` (one line).
 *
 * Connections that configure TLS options (certificates, a CA, TLS first) are
 * handed to `@nats-io/transport-node`'s transport (`_node_tls.ts`, with a fix
 * to its TLS upgrade), because `Deno.startTls` cannot present a client
 * certificate and NATS upgrades to TLS after its plain-text INFO; a server
 * that merely requires TLS is upgraded here with `Deno.startTls`.
 *
 * @module
 */

import {
  checkOptions,
  type ConnectionOptions,
  errors,
  INFO,
  NatsConnectionImpl,
  type Server,
  type ServerInfo,
  setTransportFactory,
  type Transport,
} from "@nats-io/nats-core/internal";
import type { NatsConnection } from "@nats-io/nats-core";
import { concatBytes, findCrlf } from "../_bytes.ts";

const READ_CHUNK_BYTES = 64 * 1024;
const MAX_INFO_BYTES = 64 * 1024;
/** Longest wait for queued bytes to be written when closing. */
const FLUSH_TIMEOUT_MS = 1_000;

/** The language the transport reports to the NATS server in `CONNECT`. */
const LANG = "nats.js";
/** The version reported with {@link LANG} (nats-core's, plus where it runs). */
const VERSION = "3.4.0-deno";

type AnyConn = Deno.TcpConn | Deno.TlsConn;

/**
 * One NATS server connection over a Deno socket. nats-core creates one per
 * dial (the first connect and every reconnect) through the factory that
 * {@link connectNats} installs.
 *
 * @example
 * ```ts
 * import { DenoSocketTransport } from "./deno_socket.ts";
 *
 * const transport = new DenoSocketTransport();
 * console.log(transport.isClosed); // false until connected and closed
 * ```
 */
export class DenoSocketTransport implements Transport {
  readonly lang: string = LANG;
  readonly version: string = VERSION;
  #closeError: Error | undefined;

  #conn: AnyConn | undefined;
  #encrypted = false;
  #connected = false;
  #done = false;
  /** What was read while looking for INFO; the parser must still see it. */
  #initial: Uint8Array[] = [];
  #writeQueue: Uint8Array[] = [];
  #writeQueued = 0;
  #writing = false;
  /** The writer's current run (never rejects). */
  #draining: Promise<void> = Promise.resolve();
  #debug = false;
  readonly #closedNotification: PromiseWithResolvers<void | Error> = Promise
    .withResolvers();

  /** The error that ended the connection, if one did. */
  get closeError(): Error {
    return this.#closeError as Error;
  }

  /** True once the connection ended (closed, failed or discarded). */
  get isClosed(): boolean {
    return this.#done;
  }

  /**
   * Bytes handed to {@link send} that the socket has not taken yet. The proxy
   * counts them against its bound on outbound event bytes.
   */
  get writableLength(): number {
    return this.#writeQueued;
  }

  /** Dials the server, reads its INFO and upgrades to TLS when it must. */
  async connect(server: Server, options: ConnectionOptions): Promise<void> {
    this.#debug = options.debug === true;
    const hostname = server.hostname;
    const port = server.port;
    try {
      let conn: AnyConn = await Deno.connect({ hostname, port });
      conn.setNoDelay(true);
      this.#conn = conn;
      if (this.#done) throw new errors.ConnectionError("transport discarded");
      const info = await this.#readInfo(conn);
      checkOptions(info, options);
      const tlsRequired = info.tls_required === true;
      const tlsWanted = (info as { tls_available?: boolean }).tls_available ===
          true && options.tls !== null;
      if (tlsRequired || tlsWanted) {
        const tls = await Deno.startTls(conn as Deno.TcpConn, {
          hostname: server.tlsName || hostname,
        });
        this.#conn = conn = tls;
        // Fail here, with the certificate error, not later on the first read.
        await tls.handshake();
        this.#encrypted = true;
      }
      if (this.#done) throw new errors.ConnectionError("transport discarded");
      this.#connected = true;
    } catch (err) {
      this.#dispose();
      const code = (err as { code?: string }).code;
      if (
        err instanceof Deno.errors.ConnectionRefused || code === "ECONNREFUSED"
      ) {
        throw new errors.ConnectionError("connection refused", { cause: err });
      }
      throw err;
    }
  }

  /** Reads up to the end of the INFO line; keeps every byte for the parser. */
  async #readInfo(conn: AnyConn): Promise<ServerInfo> {
    const chunks: Uint8Array[] = [];
    let total = 0;
    const buffer = new Uint8Array(4096);
    while (true) {
      const n = await conn.read(buffer);
      if (n === null) {
        throw new errors.ConnectionError("connection closed before INFO");
      }
      const chunk = buffer.slice(0, n);
      chunks.push(chunk);
      total += n;
      const all = concatBytes(chunks, total);
      const cr = findCrlf(all, 0, all.length);
      if (cr >= 0) {
        const line = new TextDecoder().decode(all.subarray(0, cr + 2));
        const match = INFO.exec(line);
        if (match === null || match[1] === undefined) {
          throw new Error("unexpected response from server");
        }
        // INFO goes to the parser; anything after it (never, before CONNECT)
        // stays queued behind it.
        this.#initial = [all];
        return JSON.parse(match[1]);
      }
      if (total > MAX_INFO_BYTES) {
        throw new Error("no INFO from server in the first 64 KiB");
      }
    }
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<Uint8Array> {
    return this.#iterate();
  }

  async *#iterate(): AsyncGenerator<Uint8Array> {
    const initial = this.#initial;
    this.#initial = [];
    for (const chunk of initial) yield chunk;
    const buffer = new Uint8Array(READ_CHUNK_BYTES);
    let error: Error | undefined;
    while (!this.#done) {
      const conn = this.#conn;
      if (conn === undefined) break;
      let n: number | null;
      try {
        n = await conn.read(buffer);
      } catch (err) {
        if (!this.#done) error = asError(err);
        break;
      }
      if (n === null) break;
      yield buffer.slice(0, n);
    }
    await this.#closed(error, false);
  }

  /** True when the connection runs over TLS. */
  isEncrypted(): boolean {
    return this.#encrypted;
  }

  /**
   * Queues bytes for the socket. Writes never overlap; frames sent while one
   * is in progress go out together in the next write.
   */
  send(frame: Uint8Array): void {
    if (this.#done || this.#conn === undefined || frame.byteLength === 0) {
      return;
    }
    this.#writeQueue.push(frame);
    this.#writeQueued += frame.byteLength;
    if (!this.#writing) this.#draining = this.#drain();
  }

  async #drain(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#writeQueue.length > 0) {
        const queue = this.#writeQueue;
        this.#writeQueue = [];
        const chunk = concatBytes(queue);
        let offset = 0;
        while (offset < chunk.byteLength) {
          const conn = this.#conn;
          if (conn === undefined || this.#done) return;
          offset += await conn.write(chunk.subarray(offset));
        }
        this.#writeQueued -= chunk.byteLength;
      }
    } catch (err) {
      // A failed write ends the connection; nats-core reconnects on closed().
      if (this.#debug) {
        // deno-lint-ignore no-console
        console.error("nats socket write failed:", err);
      }
      void this.#closed(asError(err), false);
    } finally {
      this.#writing = false;
    }
  }

  /** Writes what is queued, then closes; resolves {@link closed}. */
  close(err?: Error): Promise<void> {
    return this.#closed(err, true);
  }

  /** Drops the connection; nats-core sees a disconnect and reconnects. */
  disconnect(): void {
    void this.#closed(undefined, false);
  }

  /** Resolves when the connection ended, with the error that ended it. */
  closed(): Promise<void | Error> {
    return this.#closedNotification.promise;
  }

  /** Abandons the transport without notifying (a newer one replaces it). */
  discard(): void {
    this.#done = true;
    this.#dispose();
  }

  async #closed(err: Error | undefined, flush: boolean): Promise<void> {
    if (!this.#connected) return;
    if (this.#done) {
      this.#dispose();
      return;
    }
    this.#closeError = err;
    if (err === undefined && flush) await this.#flush();
    this.#done = true;
    this.#dispose();
    this.#closedNotification.resolve(err);
  }

  async #flush(): Promise<void> {
    // The writer takes everything queued (it stops on error or close); a
    // peer that stopped reading gets at most FLUSH_TIMEOUT_MS.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, FLUSH_TIMEOUT_MS);
    });
    try {
      await Promise.race([this.#draining, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  #dispose(): void {
    const conn = this.#conn;
    this.#conn = undefined;
    this.#writeQueue = [];
    this.#writeQueued = 0;
    if (conn === undefined) return;
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  }
}

/**
 * A transport that uses {@link DenoSocketTransport}, or `@nats-io/transport-node`'s
 * when the connection configures TLS options, decided per dial from the
 * options nats-core passes.
 */
class SelectingTransport implements Transport {
  #inner: Transport = new DenoSocketTransport();

  get isClosed(): boolean {
    return this.#inner.isClosed;
  }
  get lang(): string {
    return this.#inner.lang;
  }
  get version(): string {
    return this.#inner.version;
  }
  get closeError(): Error {
    return this.#inner.closeError as Error;
  }
  get writableLength(): number {
    const inner = this.#inner as {
      writableLength?: number;
      socket?: { writableLength?: number };
    };
    return inner.writableLength ?? inner.socket?.writableLength ?? 0;
  }

  async connect(server: Server, options: ConnectionOptions): Promise<void> {
    if (options.tls !== undefined && options.tls !== null) {
      const { NodeTlsTransport } = await import("./_node_tls.ts");
      this.#inner = new NodeTlsTransport() as Transport;
    }
    return this.#inner.connect(server, options);
  }
  [Symbol.asyncIterator](): AsyncIterableIterator<Uint8Array> {
    return this.#inner[Symbol.asyncIterator]();
  }
  isEncrypted(): boolean {
    return this.#inner.isEncrypted();
  }
  send(frame: Uint8Array): void {
    this.#inner.send(frame);
  }
  close(err?: Error): Promise<void> {
    return this.#inner.close(err);
  }
  disconnect(): void {
    this.#inner.disconnect();
  }
  closed(): Promise<void | Error> {
    return this.#inner.closed();
  }
  discard(): void {
    this.#inner.discard();
  }
}

/**
 * Connects to NATS like `connect()` of `@nats-io/transport-node` /
 * `@nats-io/transport-deno`, over Deno's own sockets. Takes the same options
 * and returns the same `NatsConnection`; WebSocket URLs are refused (use
 * `wsconnect` of `@nats-io/nats-core`).
 *
 * @example
 * ```ts ignore live
 * import { connectNats } from "./deno_socket.ts";
 *
 * const nc = await connectNats({ servers: "127.0.0.1:4222" });
 * await nc.close();
 * ```
 */
export function connectNats(
  options: ConnectionOptions = {},
): Promise<NatsConnection> {
  const servers = options.servers === undefined
    ? []
    : Array.isArray(options.servers)
    ? options.servers
    : [options.servers];
  if (servers.some((s) => /^wss?:\/\//i.test(s))) {
    return Promise.reject(
      errors.InvalidArgumentError.format(
        "servers",
        "connectNats doesn't support websockets, use wsconnect",
      ),
    );
  }
  setTransportFactory({ factory: () => new SelectingTransport() });
  return NatsConnectionImpl.connect(options);
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
