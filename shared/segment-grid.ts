// The segment grid publishers and the packager share: where segments start, counted from the zero point the publisher
// sends in its clock message (`gridOriginUs`: the stream's first frame).

/**
 * The first segment is this many part targets long instead of a whole segment target: hls.js cannot start playback
 * before a playlist lists one complete segment, so a viewer waiting for a broadcast to begin sees it this much sooner.
 */
export const FIRST_SEGMENT_PARTS = 2;

export interface SegmentGrid {
  /** Length of the first segment. */
  firstSegmentUs: number;
  /** Later boundaries fall on every multiple of this, counted from the zero point. */
  segmentTargetUs: number;
}

/** The grid for a segment target; with a part target, the first segment is FIRST_SEGMENT_PARTS parts long. */
export function segmentGrid(segmentTargetUs: number, partTargetUs?: number): SegmentGrid {
  const firstSegmentUs = partTargetUs && partTargetUs > 0 ? Math.min(segmentTargetUs, FIRST_SEGMENT_PARTS * partTargetUs) : segmentTargetUs;
  return { firstSegmentUs, segmentTargetUs };
}

/** Index of the segment that a time (µs since the zero point) falls in: boundaries at the first segment's end, then at every segment target. */
export function gridSegmentIndex(grid: SegmentGrid, sinceStartUs: number): number {
  if (sinceStartUs < grid.firstSegmentUs) return 0;
  const whole = Math.floor(sinceStartUs / grid.segmentTargetUs);
  return grid.firstSegmentUs < grid.segmentTargetUs ? whole + 1 : whole;
}

/** Where segment `index` starts on the grid, µs since the zero point. */
export function gridSegmentStartUs(grid: SegmentGrid, index: number): number {
  if (index <= 0) return 0;
  if (grid.firstSegmentUs >= grid.segmentTargetUs) return index * grid.segmentTargetUs;
  return index === 1 ? grid.firstSegmentUs : (index - 1) * grid.segmentTargetUs;
}
