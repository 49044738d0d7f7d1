/**
 * Device states controlled through ARI (`Stasis:<name>` devices).
 *
 * @example Mark a device busy
 * ```ts
 * import { createClient } from "./client.ts";
 * import { createFakeTransport } from "../testing.ts";
 *
 * await using client = createClient(createFakeTransport());
 * await client.deviceStates.handle("Stasis:agent-7").update("BUSY");
 * ```
 *
 * @module
 */

import type { DeviceState } from "../generated/models.ts";
import type { Key } from "../protocol/types.ts";
import type {
  CallOptions,
  EntityHandle,
  EventOrigin,
  KeyLike,
  WithKey,
} from "./common.ts";

/**
 * A device state value.
 *
 * @example
 * ```ts
 * import type { DeviceStateValue } from "./device_states.ts";
 * const state: DeviceStateValue = "NOT_INUSE";
 * ```
 */
export type DeviceStateValue = DeviceState["state"];

/**
 * A handle to one device state; its event is `DeviceStateChanged`.
 *
 * @example
 * ```ts
 * import { createClient } from "./client.ts";
 * import { createFakeTransport } from "../testing.ts";
 *
 * await using client = createClient(createFakeTransport());
 * const device = client.deviceStates.handle("Stasis:door");
 * await device.update("INUSE");
 * await device.delete();
 * ```
 */
export interface DeviceStateHandle extends EntityHandle {
  /**
   * Reads the device state.
   *
   * @param options Timeout and abort signal.
   * @returns The ARI `DeviceState` with its key.
   */
  data(options?: CallOptions): Promise<WithKey<DeviceState>>;
  /**
   * Sets the device state (creates the device when needed).
   *
   * @param state New state.
   * @param options Timeout and abort signal.
   */
  update(state: DeviceStateValue, options?: CallOptions): Promise<void>;
  /**
   * Deletes the device.
   *
   * @param options Timeout and abort signal.
   */
  delete(options?: CallOptions): Promise<void>;
}

/**
 * The `deviceStates` resource group.
 *
 * @example
 * ```ts
 * import { createClient } from "./client.ts";
 * import { createFakeTransport } from "../testing.ts";
 *
 * await using client = createClient(createFakeTransport());
 * const keys = await client.deviceStates.list();
 * console.assert(Array.isArray(keys));
 * ```
 */
export interface DeviceStates {
  /**
   * Lists device states.
   *
   * @param filter Restricts the list (e.g. to a node).
   * @param options Timeout and abort signal.
   * @returns Their keys.
   */
  list(filter?: Key | null, options?: CallOptions): Promise<Key[]>;
  /**
   * Looks a device state up.
   *
   * @param key Device name (`Stasis:<name>`) or key.
   * @param options Timeout and abort signal.
   * @returns The handle.
   */
  get(key: KeyLike, options?: CallOptions): Promise<DeviceStateHandle>;
  /**
   * Returns a handle without asking the server.
   *
   * @param key Device name or key.
   * @param origin An event whose node and application fill the key.
   * @returns The handle.
   */
  handle(key: KeyLike, origin?: EventOrigin): DeviceStateHandle;
  /**
   * Reads a device state.
   *
   * @param key Device name or key.
   * @param options Timeout and abort signal.
   * @returns The ARI `DeviceState` with its key.
   */
  data(key: KeyLike, options?: CallOptions): Promise<WithKey<DeviceState>>;
}
