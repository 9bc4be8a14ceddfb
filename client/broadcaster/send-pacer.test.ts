// What may be in flight towards the ingest, from its receipts, and which track's queue the scheduler sends from.
import { describe, expect, it } from 'vitest';
import { DeliveryPacer, PacedScheduler, type PacerConfig } from './send-pacer.ts';
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

/** Queues by priority (audio, low, high), each on its own channel, paced by `pacer`. */
function setup(pacer: DeliveryPacer): { log: string[]; queues: Record<'audio' | 'low' | 'high', SendQueue>; channels: Channel[]; wake: () => void } {
  const log: string[] = [];
  const channels = ['audio', 'low', 'high'].map((name) => new Channel(name, log));
  let scheduler: PacedScheduler | undefined;
  const hooks = { handed: (bytes: number) => pacer.handed(bytes), wake: () => scheduler?.wake() };
  const [audio, low, high] = channels.map((c) => new SendQueue(c, 1000, hooks)) as [SendQueue, SendQueue, SendQueue];
  scheduler = new PacedScheduler([audio, low, high], pacer);
  return { log, queues: { audio, low, high }, channels, wake: () => scheduler.wake() };
}

const frame = (name: number, bytes: number): Uint8Array => new Uint8Array(bytes).fill(name, 0, 1);

describe('DeliveryPacer', () => {
  it('counts in flight what was handed and not received, and takes the delivery rate over its window', () => {
    const pacer = new DeliveryPacer(CONFIG);
    expect(pacer.paced).toBe(false);
    expect(pacer.deliveryBps).toBeNull();
    pacer.handed(50_000);
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
    expect(pacer.budgetBytes).toBe(CONFIG.floorBytes);
    pacer.roundTrip(30);
    pacer.roundTrip(10);
    pacer.roundTrip(80);
    expect(pacer.minRttMs).toBe(10);
    for (let t = 0; t <= 500; t += 100) pacer.received(t, t * 250);
    // 2 Mbit/s = 250 kB/s, over 10 + 100 + 150 ms.
    expect(pacer.receiptWaitMs).toBe(100);
    expect(pacer.budgetBytes).toBe(65_000);
    pacer.handed(189_000);
    expect(pacer.hasRoomFor(1000)).toBe(true);
    expect(pacer.hasRoomFor(1001)).toBe(false);
    // Nothing in flight: any frame may go, however large.
    pacer.received(600, 190_000);
    expect(pacer.hasRoomFor(1_000_000)).toBe(true);
    // Receipts closer together than the interval shorten the wait for them: 25 ms apart, 10 + 25 + 150 ms.
    const fast = new DeliveryPacer(CONFIG);
    fast.roundTrip(10);
    for (let t = 0; t <= 500; t += 25) fast.received(t, (t / 25) * 6250);
    expect(fast.receiptWaitMs).toBe(25);
    expect(fast.budgetBytes).toBe(46_250);
    // A busy server's receipts come late: the budget covers the longest wait, so its lag does not throttle the link.
    const busy = new DeliveryPacer(CONFIG);
    busy.roundTrip(10);
    for (const t of [0, 100, 400, 500]) busy.received(t, t * 250);
    expect(busy.receiptWaitMs).toBe(300);
    expect(busy.budgetBytes).toBe(115_000);
    // No receipt for longer than 400 ms is a stalled link: the wait counts 400 ms at most.
    busy.received(1500, 500 * 250 + 1000);
    expect(busy.receiptWaitMs).toBe(400);
    // A slow link's budget is the floor.
    const slow = new DeliveryPacer(CONFIG);
    slow.received(0, 0);
    slow.received(500, 1000);
    expect(slow.budgetBytes).toBe(CONFIG.floorBytes);
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
    pacer.handed(20_000);
    queues.audio.writeChunk(true, () => queues.audio.send(frame(2, 200)));
    expect(log).toEqual(['audio1']);
    expect(queues.audio.nextFrameBytes).toBe(200);
  });
});
