// RTCP (RFC 3550 §6, RFC 4585): the sender reports that tie RTP time to the sender's wall clock, and the picture loss indication that asks for a keyframe.
import { RtpFormatError } from './errors.ts';

export interface SenderReport {
  ssrc: number;
  /** The sender's wall clock (NTP time, as ms since the Unix epoch) at `rtpTimestamp`. */
  wallClockMs: number;
  rtpTimestamp: number;
}

const RTCP_SENDER_REPORT = 200;
const RTCP_PAYLOAD_FEEDBACK = 206;
const FMT_PLI = 1;
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
