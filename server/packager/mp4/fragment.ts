// CMAF chunk writer: one `moof` (one `traf` per track) followed by one `mdat` holding every track's samples.
import type { Bytes } from './writer.ts';

export const SAMPLE_FLAGS_SYNC = 0x02000000;
// sample_depends_on = 1 (depends on others) | sample_is_non_sync_sample.
export const SAMPLE_FLAGS_NON_SYNC = 0x01010000;

export interface FragmentSample {
  /** In the track's timescale. */
  duration: number;
  flags: number;
  /** Presentation minus decode time in the track's timescale (signed); absent is 0. */
  compositionOffset?: number;
  data: Bytes;
}

export interface TrackRun {
  trackId: number;
  /** Decode time of the first sample, in the track's timescale (tfdt). */
  baseDecodeTime: number;
  samples: readonly FragmentSample[];
}

const TFHD_DEFAULT_BASE_IS_MOOF = 0x020000;
const TRUN_DATA_OFFSET = 0x000001;
const TRUN_SAMPLE_DURATION = 0x000100;
const TRUN_SAMPLE_SIZE = 0x000200;
const TRUN_SAMPLE_FLAGS = 0x000400;
const TRUN_SAMPLE_COMPOSITION_OFFSET = 0x000800;
const TRUN_FLAGS = TRUN_DATA_OFFSET | TRUN_SAMPLE_DURATION | TRUN_SAMPLE_SIZE | TRUN_SAMPLE_FLAGS;

const TFHD_BYTES = 16;
/** Version 1: a 64-bit base media decode time. */
const TFDT_BYTES = 20;
const TRUN_HEADER_BYTES = 20;
const MFHD_BYTES = 16;
const BOX_HEADER_BYTES = 8;

/**
 * A run whose samples all present at their decode time is written as before (version 0, no offsets). One with
 * reordered frames (B-frames) carries each sample's composition offset, signed (version 1, as CMAF prefers to an
 * edit list): the packager keeps keyframes at offset 0, so frames shown before them have negative offsets.
 */
function hasOffsets(run: TrackRun): boolean {
  return run.samples.some((s) => s.compositionOffset);
}

function trafBytes(run: TrackRun): number {
  return BOX_HEADER_BYTES + TFHD_BYTES + TFDT_BYTES + TRUN_HEADER_BYTES + run.samples.length * (hasOffsets(run) ? 16 : 12);
}

/**
 * One `moof` + `mdat`, written straight into one buffer (it runs for every video frame, so no box is built on its
 * own and copied again). Data offsets are relative to the moof (default-base-is-moof).
 */
export function fragment(sequenceNumber: number, runs: readonly TrackRun[]): Bytes {
  let moofSize = BOX_HEADER_BYTES + MFHD_BYTES;
  for (const run of runs) moofSize += trafBytes(run);
  let mdatPayload = 0;
  for (const run of runs) for (const s of run.samples) mdatPayload += s.data.byteLength;
  const out = new Uint8Array(moofSize + BOX_HEADER_BYTES + mdatPayload);
  const view = new DataView(out.buffer);
  let at = 0;
  const header = (size: number, type: string): void => {
    view.setUint32(at, size);
    for (let i = 0; i < 4; i++) out[at + 4 + i] = type.charCodeAt(i);
    at += BOX_HEADER_BYTES;
  };
  /** Version byte and 24 bits of flags. */
  const versionFlags = (version: number, flags: number): void => {
    view.setUint32(at, ((version & 0xff) << 24 | (flags & 0xffffff)) >>> 0);
    at += 4;
  };
  const u32 = (value: number): void => {
    // A negative value (a composition offset in a version 1 trun) is written as its two's complement.
    view.setUint32(at, value >>> 0);
    at += 4;
  };
  header(moofSize, 'moof');
  header(MFHD_BYTES, 'mfhd');
  versionFlags(0, 0);
  u32(sequenceNumber);
  let dataOffset = moofSize + BOX_HEADER_BYTES;
  for (const run of runs) {
    const withOffsets = hasOffsets(run);
    header(trafBytes(run), 'traf');
    header(TFHD_BYTES, 'tfhd');
    versionFlags(0, TFHD_DEFAULT_BASE_IS_MOOF);
    u32(run.trackId);
    header(TFDT_BYTES, 'tfdt');
    versionFlags(1, 0);
    view.setBigUint64(at, BigInt(Math.floor(run.baseDecodeTime)));
    at += 8;
    header(TRUN_HEADER_BYTES + run.samples.length * (withOffsets ? 16 : 12), 'trun');
    versionFlags(withOffsets ? 1 : 0, withOffsets ? TRUN_FLAGS | TRUN_SAMPLE_COMPOSITION_OFFSET : TRUN_FLAGS);
    u32(run.samples.length);
    u32(dataOffset);
    for (const s of run.samples) {
      u32(s.duration);
      u32(s.data.byteLength);
      u32(s.flags);
      if (withOffsets) u32(s.compositionOffset ?? 0);
      dataOffset += s.data.byteLength;
    }
  }
  header(BOX_HEADER_BYTES + mdatPayload, 'mdat');
  for (const run of runs) {
    for (const s of run.samples) {
      out.set(s.data, at);
      at += s.data.byteLength;
    }
  }
  return out;
}
