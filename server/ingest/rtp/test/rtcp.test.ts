import { describe, expect, it } from 'vitest';
import { RtpFormatError } from '../errors.ts';
import { opusPacketDurationUs } from '../opus.ts';
import { parseSenderReports, pictureLossIndication } from '../rtcp.ts';
import { isRtcp, parseRtpPacket } from '../rtp-packet.ts';
import { rtpBytes } from './packets.ts';

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
});
