// Times for AAC frames from a source whose own timestamps are coarser than a frame (FLV's whole milliseconds, one PTS per
// MPEG-TS audio packet of several frames): frames are counted 1024 samples apart from the last resync.

/** Samples in one AAC-LC frame. */
const AAC_FRAME_SAMPLES = 1024;
/**
 * The count is trusted while it stays this close to the source's timestamp (rounding explains less: FLV's ms, TS's
 * 90 kHz ticks); further off (the encoder dropped or inserted audio), it restarts from that timestamp.
 */
const AUDIO_RESYNC_US = 10_000;

export class AacFrameClock {
  /** One frame's duration at the track's sample rate, µs. */
  readonly frameUs: number;
  #anchorUs: number | undefined;
  #frames = 0;

  constructor(sampleRate: number) {
    this.frameUs = (AAC_FRAME_SAMPLES * 1_000_000) / sampleRate;
  }

  /** The next frame's time from the frame count (see AUDIO_RESYNC_US), never before the previous frame's. */
  timeUs(stampUs: number): number {
    const anchorUs = this.#anchorUs;
    if (anchorUs !== undefined) {
      const countedUs = Math.round(anchorUs + this.#frames * this.frameUs);
      if (Math.abs(countedUs - stampUs) <= AUDIO_RESYNC_US) {
        this.#frames++;
        return countedUs;
      }
      const previousUs = Math.round(anchorUs + (this.#frames - 1) * this.frameUs);
      this.#anchorUs = Math.max(Math.round(stampUs), previousUs + 1);
    } else {
      this.#anchorUs = Math.round(stampUs);
    }
    this.#frames = 1;
    return this.#anchorUs;
  }
}
