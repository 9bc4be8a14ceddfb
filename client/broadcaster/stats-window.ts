// The broadcaster's rolling stats: send rates between two samples and the recent median of encode latency (pure code).

/** Running totals the rates are taken from. */
interface SendTotals {
  /** Video frames sent on the top rung. */
  frames: number;
  /** Everything sent, framing included. */
  bytes: number;
}

/** Frames the encode-latency median is taken over: 3 s at 30 fps. */
const ENCODE_LATENCY_SAMPLES = 90;

export class StatsWindow {
  #at = 0;
  #totals: SendTotals = { frames: 0, bytes: 0 };
  #fps = 0;
  #bitrateKbps = 0;
  #latenciesMs: number[] = [];
  #latencySamples: number;

  constructor(latencySamples = ENCODE_LATENCY_SAMPLES) {
    this.#latencySamples = latencySamples;
  }

  /** Starts measuring rates at `atMs` from these totals (when the stream goes live). */
  restart(atMs: number, totals: SendTotals): void {
    this.#at = atMs;
    this.#totals = { ...totals };
  }

  /** Ends the current window at `atMs`: the rates become those since the last sample, and a new window starts. */
  sample(atMs: number, totals: SendTotals): void {
    const elapsedMs = atMs - this.#at;
    if (elapsedMs > 0) {
      this.#fps = Math.round(((totals.frames - this.#totals.frames) * 10_000) / elapsedMs) / 10;
      this.#bitrateKbps = Math.round(((totals.bytes - this.#totals.bytes) * 8) / elapsedMs);
    }
    this.restart(atMs, totals);
  }

  /** Nothing is being sent: the rates read 0 (the latency median keeps its last value). */
  idle(): void {
    this.#fps = 0;
    this.#bitrateKbps = 0;
  }

  /** One frame's capture → encoded output time. */
  addEncodeLatency(ms: number): void {
    this.#latenciesMs.push(ms);
    if (this.#latenciesMs.length > this.#latencySamples) this.#latenciesMs.shift();
  }

  /** Drops the latencies taken so far: the next median is of frames from now on. */
  forgetEncodeLatency(): void {
    this.#latenciesMs = [];
  }

  /** Video frames per second over the last window, to one decimal. */
  get fps(): number {
    return this.#fps;
  }

  /** kbit/s over the last window. */
  get bitrateKbps(): number {
    return this.#bitrateKbps;
  }

  /** Median of the recent encode latencies, to 0.1 ms; null before any. */
  get encodeLatencyMs(): number | null {
    if (this.#latenciesMs.length === 0) return null;
    const sorted = [...this.#latenciesMs].sort((a, b) => a - b);
    return Math.round(sorted[Math.floor(sorted.length / 2)]! * 10) / 10;
  }
}
