// The edge's upstream wait derived from a stream's target duration: always past the origin's 3 × TD hold, override first.
import { describe, expect, it } from 'vitest';
import { resolveEdgeConfig, targetDurationOf, upstreamWaitMs } from '../index.ts';

describe('upstream wait', () => {
  it('outlasts the origin\'s blocking-reload hold of three target durations', () => {
    expect(upstreamWaitMs(2)).toBeGreaterThan(6_000);
    expect(upstreamWaitMs(10)).toBeGreaterThan(30_000);
    expect(upstreamWaitMs(1)).toBeGreaterThan(3_000);
    expect(upstreamWaitMs(10)).toBeGreaterThan(upstreamWaitMs(2));
  });

  it('takes the LL-HLS defaults\' 2 s target duration before any playlist was seen', () => {
    expect(upstreamWaitMs(undefined)).toBe(upstreamWaitMs(2));
  });

  it('lets EDGE_UPSTREAM_TIMEOUT_MS override the derived wait, and leaves it unset by default', () => {
    expect(upstreamWaitMs(10, 4_000)).toBe(4_000);
    expect(upstreamWaitMs(undefined, 45_000)).toBe(45_000);
    expect(resolveEdgeConfig({ originUrls: ['http://127.0.0.1:1'] }).upstreamTimeoutMs).toBeUndefined();
    expect(() => resolveEdgeConfig({ originUrls: ['http://127.0.0.1:1'], upstreamTimeoutMs: 0 })).toThrow(/upstreamTimeoutMs/);
  });

  it('reads EXT-X-TARGETDURATION from a media playlist and nothing from one without it', () => {
    expect(targetDurationOf('#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:10\n#EXT-X-PART-INF:PART-TARGET=0.2\n')).toBe(10);
    expect(targetDurationOf('#EXTM3U\r\n#EXT-X-TARGETDURATION:4\r\n')).toBe(4);
    expect(targetDurationOf('#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv0/media.m3u8\n')).toBeUndefined();
    expect(targetDurationOf('#EXTM3U\n#EXT-X-TARGETDURATION:0\n')).toBeUndefined();
    expect(targetDurationOf('#EXTM3U\n#EXT-X-TARGETDURATION:two\n')).toBeUndefined();
  });
});
