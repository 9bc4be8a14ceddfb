// Pure stats helpers: buffer ahead of the playhead, stall episodes, measured bitrate.
import { describe, expect, test } from 'vitest';
import { BitrateWindow, MedianWindow, PeerTraffic, StallCounter, bufferAheadMs } from './stats.ts';

function ranges(...spans: [number, number][]): TimeRanges {
  return {
    length: spans.length,
    start: (i: number) => spans[i]?.[0] ?? Number.NaN,
    end: (i: number) => spans[i]?.[1] ?? Number.NaN,
  };
}

describe('bufferAheadMs', () => {
  test('measures only the range that holds the playhead', () => {
    expect(bufferAheadMs(ranges([0, 2], [3, 10]), 4)).toBe(6000);
    expect(bufferAheadMs(ranges([0, 2], [3, 10]), 1.5)).toBe(500);
  });

  test('is 0 with nothing buffered or the playhead outside every range', () => {
    expect(bufferAheadMs(ranges(), 0)).toBe(0);
    expect(bufferAheadMs(ranges([5, 8]), 2)).toBe(0);
  });

  test('counts a range starting just after the playhead as ahead of it', () => {
    expect(bufferAheadMs(ranges([5, 8]), 4.95)).toBe(3050);
  });
});

describe('StallCounter', () => {
  test('ignores waiting before the first frame and counts each later stall episode once', () => {
    const stalls = new StallCounter();
    stalls.stalled();
    expect(stalls.count).toBe(0);
    stalls.playing();
    stalls.stalled();
    stalls.stalled();
    expect(stalls.count).toBe(1);
    stalls.playing();
    stalls.stalled();
    expect(stalls.count).toBe(2);
  });

  test('a restart (new broadcast) makes its start-up wait not a stall but keeps the total', () => {
    const stalls = new StallCounter();
    stalls.playing();
    stalls.stalled();
    stalls.restart();
    stalls.stalled();
    expect(stalls.count).toBe(1);
  });
});

describe('BitrateWindow', () => {
  test('is null before any media and bytes×8 / media seconds after', () => {
    const window = new BitrateWindow();
    expect(window.bitsPerSecond).toBeNull();
    window.add(125_000, 1);
    window.add(250_000, 1);
    expect(window.bitsPerSecond).toBe(1_500_000);
  });

  test('forgets media older than its window', () => {
    const window = new BitrateWindow();
    window.add(1_000_000, 1);
    for (let i = 0; i < BitrateWindow.WINDOW_S; i++) window.add(1000, 1);
    expect(window.bitsPerSecond).toBe(8000);
  });

  test('ignores samples without a duration', () => {
    const window = new BitrateWindow();
    window.add(1000, 0);
    expect(window.bitsPerSecond).toBeNull();
  });
});

describe('MedianWindow', () => {
  test('reports the median of the last samples only, ignoring non-finite ones', () => {
    const window = new MedianWindow(3);
    expect(window.median).toBeNull();
    for (const value of [500, 10, 20, Number.NaN, 30]) window.add(value);
    expect(window.median).toBe(20);
    window.clear();
    expect(window.median).toBeNull();
  });
});

describe('StallCounter episodes', () => {
  test('says when a new stall episode begins, once per episode', () => {
    const counter = new StallCounter();
    expect(counter.stalled()).toBe(false);
    counter.playing();
    expect(counter.stalled()).toBe(true);
    expect(counter.stalled()).toBe(false);
    counter.playing();
    expect(counter.stalled()).toBe(true);
  });
});

describe('PeerTraffic', () => {
  test('counts bytes by source, ignoring empty or invalid chunks', () => {
    const traffic = new PeerTraffic();
    traffic.chunk(1000, 'http');
    traffic.chunk(65_535, 'p2p');
    traffic.chunk(500, 'p2p');
    traffic.chunk(0, 'http');
    traffic.chunk(Number.NaN, 'p2p');
    expect(traffic.bytesHttp).toBe(1000);
    expect(traffic.bytesP2p).toBe(66_035);
  });

  test('counts each connected peer once per stream type, and forgets closed ones', () => {
    const traffic = new PeerTraffic();
    traffic.peerConnected('a', 'main');
    traffic.peerConnected('a', 'main');
    traffic.peerConnected('a', 'secondary');
    traffic.peerConnected('b', 'main');
    expect(traffic.peers).toBe(3);
    traffic.peerClosed('a', 'main');
    traffic.peerClosed('c', 'main');
    expect(traffic.peers).toBe(2);
  });

  test('a new engine starts without peers but keeps the byte counts', () => {
    const traffic = new PeerTraffic();
    traffic.chunk(10, 'p2p');
    traffic.peerConnected('a', 'main');
    traffic.peersGone();
    expect(traffic.peers).toBe(0);
    expect(traffic.bytesP2p).toBe(10);
  });
});
