/**
 * `ari-proxy cluster`: who is serving. Pings the proxies (`<prefix>ping`),
 * collects their announcements (`<prefix>announce`) for a moment and prints
 * a table of members (node, application); `--watch` keeps pinging and
 * prints joins and leaves as they happen.
 *
 * @module
 */

import {
  announceSubject,
  decodeAnnouncement,
  pingSubject,
} from "../../client/protocol/mod.ts";
import {
  commandHelp,
  type CommandIo,
  type CommandOption,
  connectOnce,
  parseCommand,
  UsageError,
} from "./options.ts";

/** The ping body the Go client sends. */
const PING_BODY = '{"kind":"","key":null}';

const OPTIONS: Record<string, CommandOption> = {
  wait: {
    type: "string",
    value: "<ms>",
    help: "How long to collect announcements (default 1000)",
  },
  watch: {
    type: "boolean",
    help:
      "Keep pinging and print joins and leaves as they happen (until Ctrl-C)",
  },
  interval: {
    type: "string",
    value: "<ms>",
    help:
      "With --watch: ping period; a member silent for 3 periods has left (default 2000)",
  },
  json: { type: "boolean", help: "One JSON object per member or change" },
};

const USAGE = `Usage: ari-proxy cluster [options]

Pings the ari-proxy servers on NATS and prints the members that answer: one
row per node (Asterisk entity id) and application.`;

function positiveMs(
  name: string,
  value: string | boolean | undefined,
  fallback: number,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (typeof value !== "string" || !/^\d+$/.test(value) || n < 1) {
    throw new UsageError(
      `Invalid --${name} "${value}": expected a whole number of milliseconds`,
    );
  }
  return n;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

function time(): string {
  return new Date().toISOString().slice(11, 23);
}

/**
 * Runs `ari-proxy cluster`.
 *
 * @param args The arguments after `cluster`.
 * @param io Environment, output and the Ctrl-C signal.
 * @returns The exit code: 0 (also with no member; the table says so), 2 for
 * a bad command line.
 * @throws {NatsUnreachableError} When NATS cannot be reached.
 *
 * @example
 * ```ts ignore
 * const code = await runCluster(["--wait", "500"], io);
 * ```
 */
export async function runCluster(
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
  const wait = positiveMs("wait", parsed.values.wait, 1_000);
  const interval = positiveMs("interval", parsed.values.interval, 2_000);
  const json = parsed.values.json === true;
  const nc = await connectOnce(parsed.nats, "ari-proxy-cluster");
  try {
    /** "node app" → last time seen (ms). */
    const members = new Map<
      string,
      { node: string; app: string; seen: number }
    >();
    const changes: { type: "join" | "leave"; node: string; app: string }[] = [];
    const sub = nc.subscribe(announceSubject(parsed.prefix), {
      callback: (_error, msg) => {
        const a = decodeAnnouncement(msg.data);
        if (!a) return;
        const id = `${a.node} ${a.application}`;
        const known = members.get(id);
        if (known) known.seen = Date.now();
        else {
          members.set(id, {
            node: a.node,
            app: a.application,
            seen: Date.now(),
          });
          changes.push({ type: "join", node: a.node, app: a.application });
        }
      },
    });
    try {
      nc.publish(pingSubject(parsed.prefix), PING_BODY);
      await nc.flush();
      await sleep(wait, io.signal);
      const rows = [...members.values()].sort((a, b) =>
        a.node.localeCompare(b.node) || a.app.localeCompare(b.app)
      );
      if (json) {
        for (const m of rows) {
          io.out(JSON.stringify({ node: m.node, application: m.app }) + "\n");
        }
      } else io.out(table(rows));
      if (!parsed.values.watch) return 0;
      changes.length = 0;
      while (!io.signal.aborted) {
        nc.publish(pingSubject(parsed.prefix), PING_BODY);
        await sleep(interval, io.signal);
        const cutoff = Date.now() - 3 * interval;
        for (const [id, m] of members) {
          if (m.seen < cutoff) {
            members.delete(id);
            changes.push({ type: "leave", node: m.node, app: m.app });
          }
        }
        for (const change of changes.splice(0)) {
          io.out(
            json
              ? JSON.stringify({
                time: new Date().toISOString(),
                type: change.type,
                node: change.node,
                application: change.app,
              }) + "\n"
              : `${time()} ${
                change.type === "join" ? "joined" : "left  "
              } node ${change.node} application ${change.app}\n`,
          );
        }
      }
      return 0;
    } finally {
      sub.unsubscribe();
    }
  } finally {
    await nc.close();
  }
}

function table(rows: { node: string; app: string }[]): string {
  if (rows.length === 0) return "No ari-proxy answered.\n";
  const width = Math.max(4, ...rows.map((r) => r.node.length));
  const lines = [
    `${"NODE".padEnd(width)}  APPLICATION`,
    ...rows.map((r) => `${r.node.padEnd(width)}  ${r.app}`),
    `${rows.length} member${rows.length === 1 ? "" : "s"}`,
  ];
  return lines.join("\n") + "\n";
}
