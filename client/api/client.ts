/**
 * The ARI client: {@linkcode createClient} turns an {@linkcode AriTransport}
 * (native or NATS) into the Go-ari-style API: resource groups, handles,
 * staged creation, typed events and status.
 *
 * Every call becomes exactly one protocol `Request` handed to the transport;
 * a response with a non-empty `error` becomes a {@linkcode RemoteError} (or a
 * {@linkcode NotImplementedError} when the server lacks the operation).
 *
 * @example Against the in-memory fake transport
 * ```ts
 * import assert from "node:assert/strict";
 * import { createClient } from "./client.ts";
 * import { createFakeTransport } from "../testing.ts";
 *
 * const transport = createFakeTransport({ application: "demo" });
 * await using client = createClient(transport);
 * const channel = await client.channels.originate({ endpoint: "Local/100@default" });
 * assert.equal(transport.requests.at(-1)?.kind, "ChannelOriginate");
 * assert.equal(channel.key.app, "demo");
 * ```
 *
 * @module
 */

import {
  ClosedConnectionError,
  NotImplementedError,
  RemoteError,
} from "../errors.ts";
import type { AriEventMap, AriEventType } from "../generated/events.ts";
import type { KindName } from "../protocol/kinds.ts";
import type { Key, Request, Response } from "../protocol/types.ts";
import type {
  AriTransport,
  EventScope,
  RequestOptions,
  TransportStatus,
} from "../transport.ts";
import type { Applications, EventSourceRef } from "./applications.ts";
import type { Asterisk } from "./asterisk.ts";
import type { Bridges } from "./bridges.ts";
import type { Channels } from "./channels.ts";
import type {
  CallOptions,
  EventHandler,
  EventStream,
  EventStreamOptions,
  EventTypes,
  OnceOptions,
  Subscribable,
  Unsubscribe,
} from "./common.ts";
import type { DeviceStates } from "./device_states.ts";
import type { Endpoints } from "./endpoints.ts";
import type { Mailboxes } from "./mailboxes.ts";
import type { Playbacks } from "./playbacks.ts";
import type { LiveRecordings, StoredRecordings } from "./recordings.ts";
import type { Sounds } from "./sounds.ts";
import { AsteriskImpl } from "./_asterisk.ts";
import { BridgesImpl } from "./_bridges.ts";
import { ChannelsImpl } from "./_channels.ts";
import type { ClientContext, RequestBody } from "./_context.ts";
import { EventHub } from "./_hub.ts";
import { type IdTag, newResourceId } from "./_ids.ts";
import { entityIndex, makeKey } from "./_keys.ts";
import {
  ApplicationsImpl,
  DeviceStatesImpl,
  EndpointsImpl,
  eventSource,
  MailboxesImpl,
  SoundsImpl,
} from "./_misc.ts";
import { PlaybacksImpl } from "./_playbacks.ts";
import { LiveRecordingsImpl, StoredRecordingsImpl } from "./_recordings.ts";
import { StatusHub } from "./_status.ts";

/**
 * Default number of undelivered events an event stream keeps.
 *
 * @example
 * ```ts
 * import { DEFAULT_BUFFER_SIZE } from "./client.ts";
 * console.assert(DEFAULT_BUFFER_SIZE === 10_000);
 * ```
 */
export const DEFAULT_BUFFER_SIZE = 10_000;

/**
 * A status change of the client: the transport's (`connected`,
 * `disconnected`, `reconnecting`, `closed`, …) plus the client's own
 * `slowConsumer` (an event stream dropped events) and `error` (an event
 * handler failed).
 *
 * @example
 * ```ts
 * import type { ClientStatus } from "./client.ts";
 * function describe(status: ClientStatus): string {
 *   return status.type === "slowConsumer" ? `dropped ${status.dropped}` : status.type;
 * }
 * console.assert(describe({ type: "closed" }) === "closed");
 * ```
 */
export type ClientStatus = TransportStatus;

/**
 * Prefix of a generated resource id: bridge, channel, playback, recording,
 * snoop.
 *
 * @example
 * ```ts
 * import type { ResourceIdPrefix } from "./client.ts";
 * const prefix: ResourceIdPrefix = "ch";
 * ```
 */
export type ResourceIdPrefix = IdTag;

/**
 * Options of {@linkcode createClient}.
 *
 * @example
 * ```ts
 * import type { ClientOptions } from "./client.ts";
 * const options: ClientOptions = { timeout: 5_000, bufferSize: 1_000 };
 * ```
 */
export interface ClientOptions {
  /**
   * Default per-request timeout in milliseconds; the transport's own default
   * applies when absent.
   */
  timeout?: number;
  /**
   * Events an event stream keeps before it drops the oldest and reports
   * `slowConsumer`.
   *
   * @default {10000}
   */
  bufferSize?: number;
  /**
   * Whether `close()` also closes the transport.
   *
   * @default {true}
   */
  closeTransport?: boolean;
  /**
   * Which events the client subscribes to.
   *
   * @default {{ app: transport.application }}
   */
  scope?: EventScope;
  /**
   * Makes new resource ids (channels, bridges, playbacks, recordings,
   * snoops) when the caller gives none. Defaults to Go-style ids: a
   * lower-case ULID plus `-<prefix>`.
   */
  generateId?: (prefix: ResourceIdPrefix) => string;
}

/**
 * Options of {@linkcode AriClient.child} and {@linkcode AriClient.dialog}.
 *
 * @example
 * ```ts
 * import type { ChildClientOptions } from "./client.ts";
 * const options: ChildClientOptions = { bufferSize: 100 };
 * ```
 */
export interface ChildClientOptions {
  /** Default per-request timeout in milliseconds; the parent's when absent. */
  timeout?: number;
  /** Event stream buffer size; the parent's when absent. */
  bufferSize?: number;
}

/**
 * Options of {@linkcode AriClient.userEvent}.
 *
 * @example
 * ```ts
 * import type { UserEventOptions } from "./client.ts";
 * const options: UserEventOptions = { source: ["channel:1712345.12"], variables: { level: "2" } };
 * ```
 */
export interface UserEventOptions extends CallOptions {
  /** Application that receives the event; the client's when absent. */
  application?: string;
  /** Event sources (`channel:<id>`, handles, …) the event is about. */
  source?: EventSourceRef | readonly EventSourceRef[];
  /** Variables of the event. */
  variables?: Readonly<Record<string, unknown>>;
}

/**
 * The ARI client. One transport subscription per client feeds every event
 * stream, handler and handle locally.
 *
 * @example
 * ```ts
 * import { createClient } from "./client.ts";
 * import { createFakeTransport } from "../testing.ts";
 *
 * await using client = createClient(createFakeTransport());
 * client.on("StasisStart", async (event) => {
 *   const channel = client.channels.handle(event.channel.id, event);
 *   await channel.answer();
 * });
 * ```
 */
export interface AriClient extends Subscribable, AsyncDisposable {
  /** ARI application the client serves. */
  readonly application: string;
  /** Dialog this client is bound to, if any. */
  readonly dialogId: string | undefined;
  /** Applications. */
  readonly applications: Applications;
  /** Asterisk system: info, ping, variables, config, logging, modules. */
  readonly asterisk: Asterisk;
  /** Bridges. */
  readonly bridges: Bridges;
  /** Channels. */
  readonly channels: Channels;
  /** Device states. */
  readonly deviceStates: DeviceStates;
  /** Endpoints. */
  readonly endpoints: Endpoints;
  /** Mailboxes. */
  readonly mailboxes: Mailboxes;
  /** Playbacks. */
  readonly playbacks: Playbacks;
  /** Recordings in progress. */
  readonly liveRecordings: LiveRecordings;
  /** Stored recordings. */
  readonly storedRecordings: StoredRecordings;
  /** Sounds. */
  readonly sounds: Sounds;
  /**
   * Raises a user event (ARI `POST /events/user/{name}`; our extension kind).
   *
   * @param name Event name.
   * @param options Application, sources, variables, timeout and abort signal.
   * @throws {NotImplementedError} When the server lacks the operation.
   */
  userEvent(name: string, options?: UserEventOptions): Promise<void>;
  /**
   * Status changes; iteration ends when the client closes.
   *
   * @param options Abort signal.
   * @returns A stream of statuses.
   */
  status(options?: { signal?: AbortSignal }): EventStream<ClientStatus>;
  /**
   * A child client bound to a dialog: it stamps `dialog` on every key it
   * sends and receives that dialog's events only. It shares the transport;
   * closing it releases only its own subscriptions.
   *
   * @param id Dialog id.
   * @param options Buffer size and timeout.
   * @returns The child client.
   */
  dialog(id: string, options?: ChildClientOptions): AriClient;
  /**
   * A child client (Go `client.New(ctx)`): same transport, its own
   * subscriptions, released together when the child closes.
   *
   * @param options Buffer size and timeout.
   * @returns The child client.
   */
  child(options?: ChildClientOptions): AriClient;
  /**
   * Whether the transport is connected.
   *
   * @returns The transport's state.
   */
  isConnected(): boolean;
  /**
   * Known nodes (native: the one Asterisk; NATS: announced proxies).
   *
   * @returns Their keys.
   */
  nodes(): Key[];
  /**
   * Asks every known node for a read: calls `read` once per node (each
   * Asterisk once, however many applications its proxies serve), with that
   * node's id to put in the key, and waits for all of them. Use it where a
   * plain read would take whichever node answers first (a key without a
   * node is broadcast; see the module docs, "Clusters").
   *
   * @typeParam T What `read` resolves with.
   * @param read The read to run against one node.
   * @returns One result per node, in node order: `{ node, value }` or
   *   `{ node, error }`.
   *
   * @example Every node's view of a device state
   * ```ts
   * import assert from "node:assert/strict";
   * import { createClient } from "./client.ts";
   * import { createFakeTransport } from "../testing.ts";
   *
   * const transport = createFakeTransport({ node: "n1" });
   * transport.respond("DeviceStateData", {
   *   error: "",
   *   data: { device_state: { name: "Stasis:door", state: "BUSY" } },
   * });
   * await using client = createClient(transport);
   * const states = await client.eachNode((node) =>
   *   client.deviceStates.data({ id: "Stasis:door", node })
   * );
   * assert.deepEqual(
   *   states.map((s) => [s.node, "value" in s ? s.value.state : s.error]),
   *   [["n1", "BUSY"]],
   * );
   * ```
   */
  eachNode<T>(read: (node: string) => Promise<T>): Promise<NodeResult<T>[]>;
  /** Closes the client (and its children; the transport too for a root client unless `closeTransport: false`). Idempotent. */
  close(): Promise<void>;
  /** Waits for requests in flight, then closes. */
  drain(): Promise<void>;
  /**
   * Resolves when closed, with the reason if it was an error; never rejects.
   *
   * @returns The reason.
   */
  closed(): Promise<Error | undefined>;
  /**
   * Whether the client is closed (or closing).
   *
   * @returns True once `close()` started.
   */
  isClosed(): boolean;
}

const SUBSCRIBE_KIND: Record<string, KindName> = {
  channel: "ChannelSubscribe",
  bridge: "BridgeSubscribe",
  playback: "PlaybackSubscribe",
  liverecording: "RecordingLiveSubscribe",
};

const NOT_IMPLEMENTED = /^not implemented$/i;

/** Our proxy's codes for a request it refused before calling ARI. */
const BAD_REQUEST_CODES = new Set([
  "missingBody",
  "missingKey",
  "invalidKey",
  "invalidField",
]);

/**
 * Events Asterisk sends only to applications subscribed to the entity (not
 * to one that merely has a channel in it): a bridge's `BridgeDestroyed`
 * once the application's channels left it, a channel's `ChannelDestroyed`
 * after its `StasisEnd` (a snoop channel, a channel that left Stasis).
 */
const SUBSCRIBED_ONLY: Readonly<Record<string, readonly string[]>> = {
  bridge: ["BridgeDestroyed"],
  channel: ["ChannelDestroyed"],
};

/** Maps a failed response to the error to throw. */
function responseError(kind: string, response: Response): Error {
  if (
    NOT_IMPLEMENTED.test(response.error.trim()) ||
    response.code === "notImplemented"
  ) {
    return new NotImplementedError(kind);
  }
  const status = response.status ??
    (BAD_REQUEST_CODES.has(response.code ?? "") ? 400 : undefined);
  return RemoteError.parse(
    response.error,
    status === undefined ? { kind } : { kind, status },
  );
}

/** A thrown value as an `Error`. */
function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function checkTimeout(timeout: number | undefined, what: string): void {
  if (timeout !== undefined && !(typeof timeout === "number" && timeout > 0)) {
    throw new RangeError(
      `Cannot create ${what}: "timeout" must be a positive number of milliseconds, got ${timeout}`,
    );
  }
}

function checkBufferSize(size: number, what: string): void {
  if (!Number.isInteger(size) || size < 1) {
    throw new RangeError(
      `Cannot create ${what}: "bufferSize" must be a positive integer, got ${size}`,
    );
  }
}

interface Settings {
  transport: AriTransport;
  scope: EventScope;
  bufferSize: number;
  timeout: number | undefined;
  closeTransport: boolean;
  generateId: (prefix: ResourceIdPrefix) => string;
  dialog: string | undefined;
  parent: ClientImpl | undefined;
}

class ClientImpl implements AriClient, ClientContext {
  readonly application: string;
  readonly dialogId: string | undefined;
  readonly hub: EventHub;
  readonly applications: Applications;
  readonly asterisk: Asterisk;
  readonly bridges: Bridges;
  readonly channels: Channels;
  readonly deviceStates: DeviceStates;
  readonly endpoints: Endpoints;
  readonly mailboxes: Mailboxes;
  readonly playbacks: Playbacks;
  readonly liveRecordings: LiveRecordings;
  readonly storedRecordings: StoredRecordings;
  readonly sounds: Sounds;

  #settings: Settings;
  #resource: string;
  #statusHub = new StatusHub();
  #children = new Set<ClientImpl>();
  #inflight = new Set<Promise<unknown>>();
  #bound = new Set<string>();
  /** Application subscriptions in flight, by entity (see `#watch`). */
  #watching = new Map<string, Promise<void>>();
  #closed = false;
  #draining = false;
  #closing: Promise<void> | undefined;
  #closedPromise: Promise<Error | undefined>;
  #resolveClosed!: (reason: Error | undefined) => void;
  #statusIterator: AsyncIterator<TransportStatus> | undefined;

  constructor(settings: Settings) {
    this.#settings = settings;
    this.application = settings.transport.application;
    this.dialogId = settings.dialog;
    this.#resource = settings.dialog
      ? `ARI client of dialog "${settings.dialog}"`
      : "ARI client";
    this.#closedPromise = new Promise((resolve) =>
      this.#resolveClosed = resolve
    );
    this.hub = new EventHub({
      transport: settings.transport,
      scope: settings.scope,
      bufferSize: settings.bufferSize,
      resource: this.#resource,
      report: (status) => this.#statusHub.publishLocal(status),
      onEntityListen: (key) => this.#autoBind(key),
      onEntityTypes: (key, types) => this.#watch(key, types),
    });
    this.applications = new ApplicationsImpl(this);
    this.asterisk = new AsteriskImpl(this);
    this.bridges = new BridgesImpl(this);
    this.channels = new ChannelsImpl(this);
    this.deviceStates = new DeviceStatesImpl(this);
    this.endpoints = new EndpointsImpl(this);
    this.mailboxes = new MailboxesImpl(this);
    this.playbacks = new PlaybacksImpl(this);
    this.liveRecordings = new LiveRecordingsImpl(this);
    this.storedRecordings = new StoredRecordingsImpl(this);
    this.sounds = new SoundsImpl(this);
    const { parent } = settings;
    if (parent) {
      parent.#children.add(this);
      parent.#statusHub.attach(this.#statusHub);
    } else {
      this.#followTransport();
    }
  }

  // ---- ClientContext ----

  stamp(key: Key): Key {
    const { dialog } = this.#settings;
    return dialog && key.dialog !== dialog ? makeKey({ ...key, dialog }) : key;
  }

  newId(tag: IdTag): string {
    return this.#settings.generateId(tag);
  }

  send(
    kind: KindName,
    key: Key | null,
    body?: RequestBody,
    options?: CallOptions,
  ): Promise<Response> {
    if (this.#closed || this.#draining) {
      return Promise.reject(new ClosedConnectionError(this.#resource));
    }
    const { dialog } = this.#settings;
    const request: Request = {
      kind,
      key: key ? this.stamp(key) : dialog ? makeKey({ dialog }) : null,
      ...body,
    };
    const requestOptions: RequestOptions = {};
    const timeout = options?.timeout ?? this.#settings.timeout;
    if (timeout !== undefined) requestOptions.timeout = timeout;
    if (options?.signal) requestOptions.signal = options.signal;
    const watch = key && this.#watching.size > 0
      ? this.#watching.get(entityIndex(key.kind, key.id))
      : undefined;
    const { transport } = this.#settings;
    const pending =
      (watch
        ? watch.then(() => transport.request(request, requestOptions))
        : transport.request(request, requestOptions))
        .then((response) => {
          if (typeof response?.error === "string" && response.error !== "") {
            throw responseError(kind, response);
          }
          return response;
        });
    this.#inflight.add(pending);
    const forget = (): void => {
      this.#inflight.delete(pending);
    };
    pending.then(forget, forget);
    return pending;
  }

  // ---- events ----

  events<T extends AriEventType = AriEventType>(
    type?: EventTypes<T>,
    options?: EventStreamOptions,
  ): EventStream<AriEventMap[T]> {
    return this.hub.events(null, type, options);
  }

  on<T extends AriEventType>(
    type: EventTypes<T>,
    handler: EventHandler<AriEventMap[T]>,
  ): Unsubscribe {
    return this.hub.on(null, type, handler);
  }

  once<T extends AriEventType>(
    type: EventTypes<T>,
    options?: OnceOptions,
  ): Promise<AriEventMap[T]> {
    return this.hub.once(null, type, options);
  }

  status(options: { signal?: AbortSignal } = {}): EventStream<ClientStatus> {
    return this.#statusHub.stream(options.signal);
  }

  async userEvent(name: string, options: UserEventOptions = {}): Promise<void> {
    if (typeof name !== "string" || name === "") {
      throw new TypeError("Cannot raise a user event: the name is empty");
    }
    const { application = this.application, source, variables, ...call } =
      options;
    const body: NonNullable<RequestBody["user_event"]> = { name, application };
    if (source !== undefined) {
      const list = Array.isArray(source) ? source : [source as EventSourceRef];
      body.source = list.map(eventSource);
    }
    if (variables !== undefined) body.variables = { ...variables };
    await this.send("UserEvent", null, { user_event: body }, call);
  }

  // ---- children ----

  dialog(id: string, options: ChildClientOptions = {}): AriClient {
    if (typeof id !== "string" || id === "") {
      throw new TypeError(
        "Cannot create a dialog client: the dialog id is empty",
      );
    }
    return this.#spawn(options, id);
  }

  child(options: ChildClientOptions = {}): AriClient {
    return this.#spawn(options, this.#settings.dialog);
  }

  #spawn(options: ChildClientOptions, dialog: string | undefined): AriClient {
    if (this.#closed) throw new ClosedConnectionError(this.#resource);
    const what = dialog ? "a dialog client" : "a child client";
    checkTimeout(options.timeout, what);
    const bufferSize = options.bufferSize ?? this.#settings.bufferSize;
    checkBufferSize(bufferSize, what);
    const scope: EventScope = dialog
      ? { ...this.#settings.scope, dialog }
      : { ...this.#settings.scope };
    return new ClientImpl({
      ...this.#settings,
      scope,
      bufferSize,
      timeout: options.timeout ?? this.#settings.timeout,
      dialog,
      parent: this,
    });
  }

  // ---- lifecycle ----

  isConnected(): boolean {
    return !this.#closed && this.#settings.transport.isConnected();
  }

  nodes(): Key[] {
    return this.#settings.transport.nodes();
  }

  eachNode<T>(read: (node: string) => Promise<T>): Promise<NodeResult<T>[]> {
    if (typeof read !== "function") {
      throw new TypeError(
        "Cannot read from each node: read must be a function",
      );
    }
    const nodes = [
      ...new Set(
        this.nodes().map((key) => key.node).filter((node): node is string =>
          typeof node === "string" && node !== ""
        ),
      ),
    ].sort();
    return Promise.all(nodes.map(async (node): Promise<NodeResult<T>> => {
      try {
        return { node, value: await read(node) };
      } catch (error) {
        return { node, error: asError(error) };
      }
    }));
  }

  close(): Promise<void> {
    return this.#shutdown(undefined);
  }

  async drain(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#draining = true;
    await Promise.all([...this.#children].map((child) => child.drain()));
    await Promise.allSettled([...this.#inflight]);
    await this.close();
  }

  closed(): Promise<Error | undefined> {
    return this.#closedPromise;
  }

  isClosed(): boolean {
    return this.#closed;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.#closing ?? this.drain();
  }

  #shutdown(reason: Error | undefined): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#closed = true;
    this.#closing = (async () => {
      await Promise.all(
        [...this.#children].map((child) => child.#shutdown(reason)),
      );
      this.hub.close();
      const { parent, transport, closeTransport } = this.#settings;
      if (parent) {
        parent.#children.delete(this);
        parent.#statusHub.detach(this.#statusHub);
      } else {
        if (closeTransport) {
          try {
            await transport.close();
          } catch {
            // closing is best effort; the transport reports its own failures
          }
        }
        const iterator = this.#statusIterator;
        this.#statusIterator = undefined;
        iterator?.return?.()?.catch(() => {});
      }
      this.#statusHub.publishLocal(
        reason ? { type: "closed", error: reason } : { type: "closed" },
      );
      this.#statusHub.end();
      this.#resolveClosed(reason);
    })();
    return this.#closing;
  }

  #followTransport(): void {
    const { transport } = this.#settings;
    transport.closed().then(
      (reason) => void this.#shutdown(reason),
      (error: unknown) => void this.#shutdown(asError(error)),
    );
    const iterator = transport.status()[Symbol.asyncIterator]();
    this.#statusIterator = iterator;
    const pump = async (): Promise<void> => {
      try {
        while (this.#statusIterator === iterator) {
          const result = await iterator.next();
          if (result.done || this.#statusIterator !== iterator) return;
          if (result.value.type !== "closed") {
            this.#statusHub.publish(result.value);
          }
        }
      } catch (error) {
        this.#statusHub.publish({ type: "error", error: asError(error) });
      }
    };
    void pump();
  }

  /**
   * Subscribes the client's application to an entity when a listener wants
   * an event Asterisk sends only to subscribed applications (see
   * `SUBSCRIBED_ONLY`). Later requests about the entity wait for the
   * subscription, so `once("BridgeDestroyed")` then `delete()` sees it.
   */
  #watch(key: Key, types: ReadonlySet<string> | null): void {
    const needs = SUBSCRIBED_ONLY[key.kind ?? ""];
    const app = this.application;
    if (!needs || !app || !key.id || this.#closed || this.#draining) return;
    if (types !== null && !needs.some((type) => types.has(type))) return;
    const index = entityIndex(key.kind, key.id);
    const appKey = makeKey({
      kind: "application",
      id: app,
      ...(key.app ? { app: key.app } : {}),
      ...(key.node ? { node: key.node } : {}),
    });
    const pending: Promise<void> = this.send("ApplicationSubscribe", appKey, {
      application_subscribe: { event_source: `${key.kind}:${key.id}` },
    }).then(
      () => {},
      (error: unknown) => {
        this.#statusHub.publishLocal({ type: "error", error: asError(error) });
      },
    ).finally(() => {
      if (this.#watching.get(index) === pending) this.#watching.delete(index);
    });
    this.#watching.set(index, pending);
  }

  #autoBind(key: Key): void {
    const kind = SUBSCRIBE_KIND[key.kind ?? ""];
    if (!this.#settings.dialog || !kind || this.#closed) return;
    const index = entityIndex(key.kind, key.id);
    if (this.#bound.has(index)) return;
    this.#bound.add(index);
    this.send(kind, key).catch((error: unknown) => {
      this.#bound.delete(index);
      this.#statusHub.publishLocal({ type: "error", error: asError(error) });
    });
  }
}

/**
 * One node's answer in {@linkcode AriClient.eachNode}: the value, or the
 * error its read failed with.
 *
 * @typeParam T What the read resolves with.
 *
 * @example
 * ```ts
 * import type { NodeResult } from "./client.ts";
 * const results: NodeResult<string>[] = [
 *   { node: "n1", value: "on-A" },
 *   { node: "n2", error: new Error("gone") },
 * ];
 * ```
 */
export type NodeResult<T> =
  | { readonly node: string; readonly value: T }
  | { readonly node: string; readonly error: Error };

/**
 * Creates an ARI client over a transport.
 *
 * @param transport The native or NATS transport (or a fake, see
 *   `@ari-proxy/client/testing`).
 * @param options Timeout, buffer size, event scope, id generator.
 * @returns The client.
 * @throws {TypeError} When `transport` is not a transport.
 * @throws {RangeError} When an option is out of range.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createClient } from "./client.ts";
 * import { createFakeTransport } from "../testing.ts";
 *
 * await using client = createClient(createFakeTransport({ application: "demo" }));
 * assert.equal(client.application, "demo");
 * ```
 */
export function createClient(
  transport: AriTransport,
  options: ClientOptions = {},
): AriClient {
  if (
    !transport || typeof transport.request !== "function" ||
    typeof transport.subscribe !== "function"
  ) {
    throw new TypeError(
      "Cannot create an ARI client: expected an AriTransport",
    );
  }
  const {
    timeout,
    bufferSize = DEFAULT_BUFFER_SIZE,
    closeTransport = true,
    scope,
    generateId = newResourceId,
  } = options;
  checkTimeout(timeout, "an ARI client");
  checkBufferSize(bufferSize, "an ARI client");
  if (typeof generateId !== "function") {
    throw new TypeError(
      `Cannot create an ARI client: "generateId" must be a function`,
    );
  }
  return new ClientImpl({
    transport,
    scope: scope
      ? { ...scope }
      : transport.application
      ? { app: transport.application }
      : {},
    bufferSize,
    timeout,
    closeTransport,
    generateId: (prefix) => generateId(prefix),
    dialog: undefined,
    parent: undefined,
  });
}
