/**
 * `ari-proxy request KIND [JSON]`: sends one protocol request through the
 * proxies, routed and merged exactly as the client does it, and prints the
 * reply. The JSON holds the request's other fields (`key`, the body field
 * named in docs/PROTOCOL.md); `--app` and `--node` go into the key.
 *
 * @module
 */

import { createNatsTransport } from "../../client/nats/mod.ts";
import {
  decodeRequest,
  isKindName,
  isValidToken,
  kindInfo,
} from "../../client/protocol/mod.ts";
import {
  commandHelp,
  type CommandIo,
  type CommandOption,
  connectOnce,
  parseCommand,
  UsageError,
} from "./options.ts";

const OPTIONS: Record<string, CommandOption> = {
  app: {
    type: "string",
    value: "<app>",
    help: "ARI application (key.app); without it every application answers",
  },
  node: {
    type: "string",
    value: "<node>",
    help:
      "Node (key.node, an Asterisk entity id); without it the cluster answers",
  },
  dialog: {
    type: "string",
    value: "<dialog>",
    help: "Dialog (key.dialog): bind what the request creates to it",
  },
  timeout: {
    type: "string",
    value: "<ms>",
    help: "How long to wait for the reply (default 5000)",
  },
};

const USAGE = `Usage: ari-proxy request KIND [JSON] [options]

Sends one request through the proxies, as a client would, and prints the
reply as JSON. KIND is a request kind (docs/PROTOCOL.md lists them all); JSON
holds the request's other fields, for example:

  ari-proxy request AsteriskInfo
  ari-proxy request ChannelList --app demo
  ari-proxy request ChannelData '{"key":{"kind":"channel","id":"c1"}}'
  ari-proxy request ChannelHangup '{"key":{"id":"c1"},"channel_hangup":{"reason":"normal"}}'

Exits 0 when the reply has no error, 1 when it has one (the reply is printed
either way).`;

/**
 * Runs `ari-proxy request`.
 *
 * @param args The arguments after `request`.
 * @param io Environment, output and the Ctrl-C signal.
 * @returns The exit code: 0 for a reply without error, 1 for an error reply
 * or no reply, 2 for a bad command line.
 * @throws {NatsUnreachableError} When NATS cannot be reached.
 *
 * @example
 * ```ts ignore
 * const code = await runRequest(["ChannelList", "--app", "demo"], io);
 * ```
 */
export async function runRequest(
  args: string[],
  io: CommandIo,
): Promise<number> {
  const parsed = parseCommand(args, io.env, OPTIONS);
  if (parsed === "help") {
    io.out(commandHelp(USAGE, OPTIONS));
    return 0;
  }
  const [kind, body, ...extra] = parsed.positionals;
  if (kind === undefined) {
    throw new UsageError("Missing the request kind (see --help)");
  }
  if (extra.length > 0) {
    throw new UsageError(
      `Unexpected argument "${extra[0]}" (the JSON is one argument; quote it)`,
    );
  }
  if (!isKindName(kind)) {
    throw new UsageError(
      `Unknown request kind "${kind}" (docs/PROTOCOL.md lists every kind)`,
    );
  }
  let fields: Record<string, unknown> = {};
  if (body !== undefined) {
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch (error) {
      throw new UsageError(
        `Invalid JSON for "${kind}": ${
          error instanceof Error ? error.message : String(error)
        }`,
        { cause: error },
      );
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      throw new UsageError(
        `Invalid JSON for "${kind}": expected an object such as {"key":{"id":"…"}}`,
      );
    }
    fields = value as Record<string, unknown>;
  }
  const key: Record<string, unknown> =
    fields.key !== null && typeof fields.key === "object"
      ? { ...fields.key as Record<string, unknown> }
      : {};
  for (const name of ["app", "node", "dialog"] as const) {
    const value = parsed.values[name];
    if (value === undefined) continue;
    if (typeof value !== "string" || !isValidToken(value)) {
      throw new UsageError(`Invalid --${name} "${value}"`);
    }
    key[name] = value;
  }
  const info = kindInfo(kind);
  if (info?.keyKind && key.id !== undefined && key.kind === undefined) {
    key.kind = info.keyKind;
  }
  let timeout = 5_000;
  if (parsed.values.timeout !== undefined) {
    timeout = Number(parsed.values.timeout);
    if (!/^\d+$/.test(String(parsed.values.timeout)) || timeout < 1) {
      throw new UsageError(
        `Invalid --timeout "${parsed.values.timeout}": expected a whole number of milliseconds`,
      );
    }
  }
  const wire = JSON.stringify({
    ...fields,
    kind,
    key: Object.keys(key).length > 0 ? key : null,
  });
  const decoded = decodeRequest(wire);
  if (!decoded.ok) throw new UsageError(decoded.error.message);

  const nc = await connectOnce(parsed.nats, "ari-proxy-request");
  try {
    await using transport = await createNatsTransport({
      connection: nc,
      prefix: parsed.prefix,
      timeout,
      retries: 0,
      ...(typeof parsed.values.app === "string"
        ? { application: parsed.values.app }
        : {}),
    });
    const response = await transport.request(decoded.request, {
      timeout,
      signal: io.signal,
    });
    io.out(JSON.stringify(response, null, 2) + "\n");
    if (typeof response.error === "string" && response.error !== "") {
      io.err(`ari-proxy request: ${kind} failed: ${response.error}\n`);
      return 1;
    }
    return 0;
  } finally {
    await nc.close();
  }
}
