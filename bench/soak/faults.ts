/**
 * The soak's faults, injected one after another while the load runs. Each
 * returns its window: when it started and when the broken part was back.
 *
 * @module
 */

import type { SoakCluster, SoakNode } from "./cluster.ts";
import type { FaultWindow } from "./record.ts";

/** What a fault needs. */
export interface FaultContext {
  /** The cluster. */
  cluster: SoakCluster;
  /** Start of the soak (`performance.now()`). */
  t0: number;
  /** How long the slow consumer reads slowly, ms. */
  slowConsumerMs: number;
  /** Log line writer. */
  log: (line: string) => void;
}

/** A fault. */
export interface Fault {
  /** Short name. */
  name: string;
  /** What it does. */
  description: string;
  /** Injects it and waits until the broken part is back. */
  run(ctx: FaultContext): Promise<FaultWindow>;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function at(ctx: FaultContext): number {
  return Math.round(performance.now() - ctx.t0);
}

function node(ctx: FaultContext, label: string): SoakNode {
  return ctx.cluster.nodes.find((n) => n.label === label)!;
}

/** The NATS server with the most client connections (so the kill is felt). */
async function busiestNats(ctx: FaultContext): Promise<number> {
  let best = 0;
  let most = -1;
  for (const [i, n] of ctx.cluster.nats.nodes.entries()) {
    try {
      const res = await fetch(`${n.monitorUrl}/connz`);
      const body = await res.json() as { num_connections?: number };
      if ((body.num_connections ?? 0) > most) {
        most = body.num_connections ?? 0;
        best = i;
      }
    } catch {
      // Not answering: not the busiest.
    }
  }
  return best;
}

/**
 * Opens a raw NATS connection that subscribes to every event and reads its
 * socket slowly (4 KiB every 250 ms), for `ms`; NATS cuts it off as a slow
 * consumer or it ends on its own.
 */
async function slowReader(url: string, prefix: string, ms: number): Promise<{
  read: number;
}> {
  const { hostname, port } = new URL(url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  const buf = new Uint8Array(4_096);
  let read = 0;
  try {
    await conn.write(
      new TextEncoder().encode(
        `CONNECT {"verbose":false,"pedantic":false,"name":"soak-slow-consumer"}\r\nSUB ${prefix}event.> 1\r\nPING\r\n`,
      ),
    );
    const until = performance.now() + ms;
    while (performance.now() < until) {
      const n = await conn.read(buf);
      if (n === null) break;
      read += n;
      await sleep(250);
    }
  } catch {
    // Cut off by the server.
  } finally {
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  }
  return { read };
}

/** The soak's faults, in schedule order. */
export const FAULTS: readonly Fault[] = [
  {
    name: "nats-kill",
    description:
      "kill -9 the busiest NATS server, restart it 5 s later (end: it is routed again)",
    async run(ctx) {
      const i = await busiestNats(ctx);
      const server = ctx.cluster.nats.nodes[i]!;
      const start = at(ctx);
      await server.kill();
      ctx.log(`nats-kill: killed ${server.name}`);
      await sleep(5_000);
      await server.restart();
      return {
        name: "nats-kill",
        description: this.description,
        affects: ctx.cluster.nodes.map((n) => n.label),
        start,
        end: at(ctx),
      };
    },
  },
  {
    name: "asterisk-restart",
    description: "restart Asterisk A (end: it runs again)",
    async run(ctx) {
      const a = node(ctx, "A");
      const start = at(ctx);
      await a.asterisk.restart();
      return {
        name: "asterisk-restart",
        description: this.description,
        affects: ["A"],
        start,
        end: at(ctx),
      };
    },
  },
  {
    name: "proxy-sigstop",
    description: "SIGSTOP proxy B for 3 s, then SIGCONT",
    async run(ctx) {
      const b = node(ctx, "B");
      const start = at(ctx);
      Deno.kill(b.proxy.pid, "SIGSTOP");
      try {
        await sleep(3_000);
      } finally {
        Deno.kill(b.proxy.pid, "SIGCONT");
      }
      return {
        name: "proxy-sigstop",
        description: this.description,
        affects: ["B"],
        start,
        end: at(ctx),
      };
    },
  },
  {
    name: "proxy-kill",
    description:
      "kill -9 proxy A and start it again (end: the new one announced itself and answers)",
    async run(ctx) {
      const a = node(ctx, "A");
      const start = at(ctx);
      await ctx.cluster.killProxy(a);
      await ctx.cluster.startProxy(a);
      return {
        name: "proxy-kill",
        description: this.description,
        affects: ["A"],
        start,
        end: at(ctx),
      };
    },
  },
  {
    name: "ws-drop",
    description:
      "drop proxy B's ARI events WebSocket (TCP relay closes it), Asterisk keeps running",
    run(ctx) {
      const b = node(ctx, "B");
      const start = at(ctx);
      const dropped = b.relay.dropAll();
      ctx.log(`ws-drop: closed ${dropped} connection(s)`);
      // The fault is the drop itself: recovery (the proxy reconnecting) is
      // measured from here.
      return Promise.resolve({
        name: "ws-drop",
        description: this.description,
        affects: ["B"],
        start,
        end: at(ctx),
      });
    },
  },
  {
    name: "slow-consumer",
    description:
      "a client subscribes to every event and reads its socket slowly (4 KiB per 250 ms); nobody else should notice",
    async run(ctx) {
      const start = at(ctx);
      const url = ctx.cluster.nats.urls[0]!;
      const { read } = await slowReader(url, "ari.", ctx.slowConsumerMs);
      ctx.log(`slow-consumer: read ${read} bytes`);
      return {
        name: "slow-consumer",
        description: this.description,
        affects: [],
        start,
        end: at(ctx),
      };
    },
  },
];
