// The tracker's pure bounds: the per-connection announce rate and the validation of its configuration.
import { describe, expect, it } from 'vitest';
import { AnnounceRate } from '../announce-rate.ts';
import { resolveTrackerConfig, TRACKER_DEFAULTS } from '../config.ts';
import { TrackerError } from '../errors.ts';

describe('AnnounceRate', () => {
  it('allows a burst, then refills at the sustained rate, never above the burst', () => {
    const rate = new AnnounceRate(3, 2, 0);
    expect([rate.take(0), rate.take(0), rate.take(0), rate.take(0)]).toEqual([true, true, true, false]);
    expect(rate.take(499)).toBe(false);
    expect(rate.take(500)).toBe(true);
    expect(rate.take(500)).toBe(false);
    // An hour of quiet refills the burst, not an hour's worth.
    expect([rate.take(3_600_000), rate.take(3_600_000), rate.take(3_600_000), rate.take(3_600_000)]).toEqual([true, true, true, false]);
  });
});

describe('resolveTrackerConfig', () => {
  it('merges overrides into the defaults and refuses bounds that are not positive', () => {
    expect(resolveTrackerConfig({ maxPeersPerSwarm: 5 })).toEqual({ ...TRACKER_DEFAULTS, maxPeersPerSwarm: 5 });
    expect(resolveTrackerConfig({ announcesPerSecond: 0.5 }).announcesPerSecond).toBe(0.5);
    expect(() => resolveTrackerConfig({ maxConnections: 0 })).toThrow(TrackerError);
    expect(() => resolveTrackerConfig({ maxMessageBytes: 1.5 })).toThrow(/maxMessageBytes/);
    expect(() => resolveTrackerConfig({ announcesPerSecond: Number.NaN })).toThrow(/announcesPerSecond/);
  });
});
