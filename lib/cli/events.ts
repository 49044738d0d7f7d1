/**
 * `ari-proxy events`: tails the events the proxies publish
 * (`<prefix>event.<app>.<node>`, or `<prefix>dialogevent.<dialog>` with
 * `--dialog`), one readable line each (time, node, application, type, the
 * entity ids) or the raw JSON.
 *
 * @module
 */

import {
  dialogEventSubject,
  eventKeys,
  isValidToken,
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
  app: { type: "string", value: "<app>", help: "Only this ARI application" },
  node: {
    type: "string",
    value: "<node>",
    help: "Only this node (Asterisk entity id)",
  },
  dialog: {
    type: "string",
    value: "<dialog>",
    help: "The events of this dialog (its own subject)",
  },
  type: {
    type: "string",
    value: "<types>",
    help:
      "Only these event types, comma-separated (e.g. StasisStart,StasisEnd)",
  },
  json: { type: "boolean", help: "Print each event's raw JSON on one line" },
  count: {
    type: "string",
    value: "<n>",
    help: "Exit after this many events (default: until Ctrl-C)",
  },
};

const USAGE = `Usage: ari-proxy events [options]

Tails the ARI events the proxies publish on NATS, one line each: time, node,
application, type and the ids of the entities the event is about.`;

function token(
  name: string,
  value: string | boolean | undefined,
): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !isValidToken(value)) {
    throw new UsageError(
      `Invalid --${name} "${value}": expected one NATS subject token (no spaces, ".", "*" or ">")`,
    );
  }
  return value;
}

/**
 * One readable line for an event.
 *
 * @param event The event as published (with `application` and `asterisk_id`).
 * @param now The time to show.
 * @returns The line, without a newline.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatEvent } from "./events.ts";
 *
 * const line = formatEvent({
 *   type: "StasisStart",
 *   application: "demo",
 *   asterisk_id: "02:00:00:00:00:01",
 *   channel: { id: "c1" },
 * }, new Date("2026-01-01T10:00:00.250Z"));
 * assert.equal(line, "10:00:00.250 02:00:00:00:00:01 demo StasisStart channel:c1");
 * ```
 */
export function formatEvent(event: Record<string, unknown>, now: Date): string {
  const ids = eventKeys(event).map((k) => `${k.kind}:${k.id}`);
  const dialog = typeof event.dialog === "string"
    ? [`dialog:${event.dialog}`]
    : [];
  return [
    now.toISOString().slice(11, 23),
    String(event.asterisk_id ?? "-"),
    String(event.application ?? "-"),
    String(event.type ?? "-"),
    ...ids,
    ...dialog,
  ].join(" ");
}

/**
 * Runs `ari-proxy events` until Ctrl-C (or `--count` events).
 *
 * @param args The arguments after `events`.
 * @param io Environment, output and the Ctrl-C signal.
 * @returns The exit code: 0, or 2 for a bad command line.
 * @throws {NatsUnreachableError} When NATS cannot be reached.
 *
 * @example
 * ```ts ignore
 * const code = await runEvents(["--app", "demo", "--type", "StasisStart"], io);
 * ```
 */
export async function runEvents(
  args: string[],
  io: CommandIo,
): Promise<number> {
  const parsed = parseCommand(args, io.env, OPTIONS);
  if (parsed === "help") {
    io.out(commandHelp(USAGE, OPTIONS));
    return 0;
  }
  if (parsed.positionals.length > 0) {
    throw new UsageError(
      `Unexpected argument "${parsed.positionals[0]}" (see --help)`,
    );
  }
  const app = token("app", parsed.values.app);
  const node = parsed.values.node;
  if (node !== undefined && (typeof node !== "string" || !isValidToken(node))) {
    throw new UsageError(`Invalid --node "${node}": expected an entity id`);
  }
  const dialog = token("dialog", parsed.values.dialog);
  const types = typeof parsed.values.type === "string"
    ? new Set(
      parsed.values.type.split(",").map((t) => t.trim()).filter(Boolean),
    )
    : undefined;
  let limit = Infinity;
  if (parsed.values.count !== undefined) {
    limit = Number(parsed.values.count);
    if (!/^\d+$/.test(String(parsed.values.count)) || limit < 1) {
      throw new UsageError(
        `Invalid --count "${parsed.values.count}": expected a whole number of at least 1`,
      );
    }
  }
  const subject = dialog !== undefined
    ? dialogEventSubject(parsed.prefix, dialog)
    : `${parsed.prefix}event.${app ?? "*"}.${node ?? "*"}`;
  const nc = await connectOnce(parsed.nats, "ari-proxy-events");
  const decoder = new TextDecoder();
  try {
    const done = Promise.withResolvers<void>();
    let seen = 0;
    const sub = nc.subscribe(subject, {
      callback: (_error, msg) => {
        if (seen >= limit) return;
        const text = decoder.decode(msg.data);
        let event: Record<string, unknown>;
        try {
          const value: unknown = JSON.parse(text);
          if (
            value === null || typeof value !== "object" || Array.isArray(value)
          ) {
            throw new TypeError("not a JSON object");
          }
          event = value as Record<string, unknown>;
        } catch (error) {
          io.err(
            `ari-proxy events: skipping an undecodable message on "${msg.subject}": ${
              error instanceof Error ? error.message : String(error)
            }\n`,
          );
          return;
        }
        // The dialog subject carries every application and node.
        if (app !== undefined && event.application !== app) return;
        if (
          node !== undefined &&
          String(event.asterisk_id ?? "").toLowerCase() !== node.toLowerCase()
        ) return;
        if (types && !types.has(String(event.type))) return;
        seen++;
        io.out(
          (parsed.values.json ? text.trim() : formatEvent(event, new Date())) +
            "\n",
        );
        if (seen >= limit) done.resolve();
      },
    });
    await nc.flush();
    io.err(`ari-proxy events: listening on ${subject} (Ctrl-C ends)\n`);
    const onAbort = () => done.resolve();
    io.signal.addEventListener("abort", onAbort, { once: true });
    const closed = nc.closed().then((error) => {
      if (error) throw error;
    });
    try {
      await Promise.race([done.promise, closed]);
    } finally {
      io.signal.removeEventListener("abort", onAbort);
      sub.unsubscribe();
    }
    return 0;
  } finally {
    await nc.close();
  }
}
