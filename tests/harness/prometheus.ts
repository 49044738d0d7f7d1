/**
 * A real Prometheus server (Debian package `prometheus`) scraping loopback
 * targets, and `promtool check metrics`, for tests of the `/metrics`
 * endpoint.
 *
 * @module
 */

import { findExecutable, spawnProcess } from "../../tools/stack/_internal.ts";
import { freePort, waitFor } from "../../tools/stack/mod.ts";

const INSTALL_HINT =
  "install Debian's prometheus package (apt-get install -y prometheus), which brings promtool too, or set PROMETHEUS_BIN / PROMTOOL_BIN";

function binary(name: string, envName: string): string {
  const path = findExecutable(Deno.env.get(envName) ?? name);
  if (path === undefined) {
    throw new Error(`Cannot find ${name}: ${INSTALL_HINT}`);
  }
  return path;
}

/** A running Prometheus; release with `await using`. */
export interface PrometheusServer extends AsyncDisposable {
  /** Base URL of its HTTP API, e.g. `http://127.0.0.1:9090`. */
  readonly url: string;
  /** Runs an instant query; resolves with the result vector. */
  query(
    promql: string,
  ): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  /** Its output so far (for failure messages). */
  output(): string;
  /** Stops it (by pid) and removes its data directory. */
  close(): Promise<void>;
}

/** Options of {@linkcode startPrometheus}. */
export interface StartPrometheusOptions {
  /** Scrape targets, `host:port`. */
  targets: string[];
  /**
   * Scrape interval, in seconds.
   *
   * @default {1}
   */
  scrapeInterval?: number;
}

/**
 * Starts Prometheus on a free loopback port, scraping `targets` every
 * second, and waits until it is ready.
 *
 * @example
 * ```ts ignore
 * await using prometheus = await startPrometheus({ targets: ["127.0.0.1:9464"] });
 * console.log(await prometheus.query("up"));
 * ```
 */
export async function startPrometheus(
  options: StartPrometheusOptions,
): Promise<PrometheusServer> {
  const bin = binary("prometheus", "PROMETHEUS_BIN");
  const dir = await Deno.makeTempDir({ prefix: "ari-proxy-prometheus-" });
  const interval = options.scrapeInterval ?? 1;
  const config = [
    "global:",
    `  scrape_interval: ${interval}s`,
    `  scrape_timeout: ${interval}s`,
    "scrape_configs:",
    "  - job_name: ari-proxy",
    "    static_configs:",
    `      - targets: [${
      options.targets.map((t) => JSON.stringify(t)).join(", ")
    }]`,
    "",
  ].join("\n");
  await Deno.writeTextFile(`${dir}/prometheus.yml`, config);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = spawnProcess(bin, [
    `--config.file=${dir}/prometheus.yml`,
    `--storage.tsdb.path=${dir}/data`,
    `--web.listen-address=127.0.0.1:${port}`,
  ]);
  let closed = false;
  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    await proc.stop(5_000);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  try {
    await waitFor(async () => {
      if (proc.exited()) {
        throw new Error(`Prometheus exited: ${proc.output().slice(-2000)}`);
      }
      try {
        const response = await fetch(`${url}/-/ready`);
        await response.body?.cancel();
        return response.ok;
      } catch {
        return false;
      }
    }, { timeout: 30_000, interval: 100, message: "Prometheus to be ready" });
  } catch (error) {
    await close();
    throw error;
  }
  return {
    url,
    async query(promql) {
      const response = await fetch(
        `${url}/api/v1/query?query=${encodeURIComponent(promql)}`,
      );
      const body = await response.json() as {
        status: string;
        data?: {
          result: { metric: Record<string, string>; value: [number, string] }[];
        };
        error?: string;
      };
      if (body.status !== "success" || body.data === undefined) {
        throw new Error(`Prometheus query ${promql} failed: ${body.error}`);
      }
      return body.data.result;
    },
    output: () => proc.output(),
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * Runs `promtool check metrics` on an exposition text.
 *
 * @returns Its exit code and output (lint problems are listed there).
 *
 * @example
 * ```ts ignore
 * const { code, output } = await promtoolCheckMetrics("# HELP x_total X.\n# TYPE x_total counter\nx_total 1\n");
 * ```
 */
export async function promtoolCheckMetrics(
  text: string,
): Promise<{ code: number; output: string }> {
  const child = new Deno.Command(binary("promtool", "PROMTOOL_BIN"), {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  const decoder = new TextDecoder();
  return { code, output: decoder.decode(stdout) + decoder.decode(stderr) };
}
