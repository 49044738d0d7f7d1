/**
 * Status fan-out of a client and its children (internal).
 *
 * @module
 */

import type { TransportStatus } from "../transport.ts";
import type { EventStream } from "./common.ts";
import { BoundedQueue } from "./_queue.ts";

/** Status items kept per `status()` iterator before the oldest is dropped. */
const STATUS_BUFFER = 1_000;

/** See the module doc. */
export class StatusHub {
  #queues = new Set<BoundedQueue<TransportStatus>>();
  #children = new Set<StatusHub>();
  #ended = false;

  /** Delivers `status` to every iterator of this hub and of its children. */
  publish(status: TransportStatus): void {
    if (this.#ended) return;
    for (const queue of this.#queues) queue.push(status);
    for (const child of this.#children) child.publish(status);
  }

  /** Delivers `status` to this hub's own iterators only. */
  publishLocal(status: TransportStatus): void {
    if (this.#ended) return;
    for (const queue of this.#queues) queue.push(status);
  }

  /** A new iterator; it ends when the hub ends or the signal aborts. */
  stream(signal?: AbortSignal): EventStream<TransportStatus> {
    const onAbort = (): void => queue.close();
    const queue: BoundedQueue<TransportStatus> = new BoundedQueue(
      STATUS_BUFFER,
      {
        onEnd: () => {
          this.#queues.delete(queue);
          signal?.removeEventListener("abort", onAbort);
        },
      },
    );
    if (this.#ended || signal?.aborted) {
      queue.end();
      return queue;
    }
    this.#queues.add(queue);
    signal?.addEventListener("abort", onAbort, { once: true });
    return queue;
  }

  attach(child: StatusHub): void {
    this.#children.add(child);
  }

  detach(child: StatusHub): void {
    this.#children.delete(child);
  }

  /** Ends every iterator (buffered items stay readable). */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    for (const queue of [...this.#queues]) queue.end();
    this.#children.clear();
  }
}
