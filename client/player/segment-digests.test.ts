// SegmentDigests: peer-delivered segments are accepted only when their SHA-256 matches the origin's digests.json.
import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { SegmentDigests, sha256Base64 } from './segment-digests.ts';

const BASE = 'http://edge.test/live/show/720p';
const bytes = (text: string): ArrayBuffer => new TextEncoder().encode(text).buffer as ArrayBuffer;
const digestOf = (text: string): string => createHash('sha256').update(text).digest('base64');

/** A digests.json server whose listing the test changes, counting requests by URL. */
function server(initial: Record<string, string>) {
  let segments = initial;
  const requests: string[] = [];
  return {
    requests,
    publish(next: Record<string, string>) {
      segments = next;
    },
    fetchJson: async (url: string) => {
      requests.push(url);
      return { segments };
    },
  };
}

describe('sha256Base64', () => {
  test('agrees with node:crypto', async () => {
    expect(await sha256Base64(bytes('segment'))).toBe(digestOf('segment'));
  });
});

describe('SegmentDigests', () => {
  test('accepts the published bytes and refuses any others, fetching the rendition digests once', async () => {
    const origin = server({ 'e1-7.m4s': digestOf('good'), 'e1-8.m4s': digestOf('next') });
    const digests = new SegmentDigests({ fetchJson: origin.fetchJson, refetchDelayMs: 0 });
    expect(await digests.verify(`${BASE}/e1-7.m4s`, bytes('good'))).toBe(true);
    expect(await digests.verify(`${BASE}/e1-7.m4s?x=1`, bytes('evil'))).toBe(false);
    expect(await digests.verify(`${BASE}/e1-8.m4s`, bytes('next'))).toBe(true);
    expect(origin.requests).toEqual([`${BASE}/digests.json`]);
  });

  test('fetches again for a segment newer than the digests it has', async () => {
    const origin = server({ 'e1-7.m4s': digestOf('a') });
    const digests = new SegmentDigests({ fetchJson: origin.fetchJson, refetchDelayMs: 0 });
    expect(await digests.verify(`${BASE}/e1-7.m4s`, bytes('a'))).toBe(true);
    origin.publish({ 'e1-7.m4s': digestOf('a'), 'e1-8.m4s': digestOf('b') });
    expect(await digests.verify(`${BASE}/e1-8.m4s`, bytes('b'))).toBe(true);
    expect(origin.requests).toHaveLength(2);
  });

  test('refuses a segment the origin never lists, after a bounded number of fetches', async () => {
    const origin = server({ 'e1-7.m4s': digestOf('a') });
    const digests = new SegmentDigests({ fetchJson: origin.fetchJson, refetchDelayMs: 0 });
    expect(await digests.verify(`${BASE}/e1-99.m4s`, bytes('a'))).toBe(false);
    expect(origin.requests).toHaveLength(2);
  });

  test('concurrent checks of one rendition share a fetch; renditions keep separate digests', async () => {
    const origin = server({ 'e1-7.m4s': digestOf('a') });
    const digests = new SegmentDigests({ fetchJson: origin.fetchJson, refetchDelayMs: 0 });
    const results = await Promise.all([
      digests.verify(`${BASE}/e1-7.m4s`, bytes('a')),
      digests.verify(`${BASE}/e1-7.m4s`, bytes('a')),
      digests.verify('http://edge.test/live/show/360p/e1-7.m4s', bytes('a')),
    ]);
    expect(results).toEqual([true, true, true]);
    expect(origin.requests.sort()).toEqual(['http://edge.test/live/show/360p/digests.json', `${BASE}/digests.json`]);
  });

  test('an unreachable or malformed digests document refuses peer segments instead of trusting them', async () => {
    const failing = new SegmentDigests({ fetchJson: () => Promise.reject(new Error('HTTP 404')), refetchDelayMs: 0 });
    expect(await failing.verify(`${BASE}/e1-7.m4s`, bytes('a'))).toBe(false);
    const malformed = new SegmentDigests({ fetchJson: async () => ({ segments: { 'e1-7.m4s': 42 } }), refetchDelayMs: 0 });
    expect(await malformed.verify(`${BASE}/e1-7.m4s`, bytes('a'))).toBe(false);
  });
});
