/**
 * Command-line parsing shared by the operator commands (`cluster`, `events`,
 * `request`): the proxy's NATS options (same flags, same environment
 * variables, flag > environment) plus each command's own options, and the
 * one NATS connection they open.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { credsAuthenticator } from "@nats-io/nats-core";
import type { ConnectionOptions, NatsConnection } from "@nats-io/nats-core";
import { connectNats } from "../../client/nats/deno_socket.ts";
import { DEFAULT_NATS_URL, DEFAULT_SUBJECT_PREFIX } from "../config.ts";

/** What an operator command reads and writes; injected so tests can drive it. */
export interface CommandIo {
  /** Environment variables. */
  env: Record<string, string | undefined>;
  /** Writes to standard output (text includes its newlines). */
  out(text: string): void;
  /** Writes to standard error (text includes its newlines). */
  err(text: string): void;
  /** Aborted by Ctrl-C (SIGINT) or SIGTERM: the command then ends with exit code 0. */
  signal: AbortSignal;
}

/** One option of a command, as `node:util` `parseArgs` takes it, with help. */
export interface CommandOption {
  /** `string` takes a value, `boolean` is a switch. */
  type: "string" | "boolean";
  /** Help text. */
  help: string;
  /** Placeholder of the value in the help (`<ms>`). */
  value?: string;
  /** One-letter alias. */
  short?: string;
}

/** The proxy's NATS settings, as the operator commands take them. */
interface NatsSetting {
  key: string;
  env: string;
  help: string;
}

/** Same keys and environment variables as the proxy (`lib/config.ts`). */
const NATS_SETTINGS: readonly NatsSetting[] = [
  {
    key: "messagebus.url",
    env: "MESSAGEBUS_URL",
    help: `NATS URL(s), comma-separated (default: ${DEFAULT_NATS_URL})`,
  },
  { key: "nats.url", env: "NATS_URL", help: "older name of --messagebus.url" },
  { key: "nats.user", env: "NATS_USER", help: "NATS user name" },
  { key: "nats.password", env: "NATS_PASSWORD", help: "NATS password" },
  { key: "nats.token", env: "NATS_TOKEN", help: "NATS token" },
  { key: "nats.creds", env: "NATS_CREDS", help: "NATS credentials file" },
  { key: "nats.tls_ca", env: "NATS_TLS_CA", help: "CA certificate (TLS)" },
  { key: "nats.tls_cert", env: "NATS_TLS_CERT", help: "client certificate" },
  { key: "nats.tls_key", env: "NATS_TLS_KEY", help: "client key" },
  {
    key: "prefix",
    env: "ARI_PROXY_PREFIX",
    help: `NATS subject prefix (default: ${DEFAULT_SUBJECT_PREFIX})`,
  },
];

/** The parsed command line of an operator command. */
export interface ParsedCommand {
  /** The command's own options. */
  values: Record<string, string | boolean | undefined>;
  /** Positional arguments. */
  positionals: string[];
  /** NATS connection options (servers, credentials, TLS). */
  nats: ConnectionOptions & { servers: string[] };
  /** Subject prefix, ending with `.` (or empty). */
  prefix: string;
}

/** Thrown for a command line that cannot be used; main prints it and exits 2. */
export class UsageError extends Error {
  /**
   * @param message What is wrong.
   * @param options The underlying failure.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "UsageError";
  }
}

/**
 * Parses an operator command's arguments: its own options, `--help`, and the
 * proxy's NATS options (flag > environment > default).
 *
 * @param args The arguments after the command name.
 * @param env Environment variables.
 * @param options The command's own options.
 * @returns The parsed command line, or `"help"` for `--help`.
 * @throws {UsageError} For an unknown option or a bad value.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseCommand } from "./options.ts";
 *
 * const parsed = parseCommand(["--nats.url", "nats://10.0.0.1:4222", "--watch"], {}, {
 *   watch: { type: "boolean", help: "keep watching" },
 * });
 * assert.ok(parsed !== "help");
 * assert.deepEqual(parsed.nats.servers, ["nats://10.0.0.1:4222"]);
 * assert.equal(parsed.values.watch, true);
 * assert.equal(parsed.prefix, "ari.");
 * ```
 */
export function parseCommand(
  args: string[],
  env: Record<string, string | undefined>,
  options: Record<string, CommandOption>,
): ParsedCommand | "help" {
  const spec: Record<string, { type: "string" | "boolean"; short?: string }> = {
    help: { type: "boolean", short: "h" },
  };
  for (const s of NATS_SETTINGS) spec[s.key] = { type: "string" };
  for (const [name, option] of Object.entries(options)) {
    spec[name] = option.short
      ? { type: option.type, short: option.short }
      : { type: option.type };
  }
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    const parsed = parseArgs({
      args,
      options: spec,
      strict: true,
      allowPositionals: true,
    });
    values = parsed.values as Record<string, string | boolean | undefined>;
    positionals = parsed.positionals;
  } catch (error) {
    throw new UsageError(
      `Invalid command line: ${
        error instanceof Error ? error.message : String(error)
      } (see --help)`,
      { cause: error },
    );
  }
  if (values.help) return "help";
  function setting(key: string): string | undefined {
    const flag = values[key];
    if (typeof flag === "string" && flag !== "") return flag;
    const name = NATS_SETTINGS.find((s) => s.key === key)!.env;
    const value = env[name];
    return value === undefined || value === "" ? undefined : value;
  }
  let url = setting("messagebus.url") ?? setting("nats.url");
  if (env.NATS_SERVICE_HOST) {
    url = `nats://${env.NATS_SERVICE_HOST}:${
      env.NATS_SERVICE_PORT_CLIENT ?? "4222"
    }`;
  }
  const servers = (url ?? DEFAULT_NATS_URL).split(",").map((s) => s.trim())
    .filter(Boolean);
  if (servers.length === 0) {
    throw new UsageError("Invalid --messagebus.url: no NATS URL given");
  }
  const nats: ParsedCommand["nats"] = { servers };
  const user = setting("nats.user");
  const pass = setting("nats.password");
  const token = setting("nats.token");
  if (user && token) {
    throw new UsageError(
      "Conflicting settings: --nats.token and --nats.user are mutually exclusive",
    );
  }
  if (user) nats.user = user;
  if (pass) nats.pass = pass;
  if (token) nats.token = token;
  const creds = setting("nats.creds");
  if (creds) {
    try {
      nats.authenticator = credsAuthenticator(Deno.readFileSync(creds));
    } catch (error) {
      throw new UsageError(
        `Cannot read NATS credentials file "${creds}": ${
          error instanceof Error ? error.message : String(error)
        }`,
        { cause: error },
      );
    }
  }
  const ca = setting("nats.tls_ca");
  const cert = setting("nats.tls_cert");
  const key = setting("nats.tls_key");
  if (Boolean(cert) !== Boolean(key)) {
    throw new UsageError(
      "Incomplete settings: --nats.tls_cert and --nats.tls_key go together",
    );
  }
  if (ca || cert) {
    nats.tls = {
      ...(ca ? { caFile: ca } : {}),
      ...(cert ? { certFile: cert } : {}),
      ...(key ? { keyFile: key } : {}),
    };
  }
  let prefix = setting("prefix") ?? DEFAULT_SUBJECT_PREFIX;
  if (prefix !== "" && !prefix.endsWith(".")) prefix += ".";
  if (/[\s*>]/.test(prefix) || prefix.startsWith(".")) {
    throw new UsageError(
      `Invalid --prefix "${prefix}": not a valid NATS subject prefix`,
    );
  }
  return { values, positionals, nats, prefix };
}

/**
 * Help text of one operator command: usage, its options, the NATS options.
 *
 * @param usage The usage line and description.
 * @param options The command's own options.
 * @returns The help text (ends with a newline).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { commandHelp } from "./options.ts";
 *
 * const text = commandHelp("Usage: ari-proxy cluster", {});
 * assert.match(text, /--messagebus.url/);
 * assert.match(text, /MESSAGEBUS_URL/);
 * ```
 */
export function commandHelp(
  usage: string,
  options: Record<string, CommandOption>,
): string {
  const lines = [usage, "", "Options:"];
  for (const [name, option] of Object.entries(options)) {
    const flag = `${option.short ? `-${option.short}, ` : "    "}--${name}${
      option.type === "string" ? ` ${option.value ?? "<value>"}` : ""
    }`;
    lines.push(`  ${flag.padEnd(30)} ${option.help}`);
  }
  lines.push(`  ${"-h, --help".padEnd(30)} Print this help and exit`);
  lines.push(
    "",
    "NATS options (as the proxy's; environment variable in brackets):",
  );
  for (const s of NATS_SETTINGS) {
    lines.push(`      ${`--${s.key} <value>`.padEnd(26)} ${s.help} [${s.env}]`);
  }
  return lines.join("\n") + "\n";
}

/** How long an operator command waits for NATS, in ms. */
export const CONNECT_TIMEOUT = 5_000;

/** Raised when NATS cannot be reached; main prints it and exits 1. */
export class NatsUnreachableError extends Error {
  /** The servers tried. */
  readonly servers: string[];

  /**
   * @param servers The servers tried.
   * @param options The underlying failure.
   */
  constructor(servers: string[], options?: ErrorOptions) {
    const cause = options?.cause;
    super(
      `Cannot connect to NATS at ${
        servers.map((s) => s.replace(/\/\/[^@/]*@/, "//***@")).join(", ")
      }: ${
        cause instanceof Error ? cause.message : String(cause)
      } (set --messagebus.url or MESSAGEBUS_URL)`,
      options,
    );
    this.name = "NatsUnreachableError";
    this.servers = servers;
  }
}

/**
 * Connects once (no endless retry as the proxy does: an operator wants an
 * answer).
 *
 * @param options The parsed NATS options.
 * @param name The connection name shown by the NATS server.
 * @returns The connection.
 * @throws {NatsUnreachableError} When NATS cannot be reached.
 *
 * @example
 * ```ts ignore
 * const nc = await connectOnce(parsed.nats, "ari-proxy-cluster");
 * ```
 */
export async function connectOnce(
  options: ParsedCommand["nats"],
  name: string,
): Promise<NatsConnection> {
  try {
    return await connectNats({
      ...options,
      name,
      timeout: CONNECT_TIMEOUT,
      reconnect: false,
    });
  } catch (error) {
    throw new NatsUnreachableError(options.servers, { cause: error });
  }
}
