/**
 * Byte helpers of the NATS socket client (`nats/deno_socket.ts`).
 *
 * @module
 */

/**
 * Joins byte chunks into one array (the chunk itself when there is one).
 *
 * @param chunks The chunks, in order.
 * @param total Their summed length, when the caller already knows it.
 * @returns The joined bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { concatBytes } from "./_bytes.ts";
 *
 * const joined = concatBytes([new Uint8Array([1]), new Uint8Array([2, 3])]);
 * assert.deepEqual(joined, new Uint8Array([1, 2, 3]));
 * ```
 */
export function concatBytes<T extends ArrayBufferLike>(
  chunks: readonly Uint8Array<T>[],
  total?: number,
): Uint8Array<T | ArrayBuffer> {
  if (chunks.length === 1) return chunks[0]!;
  let size = total ?? 0;
  if (total === undefined) { for (const c of chunks) size += c.byteLength; }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/**
 * Finds CRLF in `buf[from, end)`.
 *
 * @param buf The bytes.
 * @param from First index to look at.
 * @param end End of the range (exclusive).
 * @returns The index of the CR, or -1.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { findCrlf } from "./_bytes.ts";
 *
 * const bytes = new TextEncoder().encode("INFO {}\r\nPING\r\n");
 * assert.equal(findCrlf(bytes, 0, bytes.length), 7);
 * assert.equal(findCrlf(bytes, 9, bytes.length), 13);
 * assert.equal(findCrlf(bytes, 0, 8), -1);
 * ```
 */
export function findCrlf(buf: Uint8Array, from: number, end: number): number {
  let i = from;
  while (i < end - 1) {
    i = buf.indexOf(13, i);
    if (i < 0 || i >= end - 1) return -1;
    if (buf[i + 1] === 10) return i;
    i++;
  }
  return -1;
}
