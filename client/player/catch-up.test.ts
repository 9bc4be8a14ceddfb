// The catch-up controller against a simulated live playhead on a fake clock: converges, stays bounded, never starves the buffer.
import { describe, expect, it } from 'vitest';
import { CatchUpController, DEFAULT_CATCH_UP_CONFIG } from './catch-up.ts';
import type { CatchUpDecision } from './catch-up.ts';

const TICK_MS = 100;

/**
 * A live stream on a fake clock: the newest media buffered is always `deliveryMs` old, so buffer = latency − delivery.
 * Playing at rate r for dt lowers latency by (r − 1)·dt; a seek moves the playhead forward through the buffer.
 */
class SimulatedPlayhead {
  nowMs = 0;
  latencyMs: number;
  readonly deliveryMs: number;
  readonly rates: number[] = [];
  readonly seeks: number[] = [];

  constructor(latencyMs: number, deliveryMs: number) {
    this.latencyMs = latencyMs;
    this.deliveryMs = deliveryMs;
  }

  get bufferMs(): number {
    return Math.max(0, this.latencyMs - this.deliveryMs);
  }

  run(controller: CatchUpController, durationMs: number): void {
    for (const end = this.nowMs + durationMs; this.nowMs < end; this.nowMs += TICK_MS) {
      this.apply(controller.update({ nowMs: this.nowMs, latencyMs: this.latencyMs, bufferMs: this.bufferMs }));
    }
  }

  apply(decision: CatchUpDecision): void {
    if (decision.kind === 'seek') {
      this.seeks.push(decision.forwardMs);
      this.latencyMs -= decision.forwardMs;
      return;
    }
    this.rates.push(decision.playbackRate);
    this.latencyMs -= (decision.playbackRate - 1) * TICK_MS;
  }
}

describe('CatchUpController', () => {
  it('joins at the target: one jump forward as soon as the buffer reaches it, at 1× until then', () => {
    const controller = new CatchUpController({ targetLatencyMs: 800, minBufferMs: 250 });
    // Playing the independent part the player loaded first, 2 s behind, with only 1 s buffered so far.
    expect(controller.update({ nowMs: 0, latencyMs: 2000, bufferMs: 1000 })).toEqual({ kind: 'rate', playbackRate: 1 });
    expect(controller.update({ nowMs: 200, latencyMs: 2000, bufferMs: 1449 })).toEqual({ kind: 'rate', playbackRate: 1 });
    expect(controller.update({ nowMs: 400, latencyMs: 2000, bufferMs: 1800 })).toEqual({ kind: 'seek', forwardMs: 1200 });
    // Joined: a later gap of 500 ms is closed by playback rate, not by another jump.
    const later = controller.update({ nowMs: 600, latencyMs: 1300, bufferMs: 1200 });
    expect(later.kind === 'rate' && later.playbackRate).toBeGreaterThan(1);
    controller.reset();
    expect(controller.update({ nowMs: 800, latencyMs: 1300, bufferMs: 1200 })).toEqual({ kind: 'seek', forwardMs: 500 });
  });

  it('gives up waiting to jump after joinTimeoutMs when the buffer never reaches the target', () => {
    const controller = new CatchUpController({ targetLatencyMs: 300, minBufferMs: 250, joinTimeoutMs: 3000 });
    const playhead = new SimulatedPlayhead(1500, 400);
    playhead.run(controller, 2900);
    expect(playhead.rates.every((rate) => rate === 1)).toBe(true);
    playhead.run(controller, 2000);
    expect(playhead.seeks.length + playhead.rates.filter((rate) => rate > 1).length).toBeGreaterThan(0);
  });

  it('catches up after falling behind, back to the target within seconds, never faster than maxRate', () => {
    const controller = new CatchUpController({ targetLatencyMs: 800 });
    const playhead = new SimulatedPlayhead(800, 150);
    playhead.run(controller, TICK_MS);
    playhead.latencyMs = 1300;
    playhead.run(controller, 8000);

    expect(Math.abs(playhead.latencyMs - 800)).toBeLessThanOrEqual(DEFAULT_CATCH_UP_CONFIG.toleranceMs);
    expect(Math.max(...playhead.rates)).toBeLessThanOrEqual(DEFAULT_CATCH_UP_CONFIG.maxRate);
    expect(Math.max(...playhead.rates)).toBeGreaterThan(1);
    expect(playhead.seeks).toEqual([]);
    // Settled: the last second plays at normal speed.
    expect(playhead.rates.slice(-10).every((rate) => rate === 1)).toBe(true);
  });

  it('slows down, not below minRate, when playing closer to live than the target', () => {
    const controller = new CatchUpController({ targetLatencyMs: 800 });
    const playhead = new SimulatedPlayhead(500, 150);
    playhead.run(controller, 30_000);

    expect(Math.min(...playhead.rates)).toBeGreaterThanOrEqual(DEFAULT_CATCH_UP_CONFIG.minRate);
    expect(Math.min(...playhead.rates)).toBeLessThan(1);
    expect(Math.abs(playhead.latencyMs - 800)).toBeLessThanOrEqual(DEFAULT_CATCH_UP_CONFIG.toleranceMs);
  });

  it('plays at 1× while latency wanders inside the tolerance (hysteresis: no rate flapping)', () => {
    const controller = new CatchUpController({ targetLatencyMs: 800, toleranceMs: 80 });
    controller.update({ nowMs: 0, latencyMs: 800, bufferMs: 600 });
    const decisions = [760, 850, 800, 870, 735, 790].map((latencyMs) => controller.update({ nowMs: 0, latencyMs, bufferMs: 600 }));
    expect(decisions).toEqual(decisions.map(() => ({ kind: 'rate', playbackRate: 1 })));
  });

  it('once correcting, keeps correcting until latency is back within the settle band', () => {
    const controller = new CatchUpController({ targetLatencyMs: 800, toleranceMs: 80, settleMs: 20 });
    controller.update({ nowMs: 0, latencyMs: 800, bufferMs: 600 });
    expect(controller.update({ nowMs: 0, latencyMs: 900, bufferMs: 600 })).toMatchObject({ kind: 'rate' });
    const inside = controller.update({ nowMs: 0, latencyMs: 850, bufferMs: 600 });
    expect(inside.kind === 'rate' && inside.playbackRate).toBeGreaterThan(1);
    expect(controller.update({ nowMs: 0, latencyMs: 815, bufferMs: 600 })).toEqual({ kind: 'rate', playbackRate: 1 });
  });

  it('does not speed up when the buffer is thin: the media is late, and going faster would stall', () => {
    const controller = new CatchUpController({ targetLatencyMs: 800, minBufferMs: 250 });
    controller.update({ nowMs: 0, latencyMs: 800, bufferMs: 600 });
    expect(controller.update({ nowMs: 0, latencyMs: 1200, bufferMs: 200 })).toEqual({ kind: 'rate', playbackRate: 1 });
    const fed = controller.update({ nowMs: 0, latencyMs: 1200, bufferMs: 900 });
    expect(fed.kind === 'rate' && fed.playbackRate).toBeGreaterThan(1);
  });

  it('jumps forward through the buffer when far behind, leaving minBufferMs ahead', () => {
    const controller = new CatchUpController({ targetLatencyMs: 800, seekAheadMs: 1500, minBufferMs: 250 });
    expect(controller.update({ nowMs: 0, latencyMs: 4000, bufferMs: 5000 })).toEqual({ kind: 'seek', forwardMs: 3200 });
    // Behind by as much, but only 1 s buffered: jump no further than the buffer allows.
    expect(controller.update({ nowMs: 0, latencyMs: 4000, bufferMs: 1000 })).toEqual({ kind: 'seek', forwardMs: 750 });
  });

  it('holds the target over a long run with a jittery network without draining the buffer', () => {
    const controller = new CatchUpController({ targetLatencyMs: 800 });
    const playhead = new SimulatedPlayhead(1100, 150);
    let minBufferMs = Infinity;
    // 30 minutes on the fake clock; every 7 s the network hiccups and the player falls 300 ms behind.
    for (let minute = 0; minute < 30 * 60; minute += 7) {
      playhead.latencyMs += 300;
      playhead.run(controller, 7000);
      minBufferMs = Math.min(minBufferMs, playhead.bufferMs);
    }
    expect(Math.abs(playhead.latencyMs - 800)).toBeLessThanOrEqual(DEFAULT_CATCH_UP_CONFIG.toleranceMs);
    expect(minBufferMs).toBeGreaterThan(DEFAULT_CATCH_UP_CONFIG.minBufferMs);
  });

  it('follows a target set from outside, and leaves it where it is on a stall (the adaptive target owns the raise)', () => {
    const controller = new CatchUpController({ targetLatencyMs: 800 });
    controller.update({ nowMs: 0, latencyMs: 800, bufferMs: 600 });
    controller.targetLatencyMs = 400;
    const faster = controller.update({ nowMs: 100, latencyMs: 800, bufferMs: 600 });
    expect(faster.kind === 'rate' && faster.playbackRate).toBeGreaterThan(1);
    controller.stalled();
    expect(controller.targetLatencyMs).toBe(400);
    controller.reset();
    expect(controller.targetLatencyMs).toBe(400);
    expect(() => (controller.targetLatencyMs = Number.NaN)).toThrow(RangeError);
  });

  it('plays slowly during an emergency switch down, letting latency drift by at most switchDriftMs, and never speeds up then', () => {
    const controller = new CatchUpController();
    const target = DEFAULT_CATCH_UP_CONFIG.targetLatencyMs;
    // Joined at the target first.
    controller.update({ nowMs: 0, latencyMs: target, bufferMs: 500 });
    expect(controller.update({ nowMs: 100, latencyMs: target + 100, bufferMs: 100, switchingDown: true })).toEqual({
      kind: 'rate',
      playbackRate: DEFAULT_CATCH_UP_CONFIG.switchRate,
    });
    expect(controller.update({ nowMs: 200, latencyMs: target + DEFAULT_CATCH_UP_CONFIG.switchDriftMs, bufferMs: 900, switchingDown: true })).toEqual({
      kind: 'rate',
      playbackRate: 1,
    });
    // Once the switch has landed, the ordinary catch-up takes the drift back.
    const after = controller.update({ nowMs: 300, latencyMs: target + 300, bufferMs: 900 });
    expect(after.kind === 'rate' && after.playbackRate > 1).toBe(true);
  });

  it('holds a 300 ms target through network hiccups: its margins shrink with the target, and it never starves the buffer', () => {
    const controller = new CatchUpController({ targetLatencyMs: 300 });
    // Chunks appended as they arrive: the newest buffered frame is 70 ms old. Joined 1.2 s behind.
    const playhead = new SimulatedPlayhead(1200, 70);
    playhead.run(controller, 1000);
    expect(playhead.seeks).toHaveLength(1);
    const reserveMs = (DEFAULT_CATCH_UP_CONFIG.minBufferMs * 300) / DEFAULT_CATCH_UP_CONFIG.marginsForTargetMs;
    let minBufferMs = Infinity;
    for (let second = 0; second < 120; second += 4) {
      playhead.latencyMs += 120;
      for (let t = 0; t < 4000; t += TICK_MS) {
        const decision = controller.update({ nowMs: playhead.nowMs, latencyMs: playhead.latencyMs, bufferMs: playhead.bufferMs });
        // Never faster than real time into the reserve.
        if (decision.kind === 'rate' && decision.playbackRate > 1) expect(playhead.bufferMs).toBeGreaterThan(reserveMs);
        playhead.apply(decision);
        playhead.nowMs += TICK_MS;
        minBufferMs = Math.min(minBufferMs, playhead.bufferMs);
      }
    }
    expect(Math.abs(playhead.latencyMs - 300)).toBeLessThanOrEqual((DEFAULT_CATCH_UP_CONFIG.toleranceMs * 300) / 800);
    expect(minBufferMs).toBeGreaterThan(reserveMs);
  });

  it('keeps the margins as set at and above marginsForTargetMs, and shrinks them in proportion below', () => {
    // 400 ms behind with 150 ms buffered: within a 250 ms target's reserve (78 ms) there is room to speed up; an 800 ms
    // target keeps 250 ms in reserve and does not.
    const low = new CatchUpController({ targetLatencyMs: 250 });
    low.update({ nowMs: 0, latencyMs: 250, bufferMs: 180 });
    const lowDecision = low.update({ nowMs: 0, latencyMs: 650, bufferMs: 150 });
    expect(lowDecision.kind === 'rate' && lowDecision.playbackRate).toBeGreaterThan(1);
    const high = new CatchUpController({ targetLatencyMs: 800 });
    high.update({ nowMs: 0, latencyMs: 800, bufferMs: 600 });
    expect(high.update({ nowMs: 0, latencyMs: 1200, bufferMs: 150 })).toEqual({ kind: 'rate', playbackRate: 1 });
    // Tolerance: 40 ms off a 400 ms target (tolerance 40) is left alone, 41 ms is corrected.
    const mid = new CatchUpController({ targetLatencyMs: 400 });
    mid.update({ nowMs: 0, latencyMs: 400, bufferMs: 300 });
    expect(mid.update({ nowMs: 0, latencyMs: 440, bufferMs: 300 })).toEqual({ kind: 'rate', playbackRate: 1 });
    const corrected = mid.update({ nowMs: 0, latencyMs: 441, bufferMs: 300 });
    expect(corrected.kind === 'rate' && corrected.playbackRate).toBeGreaterThan(1);
  });

  it('rejects rates that could not hold a target', () => {
    expect(() => new CatchUpController({ minRate: 1.1 })).toThrow(RangeError);
    expect(() => new CatchUpController({ maxRate: 0.9 })).toThrow(RangeError);
  });
});
