// The pure cache rules: which requests share a key, what kind of object a URL names, what upstream headers allow.
import { describe, expect, it } from 'vitest';
import { cachePolicyOf, parseCacheControl } from '../cache-control.ts';
import { cacheKeyOf, objectKindOf } from '../cache-key.ts';
import { ObjectCache, type CachedObject } from '../object-cache.ts';

describe('cache key', () => {
  it('gives blocking requests for the same msn/part/skip one key whatever the parameter order', () => {
    const a = cacheKeyOf('/live/s/v0/media.m3u8?_HLS_msn=12&_HLS_part=3&_HLS_skip=YES');
    const b = cacheKeyOf('/live/s/v0/media.m3u8?_HLS_skip=YES&_HLS_part=3&_HLS_msn=12');
    expect(a).toBe(b);
    expect(cacheKeyOf('/live/s/v0/media.m3u8?_HLS_msn=12&_HLS_part=4')).not.toBe(cacheKeyOf('/live/s/v0/media.m3u8?_HLS_msn=12&_HLS_part=3'));
    expect(cacheKeyOf('/live/s/v0/media.m3u8?_HLS_msn=12')).not.toBe(cacheKeyOf('/live/s/v0/media.m3u8'));
    expect(cacheKeyOf('/live/s/v0/media.m3u8?')).toBe('/live/s/v0/media.m3u8');
  });

  it('tells playlists, init, parts and segments apart by the origin naming', () => {
    expect(objectKindOf('/live/s/index.m3u8')).toBe('playlist');
    expect(objectKindOf('/live/s/v0/media.m3u8?_HLS_msn=1')).toBe('playlist');
    expect(objectKindOf('/live/s/v0/init-k3x9.mp4')).toBe('init');
    expect(objectKindOf('/live/s/v0/k3x9-41.2.m4s')).toBe('part');
    expect(objectKindOf('/live/s/v0/k3x9-41.m4s')).toBe('segment');
    expect(objectKindOf('/live/s/v0/key-k3x9-4.key')).toBe('key');
    expect(objectKindOf('/live/s/v0/whatever.txt')).toBe('other');
  });
});

describe('cache policy', () => {
  it('keeps immutable media for its max-age and blocking playlists for their short max-age', () => {
    expect(cachePolicyOf(200, 'public, max-age=31536000, immutable')).toEqual({ storable: true, freshMs: 31_536_000_000, immutable: true });
    expect(cachePolicyOf(200, 'public, max-age=6')).toEqual({ storable: true, freshMs: 6000, immutable: false });
    expect(cachePolicyOf(200, 'max-age=6, s-maxage=2').freshMs).toBe(2000);
  });

  it('never stores no-cache, no-store, private or error answers', () => {
    expect(cachePolicyOf(200, 'no-cache').storable).toBe(false);
    expect(cachePolicyOf(200, 'no-store, max-age=60').storable).toBe(false);
    expect(cachePolicyOf(200, 'private, max-age=60').storable).toBe(false);
    expect(cachePolicyOf(200, undefined).storable).toBe(false);
    expect(cachePolicyOf(404, 'max-age=60').storable).toBe(false);
    expect(cachePolicyOf(503, 'public, max-age=31536000, immutable').storable).toBe(false);
  });

  it('reads directives case-insensitively with quoted values', () => {
    const directives = parseCacheControl('Public, MAX-AGE="30", No-Transform');
    expect(directives.get('max-age')).toBe('30');
    expect(directives.has('no-transform')).toBe(true);
  });
});

describe('object cache', () => {
  const object = (bytes: number): CachedObject => ({ kind: 'part', status: 200, headers: {}, body: Buffer.alloc(bytes), freshUntilMs: 0 });

  it('evicts the least recently used objects to stay within its byte bound', () => {
    const cache = new ObjectCache(16 * 1024);
    cache.set('a', object(1500));
    cache.set('b', object(1500));
    cache.set('c', object(1500));
    cache.get('a');
    for (let i = 0; i < 6; i++) cache.set(`x${i}`, object(1500));
    expect(cache.bytes).toBeLessThanOrEqual(16 * 1024);
    expect(cache.get('a')).toBeDefined();
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('x5')).toBeDefined();
  });

  it('does not store an object larger than an eighth of the cache', () => {
    const cache = new ObjectCache(8000);
    cache.set('big', object(1200));
    expect(cache.get('big')).toBeUndefined();
    expect(cache.bytes).toBe(0);
  });
});
