/**
 * ari-proxy: the command-line entry point.
 *
 * Parses flags, environment and the YAML config file into one typed config,
 * sets up logging, starts the proxy, and stops it cleanly on SIGINT/SIGTERM
 * (stop intake, let in-flight requests answer, drain NATS, close the ARI
 * WebSocket, exit 0).
 *
 * @example
 * ```sh
 * ARI_APPLICATION=myapp ARI_USERNAME=proxy ARI_PASSWORD=secret deno task start
 * ```
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import denoConfig from "./deno.json" with { type: "json" };
import {
  helpText,
  loadConfig,
  type ProxyConfig,
  redactConfig,
} from "./lib/config.ts";
import { setupLogging } from "./lib/logging.ts";
import { commandsHelp, isCommand, runCommand } from "./lib/cli/mod.ts";
import { type ProxyOptions, startProxy } from "./lib/server.ts";

/** The proxy's version, from `deno.json`. */
export const VERSION: string = denoConfig.version;

/**
 * Maps the merged configuration onto the server's options.
 *
 * @param config The merged configuration.
 * @returns Options for {@linkcode startProxy}.
 *
 * @example
 * ```ts ignore
 * const options = toProxyOptions(config);
 * ```
 */
export function toProxyOptions(config: ProxyConfig): ProxyOptions {
  const nats: ProxyOptions["nats"] = {
    servers: config.nats.servers,
    name: config.nats.name,
  };
  if (config.nats.user !== undefined) nats.user = config.nats.user;
  if (config.nats.password !== undefined) nats.pass = config.nats.password;
  if (config.nats.token !== undefined) nats.token = config.nats.token;
  if (config.nats.credsFile !== undefined) {
    nats.credsFile = config.nats.credsFile;
  }
  if (config.nats.tls !== undefined) nats.tls = config.nats.tls;
  const options: ProxyOptions = {
    ari: { ...config.ari },
    nats,
    prefix: config.prefix,
  };
  if (config.eventsMaxPendingBytes !== undefined) {
    options.maxPendingEventBytes = config.eventsMaxPendingBytes;
  }
  return options;
}

function readTextFile(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/**
 * Runs the proxy until SIGINT or SIGTERM.
 *
 * @param args Command-line arguments.
 * @returns The process exit code.
 *
 * @example
 * ```ts ignore
 * Deno.exit(await main(Deno.args));
 * ```
 */
export async function main(args: string[]): Promise<number> {
  // Operator commands: ari-proxy cluster | events | request (lib/cli/).
  if (isCommand(args[0])) return await runCommand(args[0], args.slice(1));
  const isTerminal = Deno.stderr.isTerminal();
  const result = await loadConfig({
    args,
    env: Deno.env.toObject(),
    readTextFile,
    homeDir: Deno.env.get("HOME"),
    isTerminal,
  });
  const encoder = new TextEncoder();
  switch (result.type) {
    case "help":
      await Deno.stdout.write(
        encoder.encode(helpText(VERSION) + "\n\n" + commandsHelp() + "\n"),
      );
      return 0;
    case "version":
      await Deno.stdout.write(encoder.encode(VERSION + "\n"));
      return 0;
    case "error":
      await Deno.stderr.write(
        encoder.encode(`ari-proxy: ${result.message}\n`),
      );
      return 2;
  }
  const { config, warnings } = result;
  await using _logging = await setupLogging({
    format: config.logFormat,
    verbose: config.verbose,
    color: isTerminal,
  });
  const log = getLogger(["ari-proxy", "main"]);
  for (const warning of warnings) log.warn(warning);
  log.info("Starting ari-proxy {version}", {
    version: VERSION,
    config: redactConfig(config),
  });

  // One root controller: a signal stops start-up retries or the running proxy.
  const shutdown = new AbortController();
  const stop = Promise.withResolvers<string>();
  const onSignal = (name: string) => () => {
    stop.resolve(name);
    shutdown.abort(new Error(`Received ${name}`));
  };
  const signals: [Deno.Signal, () => void][] = [
    ["SIGINT", onSignal("SIGINT")],
    ["SIGTERM", onSignal("SIGTERM")],
  ];
  for (const [signal, handler] of signals) {
    Deno.addSignalListener(signal, handler);
  }
  try {
    let server;
    try {
      server = await startProxy({
        ...toProxyOptions(config),
        signal: shutdown.signal,
      });
    } catch (error) {
      if (shutdown.signal.aborted) {
        log.info("Received {signal} before start-up completed; exiting", {
          signal: await stop.promise,
        });
        return 0;
      }
      throw error;
    }
    const signal = await stop.promise;
    log.info("Received {signal}; draining and shutting down", { signal });
    await server.close();
    log.info("ari-proxy stopped");
    return 0;
  } catch (error) {
    log.fatal("ari-proxy failed: {error}", { error });
    return 1;
  } finally {
    for (const [signal, handler] of signals) {
      Deno.removeSignalListener(signal, handler);
    }
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
