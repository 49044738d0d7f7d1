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
 * @example Answer calls, play a greeting, hang up
 * ```ts ignore
 * import { connectNative } from "@ari-proxy/client";
 *
 * await using client = await connectNative({
 *   url: "http://127.0.0.1:8088/ari",
 *   username: "asterisk",
 *   password: "secret",
 *   application: "demo",
 * });
 *
 * for await (const event of client.events("StasisStart")) {
 *   const channel = client.channels.handle(event.channel.id, event);
 *   await channel.answer();
 *   const playback = await channel.stagePlay("sound:hello-world");
 *   const finished = playback.handle.once("PlaybackFinished", { timeout: 30_000 });
 *   await playback.exec();
 *   await finished;
 *   await channel.hangup();
 * }
 * ```
 *
 * @example The same application over NATS
 * ```ts ignore
 * import { connect } from "@ari-proxy/client";
 *
 * await using client = await connect({ servers: "nats://127.0.0.1:4222", application: "demo" });
 * const keys = await client.channels.list(); // every node of the cluster
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
  ClosedConnectionError,
  ConnectionError,
  errors,
  NotImplementedError,
  ProtocolError,
  RemoteError,
  TimeoutError,
} from "./errors.ts";
export { KIND_NAMES, KIND_TABLE } from "./protocol/kinds.ts";

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
 * ```ts ignore
 * import { connectNative } from "./mod.ts";
 *
 * await using client = await connectNative({
 *   url: "http://127.0.0.1:8088/ari",
 *   username: "asterisk",
 *   password: "secret",
 *   application: "demo",
 * });
 * console.log(await client.asterisk.info({ only: ["system"] }));
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
 * ```ts ignore
 * import { connect } from "./mod.ts";
 *
 * await using client = await connect({ servers: "nats://127.0.0.1:4222", application: "demo" });
 * const channel = await client.channels.originate({ endpoint: "PJSIP/alice" });
 * await channel.once("StasisStart");
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
  ProtocolErrorCode,
  ProtocolErrorOptions,
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
