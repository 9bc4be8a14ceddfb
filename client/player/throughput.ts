// Network throughput from how media bytes arrived, for ABR on streamed LL-HLS parts, and the rung choice built on it.
//
// A part requested from its PRELOAD-HINT is streamed while it is produced: its download takes about its media duration
// on any link fast enough to carry it, so bytes ÷ download time measures the encoder, not the network. Only some
// arrivals measure the network: a complete object (Content-Length known: the origin had all of it), bytes that came in
// a burst faster than real time, and a streamed part that fell behind real time (then bytes were queued the whole
// time and the link set the pace). Every other streamed part only says "the link carried at least this much". And time
// the page itself could not run (a page starved for CPU fires its timers and reads its bytes late) is the page's, not
// the link's: a timing that spans much of it is only a floor, and a part counts as late only by the rest.

/** One read of a response body: when it arrived and how many bytes it brought. */
export interface Arrival {
  atMs: number;
  bytes: number;
  /** `PageLag.totalMs` when it was read (absent: not known, taken as no lag). */
  lagMs?: number;
}

/** One response as the loader saw it. */
export interface Transfer {
  requestedAtMs: number;
  arrivals: readonly Arrival[];
  /** Media duration of a part or segment that may have been streamed while produced; null for a complete object. */
  streamedMediaMs: number | null;
  /**
   * How long the page could not run while the response came (`PageLag`): its reads then arrived late by the page's
   * doing, not the link's. 0 when not known.
   */
  pageLagMs?: number;
}

/** `measured`: the link's throughput. `at-least`: a floor only (the link kept up with the producer). */
export type ThroughputSample = { kind: 'measured' | 'at-least'; bps: number };

export interface TransferRules {
  /** Reads closer together than this belong to one burst (bytes queued back to back). */
  burstGapMs: number;
  /** A burst must carry this many bytes after its first read to be measured (less is timer noise). */
  minBurstBytes: number;
  /** Objects smaller than this (init segments, tiny parts) are dominated by the round trip and not measured. */
  minObjectBytes: number;
  /** A streamed transfer longer than its media duration × this fell behind real time: the link was the bottleneck. */
  behindFactor: number;
  /**
   * A complete object's flow after its first read is timed only over at least this many reads, bytes after the first
   * read and ms (less is timer noise, or a page too busy to read: it then gets all that arrived in one read).
   */
  minFlowReads: number;
  minFlowBytes: number;
  minFlowMs: number;
  /**
   * A response during which the page could not run for more than this share of its timed span (`pageLagMs`) is only a
   * floor on the link: its reads were late by the page's doing (a page starved for CPU reads a fast link as a slow one).
   */
  maxLagShare: number;
}

export const DEFAULT_TRANSFER_RULES: TransferRules = {
  burstGapMs: 8,
  minBurstBytes: 8 * 1024,
  minObjectBytes: 8 * 1024,
  behindFactor: 1.1,
  minFlowReads: 4,
  minFlowBytes: 4 * 1024,
  minFlowMs: 20,
  maxLagShare: 0.25,
};

/** What one response says about the link (null: nothing). */
export function sampleTransfer(transfer: Transfer, rules: TransferRules = DEFAULT_TRANSFER_RULES): ThroughputSample | null {
  const { arrivals, requestedAtMs, streamedMediaMs } = transfer;
  const first = arrivals[0];
  const last = arrivals.at(-1);
  if (!first || !last) return null;
  const total = arrivals.reduce((sum, a) => sum + a.bytes, 0);
  if (total < rules.minObjectBytes) return null;
  const lagMs = transfer.pageLagMs ?? 0;
  const timed = (bps: number, spanMs: number): ThroughputSample => lagged(bps, spanMs, lagMs, rules);
  if (streamedMediaMs === null) {
    // Fetched at once: the link's pace after the first read, when the object came in a flow long enough to time (the
    // first read can be a burst the link let through at once, as a token bucket does after a pause); else request to
    // last byte (conservative by one round trip).
    const flow = flowSample(arrivals, lagMs, rules);
    if (flow !== null) return flow;
    const ms = last.atMs - requestedAtMs;
    if (ms <= 0) return null;
    // All of it in one burst: the link brought it faster than reads can time, so the wait before it was the origin's
    // or a busy page's, and the time only bounds the link from below (a page starved for CPU would read a slow link).
    const oneBurst = last.atMs - first.atMs <= rules.burstGapMs;
    return oneBurst ? { kind: 'at-least', bps: (total * 8000) / ms } : timed((total * 8000) / ms, ms);
  }
  const afterFirst = total - first.bytes;
  const flowMs = last.atMs - first.atMs;
  // Behind real time by the link's doing: the time the page could not run does not count.
  if (last.atMs - requestedAtMs - lagMs > streamedMediaMs * rules.behindFactor && flowMs > 0 && afterFirst > 0) {
    return timed((afterFirst * 8000) / flowMs, flowMs);
  }
  const burst = burstThroughput(arrivals, rules);
  const floor = (total * 8000) / Math.max(streamedMediaMs, flowMs, 1);
  if (burst !== null && burst > floor) return { kind: 'measured', bps: burst };
  return { kind: 'at-least', bps: floor };
}

/** A timing over `spanMs` during which the page could not run for `lagMs`: a floor on the link once that is much of it. */
function lagged(bps: number, spanMs: number, lagMs: number, rules: TransferRules): ThroughputSample {
  return { kind: lagMs > spanMs * rules.maxLagShare ? 'at-least' : 'measured', bps };
}

/** `flowThroughput` as a sample: only a floor when the page could not run for much of the flow (`maxLagShare`). */
function flowSample(arrivals: readonly Arrival[], pageLagMs: number, rules: TransferRules = DEFAULT_TRANSFER_RULES): ThroughputSample | null {
  const bps = flowThroughput(arrivals, rules);
  return bps === null ? null : lagged(bps, arrivals.at(-1)!.atMs - arrivals[0]!.atMs, pageLagMs, rules);
}

/**
 * Bytes after the first read ÷ time from the first read to the last, for an object the origin had whole (it sends it as
 * fast as the link goes): null while that is too little to time.
 */
export function flowThroughput(arrivals: readonly Arrival[], rules: TransferRules = DEFAULT_TRANSFER_RULES): number | null {
  const first = arrivals[0];
  const last = arrivals.at(-1);
  if (!first || !last) return null;
  const bytes = arrivals.reduce((sum, a) => sum + a.bytes, 0) - first.bytes;
  const ms = last.atMs - first.atMs;
  return arrivals.length >= rules.minFlowReads && bytes >= rules.minFlowBytes && ms >= rules.minFlowMs ? (bytes * 8000) / ms : null;
}

/**
 * `flowThroughput` with the time the page could not run between the first read and the last (their `lagMs`) taken out:
 * the most the link can have carried. While the page was away the link may have gone on delivering (then the plain
 * flow is right) or the bytes may have waited unread (then this is): the plain flow bounds the link from below, this
 * from above. A link too slow even by this is too slow.
 */
export function generousFlowThroughput(arrivals: readonly Arrival[], rules: TransferRules = DEFAULT_TRANSFER_RULES): number | null {
  const first = arrivals[0];
  const last = arrivals.at(-1);
  if (!first || !last || flowThroughput(arrivals, rules) === null) return null;
  const bytes = arrivals.reduce((sum, a) => sum + a.bytes, 0) - first.bytes;
  const ms = last.atMs - first.atMs - ((last.lagMs ?? 0) - (first.lagMs ?? 0));
  return ms >= rules.minFlowMs ? (bytes * 8000) / ms : null;
}

/** Bytes ÷ time over the bursts only (reads arriving back to back), leaving out the idle waits for the encoder. */
export function burstThroughput(arrivals: readonly Arrival[], rules: TransferRules = DEFAULT_TRANSFER_RULES): number | null {
  let bytes = 0;
  let ms = 0;
  for (let i = 1; i < arrivals.length; i++) {
    const gap = arrivals[i]!.atMs - arrivals[i - 1]!.atMs;
    if (gap > rules.burstGapMs) continue;
    bytes += arrivals[i]!.bytes;
    ms += gap;
  }
  return bytes >= rules.minBurstBytes && ms > 0 ? (bytes * 8000) / ms : null;
}

/**
 * The link's throughput from the samples: the lower of a fast and a slow moving average of the measured samples, the
 * fast one taking a sample below the estimate whole (falls at once, rises over a few samples); an `at-least` sample
 * above the estimate raises it towards that floor.
 */
export class ThroughputEstimator {
  static readonly FAST_WEIGHT = 0.5;
  static readonly SLOW_WEIGHT = 0.2;
  #fast: number | null = null;
  #slow: number | null = null;

  add(sample: ThroughputSample): void {
    if (!(sample.bps > 0) || !Number.isFinite(sample.bps)) return;
    const estimate = this.estimateBps;
    if (sample.kind === 'at-least' && estimate !== null && sample.bps <= estimate) return;
    // A measured drop is taken whole: a link that fell below the rung stalls playback within a second or two.
    const falls = estimate !== null && sample.bps < estimate;
    this.#fast = this.#fast === null || falls ? sample.bps : this.#fast + ThroughputEstimator.FAST_WEIGHT * (sample.bps - this.#fast);
    this.#slow = this.#slow === null ? sample.bps : this.#slow + ThroughputEstimator.SLOW_WEIGHT * (sample.bps - this.#slow);
  }

  /** Bits per second, null before any sample. */
  get estimateBps(): number | null {
    return this.#fast === null || this.#slow === null ? null : Math.min(this.#fast, this.#slow);
  }
}

/**
 * How long the page could not run, from the lateness of a timer it keeps: a page starved for CPU fires its timers late
 * and reads its bytes late, which says nothing of the link. Each tick adds how much later than `intervalMs` after the
 * one before it fired (a tick less than `toleranceMs` late is timer jitter and adds nothing); a response's share is the
 * total at its end minus the total at its request.
 */
export class PageLag {
  readonly #intervalMs: number;
  readonly #toleranceMs: number;
  #lastTickMs: number | null = null;
  #totalMs = 0;

  constructor(intervalMs: number, toleranceMs = 10) {
    this.#intervalMs = intervalMs;
    this.#toleranceMs = toleranceMs;
  }

  /** The timer fired at `nowMs`. */
  tick(nowMs: number): void {
    this.#totalMs = this.totalMs(nowMs);
    this.#lastTickMs = nowMs;
  }

  /** The lag so far at `nowMs`, counting a tick overdue by then (the page is busy, or has just come back from it). */
  totalMs(nowMs: number): number {
    const lateMs = this.#lastTickMs === null ? 0 : nowMs - this.#lastTickMs - this.#intervalMs;
    return this.#totalMs + (lateMs > this.#toleranceMs ? lateMs : 0);
  }
}

export interface RungRules {
  /** Stay on (or go down to) the highest rung whose bitrate is at most this share of the estimate. */
  safety: number;
  /**
   * Go up only to a rung whose bitrate is at most this share of the estimate. Well below `safety`: a rung's
   * independent part is several times its average part, and with a sub-second buffer a rung the link only just
   * carries flaps back down (a reload each way).
   */
  upSafety: number;
  /** Go up only with at least this much buffered, and this long after the last switch. */
  minUpBufferMs: number;
  upHoldMs: number;
  /**
   * A switch reloads the new rung from the segment's independent part: going down, that reload (media since it × the
   * rung's bitrate ÷ estimate) must take at most this share of the buffer, going up as going down.
   */
  reloadBufferShare: number;
  /**
   * Going up reloads at most this much media from the independent part (ms): deep into a long segment the reload is
   * seconds of the bigger rung to fetch, append and decode again, for no gain the next segment would not give.
   */
  maxUpReloadMs: number;
}

export const DEFAULT_RUNG_RULES: RungRules = {
  safety: 0.85,
  upSafety: 0.6,
  minUpBufferMs: 250,
  upHoldMs: 3000,
  reloadBufferShare: 0.5,
  maxUpReloadMs: 1000,
};

export interface RungInput {
  /** Each rung's peak bits per second, lowest rung first. */
  bitrates: readonly number[];
  current: number;
  estimateBps: number | null;
  bufferMs: number;
  /** Time since the last switch, ms. */
  sinceSwitchMs: number;
  /** Media loaded since the last independent part, ms: what a switch loads again; 0 when the next part is independent. */
  sinceIndependentMs: number;
  /**
   * The part to load next, ms (the part target): a switch up loads it on the new rung together with its reload, before
   * the buffer grows again. 0 when not known.
   */
  nextPartMs?: number;
  /**
   * The last part loaded ended a segment. The next segment's first part is then only a preload hint, which hls.js loads
   * for the rung it is on but not for a rung it switches to: that one reloads the whole segment just buffered. So the
   * way up is one part later, reloading just that independent part.
   */
  atSegmentEnd?: boolean;
}

/**
 * The rung to load next. Down at once to the highest rung the estimate carries whose reload from the independent part
 * fits in the buffer (else the lowest rung); up one rung when the estimate carries it with room and its reload is cheap.
 */
export function chooseRung(input: RungInput, rules: RungRules = DEFAULT_RUNG_RULES): number {
  const { bitrates, current, estimateBps, bufferMs, sinceIndependentMs } = input;
  if (estimateBps === null || current < 0 || current >= bitrates.length) return current;
  if (bitrates[current]! > estimateBps * rules.safety) return downRung(bitrates, current, estimateBps, bufferMs, sinceIndependentMs, rules);
  const up = current + 1;
  if (
    up < bitrates.length &&
    !input.atSegmentEnd &&
    sinceIndependentMs <= rules.maxUpReloadMs &&
    ((sinceIndependentMs + (input.nextPartMs ?? 0)) * bitrates[up]!) / estimateBps <= bufferMs * rules.reloadBufferShare &&
    bitrates[up]! <= estimateBps * rules.upSafety &&
    bufferMs >= rules.minUpBufferMs &&
    input.sinceSwitchMs >= rules.upHoldMs
  ) {
    return up;
  }
  return current;
}

/** The highest rung below `current` that `linkBps` carries and whose reload from the independent part fits the buffer; else the lowest. */
function downRung(bitrates: readonly number[], current: number, linkBps: number, bufferMs: number, sinceIndependentMs: number, rules: RungRules): number {
  for (let i = current - 1; i > 0; i--) {
    const rate = bitrates[i]!;
    const reloadMs = (sinceIndependentMs * rate) / linkBps;
    if (rate <= linkBps * rules.safety && reloadMs <= bufferMs * rules.reloadBufferShare) return i;
  }
  return 0;
}

/** The part (or segment) being loaded, as the fragment loader sees it while its bytes arrive. */
export interface InFlight {
  /** Its rung. */
  level: number;
  /** Since its request, ms. */
  elapsedMs: number;
  /** Its media duration, ms. */
  durationMs: number;
  /** What its bursts so far measured (`burstThroughput`), null if none: a part late with fast bursts waits for its producer. */
  burstBps: number | null;
  /**
   * A complete object (its length known: the origin had all of it) only: the pace of its bytes so far
   * (`generousFlowThroughput`: the page's own lag taken out), which is the link's, null until there is enough to time. It tells a link too slow for the rung
   * from the first tens of milliseconds of a part, long before the part runs late.
   */
  flowBps?: number | null;
  /**
   * How long the page could not run since the request (`PageLag`). A page starved for CPU (WebKitGTK painting video in
   * software beside a broadcaster) runs its checks and reads its bytes late by itself: only the rest of the elapsed time
   * can be the link's, so only that counts towards running late. 0 when not known.
   */
  pageLagMs?: number;
}

export interface EmergencyRules {
  /** A load still running this long past its media duration has fallen behind real time (× the duration). */
  lateFactor: number;
}

export const DEFAULT_EMERGENCY_RULES: EmergencyRules = { lateFactor: 1.25 };

/**
 * Whether to abandon the load in flight and switch down now, and to which rung (null: carry on). hls.js loads the
 * parts of a segment one after another without asking the ABR again, so a rung the link no longer carries would play
 * on to the segment's end, draining a sub-second buffer: once the estimate falls below the rung (or the part in flight
 * runs late, or its bytes so far flow slower than the rung), the part is dropped and the rung whose reload from the independent part fits the buffer is loaded
 * instead (the lowest if none does, unless even its reload outlasts the buffer), as hls.js's own abandon rules do for
 * whole fragments.
 */
export function emergencyRung(
  input: RungInput & { inFlight: InFlight },
  rules: RungRules = DEFAULT_RUNG_RULES,
  emergency: EmergencyRules = DEFAULT_EMERGENCY_RULES,
): number | null {
  const { bitrates, estimateBps, bufferMs, sinceIndependentMs, inFlight } = input;
  const level = inFlight.level;
  if (level <= 0 || level >= bitrates.length) return null;
  const rate = bitrates[level]!;
  const fastBursts = inFlight.burstBps !== null && inFlight.burstBps > rate;
  const linkElapsedMs = inFlight.elapsedMs - (inFlight.pageLagMs ?? 0);
  const late = linkElapsedMs > inFlight.durationMs * emergency.lateFactor && !fastBursts;
  // Running late, the part has taken at least that time for its duration's media: the link carries at most this.
  const lateBps = late ? (rate * inFlight.durationMs) / linkElapsedMs : Infinity;
  const linkBps = Math.min(estimateBps ?? Infinity, lateBps, inFlight.flowBps ?? Infinity);
  if (!Number.isFinite(linkBps) || rate <= linkBps * rules.safety) return null;
  const reloadMediaMs = sinceIndependentMs + inFlight.durationMs;
  // Even the lowest rung's reload from the independent part would outlast the buffer (a long GOP, deep into its
  // segment): abandoning would cost more than it saves, so the part goes on and the switch waits for the segment's end.
  if ((reloadMediaMs * bitrates[0]!) / linkBps > bufferMs) return null;
  return downRung(bitrates, level, linkBps, bufferMs, reloadMediaMs, rules);
}
