// Keeps video flowing from sources that deliver frames only when the picture changes (a still screen or tab share):
// the last frame is repeated, so no part of the stream goes without video and becomes a GAP part players skip.

/** Longest stretch without a video frame; below the 200 ms default part target so every part carries video. */
export const MAX_VIDEO_GAP_US = 100_000;

export class StillFrameFiller {
  readonly maxGapUs: number;
  #emit: (frame: VideoFrame) => void;
  #last: VideoFrame | undefined;
  #lastTimestampUs = Number.NEGATIVE_INFINITY;

  /** `emit` takes ownership of every frame it is given. */
  constructor(emit: (frame: VideoFrame) => void, maxGapUs = MAX_VIDEO_GAP_US) {
    this.#emit = emit;
    this.maxGapUs = maxGapUs;
  }

  /** A captured frame: passed on at once, and a copy kept to repeat. */
  push(frame: VideoFrame): void {
    this.#last?.close();
    this.#last = frame.clone();
    this.#lastTimestampUs = frame.timestamp;
    this.#emit(frame);
  }

  /** Called on a timer: repeats the last frame, stamped `nowUs`, once no frame came for `maxGapUs`. */
  tick(nowUs: number): void {
    if (!this.#last || nowUs - this.#lastTimestampUs < this.maxGapUs) return;
    this.#lastTimestampUs = nowUs;
    this.#emit(new VideoFrame(this.#last, { timestamp: Math.round(nowUs) }));
  }

  close(): void {
    this.#last?.close();
    this.#last = undefined;
  }
}
