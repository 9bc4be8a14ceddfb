// Playlist rendering, read back by an independent parser (hls-parser, strict mode) and checked against the spec's rules.
import { beforeAll, describe, expect, it } from 'vitest';
import * as HLS from 'hls-parser';
import type { MediaPlaylistSnapshot, SegmentSnapshot } from './render-media.ts';
import { renderMediaPlaylist } from './render-media.ts';
import { renderMultivariantPlaylist } from './render-multivariant.ts';

beforeAll(() => HLS.setOptions({ strictMode: true }));

function segment(msn: number, partCount: number, complete: boolean): SegmentSnapshot {
  const parts = Array.from({ length: partCount }, (_, partIndex) => ({ partIndex, durationUs: 199_999 + (partIndex % 3), independent: partIndex === 0 }));
  return { msn, durationUs: parts.reduce((s, p) => s + p.durationUs, 0), programDateTimeMs: Date.UTC(2025, 0, 1) + msn * 2000, complete, parts };
}

function media(text: string): HLS.types.MediaPlaylist {
  const playlist = HLS.parse(text);
  if (playlist.isMasterPlaylist) throw new Error('expected a media playlist');
  return playlist;
}

const live: MediaPlaylistSnapshot = {
  epoch: 'abc',
  targetDurationS: 2,
  partTargetMs: 200,
  segments: [segment(4, 10, true), segment(5, 10, true), segment(6, 10, true), segment(7, 10, true), segment(8, 3, false)],
  preloadHint: { msn: 8, partIndex: 3 },
  ended: false,
};

describe('renderMediaPlaylist', () => {
  it('writes the LL-HLS header the spec asks for', () => {
    const text = renderMediaPlaylist(live);
    const playlist = media(text);
    expect(playlist.version).toBe(6);
    expect(playlist.targetDuration).toBe(2);
    expect(playlist.partTargetDuration).toBe(0.2);
    expect(playlist.lowLatencyCompatibility).toMatchObject({ canBlockReload: true, partHoldBack: 0.6, holdBack: 6 });
    expect(playlist.mediaSequenceBase).toBe(4);
    expect(text).toContain('#EXT-X-MAP:URI="init-abc.mp4"');
    expect(playlist.endlist).toBe(false);
  });

  it('lists parts only for segments starting within three target durations of the end', () => {
    const playlist = media(renderMediaPlaylist(live));
    // The end is 4 × 2 s + 0.6 s; segments 6 and 7 start within 6 s of it, 4 and 5 do not.
    expect(playlist.segments.map((s) => s.parts.length)).toEqual([0, 0, 10, 10, 4]);
    const last = playlist.segments.at(-1)!;
    expect(last.parts.at(-1)).toMatchObject({ hint: true, uri: 'abc-8.3.m4s' });
    expect(last.parts[0]).toMatchObject({ uri: 'abc-8.0.m4s', independent: true, duration: 0.2 });
    expect(last.parts[1]!.independent).toBeFalsy();
  });

  it('gives each complete segment an EXTINF equal to the sum of its parts within 1 ms', () => {
    const playlist = media(renderMediaPlaylist(live));
    for (const s of playlist.segments.slice(2, 4)) {
      const sum = s.parts.reduce((total, p) => total + (p.duration ?? 0), 0);
      expect(Math.abs(sum - s.duration)).toBeLessThan(0.001);
      expect(s.uri).toMatch(/^abc-\d+\.m4s$/);
    }
  });

  it('ends with EXT-X-ENDLIST and no preload hint once ended', () => {
    const text = renderMediaPlaylist({ ...live, segments: live.segments.slice(0, 4), ended: true });
    const playlist = media(text);
    expect(playlist.endlist).toBe(true);
    expect(text).not.toContain('PRELOAD-HINT');
  });
});

describe('renderMultivariantPlaylist', () => {
  it('lists each rendition with BANDWIDTH, CODECS, RESOLUTION and FRAME-RATE', () => {
    const text = renderMultivariantPlaylist([
      { rendition: 'hi', bandwidth: 2_628_000, codecs: 'avc1.64001f,opus', width: 1280, height: 720, frameRate: 30 },
      { rendition: 'lo', bandwidth: 500_000, codecs: 'avc1.42001e,opus', width: 426, height: 240 },
    ]);
    const playlist = HLS.parse(text);
    if (!playlist.isMasterPlaylist) throw new Error('expected a multivariant playlist');
    expect(playlist.independentSegments).toBe(true);
    expect(playlist.variants.map((v) => [v.uri, v.bandwidth, v.codecs, v.resolution, v.frameRate])).toEqual([
      ['hi/media.m3u8', 2_628_000, 'avc1.64001f,opus', { width: 1280, height: 720 }, 30],
      ['lo/media.m3u8', 500_000, 'avc1.42001e,opus', { width: 426, height: 240 }, undefined],
    ]);
  });
});
