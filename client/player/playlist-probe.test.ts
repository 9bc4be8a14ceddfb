// Reading playlists just enough to know whether a broadcast is live, and the playback URL contract.
import { describe, expect, test } from 'vitest';
import { DEFAULT_STREAM_TIMING, hlsConfigFor, streamTimeoutsFor } from './config.ts';
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
    expect(() => playbackUrl('Bad Name')).toThrow(expect.objectContaining({ name: 'PlayerError', code: 'invalid-stream' }));
  });
});

describe('hlsConfigFor', () => {
  test('low mode uses LL-HLS, joins at PART-HOLD-BACK and leaves the playback rate to the player\'s catch-up control', () => {
    const config = hlsConfigFor('low', streamTimeoutsFor('low', DEFAULT_STREAM_TIMING));
    expect(config.lowLatencyMode).toBe(true);
    // Two rate controllers would fight: hls.js's own stays at 1×.
    expect(config.maxLiveSyncPlaybackRate).toBe(1);
    expect(config.liveSyncDuration).toBeUndefined();
    expect(config.liveSyncDurationCount).toBeUndefined();
  });

  test('p2p mode plays whole segments 4.5 s behind the newest, buffering ahead so the peer engine is asked early', () => {
    const config = hlsConfigFor('p2p', streamTimeoutsFor('p2p', DEFAULT_STREAM_TIMING));
    expect(config.lowLatencyMode).toBe(false);
    expect(config.liveSyncDuration).toBe(4.5);
    expect(config.liveMaxLatencyDuration).toBeGreaterThan(4.5);
    expect(config.maxBufferLength).toBeGreaterThan(4);
  });
});

describe('streamTimeoutsFor', () => {
  test('at the default 2 s segments: a 2.5 s edge stall and playlist requests cut after 10 s without a first byte', () => {
    expect(streamTimeoutsFor('low', { targetDurationS: 2 })).toEqual({ edgeStallMs: 2500, playlistFirstByteMs: 10_000, playlistLoadMs: 20_000 });
    expect(streamTimeoutsFor('p2p', { targetDurationS: 2 }).edgeStallMs).toBe(2500);
  });

  test('10 s segments: playlist requests outlast the server\'s 30 s blocking hold; p2p mode waits longer for a segment', () => {
    const low = streamTimeoutsFor('low', { targetDurationS: 10 });
    expect(low.playlistFirstByteMs).toBe(34_000);
    expect(low.playlistLoadMs).toBe(68_000);
    // Parts keep arriving every part target, so a low-latency stall means the same at any segment length.
    expect(low.edgeStallMs).toBe(2500);
    expect(streamTimeoutsFor('p2p', { targetDurationS: 10 }).edgeStallMs).toBe(12_500);
  });

  test('low mode hands the derived playlist bounds to hls.js', () => {
    const policy = hlsConfigFor('low', streamTimeoutsFor('low', { targetDurationS: 10 })).playlistLoadPolicy?.default;
    expect(policy?.maxTimeToFirstByteMs).toBe(34_000);
    expect(policy?.maxLoadTimeMs).toBe(68_000);
  });
});
