// Opus over RTP (RFC 7587): one packet is one Opus packet, a sample of its own; its duration is read from the TOC byte (RFC 6716 §3.1).
import { RtpFormatError } from './errors.ts';

/** Opus's RTP clock and the sample rate of its MP4 track. */
export const OPUS_CLOCK_RATE = 48_000;

/** Frame duration of each TOC configuration (0–31), µs. */
const FRAME_US = [
  10_000, 20_000, 40_000, 60_000, 10_000, 20_000, 40_000, 60_000, 10_000, 20_000, 40_000, 60_000, 10_000, 20_000, 10_000, 20_000,
  2_500, 5_000, 10_000, 20_000, 2_500, 5_000, 10_000, 20_000, 2_500, 5_000, 10_000, 20_000, 2_500, 5_000, 10_000, 20_000,
];
/** RFC 6716 §3.2.5: a packet holds at most 120 ms of audio. */
const MAX_PACKET_US = 120_000;

/** The audio an Opus packet holds, µs; throws RtpFormatError for an empty or malformed one. */
export function opusPacketDurationUs(packet: Uint8Array): number {
  const toc = packet[0];
  if (toc === undefined) throw new RtpFormatError('bad-payload', 'an empty Opus packet');
  const code = toc & 0x03;
  let frames = code === 0 ? 1 : code === 3 ? (packet[1] ?? 0) & 0x3f : 2;
  if (code === 3 && packet.byteLength < 2) frames = 0;
  const durationUs = frames * FRAME_US[toc >> 3]!;
  if (frames === 0 || durationUs > MAX_PACKET_US) throw new RtpFormatError('bad-payload', `an Opus packet of ${frames} frames (${durationUs} µs)`);
  return durationUs;
}
