// Which video rungs go on encoding while the uplink backs up: the top rung is dropped first, the lowest last, audio never.
import type { TransportLimits } from './transport.ts';

/**
 * Decides per captured frame which rungs encode it, from the bytes queued on all of the session's data channels.
 *
 * The channels share one SCTP association, so one congestion window: when the uplink cannot carry the ladder every
 * channel's queue grows, not only the culprit's. The total queued is therefore what is watched, against a tier per
 * rung: with n rungs, rung k (0 = top) pauses when more than maxBufferedBytes·(k+1)/n is queued and resumes below
 * lowBufferedBytes·(k+1)/n. The top rung pauses first and resumes last; the lowest rung only pauses at the whole
 * limit, where a single rung always paused before. Audio is small and is never held back. A paused rung drops whole
 * frames before encoding, and resumes on a keyframe, so every rung stays decodable.
 */
export class SendPriority {
  #limits: TransportLimits;
  #paused: boolean[];

  constructor(rungCount: number, limits: TransportLimits) {
    this.#limits = limits;
    this.#paused = Array.from({ length: rungCount }, () => false);
  }

  /** Rung k is paused (skips frames) when true. */
  get paused(): readonly boolean[] {
    return this.#paused;
  }

  /** Updates the paused rungs from the bytes queued on every channel; true when a rung resumed (it needs a keyframe). */
  update(queuedBytes: number): boolean {
    const n = this.#paused.length;
    let resumed = false;
    this.#paused = this.#paused.map((paused, k) => {
      const share = (k + 1) / n;
      if (!paused) return queuedBytes > this.#limits.maxBufferedBytes * share;
      if (queuedBytes >= this.#limits.lowBufferedBytes * share) return true;
      resumed = true;
      return false;
    });
    return resumed;
  }
}
