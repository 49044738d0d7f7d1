/**
 * Proxy configuration: command-line flags, environment variables and a YAML
 * file, merged into one typed {@linkcode ProxyConfig}.
 *
 * The Go ari-proxy v5 names work unchanged: flags `--ari.application`,
 * `--ari.username`, `--ari.password`, `--ari.http_url`, `--ari.websocket_url`,
 * `--messagebus.url`, `--nats.url`, `-v/--verbose`, `--config`, `-V/--version`;
 * environment variables are the flag names upper-cased with `.` replaced by
 * `_` (`ARI_APPLICATION`, `MESSAGEBUS_URL`, …); the YAML file (`--config`,
 * else `$HOME/.ari-proxy.yaml`) uses the same keys, nested (`ari:
 * {application: …}`) or dotted. Precedence: flag > environment > file >
 * default.
 *
 * @example
 * ```ts
 * import { loadConfig } from "./config.ts";
 * const result = await loadConfig({
 *   args: ["--ari.application", "myapp"],
 *   env: { ARI_USERNAME: "proxy", ARI_PASSWORD: "secret" },
 *   readTextFile: () => undefined,
 *   homeDir: undefined,
 * });
 * if (result.type === "config") console.assert(result.config.ari.application === "myapp");
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { parseListenAddress } from "./http.ts";

/** Default ARI REST base URL (as in Go). */
export const DEFAULT_ARI_HTTP_URL = "http://localhost:8088/ari";
/** Default ARI events WebSocket URL (as in Go). */
export const DEFAULT_ARI_WEBSOCKET_URL = "ws://localhost:8088/ari/events";
/** Default NATS URL (as in Go). */
export const DEFAULT_NATS_URL = "nats://127.0.0.1:4222";
/** Default subject prefix. */
export const DEFAULT_SUBJECT_PREFIX = "ari.";

/** The merged proxy configuration. */
export interface ProxyConfig {
  /** ARI connection. */
  ari: {
    application: string;
    username: string;
    password: string;
    httpUrl: string;
    websocketUrl: string;
    /**
     * Path of ARI requests: `RESTRequest` messages on the events WebSocket,
     * HTTP, or the WebSocket when Asterisk answers there (`auto`).
     */
    transport?: "auto" | "websocket" | "http";
  };
  /** NATS connection. */
  nats: {
    /** One or more server URLs (a comma-separated setting is split). */
    servers: string[];
    user?: string;
    password?: string;
    token?: string;
    /** Path of a NATS credentials (`.creds`) file. */
    credsFile?: string;
    /** TLS files. */
    tls?: { caFile?: string; certFile?: string; keyFile?: string };
    /** Connection name shown by the NATS server. */
    name: string;
  };
  /** Subject prefix, ending with `.`. */
  prefix: string;
  /**
   * Bytes of events allowed to wait for NATS before events are dropped
   * (the server's `maxPendingEventBytes`); unset: the server's default.
   */
  eventsMaxPendingBytes?: number;
  /** Address of the `/healthz`, `/readyz`, `/metrics` endpoint; unset: off. */
  httpListen?: string;
  /**
   * JetStream stream for events (`--events.stream`) and the limits of a
   * stream the proxy creates; unset: events on core NATS only.
   */
  eventStream?: {
    name: string;
    /** Max age of a created stream's events, in ms. */
    maxAge?: number;
    /** Size limit of a created stream, in bytes. */
    maxBytes?: number;
    /** Replicas of a created stream. */
    replicas?: number;
  };
  /** Debug logging. */
  verbose: boolean;
  /** Log format: JSON lines or human-readable text. */
  logFormat: "json" | "text";
  /** Where the configuration file was read from, if any. */
  configFile?: string;
}

/** The result of {@linkcode loadConfig}. */
export type LoadConfigResult =
  | { type: "config"; config: ProxyConfig; warnings: string[] }
  | { type: "help"; text: string }
  | { type: "version" }
  | { type: "error"; message: string };

/** Inputs of {@linkcode loadConfig}; injected so tests need no real environment. */
export interface LoadConfigOptions {
  /** Command-line arguments (without the program name). */
  args: string[];
  /** Environment variables. */
  env: Record<string, string | undefined>;
  /**
   * Reads a text file; returns `undefined` when it does not exist, throws on
   * other failures.
   */
  readTextFile: (path: string) => string | undefined;
  /** `$HOME`, for the default config file. */
  homeDir: string | undefined;
  /** Whether stdout is a terminal (picks the default log format). */
  isTerminal?: boolean;
}

interface SettingSpec {
  /** Flag/config key, e.g. `ari.http_url`. */
  key: string;
  /** Environment variable. */
  env: string;
  /** Help text. */
  help: string;
  /** Boolean flag. */
  boolean?: boolean;
  /** One-letter alias. */
  short?: string;
  /** Secret: never echoed. */
  secret?: boolean;
  /** Default shown in help. */
  defaultValue?: string;
}

const SETTINGS: readonly SettingSpec[] = [
  {
    key: "ari.application",
    env: "ARI_APPLICATION",
    help:
      "ARI Stasis application name, or several comma-separated (a,b,c) (required)",
  },
  {
    key: "ari.username",
    env: "ARI_USERNAME",
    help: "Username for connecting to ARI (required)",
  },
  {
    key: "ari.password",
    env: "ARI_PASSWORD",
    help: "Password for connecting to ARI (required)",
    secret: true,
  },
  {
    key: "ari.http_url",
    env: "ARI_HTTP_URL",
    help: "HTTP base URL of ARI",
    defaultValue: DEFAULT_ARI_HTTP_URL,
  },
  {
    key: "ari.websocket_url",
    env: "ARI_WEBSOCKET_URL",
    help: "WebSocket URL of ARI events",
    defaultValue: DEFAULT_ARI_WEBSOCKET_URL,
  },
  {
    key: "ari.transport",
    env: "ARI_TRANSPORT",
    help:
      "Path of ARI requests: websocket (RESTRequest messages on the events WebSocket, Asterisk 22+), http, or auto (the WebSocket when Asterisk answers there)",
    defaultValue: "auto",
  },
  {
    key: "messagebus.url",
    env: "MESSAGEBUS_URL",
    help: "NATS URL(s), comma-separated",
    defaultValue: DEFAULT_NATS_URL,
  },
  {
    key: "nats.url",
    env: "NATS_URL",
    help: "NATS URL(s); older name of --messagebus.url",
  },
  { key: "nats.user", env: "NATS_USER", help: "NATS user name" },
  {
    key: "nats.password",
    env: "NATS_PASSWORD",
    help: "NATS password",
    secret: true,
  },
  {
    key: "nats.token",
    env: "NATS_TOKEN",
    help: "NATS authentication token",
    secret: true,
  },
  {
    key: "nats.creds",
    env: "NATS_CREDS",
    help: "Path of a NATS credentials (.creds) file",
  },
  {
    key: "nats.tls_ca",
    env: "NATS_TLS_CA",
    help: "Path of a CA certificate for NATS TLS",
  },
  {
    key: "nats.tls_cert",
    env: "NATS_TLS_CERT",
    help: "Path of a client certificate for NATS TLS",
  },
  {
    key: "nats.tls_key",
    env: "NATS_TLS_KEY",
    help: "Path of the client certificate's key",
  },
  {
    key: "nats.name",
    env: "NATS_NAME",
    help: "Connection name shown by the NATS server",
    defaultValue: "ari-proxy-<app>",
  },
  {
    key: "prefix",
    env: "ARI_PROXY_PREFIX",
    help: "NATS subject prefix",
    defaultValue: DEFAULT_SUBJECT_PREFIX,
  },
  {
    key: "events.max_pending_bytes",
    env: "EVENTS_MAX_PENDING_BYTES",
    help:
      "Bytes of events allowed to wait for NATS; beyond, events are dropped, counted and logged",
    defaultValue: "33554432 (32 MiB)",
  },
  {
    key: "http.listen",
    env: "HTTP_LISTEN",
    help:
      "Serve /healthz, /readyz and Prometheus /metrics on HOST:PORT (or :PORT)",
    defaultValue: "off",
  },
  {
    key: "events.stream",
    env: "EVENTS_STREAM",
    help:
      "JetStream stream that stores the events (created when missing); events are published with acknowledgements",
    defaultValue: "off",
  },
  {
    key: "events.stream_max_age",
    env: "EVENTS_STREAM_MAX_AGE",
    help:
      "Max age of a created stream's events: ms, or a number with ms, s, m, h or d",
    defaultValue: "24h",
  },
  {
    key: "events.stream_max_bytes",
    env: "EVENTS_STREAM_MAX_BYTES",
    help: "Size limit of a created stream in bytes (oldest events go first)",
    defaultValue: "1073741824 (1 GiB)",
  },
  {
    key: "events.stream_replicas",
    env: "EVENTS_STREAM_REPLICAS",
    help: "Replicas of a created stream (3 survives one NATS server down)",
    defaultValue: "1",
  },
  {
    key: "log.format",
    env: "LOG_FORMAT",
    help: "Log format: json or text",
    defaultValue: "text on a terminal, else json",
  },
  {
    key: "verbose",
    env: "VERBOSE",
    help: "Enable debug logging",
    boolean: true,
    short: "v",
  },
];

/**
 * The `--help` text: every flag with its environment variable and default.
 *
 * @param version The version to show.
 * @returns Help text.
 *
 * @example
 * ```ts
 * import { helpText } from "./config.ts";
 * console.assert(helpText("1.0.0").includes("--ari.application"));
 * ```
 */
export function helpText(version: string): string {
  const lines = [
    `ari-proxy ${version}: a proxy for the Asterisk REST Interface (ARI) over NATS`,
    "",
    "Usage: ari-proxy [options]",
    "",
    "Options (environment variable in brackets; flag > environment > config file > default):",
  ];
  for (const s of SETTINGS) {
    const flag = `${s.short ? `-${s.short}, ` : "    "}--${s.key}${
      s.boolean ? "" : " <value>"
    }`;
    const def = s.defaultValue ? ` (default: ${s.defaultValue})` : "";
    lines.push(`  ${flag.padEnd(34)} ${s.help}${def} [${s.env}]`);
  }
  lines.push(
    `      ${
      "--config <file>".padEnd(28)
    } YAML config file (default: $HOME/.ari-proxy.yaml)`,
    `  -V, ${"--version".padEnd(28)} Print the version and exit`,
    `  -h, ${"--help".padEnd(28)} Print this help and exit`,
    "",
    "The config file uses the same keys, nested or dotted, for example:",
    "  ari:",
    "    application: myapp",
    "    username: proxy",
    "    password: secret",
    "    http_url: http://localhost:8088/ari",
    "    websocket_url: ws://localhost:8088/ari/events",
    "  messagebus:",
    "    url: nats://127.0.0.1:4222",
  );
  return lines.join("\n");
}

/**
 * Merges flags, environment and config file into a {@linkcode ProxyConfig}.
 * Never rejects: problems come back as `{type: "error", message}` naming
 * what to set. The YAML parser is loaded only when a config file exists
 * (it costs the proxy a few MiB of RSS otherwise).
 *
 * @param options Arguments, environment and file access.
 * @returns The config, or a request for help/version, or an error.
 *
 * @example
 * ```ts
 * import { loadConfig } from "./config.ts";
 * const r = await loadConfig({ args: [], env: {}, readTextFile: () => undefined, homeDir: undefined });
 * console.assert(r.type === "error");
 * ```
 */
export async function loadConfig(
  options: LoadConfigOptions,
): Promise<LoadConfigResult> {
  const { args, env, readTextFile, homeDir, isTerminal = false } = options;
  const parseOptions: Record<
    string,
    { type: "string" | "boolean"; short?: string }
  > = {
    config: { type: "string" },
    version: { type: "boolean", short: "V" },
    help: { type: "boolean", short: "h" },
  };
  for (const s of SETTINGS) {
    parseOptions[s.key] = s.short
      ? { type: s.boolean ? "boolean" : "string", short: s.short }
      : { type: s.boolean ? "boolean" : "string" };
  }
  let values: Record<string, string | boolean | undefined>;
  try {
    const parsed = parseArgs({
      args,
      options: parseOptions,
      strict: true,
      allowPositionals: false,
    });
    values = parsed.values as Record<string, string | boolean | undefined>;
  } catch (error) {
    return {
      type: "error",
      message: `Invalid command line: ${
        error instanceof Error ? error.message : String(error)
      } (see --help)`,
    };
  }
  if (values.help) return { type: "help", text: "" };
  if (values.version) return { type: "version" };

  const warnings: string[] = [];
  let file: Record<string, unknown> = {};
  const explicitFile = typeof values.config === "string"
    ? values.config
    : undefined;
  const configPath = explicitFile ??
    (homeDir ? `${homeDir}/.ari-proxy.yaml` : undefined);
  let configFile: string | undefined;
  if (configPath) {
    let text: string | undefined;
    try {
      text = readTextFile(configPath);
    } catch (error) {
      return {
        type: "error",
        message: `Cannot read config file "${configPath}": ${
          error instanceof Error ? error.message : String(error)
        }`,
      };
    }
    if (text === undefined && explicitFile) {
      return {
        type: "error",
        message: `Cannot read config file "${configPath}": file not found`,
      };
    }
    if (text !== undefined) {
      try {
        const { parse: parseYaml } = await import("yaml");
        const doc: unknown = parseYaml(text);
        if (doc !== null && doc !== undefined) {
          if (typeof doc !== "object" || Array.isArray(doc)) {
            return {
              type: "error",
              message:
                `Invalid config file "${configPath}": expected a mapping of settings`,
            };
          }
          file = doc as Record<string, unknown>;
        }
        configFile = configPath;
      } catch (error) {
        return {
          type: "error",
          message: `Invalid config file "${configPath}": ${
            error instanceof Error ? error.message : String(error)
          }`,
        };
      }
    }
  }

  function fromFile(key: string): string | undefined {
    let value: unknown = file[key];
    if (value === undefined) {
      let node: unknown = file;
      for (const part of key.split(".")) {
        if (node === null || typeof node !== "object") {
          node = undefined;
          break;
        }
        node = (node as Record<string, unknown>)[part];
      }
      value = node;
    }
    if (value === undefined || value === null) return undefined;
    if (
      typeof value === "string" || typeof value === "number" ||
      typeof value === "boolean"
    ) return String(value);
    if (Array.isArray(value)) return value.map(String).join(",");
    warnings.push(`Ignoring config file key "${key}": not a plain value`);
    return undefined;
  }

  function setting(key: string): string | undefined {
    const spec = SETTINGS.find((s) => s.key === key);
    const flag = values[key];
    if (typeof flag === "string") return flag;
    if (flag === true) return "true";
    const fromEnv = spec ? env[spec.env] : undefined;
    if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
    return fromFile(key);
  }

  function truthy(value: string | undefined): boolean {
    return value !== undefined && /^(1|true|yes|on)$/i.test(value.trim());
  }

  const application = (setting("ari.application") ?? "").split(",").map((a) =>
    a.trim()
  ).filter((a) => a !== "").join(",");
  const username = setting("ari.username") ?? "";
  const password = setting("ari.password") ?? "";
  const missing: string[] = [];
  if (!application) {
    missing.push("the ARI application (--ari.application or ARI_APPLICATION)");
  }
  if (!username) {
    missing.push("the ARI username (--ari.username or ARI_USERNAME)");
  }
  if (!password) {
    missing.push("the ARI password (--ari.password or ARI_PASSWORD)");
  }
  if (missing.length > 0) {
    return {
      type: "error",
      message: `Missing required settings: set ${missing.join(", ")}`,
    };
  }
  for (const name of application.split(",")) {
    if (/[\s.*>]/.test(name)) {
      return {
        type: "error",
        message:
          `Invalid ARI application "${name}": it is used as a NATS subject token, so it cannot contain spaces, ".", "*" or ">"`,
      };
    }
  }
  if (new Set(application.split(",")).size !== application.split(",").length) {
    return {
      type: "error",
      message:
        `Invalid ARI application "${application}": an application is listed twice`,
    };
  }

  const httpUrl = setting("ari.http_url") ?? DEFAULT_ARI_HTTP_URL;
  const websocketUrl = setting("ari.websocket_url") ??
    DEFAULT_ARI_WEBSOCKET_URL;
  for (
    const [name, value, schemes] of [
      ["ari.http_url", httpUrl, ["http:", "https:"]],
      ["ari.websocket_url", websocketUrl, ["ws:", "wss:"]],
    ] as const
  ) {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return {
        type: "error",
        message: `Invalid --${name} "${value}": not a URL`,
      };
    }
    if (!(schemes as readonly string[]).includes(url.protocol)) {
      return {
        type: "error",
        message: `Invalid --${name} "${value}": expected ${
          schemes.join(" or ")
        }`,
      };
    }
  }

  const transport = setting("ari.transport") ?? "auto";
  if (
    transport !== "auto" && transport !== "websocket" && transport !== "http"
  ) {
    return {
      type: "error",
      message:
        `Invalid --ari.transport "${transport}": expected websocket, http or auto`,
    };
  }

  // Kubernetes service discovery, as the Go proxy does.
  let natsSetting = setting("messagebus.url") ?? setting("nats.url");
  if (env.NATS_SERVICE_HOST) {
    natsSetting = `nats://${env.NATS_SERVICE_HOST}:${
      env.NATS_SERVICE_PORT_CLIENT ?? "4222"
    }`;
  }
  const servers = (natsSetting ?? DEFAULT_NATS_URL).split(",").map((s) =>
    s.trim()
  ).filter((s) => s.length > 0);
  if (servers.length === 0) {
    return {
      type: "error",
      message: "Invalid --messagebus.url: no NATS URL given",
    };
  }

  let prefix = setting("prefix") ?? DEFAULT_SUBJECT_PREFIX;
  if (prefix !== "" && !prefix.endsWith(".")) prefix += ".";
  if (
    /[\s*>]/.test(prefix) || prefix.startsWith(".") || prefix.includes("..")
  ) {
    return {
      type: "error",
      message: `Invalid --prefix "${prefix}": not a valid NATS subject prefix`,
    };
  }

  const maxPendingSetting = setting("events.max_pending_bytes");
  let eventsMaxPendingBytes: number | undefined;
  if (maxPendingSetting !== undefined) {
    eventsMaxPendingBytes = Number(maxPendingSetting.trim());
    if (
      !/^\d+$/.test(maxPendingSetting.trim()) ||
      !Number.isSafeInteger(eventsMaxPendingBytes) || eventsMaxPendingBytes < 1
    ) {
      return {
        type: "error",
        message:
          `Invalid --events.max_pending_bytes "${maxPendingSetting}": expected a positive whole number of bytes`,
      };
    }
  }

  const httpListen = setting("http.listen");
  if (httpListen !== undefined) {
    try {
      parseListenAddress(httpListen);
    } catch (error) {
      return {
        type: "error",
        message: `Invalid --http.listen: ${(error as Error).message}`,
      };
    }
  }

  const streamName = setting("events.stream");
  let eventStream: ProxyConfig["eventStream"];
  if (streamName !== undefined && streamName.trim() !== "") {
    const name = streamName.trim();
    if (/[\s.*>]/.test(name)) {
      return {
        type: "error",
        message:
          `Invalid --events.stream "${streamName}": expected a stream name without spaces, ".", "*" or ">"`,
      };
    }
    eventStream = { name };
    const age = setting("events.stream_max_age");
    if (age !== undefined) {
      const ms = parseDurationMs(age);
      if (ms === undefined) {
        return {
          type: "error",
          message:
            `Invalid --events.stream_max_age "${age}": expected a positive duration such as 86400000, 90m, 24h or 7d`,
        };
      }
      eventStream.maxAge = ms;
    }
    const bytes = setting("events.stream_max_bytes");
    if (bytes !== undefined) {
      const n = Number(bytes.trim());
      if (!/^\d+$/.test(bytes.trim()) || !Number.isSafeInteger(n) || n < 1) {
        return {
          type: "error",
          message:
            `Invalid --events.stream_max_bytes "${bytes}": expected a positive whole number of bytes`,
        };
      }
      eventStream.maxBytes = n;
    }
    const replicas = setting("events.stream_replicas");
    if (replicas !== undefined) {
      const n = Number(replicas.trim());
      if (!/^[1-5]$/.test(replicas.trim())) {
        return {
          type: "error",
          message:
            `Invalid --events.stream_replicas "${replicas}": expected 1 to 5`,
        };
      }
      eventStream.replicas = n;
    }
  }

  const logFormatSetting = setting("log.format");
  let logFormat: "json" | "text" = isTerminal ? "text" : "json";
  if (logFormatSetting !== undefined) {
    if (logFormatSetting !== "json" && logFormatSetting !== "text") {
      return {
        type: "error",
        message:
          `Invalid --log.format "${logFormatSetting}": expected json or text`,
      };
    }
    logFormat = logFormatSetting;
  }

  const nats: ProxyConfig["nats"] = {
    servers,
    name: setting("nats.name") ?? `ari-proxy-${application}`,
  };
  const user = setting("nats.user");
  const natsPassword = setting("nats.password");
  const token = setting("nats.token");
  const creds = setting("nats.creds");
  if (user) nats.user = user;
  if (natsPassword) nats.password = natsPassword;
  if (token) nats.token = token;
  if (creds) nats.credsFile = creds;
  if (token && user) {
    return {
      type: "error",
      message:
        "Conflicting settings: --nats.token and --nats.user are mutually exclusive",
    };
  }
  const tls: NonNullable<ProxyConfig["nats"]["tls"]> = {};
  const ca = setting("nats.tls_ca");
  const cert = setting("nats.tls_cert");
  const key = setting("nats.tls_key");
  if (ca) tls.caFile = ca;
  if (cert) tls.certFile = cert;
  if (key) tls.keyFile = key;
  if (Boolean(cert) !== Boolean(key)) {
    return {
      type: "error",
      message:
        "Incomplete settings: --nats.tls_cert and --nats.tls_key go together",
    };
  }
  if (ca || cert) nats.tls = tls;

  const config: ProxyConfig = {
    ari: {
      application,
      username,
      password,
      httpUrl,
      websocketUrl,
      transport,
    },
    nats,
    prefix,
    verbose: truthy(setting("verbose")),
    logFormat,
  };
  if (eventsMaxPendingBytes !== undefined) {
    config.eventsMaxPendingBytes = eventsMaxPendingBytes;
  }
  if (httpListen !== undefined) config.httpListen = httpListen;
  if (eventStream !== undefined) config.eventStream = eventStream;
  if (configFile) config.configFile = configFile;
  return { type: "config", config, warnings };
}

/**
 * A copy of the config that is safe to log: passwords and tokens replaced.
 *
 * @param config The config.
 * @returns The same shape with secrets masked.
 *
 * @example
 * ```ts
 * import { redactConfig, type ProxyConfig } from "./config.ts";
 * const c = {
 *   ari: { password: "secret" },
 *   nats: { servers: ["nats://127.0.0.1:4222"] },
 * } as unknown as ProxyConfig;
 * console.assert(redactConfig(c).ari.password === "***");
 * ```
 */
export function redactConfig(config: ProxyConfig): ProxyConfig {
  const copy: ProxyConfig = structuredClone(config);
  copy.ari.password = "***";
  if (copy.nats.password) copy.nats.password = "***";
  if (copy.nats.token) copy.nats.token = "***";
  copy.nats.servers = copy.nats.servers.map(redactUrl);
  copy.ari.httpUrl = redactUrl(copy.ari.httpUrl);
  copy.ari.websocketUrl = redactUrl(copy.ari.websocketUrl);
  return copy;
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return url;
  }
}

const DURATION_UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** `"90m"` → 5400000; a bare number is ms; `undefined` when invalid or not positive. */
function parseDurationMs(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(text.trim());
  if (!match) return undefined;
  const ms = Number(match[1]) * DURATION_UNITS[match[2] ?? "ms"]!;
  return ms >= 1 && Number.isFinite(ms) ? Math.round(ms) : undefined;
}
