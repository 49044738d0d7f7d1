/**
 * A fake ari-proxy for transport tests: raw NATS responders that behave like
 * the Go server on the wire (plain subscriptions on `get`/`data`/`command`
 * at three levels, queue group `ariproxy` on `create`, an announcement
 * `{"node","application"}` on every ping), answering with a handler.
 *
 * @module
 */

import {
  connect,
  type Msg,
  type NatsConnection,
  type Subscription,
} from "@nats-io/transport-node";

/** A request as the fake proxy saw it. */
export interface SeenRequest {
  /** Subject it arrived on. */
  subject: string;
  /** Reply subject. */
  reply: string;
  /** Raw body. */
  raw: string;
  /** Parsed body. */
  body:
    & { kind: string; key: Record<string, string> | null }
    & Record<
      string,
      unknown
    >;
}

/** What the handler returns: a response object, raw JSON text, or `null` for no reply. */
export type FakeReply = Record<string, unknown> | string | null;

/** Options of {@linkcode startFakeProxy}. */
export interface FakeProxyOptions {
  /** NATS URL. */
  url: string;
  /** Asterisk node id. */
  node: string;
  /** ARI application. */
  app: string;
  /** Prefix. @default {"ari."} */
  prefix?: string;
  /** Answers a request; default: `{"error":"Not implemented"}` like Go. */
  handler?: (
    request: SeenRequest,
    proxy: FakeProxy,
  ) => FakeReply | Promise<FakeReply>;
  /** Announcement field for the node id: Go's `node` or the seed's `asterisk`. */
  announceField?: "node" | "asterisk";
  /** Answer pings. @default {true} */
  answerPings?: boolean;
}

/** A running fake proxy. */
export interface FakeProxy extends AsyncDisposable {
  readonly node: string;
  readonly app: string;
  /** Every request received, in order. */
  readonly requests: SeenRequest[];
  /** The proxy's own NATS connection. */
  readonly nc: NatsConnection;
  /** Whether pings are answered. */
  answerPings: boolean;
  /** Publishes an announcement now. */
  announce(): void;
  /** Publishes a raw event body on a subject. */
  publish(subject: string, body: string | Record<string, unknown>): void;
  /** Waits until everything published has reached the server. */
  flush(): Promise<void>;
  /** Stops answering and disconnects. */
  close(): Promise<void>;
}

const CLASSES = ["get", "data", "command", "create"] as const;

/**
 * Starts a fake proxy on its own NATS connection.
 *
 * @example
 * ```ts ignore live
 * import { startFakeProxy } from "./fake_proxy.ts";
 *
 * await using proxy = await startFakeProxy({
 *   url: "nats://127.0.0.1:4222",
 *   node: "n1",
 *   app: "a",
 * });
 * ```
 */
export async function startFakeProxy(
  options: FakeProxyOptions,
): Promise<FakeProxy> {
  const {
    url,
    node,
    app,
    prefix = "ari.",
    handler = () => ({ error: "Not implemented" }),
    announceField = "node",
    answerPings = true,
  } = options;
  const nc = await connect({ servers: url, name: `fake-proxy-${node}` });
  const subs: Subscription[] = [];
  const requests: SeenRequest[] = [];
  let closed = false;

  const proxy: FakeProxy = {
    node,
    app,
    requests,
    nc,
    answerPings,
    announce() {
      if (closed) return;
      nc.publish(
        `${prefix}announce`,
        JSON.stringify({ [announceField]: node, application: app }),
      );
    },
    publish(subject, body) {
      nc.publish(
        subject,
        typeof body === "string" ? body : JSON.stringify(body),
      );
    },
    flush: () => nc.flush(),
    async close() {
      if (closed) return;
      closed = true;
      for (const sub of subs) sub.unsubscribe();
      await nc.close();
    },
    [Symbol.asyncDispose]() {
      return this.close();
    },
  };

  async function onRequest(msg: Msg): Promise<void> {
    if (closed || !msg.reply) return;
    const raw = msg.string();
    let body: SeenRequest["body"];
    try {
      body = JSON.parse(raw);
    } catch {
      return; // Go drops invalid JSON without a reply.
    }
    const seen: SeenRequest = {
      subject: msg.subject,
      reply: msg.reply,
      raw,
      body,
    };
    requests.push(seen);
    const reply = await handler(seen, proxy);
    if (reply === null || closed) return;
    msg.respond(typeof reply === "string" ? reply : JSON.stringify(reply));
  }

  for (const cls of CLASSES) {
    for (
      const subject of [
        `${prefix}${cls}`,
        `${prefix}${cls}.${app}`,
        `${prefix}${cls}.${app}.${node}`,
      ]
    ) {
      subs.push(
        nc.subscribe(subject, {
          ...(cls === "create" ? { queue: "ariproxy" } : {}),
          callback: (_err, msg) => void onRequest(msg),
        }),
      );
    }
  }
  subs.push(
    nc.subscribe(`${prefix}ping`, {
      callback: () => {
        if (proxy.answerPings) proxy.announce();
      },
    }),
  );
  await nc.flush();
  return proxy;
}

/** A list reply of channel keys for a fake proxy. */
export function channelKeys(
  proxy: Pick<FakeProxy, "node" | "app">,
  ...ids: string[]
): Record<string, unknown> {
  return ids.length === 0 ? { error: "" } : {
    error: "",
    keys: ids.map((id) => ({
      kind: "channel",
      id,
      node: proxy.node,
      app: proxy.app,
    })),
  };
}
