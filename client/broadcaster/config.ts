// The broadcaster's one configuration object: every key with its default and what it is for.
import { isValidRenditionName } from '../../shared/stream-name.ts';

/** One ABR rung: one VideoEncoder, one video track, one HLS rendition. */
export interface Rung {
  /** Rendition name (`[a-z0-9]{1,16}`), e.g. `720p`. */
  rendition: string;
  width: number;
  height: number;
  /** Target video bitrate, bits per second. */
  bitrate: number;
  /** RFC 6381 codec string; its level must cover width × height × framerate. The packager carries avc1/avc3, vp09, av01. */
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
  framerate: number;
  audio: AudioSettings;
  /** Above this many bytes queued on the channel, video frames are dropped before encoding. */
  maxBufferedBytes: number;
  /** The channel counts as drained again once its queue falls to this many bytes. */
  lowBufferedBytes: number;
  /** A frame is dropped when an encoder already holds more than this many frames (realtime). */
  maxEncodeQueue: number;
  /** How often `stats` is emitted. */
  statsIntervalMs: number;
  /** Used when the transport does not announce a segment target. */
  segmentTargetMs: number;
}

/**
 * Firefox's default rung: AV1 Main 8-bit (level 2.1 covers 360p30), which Firefox 153 on Linux encodes in real time
 * where its H.264 cannot. At 360p because its AV1 encode latency at 480p, ~35 ms on a quiet two-core machine, passes
 * 100 ms when the machine is busy, where 360p stays at 20-30 ms (issue 18). Chromium and Firefox both play AV1 in fMP4.
 */
export const AV1_360P_RUNG: Rung = { rendition: '360p', width: 640, height: 360, bitrate: 600_000, codec: 'av01.0.01M.08' };

/**
 * 720p30 H.264 Baseline 3.1: what every Chromium encodes in software at realtime speed. Firefox (153 ESR on Linux)
 * encodes H.264 with libx264's default 40-frame lookahead, about 1.4 s behind whatever WebCodecs asks, so it falls
 * back to AV1_360P_RUNG.
 */
export const DEFAULT_LADDER: readonly Rung[] = [
  { rendition: '720p', width: 1280, height: 720, bitrate: 2_500_000, codec: 'avc1.42001f', fallback: AV1_360P_RUNG },
];

export const DEFAULT_CONFIG: BroadcasterConfig = {
  ladder: DEFAULT_LADDER,
  framerate: 30,
  audio: { sampleRate: 48_000, channels: 2, bitrate: 128_000, codecs: ['mp4a.40.2', 'opus'] },
  maxBufferedBytes: 4 * 1024 * 1024,
  lowBufferedBytes: 1024 * 1024,
  maxEncodeQueue: 2,
  statsIntervalMs: 1000,
  segmentTargetMs: 2000,
};

export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly code = 'invalid-config';
}

/** Merges overrides onto the defaults and rejects a config the pipeline cannot run. */
export function resolveConfig(overrides: Partial<BroadcasterConfig> = {}): BroadcasterConfig {
  const config: BroadcasterConfig = { ...DEFAULT_CONFIG, ...overrides, audio: { ...DEFAULT_CONFIG.audio, ...overrides.audio } };
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
  if (!(config.framerate > 0 && config.framerate <= 120)) throw new ConfigError(`framerate ${config.framerate}`);
  if (!(config.segmentTargetMs > 0)) throw new ConfigError(`segment target ${config.segmentTargetMs} ms`);
  if (config.lowBufferedBytes >= config.maxBufferedBytes) throw new ConfigError('lowBufferedBytes must be below maxBufferedBytes');
  return config;
}
