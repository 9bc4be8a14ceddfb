// Sliding-window count of publish requests per client address.
export class PublishRateLimit {
  #windowMs: number;
  #max: number;
  #hits = new Map<string, number[]>();

  constructor(maxPerWindow: number, windowMs = 60_000) {
    this.#max = maxPerWindow;
    this.#windowMs = windowMs;
  }

  /** Records a request from `key` and says whether it is within the limit. */
  allow(key: string, nowMs = Date.now()): boolean {
    const since = nowMs - this.#windowMs;
    const hits = (this.#hits.get(key) ?? []).filter((t) => t > since);
    const allowed = hits.length < this.#max;
    if (allowed) hits.push(nowMs);
    this.#hits.set(key, hits);
    if (this.#hits.size > 10_000) this.#prune(since);
    return allowed;
  }

  #prune(since: number): void {
    for (const [key, hits] of this.#hits) {
      if (!hits.some((t) => t > since)) this.#hits.delete(key);
    }
  }
}
