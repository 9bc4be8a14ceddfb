// The playback path grammar and object names: what is built parses back to itself, and anything else is refused.
import { describe, expect, it } from 'vitest';
import {
  initObjectName,
  keyObjectName,
  mediaPlaylistPath,
  multivariantPath,
  objectPath,
  parseObjectName,
  parsePlaybackPath,
  partObjectName,
  segmentDigestsPath,
  segmentObjectName,
  isValidPlaybackToken,
  splitPlaybackToken,
  withPlaybackToken,
} from './playback-path.ts';

describe('object names', () => {
  it('round-trips init, segment and part names', () => {
    expect(initObjectName('k3x9')).toBe('init-k3x9.mp4');
    expect(segmentObjectName('k3x9', 41)).toBe('k3x9-41.m4s');
    expect(partObjectName('k3x9', 41, 2)).toBe('k3x9-41.2.m4s');
    expect(parseObjectName(initObjectName('k3x9'))).toEqual({ kind: 'init', epoch: 'k3x9', version: 0 });
    // A publisher that reconnected with new codec parameters brings a second init segment.
    expect(initObjectName('k3x9', 2)).toBe('init-k3x9-2.mp4');
    expect(parseObjectName(initObjectName('k3x9', 2))).toEqual({ kind: 'init', epoch: 'k3x9', version: 2 });
    expect(parseObjectName('init-k3x9-0.mp4')).toBeNull();
    expect(parseObjectName(segmentObjectName('k3x9', 0))).toEqual({ kind: 'segment', epoch: 'k3x9', msn: 0 });
    expect(parseObjectName(partObjectName('k3x9', 123456789, 49))).toEqual({ kind: 'part', epoch: 'k3x9', msn: 123456789, partIndex: 49 });
  });

  it('round-trips media key names, which sit under the rendition path like a segment', () => {
    expect(keyObjectName('k3x9', 4)).toBe('key-k3x9-4.key');
    expect(parseObjectName(keyObjectName('k3x9', 0))).toEqual({ kind: 'key', epoch: 'k3x9', period: 0 });
    expect(parsePlaybackPath(objectPath('s', 'v0', keyObjectName('e1', 12)))).toEqual({
      kind: 'object',
      stream: 's',
      rendition: 'v0',
      object: { kind: 'key', epoch: 'e1', period: 12 },
    });
  });

  it.each([
    'init-.mp4',
    'init-K3X9.mp4',
    'k3x9-01.m4s',
    'k3x9-1.02.m4s',
    'k3x9--1.m4s',
    'k3x9-1.m4s.m4s',
    'k3x9-1.2.3.m4s',
    'k3x9-1',
    'abcdefghijklmnopq-1.m4s',
    `k3x9-${'9'.repeat(16)}.m4s`,
    'media.m3u8',
    'key-k3x9.key',
    'key-k3x9-01.key',
    'key-K3X9-1.key',
    'key-k3x9-1.2.key',
    'key-k3x9-1.key.key',
    `key-k3x9-${'9'.repeat(16)}.key`,
    '',
  ])('refuses the object name %j', (name) => {
    expect(parseObjectName(name)).toBeNull();
  });
});

describe('playback paths', () => {
  it('builds and parses the multivariant playlist, media playlist and object paths', () => {
    expect(multivariantPath('my-show')).toBe('/live/my-show/index.m3u8');
    expect(mediaPlaylistPath('my-show', '720p')).toBe('/live/my-show/720p/media.m3u8');
    expect(objectPath('my-show', '720p', partObjectName('e1', 7, 3))).toBe('/live/my-show/720p/e1-7.3.m4s');
    expect(parsePlaybackPath(multivariantPath('my-show'))).toEqual({ kind: 'multivariant', stream: 'my-show' });
    expect(parsePlaybackPath(mediaPlaylistPath('my-show', '720p'))).toEqual({ kind: 'media-playlist', stream: 'my-show', rendition: '720p' });
    expect(parsePlaybackPath(segmentDigestsPath('my-show', '720p'))).toEqual({ kind: 'digests', stream: 'my-show', rendition: '720p' });
    expect(parsePlaybackPath(objectPath('my-show', '720p', initObjectName('e1')))).toEqual({
      kind: 'object',
      stream: 'my-show',
      rendition: '720p',
      object: { kind: 'init', epoch: 'e1', version: 0 },
    });
  });

  it('ignores the query and fragment of a URL path', () => {
    expect(parsePlaybackPath('/live/s/v0/media.m3u8?_HLS_msn=12&_HLS_part=3')).toEqual({ kind: 'media-playlist', stream: 's', rendition: 'v0' });
    expect(parsePlaybackPath('/live/s/v0/e-3.1.m4s#t')).toMatchObject({ object: { kind: 'part', msn: 3, partIndex: 1 } });
  });

  it.each([
    '/live/',
    '/live/s',
    '/live/s/',
    '/live/s/media.m3u8',
    '/live/s/v0/index.m3u8',
    '/live/s/v0/whatever.txt',
    '/live/S/index.m3u8',
    '/live/../index.m3u8',
    '/live/s/V0/media.m3u8',
    '/live/s/v0/x/media.m3u8',
    '/vod/s/index.m3u8',
    'live/s/index.m3u8',
  ])('refuses %j', (path) => {
    expect(parsePlaybackPath(path)).toBeNull();
  });
});

describe('playback token prefix', () => {
  const token = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZW1vIn0.c2lnbmF0dXJl';

  it('prefixes a path with /t/TOKEN and splits it back, query kept', () => {
    const path = `${mediaPlaylistPath('demo', '720p')}?_HLS_msn=5&_HLS_part=1`;
    const prefixed = withPlaybackToken(path, token);
    expect(prefixed).toBe(`/t/${token}/live/demo/720p/media.m3u8?_HLS_msn=5&_HLS_part=1`);
    expect(splitPlaybackToken(prefixed)).toEqual({ token, path });
    expect(parsePlaybackPath(splitPlaybackToken(prefixed)!.path)).toEqual({ kind: 'media-playlist', stream: 'demo', rendition: '720p' });
  });

  it('leaves a path without a token as it is', () => {
    expect(withPlaybackToken(multivariantPath('demo'), undefined)).toBe('/live/demo/index.m3u8');
    expect(splitPlaybackToken('/live/demo/index.m3u8')).toEqual({ token: undefined, path: '/live/demo/index.m3u8' });
  });

  it('resolves relative playlist URIs under the prefix, so every object inherits the token', () => {
    const base = `http://edge${withPlaybackToken(mediaPlaylistPath('demo', '720p'), token)}`;
    expect(new URL(partObjectName('k3x9', 4, 1), base).pathname).toBe(`/t/${token}/live/demo/720p/k3x9-4.1.m4s`);
    expect(new URL('../360p/media.m3u8', base).pathname).toBe(`/t/${token}/live/demo/360p/media.m3u8`);
  });

  it.each(['/t/', '/t/abc', '/t/abc/other/x', '/t/a b/live/demo/index.m3u8', `/t/${'a'.repeat(3000)}/live/demo/index.m3u8`, '/t/a..b/live/demo/index.m3u8'])(
    'refuses %s',
    (path) => {
      expect(splitPlaybackToken(path)).toBeNull();
      expect(isValidPlaybackToken(path.split('/')[2] ?? '')).toBe(path === '/t/abc' || path === '/t/abc/other/x');
    },
  );
});
