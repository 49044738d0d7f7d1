/**
 * The operator commands of the `ari-proxy` binary: what an operator reaches
 * for when something is wrong, with the proxy's NATS options.
 *
 * - `ari-proxy cluster [--watch]`: members of the cluster (node, application).
 * - `ari-proxy events [--app A] [--node N] [--dialog D] [--type T] [--json]`:
 *   tail events.
 * - `ari-proxy request KIND [JSON] [--app A] [--node N]`: one request, its
 *   reply.
 *
 * @example
 * ```ts ignore
 * import { isCommand, runCommand } from "./mod.ts";
 *
 * if (isCommand(Deno.args[0])) {
 *   Deno.exit(await runCommand(Deno.args[0], Deno.args.slice(1)));
 * }
 * ```
 *
 * @module
 */

import { runCluster } from "./cluster.ts";
import { runEvents } from "./events.ts";
import { type CommandIo, NatsUnreachableError, UsageError } from "./options.ts";
import { runRequest } from "./request.ts";

export { formatEvent } from "./events.ts";
export { NatsUnreachableError, UsageError } from "./options.ts";
export type { CommandIo } from "./options.ts";

const COMMANDS = {
  cluster: runCluster,
  events: runEvents,
  request: runRequest,
} as const;

/** The name of an operator command. */
export type CommandName = keyof typeof COMMANDS;

/**
 * Whether `name` is an operator command.
 *
 * @param name The first command-line argument.
 * @returns `true` for `cluster`, `events` and `request`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isCommand } from "./mod.ts";
 *
 * assert.ok(isCommand("cluster"));
 * assert.ok(!isCommand("--help"));
 * ```
 */
export function isCommand(name: string | undefined): name is CommandName {
  return name !== undefined && Object.hasOwn(COMMANDS, name);
}

/**
 * The commands' lines for the proxy's `--help`.
 *
 * @returns Help lines, joined with newlines.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { commandsHelp } from "./mod.ts";
 *
 * assert.match(commandsHelp(), /ari-proxy cluster/);
 * ```
 */
export function commandsHelp(): string {
  return [
    "Operator commands (each has --help; NATS options as above):",
    "  ari-proxy cluster [--watch]           Members of the cluster (node, application)",
    "  ari-proxy events [--app A] [--node N] [--dialog D] [--type T] [--json]",
    "                                        Tail events, one line each",
    "  ari-proxy request KIND [JSON] [--app A] [--node N]",
    "                                        Send one request, print the reply",
  ].join("\n");
}

/**
 * Runs an operator command and turns its failures into an exit code and one
 * clear line on stderr: 2 for a bad command line, 1 when NATS is unreachable
 * or the command fails.
 *
 * @param name The command.
 * @param args The arguments after it.
 * @param io Environment and output; by default the process's, with Ctrl-C
 * and SIGTERM ending the command (exit code 0).
 * @returns The exit code.
 *
 * @example
 * ```ts ignore
 * Deno.exit(await runCommand("cluster", ["--wait", "500"]));
 * ```
 */
export async function runCommand(
  name: CommandName,
  args: string[],
  io?: CommandIo,
): Promise<number> {
  const controller = new AbortController();
  const stop = () => controller.abort(new Error("Interrupted"));
  const own = io === undefined;
  const encoder = new TextEncoder();
  const actual: CommandIo = io ?? {
    env: Deno.env.toObject(),
    out: (text) => writeAll(Deno.stdout, encoder.encode(text)),
    err: (text) => writeAll(Deno.stderr, encoder.encode(text)),
    signal: controller.signal,
  };
  if (own) {
    Deno.addSignalListener("SIGINT", stop);
    Deno.addSignalListener("SIGTERM", stop);
  }
  try {
    return await COMMANDS[name](args, actual);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    actual.err(`ari-proxy ${name}: ${message}\n`);
    if (error instanceof UsageError) return 2;
    if (actual.signal.aborted && !(error instanceof NatsUnreachableError)) {
      return 0;
    }
    return 1;
  } finally {
    if (own) {
      Deno.removeSignalListener("SIGINT", stop);
      Deno.removeSignalListener("SIGTERM", stop);
    }
  }
}

function writeAll(
  stream: { writeSync(p: Uint8Array): number },
  bytes: Uint8Array,
): void {
  let written = 0;
  while (written < bytes.length) {
    written += stream.writeSync(bytes.subarray(written));
  }
}
