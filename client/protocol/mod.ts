/**
 * The ari-proxy NATS wire protocol, compatible with Go ari-proxy v5: request
 * kinds and their facts, typed requests and responses, keys, subjects, a
 * validating codec and the entity keys of ARI events.
 *
 * A proxy decodes each request with {@linkcode decodeRequest} (never throws;
 * a failure carries a {@linkcode ProtocolError} and maps to a reply with
 * {@linkcode errorResponse}), executes it, and answers with
 * {@linkcode encodeResponse}. A client builds requests, sends
 * {@linkcode encodeRequest} to {@linkcode requestSubject}, and reads replies
 * with {@linkcode decodeResponse}. Events are matched to keys with
 * {@linkcode eventKeys} and {@linkcode keyMatches}.
 *
 * @example Round trip of one request
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   decodeRequest,
 *   decodeResponse,
 *   encodeRequest,
 *   encodeResponse,
 *   errorResponse,
 *   eventKeys,
 *   KIND_TABLE,
 *   keyMatches,
 *   requestSubject,
 * } from "./mod.ts";
 *
 * // Client side: build and address a request.
 * const key = { kind: "channel", id: "c1", app: "myapp", node: "02:00:00:00:60:0d" };
 * const subject = requestSubject("ari.", KIND_TABLE.ChannelPlay.class, key);
 * assert.equal(subject, "ari.create.myapp.02:00:00:00:60:0d");
 * const wire = encodeRequest({
 *   kind: "ChannelPlay",
 *   key,
 *   channel_play: { playback_id: "pb1", media_uri: "sound:hello-world" },
 * });
 *
 * // Proxy side: decode, validate, answer.
 * const decoded = decodeRequest(wire);
 * const reply = decoded.ok
 *   ? { error: "", key: { kind: "playback", id: "pb1", app: "myapp", node: "02:00:00:00:60:0d" } }
 *   : errorResponse(decoded.error);
 * const response = decodeResponse(encodeResponse(reply));
 * assert.equal(response.key?.id, "pb1");
 *
 * // Events: does this playback event concern channel c1?
 * const keys = eventKeys({
 *   type: "PlaybackFinished",
 *   application: "myapp",
 *   asterisk_id: "02:00:00:00:60:0d",
 *   playback: { id: "pb1", target_uri: "channel:c1" },
 * });
 * assert.ok(keys.some((k) => keyMatches(key, k) && k.kind === "channel"));
 * ```
 *
 * @module
 */

export { ProtocolError } from "../errors.ts";
export type { ProtocolErrorCode, ProtocolErrorOptions } from "../errors.ts";

export { isKindName, KIND_NAMES, KIND_TABLE, kindInfo } from "./kinds.ts";
export type { KindInfo, KindName, KindReturns, RequestClass } from "./kinds.ts";

export {
  announceSubject,
  CREATE_QUEUE_GROUP,
  DEFAULT_PREFIX,
  dialogEventSubject,
  eventSubject,
  eventSubscriptionSubject,
  isDirectKey,
  isValidToken,
  normalizePrefix,
  parseEventSubject,
  parseRequestSubject,
  pingSubject,
  REQUEST_CLASSES,
  requestSubject,
} from "./subjects.ts";
export type { ParsedEventSubject, ParsedRequestSubject } from "./subjects.ts";

export {
  decodeAnnouncement,
  decodeEvent,
  decodeRequest,
  decodeResponse,
  encodeAnnouncement,
  encodeKey,
  encodeRequest,
  encodeResponse,
  errorResponse,
  keyMatches,
  MAX_ID_LENGTH,
  MAX_REQUEST_BYTES,
  normalizeKey,
  NOT_IMPLEMENTED,
} from "./codec.ts";
export type {
  DecodedRequest,
  DecodedRequestError,
  DecodedRequestOk,
  DecodeRequestOptions,
} from "./codec.ts";

export { eventKeys, isDestroyEvent } from "./event_keys.ts";

export type {
  Announcement,
  BodyField,
  BodyOf,
  ChannelCreateRequest,
  ConfigData,
  ConfigTuple,
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
  TypedRequest,
} from "./types.ts";
