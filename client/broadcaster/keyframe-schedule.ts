// Decides which frames must be keyframes: the first frame at or after every segment boundary, the same in every rung.

/** Index of the segment a timestamp falls in, counted from the stream's origin. */
export function segmentIndexOf(timestampUs: number, originUs: number, segmentTargetUs: number): number {
  return Math.floor((timestampUs - originUs) / segmentTargetUs);
}

export class KeyframeSchedule {
  readonly originUs: number;
  readonly segmentTargetUs: number;
  #lastSegment = -1;
  #forceNext = true;
  /** Per rung, the last segment whose keyframe came out of the encoder. */
  #lastKeySegment = new Map<number, number>();
  #recoveredSegment = -1;

  constructor(originUs: number, segmentTargetUs: number) {
    this.originUs = originUs;
    this.segmentTargetUs = segmentTargetUs;
  }

  /**
   * Called for every frame that will be encoded, in timestamp order; true when it must be a keyframe.
   * A dropped frame is never passed here, so a boundary that fell on it moves to the next encoded frame.
   */
  next(timestampUs: number): boolean {
    const segment = segmentIndexOf(timestampUs, this.originUs, this.segmentTargetUs);
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
    const segment = segmentIndexOf(timestampUs, this.originUs, this.segmentTargetUs);
    const lastKey = this.#lastKeySegment.get(rung) ?? -1;
    if (keyframe) {
      this.#lastKeySegment.set(rung, Math.max(lastKey, segment));
    } else if (segment > lastKey && segment > this.#recoveredSegment) {
      this.#recoveredSegment = segment;
      this.#forceNext = true;
    }
  }

  /** Makes the next encoded frame a keyframe (after frames were dropped under back-pressure). */
  forceKeyframe(): void {
    this.#forceNext = true;
  }
}
