// The sending half of the wire protocol: encodes messages, fragments large ones below the peer's frame limit, counts.
import { ProtocolError } from './errors.ts';
import { encodeMessage, FRAGMENT_HEADER_BYTES, fragmentMessage } from './framing.ts';
import { FRAGMENT_PAYLOAD_BYTES } from './limits.ts';
import type { WireMessage } from './messages.ts';

/** Where frames go: an ordered, reliable channel (an RTCDataChannel, a node-datachannel channel). */
export interface FrameSink {
  /** Largest frame the peer accepts (its SCTP max-message-size). */
  readonly maxFrameBytes: number;
  send(frame: Uint8Array): void;
}

export class WireWriter {
  #sink: FrameSink;
  #fragmentPayloadBytes: number;
  #messageId = 0;
  #bytesSent = 0;
  #messagesSent = 0;

  /** Throws ProtocolError when the sink's frame limit leaves no room for a fragment's payload. */
  constructor(sink: FrameSink) {
    this.#sink = sink;
    // A peer announcing a smaller max-message-size than the protocol's fragment would make send() throw.
    this.#fragmentPayloadBytes = Math.min(FRAGMENT_PAYLOAD_BYTES, Math.floor(sink.maxFrameBytes) - FRAGMENT_HEADER_BYTES);
    if (!(this.#fragmentPayloadBytes >= 1)) {
      throw new ProtocolError('invalid-field', `a peer frame limit of ${sink.maxFrameBytes} bytes leaves no room for a fragment`);
    }
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

  /** Bytes of every frame sent, headers included. */
  get bytesSent(): number {
    return this.#bytesSent;
  }

  /** Whole messages sent. */
  get messagesSent(): number {
    return this.#messagesSent;
  }
}
