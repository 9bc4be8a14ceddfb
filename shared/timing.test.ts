// Timing derived from the segment and part targets: the target duration rounds up, the blocking hold is 3 of them.
import { describe, expect, it } from 'vitest';
import { blockingHoldMs, deriveTiming, targetDurationS } from './timing.ts';

describe('timing', () => {
  it('rounds the target duration up to whole seconds', () => {
    expect(targetDurationS({ segmentTargetMs: 2000 })).toBe(2);
    expect(targetDurationS({ segmentTargetMs: 2001 })).toBe(3);
    expect(targetDurationS({ segmentTargetMs: 500 })).toBe(1);
  });

  it('holds a blocking request for three target durations', () => {
    expect(blockingHoldMs(2)).toBe(6_000);
    expect(blockingHoldMs(10)).toBe(30_000);
  });

  it.each([
    [{ partTargetMs: 200, segmentTargetMs: 2_000 }, { targetDurationS: 2, blockingHoldMs: 6_000 }],
    [{ partTargetMs: 333, segmentTargetMs: 2_500 }, { targetDurationS: 3, blockingHoldMs: 9_000 }],
    [{ partTargetMs: 500, segmentTargetMs: 10_000 }, { targetDurationS: 10, blockingHoldMs: 30_000 }],
  ])('derives %o → %o', (timing, derived) => {
    expect(deriveTiming(timing)).toEqual(derived);
  });
});
