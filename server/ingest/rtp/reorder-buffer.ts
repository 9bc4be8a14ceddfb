// The jitter/reorder buffer of one RTP stream: packets out in sequence order (16-bit numbers unwrapped), a gap waited for a bounded time, then reported lost.
import type { RtpPacket } from './rtp-packet.ts';

export type Released = { kind: 'packet'; packet: RtpPacket } | { kind: 'loss'; packets: number };

export interface ReorderLimits {
  /** How long packets after a gap are held for the missing ones to arrive, ms. */
  maxWaitMs: number;
  /** Packets held at most; one more, and the gap is given up as lost. */
  maxHeldPackets: number;
}

const SEQUENCE_MOD = 0x10000;
/**
 * A packet this far behind the next expected one is not late but a sender that restarted its numbering: the buffer
 * starts again from it (as libwebrtc treats a large backwards jump).
 */
const RESTART_BEHIND_PACKETS = 3000;

export class ReorderBuffer {
  #limits: ReorderLimits;
  /** The next extended (unwrapped) sequence number to release; undefined before the first packet. */
  #next: number | undefined;
  #held = new Map<number, { packet: RtpPacket; arrivedMs: number }>();
  #oldestHeldMs = Number.POSITIVE_INFINITY;
  #lostPackets = 0;
  #latePackets = 0;

  constructor(limits: ReorderLimits) {
    this.#limits = limits;
  }

  /** Packets given up as lost so far. */
  get lostPackets(): number {
    return this.#lostPackets;
  }

  /** Packets that came after their place was released (late or duplicated), dropped. */
  get latePackets(): number {
    return this.#latePackets;
  }

  /** Takes a packet arriving at `nowMs`; returns what can be released now, in order. */
  push(packet: RtpPacket, nowMs: number): Released[] {
    if (this.#next === undefined) {
      this.#next = packet.sequence + 1;
      return [{ kind: 'packet', packet }];
    }
    const expected = this.#next;
    // The extended number closest to the expected one: 16-bit wrap-around in either direction.
    const delta = ((packet.sequence - (expected % SEQUENCE_MOD) + SEQUENCE_MOD + SEQUENCE_MOD / 2) % SEQUENCE_MOD) - SEQUENCE_MOD / 2;
    const extended = expected + delta;
    if (delta < 0) {
      if (-delta < RESTART_BEHIND_PACKETS) {
        this.#latePackets++;
        return [];
      }
      const released = this.#drain();
      this.#next = extended + 1;
      return [...released, { kind: 'packet', packet }];
    }
    if (delta === 0) {
      this.#next = extended + 1;
      return [{ kind: 'packet', packet }, ...this.#releaseInOrder()];
    }
    if (!this.#held.has(extended)) {
      this.#held.set(extended, { packet, arrivedMs: nowMs });
      this.#oldestHeldMs = Math.min(this.#oldestHeldMs, nowMs);
    } else this.#latePackets++;
    if (this.#held.size > this.#limits.maxHeldPackets || delta > this.#limits.maxHeldPackets) return this.#drain();
    return this.flush(nowMs);
  }

  /** Gives up a gap whose packets after it waited `maxWaitMs`: reports the loss and releases what follows. */
  flush(nowMs: number): Released[] {
    if (this.#held.size === 0 || nowMs - this.#oldestHeldMs < this.#limits.maxWaitMs) return [];
    return this.#drain();
  }

  /** Releases every held packet in order, with the gaps between them reported lost. */
  #drain(): Released[] {
    const released: Released[] = [];
    for (const extended of [...this.#held.keys()].sort((a, b) => a - b)) {
      const { packet } = this.#held.get(extended)!;
      if (extended > this.#next!) {
        const packets = extended - this.#next!;
        this.#lostPackets += packets;
        released.push({ kind: 'loss', packets });
      }
      released.push({ kind: 'packet', packet });
      this.#next = extended + 1;
    }
    this.#held.clear();
    this.#oldestHeldMs = Number.POSITIVE_INFINITY;
    return released;
  }

  /** After the expected packet came: the held ones that now follow without a gap. */
  #releaseInOrder(): Released[] {
    const released: Released[] = [];
    for (let entry = this.#held.get(this.#next!); entry; entry = this.#held.get(this.#next!)) {
      this.#held.delete(this.#next!);
      released.push({ kind: 'packet', packet: entry.packet });
      this.#next!++;
    }
    if (this.#held.size === 0) this.#oldestHeldMs = Number.POSITIVE_INFINITY;
    else this.#oldestHeldMs = Math.min(...[...this.#held.values()].map((h) => h.arrivedMs));
    return released;
  }
}
