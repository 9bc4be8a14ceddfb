// Playlist and digests rendering, read back by independent parsers (hls-parser in strict mode, JSON.parse) and checked against the spec's rules.
import { beforeAll, describe, expect, it } from 'vitest';
import * as HLS from 'hls-parser';
import type { MediaPlaylistSnapshot, SegmentSnapshot } from './render-media.ts';
import { renderSegmentDigests } from './render-digests.ts';
import { renderMediaPlaylist } from './render-media.ts';
import { renderMultivariantPlaylist, startOrder, type VariantSnapshot } from './render-multivariant.ts';

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
  const ladder: VariantSnapshot[] = [
    { rendition: '240p', bandwidth: 560_000, averageBandwidth: 470_000, codecs: 'avc1.42001e,opus', width: 426, height: 240, frameRate: 30 },
    { rendition: '720p', bandwidth: 2_900_000, averageBandwidth: 2_620_000, codecs: 'avc1.42001f,opus', width: 1280, height: 720, frameRate: 30 },
    { rendition: '480p', bandwidth: 1_300_000, averageBandwidth: 1_120_000, codecs: 'avc1.42001e,opus', width: 854, height: 480, frameRate: 29.97 },
  ];

  function multivariant(text: string): HLS.types.MasterPlaylist {
    const playlist = HLS.parse(text);
    if (!playlist.isMasterPlaylist) throw new Error('expected a multivariant playlist');
    return playlist;
  }

  it('lists three renditions with every attribute the spec asks for, read back by a strict parser', () => {
    const text = renderMultivariantPlaylist(ladder);
    const playlist = multivariant(text);
    expect(playlist.independentSegments).toBe(true);
    expect(playlist.variants.map((v) => [v.uri, v.bandwidth, v.averageBandwidth, v.codecs, v.resolution, v.frameRate, v.closedCaptions])).toEqual([
      ['480p/media.m3u8', 1_300_000, 1_120_000, 'avc1.42001e,opus', { width: 854, height: 480 }, 29.97, []],
      ['720p/media.m3u8', 2_900_000, 2_620_000, 'avc1.42001f,opus', { width: 1280, height: 720 }, 30, []],
      ['240p/media.m3u8', 560_000, 470_000, 'avc1.42001e,opus', { width: 426, height: 240 }, 30, []],
    ]);
    // Audio travels muxed in each rendition: no EXT-X-MEDIA group to fetch separately.
    expect(text).not.toContain('#EXT-X-MEDIA:');
  });

  it('never writes an AVERAGE-BANDWIDTH above BANDWIDTH', () => {
    const text = renderMultivariantPlaylist([{ ...ladder[0]!, bandwidth: 400_000, averageBandwidth: 450_000 }]);
    expect(multivariant(text).variants[0]).toMatchObject({ bandwidth: 400_000, averageBandwidth: 400_000 });
  });
});

describe('startOrder', () => {
  const rung = (rendition: string, height: number): VariantSnapshot => ({
    rendition,
    bandwidth: height * 4000,
    averageBandwidth: height * 3000,
    codecs: 'avc1.42001f',
    width: Math.round((height * 16) / 9),
    height,
  });

  it('lists the middle rung first, then the rest from the largest picture down', () => {
    const order = (heights: number[]): string[] => startOrder(heights.map((h) => rung(`${h}p`, h))).map((v) => v.rendition);
    expect(order([240, 720, 480])).toEqual(['480p', '720p', '240p']);
    expect(order([240, 1080, 480, 720])).toEqual(['720p', '1080p', '480p', '240p']);
    expect(order([360, 720])).toEqual(['720p', '360p']);
    expect(order([720])).toEqual(['720p']);
  });

  it('keeps the order when measured rates cross', () => {
    const variants = [rung('720p', 720), { ...rung('480p', 480), bandwidth: 9_000_000 }, rung('240p', 240)];
    expect(startOrder(variants).map((v) => v.rendition)).toEqual(['480p', '720p', '240p']);
  });
});

describe('renderSegmentDigests', () => {
  it('maps each segment name to its digest, oldest first, and renders an empty map before any segment', () => {
    const json = renderSegmentDigests([
      { name: 'e1-4.m4s', sha256: 'n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=' },
      { name: 'e1-5.m4s', sha256: 'LCa0a2j/xo/5m0U8HTBBNBNCLXBkg7+g+YpeiGJm564=' },
    ]);
    expect(JSON.parse(json)).toEqual({ segments: { 'e1-4.m4s': 'n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=', 'e1-5.m4s': 'LCa0a2j/xo/5m0U8HTBBNBNCLXBkg7+g+YpeiGJm564=' } });
    expect(Object.keys((JSON.parse(json) as { segments: object }).segments)).toEqual(['e1-4.m4s', 'e1-5.m4s']);
    expect(JSON.parse(renderSegmentDigests([]))).toEqual({ segments: {} });
  });
});
