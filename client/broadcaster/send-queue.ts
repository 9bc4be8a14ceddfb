// A track's send queue above its data channel: the backlog waits here, where a paused rung's unsent chunks can be dropped (pure code).
import type { FrameSink } from '../../shared/protocol/index.ts';

/** What the queue hands frames to: a track's data channel. */
export interface QueueChannel extends FrameSink {
  /** Bytes the channel holds and has not yet handed to the network. */
  readonly bufferedAmount: number;
}

/** Who hears of a queue's frames: the pacer counts what is handed over, the scheduler decides when frames go. */
export interface SendQueueHooks {
  /** A frame of this many bytes was handed to the channel. */
  handed(bytes: number): void;
  /** Frames were queued: send what may go now (by default the queue pumps itself). */
  wake(): void;
}

/** One wire message: its frames, how many of them went out, and whether it may be dropped before its first one did. */
interface Message {
  frames: Uint8Array[];
  sent: number;
  unsentBytes: number;
  droppable: boolean;
}

/**
 * Keeps a track's frames until they may go: with the ingest's receipts, when the pacer's scheduler takes them
 * (send-pacer.ts, through the `wake` hook); without, while the channel holds at most `markBytes`.
 *
 * Every track channel shares one SCTP association: whatever a channel holds goes out, however late, and takes its
 * share of the uplink from audio and the lower rungs meanwhile. Holding the backlog here instead keeps what the
 * association carries small, and lets `dropUnsent` take back the chunks of a rung that paused: they would arrive too
 * late to be played, and the rung resumes on a keyframe that does not need them.
 *
 * Frames sent while `writeChunk` runs form one chunk, the only kind of message ever dropped; a chunk whose first
 * frame went out is never dropped, since the receiver's reassembly needs its remaining fragments next. After a drop,
 * chunks are dropped as they come until a keyframe, so the track never goes on from a frame whose references are gone.
 * Any other frame (the track's `end`) is a message of its own and always goes out, in order.
 */
export class SendQueue implements FrameSink {
  #channel: QueueChannel;
  #markBytes: number;
  #messages: Message[] = [];
  #open: Message | undefined;
  #queuedBytes = 0;
  #droppedBytes = 0;
  #awaitingKeyframe = false;
  #hooks: SendQueueHooks | undefined;

  constructor(channel: QueueChannel, markBytes: number, hooks?: SendQueueHooks) {
    this.#channel = channel;
    this.#markBytes = markBytes;
    this.#hooks = hooks;
  }

  /** The size of the frame `sendNext` would hand over; 0 when none waits. */
  get nextFrameBytes(): number {
    const message = this.#messages[0];
    return message ? message.frames[message.sent]!.byteLength : 0;
  }

  get maxFrameBytes(): number {
    return this.#channel.maxFrameBytes;
  }

  /** Bytes held here, not yet handed to the channel. */
  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  /** Bytes of every chunk dropped so far. */
  get droppedBytes(): number {
    return this.#droppedBytes;
  }

  /** Queues the frames `write` sends as one chunk, then sends what the channel has room for. */
  writeChunk(keyframe: boolean, write: () => void): void {
    const chunk: Message = { frames: [], sent: 0, unsentBytes: 0, droppable: true };
    this.#open = chunk;
    try {
      write();
    } finally {
      this.#open = undefined;
    }
    if (keyframe) this.#awaitingKeyframe = false;
    if (this.#awaitingKeyframe) {
      this.#droppedBytes += chunk.unsentBytes;
      return;
    }
    this.#enqueue(chunk);
  }

  /** Inside `writeChunk`: a frame of its chunk. Otherwise a message of its own, never dropped. */
  send(frame: Uint8Array): void {
    if (this.#open) {
      this.#open.frames.push(frame);
      this.#open.unsentBytes += frame.byteLength;
      return;
    }
    this.#enqueue({ frames: [frame], sent: 0, unsentBytes: frame.byteLength, droppable: false });
  }

  /** Hands frames to the channel, in order, while it holds at most the mark; call it when the channel drained. */
  pump(): void {
    while (this.#messages.length > 0 && this.#channel.bufferedAmount <= this.#markBytes) this.sendNext();
  }

  /** Hands the next frame to the channel, whatever it holds (the pacer decided it may go); nothing when empty. */
  sendNext(): void {
    const message = this.#messages[0];
    if (!message) return;
    const frame = message.frames[message.sent]!;
    message.sent++;
    message.unsentBytes -= frame.byteLength;
    this.#queuedBytes -= frame.byteLength;
    this.#channel.send(frame);
    this.#hooks?.handed(frame.byteLength);
    if (message.sent === message.frames.length) this.#messages.shift();
  }

  /** Drops every chunk none of whose frames went out yet; returns the bytes dropped. */
  dropUnsent(): number {
    let dropped = 0;
    this.#messages = this.#messages.filter((m) => {
      if (!m.droppable || m.sent > 0) return true;
      dropped += m.unsentBytes;
      return false;
    });
    if (dropped > 0) this.#awaitingKeyframe = true;
    this.#queuedBytes -= dropped;
    this.#droppedBytes += dropped;
    return dropped;
  }

  #enqueue(message: Message): void {
    if (message.frames.length === 0) return;
    this.#messages.push(message);
    this.#queuedBytes += message.unsentBytes;
    if (this.#hooks) this.#hooks.wake();
    else this.pump();
  }
}
