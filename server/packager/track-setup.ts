// Validates the publisher's track configurations and turns them into init-segment track entries.
import { sameBytes } from '../../shared/bytes.ts';
import type { AudioTrackConfig, TrackConfigMessage, VideoTrackConfig } from '../../shared/protocol/index.ts';
import { PackagerError } from './errors.ts';
import { aacAudioSpecificConfig } from './mp4/audio.ts';
import { Av1ConfigError, av1CodecString, readAv1SequenceHeader, type Av1SequenceInfo } from './mp4/av1c.ts';
import { CodecConfigError } from '../../shared/codecs/errors.ts';
import { parseAvcC } from '../../shared/codecs/h264.ts';
import { normaliseAvcC } from './mp4/avcc.ts';
import { HvcCError, parseHvcC } from './mp4/hvcc.ts';
import { hevcCodecString } from '../../shared/codecs/hevc.ts';
import { parseVp09CodecString, VpCodecStringError } from './mp4/vpcc.ts';
import type { AudioTrackEntry, VideoTrackEntry } from './mp4/init.ts';

/**
 * Video decode times and durations in microseconds, the unit of the publisher's timestamps, so every frame lands
 * exactly where it was captured. MSE converts each sample's start and duration to whole microseconds separately: with
 * 90 kHz, a 1/30 s frame at 17.9666667 s ends at 17.999999 s, the buffer ends 1 µs before the segment boundary, and
 * hls.js 1.7 can then pick the finished segment again instead of the next part and stall there (issue 3).
 */
export const VIDEO_TIMESCALE = 1_000_000;
/** MP4 track_IDs inside every rendition's init segment. */
export const VIDEO_MP4_TRACK_ID = 1;
export const AUDIO_MP4_TRACK_ID = 2;

/** BANDWIDTH fallbacks when the publisher announces no bitrate: 0.1 bit per pixel per frame, and a typical audio rate. */
const FALLBACK_VIDEO_BITS_PER_PIXEL = 0.1;
const FALLBACK_FRAME_RATE = 30;
export const FALLBACK_AUDIO_BITRATE = 128_000;

const AAC_LC = 'mp4a.40.2';
const OPUS = 'opus';

/** Throws unless the packager can carry this track without re-encoding. */
export function validateTrack(streamName: string, track: TrackConfigMessage): void {
  if (track.kind === 'video') {
    if (track.codec.startsWith('vp09.')) {
      try {
        parseVp09CodecString(track.codec);
      } catch (err) {
        if (!(err instanceof VpCodecStringError)) throw err;
        throw new PackagerError('unsupported-codec', streamName, `video track ${track.trackId}: ${err.message}`);
      }
      return;
    }
    if (track.codec.startsWith('av01.')) {
      if (!track.description || track.description.byteLength === 0) {
        throw new PackagerError('missing-description', streamName, `video track ${track.trackId} has no AV1 sequence header`);
      }
      try {
        readAv1Description(track.description);
      } catch (err) {
        if (!(err instanceof Av1ConfigError)) throw err;
        throw new PackagerError('invalid-description', streamName, `video track ${track.trackId} description holds no usable AV1 sequence header: ${err.message}`);
      }
      return;
    }
    if (isHevc(track.codec)) {
      if (!track.description || track.description.byteLength === 0) {
        throw new PackagerError('missing-description', streamName, `video track ${track.trackId} has no hvcC description`);
      }
      try {
        parseHvcC(track.description);
      } catch (err) {
        if (!(err instanceof HvcCError)) throw err;
        throw new PackagerError('invalid-description', streamName, `video track ${track.trackId} description is not a usable hvcC record: ${err.message}`);
      }
      return;
    }
    if (!/^avc[13]\./.test(track.codec)) {
      throw new PackagerError('unsupported-codec', streamName, `video codec ${track.codec} is neither H.264 (avc1/avc3), H.265 (hvc1/hev1), VP9 (vp09) nor AV1 (av01)`);
    }
    if (!track.description || track.description.byteLength === 0) {
      throw new PackagerError('missing-description', streamName, `video track ${track.trackId} has no avcC description`);
    }
    try {
      parseAvcC(track.description);
    } catch (err) {
      if (!(err instanceof CodecConfigError)) throw err;
      throw new PackagerError('invalid-description', streamName, `video track ${track.trackId} description is not a usable avcC record: ${err.message}`);
    }
    return;
  }
  if (track.codec !== OPUS && track.codec !== AAC_LC) {
    throw new PackagerError('unsupported-codec', streamName, `audio codec ${track.codec} is neither opus nor ${AAC_LC}`);
  }
}

function isHevc(codec: string): boolean {
  return codec.startsWith('hvc1.') || codec.startsWith('hev1.');
}

// av1C starts with its marker bit and version 1; an OBU header never has its top (forbidden) bit set.
const AV1C_MARKER_VERSION_1 = 0x81;
const AV1C_HEADER_BYTES = 4;

/**
 * An AV1 track's description is either an `av1C` record or the stream's sequence header OBU: WebCodecs gives no
 * description for AV1 (Chromium and Firefox both), so the broadcaster sends the sequence header from its first keyframe.
 */
function readAv1Description(description: Uint8Array): Av1SequenceInfo {
  const obus = description[0] === AV1C_MARKER_VERSION_1 ? description.subarray(AV1C_HEADER_BYTES) : description;
  return readAv1SequenceHeader(obus);
}

/** True when a repeated track message describes the same track (the publisher may resend it on reconnect). */
export function sameTrack(a: TrackConfigMessage, b: TrackConfigMessage): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of keys) {
    if (key === 'description') continue;
    if ((a as unknown as Record<string, unknown>)[key] !== (b as unknown as Record<string, unknown>)[key]) return false;
  }
  return sameBytes(a.description, b.description);
}

export function videoEntry(track: VideoTrackConfig): VideoTrackEntry {
  const common = { kind: 'video', trackId: VIDEO_MP4_TRACK_ID, timescale: VIDEO_TIMESCALE, width: track.width, height: track.height } as const;
  // VP9 needs no description: everything its vpcC holds is in the codec string (WebCodecs gives none for VP9).
  if (track.codec.startsWith('vp09.')) return { ...common, sampleEntry: 'vp09', vpcC: parseVp09CodecString(track.codec) };
  // Validated by validateTrack.
  if (track.codec.startsWith('av01.')) return { ...common, sampleEntry: 'av01', av1: readAv1Description(track.description!) };
  // Validated by validateTrack.
  if (isHevc(track.codec)) return { ...common, sampleEntry: track.codec.startsWith('hev1') ? 'hev1' : 'hvc1', hvcC: track.description! };
  return {
    ...common,
    sampleEntry: track.codec.startsWith('avc3') ? 'avc3' : 'avc1',
    // Validated by validateTrack; rewritten so a browser's malformed record (Firefox's) still decodes everywhere.
    avcC: normaliseAvcC(track.description!),
  };
}

/**
 * The video codec as CODECS announces it: for AV1 and HEVC what the sequence header or hvcC declares (the browser
 * echoes the codec string it was configured with, whatever level its encoder wrote); otherwise the publisher's string.
 */
export function videoCodecString(track: VideoTrackConfig): string {
  if (track.codec.startsWith('av01.')) return av1CodecString(readAv1Description(track.description!));
  if (isHevc(track.codec)) return hevcCodecString(track.codec.startsWith('hev1') ? 'hev1' : 'hvc1', parseHvcC(track.description!));
  return track.codec;
}

export function audioEntry(track: AudioTrackConfig): AudioTrackEntry {
  const isOpus = track.codec === OPUS;
  return {
    kind: 'audio',
    trackId: AUDIO_MP4_TRACK_ID,
    timescale: track.sampleRate,
    codec: isOpus ? 'opus' : 'aac',
    sampleRate: track.sampleRate,
    channels: track.channels,
    description:
      isOpus || (track.description && track.description.byteLength > 0)
        ? track.description
        : aacAudioSpecificConfig(track.sampleRate, track.channels),
    bitrate: track.bitrate ?? FALLBACK_AUDIO_BITRATE,
  };
}

export function videoBitrate(track: VideoTrackConfig): number {
  return (
    track.bitrate ??
    Math.round(track.width * track.height * (track.framerate ?? FALLBACK_FRAME_RATE) * FALLBACK_VIDEO_BITS_PER_PIXEL)
  );
}

/** The audio codec as RFC 6381 writes it in CODECS. */
export function audioCodecString(track: AudioTrackConfig): string {
  return track.codec === OPUS ? OPUS : AAC_LC;
}
