// Origin config: the defaults meet the spec's timing rules, and values that would break a playlist are refused at start.
import { describe, expect, it } from 'vitest';
import { ORIGIN_DEFAULTS, resolveOriginConfig, skipBoundaryS } from './config.ts';

describe('origin config', () => {
  it('defaults to 200 ms parts, 2 s segments, a 12-segment window and a 6 s blocking bound', () => {
    expect(resolveOriginConfig()).toEqual({ ...ORIGIN_DEFAULTS, blockingTimeoutMs: 6_000 });
    expect(ORIGIN_DEFAULTS).toMatchObject({ partTargetMs: 200, segmentTargetMs: 2000, windowSegments: 12 });
    expect(ORIGIN_DEFAULTS.keepSegments).toBeGreaterThan(0);
  });

  it.each([
    { segmentTargetMs: 1_000, blockingTimeoutMs: 3_000 },
    { segmentTargetMs: 2_500, blockingTimeoutMs: 9_000 },
    { segmentTargetMs: 4_000, blockingTimeoutMs: 12_000 },
    { segmentTargetMs: 10_000, blockingTimeoutMs: 30_000 },
  ])('holds blocking requests for three target durations: $segmentTargetMs ms segments → $blockingTimeoutMs ms', ({ segmentTargetMs, blockingTimeoutMs }) => {
    expect(resolveOriginConfig({ segmentTargetMs, windowSegments: 12 }).blockingTimeoutMs).toBe(blockingTimeoutMs);
  });

  it('keeps a blocking bound given explicitly', () => {
    expect(resolveOriginConfig({ segmentTargetMs: 10_000, blockingTimeoutMs: 300 }).blockingTimeoutMs).toBe(300);
  });

  it('offers delta updates by default, with a Skip Boundary of six target durations, only when the window is longer', () => {
    expect(skipBoundaryS(ORIGIN_DEFAULTS)).toBe(12);
    // The default window (24 s) outlasts the boundary, so a delta update skips something.
    expect(ORIGIN_DEFAULTS.windowSegments * ORIGIN_DEFAULTS.segmentTargetMs).toBeGreaterThan(12_000);
    expect(skipBoundaryS({ segmentTargetMs: 2000, windowSegments: 6 })).toBeUndefined();
    expect(skipBoundaryS({ segmentTargetMs: 2500, windowSegments: 10 })).toBe(18);
  });

  it.each([
    { partTargetMs: 0 },
    { segmentTargetMs: -1 },
    { windowSegments: 1.5 },
    { keepSegments: -1 },
    { blockingTimeoutMs: Number.NaN },
    { partTargetMs: 3000 },
    // Two 2 s segments are less than the three target durations a live playlist must keep.
    { windowSegments: 2 },
  ])('refuses %o', (overrides) => {
    expect(() => resolveOriginConfig(overrides)).toThrowError(expect.objectContaining({ code: 'bad-config' }));
  });
});
