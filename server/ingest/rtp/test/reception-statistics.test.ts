import { describe, expect, it } from 'vitest';
import { ReceptionStatistics } from '../reception-statistics.ts';

const SSRC = 0xcafe;
/** 30 fps video on the 90 kHz clock: 3000 ticks, 33.3 ms a frame. */
const FRAME_TICKS = 3000;
const FRAME_MS = 100 / 3;
const report = { ssrc: SSRC, wallClockMs: 0, rtpTimestamp: 0 };

/** Feeds packets `sequences` (one frame each, arriving on time) from frame `from`. */
function feed(statistics: ReceptionStatistics, sequences: number[], from = 0): void {
  sequences.forEach((sequence, i) => statistics.packet(sequence & 0xffff, ((from + i) * FRAME_TICKS) >>> 0, (from + i) * FRAME_MS));
}

describe('ReceptionStatistics (RFC 3550 A.1, A.3, A.8)', () => {
  it('counts loss per interval (fraction of 256) and in all (cumulative), with the extended highest sequence number', () => {
    const statistics = new ReceptionStatistics(SSRC, 90_000);
    // 10 expected (100–109), 2 missing.
    feed(statistics, [100, 101, 102, 104, 105, 107, 108, 109]);
    expect(statistics.reportBlock(400)).toMatchObject({ ssrc: SSRC, fractionLost: Math.floor((2 * 256) / 10), cumulativeLost: 2, extendedHighestSequence: 109 });
    // The next interval loses nothing: the fraction is of this interval only, the cumulative count stays.
    feed(statistics, [110, 111, 112, 113], 10);
    expect(statistics.reportBlock(600)).toMatchObject({ fractionLost: 0, cumulativeLost: 2, extendedHighestSequence: 113 });
    // No packets at all since the last report: nothing expected, nothing lost.
    expect(statistics.reportBlock(700)).toMatchObject({ fractionLost: 0, cumulativeLost: 2 });
  });

  it('counts a late packet as received (the loss falls back) and a duplicate too (the loss can go negative)', () => {
    const statistics = new ReceptionStatistics(SSRC, 90_000);
    feed(statistics, [1, 2, 4]);
    feed(statistics, [3], 3);
    expect(statistics.reportBlock(0)).toMatchObject({ cumulativeLost: 0, extendedHighestSequence: 4 });
    feed(statistics, [4], 4);
    expect(statistics.reportBlock(0)).toMatchObject({ cumulativeLost: -1, fractionLost: 0 });
  });

  it('extends the sequence number across its 16-bit wrap-around (cycles in the upper 16 bits)', () => {
    const statistics = new ReceptionStatistics(SSRC, 90_000);
    feed(statistics, [65534, 65535, 0, 1, 3]);
    expect(statistics.reportBlock(0)).toMatchObject({ extendedHighestSequence: 0x10003, cumulativeLost: 1 });
  });

  it('takes a far jump as the sender\'s restart only when the next packet follows it (A.1)', () => {
    const statistics = new ReceptionStatistics(SSRC, 90_000);
    feed(statistics, [10, 11, 12]);
    feed(statistics, [30_000], 3);
    expect(statistics.reportBlock(0)).toMatchObject({ extendedHighestSequence: 12, cumulativeLost: 0 });
    feed(statistics, [30_001, 30_002], 4);
    expect(statistics.reportBlock(0)).toMatchObject({ extendedHighestSequence: 30_002, cumulativeLost: 0 });
  });

  it('estimates interarrival jitter in RTP units: 0 on a steady stream, J += (|D| − J)/16 per packet (A.8)', () => {
    const steady = new ReceptionStatistics(SSRC, 90_000);
    feed(steady, [1, 2, 3, 4, 5]);
    expect(steady.reportBlock(0).jitter).toBe(0);
    const late = new ReceptionStatistics(SSRC, 90_000);
    late.packet(1, 0, 0);
    // 10 ms of media arriving after 20 ms: D = 900 ticks.
    late.packet(2, 900, 20);
    expect(late.reportBlock(0).jitter).toBe(Math.floor(900 / 16));
    // Back on time: D = 900 again (the transit shrank by as much).
    late.packet(3, 2700, 30);
    expect(late.reportBlock(0).jitter).toBe(Math.floor(900 / 16 + (900 - 900 / 16) / 16));
    // Across the 32-bit RTP timestamp wrap nothing jumps.
    const wrap = new ReceptionStatistics(SSRC, 48_000);
    wrap.packet(1, 2 ** 32 - 960, 0);
    wrap.packet(2, 0, 20);
    wrap.packet(3, 960, 40);
    expect(wrap.reportBlock(0).jitter).toBe(0);
  });

  it('echoes the last sender report (LSR) with the time since it arrived (DLSR, 1/65536 s); zeros before any', () => {
    const statistics = new ReceptionStatistics(SSRC, 48_000);
    feed(statistics, [1]);
    expect(statistics.reportBlock(0)).toMatchObject({ lastSenderReport: 0, delaySinceLastSenderReport: 0 });
    statistics.senderReport({ ...report, ntpMiddle: 0x12345678 }, 1000);
    expect(statistics.reportBlock(1500)).toMatchObject({ lastSenderReport: 0x12345678, delaySinceLastSenderReport: 32_768 });
    statistics.senderReport({ ...report, ntpMiddle: 0x9abcdef0 }, 2000);
    expect(statistics.reportBlock(2250)).toMatchObject({ lastSenderReport: 0x9abcdef0, delaySinceLastSenderReport: 16_384 });
  });
});
