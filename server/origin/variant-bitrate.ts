// BANDWIDTH and AVERAGE-BANDWIDTH of a variant, measured from its segments' sizes over the playlist's sliding window,
// and published only when the measurement moves enough to matter.

/** One complete segment as the rate measurement sees it. */
export interface SegmentSize {
  bytes: number;
  /** Duration of the media the segment holds: its GAP parts, which have no bytes, are left out. */
  mediaDurationUs: number;
}

export interface VariantRates {
  /** Peak segment bit rate (EXT-X-STREAM-INF BANDWIDTH), bits per second. */
  peak: number;
  /** Average segment bit rate over the window (AVERAGE-BANDWIDTH), bits per second. */
  average: number;
}

/**
 * Rates are rounded to this many bits per second so that the multivariant playlist (cached for 2 s) changes when a
 * segment moves a rate by a kilobit or more, not on every segment's last few bytes.
 */
const RATE_STEP_BPS = 1_000;

/**
 * The rates the spec asks for (rfc8216bis §4.4.6.2): BANDWIDTH the largest segment bit rate and AVERAGE-BANDWIDTH the
 * bit rate of the whole window. Segments are the unit, not parts: a part that starts on a keyframe is several times
 * the rate of its segment, and a player sizing a rendition by it would never pick it. Before any segment completes
 * (or when every segment in the window is a gap), the publisher's `declaredBps` (encoder bitrate + audio) stands for both.
 */
export function variantRates(window: readonly SegmentSize[], declaredBps: number): VariantRates {
  let bytes = 0;
  let durationUs = 0;
  let peak = 0;
  for (const segment of window) {
    if (segment.mediaDurationUs <= 0) continue;
    bytes += segment.bytes;
    durationUs += segment.mediaDurationUs;
    peak = Math.max(peak, bitsPerSecond(segment.bytes, segment.mediaDurationUs));
  }
  if (durationUs === 0) {
    const declared = roundRate(declaredBps);
    return { peak: declared, average: declared };
  }
  // Rounding up keeps BANDWIDTH at or above every segment's rate, and AVERAGE-BANDWIDTH never above BANDWIDTH.
  return { peak: roundRate(peak), average: roundRate(bitsPerSecond(bytes, durationUs)) };
}

/**
 * How far (as a fraction of the published value) a measured rate may drift before the published rates follow it.
 * BANDWIDTH is part of a variant's info hash for P2P (p2p-media-loader hashes it, shared/p2p-swarm.ts): the tracker
 * puts every hash of a rendition in one swarm (server/tracker/admission.ts), but admits only the hashes of rates
 * published lately, so they must not move with every segment. 20 % keeps AVERAGE-BANDWIDTH within the 25 % of the
 * real rate players size renditions by.
 */
export const REPUBLISH_DRIFT = 0.2;

/**
 * The rates to publish next: the ones published so far while the measurement stays within `REPUBLISH_DRIFT` of both of
 * them, else the measurement (and the first measurement when nothing is published yet).
 */
export function stickyRates(published: VariantRates | undefined, measured: VariantRates): VariantRates {
  if (!published) return measured;
  const drifted = (was: number, now: number): boolean => Math.abs(now - was) > REPUBLISH_DRIFT * was;
  return drifted(published.peak, measured.peak) || drifted(published.average, measured.average) ? measured : published;
}

function bitsPerSecond(bytes: number, durationUs: number): number {
  return (bytes * 8 * 1_000_000) / durationUs;
}

function roundRate(bps: number): number {
  return Math.max(RATE_STEP_BPS, Math.ceil(bps / RATE_STEP_BPS) * RATE_STEP_BPS);
}
