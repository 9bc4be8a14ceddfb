// The origin over real HTTP: playlists read back by hls-parser, blocking reload timing and errors, media objects, life-cycle.
import { beforeAll, describe, expect, it } from 'vitest';
import * as HLS from 'hls-parser';
import { FakePackager, PARTS_PER_SEGMENT } from './fake-packager.ts';
import { originsPerTest, parseMedia, until } from './http-harness.ts';

beforeAll(() => HLS.setOptions({ strictMode: true }));

const origins = originsPerTest();
const live = origins.live;

async function getMedia(url: string): Promise<HLS.types.MediaPlaylist> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return parseMedia(await res.text());
}

function concat(chunks: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(chunks));
}

describe('playlists', () => {
  it('answers 404 with a reason for an unknown stream, and before the stream has media', async () => {
    const { h, packager, url } = await live();
    const unknown = await fetch(`${h.baseUrl}/live/nope/index.m3u8`);
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toContain('unknown stream');
    expect(unknown.headers.get('access-control-allow-origin')).toBe('*');
    expect(unknown.headers.get('access-control-expose-headers')).toMatch(/ETag/);
    expect((await fetch(url('index.m3u8'))).status).toBe(404);
    packager.sendInit();
    expect((await fetch(url('index.m3u8'))).status).toBe(404);
    expect((await fetch(url('v0/media.m3u8'))).status).toBe(404);
    packager.sendPart();
    expect((await fetch(url('index.m3u8'))).status).toBe(200);
    expect((await fetch(url('nope/media.m3u8'))).status).toBe(404);
  });

  it('serves a multivariant playlist with CODECS, RESOLUTION, BANDWIDTH and the media playlist URI', async () => {
    const { packager, url } = await live();
    packager.sendInit();
    packager.sendPart();
    const res = await fetch(url('index.m3u8'));
    expect(res.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
    expect(res.headers.get('cache-control')).toBe('public, max-age=2');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const playlist = HLS.parse(await res.text());
    if (!playlist.isMasterPlaylist) throw new Error('expected a multivariant playlist');
    expect(playlist.variants).toHaveLength(1);
    expect(playlist.variants[0]).toMatchObject({ uri: 'v0/media.m3u8', bandwidth: 2_628_000, codecs: 'avc1.42001f,opus', resolution: { width: 1280, height: 720 }, frameRate: 30 });
  });

  it('measures BANDWIDTH and AVERAGE-BANDWIDTH from the segments in the window once one completes, and holds them between segments', async () => {
    const { packager, url } = await live({ windowSegments: 4, keepSegments: 1 });
    packager.sendInit({ bandwidth: 3_000_000 });
    packager.sendParts(PARTS_PER_SEGMENT - 1);
    const variant = async (): Promise<HLS.types.Variant> => {
      const playlist = HLS.parse(await (await fetch(url('index.m3u8'))).text());
      if (!playlist.isMasterPlaylist) throw new Error('expected a multivariant playlist');
      return playlist.variants[0]!;
    };
    // Before a segment completes: the publisher's declared rate.
    expect(await variant()).toMatchObject({ bandwidth: 3_000_000, averageBandwidth: 3_000_000 });
    packager.sendParts(PARTS_PER_SEGMENT * 6 + 1);
    const { segments, parts } = packager.emitted;
    const rate = (msn: number): number => {
      const bytes = parts.filter((p) => p.msn === msn).reduce((sum, p) => sum + p.data.byteLength, 0);
      return (bytes * 8e6) / segments.find((s) => s.msn === msn)!.durationUs;
    };
    // The window is the last four complete segments, 2..5 (0 and 1 have slid out).
    const window = [2, 3, 4, 5];
    const kbit = (bps: number): number => Math.ceil(bps / 1000) * 1000;
    const totalBits = window.reduce((sum, msn) => sum + parts.filter((p) => p.msn === msn).reduce((s, p) => s + p.data.byteLength * 8, 0), 0);
    const totalS = window.reduce((sum, msn) => sum + segments.find((s) => s.msn === msn)!.durationUs / 1e6, 0);
    const measured = await variant();
    expect(measured.bandwidth).toBe(kbit(Math.max(...window.map(rate))));
    expect(measured.averageBandwidth).toBe(kbit(totalBits / totalS));
    expect(measured.averageBandwidth).toBeLessThan(3_000_000);
    // A part more does not change the multivariant playlist (it is cached for 2 s).
    packager.sendPart();
    expect(await variant()).toEqual(measured);
  });

  it('serves a media playlist that follows the LL-HLS rules and slides its window', async () => {
    const { stream, packager, url } = await live({ windowSegments: 4, keepSegments: 1 });
    packager.sendInit();
    packager.sendParts(PARTS_PER_SEGMENT * 6 + 4);
    const res = await fetch(url('v0/media.m3u8'));
    expect(res.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const playlist = parseMedia(await res.text());
    expect(playlist.version).toBe(6);
    expect(playlist.targetDuration).toBe(2);
    expect(playlist.partTargetDuration).toBe(0.2);
    expect(playlist.lowLatencyCompatibility).toMatchObject({ canBlockReload: true, partHoldBack: 0.6, holdBack: 6 });
    // Six complete segments (0..5), window of four, then segment 6 in progress.
    expect(playlist.mediaSequenceBase).toBe(2);
    expect(playlist.segments.map((s) => s.uri || null)).toEqual([`${stream.epoch}-2.m4s`, `${stream.epoch}-3.m4s`, `${stream.epoch}-4.m4s`, `${stream.epoch}-5.m4s`, null]);
    expect(playlist.segments[0]!.map?.uri).toBe(`init-${stream.epoch}.mp4`);

    const emitted = packager.emitted;
    let previousPdt = -Infinity;
    for (const segment of playlist.segments) {
      const pdt = segment.programDateTime!.getTime();
      expect(pdt).toBeGreaterThan(previousPdt);
      previousPdt = pdt;
      const msn = segment.mediaSequenceNumber;
      const firstPart = emitted.parts.find((p) => p.msn === msn && p.partIndex === 0)!;
      expect(pdt).toBe(firstPart.programDateTimeMs);
      const real = segment.parts.filter((p) => !p.hint);
      for (const [i, part] of real.entries()) {
        const source = emitted.parts.find((p) => p.msn === msn && p.partIndex === i)!;
        expect(part.uri).toBe(`${stream.epoch}-${msn}.${i}.m4s`);
        expect(part.duration!).toBeLessThanOrEqual(playlist.partTargetDuration!);
        expect(Boolean(part.independent)).toBe(source.independent);
      }
      if (segment.uri && real.length > 0) {
        expect(real).toHaveLength(PARTS_PER_SEGMENT);
        const sum = real.reduce((total, p) => total + p.duration!, 0);
        expect(Math.abs(sum - segment.duration)).toBeLessThan(0.001);
        // The next segment's PDT is this one's plus its duration, within a ms of rounding.
        const next = emitted.parts.find((p) => p.msn === msn + 1 && p.partIndex === 0)!;
        expect(Math.abs(pdt + segment.duration * 1000 - next.programDateTimeMs)).toBeLessThanOrEqual(1);
      }
    }
    const inProgress = playlist.segments.at(-1)!;
    expect(inProgress.parts.map((p) => [p.uri, p.hint])).toEqual([0, 1, 2, 3].map((i) => [`${stream.epoch}-6.${i}.m4s`, false]).concat([[`${stream.epoch}-6.4.m4s`, true]]));
    // Older segments than three target durations carry no parts.
    expect(playlist.segments[0]!.parts).toHaveLength(0);
  });

  it('adds EXT-X-ENDLIST and drops the preload hint when the stream ends', async () => {
    const { packager, url } = await live();
    packager.sendInit();
    packager.sendParts(PARTS_PER_SEGMENT * 2);
    packager.sendEnd();
    const text = await (await fetch(url('v0/media.m3u8'))).text();
    expect(parseMedia(text).endlist).toBe(true);
    expect(text).not.toContain('PRELOAD-HINT');
  });
});

describe('blocking playlist reload', () => {
  it('answers at once when the playlist already holds the requested part', async () => {
    const { packager, url } = await live();
    packager.sendInit();
    packager.sendParts(3);
    const res = await fetch(url('v0/media.m3u8?_HLS_msn=0&_HLS_part=2'));
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('public, max-age=6');
    expect(parseMedia(await res.text()).segments.at(-1)!.parts.filter((p) => !p.hint)).toHaveLength(3);
  });

  it('holds a request for the next part and answers it once the part lands', async () => {
    const { stream, packager, url } = await live();
    packager.sendInit();
    packager.sendParts(3);
    let emitted = false;
    let answeredAfterEmit: boolean | undefined;
    const pending = fetch(url('v0/media.m3u8?_HLS_msn=0&_HLS_part=3')).then(async (res) => {
      answeredAfterEmit = emitted;
      return { status: res.status, text: await res.text() };
    });
    await until(() => stream.rendition('v0')!.waiting === 1);
    expect(answeredAfterEmit).toBeUndefined();
    emitted = true;
    packager.sendPart();
    const { status, text } = await pending;
    expect(status).toBe(200);
    expect(answeredAfterEmit).toBe(true);
    expect(text).toContain(`URI="${stream.epoch}-0.3.m4s"`);
    expect(text).toContain(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="${stream.epoch}-0.4.m4s"`);
  });

  it('holds an msn-only request until that segment is complete', async () => {
    const { stream, packager, url } = await live();
    packager.sendInit();
    packager.sendParts(PARTS_PER_SEGMENT - 1);
    const pending = fetch(url('v0/media.m3u8?_HLS_msn=0'));
    await until(() => stream.rendition('v0')!.waiting === 1);
    packager.sendPart();
    const playlist = parseMedia(await (await pending).text());
    expect(playlist.segments[0]!.uri).toBe(`${stream.epoch}-0.m4s`);
  });

  it('answers a part index past the end of its segment with the next segment\'s first part', async () => {
    const { stream, packager, url } = await live();
    packager.sendInit();
    packager.sendParts(4);
    const pending = fetch(url('v0/media.m3u8?_HLS_msn=0&_HLS_part=6'));
    await until(() => stream.rendition('v0')!.waiting === 1);
    packager.sendSegment();
    expect(stream.rendition('v0')!.waiting).toBe(1);
    packager.sendPart();
    const text = await (await pending).text();
    expect(text).toContain(`URI="${stream.epoch}-1.0.m4s"`);
  });

  it('refuses _HLS_part alone, an msn too far ahead and malformed numbers with 400', async () => {
    const { packager, url } = await live();
    packager.sendInit();
    packager.sendParts(PARTS_PER_SEGMENT + 2);
    for (const query of ['_HLS_part=1', '_HLS_msn=4', '_HLS_msn=-1', '_HLS_msn=1.5', '_HLS_msn=x', '_HLS_msn=1&_HLS_part=-2', '_HLS_msn=1&_HLS_part=40']) {
      const res = await fetch(url(`v0/media.m3u8?${query}`));
      expect(res.status, query).toBe(400);
      expect(res.headers.get('access-control-allow-origin'), query).toBe('*');
      expect((await res.text()).length, query).toBeGreaterThan(0);
    }
  });

  it('answers 503 when the playlist does not get there within the blocking timeout', async () => {
    const { packager, url } = await live({ blockingTimeoutMs: 300 });
    packager.sendInit();
    packager.sendParts(2);
    const started = performance.now();
    const res = await fetch(url('v0/media.m3u8?_HLS_msn=1'));
    expect(res.status).toBe(503);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('answers a held request with the final playlist when the stream ends', async () => {
    const { stream, packager, url } = await live();
    packager.sendInit();
    packager.sendParts(2);
    const pending = fetch(url('v0/media.m3u8?_HLS_msn=1&_HLS_part=0'));
    await until(() => stream.rendition('v0')!.waiting === 1);
    packager.sendSegment();
    packager.sendEnd();
    const res = await pending;
    expect(res.status).toBe(200);
    const playlist = parseMedia(await res.text());
    expect(playlist.endlist).toBe(true);
    expect(playlist.segments.map((s) => s.uri)).toEqual([`${stream.epoch}-0.m4s`]);
  });

  it('answers held requests with 503 when the origin closes, and forgets requests whose client left', async () => {
    const { h, stream, packager, url } = await live();
    packager.sendInit();
    packager.sendParts(2);
    const controller = new AbortController();
    const abandoned = fetch(url('v0/media.m3u8?_HLS_msn=0&_HLS_part=5'), { signal: controller.signal }).catch(() => 'aborted');
    const held = fetch(url('v0/media.m3u8?_HLS_msn=0&_HLS_part=4'));
    const timeline = stream.rendition('v0')!;
    await until(() => timeline.waiting === 2);
    controller.abort();
    expect(await abandoned).toBe('aborted');
    await until(() => timeline.waiting === 1);
    h.origin.close();
    expect((await held).status).toBe(503);
    expect(timeline.waiting).toBe(0);
    expect(h.origin.streamCount).toBe(0);
    expect((await fetch(url('index.m3u8'))).status).toBe(404);
  });
});

describe('media objects', () => {
  it('serves init, parts and whole segments byte for byte with immutable caching', async () => {
    const { stream, packager, url } = await live();
    const init = packager.sendInit();
    packager.sendParts(PARTS_PER_SEGMENT + 1);
    const e = stream.epoch;

    const initRes = await fetch(url(`v0/init-${e}.mp4`));
    expect(initRes.status).toBe(200);
    expect(new Uint8Array(await initRes.arrayBuffer())).toEqual(init.data);
    for (const res of [initRes]) {
      expect(res.headers.get('content-type')).toBe('video/mp4');
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
    }

    const part = packager.emitted.parts.find((p) => p.msn === 0 && p.partIndex === 4)!;
    const partRes = await fetch(url(`v0/${e}-0.4.m4s`));
    expect(partRes.headers.get('content-type')).toBe('video/mp4');
    expect(partRes.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(new Uint8Array(await partRes.arrayBuffer())).toEqual(part.data);

    const segmentRes = await fetch(url(`v0/${e}-0.m4s`));
    expect(segmentRes.status).toBe(200);
    const etag = segmentRes.headers.get('etag');
    expect(etag).toBeTruthy();
    const expected = concat(packager.emitted.parts.filter((p) => p.msn === 0).map((p) => p.data));
    expect(new Uint8Array(await segmentRes.arrayBuffer())).toEqual(expected);
    expect((await fetch(url(`v0/${e}-0.m4s`), { headers: { 'If-None-Match': etag! } })).status).toBe(304);

    // The segment in progress is not a segment yet; its parts are.
    expect((await fetch(url(`v0/${e}-1.m4s`))).status).toBe(404);
    expect((await fetch(url(`v0/${e}-1.0.m4s`))).status).toBe(200);
  });

  it('answers HEAD with the headers and no body', async () => {
    const { stream, packager, url } = await live();
    packager.sendInit();
    packager.sendParts(PARTS_PER_SEGMENT);
    const res = await fetch(url(`v0/${stream.epoch}-0.m4s`), { method: 'HEAD' });
    expect(res.status).toBe(200);
    const size = packager.emitted.parts.reduce((sum, p) => sum + p.data.byteLength, 0);
    expect(res.headers.get('content-length')).toBe(String(size));
    expect((await res.arrayBuffer()).byteLength).toBe(0);
    const playlist = await fetch(url('v0/media.m3u8'), { method: 'HEAD' });
    expect(playlist.status).toBe(200);
    expect(playlist.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
    expect((await playlist.arrayBuffer()).byteLength).toBe(0);
  });

  it('answers 404 for expired segments, unknown names and objects of an earlier publish', async () => {
    const { h, stream, packager, url } = await live({ windowSegments: 3, keepSegments: 1 });
    packager.sendInit();
    packager.sendParts(PARTS_PER_SEGMENT * 6);
    const e = stream.epoch;
    // Six complete segments, window 3 + keep 1: segments 0 and 1 are gone, 2 is kept though out of the playlist.
    expect((await fetch(url(`v0/${e}-1.m4s`))).status).toBe(404);
    expect((await fetch(url(`v0/${e}-1.3.m4s`))).status).toBe(404);
    expect((await fetch(url(`v0/${e}-2.m4s`))).status).toBe(200);
    const playlist = await getMedia(url('v0/media.m3u8'));
    expect(playlist.mediaSequenceBase).toBe(3);
    expect((await fetch(url(`v0/${e}-9.m4s`))).status).toBe(404);
    expect((await fetch(url('v0/whatever.ts'))).status).toBe(404);
    expect((await fetch(url(`v0/init-zz${e}.mp4`))).status).toBe(404);

    // A new publish on the same name gets a new epoch; the old names stop resolving.
    packager.sendEnd();
    const next = new FakePackager('v0');
    const republished = h.origin.attach('cam', next);
    expect(republished.epoch).not.toBe(e);
    next.sendInit();
    next.sendParts(PARTS_PER_SEGMENT);
    expect((await fetch(url(`v0/${e}-0.0.m4s`))).status).toBe(404);
    expect((await fetch(url(`v0/${republished.epoch}-0.m4s`))).status).toBe(200);
  });

  it('holds a request for the hinted part and serves it when it lands', async () => {
    const { stream, packager, url } = await live();
    packager.sendInit();
    packager.sendParts(2);
    const pending = fetch(url(`v0/${stream.epoch}-0.2.m4s`));
    await until(() => stream.rendition('v0')!.waiting === 1);
    const part = packager.sendPart();
    const res = await pending;
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(part.data);
    // A part further ahead than the hint is not hinted: 404 at once.
    expect((await fetch(url(`v0/${stream.epoch}-0.5.m4s`))).status).toBe(404);
  });
});

describe('Origin registry', () => {
  it('refuses a second attach on a live name and replaces an ended one', async () => {
    const harness = await origins.start();
    const first = new FakePackager();
    harness.origin.attach('show', first);
    expect(() => harness.origin.attach('show', new FakePackager())).toThrowError(expect.objectContaining({ code: 'stream-busy' }));
    first.sendEnd();
    expect(harness.origin.get('show')!.ended).toBe(true);
    const replacement = harness.origin.attach('show', new FakePackager());
    expect(harness.origin.get('show')).toBe(replacement);
    expect(harness.origin.streamCount).toBe(1);
    // The replaced stream no longer listens to its packager.
    expect(first.listenerCount('part')).toBe(0);
    expect(harness.origin.detach('show')).toBe(true);
    expect(harness.origin.has('show')).toBe(false);
  });

  it('drops an ended stream after the retention time', async () => {
    const harness = await origins.start({ endedRetentionMs: 50 });
    const packager = new FakePackager();
    harness.origin.attach('gone', packager);
    packager.sendEnd();
    expect(harness.origin.has('gone')).toBe(true);
    await until(() => !harness.origin.has('gone'));
  });
});
