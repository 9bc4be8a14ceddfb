// The codec level each rung gets for its size and frame rate.
import { describe, expect, it } from 'vitest';
import { codecForFramerate } from './codec-level.ts';
import { RUNG_PRESETS } from './ladder.ts';

describe('codecForFramerate', () => {
  it('keeps every preset at 30 fps: each already carries the lowest level for its size', () => {
    for (const rung of Object.values(RUNG_PRESETS)) {
      expect(codecForFramerate(rung.codec, rung.width, rung.height, 30), rung.rendition).toBe(rung.codec);
      if (rung.fallback) expect(codecForFramerate(rung.fallback.codec, rung.fallback.width, rung.fallback.height, 30)).toBe(rung.fallback.codec);
    }
  });

  it('raises H.264 levels for 60 fps and lowers them for 15 fps, keeping profile and constraints', () => {
    expect(codecForFramerate('avc1.42001f', 1280, 720, 60)).toBe('avc1.420020'); // 3600 MBs x 60 = 216 000: level 3.2
    expect(codecForFramerate('avc1.420028', 1920, 1080, 60)).toBe('avc1.42002a'); // 8160 x 60 = 489 600: level 4.2
    expect(codecForFramerate('avc1.420015', 426, 240, 60)).toBe('avc1.42001e'); // 405 x 60 = 24 300: level 3.0
    expect(codecForFramerate('avc1.42001f', 854, 480, 15)).toBe('avc1.42001e'); // 1620 x 15 = 24 300: level 3.0
    expect(codecForFramerate('avc3.640028', 1920, 1080, 25)).toBe('avc3.640028');
  });

  it('raises AV1 levels for 60 fps', () => {
    expect(codecForFramerate('av01.0.01M.08', 640, 360, 60)).toBe('av01.0.04M.08'); // 13.8 M samples/s: level 3.0
    expect(codecForFramerate('av01.0.00M.08', 426, 240, 60)).toBe('av01.0.01M.08'); // 6.1 M samples/s: level 2.1
  });

  it('leaves other codecs, and sizes beyond every level, as they are', () => {
    expect(codecForFramerate('vp09.00.31.08', 1280, 720, 60)).toBe('vp09.00.31.08');
    expect(codecForFramerate('avc1.42001f', 16_384, 16_384, 60)).toBe('avc1.42001f');
  });
});
