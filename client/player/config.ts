// The player's one typed configuration: latency modes, retry policies and the hls.js settings each mode implies.
import type { HlsConfig } from 'hls.js';

/** `low`: LL-HLS at the live edge (about 1 s). `p2p`: a few segments behind, leaving room for peers to share segments. */
export type LatencyMode = 'low' | 'p2p';

export const LATENCY_MODES: readonly LatencyMode[] = ['low', 'p2p'];

export interface PlayerConfig {
  /** Playlist URL to play when `load()` is called without one; absolute URLs let the player run on any site. */
  src: string | undefined;
  /** Which latency the player aims for. */
  latencyMode: LatencyMode;
  /** How often the `stats` event fires. */
  statsIntervalMs: number;
  /** Polling while the stream is not live yet (manifest 404) or has ended: first delay, growth per attempt, ceiling. */
  waitRetry: { initialDelayMs: number; factor: number; maxDelayMs: number };
  /** Fatal network errors other than "not live": how many reloads before giving up, and the pause between them. */
  networkRetry: { maxAttempts: number; delayMs: number };
  /** Fatal media (decode/append) errors: how many hls.js `recoverMediaError()` calls before giving up. */
  mediaRetry: { maxAttempts: number };
}

export const DEFAULT_PLAYER_CONFIG: PlayerConfig = {
  src: undefined,
  latencyMode: 'low',
  statsIntervalMs: 1000,
  waitRetry: { initialDelayMs: 1000, factor: 1.5, maxDelayMs: 4000 },
  networkRetry: { maxAttempts: 5, delayMs: 1000 },
  mediaRetry: { maxAttempts: 3 },
};

export function isLatencyMode(value: string): value is LatencyMode {
  return (LATENCY_MODES as readonly string[]).includes(value);
}

/**
 * The hls.js settings for a latency mode. In `low` mode the live sync point comes from the
 * playlist's PART-HOLD-BACK (hls.js uses it when `liveSyncDuration*` are left unset), and playback
 * speeds up slightly to catch up after a stall instead of drifting further behind.
 */
export function hlsConfigFor(mode: LatencyMode): Partial<HlsConfig> {
  const common: Partial<HlsConfig> = {
    // Live viewers never seek far back; a small back buffer keeps memory flat over hours.
    backBufferLength: 10,
    enableWorker: true,
  };
  if (mode === 'low') {
    return {
      ...common,
      lowLatencyMode: true,
      maxLiveSyncPlaybackRate: 1.25,
      liveSyncOnStallIncrease: 0.5,
    };
  }
  return {
    ...common,
    lowLatencyMode: false,
    liveSyncDurationCount: 3,
    liveMaxLatencyDurationCount: 6,
  };
}
