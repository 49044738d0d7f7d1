/**
 * Implementation of live and stored recordings (internal).
 *
 * @module
 */

import type { LiveRecording, StoredRecording } from "../generated/models.ts";
import type { RecordingOptions, RequestBodies } from "../protocol/types.ts";
import type { CallOptions, WithKey } from "./common.ts";
import type {
  FileRangeOptions,
  LiveRecordingHandle,
  LiveRecordings,
  RecordOptions,
  StoredRecordingChunk,
  StoredRecordingHandle,
  StoredRecordings,
} from "./recordings.ts";
import type { ClientContext } from "./_context.ts";
import { dataOf, msToNs } from "./_context.ts";
import { Group, ListedGroup } from "./_group.ts";
import { BaseHandle } from "./_handle.ts";
import { keyAt, resolvedKey } from "./_keys.ts";

const LIVE = "liverecording";
const STORED = "storedrecording";

/** The `*_record` body of a record request. */
export function recordBody(
  ctx: ClientContext,
  options: RecordOptions = {},
): RequestBodies["channel_record"] {
  const {
    name = ctx.newId("rc"),
    format = "wav",
    maxDuration,
    maxSilence,
    ifExists,
    beep,
    terminateOn,
  } = options;
  if (typeof name !== "string" || name === "") {
    throw new TypeError(`Cannot record: "name" must be a non-empty string`);
  }
  const wire: RecordingOptions = { Format: format };
  const duration = msToNs(maxDuration, "maxDuration");
  const silence = msToNs(maxSilence, "maxSilence");
  if (duration !== undefined) wire.MaxDuration = duration;
  if (silence !== undefined) wire.MaxSilence = silence;
  if (ifExists !== undefined) wire.Exists = ifExists;
  if (beep !== undefined) wire.Beep = beep;
  if (terminateOn !== undefined) wire.Terminate = terminateOn;
  return { name, options: wire };
}

function decodeBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Live recording handle implementation. */
export class LiveRecordingHandleImpl extends BaseHandle
  implements LiveRecordingHandle {
  async data(options?: CallOptions): Promise<WithKey<LiveRecording>> {
    return await this.entity<LiveRecording>("RecordingLiveData", options);
  }

  async stop(options?: CallOptions): Promise<void> {
    return await this.command("RecordingLiveStop", undefined, options);
  }

  async pause(options?: CallOptions): Promise<void> {
    return await this.command("RecordingLivePause", undefined, options);
  }

  async resume(options?: CallOptions): Promise<void> {
    return await this.command("RecordingLiveResume", undefined, options);
  }

  async mute(options?: CallOptions): Promise<void> {
    return await this.command("RecordingLiveMute", undefined, options);
  }

  async unmute(options?: CallOptions): Promise<void> {
    return await this.command("RecordingLiveUnmute", undefined, options);
  }

  async scrap(options?: CallOptions): Promise<void> {
    return await this.command("RecordingLiveScrap", undefined, options);
  }

  stored(): StoredRecordingHandle {
    return new StoredRecordingHandleImpl(
      this.ctx,
      keyAt(this.key, STORED, this.id),
    );
  }

  async bindDialog(options?: CallOptions): Promise<void> {
    return await this.command("RecordingLiveSubscribe", undefined, options);
  }
}

/** Stored recording handle implementation. */
export class StoredRecordingHandleImpl extends BaseHandle
  implements StoredRecordingHandle {
  async data(options?: CallOptions): Promise<WithKey<StoredRecording>> {
    return await this.entity<StoredRecording>("RecordingStoredData", options);
  }

  async copy(
    destination: string,
    options?: CallOptions,
  ): Promise<StoredRecordingHandle> {
    if (typeof destination !== "string" || destination === "") {
      throw new TypeError(
        `Cannot copy stored recording "${this.id}": the destination is empty`,
      );
    }
    const response = await this.send(
      "RecordingStoredCopy",
      { recording_stored_copy: { destination } },
      options,
    );
    const key = resolvedKey(
      response.key?.id ? response.key : undefined,
      keyAt(this.key, STORED, destination),
    );
    return new StoredRecordingHandleImpl(this.ctx, key);
  }

  async delete(options?: CallOptions): Promise<void> {
    return await this.command("RecordingStoredDelete", undefined, options);
  }

  async file(options: FileRangeOptions = {}): Promise<StoredRecordingChunk> {
    const { offset, length, ...call } = options;
    const body: RequestBodies["recording_stored_file"] = {};
    if (offset !== undefined) body.offset = offset;
    if (length !== undefined) body.length = length;
    const response = await this.send(
      "RecordingStoredFile",
      { recording_stored_file: body },
      call,
    );
    const file = dataOf(response, "RecordingStoredFile");
    return {
      bytes: decodeBase64(file.data ?? ""),
      offset: file.offset ?? offset ?? 0,
      size: file.size ?? 0,
      contentType: file.content_type ?? "",
    };
  }

  async download(options?: CallOptions): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    let offset = 0;
    let size = Infinity;
    while (offset < size) {
      const chunk = await this.file({ ...options, offset });
      size = chunk.size;
      if (chunk.bytes.length === 0) break;
      parts.push(chunk.bytes);
      offset = chunk.offset + chunk.bytes.length;
    }
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const part of parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }
}

/** `liveRecordings` implementation. */
export class LiveRecordingsImpl extends Group<LiveRecordingHandle>
  implements LiveRecordings {
  constructor(ctx: ClientContext) {
    super(
      ctx,
      LIVE,
      "RecordingLiveGet",
      (c, key) => new LiveRecordingHandleImpl(c, key),
    );
  }
}

/** `storedRecordings` implementation. */
export class StoredRecordingsImpl extends ListedGroup<StoredRecordingHandle>
  implements StoredRecordings {
  constructor(ctx: ClientContext) {
    super(
      ctx,
      STORED,
      { list: "RecordingStoredList", get: "RecordingStoredGet" },
      (c, key) => new StoredRecordingHandleImpl(c, key),
    );
  }
}
