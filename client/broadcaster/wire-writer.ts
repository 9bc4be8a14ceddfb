// Frames wire messages for the transport: encodes, fragments large ones, counts what was sent.
import { encodeMessage, FRAGMENT_PAYLOAD_BYTES, fragmentMessage, type WireMessage } from '../../shared/protocol/index.ts';

export interface FrameSink {
  readonly maxFrameBytes: number;
  send(frame: Uint8Array): void;
}

/** Bytes a fragment frame adds in front of its slice (version, type, message id, index, count). */
const FRAGMENT_HEADER_BYTES = 10;

export class WireWriter {
  #sink: FrameSink;
  #fragmentPayloadBytes: number;
  #messageId = 0;
  #bytesSent = 0;
  #messagesSent = 0;

  constructor(sink: FrameSink) {
    this.#sink = sink;
    // A peer announcing a smaller max-message-size than the protocol's fragment would make send() throw.
    this.#fragmentPayloadBytes = Math.min(FRAGMENT_PAYLOAD_BYTES, sink.maxFrameBytes - FRAGMENT_HEADER_BYTES);
  }

  /** Sends one message (as several frames when it is larger than a fragment); returns the bytes sent. */
  write(msg: WireMessage): number {
    const frames = fragmentMessage(encodeMessage(msg), this.#messageId, this.#fragmentPayloadBytes);
    if (frames.length > 1) this.#messageId = (this.#messageId + 1) >>> 0;
    let bytes = 0;
    for (const frame of frames) {
      this.#sink.send(frame);
      bytes += frame.byteLength;
    }
    this.#bytesSent += bytes;
    this.#messagesSent++;
    return bytes;
  }

  get bytesSent(): number {
    return this.#bytesSent;
  }

  get messagesSent(): number {
    return this.#messagesSent;
  }
}
