/**
 * The soak runner (`deno task soak`): a real cluster on this machine (3 NATS
 * servers, 2 Asterisks, 2 proxies), client applications running call flows,
 * user events counted per node, faults injected on a schedule, then 100,000
 * hostile requests. Prints the figures as Markdown tables and writes them as
 * JSON to `bench/results/soak-<timestamp>.json` (or `--out`).
 *
 * @example
 * ```sh
 * deno task soak                         # 10 minutes of faults + 100,000 hostile requests
 * deno task soak --duration 60 --hostile 5000
 * deno task soak --fault ws-drop --fault proxy-kill --duration 40
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { FAULTS } from "./faults.ts";
import type { RequestFigures } from "./record.ts";
import { runSoak, type SoakResult } from "./soak.ts";

const HELP = `Usage: deno task soak [options]

Runs the ari-proxy soak: 3 NATS servers, 2 Asterisks, 2 proxies, client
applications running call flows, user events counted per node, faults on a
schedule, then hostile requests. Writes JSON to bench/results/soak-<time>.json.

Options:
  --duration <s>   Seconds of load with faults (default 600)
  --hostile <n>    Hostile requests after the load (default 100000)
  --rate <n>       User events per second per node (default 20)
  --fault <name>   Only this fault (repeatable): ${
  FAULTS.map((f) => f.name).join(", ")
}
  --out <file>     Write the JSON here
  -h, --help       This help
`;

function count(
  name: string,
  text: string | undefined,
  min: number,
): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!(Number.isFinite(value) && value >= min)) {
    throw new RangeError(`Invalid option "--${name}": ${text}`);
  }
  return value;
}

function fmtMs(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? "never" : `${ms}`;
}

function mib(bytes: number | undefined): string {
  return bytes === undefined ? "–" : (bytes / 2 ** 20).toFixed(1);
}

function requestCells(r: RequestFigures): string[] {
  return [r.sent, r.answered, r.failed, r.failedTyped, r.failedOther].map(
    String,
  );
}

/**
 * Renders the result as Markdown (the tables of `RELIABILITY.md`).
 *
 * @param result A soak's result.
 * @returns Markdown text.
 *
 * @example
 * ```ts ignore
 * console.log(renderReport(await runSoak({ durationMs: 60_000 })));
 * ```
 */
export function renderReport(result: SoakResult): string {
  const lines: string[] = [];
  lines.push(
    "| fault | window (s) | requests sent | answered | failed | typed, in time | other | events expected | lost | first request after end (ms) | first event after end (ms) |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  );
  for (const f of result.faults) {
    const nodes = Object.keys(f.firstEventMs);
    lines.push(
      `| ${f.name} | ${(f.start / 1000).toFixed(1)}–${
        (f.end / 1000).toFixed(1)
      } | ${
        requestCells(f.requests).join(" | ")
      } | ${f.events.expected} | ${f.events.lost} | ${
        nodes.map((n) => `${n}: ${fmtMs(f.firstRequestMs[n])}`).join(", ")
      } | ${
        nodes.map((n) => `${n}: ${fmtMs(f.firstEventMs[n])}`).join(", ")
      } |`,
    );
  }
  const e = result.events;
  lines.push(
    `| **total** | ${(result.options.durationMs / 1000).toFixed(0)} s | ${
      requestCells(result.requests).join(" | ")
    } | ${e.expected} | ${
      e.lostInside + e.lostOutside
    } (outside faults: ${e.lostOutside}) | | |`,
  );
  lines.push("");
  lines.push(
    `Events: ${e.expected} expected (posted × consumers), ${e.received} received, lost inside fault windows ${e.lostInside}, **outside ${e.lostOutside}**, duplicates ${e.duplicates}, posts Asterisk refused ${e.postFailures}.`,
  );
  lines.push(
    `Call flows: ${result.flows.started} started, ${result.flows.completed} completed, ${result.flows.failed} failed ${
      JSON.stringify(result.flows.errors)
    }.`,
  );
  lines.push(
    `Failures by error: ${
      JSON.stringify(result.requests.byError)
    }; longest beyond its timeout: ${result.requests.maxOverrunMs} ms.`,
  );
  const left = Object.entries(result.leftovers).map(([n, l]) =>
    `${n}: ${l.channels} channels, ${l.bridges} bridges`
  );
  lines.push(`Left behind in Asterisk: ${left.join("; ")}.`);
  const proxies = Object.entries(result.proxies).map(([n, lives]) =>
    `${n}: ${
      lives.map((l) =>
        `pid ${l.pid} ${mib(l.rssStartBytes)} → ${
          mib(l.rssEndBytes)
        } MiB (${l.ended})`
      ).join(", ")
    }`
  );
  lines.push(`Proxy RSS (start → end): ${proxies.join("; ")}.`);
  const rec = result.reconnects.map((r) =>
    `${r.client} ${fmtMs(r.tookMs)} ms (waits ${r.delays.join("/")})`
  );
  lines.push(
    `Client NATS reconnects: ${rec.length ? rec.join("; ") : "none"}.`,
  );
  lines.push(
    `Crashes: ${
      result.crashes.length
        ? result.crashes.map((c) => `${c.process} code ${c.code}`).join("; ")
        : "none"
    }.`,
  );
  const h = result.hostile;
  lines.push(
    `Hostile requests: ${h.sent} sent (${h.served} to served subjects) in ${
      (h.elapsedMs / 1000).toFixed(1)
    } s; answered exactly once ${h.answeredOnce}, unanswered ${h.unanswered}, extra replies ${h.extraReplies}, malformed replies ${h.malformedReplies}, errors without code ${h.uncodedErrors}; proxy RSS ${
      mib(h.rssStartBytes)
    } MiB before a warm-up of ${h.warmup}, then ${mib(h.rssBeforeBytes)} → ${
      mib(h.rssAfterBytes)
    } MiB over the counted requests (peak ${
      mib(h.rssPeakBytes)
    }; every 10,000: ${
      h.rssSeries.map((b) => mib(b)).join(", ")
    }); proxy answers afterwards: ${h.proxyAnswers}.`,
  );
  lines.push(
    `Machine: ${result.machine.cpus} CPUs, load average ${
      result.machine.loadavgStart.join(" ")
    } at start, ${result.machine.loadavgEnd.join(" ")} at end.`,
  );
  return lines.join("\n");
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      duration: { type: "string" },
      hostile: { type: "string" },
      rate: { type: "string" },
      fault: { type: "string", multiple: true },
      out: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    // deno-lint-ignore no-console -- CLI output
    console.log(HELP);
    return 0;
  }
  const known = new Set(FAULTS.map((f) => f.name));
  for (const f of values.fault ?? []) {
    if (!known.has(f)) throw new RangeError(`Unknown fault "${f}"`);
  }
  const duration = count("duration", values.duration, 10);
  const hostile = count("hostile", values.hostile, 0);
  const rate = count("rate", values.rate, 1);
  const result = await runSoak({
    ...(duration !== undefined ? { durationMs: duration * 1_000 } : {}),
    ...(hostile !== undefined ? { hostile } : {}),
    ...(rate !== undefined ? { eventRate: rate } : {}),
    ...(values.fault ? { faults: values.fault } : {}),
    // deno-lint-ignore no-console -- progress
    log: (line) => console.error(`[soak] ${line}`),
  });
  const out = values.out ??
    new URL(
      `../results/soak-${result.startedAt.replace(/[:.]/g, "-")}.json`,
      import.meta.url,
    ).pathname;
  await Deno.writeTextFile(out, JSON.stringify(result, null, 2) + "\n");
  // deno-lint-ignore no-console -- the report
  console.log(renderReport(result));
  // deno-lint-ignore no-console -- where the JSON went
  console.log(`\nJSON: ${out}`);
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main());
  } catch (error) {
    // deno-lint-ignore no-console -- CLI error
    console.error(error instanceof Error ? error.message : error);
    Deno.exit(2);
  }
}
