// The broadcaster's stats window: rates between samples and the encode-latency median over a bounded stats.
import { describe, expect, it } from 'vitest';
import { StatsWindow } from './stats-window.ts';

describe('StatsWindow', () => {
  it('reports frames per second and kbit/s since the previous sample', () => {
    const stats = new StatsWindow();
    stats.restart(1_000, { frames: 10, bytes: 5_000 });
    stats.sample(2_000, { frames: 40, bytes: 255_000 });
    expect(stats.fps).toBe(30);
    expect(stats.bitrateKbps).toBe(2_000);
    // The next window starts where the last one ended.
    stats.sample(2_500, { frames: 52, bytes: 280_000 });
    expect(stats.fps).toBe(24);
    expect(stats.bitrateKbps).toBe(400);
  });

  it('keeps the last rates when no time passed, and reads 0 once idle', () => {
    const stats = new StatsWindow();
    stats.restart(0, { frames: 0, bytes: 0 });
    stats.sample(1_000, { frames: 29, bytes: 1_000 });
    stats.sample(1_000, { frames: 30, bytes: 2_000 });
    expect(stats.fps).toBe(29);
    stats.idle();
    expect([stats.fps, stats.bitrateKbps]).toEqual([0, 0]);
  });

  it('gives the median encode latency of the most recent samples only', () => {
    const stats = new StatsWindow(3);
    expect(stats.encodeLatencyMs).toBeNull();
    for (const ms of [100, 5.04, 7.25]) stats.addEncodeLatency(ms);
    expect(stats.encodeLatencyMs).toBe(7.3);
    // 100 falls out of the window of 3.
    stats.addEncodeLatency(6);
    expect(stats.encodeLatencyMs).toBe(6);
    stats.idle();
    expect(stats.encodeLatencyMs).toBe(6);
    // Forgotten (a rung that resumes after a pause): only what comes next counts.
    stats.forgetEncodeLatency();
    expect(stats.encodeLatencyMs).toBeNull();
    stats.addEncodeLatency(9);
    expect(stats.encodeLatencyMs).toBe(9);
  });
});
