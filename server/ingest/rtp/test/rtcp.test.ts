import { describe, expect, it } from 'vitest';
import { RtpFormatError } from '../errors.ts';
import { opusPacketDurationUs } from '../opus.ts';
import { parseSenderReports, pictureLossIndication, receiverEstimatedMaxBitrate, receiverReport, type ReportBlock } from '../rtcp.ts';
import { isRtcp, parseRtpPacket } from '../rtp-packet.ts';
import { readReceiverReport, readRemb, rtpBytes } from './packets.ts';

/** A sender report (PT 200) at `unixMs`, then a receiver report (PT 201) with no blocks: a compound packet. */
function compound(ssrc: number, unixMs: number, rtpTimestamp: number): Uint8Array {
  const bytes = new Uint8Array(28 + 8);
  const view = new DataView(bytes.buffer);
  bytes[0] = 0x80;
  bytes[1] = 200;
  view.setUint16(2, 6);
  view.setUint32(4, ssrc);
  const seconds = Math.floor(unixMs / 1000) + 2_208_988_800;
  view.setUint32(8, seconds);
  view.setUint32(12, Math.round(((unixMs % 1000) / 1000) * 2 ** 32));
  view.setUint32(16, rtpTimestamp);
  bytes[28] = 0x80;
  bytes[29] = 201;
  view.setUint16(30, 1);
  view.setUint32(32, ssrc);
  return bytes;
}

describe('RTCP and RTP framing', () => {
  it('reads a sender report out of a compound packet: SSRC, NTP time as Unix ms, RTP timestamp', () => {
    const unixMs = Date.UTC(2026, 10, 30, 12, 0, 0, 250);
    const reports = parseSenderReports(compound(0xdeadbeef, unixMs, 0xfffffff0));
    expect(reports).toHaveLength(1);
    expect(reports[0]!.ssrc).toBe(0xdeadbeef);
    expect(reports[0]!.rtpTimestamp).toBe(0xfffffff0);
    expect(reports[0]!.wallClockMs).toBeCloseTo(unixMs, 3);
    // LSR: the low 16 bits of the NTP seconds, then the high 16 bits of the fraction (250 ms = 0x4000 of 0x10000).
    const seconds = Math.floor(unixMs / 1000) + 2_208_988_800;
    expect(reports[0]!.ntpMiddle).toBe(((seconds & 0xffff) * 0x10000 + 0x4000) >>> 0);
  });

  it('refuses an RTCP packet whose length runs past the datagram', () => {
    const truncated = compound(1, 0, 0).subarray(0, 20);
    expect(() => parseSenderReports(truncated)).toThrow(RtpFormatError);
  });

  it('writes a PLI (RFC 4585: PT 206, FMT 1, length 2) that names both SSRCs, and tells RTCP from RTP (RFC 5761)', () => {
    const pli = pictureLossIndication(0x01020304, 0x0a0b0c0d);
    expect([...pli]).toEqual([0x81, 206, 0, 2, 1, 2, 3, 4, 0x0a, 0x0b, 0x0c, 0x0d]);
    expect(isRtcp(pli)).toBe(true);
    expect(isRtcp(rtpBytes(1, 2, Uint8Array.of(0), { payloadType: 102, marker: true }))).toBe(false);
  });

  it('reads the RTP header past CSRCs, a header extension and padding', () => {
    const payload = Uint8Array.of(9, 8, 7);
    const bytes = Uint8Array.from([0xb1, 0xe6, 0, 5, 0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0, 2, 0xbe, 0xde, 0, 1, 0x10, 0xff, 0, 0, ...payload, 0, 0, 3]);
    const packet = parseRtpPacket(bytes);
    expect(packet).toMatchObject({ payloadType: 102, marker: true, sequence: 5, timestamp: 9, ssrc: 1 });
    expect([...packet.payload]).toEqual([...payload]);
    expect(() => parseRtpPacket(Uint8Array.of(0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))).toThrow(/version 1/);
  });

  it('reads an Opus packet\'s duration from its TOC byte (RFC 6716 §3.1)', () => {
    expect(opusPacketDurationUs(Uint8Array.of(0x78, 1, 2))).toBe(20_000); // config 15 (hybrid FB 20 ms), code 0: one frame
    expect(opusPacketDurationUs(Uint8Array.of(0xf9, 1))).toBe(40_000); // config 31 (CELT FB 20 ms), code 1: two frames
    expect(opusPacketDurationUs(Uint8Array.of(0x0b, 3))).toBe(60_000); // config 1 (SILK NB 20 ms), code 3: three frames
    expect(() => opusPacketDurationUs(Uint8Array.of(0x0b, 7))).toThrow(/140000 µs/); // over the 120 ms a packet may hold
    expect(() => opusPacketDurationUs(new Uint8Array(0))).toThrow(RtpFormatError);
  });

  // The packets of libwebrtc's own unit tests (modules/rtp_rtcp/source/rtcp_packet/receiver_report_unittest.cc, remb_unittest.cc): what Chromium reads.
  const BLOCK: ReportBlock = {
    ssrc: 0x23456789,
    fractionLost: 55,
    cumulativeLost: 0x111213,
    extendedHighestSequence: 0x22232425,
    jitter: 0x33343536,
    lastSenderReport: 0x44454647,
    delaySinceLastSenderReport: 0x55565758,
  };
  const RR_ONE_BLOCK = [0x81, 201, 0x00, 0x07, 0x12, 0x34, 0x56, 0x78, 0x23, 0x45, 0x67, 0x89, 55, 0x11, 0x12, 0x13, 0x22, 0x23, 0x24, 0x25, 0x33, 0x34, 0x35, 0x36, 0x44, 0x45, 0x46, 0x47, 0x55, 0x56, 0x57, 0x58];
  const REMB_THREE_SSRCS = [0x8f, 206, 0x00, 0x07, 0x12, 0x34, 0x56, 0x78, 0, 0, 0, 0, 0x52, 0x45, 0x4d, 0x42, 0x03, 0x07, 0xfb, 0x93, 0x23, 0x45, 0x67, 0x89, 0x23, 0x45, 0x67, 0x8a, 0x23, 0x45, 0x67, 0x8b];

  it('writes a receiver report (RFC 3550 §6.4.2: PT 201, RC blocks, length in words − 1) byte for byte', () => {
    expect([...receiverReport(0x12345678, [BLOCK])]).toEqual(RR_ONE_BLOCK);
    expect([...receiverReport(0x12345678, [])]).toEqual([0x80, 201, 0, 1, 0x12, 0x34, 0x56, 0x78]);
    const two = receiverReport(0x01020304, [BLOCK, { ...BLOCK, ssrc: 7, fractionLost: 0, cumulativeLost: -1, jitter: 12.7 }]);
    expect(two.byteLength).toBe(8 + 2 * 24);
    expect(two[0]).toBe(0x82);
    expect(new DataView(two.buffer).getUint16(2)).toBe(13);
    // Cumulative loss is 24-bit two's complement (duplicates can make it negative), and clamped to that range.
    expect([...two.subarray(8 + 24 + 4, 8 + 24 + 8)]).toEqual([0, 0xff, 0xff, 0xff]);
    expect(readReceiverReport(two)).toEqual({ senderSsrc: 0x01020304, blocks: [BLOCK, { ...BLOCK, ssrc: 7, fractionLost: 0, cumulativeLost: -1, jitter: 13 }] });
    expect(readReceiverReport(receiverReport(1, [{ ...BLOCK, cumulativeLost: 2 ** 30 }])).blocks[0]!.cumulativeLost).toBe(0x7fffff);
    expect(() => receiverReport(1, Array.from({ length: 32 }, () => BLOCK))).toThrow(RangeError);
  });

  it('writes a REMB (PT 206, FMT 15, "REMB", SSRC count, 6-bit exponent, 18-bit mantissa) byte for byte', () => {
    expect([...receiverEstimatedMaxBitrate(0x12345678, 0x3fb93 * 2, [0x23456789, 0x2345678a, 0x2345678b])]).toEqual(REMB_THREE_SSRCS);
    // 6 Mbit/s: 6e6 / 2^5 = 187500 fits in 18 bits, exactly.
    const remb = receiverEstimatedMaxBitrate(1, 6_000_000, [0xaabbccdd]);
    expect([...remb.subarray(16)]).toEqual([1, 0x16, 0xdc, 0x6c, 0xaa, 0xbb, 0xcc, 0xdd]);
    expect(readRemb(remb)).toEqual({ senderSsrc: 1, bitrate: 6_000_000, ssrcs: [0xaabbccdd] });
    // A rate the mantissa cannot hold exactly is rounded down, never up.
    const odd = readRemb(receiverEstimatedMaxBitrate(1, 2 ** 18 + 1, [])).bitrate;
    expect(odd).toBe(2 ** 18);
    expect(readRemb(receiverEstimatedMaxBitrate(1, 1e12, [])).bitrate).toBeLessThanOrEqual(1e12);
    expect(readRemb(receiverEstimatedMaxBitrate(1, 1e12, [])).bitrate).toBeGreaterThan(1e12 * (1 - 2 ** -17));
    expect(() => receiverEstimatedMaxBitrate(1, -1, [])).toThrow(RangeError);
  });

  it('a receiver report and a REMB make a compound packet the RTCP reader walks (RFC 3550 §6.1), as it walks a sender report with them', () => {
    const feedback = Uint8Array.from([...receiverReport(5, [BLOCK]), ...receiverEstimatedMaxBitrate(5, 6_000_000, [BLOCK.ssrc])]);
    expect(isRtcp(feedback)).toBe(true);
    expect(parseSenderReports(feedback)).toEqual([]);
    const withSr = Uint8Array.from([...compound(0xdeadbeef, 0, 1), ...feedback]);
    expect(parseSenderReports(withSr).map((r) => r.ssrc)).toEqual([0xdeadbeef]);
    expect(() => parseSenderReports(feedback.subarray(0, feedback.byteLength - 4))).toThrow(RtpFormatError);
  });
});
