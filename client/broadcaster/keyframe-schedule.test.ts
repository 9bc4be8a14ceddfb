// The keyframe schedule: identical, exact segment boundaries whatever the frame timing.
import { describe, expect, it } from 'vitest';
import { resolveConfig } from './config.ts';
import { segmentGrid } from '../../shared/segment-grid.ts';
import { KeyframeSchedule } from './keyframe-schedule.ts';

describe('KeyframeSchedule', () => {
  it('keys the first frame and the first frame at or after every boundary, and nothing else', () => {
    const schedule = new KeyframeSchedule(1_000_000, segmentGrid(2_000_000));
    const keyed: number[] = [];
    for (let n = 0; n < 200; n++) {
      const ts = 1_000_000 + Math.round((n * 1_000_000) / 30);
      if (schedule.next(ts)) keyed.push(n);
    }
    expect(keyed).toEqual([0, 60, 120, 180]);
  });

  it('moves a boundary that fell on a dropped frame to the next encoded frame', () => {
    const schedule = new KeyframeSchedule(0, segmentGrid(1_000_000));
    expect(schedule.next(0)).toBe(true);
    expect(schedule.next(966_667)).toBe(false);
    // 1_000_000 was dropped (never passed to next()).
    expect(schedule.next(1_033_333)).toBe(true);
    expect(schedule.next(1_066_667)).toBe(false);
  });

  it('forces the next frame to be a keyframe, once, when the encoder dropped a segment\'s boundary keyframe', () => {
    const schedule = new KeyframeSchedule(0, segmentGrid(1_000_000));
    expect(schedule.next(0)).toBe(true);
    schedule.observeOutput(0, 0, true);
    expect(schedule.next(1_000_000)).toBe(true);
    // The encoder dropped frame 1_000_000: the first output of segment 1 is a delta frame.
    schedule.observeOutput(0, 1_033_333, false);
    schedule.observeOutput(0, 1_066_667, false);
    expect(schedule.next(1_100_000)).toBe(true);
    expect(schedule.next(1_133_333)).toBe(false);
    schedule.observeOutput(0, 1_100_000, true);
    schedule.observeOutput(0, 1_133_333, false);
    expect(schedule.next(1_166_667)).toBe(false);
  });

  it('tracks each rung on its own: one rung losing the boundary keyframe is enough to force one', () => {
    const schedule = new KeyframeSchedule(0, segmentGrid(1_000_000));
    schedule.next(0);
    schedule.next(1_000_000);
    schedule.observeOutput(0, 1_000_000, true);
    schedule.observeOutput(1, 1_033_333, false);
    expect(schedule.next(1_066_667)).toBe(true);
  });

  it('keys the next frame after forceKeyframe, without shifting later boundaries', () => {
    const schedule = new KeyframeSchedule(0, segmentGrid(1_000_000));
    schedule.next(0);
    schedule.forceKeyframe();
    expect(schedule.next(400_000)).toBe(true);
    expect(schedule.next(433_333)).toBe(false);
    expect(schedule.next(1_000_000)).toBe(true);
  });

  it('keys the short first segment\'s boundary too, when the origin announced a part target', () => {
    const schedule = new KeyframeSchedule(1_000_000, segmentGrid(2_000_000, 200_000));
    const keyed: number[] = [];
    for (let n = 0; n < 130; n++) {
      if (schedule.next(1_000_000 + Math.round((n * 1_000_000) / 30))) keyed.push(n);
    }
    // 0.4 s after the first frame, then 2 s, 4 s: the grid the packager cuts on.
    expect(keyed).toEqual([0, 12, 60, 120]);
  });
});

describe('resolveConfig', () => {
  it('ships 720p, 480p and 240p H.264 by default, each falling back to AV1 (360p, 360p, 240p)', () => {
    const av1360 = { rendition: '360p', width: 640, height: 360, bitrate: 600_000, codec: 'av01.0.01M.08' };
    expect(resolveConfig().ladder).toEqual([
      { rendition: '720p', width: 1280, height: 720, bitrate: 2_500_000, codec: 'avc1.42001f', fallback: av1360 },
      { rendition: '480p', width: 854, height: 480, bitrate: 1_200_000, codec: 'avc1.42001f', fallback: av1360 },
      {
        rendition: '240p', width: 426, height: 240, bitrate: 400_000, codec: 'avc1.420015',
        fallback: { rendition: '240p', width: 426, height: 240, bitrate: 400_000, codec: 'av01.0.00M.08' },
      },
    ]);
  });

  it('rejects an empty ladder, a bad rendition name and odd dimensions', () => {
    expect(() => resolveConfig({ ladder: [] })).toThrow(/at least one rung/);
    expect(() => resolveConfig({ ladder: [{ rendition: '720P', width: 1280, height: 720, bitrate: 1, codec: 'avc1.42001f' }] })).toThrow(/rendition/);
    expect(() => resolveConfig({ ladder: [{ rendition: 'odd', width: 641, height: 480, bitrate: 1, codec: 'avc1.42001f' }] })).toThrow(/even/);
  });

  it('checks fallback rungs as it checks rungs', () => {
    const top = { rendition: '720p', width: 1280, height: 720, bitrate: 1, codec: 'avc1.42001f' };
    expect(() => resolveConfig({ ladder: [{ ...top, fallback: { ...top, rendition: '480P' } }] })).toThrow(/bad rendition name "480P"/);
    expect(() => resolveConfig({ ladder: [{ ...top, fallback: { ...top, rendition: '479p', height: 479 } }] })).toThrow(/479p: .*even/);
  });
});
