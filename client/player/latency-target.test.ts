// The adaptive latency target on a fake clock: converges low on a clean network, backs off on a jittery one, rises at once on a stall, lowers slowly.
import { describe, expect, it } from 'vitest';
import { AdaptiveLatencyTarget, DEFAULT_LATENCY_TARGET_CONFIG } from './latency-target.ts';

/** The controller's own minimum as a low-latency viewer has it (`&target=` replaces the default 0.8 s floor). */
const LOW = { minTargetMs: 100 };

/** The player's control period. */
const TICK_MS = 200;
const PART_MS = 200;
const { marginMs, hysteresisMs, stallRaiseMs, lowerRateMsPerS, lowerAfterMs } = DEFAULT_LATENCY_TARGET_CONFIG;

/** Deterministic uniform numbers in [0, 1) (mulberry32), so a failure reproduces. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A playing viewer on a fake clock: a media sample every `everyMs` with the delay `delayAt(n)`, the target advanced every tick. */
class Viewer {
  nowMs = 0;
  readonly targets: number[] = [];
  #nextSampleMs = 0;
  #n = 0;

  constructor(
    readonly target: AdaptiveLatencyTarget,
    public delayAt: (n: number) => number,
    readonly everyMs = PART_MS,
  ) {}

  run(durationMs: number): number {
    for (const end = this.nowMs + durationMs; this.nowMs < end; ) {
      this.nowMs += TICK_MS;
      for (; this.#nextSampleMs <= this.nowMs; this.#nextSampleMs += this.everyMs) {
        this.target.addDelay({ nowMs: this.#nextSampleMs, delayMs: this.delayAt(this.#n++) });
      }
      this.targets.push(this.target.advance(this.nowMs));
    }
    return this.target.targetMs;
  }
}

/** 200 ms parts on loopback: each is playable 200 ms + a few ms of encode and transfer after its first frame. */
function cleanParts(seed = 1): (n: number) => number {
  const next = random(seed);
  return () => 230 + 10 * next();
}

/** The same with 30 ms of jitter: normally distributed, standard deviation 30 ms (Box–Muller). */
function jitteryParts(seed = 2): (n: number) => number {
  const next = random(seed);
  return () => Math.max(0, 230 + 30 * Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next()));
}

function directionChanges(values: number[]): number {
  let changes = 0;
  let last = 0;
  for (let i = 1; i < values.length; i++) {
    const step = Math.sign((values[i] ?? 0) - (values[i - 1] ?? 0));
    if (step !== 0 && last !== 0 && step !== last) changes++;
    if (step !== 0) last = step;
  }
  return changes;
}

describe('AdaptiveLatencyTarget', () => {
  it('starts at the initial target, then converges slowly on a clean network to the delay plus margin and stays', () => {
    const viewer = new Viewer(new AdaptiveLatencyTarget(LOW), cleanParts());
    expect(viewer.target.targetMs).toBe(DEFAULT_LATENCY_TARGET_CONFIG.initialTargetMs);
    // It starts where the former fixed target held and earns its way down: nothing for a clean stretch, then slowly.
    viewer.run(lowerAfterMs);
    expect(viewer.target.targetMs).toBe(DEFAULT_LATENCY_TARGET_CONFIG.initialTargetMs);
    viewer.run(5000);
    expect(viewer.target.targetMs).toBeGreaterThanOrEqual(DEFAULT_LATENCY_TARGET_CONFIG.initialTargetMs - lowerRateMsPerS * 5.2);
    viewer.run(45_000);
    const settled = viewer.target.targetMs;
    // The worst part of the window (240 ms) + margin + half the dead band, and nothing more.
    expect(settled).toBeGreaterThanOrEqual(240 + marginMs);
    expect(settled).toBeLessThanOrEqual(240 + marginMs + hysteresisMs);
    // Ten minutes more of the same network: it does not move.
    viewer.run(10 * 60_000);
    expect(Math.max(...viewer.targets.slice(-3000))).toBeLessThanOrEqual(settled + 5);
    expect(Math.min(...viewer.targets.slice(-3000))).toBeGreaterThanOrEqual(settled - 5);
  });

  it('settles higher with 30 ms of jitter, covering the late parts', () => {
    const clean = new Viewer(new AdaptiveLatencyTarget(LOW), cleanParts()).run(2 * 60_000);
    const jittery = new Viewer(new AdaptiveLatencyTarget(LOW), jitteryParts());
    const settled = jittery.run(2 * 60_000);
    expect(settled).toBeGreaterThan(clean + 40);
    // The latest of a window of 230 ± 30 ms parts is about 300 ms: the target covers it with its margin, and not much more.
    expect(settled).toBeGreaterThanOrEqual(280 + marginMs);
    expect(settled).toBeLessThanOrEqual(230 + 3 * 30 + marginMs + hysteresisMs);
  });

  it('raises the target at once on a stall, and more than the stall cost, then gives it back only slowly', () => {
    const viewer = new Viewer(new AdaptiveLatencyTarget(LOW), cleanParts());
    const before = viewer.run(60_000);
    viewer.target.stalled(viewer.nowMs);
    expect(viewer.target.targetMs).toBe(before + stallRaiseMs);
    // The raise holds for the stall-recovery minute and the clean stretch before any lowering.
    viewer.run(DEFAULT_LATENCY_TARGET_CONFIG.stallRecoveryMs - TICK_MS);
    expect(viewer.target.targetMs).toBe(before + stallRaiseMs);
    // Then it lowers no faster than lowerRateMsPerS.
    viewer.run(5000);
    expect(viewer.target.targetMs).toBeGreaterThanOrEqual(before + stallRaiseMs - (lowerRateMsPerS * 5200) / 1000);
    viewer.run(60_000);
    expect(viewer.target.targetMs).toBeLessThanOrEqual(before + 5);
    // Stalls add up to a bound.
    for (let i = 0; i < 20; i++) viewer.target.stalled(viewer.nowMs);
    expect(viewer.target.targetMs).toBeLessThanOrEqual(DEFAULT_LATENCY_TARGET_CONFIG.maxTargetMs);
  });

  it('rises at once when the network worsens, and comes back down slowly after a clean stretch', () => {
    const viewer = new Viewer(new AdaptiveLatencyTarget(LOW), cleanParts());
    const clean = viewer.run(30_000);
    const late = cleanParts(3);
    // One late part that did not stall is warning enough: the target covers it at once.
    viewer.delayAt = () => late(0) + 300;
    viewer.run(PART_MS);
    expect(viewer.target.targetMs).toBeGreaterThanOrEqual(530 + marginMs);
    const raisedAt = viewer.targets.length;
    viewer.delayAt = cleanParts(4);
    // The late parts stay in the window for windowMs, then the clean stretch must pass before lowering starts.
    viewer.run(DEFAULT_LATENCY_TARGET_CONFIG.windowMs);
    expect(viewer.target.targetMs).toBeGreaterThanOrEqual(530 + marginMs);
    viewer.run(60_000);
    expect(viewer.target.targetMs).toBeLessThanOrEqual(clean + 5);
    // Never faster than the lowering rate once it started.
    const descent = viewer.targets.slice(raisedAt);
    const steps = descent.slice(1).map((t, i) => (descent[i] ?? 0) - t);
    expect(Math.max(...steps.filter((step) => step > 0))).toBeLessThanOrEqual((lowerRateMsPerS * TICK_MS) / 1000 + 1e-9);
  });

  it('rises on a single late sample, but lowers only on the word of minSamples', () => {
    const target = new AdaptiveLatencyTarget(LOW);
    target.addDelay({ nowMs: 0, delayMs: 1500 });
    expect(target.advance(0)).toBe(1500 + marginMs + hysteresisMs / 2);
    // A stream of long segments: a sample every 5 s, so the window never holds minSamples; a minute later it has not lowered.
    const sparse = new Viewer(new AdaptiveLatencyTarget(LOW), () => 300, 5000);
    expect(sparse.run(60_000)).toBe(DEFAULT_LATENCY_TARGET_CONFIG.initialTargetMs);
  });

  it('does not oscillate over half an hour of alternating early and late parts, nor of random jitter', () => {
    const viewer = new Viewer(new AdaptiveLatencyTarget(LOW), (n) => (n % 2 === 0 ? 230 : 330));
    viewer.run(30 * 60_000);
    const afterFirstMinute = viewer.targets.slice(300);
    expect(directionChanges(afterFirstMinute)).toBe(0);
    expect(new Set(afterFirstMinute).size).toBe(1);
    expect(viewer.target.targetMs).toBeGreaterThanOrEqual(330 + marginMs);
    // Random jitter makes the window's quantile wander as samples come and go; the dead band keeps the target still
    // but for a rare far-out arrival (beyond 3.5 standard deviations), which raises it at once and is given back slowly:
    // at most three such episodes (a rise and its descent each) in half an hour, never a back-and-forth.
    const jittery = new Viewer(new AdaptiveLatencyTarget(LOW), jitteryParts(8));
    jittery.run(30 * 60_000);
    const settled = jittery.targets.slice(300);
    expect(directionChanges(settled)).toBeLessThanOrEqual(6);
    expect(Math.max(...settled) - Math.min(...settled)).toBeLessThan(hysteresisMs);
  });

  it('holds inside its dead band: the need moving by less than hysteresisMs / 2 either way moves nothing', () => {
    const viewer = new Viewer(new AdaptiveLatencyTarget(LOW), () => 300);
    const settled = viewer.run(30_000);
    expect(settled).toBe(300 + marginMs + hysteresisMs / 2);
    viewer.delayAt = () => 300 - hysteresisMs / 2 + 5;
    viewer.run(5 * 60_000);
    expect(viewer.target.targetMs).toBe(settled);
    viewer.delayAt = () => 300 + hysteresisMs / 2 - 5;
    viewer.run(5 * 60_000);
    expect(viewer.target.targetMs).toBe(settled);
    viewer.delayAt = () => 300 - 2 * hysteresisMs;
    viewer.run(5 * 60_000);
    expect(viewer.target.targetMs).toBe(300 - 2 * hysteresisMs + marginMs + hysteresisMs / 2);
  });

  it('converges lower still on per-frame chunks, down to its own minimum at most', () => {
    const next = random(5);
    const viewer = new Viewer(new AdaptiveLatencyTarget(LOW), () => 40 + 20 * next(), 33);
    const settled = viewer.run(60_000);
    expect(settled).toBeLessThanOrEqual(60 + marginMs + hysteresisMs);
    expect(settled).toBeGreaterThanOrEqual(LOW.minTargetMs);
    const tiny = new Viewer(new AdaptiveLatencyTarget({ ...LOW, marginMs: 0 }), () => 1, 33).run(60_000);
    expect(tiny).toBe(LOW.minTargetMs);
  });

  it("respects the viewer's floor, which replaces its own minimum and may lift the ceiling", () => {
    expect(new Viewer(new AdaptiveLatencyTarget({}, 800), cleanParts()).run(60_000)).toBe(800);
    // Without a floor the default minimum holds: the former fixed 0.8 s.
    expect(new Viewer(new AdaptiveLatencyTarget(), cleanParts()).run(60_000)).toBe(800);
    expect(new Viewer(new AdaptiveLatencyTarget({}, 0), () => 1, 33).run(60_000)).toBe(1 + marginMs + hysteresisMs / 2);
    expect(new Viewer(new AdaptiveLatencyTarget({}, 4000), cleanParts()).run(60_000)).toBe(4000);
    // Above the floor the measurements still lead.
    expect(new Viewer(new AdaptiveLatencyTarget({}, 300), jitteryParts()).run(60_000)).toBeGreaterThan(300);
    expect(() => new AdaptiveLatencyTarget({}, Number.NaN)).toThrow(RangeError);
    expect(() => new AdaptiveLatencyTarget({}, -1)).toThrow(RangeError);
  });

  it('respects its ceiling, whatever the delays and stalls', () => {
    const viewer = new Viewer(new AdaptiveLatencyTarget(LOW), () => 10_000);
    expect(viewer.run(10_000)).toBe(DEFAULT_LATENCY_TARGET_CONFIG.maxTargetMs);
    viewer.target.stalled(viewer.nowMs);
    expect(viewer.target.targetMs).toBe(DEFAULT_LATENCY_TARGET_CONFIG.maxTargetMs);
    expect(() => new AdaptiveLatencyTarget({ minTargetMs: 3000, maxTargetMs: 2000 })).toThrow(RangeError);
  });

  it('ignores samples that are not a finite delay ≥ 0', () => {
    const bad = [Number.NaN, -50, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
    const onlyBad = new Viewer(new AdaptiveLatencyTarget(LOW), (n) => bad[n % bad.length] ?? 0);
    expect(onlyBad.run(60_000)).toBe(DEFAULT_LATENCY_TARGET_CONFIG.initialTargetMs);
    const clean = cleanParts(6);
    const mixedDelays = (n: number): number => (n % 2 === 0 ? clean(n) : (bad[n % bad.length] ?? 0));
    const reference = cleanParts(6);
    const mixed = new Viewer(new AdaptiveLatencyTarget(LOW), mixedDelays, PART_MS / 2).run(60_000);
    expect(mixed).toBe(new Viewer(new AdaptiveLatencyTarget(LOW), reference).run(60_000));
    const target = new AdaptiveLatencyTarget(LOW);
    target.addDelay({ nowMs: Number.NaN, delayMs: 200 });
    for (let i = 0; i < 10; i++) target.advance(i * TICK_MS);
    expect(target.targetMs).toBe(DEFAULT_LATENCY_TARGET_CONFIG.initialTargetMs);
  });

  it('counts only time spent playing: a long pause after a stall gives nothing back', () => {
    const target = new AdaptiveLatencyTarget(LOW);
    const viewer = new Viewer(target, cleanParts());
    const before = viewer.run(60_000);
    target.stalled(viewer.nowMs);
    // Ten minutes later (paused, or a hidden tab), playback resumes on the same clean network.
    const resumedAt = viewer.nowMs + 10 * 60_000;
    for (let i = 10; i > 0; i--) target.addDelay({ nowMs: resumedAt - i * PART_MS, delayMs: 235 });
    expect(target.advance(resumedAt)).toBe(before + stallRaiseMs);
    // Playing on, the raise is given back after the recovery minute of playing as usual.
    const resumed = new Viewer(target, cleanParts(7));
    resumed.nowMs = resumedAt;
    resumed.run(DEFAULT_LATENCY_TARGET_CONFIG.stallRecoveryMs / 2);
    expect(target.targetMs).toBe(before + stallRaiseMs);
    resumed.run(2 * 60_000);
    expect(target.targetMs).toBeLessThanOrEqual(before + 5);
  });

  it('forgets everything on reset', () => {
    const target = new AdaptiveLatencyTarget(LOW);
    const viewer = new Viewer(target, cleanParts());
    viewer.run(30_000);
    target.stalled(viewer.nowMs);
    target.reset();
    expect(target.targetMs).toBe(DEFAULT_LATENCY_TARGET_CONFIG.initialTargetMs);
    expect(target.advance(viewer.nowMs + TICK_MS)).toBe(DEFAULT_LATENCY_TARGET_CONFIG.initialTargetMs);
  });
});
