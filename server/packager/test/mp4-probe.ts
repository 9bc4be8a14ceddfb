// Test helper: reads packager output back with mux.js's independent MP4 inspector.
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

/** The moof's sequence number and its track runs, plus the mdat's payload size. */
export function readPart(data: Uint8Array): { sequenceNumber: number; runs: FragmentRun[]; mdatBytes: number; moofBytes: number } {
  const top = inspect(data);
  const moof = top[0];
  const mdat = top[1];
  if (moof?.type !== 'moof' || mdat?.type !== 'mdat' || top.length !== 2) {
    throw new Error(`expected moof + mdat, got ${top.map((b) => b.type).join(', ')}`);
  }
  const runs = children(moof, 'traf').map((traf) => {
    const trun = child(traf, 'trun');
    return {
      trackId: child(traf, 'tfhd').trackId as number,
      baseMediaDecodeTime: child(traf, 'tfdt').baseMediaDecodeTime as number,
      dataOffset: trun.dataOffset as number,
      samples: trun.samples as TrunSample[],
    };
  });
  return { sequenceNumber: child(moof, 'mfhd').sequenceNumber as number, runs, mdatBytes: mdat.size - 8, moofBytes: moof.size };
}
