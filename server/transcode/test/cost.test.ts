// The cost model a new ladder is admitted by: estimates from the measured figures, and the budget check's answer.
import { describe, expect, it } from 'vitest';
import { estimateCores, overBudget } from '../cost.ts';

describe('estimateCores', () => {
  it('gives back the measured figures for the default ladder on a 720p30 source', () => {
    const source = { width: 1280, height: 720 };
    expect(estimateCores(source, [])).toBeCloseTo(0.07, 3);
    expect(estimateCores(source, [{ width: 854, height: 480 }]) - estimateCores(source, [])).toBeCloseTo(0.11, 3);
    expect(estimateCores(source, [{ width: 426, height: 240 }]) - estimateCores(source, [])).toBeCloseTo(0.05, 3);
    expect(estimateCores(source, [{ width: 854, height: 480 }, { width: 426, height: 240 }])).toBeCloseTo(0.23, 3);
  });

  it('grows with the pictures and the frame rate', () => {
    const rungs = [{ width: 1280, height: 720 }];
    const hd = estimateCores({ width: 1920, height: 1080 }, rungs);
    expect(hd).toBeGreaterThan(estimateCores({ width: 1280, height: 720 }, rungs));
    expect(estimateCores({ width: 1920, height: 1080 }, rungs, 60)).toBeGreaterThan(1.5 * hd);
  });
});

describe('overBudget', () => {
  it('admits what fits beside the running workers, and says why it refuses what does not', () => {
    expect(overBudget(1, [0.3, 0.4], 0.25)).toBeUndefined();
    expect(overBudget(1, [], 1)).toBeUndefined();
    const reason = overBudget(1, [0.3, 0.5], 0.25);
    expect(reason).toContain('TRANSCODE_CPU_BUDGET=1');
    expect(reason).toContain('about 0.25 cores and 2 running workers use 0.80');
    expect(overBudget(0.1, [], 0.23)).toContain('0 running workers');
  });
});
