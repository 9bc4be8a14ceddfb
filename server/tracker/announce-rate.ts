// Announce rate of one connection: a token bucket (a burst, then a sustained rate).
export class AnnounceRate {
  #capacity: number;
  #perMs: number;
  #tokens: number;
  #atMs: number;

  constructor(burst: number, perSecond: number, nowMs: number) {
    this.#capacity = burst;
    this.#perMs = perSecond / 1000;
    this.#tokens = burst;
    this.#atMs = nowMs;
  }

  /** Takes one announce's token if there is one. */
  take(nowMs: number): boolean {
    this.#tokens = Math.min(this.#capacity, this.#tokens + Math.max(0, nowMs - this.#atMs) * this.#perMs);
    this.#atMs = nowMs;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
