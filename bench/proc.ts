/**
 * Child processes of the benchmark runner and their resource usage: the
 * proxy (`main.ts`), the fake ARI, and a bare Deno process holding one NATS
 * connection (the RSS baseline). Resource figures come from `/proc`:
 * `VmRSS` of `/proc/<pid>/status` and `utime + stime` of `/proc/<pid>/stat`.
 *
 * Every child is ended by its own pid (SIGTERM, then SIGKILL after a grace
 * period) and its exit status is awaited.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import denoConfig from "../deno.json" with { type: "json" };

/** The repository root (the folder holding `deno.json` and `main.ts`). */
export const REPO_ROOT: string = fileURLToPath(new URL("../", import.meta.url))
  .replace(/\/$/, "");

/** Clock ticks per second of `/proc/<pid>/stat` (`getconf CLK_TCK`). */
const CLOCK_TICKS = 100;

/** One reading of a process's resources. */
export interface ProcSample {
  /** Resident set size, bytes. */
  rssBytes: number;
  /** User plus system CPU time so far, ms. */
  cpuMs: number;
  /** When the sample was taken (`performance.now()`), ms. */
  at: number;
}

/**
 * Parses `/proc/<pid>/status` and `/proc/<pid>/stat` text into a sample.
 *
 * @param status Text of `/proc/<pid>/status`.
 * @param stat Text of `/proc/<pid>/stat`.
 * @returns The sample (`at` is now).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseProcSample } from "./proc.ts";
 *
 * const stat = "42 (deno) S 1 42 42 0 -1 4194560 1 0 0 0 250 50 0 0 20 0 1 0";
 * const s = parseProcSample("VmRSS:\t  2048 kB\n", stat);
 * assert.equal(s.rssBytes, 2048 * 1024);
 * assert.equal(s.cpuMs, 3000);
 * ```
 */
export function parseProcSample(status: string, stat: string): ProcSample {
  const rss = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  // Fields after the parenthesised command name (which may contain spaces):
  // rest[0] is field 3 (state); utime is field 14, stime field 15.
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return {
    rssBytes: rss ? Number(rss[1]) * 1024 : NaN,
    cpuMs: ((utime + stime) * 1000) / CLOCK_TICKS,
    at: performance.now(),
  };
}

/**
 * Reads a process's RSS and CPU time from `/proc`. Deno only lets a process
 * with all permissions read `/proc/<pid>/…` itself, so this runs `cat`.
 *
 * @param pid The process id.
 * @returns The sample.
 * @throws {Error} When the process does not exist (any more).
 *
 * @example
 * ```ts ignore
 * import { readProcSample } from "./proc.ts";
 * console.log((await readProcSample(Deno.pid)).rssBytes);
 * ```
 */
export async function readProcSample(pid: number): Promise<ProcSample> {
  const out = await new Deno.Command("cat", {
    args: [`/proc/${pid}/status`, `/proc/${pid}/stat`],
    stdout: "piped",
    stderr: "null",
  }).output();
  if (!out.success) throw new Error(`Process ${pid} does not exist`);
  const text = new TextDecoder().decode(out.stdout);
  const at = text.lastIndexOf(`\n${pid} (`);
  return parseProcSample(text.slice(0, at + 1), text.slice(at + 1));
}

/**
 * Samples a process's RSS at a fixed interval and keeps the peak, until
 * stopped.
 *
 * @example
 * ```ts ignore
 * import { RssSampler } from "./proc.ts";
 * const sampler = new RssSampler(Deno.pid, 100);
 * // … load …
 * console.log((await sampler.stop()).peakBytes);
 * ```
 */
export class RssSampler {
  #pid: number;
  #timer: ReturnType<typeof setInterval>;
  #peak = 0;
  #last = 0;
  #samples = 0;
  #busy: Promise<void> | undefined;

  /**
   * Starts sampling.
   *
   * @param pid The process to sample.
   * @param intervalMs The sampling interval in ms.
   */
  constructor(pid: number, intervalMs = 100) {
    this.#pid = pid;
    this.#tick();
    this.#timer = setInterval(() => this.#tick(), intervalMs);
  }

  #tick(): void {
    if (this.#busy) return;
    this.#busy = this.#sample().finally(() => this.#busy = undefined);
  }

  async #sample(): Promise<void> {
    try {
      const { rssBytes } = await readProcSample(this.#pid);
      this.#last = rssBytes;
      this.#samples++;
      if (rssBytes > this.#peak) this.#peak = rssBytes;
    } catch {
      // The process ended; keep what was seen.
    }
  }

  /** Stops sampling and returns the peak and last RSS seen, bytes. */
  async stop(): Promise<
    { peakBytes: number; lastBytes: number; samples: number }
  > {
    clearInterval(this.#timer);
    await this.#busy;
    await this.#sample();
    return {
      peakBytes: this.#peak,
      lastBytes: this.#last,
      samples: this.#samples,
    };
  }
}

/** Options for {@linkcode spawnChild}. */
export interface SpawnChildOptions {
  /** Environment added to the runner's own. */
  env?: Record<string, string>;
  /**
   * Working directory.
   *
   * @default {REPO_ROOT}
   */
  cwd?: string;
  /** Called with every complete stdout line. */
  onLine?: (line: string) => void;
}

/** A running child process. */
export interface Child extends AsyncDisposable {
  /** Its process id. */
  readonly pid: number;
  /** A short name for messages. */
  readonly name: string;
  /** Whether it has exited. */
  exited(): boolean;
  /** Its exit status. */
  readonly status: Promise<Deno.CommandStatus>;
  /** The tail of its combined stdout/stderr. */
  output(): string;
  /** Ends it (SIGTERM, then SIGKILL after `graceMs`) and awaits its exit. */
  stop(graceMs?: number): Promise<void>;
}

const OUTPUT_TAIL = 32_768;

/**
 * Spawns a child process with piped output (kept as a tail for error
 * messages) and stdin closed.
 *
 * @param name A short name for messages.
 * @param command The executable.
 * @param args Its arguments.
 * @param options Environment, working directory, stdout line callback.
 * @returns The running child.
 *
 * @example
 * ```ts ignore
 * import { spawnChild } from "./proc.ts";
 * await using child = spawnChild("sleep", "sleep", ["10"]);
 * await child.stop();
 * ```
 */
export function spawnChild(
  name: string,
  command: string,
  args: string[],
  options?: SpawnChildOptions,
): Child {
  const { env = {}, cwd = REPO_ROOT, onLine } = options ?? {};
  const proc = new Deno.Command(command, {
    args,
    env,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let tail = "";
  let done = false;
  const append = (text: string) => {
    tail += text;
    if (tail.length > OUTPUT_TAIL * 2) tail = tail.slice(-OUTPUT_TAIL);
  };
  const pump = async (
    stream: ReadableStream<Uint8Array>,
    lines?: (line: string) => void,
  ) => {
    let pending = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      append(chunk);
      if (lines) {
        pending += chunk;
        let nl: number;
        while ((nl = pending.indexOf("\n")) >= 0) {
          lines(pending.slice(0, nl));
          pending = pending.slice(nl + 1);
        }
      }
    }
  };
  const pumps = Promise.all([
    pump(proc.stdout, onLine),
    pump(proc.stderr),
  ]).catch(() => {});
  const status = proc.status.then(async (s) => {
    done = true;
    await pumps;
    return s;
  });
  const child: Child = {
    pid: proc.pid,
    name,
    exited: () => done,
    status,
    output: () => tail.slice(-OUTPUT_TAIL),
    async stop(graceMs = 5_000) {
      if (!done) {
        try {
          proc.kill("SIGTERM");
        } catch {
          // Already gone.
        }
        let timer: ReturnType<typeof setTimeout> | undefined;
        const killed = new Promise<void>((resolve) => {
          timer = setTimeout(() => {
            try {
              if (!done) proc.kill("SIGKILL");
            } catch {
              // Already gone.
            }
            resolve();
          }, graceMs);
        });
        await Promise.race([status, killed]);
        clearTimeout(timer);
      }
      await status;
    },
    [Symbol.asyncDispose]() {
      return child.stop();
    },
  };
  return child;
}

/**
 * Spawns `deno` (the running executable) with `args` in the repository root.
 *
 * @param name A short name for messages.
 * @param args Arguments after `deno`.
 * @param options Environment and stdout line callback.
 * @returns The running child.
 *
 * @example
 * ```ts ignore
 * import { spawnDeno } from "./proc.ts";
 * await using child = spawnDeno("version", ["--version"]);
 * await child.status;
 * ```
 */
export function spawnDeno(
  name: string,
  args: string[],
  options?: SpawnChildOptions,
): Child {
  return spawnChild(name, Deno.execPath(), args, {
    ...options,
    env: { NO_COLOR: "1", ...options?.env },
  });
}

/** Where the proxy's ARI and NATS are. */
export interface ProxyChildOptions {
  /** ARI application. */
  app: string;
  /** ARI user. */
  username: string;
  /** ARI password. */
  password: string;
  /** ARI base URL, `http://…/ari`. */
  httpUrl: string;
  /** ARI events WebSocket URL, `ws://…/ari/events`. */
  wsUrl: string;
  /** NATS URL(s), comma-separated. */
  natsUrl: string;
  /** Extra `deno run` flags, e.g. `--cpu-prof`. */
  denoFlags?: string[];
  /** Extra environment settings, e.g. `EVENTS_STREAM`. */
  env?: Record<string, string>;
}

/** `deno run` flags of the proxy when `deno.json` has no usable `start` task. */
const FALLBACK_PROXY_FLAGS = [
  "--frozen",
  "--allow-net",
  "--allow-env",
  "--allow-read",
  "--allow-sys=hostname,osRelease,networkInterfaces",
  "--v8-flags=--max-semi-space-size=4",
];

/**
 * The `deno run` flags of `deno task start` (so the benchmark runs the proxy
 * with exactly the permissions it ships with).
 *
 * @param startTask The `start` task's command line.
 * @returns The flags between `deno run` and `main.ts`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { proxyRunFlags } from "./proc.ts";
 *
 * assert.deepEqual(
 *   proxyRunFlags("deno run --frozen --allow-net main.ts"),
 *   ["--frozen", "--allow-net"],
 * );
 * ```
 */
export function proxyRunFlags(startTask: string | undefined): string[] {
  const words = (startTask ?? "").trim().split(/\s+/);
  if (
    words.length < 3 || words[0] !== "deno" || words[1] !== "run" ||
    words.at(-1) !== "main.ts" ||
    words.slice(2, -1).some((w) => !w.startsWith("-"))
  ) {
    return [...FALLBACK_PROXY_FLAGS];
  }
  return words.slice(2, -1);
}

/**
 * Starts the proxy as a child process — `deno run <flags of deno task
 * start> main.ts` — with its configuration in the environment (`ARI_*`,
 * `MESSAGEBUS_URL`).
 *
 * @param options ARI, NATS and extra Deno flags.
 * @returns The running proxy process (not yet necessarily ready).
 *
 * @example
 * ```ts ignore
 * import { spawnProxy } from "./proc.ts";
 * await using proxy = spawnProxy({ app: "bench", username: "proxy", password: "secret",
 *   httpUrl: "http://127.0.0.1:8088/ari", wsUrl: "ws://127.0.0.1:8088/ari/events",
 *   natsUrl: "nats://127.0.0.1:4222" });
 * ```
 */
export function spawnProxy(options: ProxyChildOptions): Child {
  return spawnDeno("proxy", [
    "run",
    ...proxyRunFlags(denoConfig.tasks.start),
    ...(options.denoFlags ?? []),
    "main.ts",
  ], {
    env: {
      ARI_APPLICATION: options.app,
      ARI_USERNAME: options.username,
      ARI_PASSWORD: options.password,
      ARI_HTTP_URL: options.httpUrl,
      ARI_WEBSOCKET_URL: options.wsUrl,
      MESSAGEBUS_URL: options.natsUrl,
      ...options.env,
    },
  });
}

/**
 * Starts the RSS baseline: a bare Deno process that holds one NATS
 * connection and answers requests on `bench.echo` (also the "one NATS round
 * trip" reference). Resolves once it is connected.
 *
 * @param natsUrl The NATS server.
 * @param timeoutMs How long to wait for it to connect.
 * @returns The running process.
 * @throws {Error} When it does not report ready in time.
 *
 * @example
 * ```ts ignore
 * import { startBareNats } from "./proc.ts";
 * await using bare = await startBareNats("nats://127.0.0.1:4222");
 * ```
 */
export async function startBareNats(
  natsUrl: string,
  timeoutMs = 20_000,
): Promise<Child> {
  const ready = Promise.withResolvers<void>();
  const child = spawnDeno(
    "bare-nats",
    ["run", "--frozen", "-P=bench", "bench/_bare_nats.ts", natsUrl],
    { onLine: (line) => line.trim() === "ready" && ready.resolve() },
  );
  await waitForSignal(child, ready.promise, timeoutMs);
  return child;
}

/**
 * Waits for `ready`, failing early with the child's output when it exits or
 * when `timeoutMs` passes.
 *
 * @param child The child process.
 * @param ready Resolves when the child is ready.
 * @param timeoutMs Deadline in ms.
 * @returns When ready.
 * @throws {Error} On exit or timeout (the child is stopped first).
 *
 * @example
 * ```ts ignore
 * await waitForSignal(child, readyPromise, 10_000);
 * ```
 */
export async function waitForSignal(
  child: Child,
  ready: Promise<unknown>,
  timeoutMs: number,
): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const failed = new Promise<string>((resolve) => {
    timer = setTimeout(
      () => resolve(`not ready after ${timeoutMs} ms`),
      timeoutMs,
    );
    child.status.then((s) => resolve(`exited with code ${s.code}`));
  });
  const outcome = await Promise.race([ready.then(() => undefined), failed]);
  clearTimeout(timer);
  if (outcome !== undefined) {
    await child.stop();
    throw new Error(
      `${child.name} ${outcome}; output (tail):\n${
        child.output().slice(-4000)
      }`,
    );
  }
}

/**
 * Sleeps for `ms` milliseconds.
 *
 * @param ms Duration in ms.
 * @returns When the time has passed.
 *
 * @example
 * ```ts ignore
 * await sleep(10);
 * ```
 */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
