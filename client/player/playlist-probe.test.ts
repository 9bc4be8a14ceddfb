// Reading playlists just enough to know whether a broadcast is live, and the playback URL contract.
import { describe, expect, test } from 'vitest';
import { hlsConfigFor } from './config.ts';
import { PlayerError } from './errors.ts';
import { firstVariantUri, hasEndList } from './playlist-probe.ts';
import { playbackUrl } from './url.ts';

describe('playlist probe', () => {
  test('finds the first variant of a multivariant playlist', () => {
    const text = '#EXTM3U\r\n#EXT-X-VERSION:7\r\n#EXT-X-STREAM-INF:BANDWIDTH=2500000,CODECS="avc1.42e01f,opus"\r\n\r\nvideo/index.m3u8\r\n#EXT-X-STREAM-INF:BANDWIDTH=800000\r\nlow.m3u8\r\n';
    expect(firstVariantUri(text)).toBe('video/index.m3u8');
  });

  test('returns null for a media playlist', () => {
    expect(firstVariantUri('#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nseg0.m4s\n')).toBeNull();
  });

  test('tells an ended playlist from a live one', () => {
    expect(hasEndList('#EXTM3U\n#EXTINF:2.0,\nseg0.m4s\n#EXT-X-ENDLIST\n')).toBe(true);
    expect(hasEndList('#EXTM3U\n#EXTINF:2.0,\nseg0.m4s\n#EXT-X-PRELOAD-HINT:TYPE=PART,URI="p.m4s"\n')).toBe(false);
  });
});

describe('playbackUrl', () => {
  test('builds /live/NAME/index.m3u8 on the page origin or on a given base', () => {
    expect(playbackUrl('my-show')).toBe('/live/my-show/index.m3u8');
    expect(playbackUrl('my-show', 'https://cdn.example/')).toBe('https://cdn.example/live/my-show/index.m3u8');
  });

  test('rejects an invalid stream name with a typed error', () => {
    expect(() => playbackUrl('../etc')).toThrow(PlayerError);
    try {
      playbackUrl('Bad Name');
    } catch (err) {
      expect((err as PlayerError).code).toBe('invalid-stream');
    }
  });
});

describe('hlsConfigFor', () => {
  test('low mode uses LL-HLS, joins at PART-HOLD-BACK and leaves the playback rate to the player\'s catch-up control', () => {
    const config = hlsConfigFor('low');
    expect(config.lowLatencyMode).toBe(true);
    // Two rate controllers would fight: hls.js's own stays at 1×.
    expect(config.maxLiveSyncPlaybackRate).toBe(1);
    expect(config.liveSyncDuration).toBeUndefined();
    expect(config.liveSyncDurationCount).toBeUndefined();
  });

  test('p2p mode plays three segments behind without LL-HLS', () => {
    const config = hlsConfigFor('p2p');
    expect(config.lowLatencyMode).toBe(false);
    expect(config.liveSyncDurationCount).toBe(3);
  });
});
