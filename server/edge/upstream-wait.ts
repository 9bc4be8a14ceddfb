// How long the edge waits on upstream for a stream, derived from the EXT-X-TARGETDURATION it last saw pass: an edge is
// a separate process that cannot read the origin's config, and must outwait the origin's hold of a blocking reload.
import { ORIGIN_DEFAULTS, targetDurationS } from '../origin/index.ts';

/** The spec lets a server hold a blocking playlist reload (or hinted part) up to three target durations before it answers 503. */
const ORIGIN_HOLD_TARGET_DURATIONS = 3;
/** Time past the origin's hold for its answer to cross the network and the edge's event loop. */
const UPSTREAM_WAIT_MARGIN_MS = 3_000;
/** Until a stream's media playlist has passed, its target duration is taken to be the LL-HLS defaults' (2 s segments). */
const DEFAULT_TARGET_DURATION_S = targetDurationS(ORIGIN_DEFAULTS);
/** Streams whose target duration is remembered; the least recently seen is forgotten past this (it falls back to the default). */
const MAX_TRACKED_STREAMS = 10_000;

/** The EXT-X-TARGETDURATION of a media playlist's text, in whole seconds; undefined when absent or malformed. */
export function targetDurationOf(playlist: string): number | undefined {
  const match = /^#EXT-X-TARGETDURATION:(\d+)\s*$/m.exec(playlist);
  const seconds = match ? Number(match[1]) : NaN;
  return Number.isSafeInteger(seconds) && seconds > 0 ? seconds : undefined;
}

/**
 * The longest wait for upstream headers (or silence between body bytes), ms: the explicit override when set, else
 * three target durations plus a margin, so an origin's held answer arrives before the edge gives up on it.
 */
export function upstreamWaitMs(targetDurationS: number | undefined, overrideMs?: number): number {
  if (overrideMs !== undefined) return overrideMs;
  return ORIGIN_HOLD_TARGET_DURATIONS * (targetDurationS ?? DEFAULT_TARGET_DURATION_S) * 1000 + UPSTREAM_WAIT_MARGIN_MS;
}

/** The target duration each stream last showed, bounded in the number of streams. */
export class TargetDurations {
  // A Map iterates in insertion order: re-inserting on every update keeps the least recently seen first.
  #byStream = new Map<string, number>();

  /** Notes the target duration of a media playlist that passed for `stream`. */
  observe(stream: string, playlist: string): void {
    const seconds = targetDurationOf(playlist);
    if (seconds === undefined) return;
    this.#byStream.delete(stream);
    this.#byStream.set(stream, seconds);
    for (const oldest of this.#byStream.keys()) {
      if (this.#byStream.size <= MAX_TRACKED_STREAMS) break;
      this.#byStream.delete(oldest);
    }
  }

  of(stream: string): number | undefined {
    return this.#byStream.get(stream);
  }
}
