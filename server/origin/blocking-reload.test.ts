// Delivery directives: the spec's 400 cases, the Advance Part Limit, and when a blocking reload is satisfied.
import { describe, expect, it } from 'vitest';
import { advancePartLimit, assertWithinReach, isSatisfied, parseDeliveryDirectives } from './blocking-reload.ts';
import type { LiveEdge } from './blocking-reload.ts';
import { OriginError } from './errors.ts';

const timing = { partTargetMs: 200, segmentTargetMs: 2000 };
// Segments up to 10 complete, segment 11 has parts 0..3.
const edge: LiveEdge = { lastCompleteMsn: 10, lastPart: { msn: 11, partIndex: 3 }, ended: false };

function errorOf(fn: () => unknown): OriginError {
  try {
    fn();
  } catch (err) {
    if (err instanceof OriginError) return err;
    throw err;
  }
  throw new Error('expected an OriginError');
}

describe('parseDeliveryDirectives', () => {
  it('reads _HLS_msn, _HLS_part and _HLS_skip', () => {
    expect(parseDeliveryDirectives(new URLSearchParams('_HLS_msn=12&_HLS_part=3&_HLS_skip=YES'))).toEqual({ msn: 12, part: 3, skip: 'YES' });
    expect(parseDeliveryDirectives(new URLSearchParams(''))).toEqual({});
  });

  it('rejects _HLS_part without _HLS_msn with a 400', () => {
    const err = errorOf(() => parseDeliveryDirectives(new URLSearchParams('_HLS_part=1')));
    expect(err.code).toBe('bad-directive');
    expect(err.status).toBe(400);
  });

  it.each(['-1', '1.5', 'abc', '', '01', '1e3', '99999999999999999'])('rejects _HLS_msn=%s with a 400', (value) => {
    expect(errorOf(() => parseDeliveryDirectives(new URLSearchParams(`_HLS_msn=${value}`))).status).toBe(400);
    expect(errorOf(() => parseDeliveryDirectives(new URLSearchParams(`_HLS_msn=1&_HLS_part=${value}`))).status).toBe(400);
  });

  it('rejects an _HLS_skip value other than YES or v2', () => {
    expect(errorOf(() => parseDeliveryDirectives(new URLSearchParams('_HLS_skip=NO'))).code).toBe('bad-directive');
  });
});

describe('assertWithinReach', () => {
  it('accepts an msn up to two past the last complete segment and refuses three', () => {
    expect(() => assertWithinReach({ msn: 12 }, edge, timing)).not.toThrow();
    expect(errorOf(() => assertWithinReach({ msn: 13 }, edge, timing)).code).toBe('directive-too-far');
  });

  it('counts the Advance Part Limit in parts: 3 s of 200 ms parts is 15', () => {
    expect(advancePartLimit(200)).toBe(15);
    expect(advancePartLimit(1500)).toBe(3);
    expect(() => assertWithinReach({ msn: 11, part: 18 }, edge, timing)).not.toThrow();
    expect(errorOf(() => assertWithinReach({ msn: 11, part: 19 }, edge, timing)).status).toBe(400);
    // Segment 11 still has 6 parts to go at its target length, so part 8 of segment 12 is 15 parts ahead.
    expect(() => assertWithinReach({ msn: 12, part: 8 }, edge, timing)).not.toThrow();
    expect(errorOf(() => assertWithinReach({ msn: 12, part: 9 }, edge, timing)).code).toBe('directive-too-far');
  });

  it('lets anything through once the stream ended, since the directives are then ignored', () => {
    expect(() => assertWithinReach({ msn: 99, part: 99 }, { ...edge, ended: true }, timing)).not.toThrow();
  });
});

describe('isSatisfied', () => {
  it('needs a complete segment for an msn-only request', () => {
    expect(isSatisfied({ msn: 10 }, edge)).toBe(true);
    expect(isSatisfied({ msn: 11 }, edge)).toBe(false);
  });

  it('needs the part or a later one for an msn+part request', () => {
    expect(isSatisfied({ msn: 11, part: 3 }, edge)).toBe(true);
    expect(isSatisfied({ msn: 11, part: 4 }, edge)).toBe(false);
    expect(isSatisfied({ msn: 5, part: 0 }, edge)).toBe(true);
  });

  it('treats a part past the end of its segment as the next segment\'s part 0', () => {
    const closed: LiveEdge = { lastCompleteMsn: 11, lastPart: { msn: 11, partIndex: 3 }, ended: false };
    expect(isSatisfied({ msn: 11, part: 7 }, closed)).toBe(false);
    expect(isSatisfied({ msn: 11, part: 7 }, { ...closed, lastPart: { msn: 12, partIndex: 0 } })).toBe(true);
  });

  it('is always satisfied once the stream ended', () => {
    expect(isSatisfied({ msn: 50, part: 2 }, { ...edge, ended: true })).toBe(true);
  });
});
