// Ladder parsing and planning: what TRANSCODE_LADDER and a publisher's `transcode=` accept, and which rungs a source gets.
import { describe, expect, it } from 'vitest';
import { TranscodeLadderError } from '../errors.ts';
import { formatLadder, parseLadder, planRungs } from '../ladder.ts';

describe('parseLadder', () => {
  it('reads rungs with k and M suffixes and plain bit/s, highest first', () => {
    expect(parseLadder('240p:400k, 480p:1.2M,360p:700000')).toEqual([
      { rendition: '480p', height: 480, bitrate: 1_200_000 },
      { rendition: '360p', height: 360, bitrate: 700_000 },
      { rendition: '240p', height: 240, bitrate: 400_000 },
    ]);
  });

  it('takes empty and off as no ladder', () => {
    expect(parseLadder('')).toEqual([]);
    expect(parseLadder(' off ')).toEqual([]);
  });

  it.each([
    ['480p', 'not HEIGHTp:BITRATE'],
    ['480:1200k', 'not HEIGHTp:BITRATE'],
    ['481p:1200k', 'height 481'],
    ['32p:100k', 'height 32'],
    ['480p:10k', 'bitrate 10000'],
    ['480p:1200k,480p:800k', 'two rungs of one height'],
    ['720p:1M,540p:1M,480p:1M,360p:1M,240p:1M', '5 rungs'],
  ])('refuses %s with a typed error naming the stream', (text, reason) => {
    expect(() => parseLadder(text, 'cam1')).toThrow(TranscodeLadderError);
    expect(() => parseLadder(text, 'cam1')).toThrow(/stream "cam1".*/);
    expect(() => parseLadder(text, 'cam1')).toThrow(reason);
  });
});

describe('formatLadder', () => {
  it('writes a ladder back as parseLadder reads it', () => {
    expect(formatLadder(parseLadder('480p:1.2M,240p:400k,144p:150500'))).toBe('480p:1200k,240p:400k,144p:150500');
    expect(parseLadder(formatLadder(parseLadder('720p:2500k,360p:800k')))).toEqual(parseLadder('720p:2500k,360p:800k'));
    expect(formatLadder([])).toBe('');
  });
});

describe('planRungs', () => {
  const ladder = parseLadder('720p:2500k,480p:1200k,240p:400k');

  it('skips rungs at or above the source height and keeps its aspect ratio in even widths', () => {
    const rungs = planRungs(ladder, { width: 1280, height: 720 }, new Set([0, 1]), new Set(['720p']));
    expect(rungs).toEqual([
      { rendition: '480p', height: 480, bitrate: 1_200_000, width: 854, trackId: 2 },
      { rendition: '240p', height: 240, bitrate: 400_000, width: 426, trackId: 3 },
    ]);
  });

  it('uses free trackIds and skips a rendition name the source already has', () => {
    const rungs = planRungs(ladder, { width: 1440, height: 1080 }, new Set([0, 2]), new Set(['480p']));
    expect(rungs.map((r) => [r.rendition, r.width, r.trackId])).toEqual([
      ['720p', 960, 1],
      ['240p', 320, 3],
    ]);
  });

  it('plans nothing for a source at the lowest rung', () => {
    expect(planRungs(ladder, { width: 426, height: 240 }, new Set([0]), new Set())).toEqual([]);
  });
});
