// Origin settings: LL-HLS timing targets, the sliding window, memory kept per rendition, blocking-reload bounds and
// which streams are served encrypted.
import { MEDIA_ENCRYPTION_DEFAULTS, type MediaEncryptionConfig } from '../access/index.ts';
import { deriveTiming, targetDurationS } from '../../shared/timing.ts';
import { OriginError } from './errors.ts';

export { targetDurationS };

export interface OriginConfig {
  /** Part target duration (EXT-X-PART-INF PART-TARGET), ms; must match the packager's part target. */
  partTargetMs: number;
  /** Segment target duration, ms; EXT-X-TARGETDURATION is its ceiling in whole seconds. */
  segmentTargetMs: number;
  /** Completed segments listed in each media playlist; delta updates are offered when they span more than the Skip Boundary. */
  windowSegments: number;
  /** Completed segments kept in memory beyond the window, so clients a little behind still get them. */
  keepSegments: number;
  /**
   * Longest a blocking playlist reload or a hinted part request is held before 503, ms. Derived from the segment target
   * (the spec's 3 × target duration, shared/timing.ts) unless given.
   */
  blockingTimeoutMs: number;
  /** How long an ended stream keeps serving its final playlist and objects before the origin drops it, ms. */
  endedRetentionMs: number;
  /** Which streams are served AES-128 encrypted, and how often their key changes. */
  encryption: MediaEncryptionConfig;
}

/** The settings with a fixed default; `blockingTimeoutMs` follows from `segmentTargetMs`. */
export const ORIGIN_DEFAULTS: Omit<OriginConfig, 'blockingTimeoutMs'> = {
  partTargetMs: 200,
  segmentTargetMs: 2_000,
  windowSegments: 12,
  keepSegments: 3,
  endedRetentionMs: 60_000,
  encryption: MEDIA_ENCRYPTION_DEFAULTS,
};

/** Merges overrides into the defaults, derives the blocking bound, and refuses values that would make an invalid LL-HLS playlist. */
export function resolveOriginConfig(overrides: Partial<OriginConfig> = {}): OriginConfig {
  const timed = { ...ORIGIN_DEFAULTS, ...overrides };
  const config: OriginConfig = { ...timed, blockingTimeoutMs: overrides.blockingTimeoutMs ?? deriveTiming(timed).blockingHoldMs };
  const positive = (key: Exclude<keyof OriginConfig, 'encryption'>, allowZero = false): void => {
    const value = config[key];
    if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
      throw new OriginError('bad-config', '', `${key} must be a ${allowZero ? 'non-negative' : 'positive'} number, got ${value}`);
    }
  };
  positive('partTargetMs');
  positive('segmentTargetMs');
  positive('windowSegments');
  positive('keepSegments', true);
  positive('blockingTimeoutMs');
  positive('endedRetentionMs', true);
  if (!Number.isInteger(config.windowSegments) || !Number.isInteger(config.keepSegments)) {
    throw new OriginError('bad-config', '', 'windowSegments and keepSegments must be integers');
  }
  if (config.partTargetMs > config.segmentTargetMs) {
    throw new OriginError('bad-config', '', 'partTargetMs must not exceed segmentTargetMs');
  }
  // The spec forbids removing a segment when that leaves less than three target durations in the playlist.
  if (config.windowSegments * config.segmentTargetMs < 3 * targetDurationS(config) * 1000) {
    throw new OriginError('bad-config', '', 'windowSegments must cover at least three target durations');
  }
  return config;
}

/** The spec's minimum Skip Boundary is six target durations (rfc8216bis §4.4.3.8, CAN-SKIP-UNTIL). */
export const SKIP_BOUNDARY_TARGET_DURATIONS = 6;

/**
 * CAN-SKIP-UNTIL in seconds, or undefined when the window is too short for a delta update ever to skip anything
 * (then offering one would only cost clients a version-9 parser for nothing).
 */
export function skipBoundaryS(config: Pick<OriginConfig, 'segmentTargetMs' | 'windowSegments'>): number | undefined {
  const boundaryS = SKIP_BOUNDARY_TARGET_DURATIONS * targetDurationS(config);
  return (config.windowSegments * config.segmentTargetMs) / 1000 > boundaryS ? boundaryS : undefined;
}
