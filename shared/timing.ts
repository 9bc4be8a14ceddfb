// The stream's timing targets and everything derived from them: EXT-X-TARGETDURATION and the blocking-reload hold.
// The origin derives its bounds from its config; players and edges, which cannot read that config, apply the same
// functions to the target duration a playlist carries.

/** The two timing targets a stream is cut to. */
export interface MediaTiming {
  /** Part target duration (EXT-X-PART-INF PART-TARGET), ms. */
  partTargetMs: number;
  /** Segment target duration = GOP, ms. */
  segmentTargetMs: number;
}

export interface DerivedTiming {
  /** EXT-X-TARGETDURATION: the segment target rounded up to whole seconds. */
  targetDurationS: number;
  /** Longest a blocking playlist reload or a hinted part request is held before the server gives up, ms. */
  blockingHoldMs: number;
}

/** rfc8216bis §6.2.5.2: a server holds a blocking request for at most three target durations. */
const BLOCKING_HOLD_TARGET_DURATIONS = 3;

/** EXT-X-TARGETDURATION in whole seconds. */
export function targetDurationS(timing: Pick<MediaTiming, 'segmentTargetMs'>): number {
  return Math.ceil(timing.segmentTargetMs / 1000);
}

/** The blocking-reload hold for a playlist with this EXT-X-TARGETDURATION, ms. */
export function blockingHoldMs(targetDurationS: number): number {
  return BLOCKING_HOLD_TARGET_DURATIONS * targetDurationS * 1000;
}

export function deriveTiming(timing: MediaTiming): DerivedTiming {
  const target = targetDurationS(timing);
  return { targetDurationS: target, blockingHoldMs: blockingHoldMs(target) };
}
