/**
 * What resource groups and handles need from their client (internal), and
 * helpers to read responses.
 *
 * @module
 */

import { ProtocolError } from "../errors.ts";
import type { KindName } from "../protocol/kinds.ts";
import type {
  EntityData,
  Key,
  RequestBodies,
  Response,
} from "../protocol/types.ts";
import type { CallOptions } from "./common.ts";
import type { EventHub } from "./_hub.ts";
import type { IdTag } from "./_ids.ts";

/** The body part of a request. */
export type RequestBody = Partial<RequestBodies>;

/** The client seen from a group or handle. */
export interface ClientContext {
  /** ARI application of the transport. */
  readonly application: string;
  /** Dialog stamped on every key, when the client is bound to one. */
  readonly dialogId: string | undefined;
  /** Event fan-out of the client. */
  readonly hub: EventHub;
  /**
   * Sends one request (the key stamped with the dialog) and resolves with a
   * successful response.
   *
   * @throws {RemoteError} The far side answered with an error.
   * @throws {NotImplementedError} The far side lacks the kind.
   * @throws {ClosedConnectionError} The client is closed.
   */
  send(
    kind: KindName,
    key: Key | null,
    body?: RequestBody,
    options?: CallOptions,
  ): Promise<Response>;
  /** A new resource id (Go `rid.New`). */
  newId(tag: IdTag): string;
  /** `key` with the client's dialog stamped on it. */
  stamp(key: Key): Key;
}

/** The `EntityData` member each data kind answers with. */
export const DATA_MEMBER = {
  ApplicationData: "application",
  AsteriskConfigData: "config",
  AsteriskInfo: "asterisk",
  AsteriskLoggingData: "log",
  AsteriskModuleData: "module",
  AsteriskPing: "asterisk_ping",
  AsteriskVariableGet: "variable",
  BridgeData: "bridge",
  BridgeVariableGet: "variable",
  BridgeVariablesGet: "variables",
  ChannelData: "channel",
  ChannelRTPStatistics: "rtp_statistics",
  ChannelVariableGet: "variable",
  ChannelVariablesGet: "variables",
  DeviceStateData: "device_state",
  EndpointData: "endpoint",
  MailboxData: "mailbox",
  PlaybackData: "playback",
  RecordingLiveData: "live_recording",
  RecordingStoredData: "stored_recording",
  RecordingStoredFile: "stored_recording_file",
  SoundData: "sound",
} as const satisfies Partial<Record<KindName, keyof EntityData>>;

/** A kind whose success carries `data`. */
export type DataKind = keyof typeof DATA_MEMBER;

/**
 * Returns the data member of a response.
 *
 * @throws {ProtocolError} When the member is missing.
 */
export function dataOf<K extends DataKind>(
  response: Response,
  kind: K,
): NonNullable<EntityData[(typeof DATA_MEMBER)[K]]> {
  const member = DATA_MEMBER[kind];
  const value = response.data?.[member];
  if (value === undefined || value === null) {
    throw new ProtocolError(
      `Invalid response to "${kind}": "data.${member}" is missing`,
      { code: "invalidField", kind, field: `data.${member}` },
    );
  }
  return value as NonNullable<EntityData[(typeof DATA_MEMBER)[K]]>;
}

/** An entity model from a data response, with its key (the request key when the response has none). */
export function entityOf<T>(
  response: Response,
  kind: DataKind,
  requestKey: Key,
): T & { key: Key } {
  const value = dataOf(response, kind) as Record<string, unknown>;
  const key = value.key && typeof value.key === "object"
    ? value.key as Key
    : requestKey;
  return { ...value, key } as T & { key: Key };
}

/** The keys of a list response (absent when empty, as Go sends it). */
export function keysOf(response: Response): Key[] {
  return Array.isArray(response.keys) ? response.keys : [];
}

/** Milliseconds to Go nanoseconds (`time.Duration`). */
export function msToNs(
  ms: number | undefined,
  name: string,
): number | undefined {
  if (ms === undefined) return undefined;
  if (typeof ms !== "number" || !Number.isFinite(ms) || ms < 0) {
    throw new RangeError(
      `Cannot use "${name}": expected a non-negative number of milliseconds, got ${ms}`,
    );
  }
  return Math.round(ms * 1_000_000);
}
