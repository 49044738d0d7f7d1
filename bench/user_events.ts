/**
 * Load generator for real Asterisk: `POST /ari/events/user/<name>?application=<app>`
 * with `{"variables":{"bench_seq":"<n>"}}`, so every resulting
 * `ChannelUserevent` carries its sequence number in `userevent.bench_seq`.
 *
 * It speaks HTTP/1.1 over keep-alive TCP connections itself (one request in
 * flight per connection): Deno's `fetch` costs several times more CPU per
 * request, and on a 2-core machine shared with Asterisk, NATS and the proxy
 * that would make the generator, not Asterisk, the limit.
 *
 * @module
 */

/** Options for {@linkcode driveUserEvents}. */
export interface DriveOptions {
  /** ARI base URL, `http://127.0.0.1:<port>/ari`. */
  httpUrl: string;
  /** ARI user. */
  username: string;
  /** ARI password. */
  password: string;
  /** Application that receives the events. */
  app: string;
  /**
   * Requests in flight (connections).
   *
   * @default {16}
   */
  inFlight?: number;
  /**
   * Target events per second; `0` sends as fast as Asterisk answers.
   *
   * @default {0}
   */
  ratePerSec?: number;
  /** Stop after this long, ms. */
  durationMs: number;
  /**
   * Stop after this many events.
   *
   * @default {Infinity}
   */
  maxEvents?: number;
  /**
   * First sequence number.
   *
   * @default {0}
   */
  startSeq?: number;
}

/** What the generator did. */
export interface DriveResult {
  /** Sequence numbers used: `startSeq .. startSeq + issued - 1`. */
  issued: number;
  /** Events accepted by Asterisk (2xx), all with sequence numbers `startSeq .. startSeq + sent - 1`. */
  sent: number;
  /** Requests that failed (non-2xx or connection errors); their numbers were skipped. */
  errors: number;
  /** Sequence numbers of the failed requests. */
  failedSeqs: number[];
  /** Wall time, ms. */
  elapsedMs: number;
  /** Achieved rate, events/s. */
  ratePerSec: number;
}

const encoder = new TextEncoder();

class HttpConnection {
  #conn: Deno.TcpConn;
  #buf = new Uint8Array(16_384);
  #pending = "";
  #decoder = new TextDecoder();

  constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
  }

  static async open(hostname: string, port: number): Promise<HttpConnection> {
    const conn = await Deno.connect({ hostname, port });
    conn.setNoDelay(true);
    return new HttpConnection(conn);
  }

  /** Sends one request and returns the response status. */
  async send(request: Uint8Array): Promise<number> {
    await this.#conn.write(request);
    while (true) {
      const headerEnd = this.#pending.indexOf("\r\n\r\n");
      if (headerEnd >= 0) {
        const head = this.#pending.slice(0, headerEnd);
        const length = /content-length:\s*(\d+)/i.exec(head);
        const total = headerEnd + 4 + (length ? Number(length[1]) : 0);
        if (this.#pending.length >= total) {
          this.#pending = this.#pending.slice(total);
          return Number(head.slice(9, 12));
        }
      }
      const n = await this.#conn.read(this.#buf);
      if (n === null) throw new Error("Connection closed by Asterisk");
      this.#pending += this.#decoder.decode(this.#buf.subarray(0, n));
    }
  }

  close(): void {
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
  }
}

/**
 * Sends sequence-numbered user events to Asterisk until `durationMs` passes
 * or `maxEvents` were sent.
 *
 * @param options Target, concurrency, rate and limits.
 * @returns Counts and the achieved rate.
 *
 * @example
 * ```ts ignore
 * const result = await driveUserEvents({ httpUrl, username: "proxy",
 *   password: "secret", app: "bench", durationMs: 5_000 });
 * ```
 */
export async function driveUserEvents(
  options: DriveOptions,
): Promise<DriveResult> {
  const {
    httpUrl,
    username,
    password,
    app,
    inFlight = 16,
    ratePerSec = 0,
    durationMs,
    maxEvents = Infinity,
    startSeq = 0,
  } = options;
  const url = new URL(httpUrl);
  const path = `${url.pathname}/events/user/bench?application=${
    encodeURIComponent(app)
  }`;
  const auth = `Basic ${btoa(`${username}:${password}`)}`;
  const head =
    `POST ${path} HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: ${auth}\r\nContent-Type: application/json\r\nContent-Length: `;
  let next = 0;
  let sent = 0;
  const failedSeqs: number[] = [];
  const t0 = performance.now();
  const deadline = t0 + durationMs;

  async function worker(): Promise<void> {
    let conn: HttpConnection | undefined;
    try {
      while (next < maxEvents) {
        const now = performance.now();
        if (now >= deadline) break;
        const i = next++;
        if (ratePerSec > 0) {
          const due = t0 + (i * 1000) / ratePerSec;
          if (due > now) {
            await new Promise((resolve) => setTimeout(resolve, due - now));
          }
        }
        const seq = startSeq + i;
        const body = `{"variables":{"bench_seq":"${seq}"}}`;
        const request = encoder.encode(`${head}${body.length}\r\n\r\n${body}`);
        try {
          conn ??= await HttpConnection.open(url.hostname, Number(url.port));
          const status = await conn.send(request);
          if (status >= 200 && status < 300) sent++;
          else failedSeqs.push(seq);
        } catch {
          failedSeqs.push(seq);
          conn?.close();
          conn = undefined;
        }
      }
    } finally {
      conn?.close();
    }
  }

  await Promise.all(Array.from({ length: inFlight }, worker));
  const elapsedMs = performance.now() - t0;
  return {
    issued: Math.min(next, maxEvents),
    sent,
    errors: failedSeqs.length,
    failedSeqs,
    elapsedMs,
    ratePerSec: elapsedMs > 0 ? sent / (elapsedMs / 1000) : 0,
  };
}
