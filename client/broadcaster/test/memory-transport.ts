// A PublishTransport that keeps every frame in memory, per channel: the harness's stand-in for the WebRTC publisher.
import { TypedEmitter } from '../../../shared/events.ts';
import { CONTROL_CHANNEL_LABEL, trackChannelLabel } from '../../../shared/protocol/index.ts';
import type { PublishChannel, PublishTransport, TransportEvents } from '../transport.ts';

/** What Chromium announces for its own data channels. */
const MAX_FRAME_BYTES = 256 * 1024;

/** A channel that drains at a set rate (unlimited by default), so its bufferedAmount grows when more is sent. */
export class MemoryChannel implements PublishChannel {
  readonly label: string;
  readonly maxFrameBytes = MAX_FRAME_BYTES;
  readonly frames: Uint8Array[] = [];
  #bytesPerSecond = Number.POSITIVE_INFINITY;
  #queued = 0;
  #at = performance.now();

  constructor(label: string) {
    this.label = label;
  }

  /** From now on the channel carries this many bytes a second (a congested uplink for this channel alone). */
  limit(bytesPerSecond: number): void {
    this.#drain();
    this.#bytesPerSecond = bytesPerSecond;
  }

  get bufferedAmount(): number {
    this.#drain();
    return Math.round(this.#queued);
  }

  send(frame: Uint8Array): void {
    this.#drain();
    this.frames.push(frame.slice());
    if (Number.isFinite(this.#bytesPerSecond)) this.#queued += frame.byteLength;
  }

  #drain(): void {
    const now = performance.now();
    this.#queued = Number.isFinite(this.#bytesPerSecond) ? Math.max(0, this.#queued - (this.#bytesPerSecond * (now - this.#at)) / 1000) : 0;
    this.#at = now;
  }
}

export class MemoryTransport extends TypedEmitter<TransportEvents> implements PublishTransport {
  readonly segmentTargetMs: number;
  readonly partTargetMs = 200;
  readonly control = new MemoryChannel(CONTROL_CHANNEL_LABEL);
  readonly tracks: ReadonlyMap<number, MemoryChannel>;
  connectionState = 'connected';

  constructor(segmentTargetMs: number, trackIds: readonly number[]) {
    super();
    this.segmentTargetMs = segmentTargetMs;
    this.tracks = new Map(trackIds.map((id) => [id, new MemoryChannel(trackChannelLabel(id))]));
  }

  get channels(): MemoryChannel[] {
    return [this.control, ...this.tracks.values()];
  }

  /** Memory has no round trip to measure. */
  async roundTripTimeMs(): Promise<number | null> {
    return null;
  }

  async close(): Promise<void> {
    this.connectionState = 'closed';
  }
}
