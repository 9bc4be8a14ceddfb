// `latency=low`'s adaptive glass-to-glass target: derived from how late media arrives and from stalls, as WebRTC's jitter buffer derives its delay.

export interface LatencyTargetConfig {
  /**
   * The lowest target when the viewer sets no floor (`latencyTargetFloorMs`): the former fixed 0.8 s, which every
   * suite and network tested holds without a stall. A viewer's `&target=` replaces it (down to 150 ms, where three
   * 30 fps frames must still arrive, decode and present) and turns on the chunk-by-chunk path.
   */
  minTargetMs: number;
  /**
   * The highest target (a viewer's higher floor raises it). Past about two and a half seconds LL-HLS parts buy nothing
   * over segments; it is also about the old fixed target's worst case (0.8 s + 1.5 s of stall raises).
   */
  maxTargetMs: number;
  /**
   * Where a start begins. Measurements raise it at once but lower it only like any other target (after a clean stretch,
   * slowly), so a viewer starts where the former fixed target held stall-free on every network and load tested (ABR
   * switches under load included) and earns its way down: a start is when the least is known.
   */
  initialTargetMs: number;
  /** Delay samples older than this leave the estimate: long enough for a rare late arrival to count for a while, short enough to follow a network that changes. */
  windowMs: number;
  /**
   * Which quantile of the window's delays the target must cover. A stall is visible (unlike NetEq's concealed audio
   * loss) and the goal is none, so it is all but the maximum: with 200 ms parts (100 samples in the window) the latest
   * part, with per-frame chunks (600 samples) the fourth-latest chunk. A late arrival that did not stall is a warning.
   */
  quantile: number;
  /** Samples needed in the window before the target may lower on their word (one late sample is enough to raise it): one second of 200 ms parts. */
  minSamples: number;
  /**
   * Added to the delay quantile: media that has arrived must still be appended, decoded and presented (one to two
   * frame intervals at 30 fps), and the catch-up control settles within ±20 ms of the target.
   */
  marginMs: number;
  /**
   * Width of the dead band around the estimate: the target rests `hysteresisMs / 2` above what the measurements need,
   * rises once they need more than it and starts lowering only once they need `hysteresisMs` less, so the quantile's
   * wander as samples enter and leave the window (±30 ms with 30 ms of jitter: it is near the window's maximum) moves nothing.
   */
  hysteresisMs: number;
  /** Playing time without a stall or a raise before the target may lower: a network has to prove itself for a while first. */
  lowerAfterMs: number;
  /**
   * How fast the target lowers, ms per second of playing: the catch-up plays at most 1.15× to follow, and 20 ms/s
   * (1.02×) is inaudible and leaves time for a late arrival to stop the descent before it stalls.
   */
  lowerRateMsPerS: number;
  /**
   * Each stall raises the target at once by this much and adds it to what the measurements need (a stall means they
   * missed something: a decoder hiccup, a late playlist), up to `maxStallRaiseMs` in all.
   */
  stallRaiseMs: number;
  maxStallRaiseMs: number;
  /** One step of that stall raise is given back per this much playing without a stall, so a passing hiccup does not cost latency for good. */
  stallRecoveryMs: number;
  /**
   * Playing time counted between two calls of `advance` is capped at this: a longer gap means playback was not
   * running (paused, a hidden tab), and time not played proves nothing about the network.
   */
  maxAdvanceGapMs: number;
}

export const DEFAULT_LATENCY_TARGET_CONFIG: LatencyTargetConfig = {
  minTargetMs: 800,
  maxTargetMs: 2500,
  initialTargetMs: 800,
  windowMs: 20_000,
  quantile: 0.995,
  minSamples: 5,
  marginMs: 200,
  hysteresisMs: 80,
  lowerAfterMs: 4000,
  lowerRateMsPerS: 50,
  stallRaiseMs: 200,
  maxStallRaiseMs: 1500,
  stallRecoveryMs: 60_000,
  maxAdvanceGapMs: 1000,
};

/**
 * How late one piece of media arrived: `delayMs` = arrival wall time − capture time (program date time) of the
 * earliest frame it made playable, so per-part samples (a part is playable once all of it has arrived) and per-chunk
 * samples (each moof+mdat chunk appended as it arrives) feed the same estimate. `nowMs` is the arrival on the
 * controller's monotonic clock.
 */
export interface DelaySample {
  nowMs: number;
  delayMs: number;
}

/**
 * What the measurements need is the `quantile` of the delays of the last `windowMs`, plus `marginMs` for decode and
 * presentation, plus what stalls have added. The target starts at `initialTargetMs`, rises at once when the
 * measurements need more (and by `stallRaiseMs` at once on a stall) and lowers slowly, at `lowerRateMsPerS`, only after
 * `lowerAfterMs` of clean playing and only once the measurements need clearly less (a `hysteresisMs` dead band): on a
 * clean network it converges down to what has held, on a jittery one it backs off and stays there.
 * Pure: the caller feeds samples, stalls and playing time on its clock (a fake one in tests).
 */
export class AdaptiveLatencyTarget {
  readonly #config: LatencyTargetConfig;
  readonly #floorMs: number;
  readonly #ceilingMs: number;
  #samples: DelaySample[] = [];
  #targetMs: number;
  #lowering = false;
  /** Playing time since the last stall or raise. */
  #cleanMs = 0;
  #stallRaiseMs = 0;
  /** Playing time since the stall raise last changed; one step is given back per `stallRecoveryMs` of it. */
  #sinceStallRaiseMs = 0;
  #lastAdvanceMs: number | null = null;

  /** `floorMs`: the viewer's floor (`&target=`), replacing `minTargetMs`; null for the controller's own minimum. */
  constructor(config: Partial<LatencyTargetConfig> = {}, floorMs: number | null = null) {
    this.#config = { ...DEFAULT_LATENCY_TARGET_CONFIG, ...config };
    const { minTargetMs, maxTargetMs, quantile } = this.#config;
    if (floorMs !== null && !(Number.isFinite(floorMs) && floorMs >= 0)) throw new RangeError(`latency target floor must be a number of ms ≥ 0 (got ${floorMs})`);
    if (!(minTargetMs >= 0 && maxTargetMs >= minTargetMs)) throw new RangeError(`latency target bounds must satisfy 0 ≤ minTargetMs ≤ maxTargetMs (got ${minTargetMs}, ${maxTargetMs})`);
    if (!(quantile > 0 && quantile <= 1)) throw new RangeError(`latency target quantile must be in (0, 1] (got ${quantile})`);
    this.#floorMs = floorMs ?? minTargetMs;
    this.#ceilingMs = Math.max(maxTargetMs, this.#floorMs);
    this.#targetMs = this.#clamp(this.#config.initialTargetMs);
  }

  /** The glass-to-glass latency to hold now. */
  get targetMs(): number {
    return this.#targetMs;
  }

  /** A piece of media arrived. Samples that are not a finite delay ≥ 0 (no program date time, clocks apart) are ignored. */
  addDelay({ nowMs, delayMs }: DelaySample): void {
    if (!Number.isFinite(nowMs) || !Number.isFinite(delayMs) || delayMs < 0) return;
    this.#samples.push({ nowMs, delayMs });
  }

  /** Playback stalled: raise the target at once, and keep that much more room until the stall is given back. */
  stalled(nowMs: number): void {
    const { stallRaiseMs, maxStallRaiseMs } = this.#config;
    this.#forgetBefore(nowMs);
    this.#stallRaiseMs = Math.min(maxStallRaiseMs, this.#stallRaiseMs + stallRaiseMs);
    this.#sinceStallRaiseMs = 0;
    this.#targetMs = this.#clamp(Math.max(this.#targetMs + stallRaiseMs, this.#needMs() ?? 0));
    this.#cleanMs = 0;
    this.#lowering = false;
  }

  /** Playback ran up to `nowMs` (call it while playing, a few times a second); returns the target in force. */
  advance(nowMs: number): number {
    const { maxAdvanceGapMs, stallRecoveryMs, stallRaiseMs, hysteresisMs, lowerAfterMs, lowerRateMsPerS, minSamples } = this.#config;
    const elapsedMs = this.#lastAdvanceMs === null ? 0 : Math.min(maxAdvanceGapMs, Math.max(0, nowMs - this.#lastAdvanceMs));
    this.#lastAdvanceMs = nowMs;
    this.#cleanMs += elapsedMs;
    this.#sinceStallRaiseMs += elapsedMs;
    if (this.#stallRaiseMs > 0 && this.#sinceStallRaiseMs >= stallRecoveryMs) {
      this.#stallRaiseMs = Math.max(0, this.#stallRaiseMs - stallRaiseMs);
      this.#sinceStallRaiseMs = 0;
    }
    this.#forgetBefore(nowMs);
    const needMs = this.#needMs();
    if (needMs === null) return this.#targetMs;
    const restMs = this.#clamp(needMs + hysteresisMs / 2);
    if (needMs > this.#targetMs) {
      this.#targetMs = restMs;
      this.#cleanMs = 0;
      this.#lowering = false;
    } else if (this.#samples.length >= minSamples && (this.#lowering || (this.#cleanMs >= lowerAfterMs && this.#targetMs - needMs > hysteresisMs))) {
      this.#targetMs = Math.max(restMs, this.#targetMs - (lowerRateMsPerS * elapsedMs) / 1000);
      this.#lowering = this.#targetMs > restMs;
    }
    return this.#targetMs;
  }

  /** A new stream or a fresh start: forget the samples and the stall history, and start from the initial target again. */
  reset(): void {
    this.#samples = [];
    this.#targetMs = this.#clamp(this.#config.initialTargetMs);
    this.#lowering = false;
    this.#cleanMs = 0;
    this.#stallRaiseMs = 0;
    this.#sinceStallRaiseMs = 0;
    this.#lastAdvanceMs = null;
  }

  /** Drops the samples that have left the window ending at `nowMs`. */
  #forgetBefore(nowMs: number): void {
    const firstKept = this.#samples.findIndex((sample) => sample.nowMs > nowMs - this.#config.windowMs);
    if (firstKept !== 0) this.#samples = firstKept < 0 ? [] : this.#samples.slice(firstKept);
  }

  /** What the measurements need: the window's delay quantile + margin + stall raise; null without samples. */
  #needMs(): number | null {
    const { quantile, marginMs } = this.#config;
    if (this.#samples.length === 0) return null;
    const sorted = this.#samples.map((sample) => sample.delayMs).sort((a, b) => a - b);
    const delayMs = sorted[Math.min(sorted.length - 1, Math.ceil(quantile * sorted.length) - 1)] ?? 0;
    return delayMs + marginMs + this.#stallRaiseMs;
  }

  #clamp(ms: number): number {
    return Math.min(this.#ceilingMs, Math.max(this.#floorMs, ms));
  }
}
