// The order in which rungs pause and resume as the data channels' queues grow and drain.
import { describe, expect, it } from 'vitest';
import { SendPriority } from './send-priority.ts';

const limits = { maxBufferedBytes: 3000, lowBufferedBytes: 900 };

describe('SendPriority', () => {
  it('pauses the top rung first and the lowest last, and resumes them lowest first', () => {
    const priority = new SendPriority(3, limits);
    const steps = [0, 1001, 2001, 3001, 1000, 599, 299, 0].map((queued) => ({ resumed: priority.update(queued), paused: [...priority.paused] }));
    expect(steps.map((s) => s.paused)).toEqual([
      [false, false, false],
      [true, false, false],
      [true, true, false],
      [true, true, true],
      // Draining: nothing resumes above the low marks (900, 600, 300 bytes for the lowest, middle, top).
      [true, true, true],
      [true, false, false],
      [false, false, false],
      [false, false, false],
    ]);
    expect(steps.map((s) => s.resumed)).toEqual([false, false, false, false, false, true, true, false]);
  });

  it('with one rung, pauses at the limit and resumes below the low mark', () => {
    const priority = new SendPriority(1, limits);
    expect([3000, 3001, 900, 899].map((queued) => (priority.update(queued), priority.paused[0]))).toEqual([false, true, true, false]);
  });
});
