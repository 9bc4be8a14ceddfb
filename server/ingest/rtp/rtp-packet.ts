// RTP packets (RFC 3550 §5.1) as they arrive on a track with RTCP multiplexed (RFC 5761): tell them apart and read the fixed header.
import { RtpFormatError } from './errors.ts';

export interface RtpPacket {
  payloadType: number;
  marker: boolean;
  /** 16-bit sequence number. */
  sequence: number;
  /** 32-bit media timestamp, in the payload format's clock rate. */
  timestamp: number;
  ssrc: number;
  payload: Uint8Array;
}

const RTP_VERSION = 2;
const FIXED_HEADER_BYTES = 12;

/** RFC 5761 §4: with RTCP multiplexed, a second byte of 192–223 (RTCP packet types 192–223) is RTCP, not RTP. */
export function isRtcp(bytes: Uint8Array): boolean {
  const second = bytes[1];
  return bytes.byteLength >= 8 && second !== undefined && second >= 192 && second <= 223;
}

/** Reads an RTP packet: CSRCs, the header extension and padding are skipped; throws RtpFormatError when it is not one. */
export function parseRtpPacket(bytes: Uint8Array): RtpPacket {
  if (bytes.byteLength < FIXED_HEADER_BYTES) throw new RtpFormatError('bad-packet', `an RTP packet of ${bytes.byteLength} bytes`);
  const first = bytes[0]!;
  if (first >> 6 !== RTP_VERSION) throw new RtpFormatError('bad-packet', `RTP version ${first >> 6}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = FIXED_HEADER_BYTES + (first & 0x0f) * 4;
  if (first & 0x10) {
    if (offset + 4 > bytes.byteLength) throw new RtpFormatError('bad-packet', 'the RTP header extension runs past the packet');
    offset += 4 + view.getUint16(offset + 2) * 4;
  }
  let end = bytes.byteLength;
  if (first & 0x20) end -= bytes[end - 1]!;
  if (offset > end) throw new RtpFormatError('bad-packet', 'the RTP header and padding run past the packet');
  return {
    payloadType: bytes[1]! & 0x7f,
    marker: (bytes[1]! & 0x80) !== 0,
    sequence: view.getUint16(2),
    timestamp: view.getUint32(4),
    ssrc: view.getUint32(8),
    payload: bytes.subarray(offset, end),
  };
}
