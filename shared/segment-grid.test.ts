// The shared segment grid: a short first segment, then boundaries on every segment target from the first frame.
import { describe, expect, it } from 'vitest';
import { gridSegmentIndex, gridSegmentStartUs, segmentGrid } from './segment-grid.ts';

describe('segment grid', () => {
  it('makes the first segment two part targets long, then puts boundaries on every segment target', () => {
    const grid = segmentGrid(2_000_000, 200_000);
    expect(grid.firstSegmentUs).toBe(400_000);
    expect([0, 399_999, 400_000, 1_999_999, 2_000_000, 3_999_999, 4_000_000].map((t) => gridSegmentIndex(grid, t))).toEqual([0, 0, 1, 1, 2, 2, 3]);
    expect([0, 1, 2, 3, 4].map((i) => gridSegmentStartUs(grid, i))).toEqual([0, 400_000, 2_000_000, 4_000_000, 6_000_000]);
  });

  it('is a plain grid without a part target, or when two parts are no shorter than a segment', () => {
    for (const grid of [segmentGrid(1_000_000), segmentGrid(1_000_000, 600_000)]) {
      expect(grid.firstSegmentUs).toBe(1_000_000);
      expect([0, 999_999, 1_000_000, 2_500_000].map((t) => gridSegmentIndex(grid, t))).toEqual([0, 0, 1, 2]);
      expect([0, 1, 2].map((i) => gridSegmentStartUs(grid, i))).toEqual([0, 1_000_000, 2_000_000]);
    }
  });

  it('agrees with itself: every segment starts where the index changes', () => {
    const grid = segmentGrid(2_000_000, 250_000);
    for (let i = 1; i < 6; i++) {
      const start = gridSegmentStartUs(grid, i);
      expect(gridSegmentIndex(grid, start - 1)).toBe(i - 1);
      expect(gridSegmentIndex(grid, start)).toBe(i);
    }
  });
});
