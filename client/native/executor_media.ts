/**
 * Device state, endpoint, mailbox, playback, recording and sound kinds of
 * the kind executor. Internal.
 *
 * @module
 */

import type { AriOperationId } from "../generated/operations.ts";
import {
  asList,
  asObject,
  bindOnlyHandler,
  commandHandler,
  dataHandler,
  dataReply,
  entity,
  type ExecContext,
  getHandler,
  type HandlerGroup,
  keyReply,
  keysReply,
  type KindHandler,
  listHandler,
  ok,
  quoted,
  splitEndpointId,
  stringField,
  toBase64,
  verbCommandHandler,
} from "./executor_common.ts";

/** Default chunk of `RecordingStoredFile`, in bytes (512 KiB). */
export const STORED_FILE_DEFAULT_LENGTH = 512 * 1024;
/**
 * Largest chunk of `RecordingStoredFile`, in bytes (700 KiB): its base64 text
 * plus the JSON around it stays under NATS's default 1 MiB max payload.
 */
export const STORED_FILE_MAX_LENGTH = 700 * 1024;

function endpointKeyId(item: Record<string, unknown>): string {
  const tech = stringField(item, "technology");
  const resource = stringField(item, "resource");
  return tech === "" && resource === "" ? "" : `${tech}/${resource}`;
}

async function endpointModel(
  ctx: ExecContext,
): Promise<Record<string, unknown>> {
  const id = ctx.id('endpoint id, "technology/resource"');
  const { tech, resource } = splitEndpointId(ctx, id);
  const action = `get endpoint ${quoted(id)}`;
  return asObject(
    await ctx.call("endpoints.get", action, { params: { tech, resource } }),
    action,
  );
}

/** `{to?, tech/resource}` addressing of EndpointSendMessage/EndpointRefer. */
function endpointTarget(
  ctx: ExecContext,
  field: "endpoint_send_message" | "endpoint_refer",
):
  | { kind: "endpoint"; tech: string; resource: string; label: string }
  | { kind: "to"; to: string; label: string } {
  const id = ctx.optId();
  if (id !== undefined) {
    const { tech, resource } = splitEndpointId(ctx, id);
    return {
      kind: "endpoint",
      tech,
      resource,
      label: `endpoint ${quoted(id)}`,
    };
  }
  const to = ctx.body(field).optString("to");
  if (to === undefined) {
    throw ctx.invalid(
      `either key.id ("technology/resource") or ${field}.to is required`,
      "invalidField",
      `${field}.to`,
    );
  }
  return { kind: "to", to, label: quoted(to) };
}

function liveCommand(op: AriOperationId, verb: string): KindHandler {
  return verbCommandHandler(op, "recordingName", "live recording", verb);
}

/** Handlers of the device state, endpoint, mailbox, playback, recording and sound kinds. */
export const MEDIA_HANDLERS: HandlerGroup = {
  // ---- device states ----
  DeviceStateData: dataHandler(
    "deviceStates.get",
    "device_state",
    "deviceName",
    "device state",
  ),
  DeviceStateGet: getHandler("deviceStates.get", "deviceName", "device state"),
  DeviceStateList: listHandler(
    "deviceStates.list",
    "devicestate",
    (item) => stringField(item, "name"),
    "device states",
  ),
  DeviceStateUpdate: commandHandler(
    "deviceStates.update",
    "deviceName",
    (id) => `update device state ${quoted(id)}`,
    (ctx) => ({
      query: {
        deviceState: ctx.body("device_state_update").nonEmpty(
          "state",
          'a device state such as "INUSE"',
        ),
      },
    }),
  ),
  DeviceStateDelete: commandHandler(
    "deviceStates.delete",
    "deviceName",
    (id) => `delete device state ${quoted(id)}`,
  ),

  // ---- endpoints ----
  EndpointList: listHandler(
    "endpoints.list",
    "endpoint",
    endpointKeyId,
    "endpoints",
  ),
  EndpointListByTech: {
    ops: ["endpoints.listByTech"],
    async run(ctx) {
      const tech = ctx.body("endpoint_list_by_tech").nonEmpty(
        "tech",
        'a technology such as "PJSIP"',
      );
      if (tech === "." || tech === "..") {
        throw ctx.invalid(
          `endpoint_list_by_tech.tech ${quoted(tech)} is not a technology`,
          "invalidField",
          "endpoint_list_by_tech.tech",
        );
      }
      const action = `list endpoints of technology ${quoted(tech)}`;
      const items = asList(
        await ctx.call("endpoints.listByTech", action, { params: { tech } }),
        action,
      );
      return keysReply(
        items.map((item) => ctx.makeKey("endpoint", endpointKeyId(item))),
      );
    },
  },
  EndpointData: {
    ops: ["endpoints.get"],
    async run(ctx) {
      const model = await endpointModel(ctx);
      return dataReply({ endpoint: entity(ctx.stampKey(), model) });
    },
  },
  EndpointGet: {
    ops: ["endpoints.get"],
    async run(ctx) {
      await endpointModel(ctx);
      return keyReply(ctx.stampKey());
    },
  },
  EndpointSendMessage: {
    ops: ["endpoints.sendMessage", "endpoints.sendMessageToEndpoint"],
    async run(ctx) {
      const target = endpointTarget(ctx, "endpoint_send_message");
      const body = ctx.body("endpoint_send_message");
      const from = body.nonEmpty("from", "the sender URI");
      const text = body.optString("body");
      const variables = body.optStringMap("variables");
      const json = variables === undefined ? {} : { body: { variables } };
      const action = `send a message to ${target.label}`;
      if (target.kind === "endpoint") {
        await ctx.call("endpoints.sendMessageToEndpoint", action, {
          params: { tech: target.tech, resource: target.resource },
          query: { from, body: text },
          ...json,
        });
      } else {
        await ctx.call("endpoints.sendMessage", action, {
          query: { to: target.to, from, body: text },
          ...json,
        });
      }
      return ok();
    },
  },
  EndpointRefer: {
    ops: ["endpoints.refer", "endpoints.referToEndpoint"],
    async run(ctx) {
      const target = endpointTarget(ctx, "endpoint_refer");
      const body = ctx.body("endpoint_refer");
      const from = body.nonEmpty("from", "the sender URI");
      const referTo = body.nonEmpty("refer_to", "the URI to refer to");
      const toSelf = body.optBool("to_self");
      const variables = body.optStringMap("variables");
      const json = variables === undefined ? {} : { body: { variables } };
      const action = `send a REFER to ${target.label}`;
      if (target.kind === "endpoint") {
        await ctx.call("endpoints.referToEndpoint", action, {
          params: { tech: target.tech, resource: target.resource },
          query: { from, refer_to: referTo, to_self: toSelf },
          ...json,
        });
      } else {
        await ctx.call("endpoints.refer", action, {
          query: { to: target.to, from, refer_to: referTo, to_self: toSelf },
          ...json,
        });
      }
      return ok();
    },
  },

  // ---- mailboxes ----
  MailboxData: dataHandler(
    "mailboxes.get",
    "mailbox",
    "mailboxName",
    "mailbox",
  ),
  MailboxGet: getHandler("mailboxes.get", "mailboxName", "mailbox"),
  MailboxList: listHandler(
    "mailboxes.list",
    "mailbox",
    (item) => stringField(item, "name"),
    "mailboxes",
  ),
  MailboxUpdate: commandHandler(
    "mailboxes.update",
    "mailboxName",
    (id) => `update mailbox ${quoted(id)}`,
    (ctx) => {
      const body = ctx.body("mailbox_update");
      return {
        query: {
          oldMessages: body.optInt("old") ?? 0,
          newMessages: body.optInt("new") ?? 0,
        },
      };
    },
  ),
  MailboxDelete: commandHandler(
    "mailboxes.delete",
    "mailboxName",
    (id) => `delete mailbox ${quoted(id)}`,
  ),

  // ---- playbacks ----
  PlaybackData: dataHandler(
    "playbacks.get",
    "playback",
    "playbackId",
    "playback",
  ),
  PlaybackGet: getHandler("playbacks.get", "playbackId", "playback"),
  PlaybackControl: commandHandler(
    "playbacks.control",
    "playbackId",
    (id) => `control playback ${quoted(id)}`,
    (ctx) => ({
      query: {
        operation: ctx.body("playback_control").nonEmpty(
          "command",
          'an operation such as "pause"',
        ),
      },
    }),
  ),
  PlaybackStop: commandHandler(
    "playbacks.stop",
    "playbackId",
    (id) => `stop playback ${quoted(id)}`,
  ),
  PlaybackSubscribe: bindOnlyHandler(),

  // ---- live recordings ----
  RecordingLiveData: dataHandler(
    "recordings.getLive",
    "live_recording",
    "recordingName",
    "live recording",
  ),
  RecordingLiveGet: getHandler(
    "recordings.getLive",
    "recordingName",
    "live recording",
  ),
  RecordingLiveStop: liveCommand("recordings.stop", "stop"),
  RecordingLivePause: liveCommand("recordings.pause", "pause"),
  RecordingLiveResume: liveCommand("recordings.unpause", "resume"),
  RecordingLiveMute: liveCommand("recordings.mute", "mute"),
  RecordingLiveUnmute: liveCommand("recordings.unmute", "unmute"),
  RecordingLiveScrap: liveCommand("recordings.cancel", "scrap"),
  RecordingLiveSubscribe: bindOnlyHandler(),

  // ---- stored recordings ----
  RecordingStoredData: dataHandler(
    "recordings.getStored",
    "stored_recording",
    "recordingName",
    "stored recording",
  ),
  RecordingStoredGet: getHandler(
    "recordings.getStored",
    "recordingName",
    "stored recording",
  ),
  RecordingStoredList: listHandler(
    "recordings.listStored",
    "storedrecording",
    (item) => stringField(item, "name"),
    "stored recordings",
  ),
  RecordingStoredDelete: commandHandler(
    "recordings.deleteStored",
    "recordingName",
    (id) => `delete stored recording ${quoted(id)}`,
  ),
  RecordingStoredCopy: {
    ops: ["recordings.copyStored"],
    async run(ctx) {
      const id = ctx.id("stored recording name");
      const destination = ctx.body("recording_stored_copy").nonEmpty(
        "destination",
        "the name of the copy",
      );
      await ctx.call(
        "recordings.copyStored",
        `copy stored recording ${quoted(id)} to ${quoted(destination)}`,
        {
          params: { recordingName: id },
          query: { destinationRecordingName: destination },
        },
      );
      return keyReply(ctx.makeKey("storedrecording", destination));
    },
  },
  RecordingStoredFile: {
    ops: ["recordings.getStoredFile"],
    async run(ctx) {
      const id = ctx.id("stored recording name");
      const range = ctx.optBody("recording_stored_file");
      const offset = range?.optInt("offset") ?? 0;
      let length = range?.optInt("length") ?? STORED_FILE_DEFAULT_LENGTH;
      if (offset < 0) {
        throw ctx.invalid(
          `recording_stored_file.offset must be 0 or more, got ${offset}`,
          "invalidField",
          "recording_stored_file.offset",
        );
      }
      if (length <= 0) {
        throw ctx.invalid(
          `recording_stored_file.length must be 1 or more, got ${length}`,
          "invalidField",
          "recording_stored_file.length",
        );
      }
      length = Math.min(length, STORED_FILE_MAX_LENGTH);
      const { bytes, contentType } = await ctx.callBytes(
        "recordings.getStoredFile",
        `download stored recording ${quoted(id)}`,
        { params: { recordingName: id } },
      );
      const start = Math.min(offset, bytes.length);
      const chunk = bytes.subarray(
        start,
        Math.min(start + length, bytes.length),
      );
      return dataReply({
        stored_recording_file: {
          data: toBase64(chunk),
          offset: start,
          size: bytes.length,
          content_type: contentType,
        },
      });
    },
  },

  // ---- sounds ----
  SoundData: dataHandler("sounds.get", "sound", "soundId", "sound"),
  SoundList: {
    ops: ["sounds.list"],
    async run(ctx) {
      const filters = ctx.optBody("sound_list")?.optStringMap("filters");
      const action = "list sounds";
      const items = asList(
        await ctx.call("sounds.list", action, { query: { ...filters } }),
        action,
      );
      // Go reads `name` (and so returns keys without ids); Asterisk sends `id`.
      return keysReply(
        items.map((item) =>
          ctx.makeKey(
            "sound",
            stringField(item, "id") || stringField(item, "name"),
          )
        ),
      );
    },
  },
};
