// A PublishTransport that keeps every frame in memory, per channel: the harness's stand-in for the WebRTC publisher.
import { TypedEmitter } from '../../../shared/events.ts';
import { CONTROL_CHANNEL_LABEL, trackChannelLabel } from '../../../shared/protocol/index.ts';
import { BroadcastError } from '../errors.ts';
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
  #low: { thresholdBytes: number; listener: () => void } | undefined;
  #lowTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(label: string) {
    this.label = label;
  }

  /** From now on the channel carries this many bytes a second (a congested uplink for this channel alone). */
  limit(bytesPerSecond: number): void {
    this.#drain();
    this.#bytesPerSecond = bytesPerSecond;
    // A drain under way is timed again at the new rate.
    if (this.#lowTimer === undefined) return;
    clearTimeout(this.#lowTimer);
    this.#lowTimer = undefined;
    this.#scheduleLow();
  }

  get bufferedAmount(): number {
    this.#drain();
    return Math.round(this.#queued);
  }

  send(frame: Uint8Array): void {
    this.#drain();
    this.frames.push(frame.slice());
    if (Number.isFinite(this.#bytesPerSecond)) this.#queued += frame.byteLength;
    if (this.#low && this.#queued > this.#low.thresholdBytes) this.#scheduleLow();
  }

  onBufferedAmountLow(thresholdBytes: number, listener: () => void): void {
    this.#low = { thresholdBytes, listener };
  }

  /** Times the bufferedamountlow a data channel fires: when the queue, draining at the set rate, is back at the threshold. */
  #scheduleLow(): void {
    const low = this.#low;
    if (!low || this.#lowTimer !== undefined) return;
    const excess = this.#queued - low.thresholdBytes;
    const waitMs = excess <= 0 || !Number.isFinite(this.#bytesPerSecond) ? 0 : (excess * 1000) / this.#bytesPerSecond;
    this.#lowTimer = setTimeout(() => {
      this.#lowTimer = undefined;
      if (this.bufferedAmount > low.thresholdBytes) this.#scheduleLow();
      else low.listener();
    }, waitMs);
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
  readonly sessionId: string;
  connectionState = 'connected';
  /** The `withinMs` of every stopLost() call. */
  readonly stopLostCalls: number[] = [];

  constructor(segmentTargetMs: number, trackIds: readonly number[], sessionId = 'memory') {
    super();
    this.segmentTargetMs = segmentTargetMs;
    this.sessionId = sessionId;
    this.tracks = new Map(trackIds.map((id) => [id, new MemoryChannel(trackChannelLabel(id))]));
  }

  /** The connection breaks, as the WebRTC publisher reports it. */
  lose(streamName: string): void {
    this.connectionState = 'failed';
    this.emit('failure', new BroadcastError('connection-failed', 'The connection to the server was lost.', streamName));
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

  async stopLost(withinMs: number): Promise<void> {
    this.stopLostCalls.push(withinMs);
  }
}
