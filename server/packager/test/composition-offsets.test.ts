// Composition offsets in `trun`: runs of reordered frames carry signed offsets (version 1); others stay as before (version 0).
import { describe, expect, it } from 'vitest';
import { fragment, SAMPLE_FLAGS_NON_SYNC, SAMPLE_FLAGS_SYNC } from '../mp4/fragment.ts';

/** The trun box of a single-track fragment: version, flags and its per-sample entries as 32-bit words. */
function trunOf(bytes: Uint8Array): { version: number; flags: number; words: number[] } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i + 8 <= bytes.byteLength; i++) {
    if (String.fromCharCode(...bytes.subarray(i + 4, i + 8)) !== 'trun') continue;
    const size = view.getUint32(i);
    const words: number[] = [];
    for (let w = i + 20; w < i + size; w += 4) words.push(view.getInt32(w));
    return { version: bytes[i + 8]!, flags: view.getUint32(i + 8) & 0xffffff, words };
  }
  throw new Error('no trun');
}

const data = Uint8Array.of(0, 0, 0, 1, 0x65);

describe('trun composition offsets', () => {
  it('writes version 0 without offsets when every frame presents at its decode time (the browser path)', () => {
    const trun = trunOf(fragment(1, [{ trackId: 1, baseDecodeTime: 0, samples: [{ duration: 33_333, flags: SAMPLE_FLAGS_SYNC, data }] }]));
    expect(trun).toEqual({ version: 0, flags: 0x000701, words: [33_333, 5, SAMPLE_FLAGS_SYNC] });
  });

  it('writes version 1 with signed offsets when a frame is reordered', () => {
    const samples = [
      { duration: 33_333, flags: SAMPLE_FLAGS_SYNC, data },
      { duration: 33_333, flags: SAMPLE_FLAGS_NON_SYNC, compositionOffset: 66_667, data },
      { duration: 33_334, flags: SAMPLE_FLAGS_NON_SYNC, compositionOffset: -33_333, data },
    ];
    const trun = trunOf(fragment(1, [{ trackId: 1, baseDecodeTime: 0, samples }]));
    expect(trun.version).toBe(1);
    expect(trun.flags).toBe(0x000f01);
    expect(trun.words).toEqual([33_333, 5, SAMPLE_FLAGS_SYNC, 0, 33_333, 5, SAMPLE_FLAGS_NON_SYNC, 66_667, 33_334, 5, SAMPLE_FLAGS_NON_SYNC, -33_333]);
  });
});
