import { describe, expect, it } from 'vitest';
import { ReorderBuffer, type Released } from '../reorder-buffer.ts';
import { rtp } from './packets.ts';

const payload = Uint8Array.of(1);
const sequences = (released: Released[]): (number | string)[] => released.map((r) => (r.kind === 'packet' ? r.packet.sequence : `lost ${r.packets}`));

describe('ReorderBuffer', () => {
  it('releases packets in order at once when they come in order', () => {
    const buffer = new ReorderBuffer({ maxWaitMs: 100, maxHeldPackets: 16 });
    expect(sequences([10, 11, 12].flatMap((s) => buffer.push(rtp(s, 0, payload), 0)))).toEqual([10, 11, 12]);
  });

  it('holds packets after a gap and releases them in order when the missing one comes', () => {
    const buffer = new ReorderBuffer({ maxWaitMs: 100, maxHeldPackets: 16 });
    expect(sequences(buffer.push(rtp(1, 0, payload), 0))).toEqual([1]);
    expect(sequences(buffer.push(rtp(3, 0, payload), 1))).toEqual([]);
    expect(sequences(buffer.push(rtp(4, 0, payload), 2))).toEqual([]);
    expect(sequences(buffer.push(rtp(2, 0, payload), 3))).toEqual([2, 3, 4]);
    expect(buffer.lostPackets).toBe(0);
  });

  it('unwraps the 16-bit sequence number: 65534, 65535, 0, 1 in order, and reordered across the wrap', () => {
    const buffer = new ReorderBuffer({ maxWaitMs: 100, maxHeldPackets: 16 });
    const out = [65534, 0, 65535, 1].flatMap((s, i) => buffer.push(rtp(s, 0, payload), i));
    expect(sequences(out)).toEqual([65534, 65535, 0, 1]);
  });

  it('reports a gap lost once its packets waited maxWaitMs, then goes on', () => {
    const buffer = new ReorderBuffer({ maxWaitMs: 100, maxHeldPackets: 16 });
    buffer.push(rtp(100, 0, payload), 0);
    expect(buffer.push(rtp(103, 0, payload), 10)).toEqual([]);
    expect(buffer.flush(109)).toEqual([]);
    expect(sequences(buffer.flush(110))).toEqual(['lost 2', 103]);
    expect(buffer.lostPackets).toBe(2);
    // A lost packet that comes after all is late, and dropped.
    expect(buffer.push(rtp(101, 0, payload), 120)).toEqual([]);
    expect(buffer.latePackets).toBe(1);
    expect(sequences(buffer.push(rtp(104, 0, payload), 130))).toEqual([104]);
  });

  it('gives a gap up when more than maxHeldPackets wait behind it', () => {
    const buffer = new ReorderBuffer({ maxWaitMs: 10_000, maxHeldPackets: 3 });
    buffer.push(rtp(0, 0, payload), 0);
    expect([2, 3, 4].flatMap((s) => buffer.push(rtp(s, 0, payload), 0))).toEqual([]);
    expect(sequences(buffer.push(rtp(5, 0, payload), 0))).toEqual(['lost 1', 2, 3, 4, 5]);
  });

  it('drops duplicates and starts again from a sender that restarted its numbering far behind', () => {
    const buffer = new ReorderBuffer({ maxWaitMs: 100, maxHeldPackets: 16 });
    buffer.push(rtp(20_000, 0, payload), 0);
    expect(buffer.push(rtp(20_000, 0, payload), 1)).toEqual([]);
    expect(sequences(buffer.push(rtp(5, 0, payload), 2))).toEqual([5]);
    expect(sequences(buffer.push(rtp(6, 0, payload), 3))).toEqual([6]);
  });
});
