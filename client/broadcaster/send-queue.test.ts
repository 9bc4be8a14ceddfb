// What a track's send queue hands to its channel, and what it drops when a rung pauses.
import { describe, expect, it } from 'vitest';
import { SendQueue } from './send-queue.ts';

/** A channel that holds what it was given until `drain` lets it go, as a data channel does while the uplink is slow. */
class HeldChannel {
  readonly maxFrameBytes = 16 * 1024;
  readonly sent: number[] = [];
  bufferedAmount = 0;

  send(frame: Uint8Array): void {
    this.sent.push(frame[0]!);
    this.bufferedAmount += frame.byteLength;
  }

  drain(bytes: number): void {
    this.bufferedAmount = Math.max(0, this.bufferedAmount - bytes);
  }
}

/** A frame of `bytes` bytes whose first byte names it. */
const frame = (name: number, bytes = 100): Uint8Array => new Uint8Array(bytes).fill(name, 0, 1);

/** Writes one chunk of frames into the queue, as ChannelWriter does through its sink. */
function chunk(queue: SendQueue, keyframe: boolean, ...frames: Uint8Array[]): void {
  queue.writeChunk(keyframe, () => {
    for (const f of frames) queue.send(f);
  });
}

describe('SendQueue', () => {
  it('hands everything on at once while the channel keeps up', () => {
    const channel = new HeldChannel();
    const queue = new SendQueue(channel, 1000);
    chunk(queue, true, frame(1), frame(2));
    channel.drain(1000);
    chunk(queue, false, frame(3));
    expect(channel.sent).toEqual([1, 2, 3]);
    expect(queue.queuedBytes).toBe(0);
  });

  it('stops at the mark, keeps the rest in order, and goes on when the channel drains', () => {
    const channel = new HeldChannel();
    const queue = new SendQueue(channel, 250);
    chunk(queue, true, frame(1), frame(2), frame(3), frame(4));
    chunk(queue, false, frame(5));
    // 0, 100, 200 bytes held when frames 1-3 went out: at most the mark.
    expect(channel.sent).toEqual([1, 2, 3]);
    expect(queue.queuedBytes).toBe(200);
    queue.pump();
    expect(channel.sent).toEqual([1, 2, 3]);
    channel.drain(100);
    queue.pump();
    expect(channel.sent).toEqual([1, 2, 3, 4]);
    channel.drain(1000);
    queue.pump();
    expect(channel.sent).toEqual([1, 2, 3, 4, 5]);
    expect(queue.queuedBytes).toBe(0);
  });

  it('drops only whole chunks not begun, keeps the rest of one begun and the end, and drops deltas until a keyframe', () => {
    const channel = new HeldChannel();
    const queue = new SendQueue(channel, 50);
    chunk(queue, true, frame(1), frame(2));
    chunk(queue, false, frame(3), frame(4));
    chunk(queue, false, frame(5));
    // Not a chunk: the track's `end`.
    queue.send(frame(9, 10));
    expect(channel.sent).toEqual([1]);
    expect(queue.dropUnsent()).toBe(300);
    expect(queue.queuedBytes).toBe(110);
    expect(queue.droppedBytes).toBe(300);
    // A delta the encoder still had would follow a hole: dropped as it comes; the next keyframe goes.
    chunk(queue, false, frame(6));
    chunk(queue, true, frame(7));
    chunk(queue, false, frame(8));
    expect(queue.droppedBytes).toBe(400);
    for (let i = 0; i < 5; i++) {
      channel.drain(1000);
      queue.pump();
    }
    expect(channel.sent).toEqual([1, 2, 9, 7, 8]);
    expect(queue.queuedBytes).toBe(0);
  });

  it('goes on with the next delta when nothing was dropped', () => {
    const channel = new HeldChannel();
    const queue = new SendQueue(channel, 1000);
    chunk(queue, true, frame(1));
    expect(queue.dropUnsent()).toBe(0);
    chunk(queue, false, frame(2));
    expect(channel.sent).toEqual([1, 2]);
    expect(queue.droppedBytes).toBe(0);
  });
});
