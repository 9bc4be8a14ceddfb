// RTCP (RFC 3550 §6, RFC 4585): the sender reports that tie RTP time to the sender's wall clock; what a receiver sends back: receiver reports, REMB, the picture loss indication that asks for a keyframe.
import { RtpFormatError } from './errors.ts';

export interface SenderReport {
  ssrc: number;
  /** The sender's wall clock (NTP time, as ms since the Unix epoch) at `rtpTimestamp`. */
  wallClockMs: number;
  rtpTimestamp: number;
  /** The middle 32 bits of the report's NTP timestamp: what a receiver report echoes as LSR (RFC 3550 §6.4.1). */
  ntpMiddle: number;
}

/** One report block of a receiver report (RFC 3550 §6.4.1): how one sender's stream arrived. */
export interface ReportBlock {
  ssrc: number;
  /** Packets lost since the previous report over packets expected, as a fixed-point fraction of 256 (0–255). */
  fractionLost: number;
  /** Packets lost since the start (signed 24 bits: duplicates can make it negative). */
  cumulativeLost: number;
  /** The highest sequence number received, with the count of its 16-bit wrap-arounds in the upper 16 bits. */
  extendedHighestSequence: number;
  /** Interarrival jitter, in RTP timestamp units. */
  jitter: number;
  /** `ntpMiddle` of the sender's last report, 0 before any. */
  lastSenderReport: number;
  /** Time since that report arrived, in 1/65536 s; 0 before any. */
  delaySinceLastSenderReport: number;
}

const RTCP_SENDER_REPORT = 200;
const RTCP_RECEIVER_REPORT = 201;
const RTCP_PAYLOAD_FEEDBACK = 206;
const FMT_PLI = 1;
/** Application layer feedback (RFC 4585 §6.4), of which REMB is one. */
const FMT_AFB = 15;
const REPORT_BLOCK_BYTES = 24;
/** A report's 5-bit count field. */
const MAX_REPORT_BLOCKS = 31;
/** REMB's bitrate: an 18-bit mantissa shifted left by a 6-bit exponent. */
const REMB_MANTISSA_BITS = 18;
/** Seconds from the NTP epoch (1900) to the Unix epoch (1970). */
const NTP_UNIX_OFFSET_S = 2_208_988_800;

/** The sender reports in a compound RTCP packet; other packet types are skipped. Throws RtpFormatError on a malformed packet. */
export function parseSenderReports(bytes: Uint8Array): SenderReport[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const reports: SenderReport[] = [];
  let offset = 0;
  while (offset + 4 <= bytes.byteLength) {
    if (bytes[offset]! >> 6 !== 2) throw new RtpFormatError('bad-packet', `RTCP version ${bytes[offset]! >> 6}`);
    const length = (view.getUint16(offset + 2) + 1) * 4;
    if (offset + length > bytes.byteLength) throw new RtpFormatError('bad-packet', 'an RTCP packet runs past the compound packet');
    if (bytes[offset + 1] === RTCP_SENDER_REPORT && length >= 28) {
      const seconds = view.getUint32(offset + 8);
      const fraction = view.getUint32(offset + 12);
      reports.push({
        ssrc: view.getUint32(offset + 4),
        wallClockMs: (seconds - NTP_UNIX_OFFSET_S) * 1000 + (fraction / 2 ** 32) * 1000,
        rtpTimestamp: view.getUint32(offset + 16),
        ntpMiddle: ((seconds & 0xffff) * 0x10000 + (fraction >>> 16)) >>> 0,
      });
    }
    offset += length;
  }
  return reports;
}

/** A Picture Loss Indication (RFC 4585 §6.3.1): the sender of `mediaSsrc` answers with a keyframe. */
export function pictureLossIndication(senderSsrc: number, mediaSsrc: number): Uint8Array {
  const packet = new Uint8Array(12);
  const view = new DataView(packet.buffer);
  packet[0] = 0x80 | FMT_PLI;
  packet[1] = RTCP_PAYLOAD_FEEDBACK;
  view.setUint16(2, 2);
  view.setUint32(4, senderSsrc);
  view.setUint32(8, mediaSsrc);
  return packet;
}

/** A receiver report (RFC 3550 §6.4.2, PT 201) from `senderSsrc` with up to 31 report blocks. */
export function receiverReport(senderSsrc: number, blocks: readonly ReportBlock[]): Uint8Array {
  if (blocks.length > MAX_REPORT_BLOCKS) throw new RangeError(`${blocks.length} report blocks (at most ${MAX_REPORT_BLOCKS})`);
  const packet = new Uint8Array(8 + blocks.length * REPORT_BLOCK_BYTES);
  const view = new DataView(packet.buffer);
  packet[0] = 0x80 | blocks.length;
  packet[1] = RTCP_RECEIVER_REPORT;
  view.setUint16(2, packet.byteLength / 4 - 1);
  view.setUint32(4, senderSsrc);
  blocks.forEach((block, i) => {
    const at = 8 + i * REPORT_BLOCK_BYTES;
    view.setUint32(at, block.ssrc);
    // Fraction lost in the top byte, the cumulative count below it as 24-bit two's complement, clamped to its range.
    const cumulative = Math.max(-0x800000, Math.min(0x7fffff, block.cumulativeLost));
    view.setUint32(at + 4, ((block.fractionLost & 0xff) * 0x1000000 + (cumulative & 0xffffff)) >>> 0);
    view.setUint32(at + 8, block.extendedHighestSequence >>> 0);
    view.setUint32(at + 12, Math.min(0xffffffff, Math.round(block.jitter)));
    view.setUint32(at + 16, block.lastSenderReport >>> 0);
    view.setUint32(at + 20, Math.min(0xffffffff, Math.round(block.delaySinceLastSenderReport)));
  });
  return packet;
}

/**
 * A Receiver Estimated Maximum Bitrate message (draft-alvestrand-rmcat-remb-03 §2.2): the most the sender of
 * `mediaSsrcs` should send, bit/s (rounded down to what the 18-bit mantissa and 6-bit exponent can say).
 */
export function receiverEstimatedMaxBitrate(senderSsrc: number, bitrate: number, mediaSsrcs: readonly number[]): Uint8Array {
  if (!Number.isFinite(bitrate) || bitrate < 0) throw new RangeError(`a REMB bitrate of ${bitrate}`);
  if (mediaSsrcs.length > 0xff) throw new RangeError(`${mediaSsrcs.length} SSRCs in one REMB`);
  let exponent = 0;
  while (Math.floor(bitrate / 2 ** exponent) >= 2 ** REMB_MANTISSA_BITS) exponent++;
  const mantissa = Math.floor(bitrate / 2 ** exponent);
  const packet = new Uint8Array(20 + mediaSsrcs.length * 4);
  const view = new DataView(packet.buffer);
  packet[0] = 0x80 | FMT_AFB;
  packet[1] = RTCP_PAYLOAD_FEEDBACK;
  view.setUint16(2, packet.byteLength / 4 - 1);
  view.setUint32(4, senderSsrc);
  // The media source SSRC of the feedback header is unused: REMB names its streams below.
  view.setUint32(8, 0);
  packet.set([0x52, 0x45, 0x4d, 0x42], 12); // 'REMB'
  view.setUint32(16, (mediaSsrcs.length * 0x1000000 + exponent * 2 ** REMB_MANTISSA_BITS + mantissa) >>> 0);
  mediaSsrcs.forEach((ssrc, i) => view.setUint32(20 + i * 4, ssrc));
  return packet;
}
