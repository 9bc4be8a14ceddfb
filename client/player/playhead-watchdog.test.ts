import { describe, expect, it } from 'vitest';
import { PlayheadWatchdog, type PlayheadSample } from './playhead-watchdog.ts';

/** Feeds `samples` every 250 ms from t = 0 and returns the decisions. */
function run(watchdog: PlayheadWatchdog, samples: Omit<PlayheadSample, 'nowMs'>[]): ReturnType<PlayheadWatchdog['update']>[] {
  return samples.map((sample, i) => watchdog.update({ nowMs: i * 250, ...sample }));
}

const still = (currentTimeS: number, buffered: PlayheadSample['buffered'], paused = false): Omit<PlayheadSample, 'nowMs'> => ({
  currentTimeS,
  paused,
  buffered,
});

describe('PlayheadWatchdog', () => {
  it('moves a playhead stuck at the start of a buffered range (WebKit\'s lost start-up seek) into the media after 1 s', () => {
    const watchdog = new PlayheadWatchdog();
    const decisions = run(watchdog, Array.from({ length: 6 }, () => still(0.4, [[0.4, 1.383333]])));
    expect(decisions.slice(0, 4).every((d) => d.kind === 'none')).toBe(true);
    expect(decisions[4]).toMatchObject({ kind: 'seek', stuckForMs: 1000, attempt: 1 });
    expect(decisions[4]?.kind === 'seek' && decisions[4].toS).toBeCloseTo(0.42, 9);
    expect(decisions[5]).toEqual({ kind: 'none' });
    expect(watchdog.recoveries).toBe(1);
  });

  it('jumps a small gap to the next range, but not a large one', () => {
    const small = run(new PlayheadWatchdog(), Array.from({ length: 5 }, () => still(0.383333, [[0, 0.383333], [0.4, 2]])));
    expect(small[4]?.kind === 'seek' && small[4].toS).toBeCloseTo(0.42, 9);
    const large = run(new PlayheadWatchdog(), Array.from({ length: 8 }, () => still(0.383333, [[0, 0.383333], [1.5, 3]])));
    expect(large.every((d) => d.kind === 'none')).toBe(true);
  });

  it('never acts in normal play, while paused, or in a stall with too little media ahead', () => {
    const playing = run(new PlayheadWatchdog(), Array.from({ length: 40 }, (_, i) => still(i * 0.25, [[0, i * 0.25 + 0.6]])));
    const paused = run(new PlayheadWatchdog(), Array.from({ length: 40 }, () => still(3, [[0, 10]], true)));
    const starved = run(new PlayheadWatchdog(), Array.from({ length: 40 }, () => still(3, [[0, 3.3]])));
    const empty = run(new PlayheadWatchdog(), Array.from({ length: 40 }, () => still(0, [])));
    for (const decisions of [playing, paused, starved, empty]) expect(decisions.every((d) => d.kind === 'none')).toBe(true);
  });

  it('gives up after maxAttempts seeks that do not move the playhead, and tries again once it has moved', () => {
    const watchdog = new PlayheadWatchdog({ maxAttempts: 2 });
    const stuck = run(watchdog, Array.from({ length: 20 }, () => still(0.4, [[0.4, 5]])));
    expect(stuck.filter((d) => d.kind === 'seek').map((d) => d.kind === 'seek' && d.attempt)).toEqual([1, 2]);
    // The playhead moves (a later seek landed), then sticks again: a fresh round of attempts.
    watchdog.update({ nowMs: 10_000, currentTimeS: 2, paused: false, buffered: [[0.4, 5]] });
    expect(watchdog.update({ nowMs: 11_000, currentTimeS: 2, paused: false, buffered: [[0.4, 5]] })).toMatchObject({ kind: 'seek', attempt: 1 });
    expect(watchdog.recoveries).toBe(3);
  });

  it('starts counting again after reset()', () => {
    const watchdog = new PlayheadWatchdog();
    watchdog.update({ nowMs: 0, currentTimeS: 0.4, paused: false, buffered: [[0.4, 3]] });
    watchdog.reset();
    expect(watchdog.update({ nowMs: 900, currentTimeS: 0.4, paused: false, buffered: [[0.4, 3]] })).toEqual({ kind: 'none' });
    expect(watchdog.update({ nowMs: 1900, currentTimeS: 0.4, paused: false, buffered: [[0.4, 3]] })).toMatchObject({ kind: 'seek' });
  });
});
