// RTP packets for the tests, written byte by byte as RFC 3550 lays them out (and read back through parseRtpPacket).
import { parseRtpPacket, type RtpPacket } from '../rtp-packet.ts';

export function rtpBytes(sequence: number, timestamp: number, payload: Uint8Array, options: { marker?: boolean; payloadType?: number; ssrc?: number } = {}): Uint8Array {
  const bytes = new Uint8Array(12 + payload.byteLength);
  const view = new DataView(bytes.buffer);
  bytes[0] = 0x80;
  bytes[1] = (options.marker ? 0x80 : 0) | (options.payloadType ?? 102);
  view.setUint16(2, sequence & 0xffff);
  view.setUint32(4, timestamp >>> 0);
  view.setUint32(8, options.ssrc ?? 0x1234_5678);
  bytes.set(payload, 12);
  return bytes;
}

export function rtp(sequence: number, timestamp: number, payload: Uint8Array, options: { marker?: boolean } = {}): RtpPacket {
  return parseRtpPacket(rtpBytes(sequence, timestamp, payload, options));
}

/** A NAL unit of `type` (NRI 3) and `size` bytes whose body counts up, so reassembly errors show. */
export function nal(type: number, size: number): Uint8Array {
  const unit = new Uint8Array(size).map((_, i) => (i * 7 + type) & 0xff);
  unit[0] = 0x60 | type;
  return unit;
}
