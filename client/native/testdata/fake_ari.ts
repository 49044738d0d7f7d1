/**
 * A fake Asterisk ARI for unit tests: a real HTTP server on a free loopback
 * port that records every call (method, raw path, query, JSON body) and
 * answers like Asterisk would, following the generated operation table
 * (lists for `List[…]` operations, an object for models, 204 for `void`,
 * bytes for `binary`). A `route` hook overrides answers per test. The
 * `/ari/events` WebSocket is served too, so the native transport can be
 * tested end to end.
 *
 * Test support only; not part of the published package.
 *
 * @module
 */

import {
  ARI_OPERATIONS,
  type AriOperation,
} from "../../generated/operations.ts";

/** One recorded ARI call. */
export interface FakeAriCall {
  /** HTTP method. */
  method: string;
  /** Path relative to `/ari`, still percent-encoded (e.g. `/channels/a%2Fb`). */
  path: string;
  /** Decoded query parameters. */
  query: Record<string, string>;
  /** Parsed JSON body, or `undefined`. */
  body: unknown;
  /** The matched ARI operation id, or `undefined`. */
  op: string | undefined;
}

/** Options of {@linkcode startFakeAri}. */
export interface FakeAriOptions {
  /** `system.entity_id` answered by `GET /asterisk/info`. */
  entityId?: string;
  /** Overrides the answer of a call; return `undefined` for the default. */
  route?: (
    call: FakeAriCall,
  ) => Response | undefined | Promise<Response | undefined>;
  /** Refuse WebSocket upgrades while this returns true. */
  refuseWebSocket?: () => boolean;
}

/** A running fake ARI. */
export interface FakeAri extends AsyncDisposable {
  /** ARI base URL, `http://127.0.0.1:<port>/ari`. */
  readonly url: string;
  /** Every call so far (WebSocket upgrades excluded). */
  readonly calls: FakeAriCall[];
  /** Entity id answered by `/asterisk/info` (may be changed by tests). */
  entityId: string;
  /** Query strings of the WebSocket connections made so far. */
  readonly wsConnections: URLSearchParams[];
  /** Resolves with the next WebSocket that opens (or one already open and unclaimed). */
  nextSocket(): Promise<WebSocket>;
  /** Sends an event to every open WebSocket. */
  send(event: Record<string, unknown>): void;
  /** Closes every open WebSocket (the client will reconnect). */
  dropSockets(): void;
  /** Stops the server. */
  close(): Promise<void>;
}

function byPrecision(a: AriOperation, b: AriOperation): number {
  const count = (op: AriOperation) => (op.path.match(/\{/g) ?? []).length;
  return count(a) - count(b);
}

const MATCHERS = [...ARI_OPERATIONS].filter((op) => !op.websocket).sort(
  byPrecision,
).map((op) => ({
  op,
  regex: new RegExp(
    "^" + op.path.replace(/\{[^}]+\}/g, "[^/]+") + "$",
  ),
}));

/** Finds the ARI operation a call addresses. */
export function matchOperation(
  method: string,
  path: string,
): AriOperation | undefined {
  return MATCHERS.find((m) => m.op.method === method && m.regex.test(path))
    ?.op;
}

function lastSegment(path: string): string {
  return decodeURIComponent(path.split("/").pop() ?? "");
}

/** A plausible ARI model answered by default for `op`. */
function defaultModel(
  op: AriOperation,
  call: FakeAriCall,
  entityId: string,
): unknown {
  const id = lastSegment(call.path);
  switch (op.responseType) {
    case "AsteriskInfo":
      return {
        build: { os: "Linux" },
        system: { entity_id: entityId, version: "22.10.1" },
        config: { name: "fake" },
        status: { startup_time: "2026-01-01T00:00:00.000+0000" },
      };
    case "AsteriskPing":
      return {
        asterisk_id: entityId,
        ping: "pong",
        timestamp: "2026-01-01T00:00:00.000+0000",
      };
    case "Variable":
      return { value: "v" };
    case "Variables":
      return { variables: { A: "1" } };
    case "List[ConfigTuple]":
      return [{ attribute: "a", value: "1" }];
    case "Channel":
      return { id, name: `Local/${id}`, state: "Up" };
    case "Bridge":
      return { id, bridge_type: "mixing", channels: [] };
    case "Playback":
      return { id, state: "playing" };
    case "LiveRecording":
      return { name: id, state: "recording", format: "wav" };
    case "StoredRecording":
      return { name: id, format: "wav" };
    case "Endpoint":
      return { technology: "PJSIP", resource: id, state: "online" };
    case "Sound":
      return { id, formats: [{ language: "en", format: "gsm" }] };
    case "DeviceState":
      return { name: id, state: "INUSE" };
    case "Mailbox":
      return { name: id, old_messages: 1, new_messages: 2 };
    case "Module":
      return { name: id, status: "Running" };
    case "Application":
      return { name: id, channel_ids: [] };
    case "RTPstat":
      return { txcount: 1, rxcount: 2 };
    case "List[Channel]":
    case "List[Bridge]":
      return [{ id: "e1" }, { id: "e2" }];
    case "List[Endpoint]":
      return [{ technology: "PJSIP", resource: "alice" }];
    case "List[Sound]":
      return [{ id: "hello-world" }, { id: "beep" }];
    case "List[DeviceState]":
    case "List[Mailbox]":
    case "List[Module]":
    case "List[StoredRecording]":
    case "List[Application]":
      return [{ name: "e1" }, { name: "e2" }];
    case "List[LogChannel]":
      return [
        { channel: "/var/log/asterisk/messages.log", status: "Enabled" },
        { channel: "/var/log/asterisk/full", status: "Enabled" },
      ];
    default:
      return op.responseType.startsWith("List[") ? [] : {};
  }
}

/**
 * Starts a fake ARI on a free loopback port.
 *
 * @param options Entity id and a per-call answer hook.
 * @returns The running fake; release it with `await using`.
 */
export function startFakeAri(options: FakeAriOptions = {}): FakeAri {
  const controller = new AbortController();
  const calls: FakeAriCall[] = [];
  const sockets = new Set<WebSocket>();
  const unclaimed: WebSocket[] = [];
  const waiters: ((ws: WebSocket) => void)[] = [];
  const wsConnections: URLSearchParams[] = [];

  const fake = {
    entityId: options.entityId ?? "02:00:00:00:00:01",
  };

  async function handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const raw = url.pathname.startsWith("/ari")
      ? url.pathname.slice(4)
      : url.pathname;
    if (raw === "/events" && req.headers.get("upgrade") === "websocket") {
      if (options.refuseWebSocket?.()) {
        return new Response("not now", { status: 503 });
      }
      wsConnections.push(url.searchParams);
      const { socket, response } = Deno.upgradeWebSocket(req);
      socket.onopen = () => {
        sockets.add(socket);
        const waiter = waiters.shift();
        if (waiter) waiter(socket);
        else unclaimed.push(socket);
      };
      socket.onclose = () => sockets.delete(socket);
      socket.onerror = () => {};
      return response;
    }
    const text = await req.text();
    let body: unknown = undefined;
    if (text !== "") {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    const op = matchOperation(req.method, raw);
    const call: FakeAriCall = {
      method: req.method,
      path: raw,
      query: Object.fromEntries(url.searchParams),
      body,
      op: op?.id,
    };
    calls.push(call);
    const custom = await options.route?.(call);
    if (custom !== undefined) return custom;
    if (op === undefined) {
      return Response.json({ message: "Resource not found" }, { status: 404 });
    }
    if (op.responseType === "void") return new Response(null, { status: 204 });
    if (op.responseType === "binary") {
      return new Response(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), {
        headers: { "content-type": "audio/wav" },
      });
    }
    return Response.json(defaultModel(op, call, fake.entityId));
  }

  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    signal: controller.signal,
    onListen: () => {},
  }, handle);

  let closing: Promise<void> | undefined;
  function close(): Promise<void> {
    closing ??= (async () => {
      for (const ws of sockets) {
        try {
          ws.close();
        } catch {
          // already closing
        }
      }
      controller.abort();
      await server.finished;
    })();
    return closing;
  }

  return Object.assign(fake, {
    url: `http://127.0.0.1:${server.addr.port}/ari`,
    calls,
    wsConnections,
    nextSocket(): Promise<WebSocket> {
      const ready = unclaimed.shift();
      if (ready) return Promise.resolve(ready);
      return new Promise<WebSocket>((resolve) => waiters.push(resolve));
    },
    send(event: Record<string, unknown>): void {
      const data = JSON.stringify(event);
      for (const ws of sockets) {
        if (ws.readyState === WebSocket.OPEN) ws.send(data);
      }
    },
    dropSockets(): void {
      for (const ws of sockets) ws.close(1011, "dropped by test");
    },
    close,
    [Symbol.asyncDispose]: close,
  });
}
