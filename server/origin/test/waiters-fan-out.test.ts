// The timeline's two helpers on their own: blocking waits (every way one can end) and the fan-out of the part in production.
import { describe, expect, it } from 'vitest';
import type { PartChunk } from '../../packager/index.ts';
import { OriginError } from '../errors.ts';
import { PartFanOut, type PartReader } from '../part-fan-out.ts';
import { Waiters } from '../waiters.ts';

describe('Waiters', () => {
  it('answers ready at once, or on the change that makes the condition hold', async () => {
    const waiters = new Waiters();
    let value = 0;
    expect(await waiters.waitUntil(() => value === 0, 1_000)).toBe('ready');
    const held = waiters.waitUntil(() => value === 2, 5_000);
    expect(waiters.size).toBe(1);
    value = 1;
    waiters.changed();
    expect(waiters.size).toBe(1);
    value = 2;
    waiters.changed();
    expect(await held).toBe('ready');
    expect(waiters.size).toBe(0);
  });

  it('answers ended, timeout, aborted and closed when the condition will not hold', async () => {
    const waiters = new Waiters();
    expect(await waiters.waitUntil(() => false, 20)).toBe('timeout');
    const controller = new AbortController();
    const aborted = waiters.waitUntil(() => false, 5_000, controller.signal);
    controller.abort();
    expect(await aborted).toBe('aborted');
    const ending = waiters.waitUntil(() => false, 5_000);
    waiters.end();
    expect(await ending).toBe('ended');
    expect(await waiters.waitUntil(() => false, 5_000)).toBe('ended');
    const closing = new Waiters();
    const held = closing.waitUntil(() => false, 5_000);
    closing.close();
    closing.close();
    expect(await held).toBe('closed');
    expect(await closing.waitUntil(() => true, 5_000)).toBe('closed');
    expect(waiters.size + closing.size).toBe(0);
  });
});

function chunk(chunkIndex: number, byte: number, msn = 3, partIndex = 1): PartChunk {
  return { rendition: 'v0', msn, partIndex, chunkIndex, independent: chunkIndex === 0, data: new Uint8Array([byte, byte]) };
}

function recorder(): PartReader & { got: number[]; ended: boolean; aborted: string | undefined } {
  const reader = {
    got: [] as number[],
    ended: false,
    aborted: undefined as string | undefined,
    chunk: (data: Uint8Array) => reader.got.push(data[0]!),
    end: () => (reader.ended = true),
    abort: (reason: string) => (reader.aborted = reason),
  };
  return reader;
}

describe('PartFanOut', () => {
  it('gives a late reader the chunks so far, then every new one, then the end', () => {
    const fanOut = new PartFanOut('cam', 'v0');
    fanOut.start(chunk(0, 10), { msn: 3, partIndex: 1 });
    fanOut.add(chunk(1, 11));
    const reader = recorder();
    const stop = fanOut.follow(3, 1, reader);
    expect(stop).toBeDefined();
    expect(reader.got).toEqual([10, 11]);
    fanOut.add(chunk(2, 12));
    expect(reader.got).toEqual([10, 11, 12]);
    expect(fanOut.producing(3, 1)).toBe(true);
    fanOut.complete(3, 1, 6);
    expect(reader.ended).toBe(true);
    expect(fanOut.producing(3, 1)).toBe(false);
    expect(fanOut.follow(3, 1, recorder())).toBeUndefined();
  });

  it('tells readers why a part will never complete, and refuses chunks out of order or not due', () => {
    const fanOut = new PartFanOut('cam', 'v0');
    expect(() => fanOut.start(chunk(0, 1), { msn: 3, partIndex: 2 })).toThrow(OriginError);
    fanOut.start(chunk(0, 1), { msn: 3, partIndex: 1 });
    expect(() => fanOut.add(chunk(2, 1))).toThrow(/out of order/);
    expect(() => fanOut.complete(3, 1, 99)).toThrow(/its chunks 2/);
    const reader = recorder();
    fanOut.follow(3, 1, reader);
    fanOut.abandon('stream cam closed');
    expect(reader.aborted).toBe('stream cam closed');
    expect(fanOut.producing(3, 1)).toBe(false);
  });
});
