// Delivery-paced sending: how much may be in flight towards the ingest, from its receipts, and which track's queue sends next (pure code).

/** How a DeliveryPacer sizes what may be in flight; durations in milliseconds. */
export interface PacerConfig {
  /** Never less in flight than this, so a starting or idle stream, whose measured rate says little, is not starved. */
  floorBytes: number;
  /** Added to the round trip and the receipts' spacing: the queue allowed at the bottleneck, as time at its rate. */
  marginMs: number;
  /** The delivery rate is taken over the receipts of this long. */
  rateWindowMs: number;
  /**
   * The ingest's receipt interval (server/ingest/publish-session.ts: every 100 ms, sooner on a fast link): bytes that
   * arrived wait up to that long to be counted. Assumed until receipts were measured.
   */
  receiptIntervalMs: number;
}

/**
 * The floor lets a full ladder (~4.2 Mbit/s) start with receipts ~130 ms apart, and stays, with packet headers, well
 * below what a 2 Mbit/s uplink queues in 400 ms (~100 kB), so a link that narrows suddenly does not drop what is
 * already in flight.
 */
export const DEFAULT_PACER: PacerConfig = { floorBytes: 72 * 1024, marginMs: 100, rateWindowMs: 500, receiptIntervalMs: 100 };

/** A longer wait between receipts is a stalled link (nothing arrives), not a busy server: it earns no more budget. */
const MAX_RECEIPT_WAIT_MS = 400;
/** Until a round-trip time is read, the pacer assumes this one. */
const DEFAULT_RTT_MS = 50;
/**
 * A capacity sample counts only bytes of at least this share of the floor: a token bucket's burst (tbf's is a few
 * kB) passes at line rate, and a sample that small would take the bucket for the link.
 */
const CAPACITY_SAMPLE_FLOOR_SHARE = 0.5;

/**
 * Bytes in flight are those handed to the data channels that the ingest's receipts do not yet count: in the
 * browser's SCTP buffers, on the wire, or in a queue of the network. The budget is what the uplink delivers over a
 * round trip plus the receipts' spacing and a margin: enough to keep the link busy, while the network's queue stays
 * within the margin and the rest of the backlog waits in the send queues, where priorities and drops still apply.
 * (bufferedAmount cannot see what SCTP put on the wire and was not yet acknowledged: a narrowed uplink then drops
 * packets, and SCTP's retransmission back-off holds every channel for seconds.)
 *
 * A stream that sends below the link's rate measures only what it sends; as soon as it backs up, each round trip's
 * budget exceeds what the last one delivered by the margin, so the measured rate climbs to the link's within a few
 * round trips.
 *
 * The rate a budget is made from is the larger of that delivery rate and the link's capacity as the receipts have
 * proved it: what the stream sends on average (~4 Mbit/s for a full ladder) says nothing of how fast the link takes a
 * burst, and a keyframe in every rung (~150 kB) would otherwise wait behind the floor for the receipts to come, every
 * segment, on the fastest link. Bytes counted by a receipt beyond those handed before a moment were handed after it
 * and delivered before the receipt came: over that span the link carried at least that much (a lower bound whatever
 * the receipts' lag, on the one clock of the page). The capacity counts only while the link keeps up: while no byte
 * handed longer ago than the round trip and the margin is uncounted. So what only the capacity lets go is at most the
 * bytes of that last stretch (what a narrowed link had no time to show), and a link that narrows or stalls is paced
 * by the delivery rate, as without a capacity, as soon as the network holds more than the margin's queue; a receipt
 * that finds so forgets the capacity, which only a new burst proves again. (On a loaded machine, a receipt late by
 * more than the margin makes loopback look the same: the next keyframe then waits for one receipt.)
 */
export class DeliveryPacer {
  #config: PacerConfig;
  #handedBytes = 0;
  #deliveredBytes = 0;
  #receipts: { atMs: number; bytes: number }[] = [];
  #minRttMs = Number.POSITIVE_INFINITY;
  /** When frames were handed, one per instant, with the bytes handed before its first frame; receipts let go of old counted ones. */
  #handOffs: { atMs: number; before: number }[] = [];
  #capacityBps: number | null = null;

  constructor(config: PacerConfig = DEFAULT_PACER) {
    this.#config = config;
  }

  /** True once a receipt came: before that (or from an ingest that sends none) the pacer knows nothing. */
  get paced(): boolean {
    return this.#receipts.length > 0;
  }

  /** Bytes handed to the channels and not yet received. */
  get inFlightBytes(): number {
    return Math.max(0, this.#handedBytes - this.#deliveredBytes);
  }

  /** Bytes the ingest received so far, by its receipts. */
  get deliveredBytes(): number {
    return this.#deliveredBytes;
  }

  /** What the uplink delivered over the rate window, bits per second; null until two receipts span some time. */
  get deliveryBps(): number | null {
    const last = this.#receipts.at(-1);
    const first = this.#receipts[0];
    if (!first || !last || last.atMs - first.atMs <= 0) return null;
    return ((last.bytes - first.bytes) * 8000) / (last.atMs - first.atMs);
  }

  /** The most the link was proved to carry (see the class comment), bits per second; null until proved or once disproved. */
  get capacityBps(): number | null {
    return this.#capacityBps;
  }

  /** The lowest round-trip time seen, ms; the assumed one before any. */
  get minRttMs(): number {
    return Number.isFinite(this.#minRttMs) ? this.#minRttMs : DEFAULT_RTT_MS;
  }

  /**
   * The longest wait between two receipts over the rate window, ms (at most MAX_RECEIPT_WAIT_MS). It is the ingest's
   * interval while its event loop keeps up, and longer while it is busy: what arrived then is counted late, and the
   * budget covers that wait, or the pacer would throttle a link that has room to the rate of a busy server. A
   * congested link still delivers, so its receipts keep their interval: the wait does not grow with the network's
   * queue, and the budget does not chase it.
   */
  get receiptWaitMs(): number {
    if (this.#receipts.length < 2) return this.#config.receiptIntervalMs;
    let wait = 0;
    for (let i = 1; i < this.#receipts.length; i++) wait = Math.max(wait, this.#receipts[i]!.atMs - this.#receipts[i - 1]!.atMs);
    return Math.min(MAX_RECEIPT_WAIT_MS, wait);
  }

  /** How much may be in flight at `atMs`. */
  budgetBytes(atMs: number): number {
    const capacityBps = this.#keepingUp(atMs) ? (this.#capacityBps ?? 0) : 0;
    return this.#budgetFor(Math.max(this.deliveryBps ?? 0, capacityBps));
  }

  /** True when a frame of `bytes` may be handed over at `atMs`: it fits in the budget, or nothing is in flight. */
  hasRoomFor(bytes: number, atMs: number): boolean {
    const inFlight = this.inFlightBytes;
    return inFlight === 0 || inFlight + bytes <= this.budgetBytes(atMs);
  }

  /** Counts bytes handed to a track's channel at `atMs` (every frame, paced or not, so the receipts' totals line up). */
  handed(bytes: number, atMs: number): void {
    // Before the first receipt nothing prunes them (an ingest that sends none would let them grow).
    if (this.paced && this.#handOffs.at(-1)?.atMs !== atMs) this.#handOffs.push({ atMs, before: this.#handedBytes });
    this.#handedBytes += bytes;
  }

  /** Takes a receipt: the bytes received so far on every paced channel together, read at `atMs`. */
  received(atMs: number, totalBytes: number): void {
    // A receipt overtaken by a later one (they are not reordered on one channel, but be safe) says nothing new.
    if (totalBytes < this.#deliveredBytes) return;
    this.#deliveredBytes = totalBytes;
    this.#receipts.push({ atMs, bytes: totalBytes });
    while (this.#receipts.length > 2 && atMs - this.#receipts[1]!.atMs >= this.#config.rateWindowMs) this.#receipts.shift();
    const minSampleBytes = this.#config.floorBytes * CAPACITY_SAMPLE_FLOOR_SHARE;
    for (const { atMs: handedAtMs, before } of this.#handOffs) {
      const bytes = totalBytes - before;
      if (bytes < minSampleBytes || atMs <= handedAtMs) continue;
      this.#capacityBps = Math.max(this.#capacityBps ?? 0, (bytes * 8000) / (atMs - handedAtMs));
    }
    // A hand-off whose bytes are all counted goes once older than the budget's time: a sample from it would span a
    // burst and the quiet after it, well below the link's rate.
    while (this.#handOffs.length > 1 && this.#handOffs[1]!.before <= totalBytes && atMs - this.#handOffs[0]!.atMs > this.#budgetMs()) this.#handOffs.shift();
    if (!this.#keepingUp(atMs)) this.#capacityBps = null;
  }

  /** Takes a round-trip time reading of the connection. */
  roundTrip(ms: number): void {
    if (ms >= 0) this.#minRttMs = Math.min(this.#minRttMs, ms);
  }

  /** The time a budget covers: the least round trip, the wait for receipts and the margin, ms. */
  #budgetMs(): number {
    return this.minRttMs + this.receiptWaitMs + this.#config.marginMs;
  }

  /** What may be in flight at `bps`: what it carries over the budget's time, never below the floor. */
  #budgetFor(bps: number): number {
    return Math.max(this.#config.floorBytes, Math.round((bps / 8000) * this.#budgetMs()));
  }

  /** No byte handed longer ago than the round trip and the margin is uncounted at `atMs`. */
  #keepingUp(atMs: number): boolean {
    if (this.inFlightBytes === 0) return true;
    // The hand-off holding the first byte not yet counted.
    const oldest = this.#handOffs.findLast((h) => h.before <= this.#deliveredBytes);
    return !oldest || atMs - oldest.atMs <= this.minRttMs + this.#config.marginMs;
  }
}

/** A track's send queue as the scheduler sees it (send-queue.ts). */
export interface ScheduledQueue {
  /** The size of the next frame it would hand over; 0 when it holds none. */
  readonly nextFrameBytes: number;
  /** Hands its next frame to its channel. */
  sendNext(): void;
  /** Hands frames to its channel while the channel's own buffer is below the queue's mark (the fallback without receipts). */
  pump(): void;
}

/**
 * Hands frames from the track queues to their channels. With receipts, while the next frame fits in the pacer's
 * budget, always from the first queue in priority order that holds any (audio, then the lowest rung, up to the top one): each channel's
 * frames stay in order, while the fragments of a large chunk interleave with the other channels' frames. Without
 * receipts, each queue fills its channel up to its own mark, as before.
 */
export class PacedScheduler {
  #queues: readonly ScheduledQueue[];
  #pacer: DeliveryPacer;
  #now: () => number;

  /** `queues`: highest priority first; `now`: the clock the pacer is given times on, ms. */
  constructor(queues: readonly ScheduledQueue[], pacer: DeliveryPacer, now: () => number) {
    this.#queues = queues;
    this.#pacer = pacer;
    this.#now = now;
  }

  /** Sends what may go now; call it when frames were queued, a receipt came, or a channel drained. */
  wake(): void {
    if (!this.#pacer.paced) {
      for (const queue of this.#queues) queue.pump();
      return;
    }
    for (;;) {
      const queue = this.#queues.find((q) => q.nextFrameBytes > 0);
      // The first queue waits for room rather than let a lower one pass: the budget goes by priority.
      if (!queue || !this.#pacer.hasRoomFor(queue.nextFrameBytes, this.#now())) return;
      queue.sendNext();
    }
  }
}
