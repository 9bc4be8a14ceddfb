// What may be in flight towards the ingest, from its receipts, and which track's queue the scheduler sends from.
import { describe, expect, it } from 'vitest';
import { DEFAULT_PACER, DeliveryPacer, PacedScheduler, type PacerConfig } from './send-pacer.ts';
import { SendQueue } from './send-queue.ts';

const CONFIG: PacerConfig = { floorBytes: 10_000, marginMs: 150, rateWindowMs: 600, receiptIntervalMs: 100 };

/** A channel that records which track's frames it was handed, and holds them until drained (as a data channel does). */
class Channel {
  readonly maxFrameBytes = 16 * 1024;
  bufferedAmount = 0;
  constructor(
    readonly name: string,
    readonly log: string[],
  ) {}

  send(frame: Uint8Array): void {
    this.log.push(`${this.name}${frame[0]}`);
    this.bufferedAmount += frame.byteLength;
  }
}

/** Queues by priority (audio, low, high), each on its own channel, paced by `pacer`; frames are handed at `clock.nowMs`. */
function setup(pacer: DeliveryPacer, clock = { nowMs: 0 }): { log: string[]; queues: Record<'audio' | 'low' | 'high', SendQueue>; channels: Channel[]; wake: () => void } {
  const log: string[] = [];
  const channels = ['audio', 'low', 'high'].map((name) => new Channel(name, log));
  let scheduler: PacedScheduler | undefined;
  const hooks = { handed: (bytes: number) => pacer.handed(bytes, clock.nowMs), wake: () => scheduler?.wake() };
  const [audio, low, high] = channels.map((c) => new SendQueue(c, 1000, hooks)) as [SendQueue, SendQueue, SendQueue];
  scheduler = new PacedScheduler([audio, low, high], pacer, () => clock.nowMs);
  return { log, queues: { audio, low, high }, channels, wake: () => scheduler.wake() };
}

const frame = (name: number, bytes: number): Uint8Array => new Uint8Array(bytes).fill(name, 0, 1);

describe('DeliveryPacer', () => {
  it('counts in flight what was handed and not received, and takes the delivery rate over its window', () => {
    const pacer = new DeliveryPacer(CONFIG);
    expect(pacer.paced).toBe(false);
    expect(pacer.deliveryBps).toBeNull();
    pacer.handed(50_000, 0);
    pacer.received(0, 10_000);
    expect(pacer.paced).toBe(true);
    expect(pacer.inFlightBytes).toBe(40_000);
    pacer.received(100, 35_000);
    // 25 kB in 100 ms: 2 Mbit/s.
    expect(pacer.deliveryBps).toBe(2_000_000);
    expect(pacer.inFlightBytes).toBe(15_000);
    // An older receipt changes nothing.
    pacer.received(120, 20_000);
    expect(pacer.inFlightBytes).toBe(15_000);
    // Receipts older than the window leave it: the rate follows the link when it narrows.
    for (let t = 200; t <= 1500; t += 100) pacer.received(t, 35_000 + ((t - 100) / 100) * 5000);
    expect(pacer.deliveryBps).toBe(400_000);
  });

  it('budgets the delivery rate over the least round trip, the receipts’ spacing and the margin, never below the floor', () => {
    const pacer = new DeliveryPacer(CONFIG);
    expect(pacer.budgetBytes(0)).toBe(CONFIG.floorBytes);
    pacer.roundTrip(30);
    pacer.roundTrip(10);
    pacer.roundTrip(80);
    expect(pacer.minRttMs).toBe(10);
    for (let t = 0; t <= 500; t += 100) pacer.received(t, t * 250);
    // 2 Mbit/s = 250 kB/s, over 10 + 100 + 150 ms.
    expect(pacer.receiptWaitMs).toBe(100);
    expect(pacer.budgetBytes(500)).toBe(65_000);
    pacer.handed(189_000, 500);
    expect(pacer.hasRoomFor(1000, 500)).toBe(true);
    expect(pacer.hasRoomFor(1001, 500)).toBe(false);
    // Nothing in flight: any frame may go, however large.
    pacer.received(600, 190_000);
    expect(pacer.hasRoomFor(1_000_000, 600)).toBe(true);
    // Receipts closer together than the interval shorten the wait for them: 25 ms apart, 10 + 25 + 150 ms.
    const fast = new DeliveryPacer(CONFIG);
    fast.roundTrip(10);
    for (let t = 0; t <= 500; t += 25) fast.received(t, (t / 25) * 6250);
    expect(fast.receiptWaitMs).toBe(25);
    expect(fast.budgetBytes(500)).toBe(46_250);
    // A busy server's receipts come late: the budget covers the longest wait, so its lag does not throttle the link.
    const busy = new DeliveryPacer(CONFIG);
    busy.roundTrip(10);
    for (const t of [0, 100, 400, 500]) busy.received(t, t * 250);
    expect(busy.receiptWaitMs).toBe(300);
    expect(busy.budgetBytes(500)).toBe(115_000);
    // No receipt for longer than 400 ms is a stalled link: the wait counts 400 ms at most.
    busy.received(1500, 500 * 250 + 1000);
    expect(busy.receiptWaitMs).toBe(400);
    // A slow link's budget is the floor.
    const slow = new DeliveryPacer(CONFIG);
    slow.received(0, 0);
    slow.received(500, 1000);
    expect(slow.budgetBytes(500)).toBe(CONFIG.floorBytes);
  });
});

describe('PacedScheduler', () => {
  it('without receipts, each queue fills its channel up to its own mark', () => {
    const pacer = new DeliveryPacer(CONFIG);
    const { log, queues, channels } = setup(pacer);
    queues.high.writeChunk(true, () => [1, 2, 3].forEach((n) => queues.high.send(frame(n, 600))));
    queues.audio.send(frame(1, 100));
    // The high queue's channel took frames until it held more than its 1000-byte mark; audio went on its own channel.
    expect(log).toEqual(['high1', 'high2', 'audio1']);
    expect(channels[2]!.bufferedAmount).toBe(1200);
    // Every frame handed is counted, so the receipts' totals line up once they come.
    pacer.received(0, 0);
    expect(pacer.inFlightBytes).toBe(1300);
  });

  it('with receipts, hands a frame when it fits in the budget, audio first, then the lowest rung, then the top', () => {
    const pacer = new DeliveryPacer(CONFIG);
    const { log, queues, wake } = setup(pacer);
    pacer.received(0, 0);
    // A large top-rung chunk: its fragments go while they fit in the budget (the 10 kB floor), the rest waits.
    queues.high.writeChunk(true, () => [1, 2, 3, 4].forEach((n) => queues.high.send(frame(n, 4000))));
    expect(log).toEqual(['high1', 'high2']);
    expect(pacer.inFlightBytes).toBe(8000);
    // A small audio frame still fits; the lowest rung's larger one waits, and the top rung's next chunk behind it.
    queues.high.writeChunk(false, () => queues.high.send(frame(5, 4000)));
    queues.audio.writeChunk(true, () => queues.audio.send(frame(1, 200)));
    queues.low.writeChunk(true, () => queues.low.send(frame(1, 2000)));
    expect(log).toEqual(['high1', 'high2', 'audio1']);
    // A receipt frees room: the lowest rung goes first, then the top rung's fragments as far as they fit.
    pacer.received(1000, 8000);
    wake();
    expect(log.slice(3)).toEqual(['low1', 'high3']);
    expect(queues.high.queuedBytes).toBe(8000);
    expect(pacer.inFlightBytes).toBe(6200);
  });

  it('a queued frame goes out at once on an idle link, and nothing is handed without room', () => {
    const pacer = new DeliveryPacer(CONFIG);
    const { log, queues } = setup(pacer);
    pacer.received(0, 0);
    queues.audio.writeChunk(true, () => queues.audio.send(frame(1, 200)));
    expect(log).toEqual(['audio1']);
    pacer.handed(20_000, 0);
    queues.audio.writeChunk(true, () => queues.audio.send(frame(2, 200)));
    expect(log).toEqual(['audio1']);
    expect(queues.audio.nextFrameBytes).toBe(200);
  });
});

/**
 * The uplink as the pacer sees it: a FIFO at `rateBps` (Infinity: an idle fast link) with `delayMs` each way, whose
 * ingest sends a receipt every 100 ms (its longest interval) of what arrived by then.
 */
class Link {
  rateBps: number;
  readonly delayMs: number;
  #busyUntilMs = 0;
  #total = 0;
  #arrivals: { atMs: number; total: number }[] = [];

  constructor(rateBps: number, delayMs: number) {
    this.rateBps = rateBps;
    this.delayMs = delayMs;
  }

  carry(bytes: number, atMs: number): void {
    this.#busyUntilMs = Math.max(atMs, this.#busyUntilMs) + (bytes * 8000) / this.rateBps;
    this.#total += bytes;
    this.#arrivals.push({ atMs: this.#busyUntilMs + this.delayMs, total: this.#total });
  }

  /** Bytes that arrived by `atMs`. */
  arrivedBy(atMs: number): number {
    return this.#arrivals.findLast((a) => a.atMs <= atMs)?.total ?? 0;
  }
}

/**
 * Streams a ladder through the pacer over `link`, a frame every 33 ms (audio 400 B, low rung 1.5 kB, top 10 kB) and
 * a keyframe in both rungs every 2 s (20 kB and 120 kB, sent as 16 kB fragments), from 0 to `toMs` in 1 ms steps.
 * Per keyframe: how long its frames waited in the send queues; and the most in flight after `watchFromMs`.
 */
function stream(pacer: DeliveryPacer, link: Link, toMs: number, watchFromMs = 0, onTick?: (atMs: number) => void): { keyframeWaitsMs: number[]; maxInFlightBytes: number } {
  const clock = { nowMs: 0 };
  const { queues, wake } = setup(pacer, clock);
  const handed = pacer.handed.bind(pacer);
  pacer.handed = (bytes, atMs) => {
    link.carry(bytes, atMs);
    handed(bytes, atMs);
  };
  pacer.roundTrip(2 * link.delayMs);
  const receipts: { atMs: number; bytes: number }[] = [];
  const fragments = (bytes: number): number[] => Array.from({ length: Math.ceil(bytes / 16_384) }, (_, i) => Math.min(16_384, bytes - i * 16_384));
  const keyframeWaitsMs: number[] = [];
  let keyframeAtMs: number | undefined;
  let maxInFlightBytes = 0;
  for (let t = 0; t <= toMs; t++) {
    clock.nowMs = t;
    onTick?.(t);
    if (t % 100 === 0) receipts.push({ atMs: t + link.delayMs, bytes: link.arrivedBy(t) });
    while (receipts[0] && receipts[0].atMs <= t) {
      pacer.received(t, receipts.shift()!.bytes);
      wake();
    }
    if (t % 33 === 0) {
      const key = t % 2000 < 33;
      queues.audio.writeChunk(true, () => queues.audio.send(frame(1, 400)));
      queues.low.writeChunk(key, () => fragments(key ? 20_000 : 1500).forEach((n) => queues.low.send(frame(1, n))));
      queues.high.writeChunk(key, () => fragments(key ? 120_000 : 10_000).forEach((n) => queues.high.send(frame(1, n))));
      if (key) keyframeAtMs = t;
    }
    if (keyframeAtMs !== undefined && queues.low.queuedBytes + queues.high.queuedBytes === 0) {
      keyframeWaitsMs.push(t - keyframeAtMs);
      keyframeAtMs = undefined;
    }
    if (t >= watchFromMs) maxInFlightBytes = Math.max(maxInFlightBytes, pacer.inFlightBytes);
  }
  return { keyframeWaitsMs, maxInFlightBytes };
}

describe('DeliveryPacer on a link that has shown its capacity', () => {
  it('sends a keyframe in every rung at once on an idle fast link, once a burst proved the link fast', () => {
    const pacer = new DeliveryPacer();
    const { keyframeWaitsMs } = stream(pacer, new Link(Number.POSITIVE_INFINITY, 1), 8100);
    // The first keyframes (~140 kB with what is in flight, over the 72 kB floor) wait for a receipt; that receipt proves the link carried them at once.
    expect(keyframeWaitsMs).toHaveLength(5);
    expect(keyframeWaitsMs[0]).toBeGreaterThan(0);
    expect(keyframeWaitsMs.slice(1)).toEqual([0, 0, 0, 0]);
    expect(pacer.capacityBps).toBeGreaterThan(10_000_000);
  });

  it('proves no more than a slow link carries, so its keyframes wait in the queues rather than in the network', () => {
    const pacer = new DeliveryPacer();
    const link = new Link(4_000_000, 10);
    const { keyframeWaitsMs, maxInFlightBytes } = stream(pacer, link, 8100);
    expect(pacer.capacityBps).not.toBeNull();
    expect(pacer.capacityBps!).toBeLessThanOrEqual(4_000_000);
    // 4 Mbit/s over 20 + 100 + 100 ms is 110 kB: the top rung's keyframe waits its turn behind what is in flight.
    expect(maxInFlightBytes).toBeLessThanOrEqual(110_000 + 16_384);
    expect(Math.min(...keyframeWaitsMs)).toBeGreaterThan(100);
  });

  it('takes the capacity from bytes handed after a moment and counted by a receipt, while the link keeps up', () => {
    const pacer = new DeliveryPacer(CONFIG);
    pacer.received(0, 0);
    pacer.handed(4000, 0);
    // Too few bytes for a sample: a token bucket's burst would pass at line rate.
    pacer.received(2, 4000);
    expect(pacer.capacityBps).toBeNull();
    pacer.handed(50_000, 1000);
    pacer.received(1010, 54_000);
    // 50 kB handed at 1000 ms and counted at 1010 ms (the 4 kB before them count for nothing): at least 40 Mbit/s.
    expect(pacer.capacityBps).toBe(40_000_000);
    // Over the assumed 50 ms round trip, the receipts' spacing (at most 400 ms) and the 150 ms margin: 5 kB/ms × 600 ms.
    expect(pacer.budgetBytes(1010)).toBe(3_000_000);
    // A byte uncounted for longer than the round trip and the margin (200 ms): the link does not keep up, and the budget
    // is the delivery rate's (50 kB over the 1008 ms between the window's two receipts, ~49.6 B/ms × 600 ms).
    pacer.handed(20_000, 1020);
    expect(pacer.budgetBytes(1220)).toBe(3_000_000);
    expect(pacer.budgetBytes(1221)).toBe(29_762);
    // A receipt that counts it: the link caught up, the capacity stands.
    pacer.received(1300, 74_000);
    expect(pacer.capacityBps).toBe(40_000_000);
    expect(pacer.budgetBytes(1300)).toBeGreaterThan(1_000_000);
    // A receipt that leaves a byte uncounted for longer than that forgets it: only a new burst proves it again.
    pacer.handed(20_000, 1310);
    pacer.received(1511, 74_000);
    expect(pacer.capacityBps).toBeNull();
  });

  it('paces by the delivery rate as soon as a fast link narrows, and forgets the capacity it proved', () => {
    const pacer = new DeliveryPacer();
    const link = new Link(Number.POSITIVE_INFINITY, 1);
    let forgottenAtMs: number | undefined;
    const narrowAtMs = 4500;
    const { maxInFlightBytes } = stream(pacer, link, 6000, narrowAtMs, (t) => {
      if (t === narrowAtMs) {
        expect(pacer.capacityBps).toBeGreaterThan(10_000_000);
        link.rateBps = 2_000_000;
      }
      if (t > narrowAtMs && forgottenAtMs === undefined && pacer.capacityBps === null) forgottenAtMs = t;
    });
    // 3.2 Mbit/s offered to 2 Mbit/s: the network's queue grows by 0.6 s a second and holds a byte longer than the round
    // trip and the margin (102 ms) after ~170 ms; a receipt (every 100 ms) finds it. (302 ms here.)
    expect(forgottenAtMs! - narrowAtMs).toBeLessThanOrEqual(400);
    // Meanwhile the capacity counted only while no byte was uncounted for longer than that, and after it the delivery
    // rate's budget: from the narrowing, a keyframe-free stretch never puts more in flight than the floor and a fragment.
    expect(maxInFlightBytes).toBeLessThanOrEqual(DEFAULT_PACER.floorBytes + 16_384);
  });
});
