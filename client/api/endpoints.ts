/**
 * Endpoints: list them, read their state, send them messages and REFERs.
 *
 * @example Send a text message to an endpoint
 * ```ts
 * import { createClient } from "./client.ts";
 * import { createFakeTransport } from "../testing.ts";
 *
 * await using client = createClient(createFakeTransport());
 * await client.endpoints.handle("PJSIP/alice").sendMessage({ from: "sip:bot@example.com", body: "hi" });
 * ```
 *
 * @module
 */

import type { Endpoint } from "../generated/models.ts";
import type { Key } from "../protocol/types.ts";
import type {
  CallOptions,
  EntityHandle,
  EventOrigin,
  KeyLike,
  WithKey,
} from "./common.ts";

/**
 * A text message to send.
 *
 * @example
 * ```ts
 * import type { EndpointMessage } from "./endpoints.ts";
 * const msg: EndpointMessage = { from: "sip:bot@example.com", body: "hello" };
 * ```
 */
export interface EndpointMessage extends CallOptions {
  /** Sender URI. */
  from: string;
  /** Message text. */
  body?: string;
  /** Technology-specific key/value pairs (SIP headers, …). */
  variables?: Readonly<Record<string, string>>;
}

/**
 * A REFER to send.
 *
 * @example
 * ```ts
 * import type { EndpointReferParams } from "./endpoints.ts";
 * const refer: EndpointReferParams = { from: "sip:bot@example.com", referTo: "sip:carol@example.com" };
 * ```
 */
export interface EndpointReferParams extends CallOptions {
  /** Sender URI. */
  from: string;
  /** Where the endpoint should go. */
  referTo: string;
  /** Whether `referTo` names an endpoint of this Asterisk. */
  toSelf?: boolean;
  /** Technology-specific key/value pairs. */
  variables?: Readonly<Record<string, string>>;
}

/**
 * A handle to one endpoint (`tech/resource`); its events include
 * `EndpointStateChange`, `PeerStatusChange` and `TextMessageReceived`.
 *
 * @example
 * ```ts
 * import { createClient } from "./client.ts";
 * import { createFakeTransport } from "../testing.ts";
 *
 * await using client = createClient(createFakeTransport());
 * const alice = client.endpoints.handle("PJSIP/alice");
 * const off = alice.on("EndpointStateChange", (e) => void e.endpoint.state);
 * off();
 * ```
 */
export interface EndpointHandle extends EntityHandle {
  /**
   * Reads the endpoint.
   *
   * @param options Timeout and abort signal.
   * @returns The ARI `Endpoint` with its key.
   */
  data(options?: CallOptions): Promise<WithKey<Endpoint>>;
  /**
   * Sends a text message to the endpoint (our extension kind).
   *
   * @param message Sender, text, variables, timeout and abort signal.
   * @throws {NotImplementedError} When the server lacks the operation.
   */
  sendMessage(message: EndpointMessage): Promise<void>;
  /**
   * Sends a REFER to the endpoint (our extension kind).
   *
   * @param params Sender, target, timeout and abort signal.
   * @throws {NotImplementedError} When the server lacks the operation.
   */
  refer(params: EndpointReferParams): Promise<void>;
}

/**
 * The `endpoints` resource group.
 *
 * @example
 * ```ts
 * import { createClient } from "./client.ts";
 * import { createFakeTransport } from "../testing.ts";
 *
 * await using client = createClient(createFakeTransport());
 * const keys = await client.endpoints.listByTech("PJSIP");
 * console.assert(Array.isArray(keys));
 * ```
 */
export interface Endpoints {
  /**
   * Lists endpoints.
   *
   * @param filter Restricts the list (e.g. to a node).
   * @param options Timeout and abort signal.
   * @returns Their keys (ids `tech/resource`).
   */
  list(filter?: Key | null, options?: CallOptions): Promise<Key[]>;
  /**
   * Lists the endpoints of one technology.
   *
   * @param tech Technology, e.g. `PJSIP`.
   * @param filter Restricts the list (e.g. to a node).
   * @param options Timeout and abort signal.
   * @returns Their keys.
   */
  listByTech(
    tech: string,
    filter?: Key | null,
    options?: CallOptions,
  ): Promise<Key[]>;
  /**
   * Looks an endpoint up.
   *
   * @param key `tech/resource` or key.
   * @param options Timeout and abort signal.
   * @returns The handle.
   */
  get(key: KeyLike, options?: CallOptions): Promise<EndpointHandle>;
  /**
   * Returns a handle without asking the server.
   *
   * @param key `tech/resource` or key.
   * @param origin An event whose node and application fill the key.
   * @returns The handle.
   */
  handle(key: KeyLike, origin?: EventOrigin): EndpointHandle;
  /**
   * Reads an endpoint.
   *
   * @param key `tech/resource` or key.
   * @param options Timeout and abort signal.
   * @returns The ARI `Endpoint` with its key.
   */
  data(key: KeyLike, options?: CallOptions): Promise<WithKey<Endpoint>>;
  /**
   * Sends a text message to a URI (`to`), not necessarily a local endpoint.
   *
   * @param message Recipient, sender, text, variables, timeout and abort signal.
   * @throws {NotImplementedError} When the server lacks the operation.
   */
  sendMessage(message: EndpointMessage & { to: string }): Promise<void>;
  /**
   * Sends a REFER to a URI (`to`).
   *
   * @param params Recipient, sender, target, timeout and abort signal.
   * @throws {NotImplementedError} When the server lacks the operation.
   */
  refer(params: EndpointReferParams & { to: string }): Promise<void>;
}
