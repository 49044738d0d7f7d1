/**
 * The benchmark runner (`deno task bench`): starts its own NATS, real
 * Asterisk, fake ARI and proxies (as child processes, so their RSS and CPU
 * can be read from `/proc`), runs the scenarios, prints a table per
 * scenario plus the targets, and writes everything as JSON to
 * `bench/results/<timestamp>.json` (or `--out`).
 *
 * Every comparison is measured in the same run (paths interleaved within
 * each round), and each figure is the median over the rounds with min and
 * max.
 *
 * @example
 * ```sh
 * deno task bench                      # the full run (about 10 minutes)
 * deno task bench --quick              # a few seconds: does the runner work?
 * deno task bench -s 1 -s events_fake  # selected scenarios
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import denoConfig from "../deno.json" with { type: "json" };
import { BenchContext, type BenchOptions } from "./context.ts";
import { proxyRunFlags, REPO_ROOT } from "./proc.ts";
import type { Scenario, ScenarioOutput } from "./scenario.ts";
import { ariPaths } from "./scenarios/ari_paths.ts";
import { callControl } from "./scenarios/call_control.ts";
import { clusterList } from "./scenarios/cluster_list.ts";
import { eventsAsterisk, eventsFake } from "./scenarios/event_throughput.ts";
import { eventsStream } from "./scenarios/event_stream.ts";
import { requestOverhead } from "./scenarios/request_overhead.ts";
import { metricsOverhead } from "./scenarios/metrics_overhead.ts";
import { resources } from "./scenarios/resources.ts";
import { runtimesScenario } from "./scenarios/runtimes.ts";
import { evaluateTargets, type TargetResult } from "./targets.ts";
import { renderTable } from "./stats.ts";

/** Every scenario, in run order. */
export const SCENARIOS: readonly Scenario[] = [
  requestOverhead,
  eventsAsterisk,
  eventsFake,
  eventsStream,
  callControl,
  clusterList,
  resources,
  metricsOverhead,
  ariPaths,
  runtimesScenario,
];

/** Version of the result file layout. */
export const RESULT_SCHEMA = "ari-proxy-bench/1";

/** Defaults of a full run. */
export const FULL_DEFAULTS: Omit<BenchOptions, "quick" | "proxyFlags"> = {
  rounds: 3,
  durationMs: 1_000,
  sustainMs: 60_000,
  leakEvents: 1_000_000,
  stepMs: 5_000,
};

/** Defaults of a `--quick` run. */
export const QUICK_DEFAULTS: Omit<BenchOptions, "quick" | "proxyFlags"> = {
  rounds: 1,
  durationMs: 150,
  sustainMs: 1_000,
  leakEvents: 5_000,
  stepMs: 300,
};

/** One scenario's entry in the result file. */
export type ScenarioEntry =
  & { title: string; ok: boolean; elapsedSec: number }
  & ({ result: Record<string, unknown> } | { error: string });

/** The result file. */
export interface BenchResultFile {
  /** Layout version. */
  schema: string;
  /** Proxy version (`deno.json`). */
  version: string;
  /** ISO start time. */
  startedAt: string;
  /** ISO end time. */
  finishedAt: string;
  /** Wall time of the whole run, s. */
  elapsedSec: number;
  /** The machine. */
  machine: Record<string, unknown>;
  /** The options used. */
  options: BenchOptions & { scenarios: string[] };
  /**
   * Every `deno run` flag the proxies ran with: those of `deno task start`,
   * then `options.proxyFlags`.
   */
  proxyCommandFlags: string[];
  /** Results by scenario id. */
  scenarios: Record<string, ScenarioEntry>;
  /** The issue's targets, met or missed. */
  targets: TargetResult[];
}

const HELP = `Usage: deno task bench [options]

Runs the ari-proxy benchmarks against real NATS + Asterisk (and a fake ARI),
prints tables and writes JSON to bench/results/<timestamp>.json.

Options:
  -s, --scenario <name>  Run only this scenario (repeatable). Names:
${
  SCENARIOS.map((s) =>
    `                           ${s.id} (${s.aliases.join(", ")})`
  ).join("\n")
}
  --quick                Tiny run (seconds): checks that the runner works
  --rounds <n>           Rounds per comparison (default 3; quick 1)
  --duration <s>         Seconds per measurement cell (default 1; quick 0.15)
  --sustain <s>          Seconds of the real-Asterisk event runs (default 60)
  --step <s>             Seconds per fake-ARI rate step (default 5)
  --leak-events <n>      Events of the leak check (default 1000000)
  --profile              Run proxies with --cpu-prof (profiles in bench/results/profiles-<timestamp>/)
  --proxy-flag=<flag>    Extra deno run flag for every proxy (repeatable; attach it with "="),
                         e.g. --proxy-flag=--v8-flags=--max-semi-space-size=2
  --out <file>           Write the JSON here instead of bench/results/<timestamp>.json
  -h, --help             This help
`;

/** Parsed command line. */
export interface RunnerArgs {
  /** Run options. */
  options: BenchOptions;
  /** Scenarios to run. */
  scenarios: Scenario[];
  /** Output file, if given. */
  out: string | undefined;
  /** Profile the proxies. */
  profile: boolean;
  /** Show help. */
  help: boolean;
}

function positive(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!(value > 0)) {
    throw new RangeError(`Invalid option "--${name}": "${text}"`);
  }
  return value;
}

/**
 * Parses the runner's command line.
 *
 * @param args Command-line arguments.
 * @returns Options, scenarios, output file.
 * @throws {RangeError} For an unknown scenario or a bad number.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseRunnerArgs } from "./run.ts";
 *
 * const parsed = parseRunnerArgs(["--quick", "-s", "1"]);
 * assert.equal(parsed.options.rounds, 1);
 * assert.deepEqual(parsed.scenarios.map((s) => s.id), ["request_overhead"]);
 * ```
 */
export function parseRunnerArgs(args: string[]): RunnerArgs {
  const { values } = parseArgs({
    args,
    options: {
      scenario: { type: "string", short: "s", multiple: true },
      quick: { type: "boolean", default: false },
      rounds: { type: "string" },
      duration: { type: "string" },
      sustain: { type: "string" },
      step: { type: "string" },
      "leak-events": { type: "string" },
      profile: { type: "boolean", default: false },
      "proxy-flag": { type: "string", multiple: true },
      out: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  const base = values.quick ? QUICK_DEFAULTS : FULL_DEFAULTS;
  const rounds = positive("rounds", values.rounds);
  if (rounds !== undefined && !Number.isInteger(rounds)) {
    throw new RangeError(`Invalid option "--rounds": "${values.rounds}"`);
  }
  const duration = positive("duration", values.duration);
  const sustain = positive("sustain", values.sustain);
  const step = positive("step", values.step);
  const leak = positive("leak-events", values["leak-events"]);
  const options: BenchOptions = {
    quick: values.quick,
    rounds: rounds ?? base.rounds,
    durationMs: duration !== undefined ? duration * 1000 : base.durationMs,
    sustainMs: sustain !== undefined ? sustain * 1000 : base.sustainMs,
    stepMs: step !== undefined ? step * 1000 : base.stepMs,
    leakEvents: leak !== undefined ? Math.round(leak) : base.leakEvents,
    proxyFlags: [...(values["proxy-flag"] ?? [])],
  };
  let scenarios: Scenario[] = [...SCENARIOS];
  if (values.scenario && values.scenario.length > 0) {
    const wanted = new Set<Scenario>();
    for (const name of values.scenario) {
      const matches = SCENARIOS.filter((s) =>
        s.id === name || s.aliases.includes(name)
      );
      if (matches.length === 0) {
        throw new RangeError(
          `Unknown scenario "${name}" (known: ${
            SCENARIOS.map((s) => s.id).join(", ")
          })`,
        );
      }
      for (const m of matches) wanted.add(m);
    }
    scenarios = SCENARIOS.filter((s) => wanted.has(s));
  }
  return {
    options,
    scenarios,
    out: values.out,
    profile: values.profile,
    help: values.help,
  };
}

async function commandOutput(command: string, args: string[]): Promise<string> {
  try {
    const out = await new Deno.Command(command, {
      args,
      stdout: "piped",
      stderr: "piped",
    }).output();
    return new TextDecoder().decode(out.stdout).trim();
  } catch {
    return "";
  }
}

/**
 * Describes this machine: cores, memory, CPU model, kernel, Deno, NATS.
 *
 * @returns Facts for the result file.
 *
 * @example
 * ```ts ignore
 * console.log(await machineInfo());
 * ```
 */
export async function machineInfo(): Promise<Record<string, unknown>> {
  const cpuinfo = await commandOutput("cat", ["/proc/cpuinfo"]);
  const cpuModel = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? "";
  const memory = Deno.systemMemoryInfo();
  return {
    nproc: navigator.hardwareConcurrency,
    memTotalBytes: memory.total,
    memTotalGiB: Math.round((memory.total / 2 ** 30) * 10) / 10,
    cpuModel,
    os: `${Deno.build.os} ${Deno.osRelease()}`,
    arch: Deno.build.arch,
    loadavg: Deno.loadavg(),
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    natsServer: await commandOutput("nats-server", ["--version"]),
  };
}

function write(text: string): void {
  const bytes = new TextEncoder().encode(text);
  let written = 0;
  while (written < bytes.length) {
    written += Deno.stdout.writeSync(bytes.subarray(written));
  }
}

function timestamp(date: Date): string {
  return date.toISOString().replace(/[:.]/g, "-").replace(/-\d{3}Z$/, "Z");
}

/**
 * Runs the benchmarks and writes the result file.
 *
 * @param args Command-line arguments.
 * @returns The exit code: 0, or 1 when a scenario failed, 2 on misuse.
 *
 * @example
 * ```ts ignore
 * Deno.exit(await main(["--quick"]));
 * ```
 */
export async function main(args: string[]): Promise<number> {
  let parsed: RunnerArgs;
  try {
    parsed = parseRunnerArgs(args);
  } catch (error) {
    Deno.stderr.writeSync(
      new TextEncoder().encode(`bench: ${(error as Error).message}\n\n${HELP}`),
    );
    return 2;
  }
  if (parsed.help) {
    write(HELP);
    return 0;
  }
  const started = new Date();
  const stamp = timestamp(started);
  const { options, scenarios } = parsed;
  if (parsed.profile) {
    const dir = `${REPO_ROOT}/bench/results/profiles-${stamp}`;
    await Deno.mkdir(dir, { recursive: true });
    options.proxyFlags.push("--cpu-prof", `--cpu-prof-dir=${dir}`);
  }
  const file: BenchResultFile = {
    schema: RESULT_SCHEMA,
    version: denoConfig.version,
    startedAt: started.toISOString(),
    finishedAt: "",
    elapsedSec: 0,
    machine: await machineInfo(),
    options: { ...options, scenarios: scenarios.map((s) => s.id) },
    proxyCommandFlags: [
      ...proxyRunFlags(denoConfig.tasks.start),
      ...options.proxyFlags,
    ],
    scenarios: {},
    targets: [],
  };
  let failed = false;
  const ctx = new BenchContext(options);
  try {
    for (const scenario of scenarios) {
      ctx.log(`scenario ${scenario.title}`);
      const t0 = performance.now();
      let output: ScenarioOutput | undefined;
      try {
        output = await scenario.run(ctx);
        file.scenarios[scenario.id] = {
          title: scenario.title,
          ok: true,
          elapsedSec: (performance.now() - t0) / 1000,
          result: output.result,
        };
        write(`\n## ${scenario.title}\n\n${output.table}\n`);
      } catch (error) {
        failed = true;
        const message = error instanceof Error
          ? (error.stack ?? error.message)
          : String(error);
        file.scenarios[scenario.id] = {
          title: scenario.title,
          ok: false,
          elapsedSec: (performance.now() - t0) / 1000,
          error: message,
        };
        write(`\n## ${scenario.title}\n\nFAILED: ${message}\n`);
      }
    }
  } finally {
    ctx.log("stopping");
    await ctx.close();
  }
  file.targets = evaluateTargets(file.scenarios, options);
  const finished = new Date();
  file.finishedAt = finished.toISOString();
  file.elapsedSec = (finished.getTime() - started.getTime()) / 1000;
  write(
    `\n## Targets\n\n${
      renderTable(
        ["target", "goal", "measured", "met"],
        file.targets.map((t) => [
          t.name,
          t.goal,
          t.measured,
          t.met === null ? "n/a" : t.met ? "yes" : "NO",
        ]),
      )
    }\n`,
  );
  const out = parsed.out ?? `${REPO_ROOT}/bench/results/${stamp}.json`;
  await Deno.writeTextFile(out, JSON.stringify(file, null, 2) + "\n");
  const m = file.machine;
  write(
    `\nMachine: ${m.nproc} cores, ${m.memTotalGiB} GiB, ${m.cpuModel}; ` +
      `run took ${Math.round(file.elapsedSec)} s\nResults: ${out}\n`,
  );
  return failed ? 1 : 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
