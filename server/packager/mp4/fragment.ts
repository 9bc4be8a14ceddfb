// CMAF chunk writer: one `moof` (one `traf` per track) followed by one `mdat` holding every track's samples.
import { box, concat, fullBox, u32, u64, type Bytes } from './writer.ts';

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
const MDAT_HEADER_BYTES = 8;

/**
 * A run whose samples all present at their decode time is written as before (version 0, no offsets). One with
 * reordered frames (B-frames) carries each sample's composition offset, signed (version 1, as CMAF prefers to an
 * edit list): the packager keeps keyframes at offset 0, so frames shown before them have negative offsets.
 */
function trun(run: TrackRun, dataOffset: number): Bytes {
  const withOffsets = run.samples.some((s) => s.compositionOffset);
  // u32 writes a negative offset's two's complement, which is what version 1's signed field holds.
  const entries = run.samples.map((s) =>
    concat([u32(s.duration), u32(s.data.byteLength), u32(s.flags), ...(withOffsets ? [u32(s.compositionOffset ?? 0)] : [])]),
  );
  const flags = withOffsets ? TRUN_FLAGS | TRUN_SAMPLE_COMPOSITION_OFFSET : TRUN_FLAGS;
  return fullBox('trun', withOffsets ? 1 : 0, flags, u32(run.samples.length), u32(dataOffset), ...entries);
}

function traf(run: TrackRun, dataOffset: number): Bytes {
  return box(
    'traf',
    fullBox('tfhd', 0, TFHD_DEFAULT_BASE_IS_MOOF, u32(run.trackId)),
    fullBox('tfdt', 1, 0, u64(run.baseDecodeTime)),
    trun(run, dataOffset),
  );
}

function moof(sequenceNumber: number, runs: readonly TrackRun[], dataOffsets: readonly number[]): Bytes {
  return box('moof', fullBox('mfhd', 0, 0, u32(sequenceNumber)), ...runs.map((run, i) => traf(run, dataOffsets[i] ?? 0)));
}

/**
 * One `moof` + `mdat`. Data offsets are relative to the moof (default-base-is-moof); the moof's size does not
 * depend on the offsets' values, so it is written once with zeros to measure it, then with the real offsets.
 */
export function fragment(sequenceNumber: number, runs: readonly TrackRun[]): Bytes {
  const runBytes = runs.map((run) => run.samples.reduce((sum, s) => sum + s.data.byteLength, 0));
  const moofSize = moof(sequenceNumber, runs, runs.map(() => 0)).byteLength;
  const dataOffsets: number[] = [];
  let offset = moofSize + MDAT_HEADER_BYTES;
  for (const bytes of runBytes) {
    dataOffsets.push(offset);
    offset += bytes;
  }
  const payload = runs.flatMap((run) => run.samples.map((s) => s.data));
  return concat([moof(sequenceNumber, runs, dataOffsets), box('mdat', ...payload)]);
}
