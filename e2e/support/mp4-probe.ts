// Reads MP4 bytes (packager output, served parts) back with mux.js's independent inspector, for unit and e2e suites.
import { createRequire } from 'node:module';

export interface InspectedBox {
  type: string;
  size: number;
  boxes?: InspectedBox[];
  [field: string]: unknown;
}

export interface TrunSample {
  duration: number;
  size: number;
  flags: { isNonSyncSample: number; dependsOn: number };
}

export interface FragmentRun {
  trackId: number;
  baseMediaDecodeTime: number;
  dataOffset: number;
  samples: TrunSample[];
}

const require = createRequire(import.meta.url);
// mux.js ships no type declarations; this is the part of its inspector's API the tests use.
const inspector = require('mux.js/lib/tools/mp4-inspector.js') as { inspect(data: Uint8Array): InspectedBox[] };

export function inspect(data: Uint8Array): InspectedBox[] {
  return inspector.inspect(data);
}

export function child(parent: InspectedBox | undefined, type: string): InspectedBox {
  const found = parent?.boxes?.find((b) => b.type === type);
  if (!found) throw new Error(`no ${type} in ${parent?.type ?? 'nothing'}`);
  return found;
}

export function children(parent: InspectedBox, type: string): InspectedBox[] {
  return (parent.boxes ?? []).filter((b) => b.type === type);
}

export interface ChunkInfo {
  sequenceNumber: number;
  runs: FragmentRun[];
  mdatBytes: number;
  moofBytes: number;
}

/** One CMAF chunk: exactly a moof (its sequence number and track runs) followed by its mdat. */
export function readChunk(data: Uint8Array): ChunkInfo {
  const chunks = readChunks(data);
  if (chunks.length !== 1) throw new Error(`expected one moof + mdat, got ${chunks.length}`);
  return chunks[0]!;
}

/** A part: one or more moof + mdat pairs, nothing else, each pair self-consistent. */
export function readChunks(data: Uint8Array): ChunkInfo[] {
  const top = inspect(data);
  if (top.length === 0 || top.length % 2 !== 0) throw new Error(`expected moof + mdat pairs, got ${top.map((b) => b.type).join(', ')}`);
  const chunks: ChunkInfo[] = [];
  for (let i = 0; i < top.length; i += 2) {
    const moof = top[i];
    const mdat = top[i + 1];
    if (moof?.type !== 'moof' || mdat?.type !== 'mdat') throw new Error(`expected moof + mdat pairs, got ${top.map((b) => b.type).join(', ')}`);
    const runs = children(moof, 'traf').map((traf) => {
      const trun = child(traf, 'trun');
      return {
        trackId: child(traf, 'tfhd').trackId as number,
        baseMediaDecodeTime: child(traf, 'tfdt').baseMediaDecodeTime as number,
        dataOffset: trun.dataOffset as number,
        samples: trun.samples as TrunSample[],
      };
    });
    chunks.push({ sequenceNumber: child(moof, 'mfhd').sequenceNumber as number, runs, mdatBytes: mdat.size - 8, moofBytes: moof.size });
  }
  return chunks;
}

/**
 * A part read as one run per track (video first): the samples of all its chunks in order, the decode time of the
 * first; plus its chunks' sequence numbers. Throws unless each track's chunks follow on without a hole.
 */
export function readPart(data: Uint8Array): { chunks: ChunkInfo[]; sequenceNumbers: number[]; runs: FragmentRun[] } {
  const chunks = readChunks(data);
  const merged = new Map<number, FragmentRun & { endTime: number }>();
  for (const chunk of chunks) {
    for (const run of chunk.runs) {
      const duration = run.samples.reduce((sum, s) => sum + s.duration, 0);
      const known = merged.get(run.trackId);
      if (!known) {
        merged.set(run.trackId, { ...run, samples: [...run.samples], endTime: run.baseMediaDecodeTime + duration });
        continue;
      }
      if (known.endTime !== run.baseMediaDecodeTime) throw new Error(`track ${run.trackId}: chunk starts at ${run.baseMediaDecodeTime}, previous ended at ${known.endTime}`);
      known.samples.push(...run.samples);
      known.endTime += duration;
    }
  }
  const runs = [...merged.values()].map(({ endTime: _, ...run }) => run).sort((a, b) => a.trackId - b.trackId);
  return { chunks, sequenceNumbers: chunks.map((c) => c.sequenceNumber), runs };
}
