/**
 * Sounds: the media files Asterisk can play.
 *
 * @example List English sounds
 * ```ts
 * import { createClient } from "./client.ts";
 * import { createFakeTransport } from "../testing.ts";
 *
 * await using client = createClient(createFakeTransport());
 * const keys = await client.sounds.list({ lang: "en" });
 * console.assert(Array.isArray(keys));
 * ```
 *
 * @module
 */

import type { Sound } from "../generated/models.ts";
import type { Key } from "../protocol/types.ts";
import type { CallOptions, KeyLike, WithKey } from "./common.ts";

/**
 * Filters of {@linkcode Sounds.list}.
 *
 * @example
 * ```ts
 * import type { SoundFilters } from "./sounds.ts";
 * const filters: SoundFilters = { lang: "en", format: "gsm" };
 * ```
 */
export interface SoundFilters {
  /** Language, e.g. `en`. */
  lang?: string;
  /** Format, e.g. `gsm`. */
  format?: string;
}

/**
 * The `sounds` resource group.
 *
 * @example
 * ```ts
 * import { createClient } from "./client.ts";
 * import { createFakeTransport } from "../testing.ts";
 *
 * await using client = createClient(createFakeTransport());
 * const sound = await client.sounds.data("hello-world");
 * console.assert(sound.key.id === "hello-world");
 * ```
 */
export interface Sounds {
  /**
   * Lists sounds.
   *
   * @param filters Language and format; all when absent.
   * @param filter Restricts the list (e.g. to a node).
   * @param options Timeout and abort signal.
   * @returns Their keys.
   */
  list(
    filters?: SoundFilters | null,
    filter?: Key | null,
    options?: CallOptions,
  ): Promise<Key[]>;
  /**
   * Reads a sound.
   *
   * @param key Sound id (`hello-world`) or key.
   * @param options Timeout and abort signal.
   * @returns The ARI `Sound` with its key.
   */
  data(key: KeyLike, options?: CallOptions): Promise<WithKey<Sound>>;
}
