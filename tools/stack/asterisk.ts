/**
 * Real Asterisk 22 instances for integration tests, started from the Debian
 * sid root that `scripts/provision-asterisk.sh` builds — without chroot: the
 * root's own dynamic loader runs its `asterisk` binary with a per-instance
 * `asterisk.conf` whose directories point into the root (modules, sounds) and
 * into a per-instance temp dir (etc, run, spool, db, log). Several instances
 * can run at once, each with its own port and entity id.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { renderAsteriskConf } from "./_asterisk_conf.ts";
import {
  exists,
  httpGet,
  type ManagedProcess,
  spawnProcess,
  tailLines,
} from "./_internal.ts";
import { freePort, waitFor } from "./utils.ts";

/** Default location of the Asterisk root (override with env `ARI_PROXY_ASTERISK_ROOT`). */
export const DEFAULT_ASTERISK_ROOT = "/var/cache/ari-proxy/asterisk-root";

/** Stasis application of the readiness WebSocket (never used by tests). */
const READINESS_APP = "harness-readiness";

/** File that `scripts/provision-asterisk.sh` writes into a finished root. */
const ROOT_MARKER = ".ari-proxy-root";

/** Options for {@linkcode startAsterisk}. */
export interface StartAsteriskOptions {
  /**
   * Entity id (`[options] entityid`), the node id the proxy reports.
   *
   * @default {a random locally administered MAC, "02:xx:xx:xx:xx:xx"}
   */
  entityId?: string;
  /**
   * Stasis application of extension `200` (`Stasis(<app>)`); the default
   * application of tests using this instance.
   *
   * @default {"test"}
   */
  app?: string;
  /**
   * ARI user.
   *
   * @default {"proxy"}
   */
  username?: string;
  /**
   * ARI password.
   *
   * @default {"secret"}
   */
  password?: string;
  /**
   * HTTP port on 127.0.0.1.
   *
   * @default {a free port}
   */
  port?: number;
  /**
   * Asterisk `systemname`.
   *
   * @default {"ari-test"}
   */
  systemName?: string;
  /** Extra modules to load (besides the built-in list), e.g. `["res_pjsip.so"]`. */
  modules?: string[];
  /** Extra dialplan lines appended to context `[default]`. */
  dialplan?: string;
  /**
   * How long to wait for readiness (HTTP answers, events WebSocket opens), in ms.
   *
   * @default {30000}
   */
  timeout?: number;
  /**
   * The sid root.
   *
   * @default {env ARI_PROXY_ASTERISK_ROOT, else "/var/cache/ari-proxy/asterisk-root"}
   */
  root?: string;
  /**
   * Whether env `ARI_TEST_URL` may replace the local instance by an existing
   * Asterisk. Set `false` for tests that need their own processes.
   *
   * @default {true}
   */
  allowExternal?: boolean;
  /**
   * Receives progress lines while a missing root is being provisioned (the
   * provisioning script's own lines, as they come). Without it the script's
   * output is collected and shown only when provisioning fails.
   */
  onProgress?: (line: string) => void;
}

/** Options for {@linkcode AsteriskInstance.restart}. */
export interface RestartAsteriskOptions {
  /** A new entity id for the restarted instance (default: keep the current one). */
  entityId?: string;
}

/**
 * A running Asterisk with ARI. Release it with `await using` or
 * {@linkcode AsteriskInstance.close}.
 *
 * @example Ask ARI who it is
 * ```ts ignore
 * import { startAsterisk } from "./asterisk.ts";
 *
 * await using ast = await startAsterisk({ app: "demo" });
 * const res = await fetch(`${ast.httpUrl}/asterisk/info`, {
 *   headers: { authorization: ast.authorization },
 * });
 * console.log((await res.json()).system.entity_id === ast.entityId);
 * ```
 */
export interface AsteriskInstance extends AsyncDisposable {
  /** ARI base URL, e.g. `http://127.0.0.1:PORT/ari`. */
  readonly httpUrl: string;
  /** Events WebSocket URL without query, e.g. `ws://127.0.0.1:PORT/ari/events`; add `?app=<app>`. */
  readonly wsUrl: string;
  /** ARI user. */
  readonly username: string;
  /** ARI password. */
  readonly password: string;
  /** `Basic …` value for an `authorization` header. */
  readonly authorization: string;
  /** Current entity id (changes when restarted with a new one). */
  readonly entityId: string;
  /** Stasis application the instance was made ready with. */
  readonly app: string;
  /** HTTP port. */
  readonly port: number;
  /** Process id, or `undefined` for an external Asterisk or a stopped one. */
  readonly pid: number | undefined;
  /** The per-instance temp dir (etc, run, spool, varlib, log), or `undefined` when external. */
  readonly dir: string | undefined;
  /** Whether this handle points at an existing Asterisk from `ARI_TEST_URL`. */
  readonly external: boolean;
  /** Whether the process is running (always `true` when external). */
  readonly running: boolean;
  /** Asterisk's own output (tail). */
  output(): string;
  /**
   * Starts Asterisk again on the same port and with the same entity id
   * (unless `options.entityId` changes it); ends it first if running.
   */
  restart(options?: RestartAsteriskOptions): Promise<void>;
  /** Ends Asterisk (SIGTERM, SIGKILL after 5 s) and awaits its exit; `restart()` can follow. */
  stop(): Promise<void>;
  /** Ends Asterisk with SIGKILL (a crash) and awaits its exit; `restart()` can follow. */
  kill(): Promise<void>;
  /** Ends Asterisk and removes its temp dir. Idempotent; a no-op when external. */
  close(): Promise<void>;
}

/**
 * Returns the Asterisk root path: env `ARI_PROXY_ASTERISK_ROOT`, else
 * {@linkcode DEFAULT_ASTERISK_ROOT}.
 *
 * @returns An absolute path (it may not exist yet).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { asteriskRoot } from "./asterisk.ts";
 *
 * assert.ok(asteriskRoot().startsWith("/"));
 * ```
 */
export function asteriskRoot(): string {
  return Deno.env.get("ARI_PROXY_ASTERISK_ROOT") || DEFAULT_ASTERISK_ROOT;
}

/**
 * Returns a random locally administered unicast MAC (`02:xx:xx:xx:xx:xx`),
 * the form Asterisk uses for entity ids.
 *
 * @returns A lowercase MAC address string.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { randomEntityId } from "./asterisk.ts";
 *
 * assert.match(randomEntityId(), /^02(:[0-9a-f]{2}){5}$/);
 * ```
 */
export function randomEntityId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(5));
  return ["02", ...Array.from(bytes, (b) => b.toString(16).padStart(2, "0"))]
    .join(":");
}

/**
 * Starts a real Asterisk with ARI on a free loopback port and waits until it
 * is ready: `GET /ari/asterisk/info` answers 200 (with the configured entity
 * id) and an events WebSocket opens (for a dedicated readiness application,
 * then closed).
 *
 * The dialplan (context `default`) has `100` (answer, wait 30 s), `200`
 * (`Stasis(<app>)`), `echo` and `tone` (440 Hz for 20 s); music on hold
 * class `default` plays `tt-monkeys`. Originate
 * `Local/100@default` with `app=<app>` to get a channel into Stasis without
 * any SIP peer. `<spool>/recording` exists, so ARI recordings work.
 *
 * If env `ARI_TEST_URL` is set (and `allowExternal` is not `false`), no
 * process is started: the handle points at that Asterisk (credentials from
 * `ARI_TEST_USERNAME`/`ARI_TEST_PASSWORD`, default `proxy`/`secret`, app from
 * `ARI_TEST_APP`, default `options.app`); `close()` is then a no-op and
 * `restart()`/`stop()`/`kill()` throw.
 *
 * If the root (see {@linkcode asteriskRoot}) is missing or unfinished, this
 * runs `scripts/provision-asterisk.sh` once (about 70 s; needs root and
 * debootstrap) and reports exactly what is missing when that is not possible.
 *
 * @param options Entity id, app, credentials, port, extra modules/dialplan, timeout.
 * @returns A handle with URLs, credentials and lifecycle methods.
 * @throws {Error} When the root is missing and cannot be provisioned, or when
 * a startup step fails; the message names the step ("spawn", "http",
 * "entity id", "websocket") and ends with Asterisk's own output.
 * @throws {RangeError} For an invalid `entityId`, `port` or `timeout`.
 *
 * @example Two instances with their own entity ids
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { startAsterisk } from "./asterisk.ts";
 *
 * await using a = await startAsterisk({ entityId: "02:00:00:00:00:01" });
 * await using b = await startAsterisk({ entityId: "02:00:00:00:00:02" });
 * assert.notEqual(a.httpUrl, b.httpUrl);
 * ```
 */
export async function startAsterisk(
  options?: StartAsteriskOptions,
): Promise<AsteriskInstance> {
  const {
    app = "test",
    username = "proxy",
    password = "secret",
    allowExternal = true,
  } = options ?? {};
  const externalUrl = Deno.env.get("ARI_TEST_URL");
  if (allowExternal && externalUrl) {
    return await externalAsterisk(externalUrl, {
      username: Deno.env.get("ARI_TEST_USERNAME") || username,
      password: Deno.env.get("ARI_TEST_PASSWORD") || password,
      app: Deno.env.get("ARI_TEST_APP") || app,
    });
  }
  const {
    entityId = randomEntityId(),
    port,
    systemName = "ari-test",
    modules = [],
    dialplan = "",
    timeout = 30_000,
    root = asteriskRoot(),
    onProgress,
  } = options ?? {};
  validateEntityId(entityId);
  if (
    port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)
  ) {
    throw new RangeError(`Invalid option "port": ${port}`);
  }
  if (!(timeout > 0)) {
    throw new RangeError(`Invalid option "timeout": ${timeout}`);
  }
  if (!/^[A-Za-z0-9_.-]+$/.test(app)) {
    throw new RangeError(`Invalid option "app": "${app}"`);
  }
  await ensureRoot(root, onProgress);
  const { loader, triple } = rootLayout(root);
  const dir = await Deno.makeTempDir({ prefix: "ari-asterisk-" });
  const instance = new LocalAsterisk({
    root,
    loader,
    triple,
    dir,
    entityId,
    systemName,
    username,
    password,
    app,
    modules,
    dialplan,
    timeout,
  });
  try {
    for (
      const sub of [
        "etc",
        "run",
        "spool/recording",
        "varlib",
        "log",
        "cache",
        "moh",
      ]
    ) {
      await Deno.mkdir(`${dir}/${sub}`, { recursive: true });
    }
    await Deno.symlink(
      `${root}/usr/share/asterisk/sounds/en_US_f_Allison/tt-monkeys.gsm`,
      `${dir}/moh/tt-monkeys.gsm`,
    );
    for (let attempt = 1;; attempt++) {
      const chosen = port ?? await freePort();
      try {
        await instance.boot(chosen);
        return instance;
      } catch (error) {
        // Another process took the free port between our probe and Asterisk's bind.
        if (
          !(error instanceof BindError) || port !== undefined || attempt >= 3
        ) throw error;
      }
    }
  } catch (error) {
    await instance.close();
    throw error;
  }
}

function validateEntityId(entityId: string): void {
  if (!/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(entityId)) {
    throw new RangeError(
      `Invalid option "entityId": "${entityId}" (expected a MAC like 02:00:00:00:00:01)`,
    );
  }
}

function rootLayout(root: string): { loader: string; triple: string } {
  switch (Deno.build.arch) {
    case "x86_64":
      return {
        loader: `${root}/lib64/ld-linux-x86-64.so.2`,
        triple: "x86_64-linux-gnu",
      };
    case "aarch64":
      return {
        loader: `${root}/lib/ld-linux-aarch64.so.1`,
        triple: "aarch64-linux-gnu",
      };
  }
}

const provisioning = new Map<string, Promise<void>>();

function provisionScript(): string {
  return fileURLToPath(
    new URL("../../scripts/provision-asterisk.sh", import.meta.url),
  );
}

async function ensureRoot(
  root: string,
  onProgress: ((line: string) => void) | undefined,
): Promise<void> {
  if (Deno.build.os !== "linux") {
    throw new Error(
      `Cannot start Asterisk on "${Deno.build.os}": the harness runs the Debian root's binaries (Linux only); ` +
        "set ARI_TEST_URL to use an existing Asterisk",
    );
  }
  const { loader } = rootLayout(root);
  if (await exists(`${root}/${ROOT_MARKER}`) && await exists(loader)) return;
  let pending = provisioning.get(root);
  if (!pending) {
    pending = provision(root, onProgress);
    provisioning.set(root, pending);
    pending.catch(() => provisioning.delete(root));
  }
  await pending;
}

async function provision(
  root: string,
  onProgress: ((line: string) => void) | undefined,
): Promise<void> {
  const script = provisionScript();
  const howTo =
    `build it with \`sudo ${script}\` (about 70 s; needs debootstrap, ` +
    "`apt-get install -y debootstrap`), or set ARI_PROXY_ASTERISK_ROOT to an existing root, " +
    "or set ARI_TEST_URL to use a running Asterisk";
  if (Deno.uid() !== 0) {
    throw new Error(
      `Asterisk root missing or unfinished at "${root}": ${howTo}`,
    );
  }
  const report = onProgress ?? ((line: string) => {
    // deno-lint-ignore no-console
    console.error(line);
  });
  report(
    `Asterisk root missing at ${root}; running ${script} (about 70 s)`,
  );
  const child = new Deno.Command("bash", {
    args: [script],
    env: { ARI_PROXY_ASTERISK_ROOT: root },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  async function pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    let pending = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      pending += chunk;
      const parts = pending.split("\n");
      pending = parts.pop() ?? "";
      for (const line of parts) {
        lines.push(line);
        if (onProgress) onProgress(line);
      }
    }
    if (pending) {
      lines.push(pending);
      if (onProgress) onProgress(pending);
    }
  }
  const [{ code }] = await Promise.all([
    child.status,
    pump(child.stdout),
    pump(child.stderr),
  ]);
  if (code !== 0 || !await exists(`${root}/${ROOT_MARKER}`)) {
    throw new Error(
      `Asterisk root missing at "${root}" and provisioning failed (exit code ${code}): ${howTo}\n` +
        `provision-asterisk.sh output (tail):\n${tailLines(lines.join("\n"))}`,
    );
  }
}

/** The startup failed because the HTTP port was taken (retriable with another port). */
class BindError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "BindError";
  }
}

interface LocalSettings {
  root: string;
  loader: string;
  triple: string;
  dir: string;
  entityId: string;
  systemName: string;
  username: string;
  password: string;
  app: string;
  modules: string[];
  dialplan: string;
  timeout: number;
}

class LocalAsterisk implements AsteriskInstance {
  readonly username: string;
  readonly password: string;
  readonly authorization: string;
  readonly app: string;
  readonly dir: string;
  readonly external = false;
  #settings: LocalSettings;
  #port = 0;
  #proc: ManagedProcess | undefined;
  #closed = false;

  constructor(settings: LocalSettings) {
    this.#settings = settings;
    this.username = settings.username;
    this.password = settings.password;
    this.authorization = `Basic ${
      btoa(`${settings.username}:${settings.password}`)
    }`;
    this.app = settings.app;
    this.dir = settings.dir;
  }

  get httpUrl(): string {
    return `http://127.0.0.1:${this.#port}/ari`;
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.#port}/ari/events`;
  }

  get port(): number {
    return this.#port;
  }

  get entityId(): string {
    return this.#settings.entityId;
  }

  get pid(): number | undefined {
    return this.running ? this.#proc?.pid : undefined;
  }

  get running(): boolean {
    return this.#proc !== undefined && !this.#proc.exited();
  }

  output(): string {
    return this.#proc?.output() ?? "";
  }

  /** Writes the configuration for `port`, spawns Asterisk and waits for readiness. */
  async boot(port: number): Promise<void> {
    this.#port = port;
    const s = this.#settings;
    const files = renderAsteriskConf({ ...s, port });
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(`${s.dir}/etc/${name}`, text);
    }
    let step = "spawn";
    let proc: ManagedProcess;
    try {
      proc = spawnProcess(s.loader, [
        "--library-path",
        `${s.root}/usr/lib/${s.triple}:${s.root}/lib/${s.triple}`,
        `${s.root}/usr/sbin/asterisk`,
        "-f",
        "-n",
        "-C",
        `${s.dir}/etc/asterisk.conf`,
      ], { cwd: s.dir });
    } catch (error) {
      throw new Error(
        `startAsterisk() failed at step "spawn": cannot run "${s.loader}" (${
          String(error)
        }); ` +
          `the root "${s.root}" looks broken: rebuild it with \`sudo ${provisionScript()} --force\``,
        { cause: error },
      );
    }
    this.#proc = proc;
    const exited = new AbortController();
    const infoUrl = `${this.httpUrl}/asterisk/info`;
    const headers = { authorization: this.authorization };
    let lastStatus = "no answer";
    try {
      step = "http";
      const info = await waitFor(async () => {
        await this.#checkAlive(proc, exited);
        const { status, body } = await httpGet(infoUrl, { headers });
        lastStatus = `HTTP ${status}`;
        return status === 200
          ? JSON.parse(body) as { system?: { entity_id?: string } }
          : undefined;
      }, {
        timeout: s.timeout,
        interval: 100,
        message: `GET ${infoUrl} to answer 200`,
        signal: exited.signal,
      });
      step = "entity id";
      const actual = info.system?.entity_id;
      if (actual?.toLowerCase() !== s.entityId.toLowerCase()) {
        throw new Error(
          `Asterisk reports entity id "${actual}", configured "${s.entityId}"`,
        );
      }
      step = "websocket";
      // A dedicated application: a readiness socket for `app` itself would,
      // after a restart, take that application over from the proxy or client
      // under test and then close it.
      const wsUrl = `${this.wsUrl}?app=${READINESS_APP}`;
      await waitFor(async () => {
        await this.#checkAlive(proc, exited);
        return await webSocketOpens(wsUrl, headers, 2_000);
      }, {
        timeout: s.timeout,
        interval: 100,
        message: `WebSocket ${wsUrl} to open`,
        signal: exited.signal,
      });
    } catch (error) {
      proc.signal("SIGKILL");
      await proc.status;
      const reason = exited.signal.aborted ? exited.signal.reason : error;
      const message = reason instanceof Error ? reason.message : String(reason);
      const detail = step === "http" ? ` (last answer: ${lastStatus})` : "";
      const text =
        `startAsterisk() failed at step "${step}" on port ${port}: ${message}${detail}\n` +
        `Asterisk output (tail):\n${tailLines(proc.output())}`;
      throw reason instanceof BindError
        ? new BindError(text, { cause: error })
        : new Error(text, { cause: error });
    }
  }

  async #checkAlive(
    proc: ManagedProcess,
    exited: AbortController,
  ): Promise<void> {
    const output = proc.output();
    if (/Unable to bind|Address already in use/i.test(output)) {
      exited.abort(new BindError(`HTTP port ${this.#port} is already in use`));
    } else if (proc.exited()) {
      const status = await proc.status;
      exited.abort(
        new Error(
          `Asterisk exited with code ${status.code}${
            status.signal ? ` (${status.signal})` : ""
          }`,
        ),
      );
    }
    exited.signal.throwIfAborted();
  }

  async restart(options?: RestartAsteriskOptions): Promise<void> {
    if (this.#closed) {
      throw new Error("Cannot restart Asterisk: the instance is closed");
    }
    if (options?.entityId !== undefined) {
      validateEntityId(options.entityId);
      this.#settings.entityId = options.entityId;
    }
    await this.stop();
    await this.boot(this.#port);
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

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.stop();
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** Opens a WebSocket, closes it at once, and resolves whether it had opened. */
function webSocketOpens(
  url: string,
  headers: Record<string, string>,
  timeout: number,
): Promise<boolean> {
  return new Promise((resolve) => {
    let opened = false;
    const ws = new WebSocket(url, { headers });
    const timer = setTimeout(() => ws.close(), timeout);
    ws.onopen = () => {
      opened = true;
      ws.close();
    };
    ws.onerror = () => {};
    ws.onclose = () => {
      clearTimeout(timer);
      resolve(opened);
    };
  });
}

async function externalAsterisk(
  url: string,
  credentials: { username: string; password: string; app: string },
): Promise<AsteriskInstance> {
  const httpUrl = url.replace(/\/+$/, "");
  const authorization = `Basic ${
    btoa(`${credentials.username}:${credentials.password}`)
  }`;
  let info: { system?: { entity_id?: string } };
  try {
    const { status, body } = await httpGet(`${httpUrl}/asterisk/info`, {
      headers: { authorization },
      timeout: 5_000,
    });
    if (status !== 200) {
      throw new Error(`HTTP ${status}: ${body.slice(0, 200)}`);
    }
    info = JSON.parse(body);
  } catch (error) {
    throw new Error(
      `Cannot use ARI_TEST_URL "${url}": GET /asterisk/info failed: ${
        error instanceof Error ? error.message : error
      } ` +
        "(check ARI_TEST_URL, ARI_TEST_USERNAME and ARI_TEST_PASSWORD, or unset ARI_TEST_URL to start a local Asterisk)",
      { cause: error },
    );
  }
  const parsed = new URL(httpUrl);
  const port = Number(parsed.port || (parsed.protocol === "https:" ? 443 : 80));
  const wsUrl = `${httpUrl.replace(/^http/, "ws")}/events`;
  function unsupported(action: string): Promise<never> {
    return Promise.reject(
      new Error(
        `Cannot ${action} Asterisk: it is the external instance from ARI_TEST_URL "${url}"`,
      ),
    );
  }
  const handle: AsteriskInstance = {
    httpUrl,
    wsUrl,
    username: credentials.username,
    password: credentials.password,
    authorization,
    entityId: info.system?.entity_id ?? "",
    app: credentials.app,
    port,
    pid: undefined,
    dir: undefined,
    external: true,
    running: true,
    output: () => "",
    restart: () => unsupported("restart"),
    stop: () => unsupported("stop"),
    kill: () => unsupported("kill"),
    close: () => Promise.resolve(),
    [Symbol.asyncDispose]: () => Promise.resolve(),
  };
  return handle;
}
