/**
 * The native side of the client: talking to one Asterisk directly.
 *
 * - {@linkcode createAriRestClient}: ARI REST over `fetch` (basic auth,
 *   timeouts, typed errors, every path id URL-encoded).
 * - {@linkcode openAriEventStream}: the ARI events WebSocket with automatic
 *   reconnection.
 * - {@linkcode createRestOverWebSocket}: ARI requests as `RESTRequest`
 *   messages on that WebSocket (Asterisk 22), shared by the two above.
 * - {@linkcode createKindExecutor}: executes any protocol request against ARI
 *   and answers in Go ari-proxy's shape (shared with the proxy server).
 * - {@linkcode createNativeTransport}: all of the above as an
 *   `AriTransport`.
 *
 * @example Connect and originate
 * ```ts ignore live
 * import { createNativeTransport } from "./mod.ts";
 *
 * await using transport = await createNativeTransport({
 *   url: "http://127.0.0.1:8088/ari",
 *   username: "proxy",
 *   password: "secret",
 *   application: "demo",
 * });
 * transport.subscribe({}, (event) => console.log(event.type));
 * const { key } = await transport.request({
 *   kind: "ChannelOriginate",
 *   key: null,
 *   channel_originate: {
 *     originate_request: { endpoint: "Local/100@default", app: "demo" },
 *   },
 * });
 * console.log(key);
 * ```
 *
 * @module
 */

export { createAriRestClient, DEFAULT_REST_TIMEOUT } from "./rest.ts";
export { openAriEventStream } from "./events_socket.ts";
export {
  ARI_REQUEST_TRANSPORTS,
  createRestOverWebSocket,
  DEFAULT_PROBE_TIMEOUT,
  MAX_WS_REQUEST_BYTES,
} from "./rest_over_ws.ts";
export {
  createKindExecutor,
  KIND_OPERATIONS,
  STORED_FILE_DEFAULT_LENGTH,
  STORED_FILE_MAX_LENGTH,
} from "./executor.ts";
export { createNativeTransport, DEFAULT_NATIVE_TIMEOUT } from "./transport.ts";

export type {
  AriBytesResponse,
  AriPath,
  AriPathTemplate,
  AriQueryValue,
  AriRequestOptions,
  AriRestClient,
  AriRestClientOptions,
  FetchLike,
  HttpMethod,
} from "./rest.ts";
export type {
  AriEventObject,
  AriEventStream,
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
} from "./events_socket.ts";
export type {
  AriRequestTransport,
  RequestLink,
  RequestSocket,
  RestOverWebSocket,
  RestOverWebSocketOptions,
  WsRequestSupport,
  WsRestResponse,
} from "./rest_over_ws.ts";
export type {
  ExecuteOptions,
  ExecutionResult,
  ExecutorErrorCode,
  KindExecutor,
  KindExecutorOptions,
} from "./executor.ts";
export type {
  NativeEventStreamOptions,
  NativeTransportOptions,
} from "./transport.ts";
