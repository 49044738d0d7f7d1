/**
 * Resource ids in the style of Go `rid.New`: a lower-case ULID plus a
 * two-letter suffix (`01hx…-ch`). Internal.
 *
 * @module
 */

/** The suffixes Go uses: bridge, channel, playback, recording, snoop. */
export type IdTag = "br" | "ch" | "pb" | "rc" | "sn";

const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";

/** Returns a new lower-case ULID with `-<tag>` appended. */
export function newResourceId(tag: IdTag, now: number = Date.now()): string {
  let time = "";
  let t = Math.max(0, Math.floor(now));
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let random = "";
  for (const b of bytes) random += ALPHABET[b % 32];
  return `${time}${random}-${tag}`;
}
