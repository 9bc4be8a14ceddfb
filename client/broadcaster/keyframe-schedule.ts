// Decides which frames must be keyframes: the first frame at or after every segment boundary, the same in every rung.
import { gridSegmentIndex, type SegmentGrid } from '../../shared/segment-grid.ts';

export class KeyframeSchedule {
  /** Timestamp of the stream's first frame: the grid's zero, sent to the packager as the clock's `gridOriginUs`. */
  readonly originUs: number;
  readonly grid: SegmentGrid;
  #lastSegment = -1;
  #forceNext = true;
  /** Per rung, the last segment whose keyframe came out of the encoder. */
  #lastKeySegment = new Map<number, number>();
  #recoveredSegment = -1;

  constructor(originUs: number, grid: SegmentGrid) {
    this.originUs = originUs;
    this.grid = grid;
  }

  /**
   * Called for every frame that will be encoded, in timestamp order; true when it must be a keyframe.
   * A dropped frame is never passed here, so a boundary that fell on it moves to the next encoded frame.
   */
  next(timestampUs: number): boolean {
    const segment = this.#segmentOf(timestampUs);
    const key = this.#forceNext || segment > this.#lastSegment;
    this.#lastSegment = Math.max(this.#lastSegment, segment);
    this.#forceNext = false;
    return key;
  }

  /**
   * Called for every encoded video output of rung `rung`. A realtime encoder may drop a frame it was asked to key
   * (under CPU load), so a segment would have no boundary keyframe and run on to the next one: when a rung's first
   * output of a new segment is not a keyframe, the next frame is forced to be one, once per segment.
   */
  observeOutput(rung: number, timestampUs: number, keyframe: boolean): void {
    const segment = this.#segmentOf(timestampUs);
    const lastKey = this.#lastKeySegment.get(rung) ?? -1;
    if (keyframe) {
      this.#lastKeySegment.set(rung, Math.max(lastKey, segment));
    } else if (segment > lastKey && segment > this.#recoveredSegment) {
      this.#recoveredSegment = segment;
      this.#forceNext = true;
    }
  }

  #segmentOf(timestampUs: number): number {
    return gridSegmentIndex(this.grid, timestampUs - this.originUs);
  }

  /** Makes the next encoded frame a keyframe (after frames were dropped under back-pressure). */
  forceKeyframe(): void {
    this.#forceNext = true;
  }
}
