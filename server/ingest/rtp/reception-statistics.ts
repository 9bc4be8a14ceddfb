// What an RTP receiver counts about one sender's stream for its receiver reports (RFC 3550 A.1, A.3, A.8): sequence, loss, jitter, the last sender report.
import type { ReportBlock, SenderReport } from './rtcp.ts';

const SEQUENCE_MOD = 0x10000;
/** RFC 3550 A.1: a jump ahead of more than this many packets, or back by more than MAX_MISORDER, is a sequence break... */
const MAX_DROPOUT = 3000;
const MAX_MISORDER = 100;
const RTP_TIMESTAMP_MOD = 2 ** 32;

/**
 * One SSRC's reception statistics, fed every RTP packet as it arrives (before any reordering: that is what the
 * sender's congestion control reads), and the sender reports. Times are ms on one monotonic clock.
 */
export class ReceptionStatistics {
  readonly ssrc: number;
  readonly #clockRate: number;
  #baseSequence = 0;
  #maxSequence = 0;
  /** Wrap-arounds of the sequence number, times 65536. */
  #cycles = 0;
  /** ...and after one, the sequence number the next packet must follow to confirm that the sender restarted. */
  #badSequence: number | undefined;
  #received = 0;
  #expectedPrior = 0;
  #receivedPrior = 0;
  #started = false;
  /** Relative transit time of the previous packet and the jitter estimate, in RTP timestamp units. */
  #transit: number | undefined;
  #jitter = 0;
  #lastReport: { ntpMiddle: number; arrivedMs: number } | undefined;

  constructor(ssrc: number, clockRate: number) {
    this.ssrc = ssrc;
    this.#clockRate = clockRate;
  }

  packet(sequence: number, rtpTimestamp: number, arrivedMs: number): void {
    if (!this.#started) {
      this.#started = true;
      this.#restart(sequence);
    } else if (!this.#updateSequence(sequence)) return;
    this.#received++;
    this.#updateJitter(rtpTimestamp, arrivedMs);
  }

  senderReport(report: SenderReport, arrivedMs: number): void {
    this.#lastReport = { ntpMiddle: report.ntpMiddle, arrivedMs };
  }

  /** The report block for now; each call starts the next interval of the fraction lost (RFC 3550 A.3). */
  reportBlock(nowMs: number): ReportBlock {
    const extendedMax = this.#cycles + this.#maxSequence;
    const expected = extendedMax - this.#baseSequence + 1;
    const expectedInterval = expected - this.#expectedPrior;
    const receivedInterval = this.#received - this.#receivedPrior;
    this.#expectedPrior = expected;
    this.#receivedPrior = this.#received;
    const lostInterval = expectedInterval - receivedInterval;
    const report = this.#lastReport;
    return {
      ssrc: this.ssrc,
      fractionLost: expectedInterval === 0 || lostInterval <= 0 ? 0 : Math.min(255, Math.floor((lostInterval * 256) / expectedInterval)),
      cumulativeLost: expected - this.#received,
      extendedHighestSequence: extendedMax >>> 0,
      jitter: Math.floor(this.#jitter),
      lastSenderReport: report?.ntpMiddle ?? 0,
      delaySinceLastSenderReport: report ? Math.max(0, Math.floor(((nowMs - report.arrivedMs) * 65_536) / 1000)) : 0,
    };
  }

  #restart(sequence: number): void {
    this.#baseSequence = sequence;
    this.#maxSequence = sequence;
    this.#badSequence = undefined;
    this.#cycles = 0;
    this.#received = 0;
    this.#expectedPrior = 0;
    this.#receivedPrior = 0;
  }

  /** RFC 3550 A.1's update_seq (without its probation: the SSRC is already the negotiated one); false: the packet is not counted. */
  #updateSequence(sequence: number): boolean {
    const delta = (sequence - this.#maxSequence + SEQUENCE_MOD) % SEQUENCE_MOD;
    if (delta < MAX_DROPOUT) {
      // In order, with a permissible gap.
      if (sequence < this.#maxSequence) this.#cycles += SEQUENCE_MOD;
      this.#maxSequence = sequence;
    } else if (delta <= SEQUENCE_MOD - MAX_MISORDER) {
      // A very large jump: taken as the sender's restart only when the next packet follows it.
      if (sequence === this.#badSequence) {
        this.#restart(sequence);
        return true;
      }
      this.#badSequence = (sequence + 1) % SEQUENCE_MOD;
      return false;
    }
    // Otherwise a duplicate or reordered packet: counted as received.
    return true;
  }

  /** RFC 3550 A.8: J += (|D| - J) / 16, D the change in transit time between consecutive packets. */
  #updateJitter(rtpTimestamp: number, arrivedMs: number): void {
    const transit = (arrivedMs * this.#clockRate) / 1000 - rtpTimestamp;
    if (this.#transit !== undefined) {
      // The RTP timestamp wraps at 2^32: the difference is read as the nearest one.
      const d = ((((transit - this.#transit) % RTP_TIMESTAMP_MOD) + RTP_TIMESTAMP_MOD * 1.5) % RTP_TIMESTAMP_MOD) - RTP_TIMESTAMP_MOD / 2;
      this.#jitter += (Math.abs(d) - this.#jitter) / 16;
    }
    this.#transit = transit;
  }
}
