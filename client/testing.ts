/**
 * Test helpers for code built on the ARI client: an in-memory
 * {@linkcode AriTransport} you can script. It records every request, answers
 * with your responders (or plausible defaults), and delivers the events and
 * statuses you emit.
 *
 * @example Script a response and emit an event
 * ```ts
 * import assert from "node:assert/strict";
 * import { createClient } from "./mod.ts";
 * import { createFakeTransport } from "./testing.ts";
 *
 * const transport = createFakeTransport({ application: "demo" });
 * transport.respond("ChannelAnswer", { error: "Channel not found", status: 404 });
 * await using client = createClient(transport);
 *
 * const channel = client.channels.handle("c1");
 * await assert.rejects(channel.answer(), /Channel not found/);
 * assert.equal(transport.requests.at(-1)?.kind, "ChannelAnswer");
 *
 * const hangup = channel.once("ChannelHangupRequest");
 * transport.emit({ type: "ChannelHangupRequest", channel: { id: "c1" } });
 * assert.equal((await hangup).channel.id, "c1");
 * ```
 *
 * @module
 */

import { ClosedConnectionError } from "./errors.ts";
import { DATA_MEMBER, type DataKind } from "./api/_context.ts";
import { isKindName, KIND_TABLE } from "./protocol/kinds.ts";
import type {
  EntityData,
  Key,
  ProxiedEvent,
  Request,
  Response,
} from "./protocol/types.ts";
import type {
  AriTransport,
  EventScope,
  EventSink,
  RequestOptions,
  TransportStatus,
} from "./transport.ts";

/**
 * Answers one request: a response, a promise of one, or `undefined` to let
 * the next responder (or the default) answer.
 *
 * @example
 * ```ts
 * import type { FakeResponder } from "./testing.ts";
 * const notFound: FakeResponder = (req) =>
 *   req.key?.id === "missing" ? { error: "Not found", status: 404 } : undefined;
 * ```
 */
export type FakeResponder = (
  request: Request,
  options: RequestOptions | undefined,
) => Response | Promise<Response> | undefined;

/**
 * Options of {@linkcode createFakeTransport}.
 *
 * @example
 * ```ts
 * import type { FakeTransportOptions } from "./testing.ts";
 * const options: FakeTransportOptions = { application: "demo", node: "n1", kind: "nats" };
 * ```
 */
export interface FakeTransportOptions {
  /**
   * ARI application of the transport (stamped on keys and events).
   *
   * @default {"test-app"}
   */
  application?: string;
  /**
   * Node (Asterisk entity id) stamped on keys and events.
   *
   * @default {"fake-node"}
   */
  node?: string;
  /**
   * What the transport pretends to be.
   *
   * @default {"native"}
   */
  kind?: "native" | "nats";
}

/**
 * A request the fake transport saw, with the options it came with.
 *
 * @example
 * ```ts
 * import type { RecordedRequest } from "./testing.ts";
 * const rec: RecordedRequest = { request: { kind: "ChannelList", key: null }, options: undefined };
 * ```
 */
export interface RecordedRequest {
  /** The request (a deep copy). */
  request: Request;
  /** Its options. */
  options: RequestOptions | undefined;
}

/**
 * The scriptable in-memory transport.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createFakeTransport } from "./testing.ts";
 *
 * const transport = createFakeTransport();
 * const seen: string[] = [];
 * const stop = transport.subscribe({}, (event) => seen.push(event.type));
 * transport.emit({ type: "StasisStart", channel: { id: "c1" } });
 * stop();
 * assert.deepEqual(seen, ["StasisStart"]);
 * await transport.close();
 * ```
 */
export interface FakeTransport extends AriTransport {
  /** Every request so far (deep copies), oldest first. */
  readonly requests: Request[];
  /** Every request with its options. */
  readonly recorded: RecordedRequest[];
  /** Scopes of the subscriptions currently open. */
  readonly subscriptions: readonly EventScope[];
  /**
   * Adds a responder for one kind (or every kind with `"*"`); later
   * responders win over earlier ones.
   *
   * @param kind A kind name, or `"*"`.
   * @param responder A fixed response or a function.
   * @returns A function that removes the responder.
   */
  respond(kind: string, responder: Response | FakeResponder): () => void;
  /**
   * Delivers an event to every subscription whose scope matches it.
   * `application` and `asterisk_id` default to the transport's.
   *
   * @param event The event (at least its `type`).
   * @returns The complete event delivered.
   */
  emit(event: { type: string; [field: string]: unknown }): ProxiedEvent;
  /**
   * Reports a status to every `status()` iterator.
   *
   * @param status The status.
   */
  pushStatus(status: TransportStatus): void;
  /**
   * Sets what `isConnected()` answers.
   *
   * @param connected The new state.
   */
  setConnected(connected: boolean): void;
  /** Forgets the recorded requests. */
  clearRequests(): void;
}

function copy<T>(value: T): T {
  return value === undefined ? value : JSON.parse(JSON.stringify(value));
}

function matches(scope: EventScope, event: ProxiedEvent): boolean {
  if (scope.dialog) return event.dialog === scope.dialog;
  if (event.dialog) return false;
  if (scope.app && scope.app !== event.application) return false;
  if (scope.node && scope.node !== event.asterisk_id) return false;
  return true;
}

/** The id a key-returning kind creates or names. */
function createdKey(request: Request, node: string, app: string): Key {
  const info = isKindName(request.kind) ? KIND_TABLE[request.kind] : undefined;
  let kind = request.key?.kind || info?.keyKind || undefined;
  let id = request.key?.id;
  const play = request.channel_play ?? request.bridge_play;
  const record = request.channel_record ?? request.bridge_record;
  if (request.channel_originate) {
    kind = "channel";
    id = request.channel_originate.originate_request.channelId ?? id;
  } else if (request.channel_create) {
    kind = "channel";
    id = request.channel_create.channel_create_request.channelId ?? id;
  } else if (request.channel_external_media) {
    kind = "channel";
    id = request.channel_external_media.options.channelId ?? id;
  } else if (play) {
    kind = "playback";
    id = play.playback_id;
  } else if (record) {
    kind = "liverecording";
    id = record.name;
  } else if (request.channel_snoop) {
    kind = "channel";
    id = request.channel_snoop.snoop_id;
  } else if (request.recording_stored_copy) {
    id = request.recording_stored_copy.destination;
  }
  const key: Key = {};
  if (kind) key.kind = kind;
  if (id) key.id = id;
  key.node = request.key?.node || node;
  if (request.key?.dialog) key.dialog = request.key.dialog;
  key.app = request.key?.app || app;
  return key;
}

function defaultData(kind: DataKind, key: Key): EntityData {
  const member = DATA_MEMBER[kind];
  switch (member) {
    case "variable":
      return { variable: "" };
    case "variables":
      return { variables: {} };
    case "stored_recording_file":
      return {
        stored_recording_file: {
          data: "",
          offset: 0,
          size: 0,
          content_type: "",
        },
      };
    case "config": {
      const [cls = "", type = "", name = ""] = (key.id ?? "").split("/");
      return {
        config: { key, Class: cls, Type: type, Name: name, Fields: [] },
      };
    }
    case "asterisk":
    case "asterisk_ping":
    case "rtp_statistics":
      return { [member]: {} };
    default:
      return { [member]: { key, id: key.id ?? "", name: key.id ?? "" } };
  }
}

/** The default answer: success, with a plausible key/keys/data. */
function defaultResponse(
  request: Request,
  node: string,
  app: string,
): Response {
  if (!isKindName(request.kind)) return { error: "Not implemented" };
  const info = KIND_TABLE[request.kind];
  switch (info.returns) {
    case "key":
      return { error: "", key: createdKey(request, node, app) };
    case "keys":
      return { error: "" };
    case "data": {
      const key: Key = { ...createdKey(request, node, app) };
      return {
        error: "",
        data: defaultData(request.kind as DataKind, key),
      };
    }
    default:
      return request.kind === "RecordingStoredCopy"
        ? { error: "", key: createdKey(request, node, app) }
        : { error: "" };
  }
}

class FakeTransportImpl implements FakeTransport {
  readonly kind: "native" | "nats";
  readonly application: string;
  readonly requests: Request[] = [];
  readonly recorded: RecordedRequest[] = [];
  #node: string;
  #responders: { kind: string; responder: FakeResponder }[] = [];
  #sinks = new Set<{ scope: EventScope; sink: EventSink }>();
  #statusQueues = new Set<TransportStatus[]>();
  #statusListeners = new Set<() => void>();
  #connected = true;
  #closed = false;
  #resolveClosed!: (reason: Error | undefined) => void;
  #closedPromise: Promise<Error | undefined>;

  constructor(options: FakeTransportOptions) {
    this.kind = options.kind ?? "native";
    this.application = options.application ?? "test-app";
    this.#node = options.node ?? "fake-node";
    this.#closedPromise = new Promise((resolve) =>
      this.#resolveClosed = resolve
    );
  }

  get subscriptions(): readonly EventScope[] {
    return [...this.#sinks].map((s) => ({ ...s.scope }));
  }

  respond(kind: string, responder: Response | FakeResponder): () => void {
    const entry = {
      kind,
      responder: typeof responder === "function"
        ? responder
        : () => copy(responder),
    };
    this.#responders.unshift(entry);
    return () => {
      const i = this.#responders.indexOf(entry);
      if (i >= 0) this.#responders.splice(i, 1);
    };
  }

  async request(request: Request, options?: RequestOptions): Promise<Response> {
    if (this.#closed) throw new ClosedConnectionError("fake transport");
    options?.signal?.throwIfAborted();
    this.requests.push(copy(request));
    this.recorded.push({ request: copy(request), options });
    for (const { kind, responder } of [...this.#responders]) {
      if (kind !== "*" && kind !== request.kind) continue;
      const response = await responder(copy(request), options);
      if (response !== undefined) return response;
    }
    return defaultResponse(request, this.#node, this.application);
  }

  subscribe(scope: EventScope, sink: EventSink): () => void {
    if (this.#closed) throw new ClosedConnectionError("fake transport");
    const entry = { scope: { ...scope }, sink };
    this.#sinks.add(entry);
    return () => void this.#sinks.delete(entry);
  }

  emit(event: { type: string; [field: string]: unknown }): ProxiedEvent {
    const full: ProxiedEvent = {
      application: this.application,
      asterisk_id: this.#node,
      timestamp: new Date(0).toISOString(),
      ...event,
    } as ProxiedEvent;
    for (const { scope, sink } of [...this.#sinks]) {
      if (matches(scope, full)) sink(full);
    }
    return full;
  }

  pushStatus(status: TransportStatus): void {
    if (this.#closed) return;
    for (const queue of this.#statusQueues) queue.push(status);
    for (const wake of [...this.#statusListeners]) wake();
  }

  setConnected(connected: boolean): void {
    this.#connected = connected;
  }

  clearRequests(): void {
    this.requests.length = 0;
    this.recorded.length = 0;
  }

  status(): AsyncIterable<TransportStatus> {
    const queue: TransportStatus[] = [];
    let done = false;
    const listeners = this.#statusListeners;
    this.#statusQueues.add(queue);
    const finish = (): void => {
      done = true;
      this.#statusQueues.delete(queue);
    };
    const isClosed = (): boolean => this.#closed;
    const next = async (): Promise<IteratorResult<TransportStatus>> => {
      while (true) {
        const item = queue.shift();
        if (item) return { done: false, value: item };
        if (done || isClosed()) {
          finish();
          return { done: true, value: undefined };
        }
        await new Promise<void>((resolve) => {
          const wake = (): void => {
            listeners.delete(wake);
            resolve();
          };
          listeners.add(wake);
        });
      }
    };
    const iterator: AsyncIterator<TransportStatus> = {
      next,
      return: () => {
        finish();
        for (const wake of [...listeners]) wake();
        return Promise.resolve({ done: true, value: undefined });
      },
    };
    return { [Symbol.asyncIterator]: () => iterator };
  }

  isConnected(): boolean {
    return this.#connected && !this.#closed;
  }

  nodes(): Key[] {
    return [{ node: this.#node, app: this.application }];
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    for (const queue of this.#statusQueues) queue.push({ type: "closed" });
    this.#closed = true;
    this.#sinks.clear();
    for (const wake of [...this.#statusListeners]) wake();
    this.#resolveClosed(undefined);
    return Promise.resolve();
  }

  closed(): Promise<Error | undefined> {
    return this.#closedPromise;
  }

  isClosed(): boolean {
    return this.#closed;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Creates a scriptable in-memory transport. By default every known kind
 * succeeds: key kinds answer with the key they name or create (stamped with
 * the fake node and application), lists answer empty, data kinds answer
 * with a minimal entity; unknown kinds answer `Not implemented`.
 *
 * @param options Application, node and transport kind.
 * @returns The transport.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createFakeTransport } from "./testing.ts";
 *
 * const transport = createFakeTransport({ node: "n1" });
 * const res = await transport.request({ kind: "BridgeCreate", key: { kind: "bridge", id: "b1" }, bridge_create: { type: "mixing" } });
 * assert.deepEqual(res.key, { kind: "bridge", id: "b1", node: "n1", app: "test-app" });
 * await transport.close();
 * ```
 */
export function createFakeTransport(
  options: FakeTransportOptions = {},
): FakeTransport {
  return new FakeTransportImpl(options);
}
