import { describe, expect, it } from 'vitest';
import { CmafChunkSplitter } from './cmaf-chunks.ts';

function box(type: string, bodyBytes: number): Uint8Array {
  const out = new Uint8Array(8 + bodyBytes);
  new DataView(out.buffer).setUint32(0, out.byteLength);
  out.set([...type].map((c) => c.charCodeAt(0)), 4);
  // A body that looks like box headers must not be read as one.
  out.fill(0x6d, 8);
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** Feeds `body` cut at `cuts` and returns the complete length reported after each piece. */
function feed(body: Uint8Array, cuts: number[]): number[] {
  const splitter = new CmafChunkSplitter();
  const bounds = [0, ...cuts, body.byteLength];
  return bounds.slice(1).map((end, i) => splitter.push(body.subarray(bounds[i], end)));
}

describe('CmafChunkSplitter', () => {
  const chunk1 = concat(box('styp', 16), box('moof', 100), box('mdat', 3000));
  const chunk2 = concat(box('moof', 90), box('mdat', 40));
  const body = concat(chunk1, chunk2);
  const ends = [chunk1.byteLength, body.byteLength];
  /** What is complete once `received` bytes have arrived. */
  const expected = (received: number): number => ends.filter((end) => end <= received).at(-1) ?? 0;

  it('reports whole chunks only, whichever byte the body is cut at', () => {
    for (let cut = 1; cut < body.byteLength; cut++) {
      expect(feed(body, [cut]), `cut at ${cut}`).toEqual([expected(cut), body.byteLength]);
    }
  });

  it('follows a body that arrives a byte at a time', () => {
    const cuts = Array.from({ length: body.byteLength - 1 }, (_, i) => i + 1);
    const reported = feed(body, cuts);
    reported.forEach((complete, i) => expect(complete).toBe(expected(i + 1)));
  });

  it('follows bodies cut at two boundaries at once', () => {
    for (let a = 1; a < body.byteLength; a += 7) {
      for (let b = a + 1; b < body.byteLength; b += 13) {
        expect(feed(body, [a, b])).toEqual([expected(a), expected(b), body.byteLength]);
      }
    }
  });

  it('stops finding boundaries at a box that runs to the end (size 0) or an invalid size', () => {
    const open = new Uint8Array(box('mdat', 10));
    new DataView(open.buffer).setUint32(0, 0);
    expect(feed(concat(chunk1, box('moof', 10), open), [])).toEqual([chunk1.byteLength]);
    const bad = new Uint8Array(box('moof', 10));
    new DataView(bad.buffer).setUint32(0, 3);
    expect(feed(concat(chunk1, bad, chunk2), [])).toEqual([chunk1.byteLength]);
  });

  it('reports nothing for a chunk without its mdat', () => {
    expect(feed(concat(box('moof', 20)), [])).toEqual([0]);
  });
});
