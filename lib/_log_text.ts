/**
 * Text for log lines: error messages with their cause, and URLs without
 * credentials (internal to `lib/`).
 *
 * @module
 */

/**
 * Removes credentials (`user:pass@`) from a URL for logging.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { redactUrl } from "./_log_text.ts";
 *
 * assert.equal(redactUrl("nats://u:secret@host:4222"), "nats://***@host:4222");
 * ```
 */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^/@]*@/, "//***@");
}

/**
 * An error's message, followed by its cause's message when that adds
 * something.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { errorMessage } from "./_log_text.ts";
 *
 * const error = new Error("Cannot connect", { cause: new Error("refused") });
 * assert.equal(errorMessage(error), "Cannot connect: refused");
 * ```
 */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error && error.cause.message !== "" &&
        !error.message.includes(error.cause.message)
      ? `: ${error.cause.message}`
      : "";
    return `${error.message}${cause}`;
  }
  return String(error);
}
