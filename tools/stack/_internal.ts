/**
 * Internals of the test harness: child processes with a bounded output tail,
 * abortable delays, HTTP and TCP probes. Not part of the harness API.
 *
 * @module
 */

/** Resolves after `ms` milliseconds; rejects with the reason when `signal` aborts. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(id);
      reject(signal?.reason);
    };
    const id = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** A spawned process whose stdout and stderr are drained into one bounded tail. */
export interface ManagedProcess {
  /** Process id. */
  readonly pid: number;
  /** Resolves once the process exited and its output was fully drained. */
  readonly status: Promise<Deno.CommandStatus>;
  /** Whether the process has exited. */
  exited(): boolean;
  /** The last bytes (default 64 KiB) of stdout and stderr, interleaved. */
  output(): string;
  /** Sends a signal unless the process already exited. */
  signal(signal: Deno.Signal): void;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit status. */
  stop(graceMs?: number): Promise<Deno.CommandStatus>;
}

/** Options for {@linkcode spawnProcess}. */
export interface SpawnOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** Start from an empty environment (only `env`). */
  clearEnv?: boolean;
  /** Size of the kept output tail in characters. */
  tailSize?: number;
}

/**
 * Finds an executable: a path containing "/" is checked as is, a bare name is
 * looked up on PATH (plus /usr/sbin and /sbin, where Debian puts
 * nats-server and debootstrap). Returns `undefined` when not found.
 */
export function findExecutable(name: string): string | undefined {
  const candidates = name.includes("/") ? [name] : [
    ...(Deno.env.get("PATH") ?? "").split(":").filter(Boolean),
    "/usr/local/sbin",
    "/usr/sbin",
    "/sbin",
  ].map((dir) => `${dir}/${name}`);
  for (const path of candidates) {
    try {
      const info = Deno.statSync(path);
      if (info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0) return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

let prefix: string[] | undefined;

/**
 * `setpriv --pdeathsig KILL --` when util-linux's setpriv exists: the child
 * then dies with the starting process even when that is killed (no orphaned
 * nats-server or Asterisk after a CI timeout). Then `setsid` when it exists:
 * the child runs in its own session, so a Ctrl-C in the terminal reaches
 * only the starting process, which ends its children in order.
 */
function processPrefix(): string[] {
  if (prefix === undefined) {
    prefix = [];
    if (Deno.build.os === "linux") {
      const setpriv = findExecutable("setpriv");
      if (setpriv) prefix.push(setpriv, "--pdeathsig", "KILL", "--");
      const setsid = findExecutable("setsid");
      if (setsid) prefix.push(setsid);
    }
  }
  return prefix;
}

/**
 * Spawns `command` (an absolute path; see {@linkcode findExecutable}) with
 * stdin closed and stdout/stderr drained in the background (so the child never
 * blocks on a full pipe). On Linux the child gets a parent-death signal and
 * its own session.
 *
 * @throws {Deno.errors.NotFound} When `command` (or setpriv) does not exist.
 */
export function spawnProcess(
  command: string,
  args: string[],
  options?: SpawnOptions,
): ManagedProcess {
  const { cwd, env, clearEnv = false, tailSize = 64 * 1024 } = options ?? {};
  const [program, ...programArgs] = [
    ...processPrefix(),
    command,
    ...args,
  ] as [string, ...string[]];
  const child = new Deno.Command(program, {
    args: programArgs,
    ...(cwd === undefined ? {} : { cwd }),
    ...(env === undefined ? {} : { env }),
    clearEnv,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let tail = "";
  let done = false;
  async function drain(stream: ReadableStream<Uint8Array>): Promise<void> {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      tail += text;
      if (tail.length > tailSize * 2) tail = tail.slice(-tailSize);
    }
  }
  const status = Promise.all([
    child.status,
    drain(child.stdout),
    drain(child.stderr),
  ]).then(
    ([status]) => {
      done = true;
      return status;
    },
  );
  let exitedFlag = false;
  child.status.then(() => exitedFlag = true);
  function signal(sig: Deno.Signal): void {
    if (exitedFlag) return;
    try {
      child.kill(sig);
    } catch {
      // Already exited between the check and the kill.
    }
  }
  return {
    pid: child.pid,
    status,
    exited: () => exitedFlag || done,
    output: () => tail.length > tailSize ? tail.slice(-tailSize) : tail,
    signal,
    async stop(graceMs = 5_000) {
      if (exitedFlag) return await status;
      signal("SIGTERM");
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timedOut = await Promise.race([
        child.status.then(() => false),
        new Promise<boolean>((resolve) =>
          timer = setTimeout(() => resolve(true), graceMs)
        ),
      ]);
      clearTimeout(timer);
      if (timedOut) signal("SIGKILL");
      return await status;
    },
  };
}

/** Returns the last `lines` lines of `text`, indented for an error message. */
export function tailLines(text: string, lines = 40): string {
  // deno-lint-ignore no-control-regex
  const all = text.replace(/\x1b\[[0-9;]*m/g, "").trimEnd().split("\n");
  const kept = all.slice(-lines);
  return kept.map((line) => `  | ${line}`).join("\n") || "  | (no output)";
}

/** Resolves true when a TCP connection to 127.0.0.1:`port` succeeds (then closes it). */
export async function tcpReachable(
  port: number,
  hostname = "127.0.0.1",
): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname, port });
    conn.close();
    return true;
  } catch {
    return false;
  }
}

/** Result of {@linkcode httpGet}. */
export interface HttpResult {
  status: number;
  body: string;
}

/** GET `url` with a timeout (ms); the body is always consumed. */
export async function httpGet(
  url: string,
  options?: { headers?: HeadersInit; timeout?: number; method?: string },
): Promise<HttpResult> {
  const { headers, timeout = 2_000, method = "GET" } = options ?? {};
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new Error(`${method} ${url} timed out`)),
    timeout,
  );
  try {
    const response = await fetch(url, {
      method,
      ...(headers === undefined ? {} : { headers }),
      signal: controller.signal,
    });
    const body = await response.text();
    return { status: response.status, body };
  } finally {
    clearTimeout(timer);
  }
}

/** Whether `path` exists (any kind of file). */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}
