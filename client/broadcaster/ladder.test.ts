// The `&ladder=` grammar, the rung presets' codec levels, and the fit of a ladder to the source's size.
import { describe, expect, it } from 'vitest';
import { DEFAULT_LADDER } from './config.ts';
import { defaultLadderSpec, fitRungSize, LadderError, parseLadder, RUNG_PRESETS, rungsForSource } from './ladder.ts';

/** H.264 level limits (ITU-T H.264 Table A-1): max macroblocks per frame and per second. */
const AVC_LEVELS: Record<number, { frameMbs: number; mbPerS: number }> = {
  0x15: { frameMbs: 792, mbPerS: 19_800 },
  0x1e: { frameMbs: 1620, mbPerS: 40_500 },
  0x1f: { frameMbs: 3600, mbPerS: 108_000 },
  0x28: { frameMbs: 8192, mbPerS: 245_760 },
};

describe('defaultLadderSpec', () => {
  it('adds 1080p from four cores up, keeps 720p/480p/240p below, and both parse', () => {
    expect(defaultLadderSpec(2)).toBe('720p,480p,240p');
    expect(defaultLadderSpec(3)).toBe('720p,480p,240p');
    expect(defaultLadderSpec(4)).toBe('1080p,720p,480p,240p');
    expect(parseLadder(defaultLadderSpec(16)).map((r) => r.rendition)).toEqual(['1080p', '720p', '480p', '240p']);
    // A 720p camera on a big machine still gets no 1080p: the source caps the ladder.
    expect(rungsForSource(parseLadder(defaultLadderSpec(16)), 720).map((r) => r.rendition)).toEqual(['720p', '480p', '240p']);
  });
});

describe('parseLadder', () => {
  it('reads the default ladder, highest first, and one rung exactly as the single-rung ladder had it', () => {
    expect(parseLadder('720p,480p,240p')).toEqual(DEFAULT_LADDER);
    expect(parseLadder('240p,720p,480p').map((r) => r.rendition)).toEqual(['720p', '480p', '240p']);
    expect(parseLadder('720p')).toEqual([
      {
        rendition: '720p', width: 1280, height: 720, bitrate: 2_500_000, codec: 'avc1.42001f',
        fallback: { rendition: '360p', width: 640, height: 360, bitrate: 600_000, codec: 'av01.0.01M.08' },
      },
    ]);
  });

  it('takes bitrates in bits/s, k or M, applied to the rung and to a fallback of the same name', () => {
    const [top, low] = parseLadder('720p:2.8M, 240p:300k');
    expect(top).toMatchObject({ rendition: '720p', bitrate: 2_800_000, fallback: { rendition: '360p', bitrate: 600_000 } });
    expect(low).toMatchObject({ rendition: '240p', bitrate: 300_000, fallback: { rendition: '240p', bitrate: 300_000 } });
    expect(parseLadder('480p:900000')[0]!.bitrate).toBe(900_000);
    // The presets themselves are untouched.
    expect(RUNG_PRESETS['240p']!.bitrate).toBe(400_000);
  });

  it.each([
    ['', /one or more rungs/],
    ['720p,,240p', /one or more rungs/],
    ['900p', /“900p” is not a rung; use 1080p, 720p, 480p, 360p, 240p/],
    ['constructor', /not a rung/],
    ['720P', /not a rung/],
    ['720p,480p,720p', /720p appears twice/],
    ['720p:fast', /“720p:fast”: the bitrate must be 50k to 50M/],
    ['720p:10', /bitrate must be/],
    ['720p:99M', /bitrate must be/],
    ['720p:1k:2k', /more than one “:”/],
  ])('rejects %j with a LadderError that says why', (spec, reason) => {
    let error: unknown;
    try {
      parseLadder(spec);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(LadderError);
    expect((error as LadderError).code).toBe('invalid-ladder');
    expect((error as LadderError).spec).toBe(spec);
    expect((error as LadderError).message).toMatch(reason);
  });
});

describe('RUNG_PRESETS', () => {
  it('gives every H.264 rung a level that covers its size at 30 fps, and every rung even dimensions', () => {
    for (const preset of Object.values(RUNG_PRESETS)) {
      for (let rung: typeof preset | undefined = preset; rung; rung = rung.fallback) {
        expect(rung.width % 2, rung.rendition).toBe(0);
        expect(rung.height % 2, rung.rendition).toBe(0);
        if (!rung.codec.startsWith('avc1.')) continue;
        const level = AVC_LEVELS[Number.parseInt(rung.codec.slice(9, 11), 16)];
        const mbs = Math.ceil(rung.width / 16) * Math.ceil(rung.height / 16);
        expect(level, rung.codec).toBeDefined();
        expect(mbs, rung.rendition).toBeLessThanOrEqual(level!.frameMbs);
        expect(mbs * 30, rung.rendition).toBeLessThanOrEqual(level!.mbPerS);
      }
    }
  });
});

describe('fitting the ladder to the source', () => {
  it('leaves out rungs taller than the source but always keeps the lowest', () => {
    const heights = (h: number): string[] => rungsForSource(DEFAULT_LADDER, h).map((r) => r.rendition);
    expect(heights(720)).toEqual(['720p', '480p', '240p']);
    expect(heights(1080)).toEqual(['720p', '480p', '240p']);
    expect(heights(480)).toEqual(['480p', '240p']);
    expect(heights(120)).toEqual(['240p']);
  });

  it("keeps the source's aspect ratio inside each rung's box, in even numbers", () => {
    expect(fitRungSize({ width: 1280, height: 720 }, 1280, 720)).toEqual({ width: 1280, height: 720 });
    expect(fitRungSize({ width: 854, height: 480 }, 1280, 720)).toEqual({ width: 854, height: 480 });
    expect(fitRungSize({ width: 426, height: 240 }, 1920, 1080)).toEqual({ width: 426, height: 240 });
    expect(fitRungSize({ width: 854, height: 480 }, 640, 480)).toEqual({ width: 640, height: 480 });
    expect(fitRungSize({ width: 426, height: 240 }, 640, 480)).toEqual({ width: 320, height: 240 });
    expect(fitRungSize({ width: 1280, height: 720 }, 1920, 1200)).toEqual({ width: 1152, height: 720 });
    expect(fitRungSize({ width: 1280, height: 720 }, 0, 0)).toEqual({ width: 1280, height: 720 });
  });
});
