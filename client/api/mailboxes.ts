/**
 * Mailboxes (message waiting indication) controlled through ARI.
 *
 * @example Set the message counts
 * ```ts
 * import { createClient } from "./client.ts";
 * import { createFakeTransport } from "../testing.ts";
 *
 * await using client = createClient(createFakeTransport());
 * await client.mailboxes.handle("1000@default").update({ oldMessages: 1, newMessages: 2 });
 * ```
 *
 * @module
 */

import type { Mailbox } from "../generated/models.ts";
import type { Key } from "../protocol/types.ts";
import type {
  CallOptions,
  EntityHandle,
  EventOrigin,
  KeyLike,
  WithKey,
} from "./common.ts";

/**
 * New message counts of a mailbox.
 *
 * @example
 * ```ts
 * import type { MailboxCounts } from "./mailboxes.ts";
 * const counts: MailboxCounts = { oldMessages: 0, newMessages: 3 };
 * ```
 */
export interface MailboxCounts {
  /** Count of old messages. */
  oldMessages: number;
  /** Count of new messages. */
  newMessages: number;
}

/**
 * A handle to one mailbox.
 *
 * @example
 * ```ts
 * import { createClient } from "./client.ts";
 * import { createFakeTransport } from "../testing.ts";
 *
 * await using client = createClient(createFakeTransport());
 * await client.mailboxes.handle("1000@default").delete();
 * ```
 */
export interface MailboxHandle extends EntityHandle {
  /**
   * Reads the mailbox.
   *
   * @param options Timeout and abort signal.
   * @returns The ARI `Mailbox` with its key.
   */
  data(options?: CallOptions): Promise<WithKey<Mailbox>>;
  /**
   * Sets the message counts (creates the mailbox when needed).
   *
   * @param counts Old and new message counts.
   * @param options Timeout and abort signal.
   */
  update(counts: MailboxCounts, options?: CallOptions): Promise<void>;
  /**
   * Deletes the mailbox.
   *
   * @param options Timeout and abort signal.
   */
  delete(options?: CallOptions): Promise<void>;
}

/**
 * The `mailboxes` resource group.
 *
 * @example
 * ```ts
 * import { createClient } from "./client.ts";
 * import { createFakeTransport } from "../testing.ts";
 *
 * await using client = createClient(createFakeTransport());
 * const keys = await client.mailboxes.list();
 * console.assert(Array.isArray(keys));
 * ```
 */
export interface Mailboxes {
  /**
   * Lists mailboxes.
   *
   * @param filter Restricts the list (e.g. to a node).
   * @param options Timeout and abort signal.
   * @returns Their keys.
   */
  list(filter?: Key | null, options?: CallOptions): Promise<Key[]>;
  /**
   * Looks a mailbox up.
   *
   * @param key Mailbox name or key.
   * @param options Timeout and abort signal.
   * @returns The handle.
   */
  get(key: KeyLike, options?: CallOptions): Promise<MailboxHandle>;
  /**
   * Returns a handle without asking the server.
   *
   * @param key Mailbox name or key.
   * @param origin An event whose node and application fill the key.
   * @returns The handle.
   */
  handle(key: KeyLike, origin?: EventOrigin): MailboxHandle;
  /**
   * Reads a mailbox.
   *
   * @param key Mailbox name or key.
   * @param options Timeout and abort signal.
   * @returns The ARI `Mailbox` with its key.
   */
  data(key: KeyLike, options?: CallOptions): Promise<WithKey<Mailbox>>;
}
