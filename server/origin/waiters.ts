// Blocking waits on something that grows: each waiter holds a condition, re-checked whenever its owner changes.
/** How a wait ended: its condition held, the stream ended first, it ran out of time, the timeline closed, or the caller gave up. */
export type WaitOutcome = 'ready' | 'ended' | 'timeout' | 'closed' | 'aborted';

interface Waiter {
  condition: () => boolean;
  settle: (outcome: WaitOutcome) => void;
}

export class Waiters {
  #waiters = new Set<Waiter>();
  #ended = false;
  #closed = false;

  /** Number of waits in progress. */
  get size(): number {
    return this.#waiters.size;
  }

  /**
   * Resolves when `condition` holds (checked now and on every `changed()`), or with why it never will:
   * the owner ended, `timeoutMs` passed, the owner closed, or `signal` aborted (a client that went away).
   */
  waitUntil(condition: () => boolean, timeoutMs: number, signal?: AbortSignal): Promise<WaitOutcome> {
    if (this.#closed) return Promise.resolve('closed');
    if (condition()) return Promise.resolve('ready');
    if (this.#ended) return Promise.resolve('ended');
    if (signal?.aborted) return Promise.resolve('aborted');
    return new Promise((resolve) => {
      const onAbort = (): void => waiter.settle('aborted');
      const timer = setTimeout(() => waiter.settle('timeout'), timeoutMs);
      const waiter: Waiter = {
        condition,
        settle: (outcome) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          this.#waiters.delete(waiter);
          resolve(outcome);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.add(waiter);
    });
  }

  /** The owner changed: every wait whose condition now holds is answered `ready`. */
  changed(): void {
    for (const waiter of [...this.#waiters]) {
      if (waiter.condition()) waiter.settle('ready');
      else if (this.#ended) waiter.settle('ended');
    }
  }

  /** The owner will not grow any more: waits whose condition holds now are `ready`, the rest `ended`, and so are later ones. */
  end(): void {
    this.#ended = true;
    this.changed();
  }

  /** Answers every wait `closed`, and every later one. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const waiter of [...this.#waiters]) waiter.settle('closed');
  }
}
