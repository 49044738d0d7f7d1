/**
 * Runs programs that use the client on Node and Bun the way their users get
 * it: the package built as JSR builds it for npm (`tools/build_npm.ts`),
 * installed under its alias `@ari-proxy/client` in a temporary project with
 * its own `package.json`, and the programs transpiled next to it.
 *
 * The runtimes come from `scripts/runtimes.txt`, installed by
 * `scripts/install-runtimes.sh` (run by `.ci/run`) into env
 * `ARI_PROXY_RUNTIMES`, else {@linkcode DEFAULT_RUNTIMES_DIR}.
 *
 * @module
 */

import ts from "typescript";
import { buildNpmPackage, type NpmBuild } from "../../tools/build_npm.ts";

/** Default folder of the installed runtimes. */
export const DEFAULT_RUNTIMES_DIR = "/var/cache/ari-proxy/runtimes";

const REPO = new URL("../../", import.meta.url).pathname;

/** One installed runtime. */
export interface RuntimeBinary {
  /** `node` or `bun`. */
  runtime: string;
  /** Its version, as in `scripts/runtimes.txt`. */
  version: string;
  /** E.g. "node 22.23.5". */
  label: string;
  /** The executable. */
  bin: string;
}

/**
 * Lists the runtimes of `scripts/runtimes.txt` and checks that each one is
 * installed and reports its version.
 *
 * @returns The runtimes, in file order.
 * @throws {Error} When one is missing (with the command that installs it).
 */
export async function findRuntimes(): Promise<RuntimeBinary[]> {
  const dir = Deno.env.get("ARI_PROXY_RUNTIMES") || DEFAULT_RUNTIMES_DIR;
  const text = await Deno.readTextFile(`${REPO}scripts/runtimes.txt`);
  const found: RuntimeBinary[] = [];
  for (const line of text.split("\n")) {
    const [runtime, version] = line.trim().split(/\s+/);
    if (!runtime || runtime.startsWith("#") || !version) continue;
    const bin = `${dir}/${runtime}-${version}/bin/${runtime}`;
    let reported = "";
    try {
      const out = await new Deno.Command(bin, {
        args: ["--version"],
        stdout: "piped",
        stderr: "null",
      }).output();
      reported = new TextDecoder().decode(out.stdout).trim();
    } catch {
      // Reported below.
    }
    if (reported.replace(/^v/, "") !== version) {
      throw new Error(
        `Cannot find ${runtime} ${version} at ${bin} (got ${
          JSON.stringify(reported)
        }): run scripts/install-runtimes.sh (or .ci/run), or set ARI_PROXY_RUNTIMES`,
      );
    }
    found.push({ runtime, version, label: `${runtime} ${version}`, bin });
  }
  return found;
}

/** A temporary npm-style project with the client installed. */
export interface ConsumerProject extends AsyncDisposable {
  /** The project folder (has `package.json` and `node_modules/`). */
  readonly dir: string;
  /** The build that was installed. */
  readonly build: NpmBuild;
  /** The path of a program transpiled from `<path>.ts` (relative to the repository). */
  program(path: string): string;
  /** Removes the folder. */
  close(): Promise<void>;
}

/**
 * Creates the project: builds the package into
 * `node_modules/@ari-proxy/client` (what `npx jsr add @ari-proxy/client`
 * installs), links its npm dependencies to the locked copies in this
 * repository's `node_modules/`, and transpiles `programs` (paths in the
 * repository, e.g. `"tests/runtimes/contract_program.ts"`) to `.js` with
 * the same layout.
 *
 * @param programs The programs and the modules they import.
 * @returns The project; close it to remove it.
 */
export async function createConsumerProject(
  programs: readonly string[],
): Promise<ConsumerProject> {
  const dir = await Deno.makeTempDir({ prefix: "ari-client-npm-" });
  let build: NpmBuild;
  try {
    build = await buildNpmPackage({
      out: `${dir}/node_modules/@ari-proxy/client`,
    });
    await Deno.writeTextFile(
      `${dir}/package.json`,
      JSON.stringify(
        {
          name: "ari-client-consumer",
          private: true,
          type: "module",
          dependencies: {
            [build.importName]: `npm:${build.npmName}@${build.version}`,
          },
        },
        null,
        2,
      ),
    );
    for (const name of Object.keys(build.dependencies)) {
      const target = await Deno.realPath(`${REPO}node_modules/${name}`);
      const link = `${dir}/node_modules/${name}`;
      await Deno.mkdir(link.slice(0, link.lastIndexOf("/")), {
        recursive: true,
      });
      await Deno.symlink(target, link, { type: "dir" });
    }
    for (const path of programs) {
      const source = await Deno.readTextFile(`${REPO}${path}`);
      const { outputText } = ts.transpileModule(source, {
        fileName: path,
        compilerOptions: {
          target: ts.ScriptTarget.ES2022,
          module: ts.ModuleKind.ESNext,
          rewriteRelativeImportExtensions: true,
          verbatimModuleSyntax: false,
        },
      });
      const out = `${dir}/${path.replace(/\.ts$/, ".js")}`;
      await Deno.mkdir(out.slice(0, out.lastIndexOf("/")), {
        recursive: true,
      });
      await Deno.writeTextFile(out, outputText);
    }
  } catch (error) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw error;
  }
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  return {
    dir,
    build,
    program: (path) => `${dir}/${path.replace(/\.ts$/, ".js")}`,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** What a program run printed. */
export interface ProgramRun {
  /** Exit code (`null` when the watchdog ended it). */
  code: number | null;
  /** Every JSON line of its standard output. */
  lines: Record<string, unknown>[];
  /** Its standard output that was not JSON, and its standard error. */
  text: string;
}

/**
 * Runs `program` (from {@linkcode ConsumerProject.program}) with `runtime`
 * in the project folder, with one JSON argument. A watchdog ends a program
 * that has not exited after `watchdog` ms (a hang is a failure, reported
 * with `code: null`).
 *
 * @param runtime The runtime.
 * @param project The project.
 * @param program The program path.
 * @param argument Serialized as the first argument.
 * @param watchdog Milliseconds before the program is ended.
 * @returns Exit code and output.
 */
export async function runProgram(
  runtime: RuntimeBinary,
  project: ConsumerProject,
  program: string,
  argument: unknown,
  watchdog = 300_000,
): Promise<ProgramRun> {
  const child = new Deno.Command(runtime.bin, {
    args: [program, JSON.stringify(argument)],
    cwd: project.dir,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
  }, watchdog);
  try {
    const out = await child.output();
    const lines: Record<string, unknown>[] = [];
    const other: string[] = [];
    for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
      if (line.trim() === "") continue;
      try {
        lines.push(JSON.parse(line));
      } catch {
        other.push(line);
      }
    }
    other.push(new TextDecoder().decode(out.stderr));
    return {
      code: timedOut ? null : out.code,
      lines,
      text: other.join("\n").trim(),
    };
  } finally {
    clearTimeout(timer);
  }
}
