// A PublishTransport that keeps every frame in memory: the harness's stand-in for the WebRTC publisher.
import { TypedEmitter } from '../../../shared/events.ts';
import type { PublishTransport, TransportEvents } from '../transport.ts';

export class MemoryTransport extends TypedEmitter<TransportEvents> implements PublishTransport {
  readonly segmentTargetMs: number;
  readonly partTargetMs = 200;
  readonly frames: Uint8Array[] = [];
  /** Set by the harness to play a congested channel. */
  congested = false;
  readonly bufferedAmount = 0;
  /** What Chromium announces for its own data channels. */
  readonly maxFrameBytes = 256 * 1024;
  connectionState = 'connected';

  constructor(segmentTargetMs: number) {
    super();
    this.segmentTargetMs = segmentTargetMs;
  }

  send(frame: Uint8Array): void {
    this.frames.push(frame.slice());
  }

  async close(): Promise<void> {
    this.connectionState = 'closed';
  }
}
