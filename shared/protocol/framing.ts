// Binary framing of wire messages (pure code over bytes); hand-written because the format is ours and tiny.
//
// Every frame starts with [version u8][type u8]; multi-byte fields are big-endian.
//   track    (1): [jsonLength u16][json utf-8][description bytes…]
//   chunk    (2): [trackId u8][flags u8: bit0 keyframe][timestampUs f64][durationUs u32][payload…]
//   clock    (3): [timestampUs f64][wallClockMs f64] then, optionally, [gridOriginUs f64]
//   end      (4): —
//   fragment (5): [messageId u32][index u16][count u16][slice of the encoded message…]
//   receipt  (6): [count u8] then count × [trackId u8][bytes f64]   (server → publisher only)
import { ProtocolError } from './errors.ts';
import {
  FRAGMENT_PAYLOAD_BYTES,
  MAX_CODEC_STRING_LENGTH,
  MAX_DESCRIPTION_BYTES,
  MAX_FRAME_BYTES,
  MAX_MESSAGE_BYTES,
  MAX_TRACKS,
  MAX_TRACK_CONFIG_JSON_BYTES,
} from './limits.ts';
import {
  PROTOCOL_VERSION,
  type ChunkMessage,
  type ClockMessage,
  type ReceiptMessage,
  type ServerMessage,
  type TrackConfigMessage,
  type WireMessage,
} from './messages.ts';

const enum FrameType {
  Track = 1,
  Chunk = 2,
  Clock = 3,
  End = 4,
  Fragment = 5,
  Receipt = 6,
}

const CHUNK_HEADER_BYTES = 16;
const CLOCK_BYTES = 18;
/** A clock message that also carries the segment grid's zero point. */
const CLOCK_WITH_GRID_BYTES = 26;
/** Bytes a fragment frame adds in front of its slice: version, type, message id u32, index u16, count u16. */
export const FRAGMENT_HEADER_BYTES = 10;
/** Most fragments one message may be cut into: a largest message in slices of 1 KiB. */
export const MAX_FRAGMENTS = Math.ceil(MAX_MESSAGE_BYTES / 1024);

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });

export function encodeMessage(msg: WireMessage): Uint8Array {
  switch (msg.type) {
    case 'chunk':
      return encodeChunk(msg);
    case 'track':
      return encodeTrack(msg);
    case 'clock': {
      const out = new Uint8Array(msg.gridOriginUs === undefined ? CLOCK_BYTES : CLOCK_WITH_GRID_BYTES);
      const view = new DataView(out.buffer);
      out[0] = PROTOCOL_VERSION;
      out[1] = FrameType.Clock;
      view.setFloat64(2, msg.timestampUs);
      view.setFloat64(10, msg.wallClockMs);
      if (msg.gridOriginUs !== undefined) view.setFloat64(18, msg.gridOriginUs);
      return out;
    }
    case 'end':
      return Uint8Array.of(PROTOCOL_VERSION, FrameType.End);
  }
}

function encodeChunk(msg: ChunkMessage): Uint8Array {
  checkTrackId(msg.trackId);
  const out = new Uint8Array(CHUNK_HEADER_BYTES + msg.data.byteLength);
  const view = new DataView(out.buffer);
  out[0] = PROTOCOL_VERSION;
  out[1] = FrameType.Chunk;
  out[2] = msg.trackId;
  out[3] = msg.keyframe ? 1 : 0;
  view.setFloat64(4, msg.timestampUs);
  view.setUint32(12, Math.max(0, Math.round(msg.durationUs)));
  out.set(msg.data, CHUNK_HEADER_BYTES);
  return out;
}

function encodeTrack(msg: TrackConfigMessage): Uint8Array {
  const { description, type: _type, ...fields } = msg;
  const json = textEncoder.encode(JSON.stringify(fields));
  if (json.byteLength > MAX_TRACK_CONFIG_JSON_BYTES) {
    throw new ProtocolError('oversized', `track config of ${json.byteLength} bytes`);
  }
  const desc = description ?? new Uint8Array(0);
  const out = new Uint8Array(4 + json.byteLength + desc.byteLength);
  const view = new DataView(out.buffer);
  out[0] = PROTOCOL_VERSION;
  out[1] = FrameType.Track;
  view.setUint16(2, json.byteLength);
  out.set(json, 4);
  out.set(desc, 4 + json.byteLength);
  return out;
}

/** Decodes one whole (reassembled) message. Throws ProtocolError on anything malformed. */
export function decodeMessage(bytes: Uint8Array): WireMessage {
  if (bytes.byteLength < 2) throw new ProtocolError('truncated', `frame of ${bytes.byteLength} bytes`);
  if (bytes.byteLength > MAX_MESSAGE_BYTES) {
    throw new ProtocolError('oversized', `message of ${bytes.byteLength} bytes exceeds ${MAX_MESSAGE_BYTES}`);
  }
  checkVersion(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = bytes[1];
  switch (type) {
    case FrameType.Chunk: {
      if (bytes.byteLength < CHUNK_HEADER_BYTES) throw new ProtocolError('truncated', 'chunk header');
      const trackId = bytes[2]!;
      checkTrackId(trackId);
      const flags = bytes[3]!;
      if (flags > 1) throw new ProtocolError('invalid-field', `chunk flags ${flags}`);
      const timestampUs = view.getFloat64(4);
      if (!Number.isFinite(timestampUs)) throw new ProtocolError('invalid-field', 'chunk timestamp');
      if (bytes.byteLength === CHUNK_HEADER_BYTES) throw new ProtocolError('truncated', 'chunk without payload');
      return {
        type: 'chunk',
        trackId,
        keyframe: flags === 1,
        timestampUs,
        durationUs: view.getUint32(12),
        data: bytes.subarray(CHUNK_HEADER_BYTES),
      };
    }
    case FrameType.Track:
      return decodeTrack(bytes, view);
    case FrameType.Clock:
      return decodeClock(bytes, view);
    case FrameType.End:
      if (bytes.byteLength !== 2) throw new ProtocolError('invalid-field', 'end message with a body');
      return { type: 'end' };
    case FrameType.Fragment:
      throw new ProtocolError('out-of-order', 'fragment outside a reassembler');
    case FrameType.Receipt:
      throw new ProtocolError('wrong-channel', 'a receipt travels from the server to the publisher, not back');
    default:
      throw new ProtocolError('unknown-type', `frame type ${type}`);
  }
}

const RECEIPT_ENTRY_BYTES = 9;

/** Encodes a receipt: one small frame, never fragmented (at most MAX_TRACKS entries of 9 bytes). */
export function encodeServerMessage(msg: ServerMessage): Uint8Array {
  if (msg.channels.length > MAX_TRACKS) throw new ProtocolError('oversized', `receipt for ${msg.channels.length} channels`);
  const out = new Uint8Array(3 + msg.channels.length * RECEIPT_ENTRY_BYTES);
  const view = new DataView(out.buffer);
  out[0] = PROTOCOL_VERSION;
  out[1] = FrameType.Receipt;
  out[2] = msg.channels.length;
  msg.channels.forEach(({ trackId, bytes }, i) => {
    checkTrackId(trackId);
    if (!Number.isSafeInteger(bytes) || bytes < 0) throw new ProtocolError('invalid-field', `receipt of ${bytes} bytes`);
    out[3 + i * RECEIPT_ENTRY_BYTES] = trackId;
    view.setFloat64(4 + i * RECEIPT_ENTRY_BYTES, bytes);
  });
  return out;
}

/** Decodes what the server sent a publisher. Throws ProtocolError on anything malformed or of another kind. */
export function decodeServerMessage(bytes: Uint8Array): ReceiptMessage {
  if (bytes.byteLength < 3) throw new ProtocolError('truncated', `server frame of ${bytes.byteLength} bytes`);
  checkVersion(bytes);
  if (bytes[1] !== FrameType.Receipt) throw new ProtocolError('unknown-type', `server frame type ${bytes[1]}`);
  const count = bytes[2]!;
  if (count > MAX_TRACKS) throw new ProtocolError('oversized', `receipt for ${count} channels`);
  if (bytes.byteLength !== 3 + count * RECEIPT_ENTRY_BYTES) throw new ProtocolError('truncated', `receipt of ${bytes.byteLength} bytes for ${count} channels`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const channels = Array.from({ length: count }, (_, i) => {
    const trackId = bytes[3 + i * RECEIPT_ENTRY_BYTES]!;
    checkTrackId(trackId);
    const received = view.getFloat64(4 + i * RECEIPT_ENTRY_BYTES);
    if (!Number.isSafeInteger(received) || received < 0) throw new ProtocolError('invalid-field', `receipt of ${received} bytes`);
    return { trackId, bytes: received };
  });
  return { type: 'receipt', channels };
}

function decodeClock(bytes: Uint8Array, view: DataView): ClockMessage {
  if (bytes.byteLength !== CLOCK_BYTES && bytes.byteLength !== CLOCK_WITH_GRID_BYTES) {
    throw new ProtocolError(bytes.byteLength < CLOCK_BYTES ? 'truncated' : 'invalid-field', `clock message of ${bytes.byteLength} bytes`);
  }
  const timestampUs = view.getFloat64(2);
  const wallClockMs = view.getFloat64(10);
  if (!Number.isFinite(timestampUs) || !Number.isFinite(wallClockMs) || wallClockMs <= 0) {
    throw new ProtocolError('invalid-field', 'clock values');
  }
  if (bytes.byteLength === CLOCK_BYTES) return { type: 'clock', timestampUs, wallClockMs };
  const gridOriginUs = view.getFloat64(18);
  // The grid starts with the stream's first frame, which the clock's timestamp is never after.
  if (!Number.isFinite(gridOriginUs) || gridOriginUs < timestampUs) {
    throw new ProtocolError('invalid-field', `clock grid origin ${gridOriginUs} µs before its timestamp ${timestampUs} µs`);
  }
  return { type: 'clock', timestampUs, wallClockMs, gridOriginUs };
}

function decodeTrack(bytes: Uint8Array, view: DataView): TrackConfigMessage {
  if (bytes.byteLength < 4) throw new ProtocolError('truncated', 'track header');
  const jsonLength = view.getUint16(2);
  if (jsonLength > MAX_TRACK_CONFIG_JSON_BYTES) throw new ProtocolError('oversized', 'track config');
  if (bytes.byteLength < 4 + jsonLength) throw new ProtocolError('truncated', 'track config body');
  const descLength = bytes.byteLength - 4 - jsonLength;
  if (descLength > MAX_DESCRIPTION_BYTES) throw new ProtocolError('oversized', `description of ${descLength} bytes`);
  let fields: unknown;
  try {
    fields = JSON.parse(textDecoder.decode(bytes.subarray(4, 4 + jsonLength)));
  } catch {
    throw new ProtocolError('invalid-field', 'track config is not JSON');
  }
  const msg = validateTrackFields(fields);
  if (descLength > 0) msg.description = bytes.slice(4 + jsonLength);
  return msg;
}

function validateTrackFields(f: unknown): TrackConfigMessage {
  if (typeof f !== 'object' || f === null) throw new ProtocolError('invalid-field', 'track config');
  const o = f as Record<string, unknown>;
  const int = (key: string, min: number, max: number): number => {
    const v = o[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      throw new ProtocolError('invalid-field', `track ${key}`);
    }
    return v;
  };
  const optionalNumber = (key: string, min: number, max: number): number | undefined => {
    if (o[key] === undefined) return undefined;
    const v = o[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
      throw new ProtocolError('invalid-field', `track ${key}`);
    }
    return v;
  };
  const trackId = int('trackId', 0, MAX_TRACKS - 1);
  const codec = o.codec;
  if (typeof codec !== 'string' || codec.length === 0 || codec.length > MAX_CODEC_STRING_LENGTH || !/^[A-Za-z0-9.\-_]+$/.test(codec)) {
    throw new ProtocolError('invalid-field', 'track codec');
  }
  const bitrate = optionalNumber('bitrate', 1, 1e9);
  if (o.kind === 'video') {
    const rendition = o.rendition;
    if (typeof rendition !== 'string' || !/^[a-z0-9]{1,16}$/.test(rendition)) {
      throw new ProtocolError('invalid-field', 'track rendition');
    }
    const framerate = optionalNumber('framerate', 1, 240);
    return {
      type: 'track',
      kind: 'video',
      trackId,
      codec,
      rendition,
      width: int('width', 16, 7680),
      height: int('height', 16, 4320),
      ...(framerate !== undefined && { framerate }),
      ...(bitrate !== undefined && { bitrate }),
    };
  }
  if (o.kind === 'audio') {
    return {
      type: 'track',
      kind: 'audio',
      trackId,
      codec,
      sampleRate: int('sampleRate', 8000, 192000),
      channels: int('channels', 1, 8),
      ...(bitrate !== undefined && { bitrate }),
    };
  }
  throw new ProtocolError('invalid-field', 'track kind');
}

function checkVersion(bytes: Uint8Array): void {
  if (bytes[0] !== PROTOCOL_VERSION) {
    throw new ProtocolError('unsupported-version', `version ${bytes[0]}, expected ${PROTOCOL_VERSION}`);
  }
}

function checkTrackId(trackId: number): void {
  if (!Number.isInteger(trackId) || trackId < 0 || trackId >= MAX_TRACKS) {
    throw new ProtocolError('invalid-field', `track id ${trackId}`);
  }
}

/**
 * Splits an encoded message into data-channel frames no larger than `maxPayloadBytes` plus a header.
 * A message that fits is sent as it is.
 */
export function fragmentMessage(
  encoded: Uint8Array,
  messageId: number,
  maxPayloadBytes: number = FRAGMENT_PAYLOAD_BYTES,
): Uint8Array[] {
  if (!Number.isInteger(maxPayloadBytes) || maxPayloadBytes < 1) {
    throw new ProtocolError('invalid-field', `fragment payload of ${maxPayloadBytes} bytes`);
  }
  if (encoded.byteLength <= maxPayloadBytes) return [encoded];
  if (encoded.byteLength > MAX_MESSAGE_BYTES) {
    throw new ProtocolError('oversized', `message of ${encoded.byteLength} bytes exceeds ${MAX_MESSAGE_BYTES}`);
  }
  const count = Math.ceil(encoded.byteLength / maxPayloadBytes);
  if (count > MAX_FRAGMENTS) {
    throw new ProtocolError('oversized', `message of ${encoded.byteLength} bytes needs ${count} fragments of ${maxPayloadBytes} bytes, more than ${MAX_FRAGMENTS}`);
  }
  const frames: Uint8Array[] = [];
  for (let index = 0; index < count; index++) {
    const slice = encoded.subarray(index * maxPayloadBytes, (index + 1) * maxPayloadBytes);
    const frame = new Uint8Array(FRAGMENT_HEADER_BYTES + slice.byteLength);
    const view = new DataView(frame.buffer);
    frame[0] = PROTOCOL_VERSION;
    frame[1] = FrameType.Fragment;
    view.setUint32(2, messageId >>> 0);
    view.setUint16(6, index);
    view.setUint16(8, count);
    frame.set(slice, FRAGMENT_HEADER_BYTES);
    frames.push(frame);
  }
  return frames;
}

/**
 * Turns the frames of one ordered, reliable channel back into messages.
 * Fragments of a message must arrive consecutively and in order; anything else is a protocol error.
 */
export class MessageReassembler {
  #messageId = -1;
  #expectedIndex = 0;
  #count = 0;
  #parts: Uint8Array[] = [];
  #bytes = 0;

  /** Returns the completed message, or null while a fragmented message is still incomplete. */
  push(frame: Uint8Array): WireMessage | null {
    if (frame.byteLength > MAX_FRAME_BYTES) {
      throw new ProtocolError('oversized', `frame of ${frame.byteLength} bytes exceeds ${MAX_FRAME_BYTES}`);
    }
    if (frame.byteLength < 2) throw new ProtocolError('truncated', `frame of ${frame.byteLength} bytes`);
    checkVersion(frame);
    if (frame[1] !== FrameType.Fragment) {
      if (this.#count !== 0) {
        throw new ProtocolError('out-of-order', `message interleaved with fragments of message ${this.#messageId}`);
      }
      return decodeMessage(frame);
    }
    if (frame.byteLength <= FRAGMENT_HEADER_BYTES) throw new ProtocolError('truncated', 'fragment');
    const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
    const messageId = view.getUint32(2);
    const index = view.getUint16(6);
    const count = view.getUint16(8);
    if (count < 2 || count > MAX_FRAGMENTS) throw new ProtocolError('invalid-field', `fragment count ${count}`);
    if (this.#count === 0) {
      if (index !== 0) throw new ProtocolError('out-of-order', `fragment ${index} of message ${messageId} without its first`);
      this.#messageId = messageId;
      this.#count = count;
      this.#expectedIndex = 0;
    } else if (messageId !== this.#messageId || count !== this.#count || index !== this.#expectedIndex) {
      const expected = `fragment ${this.#expectedIndex}/${this.#count} of message ${this.#messageId}`;
      this.#reset();
      throw new ProtocolError('out-of-order', `got fragment ${index}/${count} of message ${messageId}, expected ${expected}`);
    }
    const payload = frame.subarray(FRAGMENT_HEADER_BYTES);
    this.#bytes += payload.byteLength;
    if (this.#bytes > MAX_MESSAGE_BYTES) {
      this.#reset();
      throw new ProtocolError('oversized', `message ${messageId} exceeds ${MAX_MESSAGE_BYTES} bytes`);
    }
    this.#parts.push(payload.slice());
    this.#expectedIndex++;
    if (this.#expectedIndex < this.#count) return null;
    const whole = new Uint8Array(this.#bytes);
    let offset = 0;
    for (const part of this.#parts) {
      whole.set(part, offset);
      offset += part.byteLength;
    }
    this.#reset();
    return decodeMessage(whole);
  }

  /** Bytes held for an incomplete message. */
  get pendingBytes(): number {
    return this.#bytes;
  }

  #reset(): void {
    this.#messageId = -1;
    this.#expectedIndex = 0;
    this.#count = 0;
    this.#parts = [];
    this.#bytes = 0;
  }
}
