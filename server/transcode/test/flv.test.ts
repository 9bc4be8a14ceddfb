// The worker's FLV framing: tags written for its input read back whole, whatever the pieces the pipe delivers.
import { describe, expect, it } from 'vitest';
import { concatBytes } from '../../../shared/bytes.ts';
import { avcConfigTag, avcFrameTag, flvHeader, FlvFormatError, FlvTagReader, readAvcTag } from '../flv.ts';

describe('FLV framing', () => {
  const avcC = Uint8Array.of(1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, 2, 0x67, 0x64, 1, 0, 2, 0x68, 0xee);
  const frame = Uint8Array.of(0, 0, 0, 3, 0x65, 0x88, 0x84);
  const stream = concatBytes([flvHeader(), avcConfigTag(avcC), avcFrameTag(0, 0, true, frame), avcFrameTag(0x1234567, -40, false, frame)]);

  it('reads back what it writes, split at every byte', () => {
    for (const step of [1, 7, stream.byteLength]) {
      const reader = new FlvTagReader();
      const tags = [];
      for (let i = 0; i < stream.byteLength; i += step) tags.push(...reader.push(stream.subarray(i, i + step)));
      expect(tags.map((t) => [t.type, t.timestampMs])).toEqual([
        [9, 0],
        [9, 0],
        [9, 0x1234567],
      ]);
      expect(readAvcTag(tags[0]!.body)).toEqual({ kind: 'config', avcC });
      expect(readAvcTag(tags[1]!.body)).toEqual({ kind: 'frame', keyframe: true, data: frame });
      expect(readAvcTag(tags[2]!.body)).toEqual({ kind: 'frame', keyframe: false, data: frame });
      // The composition time is a signed 24-bit field.
      expect(((tags[2]!.body[2]! << 24) | (tags[2]!.body[3]! << 16) | (tags[2]!.body[4]! << 8)) >> 8).toBe(-40);
    }
  });

  it('joins a big tag’s pieces once, not at every piece', () => {
    // A 4 MB keyframe in the pipe's small reads: joining everything at every read copies gigabytes.
    const big = avcFrameTag(0, 0, true, new Uint8Array(4 * 1024 * 1024).fill(7));
    const bytes = concatBytes([flvHeader(), big]);
    const reader = new FlvTagReader();
    const tags = [];
    const startedMs = performance.now();
    for (let i = 0; i < bytes.byteLength; i += 1024) tags.push(...reader.push(bytes.subarray(i, i + 1024)));
    const tookMs = performance.now() - startedMs;
    expect(tags).toHaveLength(1);
    expect(readAvcTag(tags[0]!.body)).toMatchObject({ kind: 'frame', keyframe: true });
    // Linear work takes a few ms; the quadratic join took seconds.
    expect(tookMs).toBeLessThan(1000);
  });

  it('refuses what is not FLV or not H.264', () => {
    expect(() => new FlvTagReader().push(new Uint8Array(20))).toThrow(FlvFormatError);
    expect(() => readAvcTag(Uint8Array.of(0x12, 1, 0, 0, 0, 1))).toThrow(/codec id 2/);
  });
});
