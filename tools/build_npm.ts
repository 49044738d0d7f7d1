/**
 * Builds the client package the way JSR serves it to npm, Node and Bun
 * projects (`npx jsr add @ari-proxy/client` installs
 * `npm:@jsr/ari-proxy__client`): every published `.ts` file of `client/`
 * becomes an ES module `.js` beside a `.d.ts`, relative `.ts` imports become
 * `.js`, bare imports stay bare, and a `package.json` names the exports
 * (`types` + `default`) and the npm dependencies from `client/deno.json`'s
 * import map.
 *
 * JSR transpiles with its own compiler (deno_ast); this tool uses the
 * TypeScript compiler API (a well-kept library that emits both the
 * JavaScript and the declarations, with `rewriteRelativeImportExtensions`),
 * without type checking, as JSR does. The Node/Bun tests import the result
 * from a program in a temporary directory (`tests/runtimes_test.ts`).
 *
 * Usage: `deno task build:npm [--out dist/npm]`
 *
 * @module
 */

import ts from "typescript";
import { parseArgs } from "node:util";

/** What {@linkcode buildNpmPackage} produced. */
export interface NpmBuild {
  /** The package directory (holds `package.json`). */
  dir: string;
  /** The npm name JSR gives the package (`@jsr/<scope>__<name>`). */
  npmName: string;
  /** The name users import (`@<scope>/<name>`), their alias for {@linkcode NpmBuild.npmName}. */
  importName: string;
  /** The package version. */
  version: string;
  /** The npm dependencies (name → range). */
  dependencies: Record<string, string>;
}

/** Options of {@linkcode buildNpmPackage}. */
export interface BuildNpmOptions {
  /** The package source folder (with `deno.json`). @default {`client/` of this repository} */
  source?: string;
  /** The output folder (emptied first). */
  out: string;
}

interface DenoJson {
  name: string;
  version: string;
  license?: string;
  exports: Record<string, string>;
  imports?: Record<string, string>;
  publish?: { exclude?: string[] };
}

/** Whether `path` (relative, with `/`) is left out by the publish excludes. */
function excluded(path: string, patterns: readonly string[]): boolean {
  return patterns.some((pattern) => {
    const glob = pattern.replace(/^\.\//, "");
    const source = glob
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replace(/\*\*\//g, "(?:.*/)?")
      .replace(/\*/g, "[^/]*")
      .replace(/\/$/, "/.*");
    return new RegExp(`^${source}$`).test(path);
  });
}

async function listSources(
  root: string,
  exclude: readonly string[],
): Promise<string[]> {
  const files: string[] = [];
  async function walk(rel: string): Promise<void> {
    for await (const entry of Deno.readDir(`${root}/${rel}`)) {
      const path = rel === "" ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory) {
        if (!excluded(`${path}/`, exclude)) await walk(path);
      } else if (path.endsWith(".ts") && !excluded(path, exclude)) {
        files.push(path);
      }
    }
  }
  await walk("");
  return files.sort();
}

function npmDependencies(
  imports: Record<string, string>,
): Record<string, string> {
  const deps: Record<string, string> = {};
  for (const target of Object.values(imports)) {
    const match = /^npm:(@?[^@/]+(?:\/[^@/]+)?)@([^/]+)$/.exec(target);
    if (match === null) {
      throw new TypeError(
        `Cannot map the import ${JSON.stringify(target)} to an npm dependency`,
      );
    }
    deps[match[1]!] = match[2]!;
  }
  return deps;
}

/** Rewrites relative `.ts` module specifiers of a declaration file to `.js`. */
function rewriteDeclarationSpecifiers(text: string): string {
  return text.replace(
    /((?:from\s+|import\s*\(\s*)["'])(\.{1,2}\/[^"']+)\.ts(["'])/g,
    "$1$2.js$3",
  );
}

function toJsPath(path: string): string {
  return `./${path.replace(/^\.\//, "").replace(/\.ts$/, "")}`;
}

/**
 * Builds the npm form of the package into `options.out`.
 *
 * @param options Source and output folders.
 * @returns Where the package is and what it is called.
 * @throws {Error} When the compiler reports a syntax error.
 *
 * @example
 * ```ts ignore
 * import { buildNpmPackage } from "./build_npm.ts";
 *
 * const build = await buildNpmPackage({ out: "dist/npm" });
 * console.log(build.npmName); // "@jsr/ari-proxy__client"
 * ```
 */
export async function buildNpmPackage(
  options: BuildNpmOptions,
): Promise<NpmBuild> {
  const source = options.source ??
    new URL("../client", import.meta.url).pathname;
  const out = options.out;
  const config = JSON.parse(
    await Deno.readTextFile(`${source}/deno.json`),
  ) as DenoJson;
  const [scope, name] = config.name.replace(/^@/, "").split("/");
  const npmName = `@jsr/${scope}__${name}`;
  const exclude = config.publish?.exclude ?? [];
  const files = await listSources(source, exclude);

  await Deno.remove(out, { recursive: true }).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
  await Deno.mkdir(out, { recursive: true });

  const program = ts.createProgram(
    files.map((f) => `${source}/${f}`),
    {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      declaration: true,
      noCheck: true,
      skipLibCheck: true,
      noEmitOnError: false,
      allowImportingTsExtensions: true,
      rewriteRelativeImportExtensions: true,
      rootDir: source,
      outDir: out,
      types: [],
      lib: ["lib.esnext.d.ts", "lib.dom.d.ts"],
      newLine: ts.NewLineKind.LineFeed,
    },
  );
  const syntax = program.getSyntacticDiagnostics();
  if (syntax.length > 0) {
    const text = ts.formatDiagnostics(syntax, {
      getCanonicalFileName: (f) => f,
      getCurrentDirectory: () => source,
      getNewLine: () => "\n",
    });
    throw new Error(`Cannot build the npm package: ${text}`);
  }
  // Declarations keep `.ts` specifiers; JSR's point at the `.js` files.
  const writeFile: ts.WriteFileCallback = (file, text, bom) =>
    ts.sys.writeFile(
      file,
      file.endsWith(".d.ts") ? rewriteDeclarationSpecifiers(text) : text,
      bom,
    );
  const result = program.emit(undefined, writeFile);
  if (result.emitSkipped) {
    throw new Error(
      "Cannot build the npm package: the compiler emitted nothing",
    );
  }

  const exportsMap: Record<string, { types: string; default: string }> = {};
  for (const [key, path] of Object.entries(config.exports)) {
    const base = toJsPath(path);
    exportsMap[key] = { types: `${base}.d.ts`, default: `${base}.js` };
  }
  const dependencies = npmDependencies(config.imports ?? {});
  const manifest = {
    name: npmName,
    version: config.version,
    type: "module",
    ...(config.license ? { license: config.license } : {}),
    exports: exportsMap,
    dependencies,
  };
  await Deno.writeTextFile(
    `${out}/package.json`,
    JSON.stringify(manifest, null, 2) + "\n",
  );
  for (const extra of ["LICENSE", "README.md"]) {
    await Deno.copyFile(`${source}/${extra}`, `${out}/${extra}`).catch(
      (error) => {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      },
    );
  }
  return {
    dir: out,
    npmName,
    importName: config.name,
    version: config.version,
    dependencies,
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { out: { type: "string", default: "dist/npm" } },
  });
  const build = await buildNpmPackage({ out: values.out });
  // deno-lint-ignore no-console
  console.log(`${build.npmName}@${build.version} → ${build.dir}`);
}
