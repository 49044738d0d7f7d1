/**
 * Logging set-up for the proxy service (LogTape).
 *
 * Library code (the client, the server modules) only asks for loggers by
 * category (`["ari-proxy", …]`) and stays silent until the service configures
 * sinks here: JSON lines for machines, readable text on a terminal. Logs go to
 * stderr so stdout stays free.
 *
 * @example
 * ```ts ignore
 * import { setupLogging } from "./logging.ts";
 * await using _logging = await setupLogging({ format: "text", verbose: false });
 * ```
 *
 * @module
 */

import {
  ansiColorFormatter,
  configure,
  dispose,
  getStreamSink,
  getTextFormatter,
  jsonLinesFormatter,
} from "@logtape/logtape";

/** Options of {@linkcode setupLogging}. */
export interface LoggingOptions {
  /** `json`: one JSON object a line; `text`: human-readable. */
  format: "json" | "text";
  /** Debug level when true, info otherwise. */
  verbose: boolean;
  /** Colour the text format. @default false */
  color?: boolean;
  /** Where to write. @default Deno.stderr.writable */
  stream?: WritableStream<Uint8Array>;
}

/**
 * Configures LogTape for the categories `ari-proxy` (service and client) and
 * the LogTape meta logger (warnings only).
 *
 * @param options Format, level and stream.
 * @returns A handle that flushes and removes the configuration on dispose.
 *
 * @example
 * ```ts ignore
 * import { setupLogging } from "./logging.ts";
 * const logging = await setupLogging({ format: "json", verbose: true });
 * await logging[Symbol.asyncDispose]();
 * ```
 */
export async function setupLogging(
  options: LoggingOptions,
): Promise<AsyncDisposable> {
  const { format, verbose, color = false, stream = Deno.stderr.writable } =
    options;
  const formatter = format === "json"
    ? jsonLinesFormatter
    : color
    ? ansiColorFormatter
    : getTextFormatter();
  await configure({
    reset: true,
    sinks: {
      stderr: getStreamSink(stream, { formatter, closeStream: false }),
    },
    loggers: [
      {
        category: ["ari-proxy"],
        lowestLevel: verbose ? "debug" : "info",
        sinks: ["stderr"],
      },
      {
        category: ["logtape", "meta"],
        lowestLevel: "warning",
        sinks: ["stderr"],
      },
    ],
  });
  return {
    async [Symbol.asyncDispose]() {
      await dispose();
    },
  };
}
