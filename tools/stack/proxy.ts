/**
 * The proxy as its own process, started exactly as `deno task start` starts
 * it: the command line is the `start` task of the repository's `deno.json`
 * (same flags, same permissions, same V8 flags), and the settings come
 * through the environment.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { connect as connectNatsServer } from "@nats-io/transport-node";
import {
  announceSubject,
  decodeAnnouncement,
  pingSubject,
} from "../../client/protocol/mod.ts";
import { type ManagedProcess, spawnProcess, tailLines } from "./_internal.ts";
import { waitFor } from "./utils.ts";

/** Options for {@linkcode startProxyProcess}. */
export interface StartProxyProcessOptions {
  /** ARI application (`ARI_APPLICATION`). */
  application: string;
  /** ARI base URL (`ARI_HTTP_URL`). */
  httpUrl: string;
  /** ARI events WebSocket URL (`ARI_WEBSOCKET_URL`). */
  websocketUrl: string;
  /** ARI user (`ARI_USERNAME`). */
  username: string;
  /** ARI password (`ARI_PASSWORD`). */
  password: string;
  /** NATS URL (`MESSAGEBUS_URL`). */
  natsUrl: string;
  /**
   * The node (Asterisk entity id) whose announcement means "ready"; without
   * it any announcement for `application` does.
   */
  node?: string;
  /** More environment variables (e.g. `ARI_PROXY_PREFIX`). */
  env?: Record<string, string>;
  /**
   * How long to wait for the proxy's first announcement, in ms.
   *
   * @default {60000}
   */
  timeout?: number;
  /** Aborts the wait for readiness (the process is then ended). */
  signal?: AbortSignal;
}

/**
 * A proxy process. Release it with `await using` or
 * {@linkcode ProxyProcess.close}.
 */
export interface ProxyProcess extends AsyncDisposable {
  /** Process id. */
  readonly pid: number;
  /** The command line that started it (`deno run … main.ts`). */
  readonly command: string[];
  /** Whether the process has exited. */
  exited(): boolean;
  /** Resolves with the exit status once the process exited. */
  readonly status: Promise<Deno.CommandStatus>;
  /** The proxy's log (tail). */
  output(): string;
  /** SIGTERM (the proxy drains and exits 0), SIGKILL after 10 s. Idempotent. */
  close(): Promise<void>;
}

/** Variables passed on to the proxy from this process's environment. */
const PASSED_ENV = [
  "PATH",
  "HOME",
  "DENO_DIR",
  "DENO_CERT",
  "TMPDIR",
  "XDG_CACHE_HOME",
  "NO_COLOR",
];

/**
 * The command line of `deno task start`, from `deno.json`, with `deno`
 * replaced by the running Deno executable.
 *
 * @returns The program and its arguments, and the directory to run them in.
 * @throws {Error} When `deno.json` has no `start` task of the form `deno run …`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { startTaskCommand } from "./proxy.ts";
 *
 * const { args } = await startTaskCommand();
 * assert.equal(args[0], "run");
 * assert.equal(args.at(-1), "main.ts");
 * ```
 */
export async function startTaskCommand(): Promise<
  { program: string; args: string[]; cwd: string }
> {
  const root = new URL("../../", import.meta.url);
  const config = JSON.parse(
    await Deno.readTextFile(new URL("deno.json", root)),
  ) as { tasks?: Record<string, string | { command?: string }> };
  const task = config.tasks?.start;
  const line = typeof task === "string" ? task : task?.command;
  const words = line?.trim().split(/\s+/) ?? [];
  if (words[0] !== "deno" || words[1] !== "run" || /[|&;<>$`'"]/.test(line!)) {
    throw new Error(
      `Cannot start the proxy as "deno task start" does: expected deno.json's start task to be a plain "deno run …" command, found ${
        JSON.stringify(line)
      }`,
    );
  }
  return {
    program: Deno.execPath(),
    args: words.slice(1),
    cwd: fileURLToPath(root),
  };
}

/**
 * Starts the proxy as `deno task start` would and waits until it announces
 * itself on NATS (it answers the discovery ping once it serves ARI).
 *
 * @param options ARI and NATS settings (passed as environment variables).
 * @returns The running proxy.
 * @throws {Error} When the proxy exits or does not announce itself in time;
 * the message ends with the proxy's log.
 *
 * @example
 * ```ts ignore
 * import { startAsterisk, startNats, startProxyProcess } from "./mod.ts";
 *
 * await using nats = await startNats();
 * await using ast = await startAsterisk({ app: "demo" });
 * await using proxy = await startProxyProcess({
 *   application: "demo",
 *   httpUrl: ast.httpUrl,
 *   websocketUrl: ast.wsUrl,
 *   username: ast.username,
 *   password: ast.password,
 *   natsUrl: nats.url,
 *   node: ast.entityId,
 * });
 * console.log(proxy.pid);
 * ```
 */
export async function startProxyProcess(
  options: StartProxyProcessOptions,
): Promise<ProxyProcess> {
  const { timeout = 60_000, signal } = options;
  const { program, args, cwd } = await startTaskCommand();
  const env: Record<string, string> = {};
  for (const name of PASSED_ENV) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  Object.assign(env, {
    ARI_APPLICATION: options.application,
    ARI_USERNAME: options.username,
    ARI_PASSWORD: options.password,
    ARI_HTTP_URL: options.httpUrl,
    ARI_WEBSOCKET_URL: options.websocketUrl,
    MESSAGEBUS_URL: options.natsUrl,
    LOG_FORMAT: "text",
    ...options.env,
  });
  const prefix = env.ARI_PROXY_PREFIX
    ? env.ARI_PROXY_PREFIX.replace(/\.?$/, ".")
    : "ari.";
  // Listen for the announcement before the proxy can send it.
  const nc = await connectNatsServer({ servers: options.natsUrl });
  let announced = false;
  const sub = nc.subscribe(announceSubject(prefix), {
    callback: (_error, msg) => {
      const a = decodeAnnouncement(msg.data);
      if (
        a?.application === options.application &&
        (options.node === undefined ||
          a.node.toLowerCase() === options.node.toLowerCase())
      ) announced = true;
    },
  });
  let proc: ManagedProcess | undefined;
  try {
    await nc.flush();
    proc = spawnProcess(program, args, { cwd, env, clearEnv: true });
    const running = proc;
    await waitFor(() => {
      if (running.exited()) {
        throw new ExitedError();
      }
      if (!announced) nc.publish(pingSubject(prefix), '{"kind":"","key":null}');
      return announced;
    }, {
      timeout,
      interval: 250,
      message: "the proxy to announce itself",
      ...(signal ? { signal } : {}),
    }).catch(async (error) => {
      const status = running.exited() ? await running.status : undefined;
      throw new Error(
        `The proxy did not start (${
          status
            ? `exited with code ${status.code}`
            : error instanceof Error
            ? error.message
            : String(error)
        }); its log (tail):\n${tailLines(running.output())}`,
        { cause: error },
      );
    });
  } catch (error) {
    await proc?.stop(10_000);
    throw error;
  } finally {
    sub.unsubscribe();
    await nc.close();
  }
  return new LocalProxy(proc, [program, ...args]);
}

class ExitedError extends Error {
  constructor() {
    super("The proxy exited");
    this.name = "ExitedError";
  }
}

class LocalProxy implements ProxyProcess {
  readonly command: string[];
  #proc: ManagedProcess;
  #closing: Promise<void> | undefined;

  constructor(proc: ManagedProcess, command: string[]) {
    this.#proc = proc;
    this.command = command;
  }

  get pid(): number {
    return this.#proc.pid;
  }

  get status(): Promise<Deno.CommandStatus> {
    return this.#proc.status;
  }

  exited(): boolean {
    return this.#proc.exited();
  }

  output(): string {
    return this.#proc.output();
  }

  close(): Promise<void> {
    this.#closing ??= this.#proc.stop(10_000).then(() => {});
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
