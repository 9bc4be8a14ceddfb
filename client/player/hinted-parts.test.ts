import { describe, expect, it } from 'vitest';
import { hintedPartRequest, listHintedPart } from './hinted-parts.ts';

const head = ['#EXTM3U', '#EXT-X-TARGETDURATION:2', '#EXT-X-VERSION:9', '#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.6', '#EXT-X-PART-INF:PART-TARGET=0.2', '#EXT-X-MEDIA-SEQUENCE:4'];
const segment = (msn: number): string[] => [
  ...[0, 1].map((p) => `#EXT-X-PART:DURATION=0.2,URI="e-${msn}.${p}.m4s"${p === 0 ? ',INDEPENDENT=YES' : ''}`),
  '#EXTINF:0.4,',
  `e-${msn}.m4s`,
];

describe('listHintedPart', () => {
  it('lists the hinted part of the segment in progress after its listed parts', () => {
    const playlist = [...head, ...segment(4), '#EXT-X-PART:DURATION=0.2,URI="e-5.0.m4s",INDEPENDENT=YES', '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="e-5.1.m4s"', '#EXT-X-RENDITION-REPORT:URI="../480p/media.m3u8",LAST-MSN=5,LAST-PART=0', ''].join('\n');
    const listed = listHintedPart(playlist);
    expect(listed?.hint).toEqual({ msn: 5, part: 1 });
    const lines = listed!.playlist.split('\n');
    expect(lines.at(-4)).toBe('#EXT-X-PART:DURATION=0.2,URI="e-5.1.m4s"');
    expect(lines.at(-3)).toBe('#EXT-X-PRELOAD-HINT:TYPE=PART,URI="e-5.1.m4s"');
    // Nothing else changes.
    expect(lines.filter((_, i) => i !== lines.length - 4)).toEqual(playlist.split('\n'));
  });

  it('lists the first part of the next segment as independent when the last segment is complete', () => {
    const listed = listHintedPart([...head, ...segment(4), ...segment(5), '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="e-6.0.m4s"'].join('\n'));
    expect(listed?.hint).toEqual({ msn: 6, part: 0 });
    expect(listed?.playlist).toContain('#EXT-X-PART:DURATION=0.2,URI="e-6.0.m4s",INDEPENDENT=YES\n#EXT-X-PRELOAD-HINT');
  });

  it('counts the segments a delta update skipped', () => {
    const listed = listHintedPart([...head, '#EXT-X-SKIP:SKIPPED-SEGMENTS=3', ...segment(7), '#EXT-X-PRELOAD-HINT:URI="e-8.0.m4s",TYPE=PART'].join('\n'));
    expect(listed?.hint).toEqual({ msn: 8, part: 0 });
  });

  it('leaves playlists without a part hint alone', () => {
    expect(listHintedPart([...head, ...segment(4), '#EXT-X-ENDLIST'].join('\n'))).toBeNull();
    expect(listHintedPart([...head, ...segment(4), '#EXT-X-PRELOAD-HINT:TYPE=MAP,URI="init.mp4"'].join('\n'))).toBeNull();
    expect(listHintedPart([...head, ...segment(4), '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="e.m4s",BYTERANGE-START=100'].join('\n'))).toBeNull();
    expect(listHintedPart(['#EXTM3U', '#EXT-X-MEDIA-SEQUENCE:4', '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="e-4.0.m4s"'].join('\n'))).toBeNull();
  });
});

describe('hintedPartRequest', () => {
  const url = (msn: number, part: number): string => `http://127.0.0.1:8080/live/s/720p/media.m3u8?_HLS_msn=${msn}&_HLS_part=${part}&_HLS_skip=v2`;

  it('asks for the hinted part itself instead of the one after it', () => {
    expect(hintedPartRequest(url(5, 2), { msn: 5, part: 1 })).toBe(url(5, 1));
  });

  it('leaves other requests as they are', () => {
    expect(hintedPartRequest(url(5, 3), { msn: 5, part: 1 })).toBe(url(5, 3));
    expect(hintedPartRequest(url(6, 0), { msn: 5, part: 1 })).toBe(url(6, 0));
    expect(hintedPartRequest(url(5, 2), undefined)).toBe(url(5, 2));
    expect(hintedPartRequest('http://127.0.0.1:8080/live/s/720p/media.m3u8', { msn: 5, part: 1 })).toBe('http://127.0.0.1:8080/live/s/720p/media.m3u8');
  });
});
