// Stuck-playhead recovery: notices a playhead that stands still with playable media buffered at or just ahead of it,
// and says where to seek so the browser starts again.

export interface PlayheadWatchdogConfig {
  /** The playhead must stand still this long, wanting to play, before the watchdog acts. */
  stuckMs: number;
  /** ...with at least this much media buffered from the playhead (or from the start of the range just ahead of it). */
  minAheadMs: number;
  /** A buffered range starting at most this far ahead of the playhead counts as "just ahead" (a small gap). */
  maxGapMs: number;
  /** The seek lands this far inside the playable media, so it is not exactly on a range or sample boundary. */
  nudgeMs: number;
  /** Seeks without the playhead moving in between before the watchdog gives up (and leaves it to the stall handling). */
  maxAttempts: number;
}

export const DEFAULT_PLAYHEAD_WATCHDOG_CONFIG: PlayheadWatchdogConfig = {
  stuckMs: 1000,
  minAheadMs: 500,
  maxGapMs: 500,
  nudgeMs: 20,
  maxAttempts: 3,
};

export interface PlayheadSample {
  /** A monotonic clock (performance.now() in the player, a fake one in tests). */
  nowMs: number;
  /** The media element's currentTime, s. */
  currentTimeS: number;
  /** True when the element is not trying to play (paused by the user or awaiting a click); a paused playhead is not stuck. */
  paused: boolean;
  /** The element's buffered ranges, [start, end] in seconds, in order. */
  buffered: readonly (readonly [number, number])[];
}

export type PlayheadDecision = { kind: 'none' } | { kind: 'seek'; toS: number; stuckForMs: number; attempt: number };

const NONE: PlayheadDecision = { kind: 'none' };

/**
 * WebKit (WebKitGTK 2.50's GStreamer MSE) sometimes never completes the seek hls.js makes to its start position:
 * `seeking` stays true at the start of a buffered range with seconds of media after it, and nothing (not even more
 * appends) moves it on, while the same seek made again plays at once. Any browser can also be left at a small gap
 * that hls.js does not jump. The watchdog only acts when the playhead has stood still for `stuckMs` although media to
 * play is buffered right there — which normal play, seeks and stalls (an empty buffer) never show — and seeks into that
 * media, at most `maxAttempts` times until the playhead moves again.
 * Pure: the caller samples and applies the decision, so the logic runs the same under a fake clock.
 */
export class PlayheadWatchdog {
  readonly #config: PlayheadWatchdogConfig;
  /** Where the playhead last was and since when it has been there; null before the first sample. */
  #still: { timeS: number; sinceMs: number } | null = null;
  #attempts = 0;
  #recoveries = 0;

  constructor(config: Partial<PlayheadWatchdogConfig> = {}) {
    this.#config = { ...DEFAULT_PLAYHEAD_WATCHDOG_CONFIG, ...config };
  }

  /** Seeks the watchdog has asked for since it was made (not reset by `reset()`). */
  get recoveries(): number {
    return this.#recoveries;
  }

  /** A fresh start: forget where the playhead was and the attempts made. */
  reset(): void {
    this.#still = null;
    this.#attempts = 0;
  }

  update({ nowMs, currentTimeS, paused, buffered }: PlayheadSample): PlayheadDecision {
    const still = this.#still;
    if (paused || still === null || still.timeS !== currentTimeS) {
      if (still !== null && still.timeS !== currentTimeS) this.#attempts = 0;
      this.#still = { timeS: currentTimeS, sinceMs: nowMs };
      return NONE;
    }
    const stuckForMs = nowMs - still.sinceMs;
    if (stuckForMs < this.#config.stuckMs || this.#attempts >= this.#config.maxAttempts) return NONE;
    const playableFromS = this.#playableFrom(currentTimeS, buffered);
    if (playableFromS === null) return NONE;
    this.#attempts++;
    this.#recoveries++;
    // The next attempt waits a whole `stuckMs` again: a seek takes a moment to move the playhead.
    this.#still = { timeS: currentTimeS, sinceMs: nowMs };
    return { kind: 'seek', toS: playableFromS + this.#config.nudgeMs / 1000, stuckForMs, attempt: this.#attempts };
  }

  /** Where playable media starts at or just ahead of the playhead, if at least `minAheadMs` of it is buffered. */
  #playableFrom(currentTimeS: number, buffered: PlayheadSample['buffered']): number | null {
    const { minAheadMs, maxGapMs } = this.#config;
    for (const [start, end] of buffered) {
      if (end <= currentTimeS) continue;
      if (start - currentTimeS > maxGapMs / 1000) return null;
      const from = Math.max(start, currentTimeS);
      return (end - from) * 1000 >= minAheadMs ? from : null;
    }
    return null;
  }
}
