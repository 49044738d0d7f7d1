/**
 * `deno task demo` end to end: a short run against the real NATS, Asterisk
 * and proxy processes it starts itself; its JSON summary; Ctrl-C; failures
 * that exit non-zero and say why. After each run no process it started is
 * left and its temp dirs are gone.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

interface Summary {
  ok: boolean;
  reason?: string;
  interrupted: boolean;
  elapsedMs: number;
  calls: {
    requested: number | null;
    placed: number;
    completed: number;
    failed: number;
    interrupted: number;
  };
  recordings: number;
  requests: { count: number; failed: number; p50Ms: number; p99Ms: number };
  events: { total: number; byType: Record<string, number> };
  cluster: { node: string; application: string }[];
  components: {
    nats?: { pid: number; url: string; dir: string };
    asterisk?: { pid: number; url: string; dir: string; entityId: string };
    proxy?: { pid: number; command: string[] };
  };
}

function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // A zombie is as good as gone (its parent has not reaped it yet).
    return !/^\d+ \(.*\) Z /.test(stat);
  } catch {
    return false;
  }
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

function assertTornDown(summary: Summary): void {
  const { nats, asterisk, proxy } = summary.components;
  for (
    const [name, pid] of [
      ["nats-server", nats?.pid],
      ["Asterisk", asterisk?.pid],
      ["proxy", proxy?.pid],
    ] as const
  ) {
    assert.ok(pid, `the summary names the ${name} pid`);
    assert.ok(!alive(pid), `${name} (pid ${pid}) is gone`);
  }
  for (const dir of [nats?.dir, asterisk?.dir]) {
    assert.ok(dir, "the summary names the temp dirs");
    assert.ok(!exists(dir), `${dir} is removed`);
  }
}

async function runTask(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["task", "demo", ...args],
    cwd: ROOT,
    env,
    stdin: "null",
  }).output();
  return {
    code,
    stdout: new TextDecoder().decode(stdout),
    stderr: new TextDecoder().decode(stderr),
  };
}

Deno.test("deno task demo --calls 2 --json runs every step through the proxy and leaves nothing behind", async () => {
  const { code, stdout, stderr } = await runTask(["--calls", "2", "--json"]);
  assert.equal(code, 0, `exit code 0; stderr:\n${stderr}`);
  const summary = JSON.parse(stdout) as Summary;
  assert.equal(summary.ok, true);
  assert.equal(summary.interrupted, false);
  assert.deepEqual(summary.calls, {
    requested: 2,
    placed: 2,
    completed: 2,
    failed: 0,
    interrupted: 0,
  });
  assert.equal(summary.recordings, 2);
  // Per call: two legs enter and leave Stasis, one prompt, one recording.
  const byType = summary.events.byType;
  assert.equal(byType.StasisStart, 4);
  assert.equal(byType.StasisEnd, 4);
  assert.equal(byType.PlaybackFinished, 2);
  assert.equal(byType.RecordingFinished, 2);
  assert.equal(byType.ChannelEnteredBridge, 4);
  assert.equal(
    summary.events.total,
    Object.values(byType).reduce((a, b) => a + b, 0),
  );
  assert.equal(summary.requests.failed, 0);
  // originate ×2, answer ×2, play, bridge create, add ×2, record, stop,
  // delete recording, hangup ×2, bridge delete: 14 per call.
  assert.equal(summary.requests.count, 28);
  assert.ok(summary.requests.p50Ms > 0);
  assert.ok(summary.requests.p50Ms <= summary.requests.p99Ms);
  assert.deepEqual(summary.cluster, [
    { node: summary.components.asterisk!.entityId, application: "demo" },
  ]);
  // The proxy ran as `deno task start` runs it.
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}/deno.json`));
  assert.deepEqual(
    summary.components.proxy!.command.slice(1),
    config.tasks.start.split(/\s+/).slice(1),
  );
  assert.match(stderr, /demo: nats-server pid \d+/);
  assert.match(stderr, /demo: proxy pid \d+/);
  assertTornDown(summary);
});

Deno.test("deno task demo --duration stops placing calls after that many seconds and finishes the calls in progress", async () => {
  const { code, stdout, stderr } = await runTask([
    "--duration",
    "2",
    "--json",
  ]);
  assert.equal(code, 0, `exit code 0; stderr:\n${stderr}`);
  const summary = JSON.parse(stdout) as Summary;
  assert.equal(summary.ok, true, summary.reason);
  assert.equal(summary.calls.requested, null);
  // The first two calls start at once (concurrency 2) and always finish.
  assert.ok(summary.calls.completed >= 2);
  assert.equal(summary.calls.failed, 0);
  assert.equal(summary.calls.placed, summary.calls.completed);
  assertTornDown(summary);
});

Deno.test("deno task demo ends on SIGINT with exit code 0 and tears everything down", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--frozen", "-P=demo", "tools/demo/main.ts", "--json"],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout = new Response(child.stdout).text();
  let stderr = "";
  const reader = child.stderr.pipeThrough(new TextDecoderStream())
    .getReader();
  // Interrupt once the application has completed a call and others run.
  while (!/calls \d+ active [1-9]\d* completed/.test(stderr)) {
    const { value, done } = await reader.read();
    if (done) break;
    stderr += value;
  }
  child.kill("SIGINT");
  while (true) {
    const { value, done } = await reader.read();
    if (done) break;
    stderr += value;
  }
  const status = await child.status;
  assert.equal(status.code, 0, `exit code 0; stderr:\n${stderr}`);
  const summary = JSON.parse(await stdout) as Summary;
  assert.equal(summary.ok, true, summary.reason);
  assert.equal(summary.interrupted, true);
  assert.equal(summary.calls.requested, 10);
  assert.ok(summary.calls.completed >= 1);
  assert.equal(summary.calls.failed, 0);
  assert.equal(
    summary.calls.placed,
    summary.calls.completed + summary.calls.interrupted,
  );
  assertTornDown(summary);
});

Deno.test("deno task demo exits 1 and names the command when nats-server is missing", async () => {
  const { code, stdout, stderr } = await runTask(["--json"], {
    NATS_SERVER_BIN: "/nonexistent/nats-server",
  });
  assert.equal(code, 1);
  assert.match(stderr, /demo: failed: .*apt-get install -y nats-server/);
  const summary = JSON.parse(stdout) as Summary;
  assert.equal(summary.ok, false);
  assert.match(summary.reason!, /nats-server not found/);
});

Deno.test("deno task demo rejects a bad command line with exit code 2 and prints --help", async () => {
  const bad = await runTask(["--calls", "0"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /demo: Invalid --calls "0"/);
  const help = await runTask(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Usage: deno task demo/);
  assert.match(help.stdout, /--duration S/);
});
