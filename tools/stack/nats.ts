/**
 * Real `nats-server` processes for integration tests: one server or a
 * cluster with routes, each on free loopback ports with its own temp dir.
 *
 * @module
 */

import {
  delay,
  findExecutable,
  httpGet,
  type ManagedProcess,
  spawnProcess,
  tailLines,
  tcpReachable,
} from "./_internal.ts";
import { freePort, waitFor } from "./utils.ts";

/** Options for {@linkcode startNats} and {@linkcode startNatsCluster}. */
export interface StartNatsOptions {
  /**
   * Number of servers. `1` starts a single server; more start a cluster whose
   * servers have routes to each other on loopback.
   *
   * @default {1}
   */
  cluster?: number;
  /**
   * Enable JetStream (store in the server's temp dir).
   *
   * @default {false}
   */
  jetstream?: boolean;
  /** Extra nats-server configuration text appended to every server's config file. */
  config?: string;
  /**
   * The nats-server executable. Also read from env `NATS_SERVER_BIN`.
   *
   * @default {"nats-server"}
   */
  binary?: string;
  /**
   * How long to wait for readiness (listening, and all routes up), in ms.
   *
   * @default {15000}
   */
  timeout?: number;
}

/** One server of a {@linkcode NatsServer} (one member of a cluster). */
export interface NatsNode {
  /** Server name (`n1`, `n2`, …). */
  readonly name: string;
  /** Client URL, `nats://127.0.0.1:<port>`. */
  readonly url: string;
  /** Client port. */
  readonly port: number;
  /** Monitoring endpoint base URL, `http://127.0.0.1:<port>` (`/varz`, `/routez`, …). */
  readonly monitorUrl: string;
  /** Cluster (route) URL, or `undefined` for a single server. */
  readonly clusterUrl: string | undefined;
  /** Process id of the current process (changes on restart). */
  readonly pid: number;
  /** Whether the process is running. */
  readonly running: boolean;
  /** nats-server's own output (tail). */
  output(): string;
  /** Ends the server (SIGTERM, SIGKILL after 5 s) and awaits its exit status. */
  stop(): Promise<void>;
  /** Ends the server with SIGKILL and awaits its exit status. */
  kill(): Promise<void>;
  /** Starts a stopped server again on the same ports; waits for its routes. */
  restart(): Promise<void>;
}

/**
 * A running nats-server (or cluster). Release it with `await using` or
 * {@linkcode NatsServer.close}; the processes are ended by pid and awaited and
 * the temp dir is removed.
 *
 * @example Single server
 * ```ts
 * import assert from "node:assert/strict";
 * import { startNats } from "./nats.ts";
 *
 * await using nats = await startNats();
 * assert.match(nats.url, /^nats:\/\/127\.0\.0\.1:\d+$/);
 * ```
 */
export interface NatsServer extends AsyncDisposable {
  /** Client URL of the first server. */
  readonly url: string;
  /** Client URLs of all servers, in node order. */
  readonly urls: string[];
  /** Client port of the first server. */
  readonly port: number;
  /** Process id of the first server. */
  readonly pid: number;
  /** Monitoring base URL of the first server. */
  readonly monitorUrl: string;
  /** The temp dir holding config files and JetStream stores. */
  readonly dir: string;
  /** All servers, in order. */
  readonly nodes: NatsNode[];
  /** Stops server `index` (0-based), for fault tests. */
  stopNode(index: number): Promise<void>;
  /** Ends all servers and removes the temp dir. Idempotent. */
  close(): Promise<void>;
}

interface NodePlan {
  name: string;
  port: number;
  monitorPort: number;
  clusterPort: number | undefined;
  configPath: string;
}

/**
 * Starts nats-server on free loopback ports, in its own temp dir, and waits
 * until it accepts TCP connections (and, for a cluster, until every server
 * reports routes to all the others on `/routez`).
 *
 * @param options Cluster size, JetStream, extra config, binary, timeout.
 * @returns A handle with URLs, pids and `close()` / `[Symbol.asyncDispose]`.
 * @throws {Error} When nats-server is not installed ("nats-server not found
 * on PATH: install it with `apt-get install -y nats-server`"), or does not
 * become ready (the message includes the server's output).
 *
 * @example Request/reply through a fresh server
 * ```ts
 * import assert from "node:assert/strict";
 * import { connect } from "@nats-io/transport-node";
 * import { startNats } from "./nats.ts";
 *
 * await using nats = await startNats();
 * const nc = await connect({ servers: nats.url });
 * const sub = nc.subscribe("echo", {
 *   callback: (_err, msg) => {
 *     msg.respond(msg.data);
 *   },
 * });
 * const reply = await nc.request("echo", "hi", { timeout: 2000 });
 * assert.equal(reply.string(), "hi");
 * sub.unsubscribe();
 * await nc.close();
 * ```
 */
export async function startNats(
  options?: StartNatsOptions,
): Promise<NatsServer> {
  const {
    cluster = 1,
    jetstream = false,
    config = "",
    binary = Deno.env.get("NATS_SERVER_BIN") ?? "nats-server",
    timeout = 15_000,
  } = options ?? {};
  if (!Number.isInteger(cluster) || cluster < 1 || cluster > 16) {
    throw new RangeError(
      `Invalid option "cluster": ${cluster} (expected an integer 1..16)`,
    );
  }
  const dir = await Deno.makeTempDir({ prefix: "ari-nats-" });
  const nodes: NodeHandle[] = [];
  let closed = false;
  try {
    const clusterName = `c${crypto.randomUUID().slice(0, 8)}`;
    const plans: NodePlan[] = [];
    for (let i = 1; i <= cluster; i++) {
      plans.push({
        name: `n${i}`,
        port: await freePort(),
        monitorPort: await freePort(),
        clusterPort: cluster > 1 ? await freePort() : undefined,
        configPath: `${dir}/n${i}.conf`,
      });
    }
    for (const plan of plans) {
      await Deno.writeTextFile(
        plan.configPath,
        renderConfig(plan, plans, {
          dir,
          clusterName,
          jetstream,
          extra: config,
        }),
      );
    }
    for (const plan of plans) {
      nodes.push(new NodeHandle(plan, binary, () => nodes, timeout));
    }
    for (const node of nodes) node.spawn();
    await Promise.all(nodes.map((node) => node.waitReady()));
  } catch (error) {
    await Promise.all(nodes.map((node) => node.stop()));
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw error;
  }
  const first = nodes[0]!;
  const handle: NatsServer = {
    url: first.url,
    urls: nodes.map((node) => node.url),
    port: first.port,
    get pid() {
      return first.pid;
    },
    monitorUrl: first.monitorUrl,
    dir,
    nodes,
    async stopNode(index: number) {
      const node = nodes[index];
      if (!node) {
        throw new RangeError(
          `Invalid node index: ${index} (have ${nodes.length})`,
        );
      }
      await node.stop();
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all(nodes.map((node) => node.stop()));
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
    [Symbol.asyncDispose]() {
      return handle.close();
    },
  };
  return handle;
}

/**
 * Starts a cluster of `size` nats-servers with routes between them on
 * loopback. Same as `startNats({ ...options, cluster: size })`.
 *
 * @param size Number of servers.
 * @param options See {@linkcode StartNatsOptions}.
 * @returns The cluster; `urls` lists every server, `nodes[i].stop()` ends one.
 * @throws {Error} See {@linkcode startNats}.
 *
 * @example A 3-server cluster
 * ```ts
 * import assert from "node:assert/strict";
 * import { startNatsCluster } from "./nats.ts";
 *
 * await using cluster = await startNatsCluster(3);
 * assert.equal(cluster.urls.length, 3);
 * ```
 */
export function startNatsCluster(
  size = 3,
  options?: Omit<StartNatsOptions, "cluster">,
): Promise<NatsServer> {
  return startNats({ ...options, cluster: size });
}

function renderConfig(
  plan: NodePlan,
  plans: NodePlan[],
  shared: {
    dir: string;
    clusterName: string;
    jetstream: boolean;
    extra: string;
  },
): string {
  const lines = [
    `server_name: ${plan.name}`,
    `listen: "127.0.0.1:${plan.port}"`,
    `http: "127.0.0.1:${plan.monitorPort}"`,
  ];
  if (plan.clusterPort !== undefined) {
    const routes = plans
      .filter((other) => other !== plan)
      .map((other) => `"nats://127.0.0.1:${other.clusterPort}"`);
    lines.push(
      "cluster {",
      `  name: ${shared.clusterName}`,
      `  listen: "127.0.0.1:${plan.clusterPort}"`,
      `  routes: [${routes.join(", ")}]`,
      "}",
    );
  }
  if (shared.jetstream) {
    lines.push(`jetstream { store_dir: "${shared.dir}/${plan.name}-js" }`);
  }
  lines.push(shared.extra, "");
  return lines.join("\n");
}

class NodeHandle implements NatsNode {
  readonly name: string;
  readonly url: string;
  readonly port: number;
  readonly monitorUrl: string;
  readonly clusterUrl: string | undefined;
  #plan: NodePlan;
  #binary: string;
  #all: () => NodeHandle[];
  #timeout: number;
  #proc: ManagedProcess | undefined;

  constructor(
    plan: NodePlan,
    binary: string,
    all: () => NodeHandle[],
    timeout: number,
  ) {
    this.#plan = plan;
    this.#binary = binary;
    this.#all = all;
    this.#timeout = timeout;
    this.name = plan.name;
    this.port = plan.port;
    this.url = `nats://127.0.0.1:${plan.port}`;
    this.monitorUrl = `http://127.0.0.1:${plan.monitorPort}`;
    this.clusterUrl = plan.clusterPort === undefined
      ? undefined
      : `nats://127.0.0.1:${plan.clusterPort}`;
  }

  get pid(): number {
    return this.#proc?.pid ?? -1;
  }

  get running(): boolean {
    return this.#proc !== undefined && !this.#proc.exited();
  }

  output(): string {
    return this.#proc?.output() ?? "";
  }

  spawn(): void {
    const binary = findExecutable(this.#binary);
    if (binary === undefined) {
      throw new Error(
        `nats-server not found on PATH ("${this.#binary}"): install it with \`apt-get install -y nats-server\` ` +
          "(or set NATS_SERVER_BIN to its path)",
      );
    }
    this.#proc = spawnProcess(binary, ["-c", this.#plan.configPath]);
  }

  async waitReady(): Promise<void> {
    const proc = this.#proc!;
    let step = "client port";
    const exited = new AbortController();
    try {
      await waitFor(async () => {
        if (proc.exited()) {
          const status = await proc.status;
          exited.abort(
            new Error(`nats-server exited with code ${status.code}`),
          );
          return false;
        }
        if (step === "client port") {
          if (!(await tcpReachable(this.port))) return false;
          step = "routes";
        }
        const peers = this.#all().filter((node) =>
          node !== this && node.running
        ).length;
        if (peers === 0) return true;
        const { status, body } = await httpGet(`${this.monitorUrl}/routez`);
        if (status !== 200) return false;
        const routez = JSON.parse(body) as { num_routes?: number };
        return (routez.num_routes ?? 0) >= peers;
      }, {
        timeout: this.#timeout,
        interval: 50,
        message: `nats-server ${this.name} (${step})`,
        signal: exited.signal,
      });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new Error(
        `startNats() failed for ${this.name} at step "${step}": ${message}\n` +
          `nats-server output (tail):\n${tailLines(proc.output())}`,
        { cause: error },
      );
    }
  }

  async stop(): Promise<void> {
    await this.#proc?.stop(5_000);
  }

  async kill(): Promise<void> {
    const proc = this.#proc;
    if (!proc) return;
    proc.signal("SIGKILL");
    await proc.status;
  }

  async restart(): Promise<void> {
    await this.stop();
    // The OS may need a moment to release the listening sockets.
    await delay(10);
    this.spawn();
    await this.waitReady();
  }
}
