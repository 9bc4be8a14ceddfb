// RTP and RTCP packets for the tests, written and read byte by byte as RFC 3550 and its extensions lay them out (RTP read back through parseRtpPacket).
import type { ReportBlock } from '../rtcp.ts';
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

/** A receiver report's fields as RFC 3550 §6.4.2 lays them out, read independently of the code that writes them. */
export function readReceiverReport(bytes: Uint8Array): { senderSsrc: number; blocks: ReportBlock[] } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes[0]! >> 6 !== 2 || bytes[1] !== 201) throw new Error(`not a receiver report: ${bytes[0]} ${bytes[1]}`);
  const blocks: ReportBlock[] = [];
  for (let i = 0; i < (bytes[0]! & 0x1f); i++) {
    const at = 8 + i * 24;
    blocks.push({
      ssrc: view.getUint32(at),
      fractionLost: bytes[at + 4]!,
      cumulativeLost: (view.getUint32(at + 4) << 8) >> 8,
      extendedHighestSequence: view.getUint32(at + 8),
      jitter: view.getUint32(at + 12),
      lastSenderReport: view.getUint32(at + 16),
      delaySinceLastSenderReport: view.getUint32(at + 20),
    });
  }
  return { senderSsrc: view.getUint32(4), blocks };
}

/** A REMB's bitrate (mantissa × 2^exponent) and SSRCs (draft-alvestrand-rmcat-remb-03 §2.2). */
export function readRemb(bytes: Uint8Array): { senderSsrc: number; bitrate: number; ssrcs: number[] } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes[0] !== 0x8f || bytes[1] !== 206 || String.fromCharCode(...bytes.subarray(12, 16)) !== 'REMB') throw new Error('not a REMB');
  const word = view.getUint32(16);
  const ssrcs = Array.from({ length: bytes[16]! }, (_, i) => view.getUint32(20 + i * 4));
  return { senderSsrc: view.getUint32(4), bitrate: (word & 0x3ffff) * 2 ** ((word >>> 18) & 0x3f), ssrcs };
}
