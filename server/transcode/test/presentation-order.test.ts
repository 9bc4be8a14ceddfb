// Timestamp mapping: output frame k of the worker is the source's k-th frame in presentation order.
import { describe, expect, it } from 'vitest';
import { PresentationOrder } from '../presentation-order.ts';

describe('PresentationOrder', () => {
  it('hands out frames sent in decode order (with B-frames) in presentation order', () => {
    const order = new PresentationOrder();
    // I P B B P B B as an encoder with 2 B-frames sends them: presentation times 0, 3, 1, 2, 6, 4, 5 (frames of 1 ms).
    const pts = [0, 3, 1, 2, 6, 4, 5];
    const out: number[] = [];
    const decodeTimes: number[] = [];
    pts.forEach((p, i) => {
      order.add({ decodeUs: i * 1000 - 1000, presentationUs: p * 1000, keyframe: i === 0, fedAtMs: i });
      // The decoder has output what it can: every frame shown before the latest arrivals' earliest.
      if (i === 3 || i === 6) {
        while (order.size > 1) {
          const frame = order.next()!;
          out.push(frame.presentationUs);
          decodeTimes.push(frame.decodeUs);
        }
      }
    });
    while (order.size) {
      const frame = order.next()!;
      out.push(frame.presentationUs);
      decodeTimes.push(frame.decodeUs);
    }
    expect(out).toEqual([0, 1000, 2000, 3000, 4000, 5000, 6000]);
    // Decode times in decode order.
    expect(decodeTimes).toEqual([-1000, 0, 1000, 2000, 3000, 4000, 5000]);
    expect(order.next()).toBeUndefined();
  });

  it('knows its oldest write', () => {
    const order = new PresentationOrder();
    expect(order.oldestFedAtMs).toBeUndefined();
    order.add({ decodeUs: 1, presentationUs: 2, keyframe: false, fedAtMs: 10 });
    order.add({ decodeUs: 2, presentationUs: 1, keyframe: false, fedAtMs: 12 });
    expect(order.oldestFedAtMs).toBe(10);
    order.next();
    expect(order.oldestFedAtMs).toBe(10);
    order.next();
    expect(order.oldestFedAtMs).toBeUndefined();
  });
});
