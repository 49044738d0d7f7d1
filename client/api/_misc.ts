// deno-lint-ignore-file camelcase -- request bodies use the Go wire field names
/**
 * Implementation of the applications, device states, endpoints, mailboxes
 * and sounds groups (internal).
 *
 * @module
 */

import type {
  Application,
  DeviceState,
  Endpoint,
  Mailbox,
  Sound,
} from "../generated/models.ts";
import type { Key, RequestBodies } from "../protocol/types.ts";
import type {
  ApplicationEventFilter,
  ApplicationHandle,
  Applications,
  EventSourceRef,
} from "./applications.ts";
import type { CallOptions, KeyLike, WithKey } from "./common.ts";
import type {
  DeviceStateHandle,
  DeviceStates,
  DeviceStateValue,
} from "./device_states.ts";
import type {
  EndpointHandle,
  EndpointMessage,
  EndpointReferParams,
  Endpoints,
} from "./endpoints.ts";
import type { MailboxCounts, Mailboxes, MailboxHandle } from "./mailboxes.ts";
import type { SoundFilters, Sounds } from "./sounds.ts";
import type { ClientContext } from "./_context.ts";
import { entityOf, keysOf } from "./_context.ts";
import { ListedGroup } from "./_group.ts";
import { BaseHandle } from "./_handle.ts";
import { toKey } from "./_keys.ts";

const SOURCE_PREFIX: Record<string, string> = {
  channel: "channel",
  bridge: "bridge",
  endpoint: "endpoint",
  devicestate: "deviceState",
};

/** `<kind>:<id>` of an event source. */
export function eventSource(source: EventSourceRef): string {
  if (typeof source === "string" && source !== "") return source;
  if (typeof source === "object" && source?.key?.id) {
    const prefix = SOURCE_PREFIX[source.key.kind ?? ""];
    if (prefix) return `${prefix}:${source.key.id}`;
  }
  throw new TypeError(
    "Cannot use the event source: expected `<kind>:<id>` or a channel, bridge, endpoint or device state handle",
  );
}

class ApplicationHandleImpl extends BaseHandle implements ApplicationHandle {
  async data(options?: CallOptions): Promise<WithKey<Application>> {
    return await this.entity<Application>("ApplicationData", options);
  }

  async subscribe(
    source: EventSourceRef,
    options?: CallOptions,
  ): Promise<void> {
    return await this.command(
      "ApplicationSubscribe",
      { application_subscribe: { event_source: eventSource(source) } },
      options,
    );
  }

  async unsubscribe(
    source: EventSourceRef,
    options?: CallOptions,
  ): Promise<void> {
    return await this.command(
      "ApplicationUnsubscribe",
      { application_subscribe: { event_source: eventSource(source) } },
      options,
    );
  }

  async setEventFilter(
    filter: ApplicationEventFilter,
    options?: CallOptions,
  ): Promise<void> {
    const body: RequestBodies["application_event_filter"] = { filter: {} };
    if (filter.allowed) {
      body.filter.allowed = filter.allowed.map((type) => ({ type }));
    }
    if (filter.disallowed) {
      body.filter.disallowed = filter.disallowed.map((type) => ({ type }));
    }
    return await this.command("ApplicationEventFilter", {
      application_event_filter: body,
    }, options);
  }
}

/** `applications` implementation. */
export class ApplicationsImpl extends ListedGroup<ApplicationHandle>
  implements Applications {
  constructor(ctx: ClientContext) {
    super(
      ctx,
      "application",
      { list: "ApplicationList", get: "ApplicationGet" },
      (c, key) => new ApplicationHandleImpl(c, key),
    );
  }
}

class DeviceStateHandleImpl extends BaseHandle implements DeviceStateHandle {
  async data(options?: CallOptions): Promise<WithKey<DeviceState>> {
    return await this.entity<DeviceState>("DeviceStateData", options);
  }

  async update(state: DeviceStateValue, options?: CallOptions): Promise<void> {
    return await this.command("DeviceStateUpdate", {
      device_state_update: { state },
    }, options);
  }

  async delete(options?: CallOptions): Promise<void> {
    return await this.command("DeviceStateDelete", undefined, options);
  }
}

/** `deviceStates` implementation. */
export class DeviceStatesImpl extends ListedGroup<DeviceStateHandle>
  implements DeviceStates {
  constructor(ctx: ClientContext) {
    super(
      ctx,
      "devicestate",
      { list: "DeviceStateList", get: "DeviceStateGet" },
      (c, key) => new DeviceStateHandleImpl(c, key),
    );
  }
}

function messageBody(
  message: EndpointMessage & { to?: string },
): [RequestBodies["endpoint_send_message"], CallOptions] {
  const { to, from, body, variables, ...call } = message;
  if (typeof from !== "string" || from === "") {
    throw new TypeError(`Cannot send a message: "from" is required`);
  }
  const wire: RequestBodies["endpoint_send_message"] = { from };
  if (to !== undefined) wire.to = to;
  if (body !== undefined) wire.body = body;
  if (variables !== undefined) wire.variables = { ...variables };
  return [wire, call];
}

function referBody(
  params: EndpointReferParams & { to?: string },
): [RequestBodies["endpoint_refer"], CallOptions] {
  const { to, from, referTo, toSelf, variables, ...call } = params;
  if (
    typeof from !== "string" || typeof referTo !== "string" || referTo === ""
  ) {
    throw new TypeError(
      `Cannot send a REFER: "from" and "referTo" are required`,
    );
  }
  const wire: RequestBodies["endpoint_refer"] = { from, refer_to: referTo };
  if (to !== undefined) wire.to = to;
  if (toSelf !== undefined) wire.to_self = toSelf;
  if (variables !== undefined) wire.variables = { ...variables };
  return [wire, call];
}

class EndpointHandleImpl extends BaseHandle implements EndpointHandle {
  async data(options?: CallOptions): Promise<WithKey<Endpoint>> {
    return await this.entity<Endpoint>("EndpointData", options);
  }

  async sendMessage(message: EndpointMessage): Promise<void> {
    const [body, call] = messageBody(message);
    return await this.command("EndpointSendMessage", {
      endpoint_send_message: body,
    }, call);
  }

  async refer(params: EndpointReferParams): Promise<void> {
    const [body, call] = referBody(params);
    return await this.command("EndpointRefer", { endpoint_refer: body }, call);
  }
}

/** `endpoints` implementation. */
export class EndpointsImpl extends ListedGroup<EndpointHandle>
  implements Endpoints {
  constructor(ctx: ClientContext) {
    super(
      ctx,
      "endpoint",
      { list: "EndpointList", get: "EndpointGet" },
      (c, key) => new EndpointHandleImpl(c, key),
    );
  }

  async listByTech(
    tech: string,
    filter?: Key | null,
    options?: CallOptions,
  ): Promise<Key[]> {
    if (typeof tech !== "string" || tech === "") {
      throw new TypeError("Cannot list endpoints: the technology is empty");
    }
    return keysOf(
      await this.ctx.send(
        "EndpointListByTech",
        filter ?? null,
        { endpoint_list_by_tech: { tech } },
        options,
      ),
    );
  }

  async sendMessage(message: EndpointMessage & { to: string }): Promise<void> {
    const [body, call] = messageBody(message);
    await this.ctx.send("EndpointSendMessage", null, {
      endpoint_send_message: body,
    }, call);
  }

  async refer(params: EndpointReferParams & { to: string }): Promise<void> {
    const [body, call] = referBody(params);
    await this.ctx.send("EndpointRefer", null, { endpoint_refer: body }, call);
  }
}

class MailboxHandleImpl extends BaseHandle implements MailboxHandle {
  async data(options?: CallOptions): Promise<WithKey<Mailbox>> {
    return await this.entity<Mailbox>("MailboxData", options);
  }

  async update(counts: MailboxCounts, options?: CallOptions): Promise<void> {
    return await this.command(
      "MailboxUpdate",
      { mailbox_update: { old: counts.oldMessages, new: counts.newMessages } },
      options,
    );
  }

  async delete(options?: CallOptions): Promise<void> {
    return await this.command("MailboxDelete", undefined, options);
  }
}

/** `mailboxes` implementation. */
export class MailboxesImpl extends ListedGroup<MailboxHandle>
  implements Mailboxes {
  constructor(ctx: ClientContext) {
    super(
      ctx,
      "mailbox",
      { list: "MailboxList", get: "MailboxGet" },
      (c, key) => new MailboxHandleImpl(c, key),
    );
  }
}

/** `sounds` implementation. */
export class SoundsImpl implements Sounds {
  #ctx: ClientContext;

  constructor(ctx: ClientContext) {
    this.#ctx = ctx;
  }

  async list(
    filters?: SoundFilters | null,
    filter?: Key | null,
    options?: CallOptions,
  ): Promise<Key[]> {
    const wire: Record<string, string> = {};
    if (filters?.lang) wire.lang = filters.lang;
    if (filters?.format) wire.format = filters.format;
    return keysOf(
      await this.#ctx.send(
        "SoundList",
        filter ?? null,
        { sound_list: { filters: Object.keys(wire).length ? wire : null } },
        options,
      ),
    );
  }

  async data(key: KeyLike, options?: CallOptions): Promise<WithKey<Sound>> {
    const k = this.#ctx.stamp(toKey("sound", key));
    const response = await this.#ctx.send("SoundData", k, undefined, options);
    return entityOf<Sound>(response, "SoundData", k);
  }
}
