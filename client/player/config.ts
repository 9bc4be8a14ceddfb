// The player's one typed configuration: latency modes, retry policies and the hls.js settings each mode implies.
import type { HlsConfig, LoadPolicy } from 'hls.js';
import { blockingHoldMs } from '../../shared/timing.ts';
import { DEFAULT_CATCH_UP_CONFIG } from './catch-up.ts';
import type { DriftBackConfig } from './p2p-drift.ts';
import type { CatchUpConfig } from './catch-up.ts';
import { DEFAULT_LATENCY_TARGET_CONFIG } from './latency-target.ts';
import type { LatencyTargetConfig } from './latency-target.ts';
import { DEFAULT_PLAYHEAD_WATCHDOG_CONFIG } from './playhead-watchdog.ts';
import type { PlayheadWatchdogConfig } from './playhead-watchdog.ts';

/** `low`: LL-HLS at the live edge, at a latency adapted to the network (latency-target.ts). `p2p`: a few segments behind, leaving room for peers to share segments. */
export type LatencyMode = 'low' | 'p2p';

export const LATENCY_MODES: readonly LatencyMode[] = ['low', 'p2p'];

/**
 * `streamed`: the player's ABR, which measures the network on parts streamed while produced (abr.ts). `hls.js`: hls.js's
 * own estimator, which times downloads and so sees every link as just fast enough; kept to compare against.
 */
export type AbrMode = 'streamed' | 'hls.js';

export function isAbrMode(value: string): value is AbrMode {
  return value === 'streamed' || value === 'hls.js';
}

export interface PlayerConfig {
  /** Playlist URL to play when `load()` is called without one; absolute URLs let the player run on any site. */
  src: string | undefined;
  /** Which latency the player aims for. */
  latencyMode: LatencyMode;
  /**
   * Edge origins (`scheme://host:port`) serving the same streams; with two or more, every request goes to the active
   * edge and moves to the next one when that edge fails (errors, 5xx, timeouts) or playback stalls on it.
   */
  edges: readonly string[];
  /** Timeouts as functions of the stream's timing (see `streamTimeoutsFor`). */
  timeouts: TimeoutPolicy;
  /** How the rung is chosen on a multi-rung stream. */
  abr: AbrMode;
  /** How often the `stats` event fires. */
  statsIntervalMs: number;
  /** `low` mode only: the glass-to-glass latency held by playback-rate control, and how it reacts. */
  catchUp: CatchUpConfig;
  /** `low` mode only: how the latency held is derived from measured media delay and stalls (it replaces `catchUp.targetLatencyMs`). */
  latencyTarget: LatencyTargetConfig;
  /** `low` mode only: the lowest latency target, ms (`&target=`); null: the adaptive target's own minimum. */
  latencyTargetFloorMs: number | null;
  /** How often `low` mode measures latency and adjusts the playback rate. */
  catchUpIntervalMs: number;
  /** Every mode: when a playhead standing still with media buffered at it counts as stuck, and how it is moved on. */
  playheadWatchdog: PlayheadWatchdogConfig;
  /** How often the playhead watchdog samples the video element. */
  playheadWatchdogIntervalMs: number;
  /**
   * Polling while the stream is not live yet (manifest 404) or has ended: first delay, growth per attempt, ceiling. The
   * 1 s ceiling lets a viewer waiting for a broadcast start within about a second of it going live; edges collapse the
   * concurrent polls of many waiting viewers into one origin request.
   */
  waitRetry: { initialDelayMs: number; factor: number; maxDelayMs: number };
  /** Fatal network errors other than "not live": how many reloads before giving up, and the pause between them. */
  networkRetry: { maxAttempts: number; delayMs: number };
  /** Fatal media (decode/append) errors: how many hls.js `recoverMediaError()` calls before giving up. */
  mediaRetry: { maxAttempts: number };
  /** `p2p` mode only: where peers meet and when a segment comes from peers or over HTTP. */
  p2p: P2pConfig;
}

/**
 * `p2p` mode's peer engine (p2p-media-loader). Its windows are measured from the playhead: a segment within the
 * high-demand window of it is fetched over HTTP at once if no peer has delivered it, so a silent swarm costs HTTP
 * requests, never a stall; further ahead (up to the live edge) it waits for peers. Values measured with `npm run bench
 * -- p2p` (1 s segments, 4.5 s behind).
 */
export interface P2pConfig {
  /** The WebTorrent tracker to announce to; null: `ws(s)://<the server playing>/tracker`, never a public one. */
  trackerUrl: string | null;
  /** ICE servers for peer connections; null: the server's setting (`ICE_SERVERS`, default none: host candidates only). */
  iceServers: RTCIceServer[] | null;
  /**
   * How close to the playhead a segment must be before it is fetched over HTTP if no peer delivered it: `viewerS` for
   * most viewers, `seederS` (wide enough to take every segment as soon as it is listed) for about `seedersPerSwarm` of
   * them, drawn at random by each viewer every `redrawMs` and whenever a peer comes or goes. Seeders fetch new segments
   * at once and the others take them from peers; p2p-media-loader alone picks its HTTP fetchers at random every 1 s + up
   * to 1 s per peer, too slow for a segment due a few seconds after it is published.
   */
  highDemandTimeWindow: { viewerS: number; seederS: number; seedersPerSwarm: number; redrawMs: number };
  /**
   * How far ahead the library's own random HTTP fetches (segments no peer has) may reach: kept to the high-demand
   * window, as the seeders already fetch every new segment.
   */
  httpDownloadTimeWindowS: number;
  p2pDownloadTimeWindowS: number;
  simultaneousHttpDownloads: number;
  simultaneousP2PDownloads: number;
  /** A peer that sends nothing for this long loses the request (it then goes to another peer or HTTP). */
  p2pNotReceivingBytesTimeoutMs: number;
  /** Where playback holds behind the playlist's last complete segment, s (hls.js `liveSyncDuration`). */
  liveSyncDurationS: number;
  /** A viewer ahead of `liveSyncDurationS` (it joined before the playlist listed that much) plays slower until back there. */
  driftBack: DriftBackConfig;
  /**
   * After a peer's segment failed its digest, every segment of the next this-many seconds is fetched over HTTP at once
   * (the high-demand window widens), so the refused one is back long before it is due.
   */
  refusedRefetchWindowS: number;
  /** How long that wider window holds before the usual draw takes over again, ms. */
  refusedRefetchHoldMs: number;
}

const DEFAULT_P2P_CONFIG: P2pConfig = {
  trackerUrl: null,
  iceServers: null,
  highDemandTimeWindow: { viewerS: 2, seederS: 5, seedersPerSwarm: 1.5, redrawMs: 5000 },
  httpDownloadTimeWindowS: 2,
  p2pDownloadTimeWindowS: 6,
  simultaneousHttpDownloads: 2,
  simultaneousP2PDownloads: 3,
  p2pNotReceivingBytesTimeoutMs: 1000,
  liveSyncDurationS: 4.5,
  driftBack: { rate: 0.85, startAheadS: 0.5, settleAheadS: 0.1, intervalMs: 250 },
  refusedRefetchWindowS: 5,
  refusedRefetchHoldMs: 3000,
};

/**
 * How the player's timeouts follow the stream's timing. The player cannot read the server's configuration: it reads the
 * target duration from the media playlist (hls.js's `details.targetduration`) and applies `streamTimeoutsFor`.
 */
export interface TimeoutPolicy {
  /** `low` mode: parts arrive every part target whatever the segment length, so a stall this long means the edge stopped. */
  lowLatencyEdgeStallMs: number;
  /** `p2p` mode loads whole segments: a stall this many target durations long moves playback to the next edge. */
  edgeStallTargetDurations: number;
  /** A playlist request is cut this long after the server's blocking-reload hold (3 target durations) would have ended. */
  playlistResponseMarginMs: number;
}

/** The stream's timing as its media playlist states it. */
export interface StreamTiming {
  /** EXT-X-TARGETDURATION, s. */
  targetDurationS: number;
}

/** Assumed until the first media playlist is read: the server's default 2 s segments. */
export const DEFAULT_STREAM_TIMING: StreamTiming = { targetDurationS: 2 };

export interface StreamTimeouts {
  /** A stall this long on the active edge moves playback to the next edge. */
  edgeStallMs: number;
  /** Longest wait for a playlist's first byte (hls.js shortens it further for blocking reloads), ms. */
  playlistFirstByteMs: number;
  /** Longest whole playlist load, ms. */
  playlistLoadMs: number;
}

const DEFAULT_TIMEOUT_POLICY: TimeoutPolicy = {
  lowLatencyEdgeStallMs: 2500,
  edgeStallTargetDurations: 1.25,
  playlistResponseMarginMs: 4000,
};

/** The player's timeouts for a stream: at the default 2 s segments a 2.5 s edge stall and a 10 s / 20 s playlist bound. */
export function streamTimeoutsFor(mode: LatencyMode, timing: StreamTiming, policy: TimeoutPolicy = DEFAULT_TIMEOUT_POLICY): StreamTimeouts {
  const playlistFirstByteMs = blockingHoldMs(timing.targetDurationS) + policy.playlistResponseMarginMs;
  return {
    edgeStallMs: mode === 'low' ? policy.lowLatencyEdgeStallMs : policy.edgeStallTargetDurations * timing.targetDurationS * 1000,
    playlistFirstByteMs,
    playlistLoadMs: 2 * playlistFirstByteMs,
  };
}

export const DEFAULT_PLAYER_CONFIG: PlayerConfig = {
  src: undefined,
  latencyMode: 'low',
  edges: [],
  timeouts: DEFAULT_TIMEOUT_POLICY,
  abr: 'streamed',
  statsIntervalMs: 1000,
  catchUp: DEFAULT_CATCH_UP_CONFIG,
  latencyTarget: DEFAULT_LATENCY_TARGET_CONFIG,
  latencyTargetFloorMs: null,
  catchUpIntervalMs: 200,
  playheadWatchdog: DEFAULT_PLAYHEAD_WATCHDOG_CONFIG,
  playheadWatchdogIntervalMs: 250,
  waitRetry: { initialDelayMs: 250, factor: 2, maxDelayMs: 1000 },
  networkRetry: { maxAttempts: 5, delayMs: 1000 },
  mediaRetry: { maxAttempts: 3 },
  p2p: DEFAULT_P2P_CONFIG,
};

/**
 * The glass-to-glass targets a viewer may ask for, ms: below 150 ms there is not one frame of buffer left after
 * capture, encode and delivery on any network; above 10 s `p2p` mode is the better choice.
 */
const TARGET_LATENCY_RANGE_MS = { min: 150, max: 10_000 } as const;

/** A latency target as given (`&target=`, the embed's `target` attribute): a whole number of ms in range, else a RangeError. */
export function parseTargetLatencyMs(value: string): number {
  const ms = Number(value.trim());
  const { min, max } = TARGET_LATENCY_RANGE_MS;
  if (value.trim() === '' || !Number.isInteger(ms) || ms < min || ms > max) {
    throw new RangeError(`target "${value}" is not a latency in ms from ${min} to ${max}`);
  }
  return ms;
}

export function isLatencyMode(value: string): value is LatencyMode {
  return (LATENCY_MODES as readonly string[]).includes(value);
}

/**
 * How many times a live media playlist that lists parts but no complete segment yet is fetched again before giving up:
 * hls.js cannot start from parts alone (LEVEL_EMPTY_ERROR), so a viewer who arrives in a broadcast's first segment waits
 * for it to complete. At most 500 ms apart, this covers segments up to 12 s.
 */
export const EMPTY_PLAYLIST_RETRIES = 24;
/** Retries of any other playlist error before it is fatal (then the player's own `networkRetry` reloads). */
const OTHER_PLAYLIST_ERROR_RETRIES = 2;

/**
 * Playlist loading in `low` mode: an empty live playlist is re-fetched within 250–500 ms rather than hls.js's 1 s, 2 s,
 * then fatal; a request is not cut before the server's blocking hold ends.
 */
function lowLatencyPlaylistPolicy(timeouts: StreamTimeouts): LoadPolicy {
  return {
    default: {
      maxTimeToFirstByteMs: timeouts.playlistFirstByteMs,
      maxLoadTimeMs: timeouts.playlistLoadMs,
      timeoutRetry: { maxNumRetry: 2, retryDelayMs: 0, maxRetryDelayMs: 0 },
      errorRetry: {
        // hls.js checks this bound again when it schedules the retry, so it must be the larger one.
        maxNumRetry: EMPTY_PLAYLIST_RETRIES,
        retryDelayMs: 250,
        maxRetryDelayMs: 500,
        // A 200 that hls.js retries is an empty (or unparsable) playlist: the broadcast's first segment is coming.
        // Every other error keeps hls.js's usual two retries.
        shouldRetry: (_config, retryCount, _isTimeout, response, retry) =>
          retry && (response?.code === 200 || retryCount < OTHER_PLAYLIST_ERROR_RETRIES),
      },
    },
  };
}

/**
 * The hls.js settings for a latency mode. In `low` mode hls.js joins at the playlist's PART-HOLD-BACK (it uses it when
 * `liveSyncDuration*` are left unset) and the player's own catch-up control then holds a glass-to-glass target: hls.js's
 * rate control is off because it only ever speeds up, and only with more than a second buffered, which a 1 s
 * glass-to-glass target never has. `timeouts` come from `streamTimeoutsFor`.
 */
export function hlsConfigFor(mode: LatencyMode, timeouts: StreamTimeouts, p2p: P2pConfig = DEFAULT_P2P_CONFIG): Partial<HlsConfig> {
  const common: Partial<HlsConfig> = {
    // Live viewers never seek far back; a small back buffer keeps memory flat over hours.
    backBufferLength: 10,
  };
  if (mode === 'low') {
    return {
      ...common,
      lowLatencyMode: true,
      maxLiveSyncPlaybackRate: 1,
      // fMP4 parts pass through without transmuxing; a worker would only add its start-up to the first frame.
      enableWorker: false,
      // Fetch the first part while MediaSource is still opening.
      startFragPrefetch: true,
      // Show the independent part it loads first at once, instead of decoding from it up to PART-HOLD-BACK before the
      // first frame; the catch-up control then jumps to the target latency once the buffer reaches it.
      startOnSegmentBoundary: true,
      playlistLoadPolicy: lowLatencyPlaylistPolicy(timeouts),
    };
  }
  // p2p-media-loader registers whole segments only (parts always go to HTTP), so `p2p` mode plays segments, held
  // `liveSyncDurationS` behind the newest: it reaches one viewer over HTTP and the others from it before it is due.
  // hls.js asks for every segment as soon as it is listed, so the engine can wait for peers until the high-demand window.
  return {
    ...common,
    enableWorker: true,
    lowLatencyMode: false,
    liveSyncDuration: p2p.liveSyncDurationS,
    // Beyond this (after stalls or a hidden tab) hls.js jumps back to liveSyncDuration.
    liveMaxLatencyDuration: p2p.liveSyncDurationS + 6,
    maxBufferLength: 8,
    maxMaxBufferLength: 8,
  };
}
