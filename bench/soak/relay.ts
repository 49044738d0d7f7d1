/**
 * A loopback TCP relay the soak puts between a proxy and its Asterisk's
 * events WebSocket, so that the WebSocket can be dropped while Asterisk
 * keeps running (reloading Asterisk's HTTP module leaves open sessions
 * alone). {@linkcode TcpRelay.dropAll} closes every relayed connection at
 * once, as a network failure would.
 *
 * @module
 */

/** A running relay. */
export interface TcpRelay extends AsyncDisposable {
  /** The relay's port on 127.0.0.1. */
  readonly port: number;
  /** Connections relayed so far. */
  readonly accepted: number;
  /** Connections open now. */
  readonly open: number;
  /** Closes every open connection (both sides); new ones are still relayed. */
  dropAll(): number;
  /** Stops listening and closes everything. */
  close(): Promise<void>;
}

async function pipe(from: Deno.Conn, to: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(64 * 1024);
  try {
    while (true) {
      const n = await from.read(buf);
      if (n === null) break;
      let off = 0;
      while (off < n) off += await to.write(buf.subarray(off, n));
    }
  } catch {
    // Closed by the other side or by dropAll().
  }
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}

/**
 * Starts a relay from a free loopback port to `targetPort`.
 *
 * @param targetPort Where to relay to (on 127.0.0.1).
 * @returns The relay.
 *
 * @example
 * ```ts ignore
 * await using relay = startTcpRelay(asterisk.port);
 * relay.dropAll();
 * ```
 */
export function startTcpRelay(targetPort: number): TcpRelay {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const pairs = new Set<[Deno.Conn, Deno.Conn]>();
  const tasks = new Set<Promise<void>>();
  let accepted = 0;
  let closed = false;

  const serve = async (inbound: Deno.Conn) => {
    let outbound: Deno.Conn;
    try {
      outbound = await Deno.connect({
        hostname: "127.0.0.1",
        port: targetPort,
      });
    } catch {
      closeQuietly(inbound);
      return;
    }
    const pair: [Deno.Conn, Deno.Conn] = [inbound, outbound];
    pairs.add(pair);
    await Promise.race([pipe(inbound, outbound), pipe(outbound, inbound)]);
    pairs.delete(pair);
    closeQuietly(inbound);
    closeQuietly(outbound);
  };

  const loop = (async () => {
    try {
      for await (const conn of listener) {
        accepted++;
        const task = serve(conn);
        tasks.add(task);
        task.finally(() => tasks.delete(task));
      }
    } catch {
      // Listener closed.
    }
  })();

  const relay: TcpRelay = {
    port: (listener.addr as Deno.NetAddr).port,
    get accepted() {
      return accepted;
    },
    get open() {
      return pairs.size;
    },
    dropAll() {
      const n = pairs.size;
      for (const [a, b] of pairs) {
        closeQuietly(a);
        closeQuietly(b);
      }
      return n;
    },
    async close() {
      if (closed) return;
      closed = true;
      listener.close();
      relay.dropAll();
      await loop;
      await Promise.all([...tasks]);
    },
    [Symbol.asyncDispose]() {
      return relay.close();
    },
  };
  return relay;
}
