/**
 * Summarises a V8 CPU profile (`deno run --cpu-prof` writes
 * `*.cpuprofile`): the functions with the most self time and the most
 * inclusive time, with file and line, so a hot spot can be named precisely.
 *
 * @example
 * ```sh
 * deno task bench --profile -s 2b   # writes bench/results/profiles-<timestamp>/
 * deno run -P=bench bench/cpu_profile.ts bench/results/profiles-<timestamp>/<file>.cpuprofile
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { renderTable } from "./stats.ts";

/** A V8 `.cpuprofile` document (the fields used here). */
export interface CpuProfile {
  /** Call-tree nodes. */
  nodes: {
    id: number;
    callFrame: {
      functionName: string;
      url: string;
      lineNumber: number;
      columnNumber: number;
    };
    children?: number[];
  }[];
  /** Start, µs. */
  startTime: number;
  /** End, µs. */
  endTime: number;
  /** Node id of each sample. */
  samples: number[];
  /** µs since the previous sample, per sample. */
  timeDeltas: number[];
}

/** One function's share of a profile. */
export interface ProfileEntry {
  /** `name (file:line)`. */
  frame: string;
  /** Self time, ms. */
  selfMs: number;
  /** Time including callees, ms (counted once per stack). */
  totalMs: number;
}

/**
 * Aggregates a profile per function (name + location).
 *
 * @param profile The parsed `.cpuprofile`.
 * @param root Strip this prefix from file URLs.
 * @returns Entries, and the profile's sampled and idle time in ms.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { summarizeProfile } from "./cpu_profile.ts";
 *
 * const frame = (functionName: string) => ({ functionName, url: "file:///a.ts", lineNumber: 0, columnNumber: 0 });
 * const s = summarizeProfile({
 *   nodes: [
 *     { id: 1, callFrame: frame("(root)"), children: [2] },
 *     { id: 2, callFrame: frame("work") },
 *   ],
 *   startTime: 0, endTime: 3000, samples: [2, 2, 1], timeDeltas: [1000, 1000, 1000],
 * });
 * assert.equal(s.entries.find((e) => e.frame.startsWith("work"))!.selfMs, 2);
 * ```
 */
export function summarizeProfile(
  profile: CpuProfile,
  root = "",
): { entries: ProfileEntry[]; sampledMs: number; idleMs: number } {
  const parent = new Map<number, number>();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  for (const n of profile.nodes) {
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const label = (id: number) => {
    const f = byId.get(id)!.callFrame;
    const url = f.url.replace(root, "");
    const where = url ? ` (${url}:${f.lineNumber + 1})` : "";
    return `${f.functionName || "(anonymous)"}${where}`;
  };
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let sampledMs = 0;
  let idleMs = 0;
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    sampledMs += ms;
    const name = byId.get(id)?.callFrame.functionName;
    if (name === "(idle)" || name === "(program)") idleMs += ms;
    const own = label(id);
    self.set(own, (self.get(own) ?? 0) + ms);
    const seen = new Set<string>();
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
      const l = label(n);
      if (seen.has(l)) continue;
      seen.add(l);
      total.set(l, (total.get(l) ?? 0) + ms);
    }
  });
  const entries = [...total.keys()].map((frame) => ({
    frame,
    selfMs: self.get(frame) ?? 0,
    totalMs: total.get(frame) ?? 0,
  }));
  return { entries, sampledMs, idleMs };
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    options: { top: { type: "string", default: "25" } },
    allowPositionals: true,
  });
  const top = Number(values.top);
  const root = new URL("../", import.meta.url).href;
  const out: string[] = [];
  for (const file of positionals) {
    const profile = JSON.parse(await Deno.readTextFile(file)) as CpuProfile;
    const { entries, sampledMs, idleMs } = summarizeProfile(profile, root);
    const busy = sampledMs - idleMs;
    const pct = (ms: number) => `${((ms / busy) * 100).toFixed(1)}%`;
    out.push(
      `# ${file}: ${Math.round(sampledMs)} ms sampled, ${
        Math.round(busy)
      } ms busy`,
      "",
      "## self time",
      renderTable(
        ["self ms", "of busy", "function"],
        entries.filter((e) => !/^\((idle|program|root)\)/.test(e.frame))
          .sort((a, b) => b.selfMs - a.selfMs).slice(0, top)
          .map((e) => [e.selfMs.toFixed(1), pct(e.selfMs), e.frame]),
      ),
      "",
      "## inclusive time",
      renderTable(
        ["total ms", "of busy", "function"],
        entries.filter((e) => !/^\((idle|program|root)\)/.test(e.frame))
          .sort((a, b) => b.totalMs - a.totalMs).slice(0, top)
          .map((e) => [e.totalMs.toFixed(1), pct(e.totalMs), e.frame]),
      ),
      "",
    );
  }
  await Deno.stdout.write(new TextEncoder().encode(out.join("\n")));
}
