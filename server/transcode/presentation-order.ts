// Gives a rung's encoded frames the source's exact timestamps: the worker passes every frame through (one output frame
// per input frame, in presentation order), so its k-th output is shown when the source's k-th frame in presentation
// order is, and is decoded when the source's k-th frame in decode order is (so every rung is cut where the source is).

/** A source frame handed to the worker, waiting for its encoded counterpart. */
export interface FedFrame {
  /** Decode time on the source's media clock, µs. */
  decodeUs: number;
  /** Presentation time on the source's media clock, µs. */
  presentationUs: number;
  keyframe: boolean;
  /** When it was written to the worker (ms, the process's monotonic clock): how long encoding took. */
  fedAtMs: number;
}

/**
 * The source frames of one rung still to come out of the worker, ordered by presentation time. The decoder emits a
 * frame only once every frame shown before it has arrived, so the earliest one waiting is always the next out, also
 * for sources with B-frames (sent in decode order).
 */
export class PresentationOrder {
  #waiting: FedFrame[] = [];
  /** The waiting frames' decode times, in decode (feed) order. */
  #decodeTimes: number[] = [];

  get size(): number {
    return this.#waiting.length;
  }

  /** The oldest write still waiting, ms; undefined when none is. */
  get oldestFedAtMs(): number | undefined {
    let oldest: number | undefined;
    for (const frame of this.#waiting) oldest = oldest === undefined ? frame.fedAtMs : Math.min(oldest, frame.fedAtMs);
    return oldest;
  }

  /** Adds the next source frame in decode order. */
  add(frame: FedFrame): void {
    this.#decodeTimes.push(frame.decodeUs);
    // Reordering is a few frames deep: insertion from the end is short.
    let i = this.#waiting.length;
    while (i > 0 && this.#waiting[i - 1]!.presentationUs > frame.presentationUs) i--;
    this.#waiting.splice(i, 0, frame);
  }

  /**
   * The source frame the worker's next output is, with the decode time it takes: the next in decode order (a
   * keyframe's own, since nothing before a keyframe is shown after it); undefined when the worker emitted more frames
   * than it was given.
   */
  next(): FedFrame | undefined {
    const frame = this.#waiting.shift();
    const decodeUs = this.#decodeTimes.shift();
    return frame && decodeUs !== undefined ? { ...frame, decodeUs } : undefined;
  }

  clear(): void {
    this.#waiting = [];
    this.#decodeTimes = [];
  }
}
