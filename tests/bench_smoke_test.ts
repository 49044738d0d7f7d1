/**
 * Smoke test of the benchmark runner: `bench/run.ts --quick` (seconds, with
 * real NATS, Asterisk, fake ARI and proxies) must finish and write a result
 * file with every scenario's fields. It asserts the shape, never a
 * performance figure: benchmarks do not gate CI.
 *
 * @module
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const REPO = fileURLToPath(new URL("../", import.meta.url));

interface Stat {
  median: number;
  min: number;
  max: number;
  rounds: number[];
}

function assertStat(value: unknown, where: string): void {
  const stat = value as Stat;
  assert.ok(stat && typeof stat === "object", `${where}: missing`);
  assert.ok(Array.isArray(stat.rounds), `${where}.rounds: not an array`);
  for (const field of ["median", "min", "max"] as const) {
    assert.equal(typeof stat[field], "number", `${where}.${field}`);
  }
}

function assertNumber(value: unknown, where: string): void {
  assert.ok(
    typeof value === "number" && Number.isFinite(value),
    `${where}: expected a finite number, got ${JSON.stringify(value)}`,
  );
}

Deno.test("bench/run.ts main() --quick writes a result file with every scenario", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ari-bench-smoke-" });
  const out = `${dir}/result.json`;
  try {
    const run = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--frozen",
        "-P=bench",
        "bench/run.ts",
        "--quick",
        "--out",
        out,
      ],
      cwd: REPO,
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(300_000),
    }).output();
    const decoder = new TextDecoder();
    const stdout = decoder.decode(run.stdout);
    const stderr = decoder.decode(run.stderr);
    assert.equal(
      run.code,
      0,
      `bench/run.ts --quick exited with ${run.code}\n${stdout.slice(-4000)}\n${
        stderr.slice(-4000)
      }`,
    );
    assert.match(stdout, /## Targets/);
    const file = JSON.parse(await Deno.readTextFile(out));
    assert.equal(file.schema, "ari-proxy-bench/1");
    assertNumber(file.machine.nproc, "machine.nproc");
    assertNumber(file.machine.memTotalBytes, "machine.memTotalBytes");
    assert.equal(file.options.quick, true);
    assert.ok(
      file.proxyCommandFlags.includes("--allow-net"),
      `proxyCommandFlags: ${JSON.stringify(file.proxyCommandFlags)}`,
    );
    for (
      const id of [
        "request_overhead",
        "events_asterisk",
        "events_fake",
        "events_stream",
        "call_control",
        "cluster_list",
        "resources",
        "ari_paths",
        "runtimes",
      ]
    ) {
      const entry = file.scenarios[id];
      assert.ok(entry, `scenario ${id} missing`);
      assert.equal(entry.ok, true, `scenario ${id} failed: ${entry.error}`);
    }
    const s = file.scenarios;

    const req = s.request_overhead.result;
    assertStat(req.natsRoundTrip.p50Us, "natsRoundTrip.p50Us");
    assert.equal(req.rows.length, 12);
    for (const row of req.rows) {
      for (
        const path of [
          "ari",
          "native",
          "native_http",
          "wire",
          "proxy",
          "proxy_http",
        ]
      ) {
        const f = row.paths[path];
        assert.ok(f, `request_overhead ${row.op}/${row.inFlight}: no ${path}`);
        assertStat(f.reqPerSec, `${row.op}.${path}.reqPerSec`);
        assertStat(f.p50Us, `${row.op}.${path}.p50Us`);
        assertStat(f.p99Us, `${row.op}.${path}.p99Us`);
      }
      for (const path of ["wire", "proxy", "proxy_http"]) {
        assertStat(row.paths[path].proxyCpuUs, `${row.op}.${path}.proxyCpuUs`);
      }
      for (const path of ["proxy", "wire"]) {
        const c = row.comparisons.find((c: { path: string }) =>
          c.path === path
        );
        assert.ok(c, `${path} comparison missing`);
        assertStat(c.p50Ratio, `${path}.p50Ratio`);
        assertStat(c.addedP50Us, `${path}.addedP50Us`);
      }
    }

    const ast = s.events_asterisk.result;
    for (const path of ["direct", "proxy"]) {
      const run = ast.runs.find((r: { path: string }) => r.path === path);
      assert.ok(run, `events_asterisk: no ${path} run`);
      for (
        const f of ["expected", "received", "lost", "sendRate", "deliveredRate"]
      ) {
        assertNumber(run[f], `events_asterisk.${path}.${f}`);
      }
      assert.ok(run.expected > 0, "events_asterisk sent no events");
    }

    const fake = s.events_fake.result;
    assertStat(
      fake.asFastAsTaken.deliveredPerSec,
      "asFastAsTaken.deliveredPerSec",
    );
    assert.ok(fake.steps.length > 0, "events_fake: no rate steps");
    assertNumber(fake.topZeroLossRate, "topZeroLossRate");

    const streamed = s.events_stream.result;
    for (const mode of ["off", "on"]) {
      const run = streamed.runs.find((r: { stream: string }) =>
        r.stream === mode
      );
      assert.ok(run, `events_stream: no run with the stream ${mode}`);
      assertNumber(run.deliveredRate, `events_stream.${mode}.deliveredRate`);
      assertNumber(run.proxyCpuMs, `events_stream.${mode}.proxyCpuMs`);
      assert.ok(run.expected > 0, `events_stream ${mode} sent no events`);
    }
    assertNumber(
      streamed.runs.find((r: { stream: string }) => r.stream === "on").stored,
      "events_stream.on.stored",
    );

    const calls = s.call_control.result;
    for (
      const path of [
        "ari",
        "native",
        "native_http",
        "wire",
        "proxy",
        "proxy_http",
      ]
    ) {
      assertStat(calls.paths[path]?.cyclesPerSec, `call_control.${path}`);
    }

    const ariPaths = s.ari_paths.result;
    assert.equal(ariPaths.rows.length, 6);
    for (const row of ariPaths.rows) {
      for (const path of ["ws×1", "ws×2", "ws×4", "http fetch"]) {
        assertStat(row.paths[path]?.reqPerSec, `ari_paths ${path} req/s`);
        assertStat(row.paths[path]?.cpuUs, `ari_paths ${path} CPU`);
      }
    }

    const cluster = s.cluster_list.result;
    assert.deepEqual(
      cluster.sizes.map((x: { proxies: number }) => x.proxies),
      [1, 2, 3],
    );
    for (const size of cluster.sizes) {
      for (const path of ["direct", "wire", "proxy"]) {
        assertStat(size.paths[path]?.p50Us, `cluster ${size.proxies}.${path}`);
      }
    }

    const res = s.resources.result;
    for (
      const f of [
        "bareDenoNatsRssBytes",
        "idleRssBytes",
        "topRatePeakRssBytes",
        "cpuSecondsPer10k",
      ]
    ) {
      assertNumber(res[f], `resources.${f}`);
    }
    assertNumber(res.leak.endRssBytes, "resources.leak.endRssBytes");

    const runtimes = s.runtimes.result.runtimes;
    const labels = Object.keys(runtimes);
    assert.ok(labels.some((l) => l.startsWith("deno ")), `runtimes: ${labels}`);
    assert.ok(labels.some((l) => l.startsWith("node ")), `runtimes: ${labels}`);
    assert.ok(labels.some((l) => l.startsWith("bun ")), `runtimes: ${labels}`);
    for (const label of labels) {
      for (const mode of ["native", "nats"]) {
        const f = runtimes[label][mode];
        assertStat(f?.p50Us, `runtimes ${label} ${mode} p50Us`);
        assertStat(f?.eventsPerSec, `runtimes ${label} ${mode} eventsPerSec`);
        assertNumber(f?.eventsLost, `runtimes ${label} ${mode} eventsLost`);
      }
    }

    assert.ok(Array.isArray(file.targets) && file.targets.length >= 6);
    for (const t of file.targets) {
      assert.equal(typeof t.name, "string");
      assert.ok(t.met === null || typeof t.met === "boolean");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bench/run.ts parseRunnerArgs() takes repeated --proxy-flag and rejects bad numbers", async () => {
  const { parseRunnerArgs } = await import("../bench/run.ts");
  const parsed = parseRunnerArgs([
    "-s",
    "resources",
    "--proxy-flag=--v8-flags=--max-semi-space-size=2",
    "--proxy-flag=--cpu-prof",
  ]);
  assert.deepEqual(parsed.options.proxyFlags, [
    "--v8-flags=--max-semi-space-size=2",
    "--cpu-prof",
  ]);
  assert.deepEqual(parsed.scenarios.map((s) => s.id), ["resources"]);
  assert.deepEqual(parseRunnerArgs([]).options.proxyFlags, []);
  assert.throws(() => parseRunnerArgs(["--rounds", "0"]), RangeError);
  assert.throws(() => parseRunnerArgs(["-s", "nope"]), RangeError);
  // A flag value must be attached with "=" (it starts with a dash).
  assert.throws(() => parseRunnerArgs(["--proxy-flag", "--cpu-prof"]));
});
