// Latency control: turns measured glass-to-glass latency and buffer into a playback rate (or a seek) that holds a target.

export interface CatchUpConfig {
  /**
   * Glass-to-glass latency to hold (now − program date time of the frame on screen) until the owner sets another
   * (`targetLatencyMs`): in the player, `latency=low`'s adaptive target (latency-target.ts), which also owns the stall raise.
   */
  targetLatencyMs: number;
  /** Slowest and fastest playback rates; small deviations from 1 are inaudible and keep audio pitch natural. */
  minRate: number;
  maxRate: number;
  /** Start correcting when latency is this far from the target, stop once back within `settleMs` (hysteresis). */
  toleranceMs: number;
  settleMs: number;
  /** The rate is proportional to the error: an error of this many ms asks for the full `maxRate − 1` (or `1 − minRate`). */
  fullRateErrorMs: number;
  /** Further behind than target + this: jump forward through the buffer instead of speeding up for seconds. */
  seekAheadMs: number;
  /**
   * After a start, playback begins on the independent part it loaded first (the first frame shows at once) and jumps to
   * the target as soon as the buffer reaches it; if it has not within this long, ordinary rate control takes over.
   */
  joinTimeoutMs: number;
  /** Never speed up (and never jump) into the last this-many ms of buffer: that margin is what prevents stalls. */
  minBufferMs: number;
  /**
   * While the ABR reloads a lower rung in an emergency (the buffer is about to run out), play this slowly, letting
   * latency drift up to `switchDriftMs` over the target rather than stall; the catch-up takes it back afterwards.
   */
  switchRate: number;
  switchDriftMs: number;
  /**
   * The margins in ms above (`toleranceMs`, `settleMs`, `fullRateErrorMs`, `minBufferMs`,
   * `switchDriftMs`) are set for a target of this many ms; a lower target shrinks them in proportion (a 300 ms target
   * keeps 94 ms of buffer in reserve, not 250 ms, which it would never have). Higher targets keep them as set.
   */
  marginsForTargetMs: number;
}

export const DEFAULT_CATCH_UP_CONFIG: CatchUpConfig = {
  targetLatencyMs: 800,
  minRate: 0.95,
  maxRate: 1.15,
  toleranceMs: 80,
  settleMs: 20,
  fullRateErrorMs: 250,
  seekAheadMs: 1000,
  joinTimeoutMs: 3000,
  minBufferMs: 250,
  switchRate: 0.5,
  switchDriftMs: 350,
  marginsForTargetMs: 800,
};

export interface LatencySample {
  /** A monotonic clock (performance.now() in the player, a fake one in tests). */
  nowMs: number;
  /** Measured glass-to-glass latency. */
  latencyMs: number;
  /** Media buffered ahead of the playhead. */
  bufferMs: number;
  /** The ABR is switching down in an emergency (see `switchRate`). */
  switchingDown?: boolean;
}

export type CatchUpDecision =
  | { kind: 'rate'; playbackRate: number }
  /** Move the playhead forward by `forwardMs` (always inside the buffer, leaving `minBufferMs`). */
  | { kind: 'seek'; forwardMs: number };

/**
 * Joins at the target: a start plays from the independent part it loaded first, far behind, then jumps once to the
 * target as soon as enough is buffered. Then holds the target: within the tolerance it plays at 1×; outside it, it
 * plays slightly faster or slower, proportionally to the error, until latency is back within `settleMs`. Far behind,
 * it jumps forward through what is already buffered. Speeding up never eats into the last `minBufferMs` of buffer, so catching up cannot cause a stall.
 * Pure: the caller samples and applies the decision, so the logic runs the same under a fake clock.
 */
export class CatchUpController {
  readonly #config: CatchUpConfig;
  #correcting = false;
  #targetLatencyMs: number;
  /** When the first sample after a start arrived; null until then. */
  #joinStartedAtMs: number | null = null;
  #joined = false;

  constructor(config: Partial<CatchUpConfig> = {}) {
    this.#config = { ...DEFAULT_CATCH_UP_CONFIG, ...config };
    if (!(this.#config.minRate > 0 && this.#config.minRate <= 1 && this.#config.maxRate >= 1)) {
      throw new RangeError(`catch-up rates must satisfy 0 < minRate ≤ 1 ≤ maxRate (got ${this.#config.minRate}, ${this.#config.maxRate})`);
    }
    this.#targetLatencyMs = this.#config.targetLatencyMs;
  }

  /** The latency currently held. */
  get targetLatencyMs(): number {
    return this.#targetLatencyMs;
  }

  /** Whether the start's one jump to the target is behind it (before, the playhead is on a start's backlog, far behind). */
  get joined(): boolean {
    return this.#joined;
  }

  /** Holds another latency from the next update on (the owner's adaptive target); the correction follows it. */
  set targetLatencyMs(ms: number) {
    if (!(Number.isFinite(ms) && ms >= 0)) throw new RangeError(`catch-up target must be a number of ms ≥ 0 (got ${ms})`);
    this.#targetLatencyMs = ms;
  }

  /** Playback stalled: the correction in progress no longer applies (the owner decides whether the target moves). */
  stalled(): void {
    this.#correcting = false;
  }

  /** A new stream or a fresh start: forget the correction in progress and the join. */
  reset(): void {
    this.#correcting = false;
    this.#joinStartedAtMs = null;
    this.#joined = false;
  }

  update({ nowMs, latencyMs, bufferMs, switchingDown = false }: LatencySample): CatchUpDecision {
    const { minRate, maxRate, seekAheadMs } = this.#config;
    const targetMs = this.targetLatencyMs;
    const margin = (ms: number): number => ms * Math.min(1, targetMs / this.#config.marginsForTargetMs);
    const toleranceMs = margin(this.#config.toleranceMs);
    const settleMs = margin(this.#config.settleMs);
    const fullRateErrorMs = margin(this.#config.fullRateErrorMs);
    const minBufferMs = margin(this.#config.minBufferMs);
    const switchDriftMs = margin(this.#config.switchDriftMs);
    const errorMs = latencyMs - targetMs;
    const spareBufferMs = bufferMs - minBufferMs;
    if (switchingDown && this.#joined) {
      this.#correcting = true;
      return { kind: 'rate', playbackRate: errorMs < switchDriftMs ? this.#config.switchRate : 1 };
    }

    if (!this.#joined) {
      this.#joinStartedAtMs ??= nowMs;
      if (errorMs <= toleranceMs || nowMs - this.#joinStartedAtMs >= this.#config.joinTimeoutMs) {
        this.#joined = true;
      } else if (spareBufferMs >= errorMs) {
        this.#joined = true;
        return { kind: 'seek', forwardMs: Math.round(errorMs) };
      } else {
        // One jump, once the buffer reaches the target: each seek re-decodes from the last keyframe.
        return { kind: 'rate', playbackRate: 1 };
      }
    }
    if (errorMs > seekAheadMs && spareBufferMs > 0) {
      this.#correcting = false;
      return { kind: 'seek', forwardMs: Math.round(Math.min(errorMs, spareBufferMs)) };
    }
    if (!this.#correcting && Math.abs(errorMs) > toleranceMs) this.#correcting = true;
    else if (this.#correcting && Math.abs(errorMs) <= settleMs) this.#correcting = false;
    if (!this.#correcting) return { kind: 'rate', playbackRate: 1 };

    if (errorMs > 0) {
      // Behind but the buffer is thin: the media is late, not the playhead; speeding up would only stall.
      if (spareBufferMs <= 0) return { kind: 'rate', playbackRate: 1 };
      return { kind: 'rate', playbackRate: Math.max(1 + MIN_CORRECTION, roundRate(Math.min(maxRate, 1 + ((maxRate - 1) * errorMs) / fullRateErrorMs))) };
    }
    return { kind: 'rate', playbackRate: Math.min(1 - MIN_CORRECTION, roundRate(Math.max(minRate, 1 + ((1 - minRate) * errorMs) / fullRateErrorMs))) };
  }
}

/** Rates move in steps of 0.01: finer changes are not worth a media pipeline adjustment, and and while correcting the rate stays at least MIN_CORRECTION away from 1. */
const RATE_STEP = 0.01;
/** The gentlest correction: slower than this, the last tens of ms would take many seconds to close. */
const MIN_CORRECTION = 0.02;

function roundRate(rate: number): number {
  return Math.round(rate / RATE_STEP) / Math.round(1 / RATE_STEP);
}
