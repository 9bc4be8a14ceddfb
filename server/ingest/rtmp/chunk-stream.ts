// RTMP chunk stream: reassembles messages from interleaved chunks (with the peer's chunk size) and splits the server's messages into chunks.
import { concatBytes } from '../../../shared/bytes.ts';
import { RtmpProtocolError } from './errors.ts';

/** A reassembled RTMP message. */
export interface RtmpMessage {
  typeId: number;
  /** Message stream id (0 for the connection's control and commands). */
  streamId: number;
  /** Milliseconds, 32 bits as the chunk headers carry them. */
  timestamp: number;
  payload: Uint8Array;
}

export interface ChunkLimits {
  /** Largest chunk size a peer may set. */
  maxChunkSize: number;
  /** Largest message (one encoded frame). */
  maxMessageBytes: number;
  /** Chunk streams a peer may use at once. */
  maxChunkStreams: number;
}

export const MESSAGE_SET_CHUNK_SIZE = 1;
export const MESSAGE_ABORT = 2;
export const MESSAGE_ACKNOWLEDGEMENT = 3;
export const MESSAGE_USER_CONTROL = 4;
export const MESSAGE_WINDOW_ACK_SIZE = 5;
export const MESSAGE_SET_PEER_BANDWIDTH = 6;
export const MESSAGE_AUDIO = 8;
export const MESSAGE_VIDEO = 9;
export const MESSAGE_DATA_AMF0 = 18;
export const MESSAGE_COMMAND_AMF0 = 20;

const DEFAULT_CHUNK_SIZE = 128;
const EXTENDED_TIMESTAMP = 0xffffff;
const HEADER_BYTES = [11, 7, 3, 0] as const;

interface ChunkStreamState {
  timestamp: number;
  delta: number;
  length: number;
  typeId: number;
  streamId: number;
  /** The last header of this chunk stream carried an extended timestamp: so do its type-3 chunks. */
  extended: boolean;
  /** Chunks of the message being reassembled. */
  parts: Uint8Array[];
  received: number;
}

/**
 * Reads chunks from a byte stream. Set Chunk Size and Abort are applied here (later chunks depend on them); every
 * other message is returned whole. Throws RtmpProtocolError when the peer breaks the format or the limits.
 */
export class ChunkReader {
  #limits: ChunkLimits;
  #chunkSize = DEFAULT_CHUNK_SIZE;
  #streams = new Map<number, ChunkStreamState>();
  #pending: Uint8Array = new Uint8Array(0);
  #bytesRead = 0;
  /** Bytes of messages still being reassembled, over every chunk stream. */
  #assembling = 0;

  constructor(limits: ChunkLimits) {
    this.#limits = limits;
  }

  /** Bytes taken in so far (for acknowledgements). */
  get bytesRead(): number {
    return this.#bytesRead;
  }

  push(data: Uint8Array): RtmpMessage[] {
    this.#bytesRead += data.byteLength;
    let bytes = data;
    if (this.#pending.byteLength > 0) {
      bytes = new Uint8Array(this.#pending.byteLength + data.byteLength);
      bytes.set(this.#pending);
      bytes.set(data, this.#pending.byteLength);
    }
    const messages: RtmpMessage[] = [];
    let offset = 0;
    for (;;) {
      const used = this.#readChunk(bytes, offset, messages);
      if (used === 0) break;
      offset += used;
    }
    // A view: the next push copies it together with the new bytes.
    this.#pending = bytes.subarray(offset);
    return messages;
  }

  /** Reads one chunk at `offset`; returns the bytes it took, 0 when the chunk is not complete yet. */
  #readChunk(bytes: Uint8Array, start: number, messages: RtmpMessage[]): number {
    let offset = start;
    const left = (): number => bytes.byteLength - offset;
    if (left() < 1) return 0;
    const first = bytes[offset++]!;
    const fmt = first >> 6;
    let csid = first & 0x3f;
    if (csid === 0) {
      if (left() < 1) return 0;
      csid = 64 + bytes[offset++]!;
    } else if (csid === 1) {
      if (left() < 2) return 0;
      csid = 64 + bytes[offset]! + bytes[offset + 1]! * 256;
      offset += 2;
    }
    const headerBytes = HEADER_BYTES[fmt as 0 | 1 | 2 | 3];
    if (left() < headerBytes) return 0;
    let state = this.#streams.get(csid);
    if (!state) {
      if (fmt !== 0) throw new RtmpProtocolError('bad-chunk', `chunk stream ${csid} starts with a type-${fmt} chunk header`);
      if (this.#streams.size >= this.#limits.maxChunkStreams) {
        throw new RtmpProtocolError('bad-chunk', `more than ${this.#limits.maxChunkStreams} chunk streams`);
      }
      state = { timestamp: 0, delta: 0, length: 0, typeId: 0, streamId: 0, extended: false, parts: [], received: 0 };
    }
    const startsMessage = state.received === 0;
    let field = 0;
    let length = state.length;
    let typeId = state.typeId;
    let streamId = state.streamId;
    if (fmt <= 2) field = (bytes[offset]! << 16) | (bytes[offset + 1]! << 8) | bytes[offset + 2]!;
    if (fmt <= 1) {
      length = (bytes[offset + 3]! << 16) | (bytes[offset + 4]! << 8) | bytes[offset + 5]!;
      typeId = bytes[offset + 6]!;
    }
    if (fmt === 0) {
      streamId = bytes[offset + 7]! | (bytes[offset + 8]! << 8) | (bytes[offset + 9]! << 16) | (bytes[offset + 10]! * 0x1000000);
    }
    offset += headerBytes;
    const extended = fmt <= 2 ? field === EXTENDED_TIMESTAMP : state.extended;
    if (extended) {
      if (left() < 4) return 0;
      const value = ((bytes[offset]! << 24) >>> 0) + (bytes[offset + 1]! << 16) + (bytes[offset + 2]! << 8) + bytes[offset + 3]!;
      offset += 4;
      if (fmt <= 2) field = value;
    }
    if (!startsMessage && fmt !== 3) {
      throw new RtmpProtocolError('bad-chunk', `chunk stream ${csid}: a type-${fmt} header in the middle of a message`);
    }
    if (length > this.#limits.maxMessageBytes) {
      throw new RtmpProtocolError('message-too-large', `a message of ${length} bytes (limit ${this.#limits.maxMessageBytes})`);
    }
    const payloadBytes = Math.min(this.#chunkSize, length - state.received);
    if (left() < payloadBytes) return 0;

    // The whole chunk is here: commit its header to the chunk stream's state.
    this.#streams.set(csid, state);
    state.extended = extended;
    if (startsMessage) {
      if (fmt === 0) {
        state.timestamp = field;
        state.delta = 0;
      } else if (fmt === 1 || fmt === 2) {
        state.delta = field;
        state.timestamp = (state.timestamp + field) >>> 0;
      } else {
        state.timestamp = (state.timestamp + state.delta) >>> 0;
      }
      state.length = length;
      state.typeId = typeId;
      state.streamId = streamId;
    }
    state.parts.push(bytes.subarray(offset, offset + payloadBytes));
    state.received += payloadBytes;
    this.#assembling += payloadBytes;
    offset += payloadBytes;
    // Interleaved messages on many chunk streams must not add up to more than a couple of frames.
    if (this.#assembling > 2 * this.#limits.maxMessageBytes) {
      throw new RtmpProtocolError('message-too-large', `more than ${2 * this.#limits.maxMessageBytes} bytes of unfinished messages`);
    }
    if (state.received >= state.length) {
      this.#assembling -= state.received;
      // One copy per message: the payload owns its bytes rather than pinning the socket's buffer.
      const payload = state.parts.length === 1 ? state.parts[0]!.slice() : concatBytes(state.parts, state.length);
      state.parts = [];
      state.received = 0;
      this.#deliver({ typeId: state.typeId, streamId: state.streamId, timestamp: state.timestamp, payload }, messages);
    }
    return offset - start;
  }

  #deliver(message: RtmpMessage, messages: RtmpMessage[]): void {
    if (message.typeId === MESSAGE_SET_CHUNK_SIZE) {
      if (message.payload.byteLength < 4) throw new RtmpProtocolError('bad-chunk', 'Set Chunk Size of fewer than 4 bytes');
      const size = new DataView(message.payload.buffer, message.payload.byteOffset, 4).getUint32(0) & 0x7fffffff;
      if (size < 1 || size > this.#limits.maxChunkSize) {
        throw new RtmpProtocolError('chunk-size', `chunk size ${size} (allowed: 1 to ${this.#limits.maxChunkSize})`);
      }
      this.#chunkSize = size;
      return;
    }
    if (message.typeId === MESSAGE_ABORT) {
      if (message.payload.byteLength < 4) throw new RtmpProtocolError('bad-chunk', 'Abort of fewer than 4 bytes');
      const csid = new DataView(message.payload.buffer, message.payload.byteOffset, 4).getUint32(0);
      const state = this.#streams.get(csid);
      if (state) {
        this.#assembling -= state.received;
        state.parts = [];
        state.received = 0;
      }
      return;
    }
    messages.push(message);
  }
}

/** Chunk streams the server writes on: protocol control on 2 (as the spec requires), commands on 3. */
export const CONTROL_CHUNK_STREAM = 2;
export const COMMAND_CHUNK_STREAM = 3;

/** Splits one message into chunks of `chunkSize` (type 0, then type 3); the server's timestamps are always 0. */
export function writeChunks(csid: number, message: Omit<RtmpMessage, 'timestamp'>, chunkSize = DEFAULT_CHUNK_SIZE): Uint8Array {
  const { payload } = message;
  const chunks = Math.max(1, Math.ceil(payload.byteLength / chunkSize));
  const out = new Uint8Array(12 + (chunks - 1) + payload.byteLength);
  out[0] = csid & 0x3f;
  // Timestamp 0; length (24 bits); type; stream id (little-endian).
  out[4] = (payload.byteLength >> 16) & 0xff;
  out[5] = (payload.byteLength >> 8) & 0xff;
  out[6] = payload.byteLength & 0xff;
  out[7] = message.typeId;
  new DataView(out.buffer).setUint32(8, message.streamId, true);
  let offset = 12;
  for (let i = 0; i < chunks; i++) {
    if (i > 0) out[offset++] = 0xc0 | (csid & 0x3f);
    const part = payload.subarray(i * chunkSize, (i + 1) * chunkSize);
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}
