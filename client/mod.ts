/**
 * The ARI client: one API for Asterisk, directly ({@linkcode connectNative})
 * or through a cluster of ari-proxy servers over NATS ({@linkcode connect}).
 * It follows the Go `CyCoreSystems/ari` v5 model: resource groups
 * (`client.channels`, `client.bridges`, …), handles bound to entity keys,
 * staged creation, and typed events (`client.events()`, `client.on()`,
 * `handle.once()`); durations are milliseconds.
 *
 * Runs on Deno 2.9+ (`deno add jsr:@ari-proxy/client`), Node 22+
 * (`npx jsr add @ari-proxy/client`) and Bun 1.4+
 * (`bunx jsr add @ari-proxy/client`), with both transports; the package
 * README has a first program per runtime. Deno-only: the `caCerts` option of
 * {@linkcode connectNative} (on Node and Bun, set `NODE_EXTRA_CA_CERTS`).
 *
 * @example Answer a call, play a greeting, hang up
 * ```ts ignore live
 * import { connectNative } from "@ari-proxy/client";
 *
 * await using client = await connectNative({
 *   url: "http://127.0.0.1:8088/ari",
 *   username: "proxy",
 *   password: "secret",
 *   application: "demo",
 * });
 *
 * // The next call that enters the application (a server loops on this).
 * const event = await client.once("StasisStart", { timeout: 60_000 });
 * const channel = client.channels.handle(event.channel.id, event);
 * await channel.answer();
 * const playback = await channel.stagePlay("sound:hello-world");
 * const finished = playback.handle.once("PlaybackFinished", { timeout: 30_000 });
 * await playback.exec();
 * await finished;
 * await channel.hangup();
 * ```
 *
 * @example The same application over NATS
 * ```ts ignore live
 * import assert from "node:assert/strict";
 * import { connect } from "@ari-proxy/client";
 *
 * await using client = await connect({ servers: "nats://127.0.0.1:4222", application: "demo" });
 * const keys = await client.channels.list(); // every node of the cluster
 * assert.ok(keys.every((key) => key.node !== undefined));
 * ```
 *
 * ## Clusters: where a request goes
 *
 * Over NATS ({@linkcode connect}) every request carries a key, and the key
 * decides which proxies (Asterisk nodes) get it:
 *
 * - A key with **app and node** goes to that one proxy. Every key the client
 *   gives back has both: handles from `get()`, `originate()`, `create()`,
 *   list results, and handles made from an event
 *   (`client.channels.handle(event.channel.id, event)`).
 * - A key with a **node but no app** (`{ id, node }`, `{ node }` as a list
 *   filter, `asterisk.info({ node })`) goes to a proxy of that node (the one
 *   serving the client's application when there is one). A node that no
 *   proxy announces within the request's timeout fails with
 *   `ConnectionError`; a list filtered by such a node is empty.
 * - A key with **no node** (a bare id or name:
 *   `deviceStates.handle(name)`, `asterisk.variables.set("X", v)`,
 *   `channels.handle(id)`) is **broadcast** to every proxy (of its app, when
 *   it names one):
 *   - commands (`update()`, `set()`, `hangup()`, …) run on every node that
 *     accepts them; the call succeeds when one node succeeded;
 *   - creates (`originate()`, `bridges.create()`, …) run on one node, picked
 *     by a NATS queue group; the handle returned names that node;
 *   - reads (`data()`, `get()`, `variables.get()`) return the first
 *     successful answer, from whichever node answers first: when nodes
 *     disagree the result is whichever came first. Single-node code that
 *     writes then reads back a bare name must name the node. Read one node
 *     with `{ id, node }`, every node with
 *     {@linkcode AriClient.eachNode};
 *   - lists concatenate every node's keys (each names its node);
 *   - when every node failed, the last node's error is thrown.
 *
 * The native transport ({@linkcode connectNative}) talks to one Asterisk:
 * keys without a node are for it, and a key naming another node is refused
 * with `ConnectionError` (nothing is sent).
 *
 * ## Errors
 *
 * A refused request rejects with a {@linkcode RemoteError}; the statuses an
 * application branches on have subclasses that are the same on every path
 * (native, our proxy, a Go ari-proxy v5): {@linkcode NotFoundError} (404),
 * {@linkcode ConflictError} (409), {@linkcode BadRequestError} (400),
 * {@linkcode UnprocessableEntityError} (422). Transport failures are
 * `TimeoutError`, `ConnectionError` and `ClosedConnectionError`.
 *
 * @example Treat a channel that is already gone as hung up
 * ```ts
 * import assert from "node:assert/strict";
 * import { createClient, NotFoundError } from "@ari-proxy/client";
 * import { createFakeTransport } from "@ari-proxy/client/testing";
 *
 * const transport = createFakeTransport();
 * // What a Go ari-proxy answers for a channel that does not exist:
 * transport.respond("ChannelHangup", { error: "Non-2XX response: 404 Not Found" });
 * await using client = createClient(transport);
 * try {
 *   await client.channels.handle("gone").hangup();
 * } catch (error) {
 *   if (!(error instanceof NotFoundError)) throw error;
 * }
 * assert.equal(transport.requests.at(-1)?.kind, "ChannelHangup");
 * ```
 *
 * @module
 */

import {
  type AriClient,
  type ClientOptions,
  createClient,
} from "./api/client.ts";
import {
  createNativeTransport,
  type NativeTransportOptions,
} from "./native/transport.ts";
import { createNatsTransport, type NatsTransportOptions } from "./nats/mod.ts";

export { createClient, DEFAULT_BUFFER_SIZE } from "./api/client.ts";
export {
  AriHttpError,
  BadRequestError,
  ClosedConnectionError,
  ConflictError,
  ConnectionError,
  errors,
  NotFoundError,
  NotImplementedError,
  PermissionDeniedError,
  ProtocolError,
  RemoteError,
  remoteStatus,
  TimeoutError,
  UnprocessableEntityError,
} from "./errors.ts";
export { KIND_NAMES, KIND_TABLE } from "./protocol/kinds.ts";
export {
  DEFAULT_ACK_WAIT,
  DEFAULT_MAX_ACK_PENDING,
  eventStreamInfo,
} from "./nats/durable.ts";

/**
 * Connects straight to one Asterisk (ARI REST over `fetch`, events over its
 * WebSocket) and returns a client.
 *
 * @param options ARI URL, credentials, application, timeouts.
 * @param clientOptions Client options (buffer size, default timeout, …).
 * @returns The connected client; closing it closes the transport.
 * @throws {ConnectionError} When ARI cannot be reached.
 * @throws {AriHttpError} When ARI refuses the credentials.
 *
 * @example
 * ```ts ignore live
 * import assert from "node:assert/strict";
 * import { connectNative } from "./mod.ts";
 *
 * await using client = await connectNative({
 *   url: "http://127.0.0.1:8088/ari",
 *   username: "proxy",
 *   password: "secret",
 *   application: "demo",
 * });
 * const info = await client.asterisk.info({ only: ["system"] });
 * assert.equal(info.system?.entity_id, client.nodes()[0]?.node);
 * ```
 */
export async function connectNative(
  options: NativeTransportOptions,
  clientOptions?: ClientOptions,
): Promise<AriClient> {
  const transport = await createNativeTransport(options);
  try {
    return createClient(transport, clientOptions);
  } catch (error) {
    await transport.close();
    throw error;
  }
}

/**
 * Connects to a cluster of ari-proxy servers over NATS and returns a
 * client with the same API as {@linkcode connectNative}.
 *
 * @param options NATS servers (or connection), application, prefix, timeouts, credentials/TLS.
 * @param clientOptions Client options (buffer size, default timeout, …).
 * @returns The connected client; closing it closes the transport.
 * @throws {ConnectionError} When NATS cannot be reached.
 *
 * @example
 * ```ts ignore live
 * import { connect } from "./mod.ts";
 *
 * await using client = await connect({ servers: "nats://127.0.0.1:4222", application: "demo" });
 * // Staged: listen first, then originate, so no event is missed.
 * const staged = await client.channels.stageOriginate({
 *   endpoint: "Local/echo@default",
 *   app: "demo",
 * });
 * const started = staged.handle.once("StasisStart", { timeout: 10_000 });
 * await staged.exec();
 * await started;
 * await staged.handle.hangup();
 * ```
 *
 * @example Durable events: resume after a restart (proxies run with `--events.stream`)
 * ```ts
 * import { connect, eventStreamInfo } from "./mod.ts";
 *
 * // Needs proxies started with --events.stream (JetStream); call it to run.
 * export async function runBilling(): Promise<void> {
 *   await using client = await connect({
 *     servers: "nats://127.0.0.1:4222",
 *     application: "billing",
 *     durable: { name: "billing", start: "all" },
 *   });
 *   client.on("ChannelDestroyed", (event) => {
 *     console.log(eventStreamInfo(event)?.seq); // acknowledged after this handler
 *   });
 *   await client.closed();
 * }
 * ```
 */
export async function connect(
  options?: NatsTransportOptions,
  clientOptions?: ClientOptions,
): Promise<AriClient> {
  const transport = await createNatsTransport(options);
  try {
    return createClient(transport, clientOptions);
  } catch (error) {
    await transport.close();
    throw error;
  }
}

export type {
  AriClient,
  ChildClientOptions,
  ClientOptions,
  ClientStatus,
  NodeResult,
  ResourceIdPrefix,
  UserEventOptions,
} from "./api/client.ts";
export type {
  CallOptions,
  ChannelRef,
  EntityHandle,
  EntityVariables,
  EventHandler,
  EventOrigin,
  EventStream,
  EventStreamOptions,
  EventTypes,
  KeyLike,
  OnceOptions,
  Staged,
  Subscribable,
  Unsubscribe,
  VariableAccessor,
  WithKey,
} from "./api/common.ts";
export type {
  ApplicationEventFilter,
  ApplicationHandle,
  Applications,
  EventSourceRef,
} from "./api/applications.ts";
export type {
  Asterisk,
  AsteriskConfig,
  AsteriskInfoOptions,
  AsteriskLogging,
  AsteriskModules,
  AsteriskVariables,
  ConfigObject,
  LogChannelHandle,
  ModuleHandle,
  NodeOptions,
} from "./api/asterisk.ts";
export type {
  AddChannelOptions,
  BridgeCreateParams,
  BridgeHandle,
  Bridges,
} from "./api/bridges.ts";
export type {
  ChannelCreateParams,
  ChannelHandle,
  Channels,
  ContinueOptions,
  DialOptions,
  ExternalMediaParams,
  HangupOptions,
  MediaDirection,
  OriginateParams,
  PlayOptions,
  SendDtmfOptions,
  SnoopChannelOptions,
  SnoopDirection,
} from "./api/channels.ts";
export type {
  DeviceStateHandle,
  DeviceStates,
  DeviceStateValue,
} from "./api/device_states.ts";
export type {
  EndpointHandle,
  EndpointMessage,
  EndpointReferParams,
  Endpoints,
} from "./api/endpoints.ts";
export type {
  MailboxCounts,
  Mailboxes,
  MailboxHandle,
} from "./api/mailboxes.ts";
export type {
  PlaybackHandle,
  PlaybackOperation,
  Playbacks,
} from "./api/playbacks.ts";
export type {
  FileRangeOptions,
  LiveRecordingHandle,
  LiveRecordings,
  RecordOptions,
  StoredRecordingChunk,
  StoredRecordingHandle,
  StoredRecordings,
} from "./api/recordings.ts";
export type { SoundFilters, Sounds } from "./api/sounds.ts";
export type {
  AriTransport,
  EventScope,
  EventSink,
  RequestOptions,
  TransportStatus,
} from "./transport.ts";
export type {
  AriHttpErrorOptions,
  HttpMethod,
  PermissionDeniedErrorOptions,
  ProtocolErrorCode,
  ProtocolErrorOptions,
  RemoteErrorOptions,
  TimeoutErrorOptions,
} from "./errors.ts";
export type {
  KindInfo,
  KindName,
  KindReturns,
  RequestClass,
} from "./protocol/kinds.ts";
export type {
  BodyField,
  BodyOf,
  ChannelCreateRequest,
  ConfigData,
  ConfigTuple as WireConfigTuple,
  DtmfOptions,
  EntityData,
  ExternalMediaOptions,
  Key,
  KeyKind,
  OriginateRequest,
  ProxiedEvent,
  RecordingOptions,
  Request,
  RequestBodies,
  Response,
  SnoopOptions,
  StoredRecordingFile,
} from "./protocol/types.ts";
export type {
  NativeEventStreamOptions,
  NativeTransportOptions,
} from "./native/transport.ts";
export type { FetchLike } from "./native/rest.ts";
export type {
  AriRequestTransport,
  RequestLink,
  RequestSocket,
  RestOverWebSocket,
  WsRequestSupport,
  WsRestResponse,
} from "./native/rest_over_ws.ts";
export type {
  AriEventObject,
  AriEventStreamOptions,
  ClosedStatus,
  ConnectedStatus,
  ConnectingStatus,
  DisconnectedStatus,
  ErrorStatus,
  ReconnectingStatus,
  StreamClock,
  StreamStatus,
  WebSocketFactory,
  WebSocketLike,
} from "./native/events_socket.ts";
export type {
  NatsAuthenticator,
  NatsConnectionLike,
  NatsTlsOptions,
  NatsTransportOptions,
} from "./nats/transport.ts";
export type { Clock } from "./nats/cluster.ts";
export type {
  DurableEventOptions,
  DurableEventStats,
  DurableStart,
  EventStreamInfo,
} from "./nats/durable.ts";
export type {
  AdditionalParam,
  Application,
  AsteriskInfo,
  AsteriskPing,
  Bridge,
  BuildInfo,
  CallerID,
  Channel,
  ConfigInfo,
  ConfigTuple,
  ContactInfo,
  DeviceState,
  Dialed,
  DialplanCEP,
  Endpoint,
  FormatLangPair,
  LiveRecording,
  LogChannel,
  Mailbox,
  Module,
  Peer,
  Playback,
  ReferredBy,
  ReferTo,
  RequiredDestination,
  RESTHeader,
  RESTQueryStringParameter,
  RESTRequest,
  RTPstat,
  SetId,
  Sound,
  StatusInfo,
  StoredRecording,
  SystemInfo,
  TextMessage,
  Variable,
  Variables,
} from "./generated/models.ts";
export type {
  ApplicationMoveFailed,
  ApplicationRegistered,
  ApplicationReplaced,
  ApplicationUnregistered,
  AriEvent,
  AriEventBase,
  AriEventMap,
  AriEventType,
  AriMessageBase,
  BridgeAttendedTransfer,
  BridgeBlindTransfer,
  BridgeCreated,
  BridgeDestroyed,
  BridgeMerged,
  BridgeVideoSourceChanged,
  CallBroadcast,
  CallClaimed,
  ChannelCallerId,
  ChannelConnectedLine,
  ChannelCreated,
  ChannelDestroyed,
  ChannelDialplan,
  ChannelDtmfReceived,
  ChannelEnteredBridge,
  ChannelHangupRequest,
  ChannelHold,
  ChannelLeftBridge,
  ChannelStateChange,
  ChannelTalkingFinished,
  ChannelTalkingStarted,
  ChannelToneDetected,
  ChannelTransfer,
  ChannelUnhold,
  ChannelUserevent,
  ChannelVarset,
  ContactStatusChange,
  DeviceStateChanged,
  Dial,
  EndpointStateChange,
  MissingParams,
  PeerStatusChange,
  PlaybackContinuing,
  PlaybackFinished,
  PlaybackStarted,
  RecordingFailed,
  RecordingFinished,
  RecordingStarted,
  RESTResponse,
  StasisEnd,
  StasisStart,
  TextMessageReceived,
} from "./generated/events.ts";
