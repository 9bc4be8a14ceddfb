// The FLV framing between the origin and its ffmpeg worker: H.264 tags written to its input, tags read back from each
// rung's output. FLV frames every sample with its size, so a sample is handed on as soon as its last byte arrives.
import { concatBytes } from '../../shared/bytes.ts';

const TAG_VIDEO = 9;
const TAG_HEADER_BYTES = 11;
const FILE_HEADER_BYTES = 9;
const PREVIOUS_TAG_SIZE_BYTES = 4;
const CODEC_AVC = 7;
const FRAME_KEY = 1;
const FRAME_INTER = 2;
const AVC_SEQUENCE_HEADER = 0;
const AVC_NALU = 1;
/** Largest tag read back: far above any rung's keyframe; more is a broken stream, not a big frame. */
const MAX_TAG_BYTES = 16 * 1024 * 1024;

/** The FLV file header of a video-only stream and its PreviousTagSize0. */
export function flvHeader(): Uint8Array {
  return Uint8Array.of(0x46, 0x4c, 0x56, 1, 0x01, 0, 0, 0, FILE_HEADER_BYTES, 0, 0, 0, 0);
}

/** A video tag carrying the H.264 decoder configuration record. */
export function avcConfigTag(avcC: Uint8Array): Uint8Array {
  return videoTag(0, Uint8Array.of((FRAME_KEY << 4) | CODEC_AVC, AVC_SEQUENCE_HEADER, 0, 0, 0), avcC);
}

/**
 * A video tag carrying one H.264 access unit (NAL units behind their lengths, as the avcC says): `timestampMs` its
 * decode time, `compositionMs` its presentation minus decode time.
 */
export function avcFrameTag(timestampMs: number, compositionMs: number, keyframe: boolean, data: Uint8Array): Uint8Array {
  const cts = compositionMs & 0xffffff;
  const head = Uint8Array.of(((keyframe ? FRAME_KEY : FRAME_INTER) << 4) | CODEC_AVC, AVC_NALU, cts >> 16, (cts >> 8) & 0xff, cts & 0xff);
  return videoTag(timestampMs, head, data);
}

function videoTag(timestampMs: number, head: Uint8Array, data: Uint8Array): Uint8Array {
  const size = head.byteLength + data.byteLength;
  const ts = Math.max(0, Math.round(timestampMs));
  const header = Uint8Array.of(TAG_VIDEO, size >> 16, (size >> 8) & 0xff, size & 0xff, (ts >> 16) & 0xff, (ts >> 8) & 0xff, ts & 0xff, (ts >>> 24) & 0xff, 0, 0, 0);
  const total = TAG_HEADER_BYTES + size;
  return concatBytes([header, head, data, Uint8Array.of(total >>> 24, (total >> 16) & 0xff, (total >> 8) & 0xff, total & 0xff)]);
}

/** One tag read back: its type (8 audio, 9 video, 18 script data) and body. */
export interface FlvTag {
  type: number;
  timestampMs: number;
  body: Uint8Array;
}

export class FlvFormatError extends Error {
  override name = 'FlvFormatError';
}

/** Reads an FLV byte stream as it arrives, in pieces of any size, into whole tags. */
export class FlvTagReader {
  /** Bytes not parsed yet, in the pieces they came in: joined once there are enough to complete something. */
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  /** How many pending bytes the next parse needs (a big keyframe comes in many pieces: they are joined once). */
  #needed = FILE_HEADER_BYTES + PREVIOUS_TAG_SIZE_BYTES;
  #headerRead = false;

  /** Adds bytes; returns the tags they complete. Throws FlvFormatError on a stream that is not FLV. */
  push(bytes: Uint8Array): FlvTag[] {
    if (bytes.byteLength > 0) {
      this.#pending.push(bytes);
      this.#pendingBytes += bytes.byteLength;
    }
    const tags: FlvTag[] = [];
    if (this.#pendingBytes < this.#needed) return tags;
    const buffer = this.#pending.length === 1 ? this.#pending[0]! : concatBytes(this.#pending);
    let offset = 0;
    if (!this.#headerRead) {
      if (buffer[0] !== 0x46 || buffer[1] !== 0x4c || buffer[2] !== 0x56) throw new FlvFormatError('not an FLV stream (no FLV signature)');
      const headerBytes = new DataView(buffer.buffer, buffer.byteOffset).getUint32(5);
      if (buffer.byteLength < headerBytes + PREVIOUS_TAG_SIZE_BYTES) return this.#keep(buffer, 0, headerBytes + PREVIOUS_TAG_SIZE_BYTES, tags);
      offset = headerBytes + PREVIOUS_TAG_SIZE_BYTES;
      this.#headerRead = true;
    }
    while (buffer.byteLength - offset >= TAG_HEADER_BYTES) {
      const size = (buffer[offset + 1]! << 16) | (buffer[offset + 2]! << 8) | buffer[offset + 3]!;
      if (size > MAX_TAG_BYTES) throw new FlvFormatError(`an FLV tag of ${size} bytes`);
      const end = offset + TAG_HEADER_BYTES + size + PREVIOUS_TAG_SIZE_BYTES;
      if (buffer.byteLength < end) return this.#keep(buffer, offset, end - offset, tags);
      const timestampMs = ((buffer[offset + 7]! << 24) | (buffer[offset + 4]! << 16) | (buffer[offset + 5]! << 8) | buffer[offset + 6]!) >>> 0;
      tags.push({ type: buffer[offset]!, timestampMs, body: buffer.slice(offset + TAG_HEADER_BYTES, offset + TAG_HEADER_BYTES + size) });
      offset = end;
    }
    return this.#keep(buffer, offset, TAG_HEADER_BYTES, tags);
  }

  /** Keeps `buffer` from `offset` for the next push, which needs `needed` bytes from there; returns `tags`. */
  #keep(buffer: Uint8Array, offset: number, needed: number, tags: FlvTag[]): FlvTag[] {
    const rest = buffer.slice(offset);
    this.#pending = rest.byteLength > 0 ? [rest] : [];
    this.#pendingBytes = rest.byteLength;
    this.#needed = needed;
    return tags;
  }
}

/** What an H.264 video tag's body holds: the decoder configuration, an access unit, or nothing to use (end of sequence). */
export type AvcTagBody =
  | { kind: 'config'; avcC: Uint8Array }
  | { kind: 'frame'; keyframe: boolean; data: Uint8Array }
  | { kind: 'other' };

/** Reads a video tag body of ffmpeg's FLV muxer. Throws FlvFormatError for another codec or a truncated body. */
export function readAvcTag(body: Uint8Array): AvcTagBody {
  if (body.byteLength < 5) throw new FlvFormatError(`a video tag of ${body.byteLength} bytes`);
  if ((body[0]! & 0x0f) !== CODEC_AVC) throw new FlvFormatError(`video codec id ${body[0]! & 0x0f}, not H.264`);
  const data = body.subarray(5);
  if (body[1] === AVC_SEQUENCE_HEADER) return { kind: 'config', avcC: data };
  if (body[1] === AVC_NALU && data.byteLength > 0) return { kind: 'frame', keyframe: body[0]! >> 4 === FRAME_KEY, data };
  return { kind: 'other' };
}
