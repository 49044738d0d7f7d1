/**
 * Applications: the Stasis applications registered with Asterisk, their
 * event subscriptions and event filters.
 *
 * @example Subscribe the application to an endpoint's events
 * ```ts
 * import { createClient } from "./client.ts";
 * import { createFakeTransport } from "../testing.ts";
 *
 * await using client = createClient(createFakeTransport());
 * const app = client.applications.handle(client.application);
 * await app.subscribe("endpoint:PJSIP/alice");
 * ```
 *
 * @module
 */

import type { Application } from "../generated/models.ts";
import type { Key } from "../protocol/types.ts";
import type {
  CallOptions,
  EntityHandle,
  EventOrigin,
  KeyLike,
  WithKey,
} from "./common.ts";

/**
 * An event source: `channel:<id>`, `bridge:<id>`, `endpoint:<tech>/<res>`
 * or `deviceState:<name>` — or a handle of such an entity.
 *
 * @example
 * ```ts
 * import type { EventSourceRef } from "./applications.ts";
 * const source: EventSourceRef = "deviceState:Custom:door";
 * ```
 */
export type EventSourceRef = string | { readonly key: Key };

/**
 * Which event types an application receives (ARI event filter): `allowed`
 * types only, minus `disallowed` ones.
 *
 * @example
 * ```ts
 * import type { ApplicationEventFilter } from "./applications.ts";
 * const filter: ApplicationEventFilter = { disallowed: ["ChannelVarset"] };
 * ```
 */
export interface ApplicationEventFilter {
  /** Event types to receive; all when absent. */
  allowed?: readonly string[];
  /** Event types not to receive. */
  disallowed?: readonly string[];
}

/**
 * A handle to one Stasis application.
 *
 * @example
 * ```ts
 * import { createClient } from "./client.ts";
 * import { createFakeTransport } from "../testing.ts";
 *
 * await using client = createClient(createFakeTransport());
 * const app = client.applications.handle("demo");
 * await app.setEventFilter({ allowed: ["StasisStart", "StasisEnd"] });
 * ```
 */
export interface ApplicationHandle extends EntityHandle {
  /**
   * Reads the application.
   *
   * @param options Timeout and abort signal.
   * @returns The ARI `Application` with its key.
   */
  data(options?: CallOptions): Promise<WithKey<Application>>;
  /**
   * Subscribes the application to an event source.
   *
   * @param source `channel:<id>`, `bridge:<id>`, `endpoint:<tech>/<res>`,
   *   `deviceState:<name>`, or a handle.
   * @param options Timeout and abort signal.
   */
  subscribe(source: EventSourceRef, options?: CallOptions): Promise<void>;
  /**
   * Unsubscribes the application from an event source.
   *
   * @param source As for {@linkcode ApplicationHandle.subscribe}.
   * @param options Timeout and abort signal.
   */
  unsubscribe(source: EventSourceRef, options?: CallOptions): Promise<void>;
  /**
   * Sets the application's event filter (our extension kind).
   *
   * @param filter Allowed and disallowed event types.
   * @param options Timeout and abort signal.
   * @throws {NotImplementedError} When the server lacks the operation.
   */
  setEventFilter(
    filter: ApplicationEventFilter,
    options?: CallOptions,
  ): Promise<void>;
}

/**
 * The `applications` resource group.
 *
 * @example
 * ```ts
 * import { createClient } from "./client.ts";
 * import { createFakeTransport } from "../testing.ts";
 *
 * await using client = createClient(createFakeTransport());
 * const keys = await client.applications.list();
 * console.assert(Array.isArray(keys));
 * ```
 */
export interface Applications {
  /**
   * Lists applications.
   *
   * @param filter Restricts the list (e.g. to a node).
   * @param options Timeout and abort signal.
   * @returns Their keys.
   */
  list(filter?: Key | null, options?: CallOptions): Promise<Key[]>;
  /**
   * Looks an application up.
   *
   * @param key Application name or key.
   * @param options Timeout and abort signal.
   * @returns The handle.
   */
  get(key: KeyLike, options?: CallOptions): Promise<ApplicationHandle>;
  /**
   * Returns a handle without asking the server.
   *
   * @param key Application name or key.
   * @param origin An event whose node and application fill the key.
   * @returns The handle.
   */
  handle(key: KeyLike, origin?: EventOrigin): ApplicationHandle;
  /**
   * Reads an application.
   *
   * @param key Application name or key.
   * @param options Timeout and abort signal.
   * @returns The ARI `Application` with its key.
   */
  data(key: KeyLike, options?: CallOptions): Promise<WithKey<Application>>;
}
