/**
 * The server's admission control: `slots` requests generate at once (each with its own KV cache; the
 * model's decoding loop yields between tokens, so they interleave on one event loop), at most `maxQueue`
 * more wait in arrival order, and the rest are refused at once with 429 — a bounded queue, so memory and
 * latency stay bounded under any load. A waiting request whose client goes away leaves the queue; closing
 * refuses every waiting request with 503. Not here: generation itself (completions.ts).
 */
import { ApiError } from "./api-error.js";

interface Waiter {
  resolve: (release: () => void) => void;
  reject: (error: unknown) => void;
  signal: AbortSignal;
  onAbort: () => void;
}

export interface SlotCounts {
  slots: number;
  busy: number;
  waiting: number;
  maxQueue: number;
}

export class Slots {
  private busy = 0;
  private readonly waiting: Waiter[] = [];
  private closed = false;

  constructor(
    readonly slots: number,
    readonly maxQueue: number,
  ) {}

  counts(): SlotCounts {
    return { slots: this.slots, busy: this.busy, waiting: this.waiting.length, maxQueue: this.maxQueue };
  }

  /** How many requests are generating or waiting. */
  get load(): number {
    return this.busy + this.waiting.length;
  }

  /**
   * Resolves to a `release` function once a slot is free; rejects with 429 when the queue is full, 503 once
   * closed, or the signal's reason when the client leaves while waiting.
   */
  acquire(signal: AbortSignal): Promise<() => void> {
    if (this.closed) return Promise.reject(shuttingDown());
    signal.throwIfAborted();
    if (this.busy < this.slots) return Promise.resolve(this.take());
    if (this.waiting.length >= this.maxQueue) {
      return Promise.reject(
        new ApiError(
          429,
          `the server is busy: ${this.busy} request(s) generating and ${this.waiting.length} waiting (--max-queue ${this.maxQueue}); retry shortly`,
          "rate_limit_error",
          null,
          "queue_full",
          { "Retry-After": "1" },
        ),
      );
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        signal,
        onAbort: () => {
          this.remove(waiter);
          reject(signal.reason);
        },
      };
      signal.addEventListener("abort", waiter.onAbort, { once: true });
      this.waiting.push(waiter);
    });
  }

  /** Refuses new and waiting requests with 503 (shutdown); running ones keep their slots. */
  close(): void {
    this.closed = true;
    for (const waiter of this.waiting.splice(0)) {
      waiter.signal.removeEventListener("abort", waiter.onAbort);
      waiter.reject(shuttingDown());
    }
  }

  private take(): () => void {
    this.busy++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.busy--;
      const next = this.waiting.shift();
      if (next !== undefined) {
        next.signal.removeEventListener("abort", next.onAbort);
        next.resolve(this.take());
      }
    };
  }

  private remove(waiter: Waiter): void {
    const index = this.waiting.indexOf(waiter);
    if (index !== -1) this.waiting.splice(index, 1);
  }
}

function shuttingDown(): ApiError {
  return new ApiError(503, "the server is shutting down", "service_unavailable_error", null, "server_shutting_down");
}
