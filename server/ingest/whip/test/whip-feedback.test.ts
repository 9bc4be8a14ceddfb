import { afterEach, describe, expect, it } from 'vitest';
import { pollUntil } from '../../../../e2e/support/poll.ts';
import { INGEST_DEFAULTS } from '../../config.ts';
import { Ingest } from '../../ingest.ts';
import { nal, readReceiverReport, readRemb, rtpBytes } from '../../rtp/test/packets.ts';
import { RECEIVER_REPORT_INTERVAL_MS } from '../whip-session.ts';
import { closeRtpSenders, connectRtpSender, RTP_PAYLOAD_TYPE } from './rtp-sender.ts';

const SENDER_SSRC = 0x5eed;
const PAYLOAD_TYPE = RTP_PAYLOAD_TYPE;
/** What Chromium's offer adds for transport-wide congestion control, which the answer must not take (REMB would be ignored). */
const TRANSPORT_CC = [`a=rtcp-fb:${PAYLOAD_TYPE} transport-cc`, 'a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01'];
let ingest: Ingest | undefined;

afterEach(() => {
  closeRtpSenders();
  ingest?.close();
});

/** Adds transport-cc to the offer, as Chromium's has it. */
function withTransportCc(offer: string): string {
  const rewritten = offer.replace(/(a=rtpmap:96 H264\/90000\r\n)/, `$1${TRANSPORT_CC.join('\r\n')}\r\n`);
  expect(rewritten).toContain(TRANSPORT_CC[0]);
  return rewritten;
}

/** A sender report (RFC 3550 §6.4.1) at NTP time `ntpSeconds`.`ntpFraction`. */
function senderReport(ntpSeconds: number, ntpFraction: number, rtpTimestamp: number): Buffer {
  const bytes = Buffer.alloc(28);
  bytes[0] = 0x80;
  bytes[1] = 200;
  bytes.writeUInt16BE(6, 2);
  bytes.writeUInt32BE(SENDER_SSRC, 4);
  bytes.writeUInt32BE(ntpSeconds, 8);
  bytes.writeUInt32BE(ntpFraction, 12);
  bytes.writeUInt32BE(rtpTimestamp, 16);
  return bytes;
}

describe('WhipSession receiver feedback', () => {
  it('answers goog-remb and not transport-cc, and reports each second: loss, highest sequence, LSR, then a REMB of WHIP_MAX_BITRATE', async () => {
    ingest = new Ingest({ ...INGEST_DEFAULTS, whipMaxBitrate: 2_500_000 }, { partTargetMs: 200, segmentTargetMs: 2000 });
    const { track, answer } = await connectRtpSender(ingest, 'feedback', { ssrc: SENDER_SSRC, rewriteOffer: withTransportCc });
    const video = answer.answerSdp.slice(answer.answerSdp.indexOf('m=video'));
    expect(video).toContain(`a=rtcp-fb:${PAYLOAD_TYPE} goog-remb`);
    expect(video).not.toMatch(/transport-cc|transport-wide-cc/);

    const feedback: { at: number; bytes: Uint8Array }[] = [];
    track.onMessage((message) => {
      const bytes = new Uint8Array(message as Buffer);
      if (bytes[1] === 201) feedback.push({ at: performance.now(), bytes });
    });
    // 20 packets of one non-IDR slice each, 3 and 4 lost; then a sender report (NTP seconds 0x00aa1234, fraction 0x56789abc).
    for (let sequence = 1; sequence <= 20; sequence++) {
      if (sequence === 3 || sequence === 4) continue;
      track.sendMessageBinary(Buffer.from(rtpBytes(sequence, sequence * 3000, nal(1, 40), { payloadType: PAYLOAD_TYPE, ssrc: SENDER_SSRC, marker: true })));
    }
    track.sendMessageBinary(senderReport(0x00aa1234, 0x56789abc, 60_000));

    const reported = (): Promise<{ at: number; bytes: Uint8Array }[]> => Promise.resolve(feedback);
    const arrived = await pollUntil(
      reported,
      (all) => all.some(({ bytes }) => readReceiverReport(bytes).blocks[0]?.lastSenderReport !== 0),
      5_000,
      'a receiver report after the sender report',
    );
    const { at: lastAt, bytes: last } = arrived.at(-1)!;
    const rr = readReceiverReport(last);
    expect(rr.blocks).toHaveLength(1);
    expect(rr.blocks[0]).toMatchObject({ ssrc: SENDER_SSRC, extendedHighestSequence: 20, cumulativeLost: 2, lastSenderReport: 0x12345678 });
    // The DLSR is the time since the report arrived: under one report interval (plus scheduling), in 1/65536 s.
    expect(rr.blocks[0]!.delaySinceLastSenderReport).toBeLessThan(((RECEIVER_REPORT_INTERVAL_MS + 500) / 1000) * 65_536);
    // A REMB follows in the same compound packet, from the same SSRC, naming the sender's stream.
    const rrBytes = 8 + 24 * rr.blocks.length;
    expect(readRemb(last.subarray(rrBytes))).toEqual({ senderSsrc: rr.senderSsrc, bitrate: 2_500_000, ssrcs: [SENDER_SSRC] });

    // About one a second, not more: the next report comes an interval later (libdatachannel may hand one packet twice).
    const next = await pollUntil(reported, (all) => all.some(({ at }) => at - lastAt > 100), 5_000, 'the next receiver report');
    const gap = next.find(({ at }) => at - lastAt > 100)!.at - lastAt;
    expect(gap).toBeGreaterThan(RECEIVER_REPORT_INTERVAL_MS * 0.8);
    expect(gap).toBeLessThan(RECEIVER_REPORT_INTERVAL_MS * 2);
  }, 30_000);
});
