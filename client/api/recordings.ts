/**
 * Live recordings (in progress) and stored recordings (files).
 *
 * @example Record a channel, stop, and download the file
 * ```ts
 * import { createClient } from "./client.ts";
 * import { createFakeTransport } from "../testing.ts";
 *
 * const transport = createFakeTransport();
 * await using client = createClient(transport);
 * const channel = client.channels.handle("c1");
 * const live = await channel.record({ name: "greeting", format: "wav", maxDuration: 10_000 });
 * const started = live.once("RecordingStarted");
 * transport.emit({ type: "RecordingStarted", recording: { name: "greeting" } });
 * await started;
 * await live.stop();
 * const stored = await live.stored().data();
 * console.log(stored.name);
 * ```
 *
 * @module
 */

import type { LiveRecording, StoredRecording } from "../generated/models.ts";
import type { Key } from "../protocol/types.ts";
import type {
  CallOptions,
  EntityHandle,
  EventOrigin,
  KeyLike,
  WithKey,
} from "./common.ts";

/**
 * Options of `record()` on a channel or bridge. Durations are milliseconds
 * (sent to the proxy as Go nanoseconds; Asterisk counts whole seconds).
 *
 * @example
 * ```ts
 * import type { RecordOptions } from "./recordings.ts";
 * const opts: RecordOptions = { name: "msg-1", format: "wav", maxSilence: 3_000, beep: true };
 * ```
 */
export interface RecordOptions extends CallOptions {
  /** Recording name (the stored file's name); a new id when absent. */
  name?: string;
  /**
   * Audio format.
   *
   * @default {"wav"}
   */
  format?: string;
  /** Maximum duration in milliseconds; no limit when absent or 0. */
  maxDuration?: number;
  /** Maximum silence in milliseconds; no limit when absent or 0. */
  maxSilence?: number;
  /** What to do when a recording of that name exists (ARI default: `fail`). */
  ifExists?: "fail" | "overwrite" | "append";
  /** Plays a beep before recording. */
  beep?: boolean;
  /** DTMF that ends the recording (ARI default: `none`). */
  terminateOn?: "none" | "any" | "*" | "#";
}

/**
 * A byte range of a stored recording file.
 *
 * @example
 * ```ts
 * import type { StoredRecordingChunk } from "./recordings.ts";
 * const chunk: StoredRecordingChunk = { bytes: new Uint8Array(4), offset: 0, size: 4, contentType: "audio/wav" };
 * ```
 */
export interface StoredRecordingChunk {
  /** The bytes. */
  bytes: Uint8Array;
  /** Offset of the first byte in the file. */
  offset: number;
  /** Total file size in bytes. */
  size: number;
  /** MIME type Asterisk served. */
  contentType: string;
}

/**
 * Which part of a stored recording file to read.
 *
 * @example
 * ```ts
 * import type { FileRangeOptions } from "./recordings.ts";
 * const head: FileRangeOptions = { offset: 0, length: 44 };
 * ```
 */
export interface FileRangeOptions extends CallOptions {
  /**
   * Offset of the first byte.
   *
   * @default {0}
   */
  offset?: number;
  /** Number of bytes; the server's maximum when absent. */
  length?: number;
}

/**
 * A handle to a recording in progress. Its events are `RecordingStarted`,
 * `RecordingFinished` and `RecordingFailed`.
 *
 * @example
 * ```ts
 * import { createClient } from "./client.ts";
 * import { createFakeTransport } from "../testing.ts";
 *
 * await using client = createClient(createFakeTransport());
 * const live = await client.bridges.handle("b1").record({ format: "wav" });
 * await live.pause();
 * await live.resume();
 * await live.stop();
 * ```
 */
export interface LiveRecordingHandle extends EntityHandle {
  /**
   * Reads the recording's state.
   *
   * @param options Timeout and abort signal.
   * @returns The ARI `LiveRecording` with its key.
   */
  data(options?: CallOptions): Promise<WithKey<LiveRecording>>;
  /**
   * Stops recording and keeps the file.
   *
   * @param options Timeout and abort signal.
   */
  stop(options?: CallOptions): Promise<void>;
  /**
   * Pauses recording.
   *
   * @param options Timeout and abort signal.
   */
  pause(options?: CallOptions): Promise<void>;
  /**
   * Resumes a paused recording.
   *
   * @param options Timeout and abort signal.
   */
  resume(options?: CallOptions): Promise<void>;
  /**
   * Mutes the recording (silence is recorded).
   *
   * @param options Timeout and abort signal.
   */
  mute(options?: CallOptions): Promise<void>;
  /**
   * Unmutes the recording.
   *
   * @param options Timeout and abort signal.
   */
  unmute(options?: CallOptions): Promise<void>;
  /**
   * Stops recording and deletes the file.
   *
   * @param options Timeout and abort signal.
   */
  scrap(options?: CallOptions): Promise<void>;
  /**
   * The stored recording this recording writes (no request).
   *
   * @returns A handle with the same name and node.
   */
  stored(): StoredRecordingHandle;
  /**
   * Binds the recording to the client's dialog (Go
   * `RecordingLiveSubscribe`); dialog clients do it by themselves when a
   * first listener subscribes.
   *
   * @param options Timeout and abort signal.
   */
  bindDialog(options?: CallOptions): Promise<void>;
}

/**
 * A handle to a stored recording (a file in Asterisk's recording folder).
 *
 * @example
 * ```ts
 * import { createClient } from "./client.ts";
 * import { createFakeTransport } from "../testing.ts";
 *
 * await using client = createClient(createFakeTransport());
 * const copy = await client.storedRecordings.handle("greeting").copy("greeting-backup");
 * await copy.data();
 * await copy.delete();
 * ```
 */
export interface StoredRecordingHandle extends EntityHandle {
  /**
   * Reads the recording's metadata.
   *
   * @param options Timeout and abort signal.
   * @returns The ARI `StoredRecording` with its key.
   */
  data(options?: CallOptions): Promise<WithKey<StoredRecording>>;
  /**
   * Copies the recording.
   *
   * @param destination Name of the copy.
   * @param options Timeout and abort signal.
   * @returns A handle to the copy.
   */
  copy(
    destination: string,
    options?: CallOptions,
  ): Promise<StoredRecordingHandle>;
  /**
   * Deletes the recording.
   *
   * @param options Timeout and abort signal.
   */
  delete(options?: CallOptions): Promise<void>;
  /**
   * Reads a byte range of the file (our extension kind
   * `RecordingStoredFile`).
   *
   * @param options Range, timeout and abort signal.
   * @returns The bytes with the file size.
   * @throws {NotImplementedError} When the server lacks the operation.
   */
  file(options?: FileRangeOptions): Promise<StoredRecordingChunk>;
  /**
   * Downloads the whole file, range by range.
   *
   * @param options Timeout (per range) and abort signal.
   * @returns The file's bytes.
   * @throws {NotImplementedError} When the server lacks the operation.
   */
  download(options?: CallOptions): Promise<Uint8Array>;
}

/**
 * The `liveRecordings` resource group.
 *
 * @example
 * ```ts
 * import { createClient } from "./client.ts";
 * import { createFakeTransport } from "../testing.ts";
 *
 * await using client = createClient(createFakeTransport());
 * await client.liveRecordings.handle("rec-1").stop();
 * ```
 */
export interface LiveRecordings {
  /**
   * Looks a live recording up and returns a handle bound to the key the
   * server answered with.
   *
   * @param key Recording name or key.
   * @param options Timeout and abort signal.
   * @returns The handle.
   */
  get(key: KeyLike, options?: CallOptions): Promise<LiveRecordingHandle>;
  /**
   * Returns a handle without asking the server.
   *
   * @param key Recording name or key.
   * @param origin An event whose node and application fill the key.
   * @returns The handle.
   */
  handle(key: KeyLike, origin?: EventOrigin): LiveRecordingHandle;
  /**
   * Reads a live recording.
   *
   * @param key Recording name or key.
   * @param options Timeout and abort signal.
   * @returns The ARI `LiveRecording` with its key.
   */
  data(key: KeyLike, options?: CallOptions): Promise<WithKey<LiveRecording>>;
}

/**
 * The `storedRecordings` resource group.
 *
 * @example
 * ```ts
 * import { createClient } from "./client.ts";
 * import { createFakeTransport } from "../testing.ts";
 *
 * await using client = createClient(createFakeTransport());
 * const keys = await client.storedRecordings.list();
 * console.assert(Array.isArray(keys));
 * ```
 */
export interface StoredRecordings {
  /**
   * Lists stored recordings (of every node the transport reaches).
   *
   * @param filter Restricts the list (e.g. to a node); all when absent.
   * @param options Timeout and abort signal.
   * @returns Their keys.
   */
  list(filter?: Key | null, options?: CallOptions): Promise<Key[]>;
  /**
   * Looks a stored recording up and returns a handle bound to the key the
   * server answered with.
   *
   * @param key Recording name or key.
   * @param options Timeout and abort signal.
   * @returns The handle.
   */
  get(key: KeyLike, options?: CallOptions): Promise<StoredRecordingHandle>;
  /**
   * Returns a handle without asking the server.
   *
   * @param key Recording name or key.
   * @param origin An event whose node and application fill the key.
   * @returns The handle.
   */
  handle(key: KeyLike, origin?: EventOrigin): StoredRecordingHandle;
  /**
   * Reads a stored recording's metadata.
   *
   * @param key Recording name or key.
   * @param options Timeout and abort signal.
   * @returns The ARI `StoredRecording` with its key.
   */
  data(
    key: KeyLike,
    options?: CallOptions,
  ): Promise<WithKey<StoredRecording>>;
}
