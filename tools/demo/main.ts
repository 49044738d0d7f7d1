/**
 * `deno task demo`: the proxy doing its job with no configuration. Starts a
 * local nats-server and an Asterisk (from the provisioned root; provisioning
 * it when missing) on free ports in temp dirs, the proxy exactly as
 * `deno task start` does (settings through the environment), and a small
 * application written against the public client API that places, answers,
 * bridges, records and hangs up calls through the proxy. Shows a live view
 * while it runs and a summary at the end; Ctrl-C or the end tears everything
 * down.
 *
 * @example
 * ```sh
 * deno task demo --calls 4
 * deno task demo --duration 30 --json
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { connect } from "@ari-proxy/client";
import {
  type AsteriskInstance,
  type NatsServer,
  type ProxyProcess,
  startAsterisk,
  startNats,
  startProxyProcess,
  waitFor,
} from "../stack/mod.ts";
import { runDemoApp } from "./app.ts";
import { type DemoSnapshot, DemoStats } from "./stats.ts";
import { liveLines, type MemberRow, plainLine, summaryLines } from "./view.ts";

/** The demo's Stasis application. */
const APPLICATION = "demo";

/** Calls placed when neither `--calls` nor `--duration` is given. */
const DEFAULT_CALLS = 10;

const HELP = `deno task demo: the proxy doing its job, with no configuration

Starts nats-server, an Asterisk (from the provisioned root) and the proxy
(exactly as "deno task start" does) on free loopback ports in temp dirs, then
an application written against the public client API that places calls
(Local channels), answers them, plays a prompt, bridges the two legs of each
call, records the bridge for 2 s and hangs up, all through the proxy.

Usage: deno task demo [options]

Options:
  --calls N        Calls to place (default ${DEFAULT_CALLS}, or unlimited with --duration)
  --duration S     Stop placing calls after S seconds (calls in progress finish)
  --concurrency N  Calls in progress at once (default 2)
  --json           Print the summary as JSON on stdout (the live view goes to stderr)
  -h, --help       Print this help and exit

Ctrl-C ends the run: calls in progress are hung up, every process started is
ended and every temp dir removed; the exit code is then 0. A run in which a
call or a component fails exits 1 and says why.

Needs nats-server (apt-get install -y nats-server) and the Asterisk root
(scripts/provision-asterisk.sh, run once as root; the demo runs it itself when
it runs as root).`;

/** The JSON summary (`--json`). */
export interface DemoSummary {
  /** Whether every call went through and no component failed. */
  ok: boolean;
  /** Why the run failed, when it did. */
  reason?: string;
  /** Whether Ctrl-C (or SIGTERM) ended the run. */
  interrupted: boolean;
  /** Duration of the application run, in ms. */
  elapsedMs: number;
  /** Calls. */
  calls: {
    /** `--calls`, or `null` when unlimited. */
    requested: number | null;
    placed: number;
    completed: number;
    failed: number;
    interrupted: number;
  };
  /** Recordings made (deleted again after the call). */
  recordings: number;
  /** Requests the application sent through the proxy. */
  requests: { count: number; failed: number; p50Ms: number; p99Ms: number };
  /** Events the application received. */
  events: { total: number; byType: Record<string, number> };
  /** Cluster members the client saw. */
  cluster: MemberRow[];
  /** The processes and temp dirs the demo started (all gone at exit). */
  components: {
    nats?: { pid: number; url: string; dir: string };
    asterisk?: { pid: number; url: string; dir: string; entityId: string };
    proxy?: { pid: number; command: string[] };
  };
  /** The first failures. */
  failures: { call: number; reason: string }[];
}

interface DemoArgs {
  calls: number;
  duration: number | undefined;
  concurrency: number;
  json: boolean;
}

function parse(args: string[]): DemoArgs | "help" | { error: string } {
  let values;
  try {
    values = parseArgs({
      args,
      options: {
        calls: { type: "string" },
        duration: { type: "string" },
        concurrency: { type: "string" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    return {
      error: `Invalid command line: ${
        error instanceof Error ? error.message : String(error)
      } (see --help)`,
    };
  }
  if (values.help) return "help";
  const positiveInt = (name: string, text: string | undefined) => {
    if (text === undefined) return undefined;
    const n = Number(text);
    return /^\d+$/.test(text) && n >= 1 ? n : {
      error:
        `Invalid --${name} "${text}": expected a whole number of at least 1`,
    };
  };
  const calls = positiveInt("calls", values.calls);
  if (typeof calls === "object") return calls;
  const concurrency = positiveInt("concurrency", values.concurrency);
  if (typeof concurrency === "object") return concurrency;
  let duration: number | undefined;
  if (values.duration !== undefined) {
    duration = Number(values.duration);
    if (!(Number.isFinite(duration) && duration > 0)) {
      return {
        error:
          `Invalid --duration "${values.duration}": expected a number of seconds above 0`,
      };
    }
  }
  return {
    calls: calls ?? (duration === undefined ? DEFAULT_CALLS : Infinity),
    duration,
    concurrency: concurrency ?? 2,
    json: values.json,
  };
}

/** Writes the live view: redrawn in place on a terminal, plain lines otherwise. */
class Screen {
  #stream: typeof Deno.stdout | typeof Deno.stderr;
  #tty: boolean;
  #drawn = 0;
  #encoder = new TextEncoder();

  constructor(stream: typeof Deno.stdout | typeof Deno.stderr) {
    this.#stream = stream;
    this.#tty = stream.isTerminal();
  }

  get tty(): boolean {
    return this.#tty;
  }

  #write(text: string): void {
    const bytes = this.#encoder.encode(text);
    let written = 0;
    while (written < bytes.length) {
      written += this.#stream.writeSync(bytes.subarray(written));
    }
  }

  /** A progress line (above the live view). */
  line(text: string): void {
    this.#clear();
    this.#write(`${text}\n`);
  }

  /** Redraws the live view in place. */
  draw(lines: string[]): void {
    this.#clear();
    const width = Deno.consoleSize?.().columns ?? 120;
    this.#write(
      lines.map((l) => l.length > width ? l.slice(0, width - 1) : l).join(
        "\n",
      ) + "\n",
    );
    this.#drawn = lines.length;
  }

  /** Leaves the last drawing on screen. */
  keep(): void {
    this.#drawn = 0;
  }

  #clear(): void {
    if (this.#drawn > 0) this.#write(`\x1b[${this.#drawn}F\x1b[J`);
    this.#drawn = 0;
  }
}

/**
 * Runs the demo.
 *
 * @param args Command-line arguments.
 * @returns The exit code: 0 after a good run or Ctrl-C, 1 after a failure,
 * 2 for a bad command line.
 *
 * @example
 * ```ts ignore
 * Deno.exit(await main(["--calls", "2", "--json"]));
 * ```
 */
export async function main(args: string[]): Promise<number> {
  const parsed = parse(args);
  const encoder = new TextEncoder();
  if (parsed === "help") {
    await Deno.stdout.write(encoder.encode(HELP + "\n"));
    return 0;
  }
  if ("error" in parsed) {
    await Deno.stderr.write(encoder.encode(`demo: ${parsed.error}\n`));
    return 2;
  }
  const screen = new Screen(parsed.json ? Deno.stderr : Deno.stdout);
  const interrupt = new AbortController();
  const failure = new AbortController();
  const stopPlacing = new AbortController();
  const onSignal = () => {
    if (!interrupt.signal.aborted) {
      screen.line("demo: interrupted; hanging up and tearing down");
    }
    interrupt.abort(new Error("Interrupted"));
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  const runSignal = AbortSignal.any([interrupt.signal, failure.signal]);

  const summary: DemoSummary = {
    ok: false,
    interrupted: false,
    elapsedMs: 0,
    calls: {
      requested: Number.isFinite(parsed.calls) ? parsed.calls : null,
      placed: 0,
      completed: 0,
      failed: 0,
      interrupted: 0,
    },
    recordings: 0,
    requests: { count: 0, failed: 0, p50Ms: 0, p99Ms: 0 },
    events: { total: 0, byType: {} },
    cluster: [],
    components: {},
    failures: [],
  };
  let reason: string | undefined;
  let nats: NatsServer | undefined;
  let asterisk: AsteriskInstance | undefined;
  let proxy: ProxyProcess | undefined;
  let stopping = false;
  let snapshot: DemoSnapshot | undefined;
  let members: MemberRow[] = [];
  try {
    screen.line("demo: starting nats-server");
    nats = await startNats();
    summary.components.nats = { pid: nats.pid, url: nats.url, dir: nats.dir };
    screen.line(
      `demo: nats-server pid ${nats.pid} at ${nats.url} (${nats.dir})`,
    );
    interrupt.signal.throwIfAborted();

    screen.line("demo: starting Asterisk");
    asterisk = await startAsterisk({
      app: APPLICATION,
      allowExternal: false,
      onProgress: (line) => screen.line(`demo: provisioning: ${line}`),
    });
    summary.components.asterisk = {
      pid: asterisk.pid!,
      url: asterisk.httpUrl,
      dir: asterisk.dir!,
      entityId: asterisk.entityId,
    };
    screen.line(
      `demo: Asterisk pid ${asterisk.pid} at ${asterisk.httpUrl}, node ${asterisk.entityId} (${asterisk.dir})`,
    );
    interrupt.signal.throwIfAborted();

    screen.line("demo: starting the proxy (as deno task start does)");
    proxy = await startProxyProcess({
      application: APPLICATION,
      httpUrl: asterisk.httpUrl,
      websocketUrl: asterisk.wsUrl,
      username: asterisk.username,
      password: asterisk.password,
      natsUrl: nats.url,
      node: asterisk.entityId,
      signal: interrupt.signal,
    });
    summary.components.proxy = { pid: proxy.pid, command: proxy.command };
    screen.line(`demo: proxy pid ${proxy.pid}: ${proxy.command.join(" ")}`);
    const proxyRef = proxy;
    proxy.status.then((status) => {
      if (stopping) return;
      reason =
        `the proxy exited with code ${status.code} during the run; its log (tail):\n${
          proxyRef.output().split("\n").slice(-20).join("\n")
        }`;
      failure.abort(new Error(reason));
    });

    await using client = await connect({
      servers: nats.url,
      application: APPLICATION,
    });
    await waitFor(() => client.nodes().length > 0, {
      timeout: 10_000,
      message: "the client to see the proxy",
      signal: runSignal,
    });
    const stats = new DemoStats();
    const readMembers = () =>
      client.nodes().map((k) => ({
        node: k.node ?? "",
        application: k.app ?? APPLICATION,
      }));
    const limit = [
      Number.isFinite(parsed.calls) ? `${parsed.calls} calls` : "",
      parsed.duration !== undefined ? `${parsed.duration} s` : "",
    ].filter(Boolean).join(" or ");
    const render = () => {
      const state = { stats: stats.snapshot(), members: readMembers(), limit };
      if (screen.tty) screen.draw(liveLines(state));
      else screen.line(plainLine(state));
    };
    screen.line(`demo: running (${limit}; Ctrl-C ends it)`);
    const timer = setInterval(render, screen.tty ? 500 : 2_000);
    const durationTimer = parsed.duration === undefined
      ? undefined
      : setTimeout(() => stopPlacing.abort(), parsed.duration * 1000);
    try {
      await runDemoApp(client, stats, {
        calls: parsed.calls,
        concurrency: parsed.concurrency,
        signal: runSignal,
        stopPlacing: stopPlacing.signal,
      });
    } finally {
      clearInterval(timer);
      clearTimeout(durationTimer);
    }
    if (screen.tty) {
      render();
      screen.keep();
    }
    snapshot = stats.snapshot();
    members = readMembers();
  } catch (error) {
    if (!interrupt.signal.aborted) {
      reason ??= error instanceof Error ? error.message : String(error);
    }
  } finally {
    stopping = true;
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    // Teardown ignores further Ctrl-C: it is what Ctrl-C asked for.
    Deno.addSignalListener("SIGINT", ignore);
    try {
      screen.line("demo: tearing down");
      await proxy?.close();
      await asterisk?.close();
      await nats?.close();
    } finally {
      Deno.removeSignalListener("SIGINT", ignore);
    }
  }
  return finish();

  function finish(): number {
    summary.interrupted = interrupt.signal.aborted;
    if (snapshot) {
      summary.elapsedMs = snapshot.elapsedMs;
      summary.calls.placed = snapshot.placed;
      summary.calls.completed = snapshot.completed;
      summary.calls.failed = snapshot.failed;
      summary.calls.interrupted = snapshot.interrupted;
      summary.recordings = snapshot.recordings;
      summary.requests = {
        count: snapshot.requests,
        failed: snapshot.requestErrors,
        p50Ms: snapshot.p50Ms,
        p99Ms: snapshot.p99Ms,
      };
      summary.events = {
        total: snapshot.eventsTotal,
        byType: snapshot.eventsByType,
      };
      summary.failures = snapshot.failures;
      if (!reason && snapshot.failed > 0) {
        reason =
          `${snapshot.failed} of ${snapshot.placed} calls failed (first: call ${
            snapshot.failures[0]?.call
          }: ${snapshot.failures[0]?.reason})`;
      }
    }
    summary.cluster = members;
    if (reason) summary.reason = reason;
    summary.ok = reason === undefined;
    if (parsed !== "help" && !("error" in parsed) && parsed.json) {
      Deno.stdout.writeSync(
        encoder.encode(JSON.stringify(summary, null, 2) + "\n"),
      );
    } else if (snapshot) {
      for (
        const line of summaryLines({ stats: snapshot, members, limit: "" })
      ) {
        screen.line(line);
      }
    }
    if (reason) {
      Deno.stderr.writeSync(encoder.encode(`demo: failed: ${reason}\n`));
      return 1;
    }
    return 0;
  }
}

function ignore(): void {}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
