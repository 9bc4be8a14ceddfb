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
/** Bytes of each of the run's `trun` sample entries: 16 with composition offsets (only when a sample has one), else 12. */
function sampleEntryBytes(run: TrackRun): number {
  return run.samples.some((s) => s.compositionOffset) ? 16 : 12;
}

function trafBytes(run: TrackRun, entryBytes: number): number {
  return BOX_HEADER_BYTES + TFHD_BYTES + TFDT_BYTES + TRUN_HEADER_BYTES + run.samples.length * entryBytes;
}

/** Writes a box header (size, type) at `at`; returns where the payload starts. */
function header(out: Uint8Array, view: DataView, at: number, size: number, type: string): number {
  view.setUint32(at, size);
  for (let i = 0; i < 4; i++) out[at + 4 + i] = type.charCodeAt(i);
  return at + BOX_HEADER_BYTES;
}

/** Writes a full box's version byte and 24 bits of flags at `at`; returns the offset after them. */
function versionFlags(view: DataView, at: number, version: number, flags: number): number {
  view.setUint32(at, (((version & 0xff) << 24) | (flags & 0xffffff)) >>> 0);
  return at + 4;
}

/** Writes `value` as a u32 at `at` (a negative composition offset as its two's complement); returns the next offset. */
function u32(view: DataView, at: number, value: number): number {
  view.setUint32(at, value >>> 0);
  return at + 4;
}

/**
 * One `moof` + `mdat`, written straight into one buffer (it runs for every video frame, so no box is built on its
 * own and copied again). Data offsets are relative to the moof (default-base-is-moof).
 */
export function fragment(sequenceNumber: number, runs: readonly TrackRun[]): Bytes {
  const entryBytes = runs.map(sampleEntryBytes);
  let moofSize = BOX_HEADER_BYTES + MFHD_BYTES;
  runs.forEach((run, i) => (moofSize += trafBytes(run, entryBytes[i]!)));
  let mdatPayload = 0;
  for (const run of runs) for (const s of run.samples) mdatPayload += s.data.byteLength;
  const out = new Uint8Array(moofSize + BOX_HEADER_BYTES + mdatPayload);
  const view = new DataView(out.buffer);
  let at = header(out, view, 0, moofSize, 'moof');
  at = header(out, view, at, MFHD_BYTES, 'mfhd');
  at = versionFlags(view, at, 0, 0);
  at = u32(view, at, sequenceNumber);
  let dataOffset = moofSize + BOX_HEADER_BYTES;
  for (const [i, run] of runs.entries()) {
    const withOffsets = entryBytes[i] === 16;
    at = header(out, view, at, trafBytes(run, entryBytes[i]!), 'traf');
    at = header(out, view, at, TFHD_BYTES, 'tfhd');
    at = versionFlags(view, at, 0, TFHD_DEFAULT_BASE_IS_MOOF);
    at = u32(view, at, run.trackId);
    at = header(out, view, at, TFDT_BYTES, 'tfdt');
    at = versionFlags(view, at, 1, 0);
    view.setBigUint64(at, BigInt(Math.floor(run.baseDecodeTime)));
    at += 8;
    at = header(out, view, at, TRUN_HEADER_BYTES + run.samples.length * entryBytes[i]!, 'trun');
    at = versionFlags(view, at, withOffsets ? 1 : 0, withOffsets ? TRUN_FLAGS | TRUN_SAMPLE_COMPOSITION_OFFSET : TRUN_FLAGS);
    at = u32(view, at, run.samples.length);
    at = u32(view, at, dataOffset);
    for (const s of run.samples) {
      at = u32(view, at, s.duration);
      at = u32(view, at, s.data.byteLength);
      at = u32(view, at, s.flags);
      if (withOffsets) at = u32(view, at, s.compositionOffset ?? 0);
      dataOffset += s.data.byteLength;
    }
  }
  at = header(out, view, at, BOX_HEADER_BYTES + mdatPayload, 'mdat');
  for (const run of runs) {
    for (const s of run.samples) {
      out.set(s.data, at);
      at += s.data.byteLength;
    }
  }
  return out;
}
