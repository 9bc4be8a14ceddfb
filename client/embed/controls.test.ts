// The controls' pure rules: key mapping, the LIVE badge, time formatting, seek targets and volume steps.
import { describe, expect, it } from 'vitest';
import { formatBehind, keyAction, liveBadge, seekTarget, stateScreen, stepVolume } from './controls.ts';

const key = (k: string, mods: Partial<{ ctrlKey: boolean; altKey: boolean; metaKey: boolean }> = {}) =>
  keyAction({ key: k, ctrlKey: false, altKey: false, metaKey: false, ...mods });

describe('keyAction', () => {
  it('maps space/k, m, f and the arrows, in either case', () => {
    expect(key(' ')).toBe('toggle-play');
    expect(key('k')).toBe('toggle-play');
    expect(key('K')).toBe('toggle-play');
    expect(key('m')).toBe('toggle-mute');
    expect(key('F')).toBe('fullscreen');
    expect(key('ArrowLeft')).toBe('seek-back');
    expect(key('ArrowRight')).toBe('seek-forward');
    expect(key('ArrowUp')).toBe('volume-up');
    expect(key('ArrowDown')).toBe('volume-down');
  });

  it('leaves other keys and modified keys to the page', () => {
    expect(key('x')).toBeNull();
    expect(key('Enter')).toBeNull();
    expect(key('f', { ctrlKey: true })).toBeNull();
    expect(key('m', { metaKey: true })).toBeNull();
    expect(key('ArrowLeft', { altKey: true })).toBeNull();
  });
});

describe('formatBehind', () => {
  it('gives tenths of seconds under a minute, then m:ss and h:mm:ss', () => {
    expect(formatBehind(0)).toBe('0.0 s');
    expect(formatBehind(840)).toBe('0.8 s');
    expect(formatBehind(12_345)).toBe('12.3 s');
    expect(formatBehind(65_000)).toBe('1:05');
    expect(formatBehind(3_723_000)).toBe('1:02:03');
    expect(formatBehind(-20)).toBe('0.0 s');
  });
});

describe('liveBadge', () => {
  it('is at live near the target latency, showing the delay', () => {
    expect(liveBadge(900, 800, false)).toEqual({ behind: false, text: 'LIVE 0.9 s', label: 'LIVE 0.9 s behind the broadcaster' });
  });

  it('is behind when well past the target or paused, and says so', () => {
    expect(liveBadge(8_000, 800, false)).toEqual({ behind: true, text: 'LIVE −8.0 s', label: 'LIVE −8.0 s, behind live: go to live' });
    expect(liveBadge(900, 800, true).behind).toBe(true);
    expect(liveBadge(null, null, true)).toEqual({ behind: true, text: 'LIVE', label: 'LIVE, paused: go to live' });
    expect(liveBadge(null, null, false).behind).toBe(false);
  });
});

describe('seekTarget', () => {
  const range = { start: 100, end: 130 };
  it('moves within the seekable range and clamps at its start', () => {
    expect(seekTarget(120, -5, range)).toBe(115);
    expect(seekTarget(102, -5, range)).toBe(100);
    expect(seekTarget(110, 5, range)).toBe(115);
  });

  it('goes to live when a step forward reaches the end, or when nothing is seekable', () => {
    expect(seekTarget(125, 5, range)).toBe('live');
    expect(seekTarget(10, 5, null)).toBe('live');
    expect(seekTarget(10, -5, null)).toBe(10);
  });
});

describe('stepVolume', () => {
  it('steps by a tenth within 0–1', () => {
    expect(stepVolume(0.5, true)).toBe(0.6);
    expect(stepVolume(0.95, true)).toBe(1);
    expect(stepVolume(0.05, false)).toBe(0);
    expect(stepVolume(0.3, false)).toBe(0.2);
  });
});

describe('stateScreen', () => {
  it('says starting soon while waiting, ended after the broadcast, and offers a retry on errors', () => {
    expect(stateScreen('connecting', 'waiting-for-broadcast', '')).toMatchObject({ kind: 'starting-soon', title: 'Starting soon', retry: false });
    expect(stateScreen('idle', 'ended', '')).toMatchObject({ kind: 'ended', title: 'The broadcast has ended' });
    expect(stateScreen('error', 'failed', 'HTTP 500')).toMatchObject({ kind: 'error', detail: 'HTTP 500', retry: true });
    expect(stateScreen('connecting', 'retrying', '')).toMatchObject({ kind: 'reconnecting', spinner: true });
    expect(stateScreen('connecting', 'loading', '')).toMatchObject({ kind: 'connecting', spinner: true });
  });

  it('shows nothing while playing or idle before playback', () => {
    expect(stateScreen('playing', 'playing', '')).toBeNull();
    expect(stateScreen('idle', 'created', '')).toBeNull();
    expect(stateScreen('idle', 'destroyed', '')).toBeNull();
  });
});
