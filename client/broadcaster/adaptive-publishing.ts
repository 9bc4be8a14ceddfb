// Adaptive publishing: from recent uplink and encoder measurements, which rungs encode at a lowered bitrate or pause (pure code).

/** What made a rung step down: the network could not carry the ladder, or the encoders could not keep up. */
export type AdaptReason = 'uplink' | 'cpu';

/** A rung as the policy wants it: at its configured bitrate, at a lowered one, or not encoded at all. */
export type RungLevel = 'full' | 'lowered' | 'paused';

export interface RungPlan {
  level: RungLevel;
  /** The bitrate to encode at, bits per second (the configured one unless `lowered`). */
  bitrate: number;
  /** Why the rung is not `full`; null when it is. */
  reason: AdaptReason | null;
}

/** One look at the uplink and the encoders; the totals are running counts since going live. */
export interface PublishMeasurement {
  atMs: number;
  /** Bytes queued per track channel, by track id: each video rung (highest first), then audio. */
  queuedBytes: readonly number[];
  /** Bytes handed to the data channels so far, framing included. */
  bytesOffered: number;
  /** Bytes the ingest received so far, by its receipts (what the uplink carried); null from an ingest without them. */
  bytesDelivered: number | null;
  /** The selected ICE candidate pair's current round-trip time; null when not known yet. */
  rttMs: number | null;
  /** Video frames captured while live. */
  framesCaptured: number;
  /** Of those, the ones the encoders could not take (a full encode queue) or skipped. */
  framesOverloaded: number;
  /** The median capture → encoded time of the highest rung being encoded; null before any. */
  encodeLatencyMs: number | null;
  /** An encoder still waits for its next keyframe to take the bitrate the plan gave it. */
  bitratePending: boolean;
}

/** How adaptive publishing reacts; every duration in milliseconds. */
export interface AdaptationConfig {
  /** Off: every rung stays at its configured bitrate (back-pressure pausing still applies). */
  enabled: boolean;
  /** A lowered rung encodes at this share of its configured bitrate. */
  loweredBitrateShare: number;
  /** Measurements older than this leave the window that growth, achieved rate and frame shares are taken over. */
  windowMs: number;
  /** Least time between two steps down, so each step shows in the queues before the next. */
  stepDownIntervalMs: number;
  /** A step up needs the uplink and the encoders healthy for this long; doubled each time a step up has to be undone. */
  restoreHoldMs: number;
  /** The hold never grows past this. */
  maxRestoreHoldMs: number;
  /** A channel whose queue holds more than this much of its own media, and grows, is more than the uplink carries. */
  queueHighMs: number;
  /** A queue holding more than this much media is too far behind even while it drains. */
  queueMaxMs: number;
  /** Every queue below this much media: the uplink keeps up. */
  queueLowMs: number;
  /** The round-trip time this far above the lowest seen (with data queued): the network's own queue is filling. */
  rttRiseMs: number;
  /** Share of captured frames the encoders could not take, over the window, that means the CPU cannot keep up. */
  overloadedFrameShare: number;
  /** The highest encoding rung's median encode latency above which the CPU is behind. */
  encodeLatencyHighMs: number;
}

export const DEFAULT_ADAPTATION: AdaptationConfig = {
  enabled: true,
  loweredBitrateShare: 0.6,
  windowMs: 2000,
  stepDownIntervalMs: 1000,
  restoreHoldMs: 4000,
  maxRestoreHoldMs: 16_000,
  queueHighMs: 300,
  queueMaxMs: 1000,
  queueLowMs: 100,
  rttRiseMs: 200,
  overloadedFrameShare: 0.2,
  encodeLatencyHighMs: 250,
};

/** Healthy means well below the overload marks: the gap between the two is the hysteresis. */
const HEALTHY_FRAME_SHARE = 0.05;
const HEALTHY_ENCODE_LATENCY_MS = 100;
const HEALTHY_RTT_RISE_MS = 100;
/** What the uplink carried is taken over this much of the window. */
const ACHIEVED_RATE_MS = 1000;
/**
 * Measured by the ingest's receipts, a ladder fits the uplink when its bitrates need at most this share of what
 * arrived: packet headers (SCTP, DTLS, UDP, IP: ~6 %) and encoders overshooting their target take the rest, and a
 * ladder that needs all of it leaves no room for a keyframe, so its lowest rungs arrive late. (Without receipts the
 * estimate is taken as it is, as before.)
 */
const FIT_SHARE = 0.9;
/** The shortest window a decision is taken over: less says nothing about growth. */
const MIN_WINDOW_MS = 400;

/**
 * Steps a ladder down and up: step 2k+1 lowers rung k's bitrate, step 2k+2 pauses it, from the top rung down to the
 * one above the lowest; down one step at a time unless the uplink measurably carries far less (see #stepThatFits),
 * up always one step at a time. The lowest rung (and audio, which the policy never sees) is never touched.
 *
 * Down: when a channel's queue holds more than `queueHighMs` of its media and grows (or passes `queueMaxMs`), when the
 * round-trip time rose (in two readings, or in one with data queued: the browser's socket may hold what its data
 * channels no longer count), or when the encoders drop frames or fall behind; at most once per
 * `stepDownIntervalMs` after the last step took effect (a lowered bitrate waits for the next keyframe). Up: once
 * every queue, the round-trip time and the encoders were healthy for the restore hold; a step down within `restoreHoldMs` of a step up undoes it and doubles the hold (up to `maxRestoreHoldMs`), so a
 * link just below a rung's rate is probed ever more rarely instead of flapping; a step up that stands resets the hold.
 */
export class AdaptivePublishing {
  #config: AdaptationConfig;
  #bitrates: readonly number[];
  #audioBitrate: number;
  #window: PublishMeasurement[] = [];
  #step = 0;
  /** The reason of each step taken, by step (index 0 is step 1). */
  #reasons: AdaptReason[] = [];
  #lastChangeAtMs = Number.NEGATIVE_INFINITY;
  /** When the last change took effect (a lowered bitrate waits for a keyframe); undefined until it has. */
  #settledAtMs: number | undefined = Number.NEGATIVE_INFINITY;
  #waitedForKeyframe = false;
  #lastStepUpAtMs: number | undefined;
  #healthySinceMs: number | undefined;
  #holdMs: number;
  #minRttMs = Number.POSITIVE_INFINITY;
  /** The last two distinct round-trip times read (a browser refreshes it every few seconds, between pings). */
  #rttReadings: number[] = [];
  #rttReadAtMs = Number.NEGATIVE_INFINITY;
  #cpuStrikes = 0;
  /** Set by #overload: a sending channel's queue grew past its mark, so the achieved rate is what the uplink carries. */
  #queuesGrew = false;

  /** `bitrates`: each video rung's configured bitrate, highest rung first. */
  constructor(bitrates: readonly number[], audioBitrate: number, config: AdaptationConfig = DEFAULT_ADAPTATION) {
    this.#config = config;
    this.#bitrates = bitrates;
    this.#audioBitrate = audioBitrate;
    this.#holdMs = config.restoreHoldMs;
  }

  /** How many steps down the ladder is now (0: every rung full). */
  get step(): number {
    return this.#step;
  }

  /** The current restore hold (grows after failed steps up). */
  get restoreHoldMs(): number {
    return this.#holdMs;
  }

  /** Each rung as it should be encoded now, highest first. */
  get plan(): RungPlan[] {
    return this.#planAt(this.#step);
  }

  #planAt(step: number): RungPlan[] {
    return this.#bitrates.map((bitrate, k) => {
      const lowerStep = 2 * k + 1;
      if (step >= lowerStep + 1) return { level: 'paused', bitrate, reason: this.#reasons[lowerStep] ?? null };
      if (step >= lowerStep) {
        return { level: 'lowered', bitrate: Math.round(bitrate * this.#config.loweredBitrateShare), reason: this.#reasons[lowerStep - 1] ?? null };
      }
      return { level: 'full', bitrate, reason: null };
    });
  }

  /**
   * What the uplink carried over the last second, kbit/s: what the ingest received, or, without its receipts, sent
   * minus what piled up in the queues; null until known. A second, not the whole window: right after the uplink
   * narrows, the window still holds the time before.
   */
  get achievedKbps(): number | null {
    const last = this.#window.at(-1);
    const first = this.#window.find((m) => last && last.atMs - m.atMs <= ACHIEVED_RATE_MS);
    if (!first || !last || last.atMs - first.atMs < MIN_WINDOW_MS) return null;
    const left = first.bytesDelivered !== null && last.bytesDelivered !== null
      ? last.bytesDelivered - first.bytesDelivered
      : last.bytesOffered - first.bytesOffered - (sum(last.queuedBytes) - sum(first.queuedBytes));
    return Math.max(0, Math.round((left * 8) / (last.atMs - first.atMs)));
  }

  /** Takes a measurement and steps the ladder when due; true when the plan changed. */
  update(m: PublishMeasurement): boolean {
    this.#window.push(m);
    while (this.#window.length > 2 && m.atMs - this.#window[1]!.atMs >= this.#config.windowMs) this.#window.shift();
    if (m.rttMs !== null) {
      this.#minRttMs = Math.min(this.#minRttMs, m.rttMs);
      if (m.rttMs !== this.#rttReadings.at(-1)) {
        this.#rttReadings = [...this.#rttReadings.slice(-1), m.rttMs];
        this.#rttReadAtMs = m.atMs;
      }
    }
    if (!this.#config.enabled || m.atMs - this.#window[0]!.atMs < MIN_WINDOW_MS) return false;
    if (this.#settledAtMs === undefined) {
      // Not waiting at the first look after the change: it took effect at once (a pause, a resume).
      if (m.bitratePending) this.#waitedForKeyframe = true;
      else this.#settledAtMs = this.#waitedForKeyframe ? m.atMs : this.#lastChangeAtMs;
    }

    const overload = this.#overload();
    const healthy = overload === null && this.#healthy();
    if (!healthy) this.#healthySinceMs = undefined;
    else this.#healthySinceMs ??= m.atMs;

    // A step up is judged over the base hold: a step down within it undoes it, past it the step up stood.
    const judged = this.#lastStepUpAtMs !== undefined && m.atMs - this.#lastStepUpAtMs >= this.#config.restoreHoldMs;
    if (judged) {
      this.#holdMs = this.#config.restoreHoldMs;
      this.#lastStepUpAtMs = undefined;
    }
    const settledForMs = this.#settledAtMs === undefined ? -1 : m.atMs - this.#settledAtMs;
    if (overload && this.#step < this.#maxStep && settledForMs >= this.#config.stepDownIntervalMs) {
      if (this.#lastStepUpAtMs !== undefined) this.#holdMs = Math.min(this.#config.maxRestoreHoldMs, this.#holdMs * 2);
      this.#lastStepUpAtMs = undefined;
      const to = Math.max(this.#step + 1, overload === 'uplink' && this.#queuesGrew ? this.#stepThatFits() : 0);
      for (; this.#step < to; this.#step++) this.#reasons[this.#step] = overload;
      return this.#changed(m.atMs);
    }
    const heldSince = Math.max(this.#healthySinceMs ?? Number.POSITIVE_INFINITY, this.#lastChangeAtMs);
    if (healthy && this.#step > 0 && m.atMs - heldSince >= this.#holdMs) {
      this.#step--;
      this.#reasons.length = this.#step;
      this.#lastStepUpAtMs = m.atMs;
      return this.#changed(m.atMs);
    }
    return false;
  }

  /**
   * The first step whose ladder (audio included) fits in what the uplink carried while its queues grew: when the
   * uplink carries far less than the ladder, lowering the top rung alone would only pile up more, so the steps
   * between are taken at once, in the same order. Without a measured rate, no more than the next step.
   */
  #stepThatFits(): number {
    const share = this.#window.at(-1)?.bytesDelivered === null ? 1 : FIT_SHARE;
    const achievedBps = (this.achievedKbps ?? Number.POSITIVE_INFINITY) * 1000 * share;
    for (let step = this.#step + 1; step < this.#maxStep; step++) {
      const sendingBps = this.#planAt(step).reduce((sum, p) => sum + (p.level === 'paused' ? 0 : p.bitrate), this.#audioBitrate);
      if (sendingBps <= achievedBps) return step;
    }
    return this.#maxStep;
  }

  get #maxStep(): number {
    return 2 * Math.max(0, this.#bitrates.length - 1);
  }

  #changed(atMs: number): true {
    this.#lastChangeAtMs = atMs;
    this.#settledAtMs = undefined;
    this.#waitedForKeyframe = false;
    this.#healthySinceMs = undefined;
    return true;
  }

  /** Each channel's queue as media time, ms: bytes over the rate its track is encoded at (audio last). */
  #queueMs(m: PublishMeasurement): number[] {
    const rates = [...this.plan.map((p) => p.bitrate), this.#audioBitrate];
    return rates.map((bps, track) => ((m.queuedBytes[track] ?? 0) * 8000) / bps);
  }

  /** Why the ladder must step down now, or null. */
  #overload(): AdaptReason | null {
    const first = this.#window[0]!;
    const previous = this.#window.at(-2)!;
    const last = this.#window.at(-1)!;
    const { queueHighMs, queueMaxMs, queueLowMs, rttRiseMs, overloadedFrameShare, encodeLatencyHighMs } = this.#config;
    const plan = this.plan;
    const previousMs = this.#queueMs(previous);
    // Growth counts from when the last step took effect: what piled up before says nothing about the ladder as it is.
    const since = this.#window.find((w) => w.atMs >= (this.#settledAtMs ?? Number.POSITIVE_INFINITY)) ?? last;
    // A paused rung's channel only drains what it held: it says nothing about what the sending tracks need. A queue
    // counts as backed up when it was over the mark at two measurements in a row, not on one burst.
    const sending = this.#queueMs(last)
      .map((ms, track) => ({
        ms: Math.min(ms, previousMs[track]!),
        grew: (last.queuedBytes[track] ?? 0) > (since.queuedBytes[track] ?? 0),
        paused: plan[track]?.level === 'paused',
      }))
      .filter((q) => !q.paused);
    this.#queuesGrew = sending.some((q) => q.grew && q.ms > queueHighMs);
    const backedUp = sending.some((q) => q.ms > queueMaxMs || (q.ms > queueHighMs && q.grew));
    // The network's queue filling: one high reading with data waiting here too, or two readings in a row without.
    const risen = (ms: number): boolean => ms - this.#minRttMs > rttRiseMs;
    // Only a reading taken since the last step says anything about the ladder as it is now.
    const rttRose = this.#rttReadAtMs > this.#lastChangeAtMs && this.#rttReadings.length === 2 && this.#rttReadings.every(risen);
    const rttRoseQueued = last.rttMs !== null && risen(last.rttMs) && sending.some((q) => q.ms > queueLowMs);
    if (backedUp || rttRose || rttRoseQueued) return 'uplink';
    const captured = last.framesCaptured - first.framesCaptured;
    const overloaded = last.framesOverloaded - first.framesOverloaded;
    const behind = (captured > 0 && overloaded / captured > overloadedFrameShare) || (last.encodeLatencyMs !== null && last.encodeLatencyMs > encodeLatencyHighMs);
    // As for the queues, at two measurements in a row: a moment's load (another program starting) is not a step.
    this.#cpuStrikes = behind ? this.#cpuStrikes + 1 : 0;
    return this.#cpuStrikes >= 2 ? 'cpu' : null;
  }

  /** The queues nearly empty, the round-trip time near its floor, the encoders keeping up. */
  #healthy(): boolean {
    const first = this.#window[0]!;
    const last = this.#window.at(-1)!;
    // All queues together, as time at the rate being sent: a few kB on the audio channel is a burst, not a backlog.
    const sendingBps = this.plan.reduce((sum, p) => sum + (p.level === 'paused' ? 0 : p.bitrate), this.#audioBitrate);
    if ((sum(last.queuedBytes) * 8000) / sendingBps > this.#config.queueLowMs) return false;
    if (last.rttMs !== null && last.rttMs - this.#minRttMs > HEALTHY_RTT_RISE_MS) return false;
    const captured = last.framesCaptured - first.framesCaptured;
    if (captured > 0 && (last.framesOverloaded - first.framesOverloaded) / captured > HEALTHY_FRAME_SHARE) return false;
    return last.encodeLatencyMs === null || last.encodeLatencyMs <= HEALTHY_ENCODE_LATENCY_MS;
  }
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
