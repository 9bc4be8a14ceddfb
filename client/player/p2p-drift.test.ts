// driftBackRate: a p2p-mode playhead ahead of its target plays slower until it is back, with hysteresis, never faster.
import { describe, expect, it } from 'vitest';
import { driftBackRate, type DriftBackConfig } from './p2p-drift.ts';

const CONFIG: DriftBackConfig = { rate: 0.85, startAheadS: 0.5, settleAheadS: 0.1, intervalMs: 250 };

describe('driftBackRate', () => {
  it('plays at normal speed without a target or near it', () => {
    expect(driftBackRate(null, 1, CONFIG)).toBe(1);
    expect(driftBackRate(0.3, 1, CONFIG)).toBe(1);
    expect(driftBackRate(0, 1, CONFIG)).toBe(1);
  });

  it('slows down when the playhead is ahead of its target (a viewer who joined at go-live)', () => {
    expect(driftBackRate(3, 1, CONFIG)).toBe(0.85);
  });

  it('keeps drifting until within the settle distance, then plays at normal speed', () => {
    expect(driftBackRate(0.3, 0.85, CONFIG)).toBe(0.85);
    expect(driftBackRate(0.05, 0.85, CONFIG)).toBe(1);
  });

  it('never speeds up a playhead behind its target', () => {
    expect(driftBackRate(-4, 1, CONFIG)).toBe(1);
    expect(driftBackRate(-4, 0.85, CONFIG)).toBe(1);
  });
});
