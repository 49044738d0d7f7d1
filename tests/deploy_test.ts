/**
 * The installation files in `deploy/`, checked with the tools an operator's
 * host has:
 *
 * - the systemd unit passes `systemd-analyze verify` with no message, and
 *   `systemd-analyze security` rates its sandbox "OK" (exposure at most 2.0
 *   of 10); it runs as its own user, restarts on failure and reads its
 *   settings from an environment file;
 * - `systemd-sysusers` creates that user from the sysusers file;
 * - every variable of the example environment file is a setting the proxy
 *   knows (`--help`), and the file as shipped, with only the addresses and
 *   credentials of a real Asterisk and NATS filled in, runs the proxy;
 * - the container definition is well formed (every instruction known, a
 *   pinned base image, an unprivileged numeric user, an exec-form entrypoint
 *   at the binary it copies) and matches what the release workflow builds
 *   and attaches. It cannot be built here (no registry); the release
 *   workflow builds it and runs it (`--version`).
 *
 * `systemd-analyze` runs on a throwaway root that holds the host's own unit
 * files (for the targets the unit refers to), the unit at
 * `/etc/systemd/system` and, at the unit's `ExecStart` path, a launcher of
 * this checkout's proxy (`deno run` with the permissions of `deno task
 * compile`), since the compiled binary cannot be built offline.
 *
 * @module
 */

import assert from "node:assert/strict";
import { parse as parseYaml } from "yaml";
import { connect } from "../client/mod.ts";
import { startAsterisk, startNats, waitFor } from "./harness/mod.ts";

const ROOT = new URL("..", import.meta.url);
const UNIT = new URL("deploy/systemd/ari-proxy.service", ROOT);
const ENV_FILE = new URL("deploy/systemd/ari-proxy.env", ROOT);
const SYSUSERS = new URL("deploy/systemd/ari-proxy.sysusers", ROOT);
const CONTAINERFILE = new URL("deploy/container/Containerfile", ROOT);
const RELEASE = new URL(".github/workflows/release.yml", ROOT);
const HOST_UNITS = "/usr/lib/systemd/system";

const DENO_JSON = JSON.parse(
  await Deno.readTextFile(new URL("deno.json", ROOT)),
) as { tasks: Record<string, string> };

/** `deno task compile` turned into the `deno run` of the same program. */
function runArgsOfCompileTask(): string[] {
  const words = DENO_JSON.tasks.compile!.split(" ");
  assert.equal(words[0], "deno");
  assert.equal(words[1], "compile");
  const args = ["run"];
  for (let i = 2; i < words.length; i++) {
    const word = words[i]!;
    if (word === "--output") {
      i++;
      continue;
    }
    args.push(word === "main.ts" ? new URL("main.ts", ROOT).pathname : word);
  }
  return args;
}

/** Parses `[Section]` / `Key=Value` lines into section → key → values. */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      current = new Map();
      sections.set(header[1]!, current);
      continue;
    }
    const eq = line.indexOf("=");
    assert.ok(current && eq > 0, `unit line outside a section: ${line}`);
    const key = line.slice(0, eq);
    current.set(key, [...(current.get(key) ?? []), line.slice(eq + 1)]);
  }
  return sections;
}

/** `VARIABLE=value` lines of an environment file, and the commented ones. */
function parseEnvFile(
  text: string,
): { active: Map<string, string>; commented: string[] } {
  const active = new Map<string, string>();
  const commented: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    const set = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (set) {
      active.set(set[1]!, set[2]!);
      continue;
    }
    const off = /^#([A-Z][A-Z0-9_]*)=/.exec(line);
    if (off) commented.push(off[1]!);
  }
  return { active, commented };
}

async function run(
  command: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(command, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { SYSTEMD_COLORS: "0", SYSTEMD_PAGER: "" },
  }).output();
  const decoder = new TextDecoder();
  return {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  };
}

/** A throwaway root with the host's units, the unit and its ExecStart. */
async function unitRoot(): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "ari-systemd-root-" });
  const unitDir = `${root}/usr/lib/systemd/system`;
  await Deno.mkdir(unitDir, { recursive: true });
  try {
    for await (const entry of Deno.readDir(HOST_UNITS)) {
      const from = `${HOST_UNITS}/${entry.name}`;
      if (entry.isSymlink) {
        await Deno.symlink(
          await Deno.readLink(from),
          `${unitDir}/${entry.name}`,
        );
      } else if (entry.isFile) {
        await Deno.copyFile(from, `${unitDir}/${entry.name}`);
      }
    }
  } catch (error) {
    throw new Error(
      `Cannot read the host's systemd units in ${HOST_UNITS}: install systemd (apt-get install -y systemd)`,
      { cause: error },
    );
  }
  await Deno.mkdir(`${root}/etc/systemd/system`, { recursive: true });
  await Deno.copyFile(UNIT, `${root}/etc/systemd/system/ari-proxy.service`);
  const unit = parseUnit(await Deno.readTextFile(UNIT));
  const execStart = unit.get("Service")?.get("ExecStart")?.[0] ?? "";
  const binary = execStart.split(" ")[0]!;
  await Deno.mkdir(`${root}${binary.slice(0, binary.lastIndexOf("/"))}`, {
    recursive: true,
  });
  const launcher = [
    "#!/bin/sh",
    "# Stands for the compiled binary: the same program and permissions.",
    `exec ${Deno.execPath()} ${
      runArgsOfCompileTask().map((a) => `'${a}'`).join(" ")
    } "$@"`,
    "",
  ].join("\n");
  await Deno.writeTextFile(`${root}${binary}`, launcher, { mode: 0o755 });
  return root;
}

Deno.test("deploy/systemd/ari-proxy.service: own user, restart on failure, environment file", async () => {
  const unit = parseUnit(await Deno.readTextFile(UNIT));
  const service = unit.get("Service");
  assert.ok(service, "a [Service] section");
  assert.deepEqual(service.get("User"), ["ari-proxy"]);
  assert.deepEqual(service.get("Group"), ["ari-proxy"]);
  assert.deepEqual(service.get("Restart"), ["on-failure"]);
  assert.deepEqual(service.get("EnvironmentFile"), [
    "/etc/ari-proxy/ari-proxy.env",
  ]);
  assert.deepEqual(service.get("ExecStart"), ["/usr/local/bin/ari-proxy"]);
  // A configuration error (exit code 2) is not retried.
  assert.deepEqual(service.get("RestartPreventExitStatus"), ["2"]);
  for (
    const key of [
      "NoNewPrivileges",
      "ProtectSystem",
      "ProtectHome",
      "PrivateTmp",
      "PrivateDevices",
      "CapabilityBoundingSet",
      "SystemCallFilter",
      "RestrictAddressFamilies",
    ]
  ) assert.ok(service.has(key), `sandboxing option ${key}`);
  assert.deepEqual(unit.get("Install")?.get("WantedBy"), [
    "multi-user.target",
  ]);
});

Deno.test("deploy/systemd/ari-proxy.service passes systemd-analyze verify and security", async () => {
  const root = await unitRoot();
  try {
    const verify = await run("systemd-analyze", [
      "verify",
      `--root=${root}`,
      "--man=no",
      "/etc/systemd/system/ari-proxy.service",
    ]);
    assert.equal(
      verify.code,
      0,
      `systemd-analyze verify failed:\n${verify.stderr}`,
    );
    assert.equal(verify.stderr.trim(), "", "verify prints nothing");
    assert.equal(verify.stdout.trim(), "");

    const security = await run("systemd-analyze", [
      "security",
      "--offline=true",
      `--root=${root}`,
      "--man=no",
      "/etc/systemd/system/ari-proxy.service",
    ]);
    assert.equal(security.code, 0, security.stderr);
    const overall =
      /Overall exposure level for ari-proxy\.service: ([\d.]+) (\w+)/.exec(
        security.stdout,
      );
    assert.ok(overall, `no overall exposure in:\n${security.stdout}`);
    assert.ok(
      Number(overall[1]) <= 2.0,
      `exposure ${overall[1]} (${
        overall[2]
      }) is above 2.0:\n${security.stdout}`,
    );
    assert.equal(overall[2], "OK");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("deploy/systemd/ari-proxy.sysusers creates the unit's user with systemd-sysusers", async () => {
  const root = await Deno.makeTempDir({ prefix: "ari-sysusers-root-" });
  try {
    await Deno.mkdir(`${root}/etc`);
    const result = await run("systemd-sysusers", [
      `--root=${root}`,
      new URL(SYSUSERS).pathname,
    ]);
    assert.equal(result.code, 0, result.stderr);
    const passwd = await Deno.readTextFile(`${root}/etc/passwd`);
    const entry = passwd.split("\n").find((l) => l.startsWith("ari-proxy:"));
    assert.ok(entry, `no ari-proxy user in:\n${passwd}`);
    const [, , uid, gid, , home, shell] = entry.split(":");
    assert.ok(Number(uid) > 0 && Number(uid) < 1000, "a system uid");
    assert.equal(uid, gid);
    assert.equal(home, "/nonexistent");
    assert.equal(shell, "/usr/sbin/nologin");
    const group = await Deno.readTextFile(`${root}/etc/group`);
    assert.ok(group.split("\n").some((l) => l.startsWith("ari-proxy:")));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("deploy/systemd/ari-proxy.env names only settings the proxy knows, and runs it", async () => {
  const { active, commented } = parseEnvFile(
    await Deno.readTextFile(ENV_FILE),
  );
  const help = await new Deno.Command(Deno.execPath(), {
    args: [...runArgsOfCompileTask(), "--help"],
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(help.code, 0);
  const helpText = new TextDecoder().decode(help.stdout);
  // DENO_CERT is read by the Deno runtime itself (README: ARI over TLS).
  for (const name of [...active.keys(), ...commented]) {
    if (name === "DENO_CERT") continue;
    assert.ok(helpText.includes(`[${name}]`), `--help knows ${name}`);
  }
  for (
    const required of [
      "ARI_APPLICATION",
      "ARI_USERNAME",
      "ARI_PASSWORD",
      "MESSAGEBUS_URL",
    ]
  ) assert.ok(active.has(required), `the file sets ${required}`);

  // The file as shipped, with the addresses and secrets of real services.
  await using nats = await startNats();
  await using ast = await startAsterisk({
    app: active.get("ARI_APPLICATION")!,
    allowExternal: false,
  });
  const env: Record<string, string> = {
    ...Object.fromEntries(active),
    ARI_USERNAME: ast.username,
    ARI_PASSWORD: ast.password,
    ARI_HTTP_URL: ast.httpUrl,
    ARI_WEBSOCKET_URL: ast.wsUrl,
    MESSAGEBUS_URL: nats.url,
    HOME: "/nonexistent",
    PATH: Deno.env.get("PATH") ?? "",
    DENO_DIR: Deno.env.get("DENO_DIR") ??
      `${Deno.env.get("HOME")}/.cache/deno`,
  };
  const child = new Deno.Command(Deno.execPath(), {
    args: runArgsOfCompileTask(),
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let log = "";
  const reading = (async () => {
    for await (
      const chunk of child.stderr.pipeThrough(new TextDecoderStream())
    ) log += chunk;
  })();
  try {
    await using client = await connect({
      servers: nats.url,
      application: active.get("ARI_APPLICATION")!,
      discoveryWait: 0,
    });
    await waitFor(async () => {
      try {
        const info = await client.asterisk.info({
          node: ast.entityId,
          only: ["system"],
          timeout: 2_000,
        });
        return info.system?.entity_id === ast.entityId;
      } catch {
        return false;
      }
    }, { timeout: 30_000, interval: 100 }).catch((error) => {
      throw new Error(`The proxy never answered; its log:\n${log}`, {
        cause: error,
      });
    });
  } finally {
    child.kill("SIGTERM");
    const status = await child.status;
    await reading;
    assert.equal(status.code, 0, `exit code ${status.code}; log:\n${log}`);
  }
  // LOG_FORMAT=json from the file: every line is a JSON object.
  for (const line of log.trim().split("\n")) JSON.parse(line);
});

/** Instructions of a Containerfile, continuation lines joined. */
function parseContainerfile(
  text: string,
): { instruction: string; args: string }[] {
  const out: { instruction: string; args: string }[] = [];
  let pending = "";
  for (const raw of text.split("\n")) {
    const line = raw.trimEnd();
    if (pending === "" && (line.trim() === "" || line.trim().startsWith("#"))) {
      continue;
    }
    if (line.endsWith("\\")) {
      pending += line.slice(0, -1) + " ";
      continue;
    }
    const full = (pending + line).trim();
    pending = "";
    const match = /^([A-Za-z]+)\s+(.*)$/.exec(full);
    assert.ok(match, `not an instruction: ${full}`);
    out.push({ instruction: match[1]!.toUpperCase(), args: match[2]! });
  }
  assert.equal(pending, "", "a continuation line at the end");
  return out;
}

const KNOWN_INSTRUCTIONS = new Set([
  "FROM",
  "ARG",
  "LABEL",
  "COPY",
  "ENV",
  "USER",
  "STOPSIGNAL",
  "ENTRYPOINT",
  "CMD",
  "WORKDIR",
  "EXPOSE",
  "HEALTHCHECK",
  "VOLUME",
]);

Deno.test("deploy/container/Containerfile is well formed and matches the release workflow", async () => {
  const steps = parseContainerfile(await Deno.readTextFile(CONTAINERFILE));
  for (const { instruction } of steps) {
    assert.ok(KNOWN_INSTRUCTIONS.has(instruction), `unknown ${instruction}`);
  }
  const from = steps.filter((s) => s.instruction === "FROM");
  assert.equal(from.length, 1, "one stage");
  const base = from[0]!.args;
  assert.match(base, /^[\w.\/-]+(:[\w.-]+|@sha256:[0-9a-f]{64})$/);
  assert.doesNotMatch(base, /:latest$/, "a pinned base image");
  assert.equal(steps[0]!.instruction, "FROM");

  const user = steps.filter((s) => s.instruction === "USER");
  assert.equal(user.length, 1);
  const [uid, gid] = user[0]!.args.split(":");
  assert.ok(Number(uid) > 0 && Number(gid) > 0, "a numeric non-root user");

  const entrypoint = steps.find((s) => s.instruction === "ENTRYPOINT");
  assert.ok(entrypoint);
  const exec = JSON.parse(entrypoint.args) as string[];
  assert.ok(Array.isArray(exec) && exec.length === 1, "exec form");
  const copy = steps.find((s) => s.instruction === "COPY");
  assert.ok(copy);
  const copyArgs = copy.args.split(/\s+/);
  assert.equal(copyArgs.at(-1), exec[0], "ENTRYPOINT runs the copied binary");
  assert.ok(copyArgs.includes("--chmod=0755"));
  const source = copyArgs.at(-2)!;
  assert.equal(source, "dist/ari-proxy-linux-${TARGETARCH}");
  assert.ok(
    steps.some((s) => s.instruction === "ARG" && s.args === "TARGETARCH"),
  );
  assert.ok(
    !steps.some((s) => s.instruction === "ADD"),
    "no ADD (no downloads)",
  );

  // The release workflow puts both architectures' binaries where COPY
  // expects them, builds this file and attaches the image and the
  // deployment files to the release.
  const release = parseYaml(await Deno.readTextFile(RELEASE)) as {
    jobs: Record<
      string,
      { needs?: string | string[]; steps: { run?: string }[] }
    >;
  };
  const container = release.jobs.container;
  assert.ok(container, "a container job");
  const scripts = container.steps.map((s) => s.run ?? "").join("\n");
  for (const arch of ["amd64", "arm64"]) {
    assert.ok(
      scripts.includes(source.replace("${TARGETARCH}", arch)),
      `the workflow provides ${source.replace("${TARGETARCH}", arch)}`,
    );
  }
  assert.ok(scripts.includes("-f deploy/container/Containerfile"));
  assert.ok(scripts.includes("linux/amd64,linux/arm64"));
  const publish = release.jobs["github-release"];
  assert.ok(publish);
  assert.ok([publish.needs].flat().includes("container"));
  const publishScripts = publish.steps.map((s) => s.run ?? "").join("\n");
  for (
    const file of [
      "deploy/systemd/ari-proxy.service",
      "deploy/systemd/ari-proxy.env",
      "deploy/systemd/ari-proxy.sysusers",
      "deploy/nats/ari-permissions.conf",
    ]
  ) assert.ok(publishScripts.includes(file), `the release attaches ${file}`);
  // Every file the release packs exists.
  for (const match of publishScripts.matchAll(/deploy\/[\w\/.-]+/g)) {
    await Deno.stat(new URL(match[0], ROOT));
  }
});
