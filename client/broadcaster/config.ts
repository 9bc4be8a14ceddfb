// The broadcaster's one configuration object: every key with its default and what it is for.
import { isValidRenditionName } from '../../shared/stream-name.ts';
import { DEFAULT_ADAPTATION, type AdaptationConfig } from './adaptive-publishing.ts';
import { codecForFramerate } from './codec-level.ts';
import { defaultLadderSpec, MAX_FRAMERATE, parseLadder } from './ladder.ts';

/** One ABR rung: one VideoEncoder, one video track, one HLS rendition. */
export interface Rung {
  /** Rendition name (`[a-z0-9]{1,16}`), e.g. `720p`. */
  rendition: string;
  width: number;
  height: number;
  /** Target video bitrate, bits per second. */
  bitrate: number;
  /**
   * RFC 6381 codec string. resolveConfig sets an H.264 or AV1 level to the lowest that covers width × height at the
   * config's framerate. The packager carries avc1/avc3, vp09, av01.
   */
  codec: string;
  /**
   * What this rung becomes in a browser that cannot encode it in real time (its encoder holds frames back, as Firefox's
   * H.264 does) or not at all; a fallback may have its own. Chosen once, before going live (video-encoder.ts).
   */
  fallback?: Rung;
}

export interface AudioSettings {
  sampleRate: number;
  /** Used by the test source; device capture keeps the source's channel count. */
  channels: number;
  /** Bits per second. */
  bitrate: number;
  /** Tried in order; the first one `AudioEncoder.isConfigSupported` accepts is used. */
  codecs: readonly string[];
}

export interface BroadcasterConfig {
  /** The ABR ladder, highest rung first; every rung gets the same keyframes. */
  ladder: readonly Rung[];
  /** Frames per second of the capture and of every rung, 1 to MAX_FRAMERATE (`&fps=` on the page). */
  framerate: number;
  audio: AudioSettings;
  /** Above this many bytes queued on the channel, video frames are dropped before encoding. */
  maxBufferedBytes: number;
  /** The channel counts as drained again once its queue falls to this many bytes. */
  lowBufferedBytes: number;
  /** A frame is dropped when an encoder already holds more than this many frames (realtime). */
  maxEncodeQueue: number;
  /** When the uplink or the CPU cannot carry the ladder: lower, then pause, the upper rungs (adaptive-publishing.ts). */
  adaptation: AdaptationConfig;
  /** How often `stats` is emitted. */
  statsIntervalMs: number;
  /** Used when the transport does not announce a segment target. */
  segmentTargetMs: number;
  /**
   * How long a broadcast whose connection broke keeps trying to reconnect before it fails, ms: the server's default
   * PUBLISH_GRACE_MS, for which it keeps the stream live for the publisher to come back.
   */
  reconnectTimeoutMs: number;
}

/**
 * 720p, 480p and 240p H.264 in Chromium, plus 1080p on a machine of 4 cores or more; 360p and 240p AV1 in Firefox,
 * whose H.264 is not real-time (ladder.ts). A source smaller than a rung leaves it out (session.ts).
 */
export const DEFAULT_LADDER: readonly Rung[] = parseLadder(defaultLadderSpec(globalThis.navigator?.hardwareConcurrency ?? 1));

export const DEFAULT_CONFIG: BroadcasterConfig = {
  ladder: DEFAULT_LADDER,
  framerate: 30,
  audio: { sampleRate: 48_000, channels: 2, bitrate: 128_000, codecs: ['mp4a.40.2', 'opus'] },
  maxBufferedBytes: 4 * 1024 * 1024,
  lowBufferedBytes: 1024 * 1024,
  maxEncodeQueue: 2,
  adaptation: DEFAULT_ADAPTATION,
  statsIntervalMs: 1000,
  segmentTargetMs: 2000,
  reconnectTimeoutMs: 10_000,
};

export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly code = 'invalid-config';
}

/** Merges overrides onto the defaults and rejects a config the pipeline cannot run. */
export function resolveConfig(overrides: Partial<BroadcasterConfig> = {}): BroadcasterConfig {
  const config: BroadcasterConfig = {
    ...DEFAULT_CONFIG,
    ...overrides,
    audio: { ...DEFAULT_CONFIG.audio, ...overrides.audio },
    adaptation: { ...DEFAULT_CONFIG.adaptation, ...overrides.adaptation },
  };
  if (config.ladder.length === 0) throw new ConfigError('the ladder needs at least one rung');
  const names = new Set<string>();
  for (const top of config.ladder) {
    if (names.has(top.rendition)) throw new ConfigError(`rendition "${top.rendition}" appears twice`);
    names.add(top.rendition);
    for (let rung: Rung | undefined = top; rung; rung = rung.fallback) {
      if (!isValidRenditionName(rung.rendition)) throw new ConfigError(`bad rendition name "${rung.rendition}"`);
      if (rung.width % 2 !== 0 || rung.height % 2 !== 0) throw new ConfigError(`${rung.rendition}: 4:2:0 video needs even dimensions`);
    }
  }
  if (!(config.framerate > 0 && config.framerate <= MAX_FRAMERATE)) throw new ConfigError(`framerate ${config.framerate}: use 1 to ${MAX_FRAMERATE}`);
  config.ladder = config.ladder.map((rung) => atFramerate(rung, config.framerate));
  if (!(config.segmentTargetMs > 0)) throw new ConfigError(`segment target ${config.segmentTargetMs} ms`);
  if (config.lowBufferedBytes >= config.maxBufferedBytes) throw new ConfigError('lowBufferedBytes must be below maxBufferedBytes');
  const { loweredBitrateShare, queueLowMs, queueHighMs, restoreHoldMs, maxRestoreHoldMs } = config.adaptation;
  if (!(loweredBitrateShare > 0 && loweredBitrateShare < 1)) throw new ConfigError(`adaptation.loweredBitrateShare ${loweredBitrateShare}: between 0 and 1`);
  if (!(queueLowMs < queueHighMs)) throw new ConfigError('adaptation.queueLowMs must be below queueHighMs');
  if (!(restoreHoldMs > 0 && restoreHoldMs <= maxRestoreHoldMs)) throw new ConfigError('adaptation.restoreHoldMs must be positive and at most maxRestoreHoldMs');
  return config;
}

/** A rung (and its fallbacks) with each codec's level fitted to its size at `framerate`. */
function atFramerate(rung: Rung, framerate: number): Rung {
  const codec = codecForFramerate(rung.codec, rung.width, rung.height, framerate);
  return { ...rung, codec, ...(rung.fallback && { fallback: atFramerate(rung.fallback, framerate) }) };
}
