// CMAF header (init segment) writer: `ftyp` + `moov` with one `trak` per track and `mvex` for fragments.
import { dOps, esds } from './audio.ts';
import { av1CPayload, type Av1SequenceInfo } from './av1c.ts';
import { vpcCPayload, type VpCodecConfig } from './vpcc.ts';
import { box, concat, fourcc, fullBox, u16, u32, u8, zeros, type Bytes } from './writer.ts';

interface VideoTrackBase {
  kind: 'video';
  trackId: number;
  timescale: number;
  width: number;
  height: number;
}

export interface AvcTrackEntry extends VideoTrackBase {
  /** `avc1` (parameter sets only in avcC) or `avc3` (may repeat them in band). */
  sampleEntry: 'avc1' | 'avc3';
  /** The AVCDecoderConfigurationRecord, written as the `avcC` box payload. */
  avcC: Bytes;
}

export interface HevcTrackEntry extends VideoTrackBase {
  /** `hvc1` (parameter sets only in hvcC) or `hev1` (may repeat them in band). */
  sampleEntry: 'hvc1' | 'hev1';
  /** The HEVCDecoderConfigurationRecord, written as the `hvcC` box payload. */
  hvcC: Bytes;
}

export interface Vp9TrackEntry extends VideoTrackBase {
  sampleEntry: 'vp09';
  vpcC: VpCodecConfig;
}

export interface Av1TrackEntry extends VideoTrackBase {
  sampleEntry: 'av01';
  /** Read from the stream's sequence header OBU, which `av1C` also carries. */
  av1: Av1SequenceInfo;
}

export type VideoTrackEntry = AvcTrackEntry | HevcTrackEntry | Vp9TrackEntry | Av1TrackEntry;

export interface AudioTrackEntry {
  kind: 'audio';
  trackId: number;
  timescale: number;
  codec: 'opus' | 'aac';
  sampleRate: number;
  channels: number;
  /** Opus: an optional OpusHead; AAC: the AudioSpecificConfig. */
  description: Bytes | undefined;
  bitrate: number;
}

export type TrackEntry = VideoTrackEntry | AudioTrackEntry;

const MOVIE_TIMESCALE = 1000;
// tkhd flags: track enabled | in movie | in preview.
const TKHD_FLAGS = 0x000007;
const UNITY_MATRIX = [0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000];
// ISO-639-2/T 'und' packed as three 5-bit letters.
const LANGUAGE_UNDETERMINED = 0x55c4;

function ftyp(): Bytes {
  return box('ftyp', fourcc('iso6'), u32(0), fourcc('iso6'), fourcc('cmfc'), fourcc('mp41'));
}

function matrix(): Bytes {
  return concat(UNITY_MATRIX.map(u32));
}

function mvhd(nextTrackId: number): Bytes {
  return fullBox(
    'mvhd',
    0,
    0,
    u32(0),
    u32(0),
    u32(MOVIE_TIMESCALE),
    u32(0),
    u32(0x00010000),
    u16(0x0100),
    zeros(10),
    matrix(),
    zeros(24),
    u32(nextTrackId),
  );
}

function tkhd(track: TrackEntry): Bytes {
  const isAudio = track.kind === 'audio';
  return fullBox(
    'tkhd',
    0,
    TKHD_FLAGS,
    u32(0),
    u32(0),
    u32(track.trackId),
    u32(0),
    u32(0),
    zeros(8),
    u16(0),
    u16(isAudio ? 1 : 0),
    u16(isAudio ? 0x0100 : 0),
    u16(0),
    matrix(),
    u32(isAudio ? 0 : track.width << 16),
    u32(isAudio ? 0 : track.height << 16),
  );
}

function mdhd(timescale: number): Bytes {
  return fullBox('mdhd', 0, 0, u32(0), u32(0), u32(timescale), u32(0), u16(LANGUAGE_UNDETERMINED), u16(0));
}

function hdlr(kind: TrackEntry['kind']): Bytes {
  const name = kind === 'video' ? 'Swarmcast video' : 'Swarmcast audio';
  return fullBox(
    'hdlr',
    0,
    0,
    u32(0),
    fourcc(kind === 'video' ? 'vide' : 'soun'),
    zeros(12),
    new TextEncoder().encode(name),
    u8(0),
  );
}

function decoderConfig(track: VideoTrackEntry): Bytes {
  switch (track.sampleEntry) {
    case 'vp09':
      return fullBox('vpcC', 1, 0, vpcCPayload(track.vpcC));
    case 'av01':
      return box('av1C', av1CPayload(track.av1));
    case 'hvc1':
    case 'hev1':
      return box('hvcC', track.hvcC);
    default:
      return box('avcC', track.avcC);
  }
}

function videoSampleEntry(track: VideoTrackEntry): Bytes {
  const config = decoderConfig(track);
  return box(
    track.sampleEntry,
    zeros(6),
    u16(1),
    zeros(16),
    u16(track.width),
    u16(track.height),
    u32(0x00480000),
    u32(0x00480000),
    u32(0),
    u16(1),
    zeros(32),
    u16(0x0018),
    u16(0xffff),
    config,
  );
}

function audioSampleEntry(track: AudioTrackEntry): Bytes {
  const isOpus = track.codec === 'opus';
  const config = isOpus
    ? dOps(track.description, track.channels, track.sampleRate)
    : esds(track.description ?? new Uint8Array(0), track.bitrate);
  // The sample-rate field is 16.16 and cannot hold rates above 65535; Opus is always declared as 48 kHz.
  const declaredRate = isOpus ? 48000 : Math.min(track.sampleRate, 0xffff);
  return box(
    isOpus ? 'Opus' : 'mp4a',
    zeros(6),
    u16(1),
    zeros(8),
    u16(track.channels),
    u16(16),
    u16(0),
    u16(0),
    u32(declaredRate << 16),
    config,
  );
}

function stbl(track: TrackEntry): Bytes {
  const entry = track.kind === 'video' ? videoSampleEntry(track) : audioSampleEntry(track);
  return box(
    'stbl',
    fullBox('stsd', 0, 0, u32(1), entry),
    fullBox('stts', 0, 0, u32(0)),
    fullBox('stsc', 0, 0, u32(0)),
    fullBox('stsz', 0, 0, u32(0), u32(0)),
    fullBox('stco', 0, 0, u32(0)),
  );
}

function minf(track: TrackEntry): Bytes {
  const header = track.kind === 'video' ? fullBox('vmhd', 0, 1, zeros(8)) : fullBox('smhd', 0, 0, zeros(4));
  const dinf = box('dinf', fullBox('dref', 0, 0, u32(1), fullBox('url ', 0, 1)));
  return box('minf', header, dinf, stbl(track));
}

function trak(track: TrackEntry): Bytes {
  return box('trak', tkhd(track), box('mdia', mdhd(track.timescale), hdlr(track.kind), minf(track)));
}

function trex(trackId: number): Bytes {
  return fullBox('trex', 0, 0, u32(trackId), u32(1), u32(0), u32(0), u32(0));
}

/** The init segment of one rendition: every sample is described by its own trun entry, so trex defaults are zero. */
export function initSegment(tracks: readonly TrackEntry[]): Bytes {
  const nextTrackId = Math.max(0, ...tracks.map((t) => t.trackId)) + 1;
  return concat([
    ftyp(),
    box('moov', mvhd(nextTrackId), ...tracks.map(trak), box('mvex', ...tracks.map((t) => trex(t.trackId)))),
  ]);
}
