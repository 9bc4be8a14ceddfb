// LL-HLS features of the origin over real HTTP: parts streamed while produced, delta updates, rendition reports, GAP, caching and gzip.
import { rawGet } from '../../../e2e/support/live-hls.ts';
import { gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import * as HLS from 'hls-parser';
import { CHUNKS_PER_PART, FakePackager, PARTS_PER_SEGMENT } from './fake-packager.ts';
import { originsPerTest, parseMedia, until } from './http-harness.ts';
import type { PackagedStream } from '../live-stream.ts';

beforeAll(() => HLS.setOptions({ strictMode: true }));

const origins = originsPerTest();
const live = origins.live;

/** One packaged stream made of several fake packagers, one per rendition, as the real packager emits them all. */
function renditions(...sources: FakePackager[]): PackagedStream {
  return {
    on: (event, listener) => sources.forEach((source) => source.on(event, listener)),
    off: (event, listener) => sources.forEach((source) => source.off(event, listener)),
  };
}

/** Reads a streamed body as it arrives, so a test can see which bytes came before which event. */
class BodyReader {
  bytes = new Uint8Array(0);
  done = false;
  failed: unknown;
  constructor(body: ReadableStream<Uint8Array>) {
    const reader = body.getReader();
    const pump = async (): Promise<void> => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        this.bytes = new Uint8Array(Buffer.concat([this.bytes, value]));
      }
      this.done = true;
    };
    pump().catch((err: unknown) => {
      this.failed = err;
    });
  }
}

describe('parts streamed while produced', () => {
  it('sends the first chunk of a hinted part before the next chunk exists, chunked, and ends with exactly the part', async () => {
    const { stream, packager, url } = await live();
    packager.sendInit();
    packager.sendParts(2);
    const playlist = await (await fetch(url('v0/media.m3u8'))).text();
    expect(playlist).toContain(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="${stream.epoch}-0.2.m4s"`);

    const res = fetch(url(`v0/${stream.epoch}-0.2.m4s`));
    // The part has not started: headers come once it does.
    await until(() => stream.rendition('v0')!.waiting === 1);
    const first = packager.sendChunk();
    const response = await res;
    expect(response.status).toBe(200);
    expect(response.headers.get('transfer-encoding')).toBe('chunked');
    expect(response.headers.get('content-length')).toBeNull();
    expect(response.headers.get('content-encoding')).toBeNull();
    expect(response.headers.get('content-type')).toBe('video/mp4');
    const body = new BodyReader(response.body!);
    await until(() => body.bytes.byteLength === first.data.byteLength);
    expect(Buffer.from(body.bytes).equals(Buffer.from(first.data))).toBe(true);
    expect(body.done).toBe(false);

    for (let i = 1; i < CHUNKS_PER_PART; i++) {
      const chunk = packager.sendChunk();
      await until(() => body.bytes.byteLength === packager.emitted.chunks.slice(-i - 1).reduce((n, c) => n + c.data.byteLength, 0));
      expect(Buffer.from(body.bytes.subarray(-chunk.data.byteLength)).equals(Buffer.from(chunk.data))).toBe(true);
    }
    expect(body.done).toBe(false);
    const part = packager.sendPart();
    await until(() => body.done);
    expect(Buffer.from(body.bytes).equals(Buffer.from(part.data))).toBe(true);
  });

  it('feeds concurrent readers of the part in production, late joiners included, the same bytes as the complete part', async () => {
    const { stream, packager, url } = await live();
    packager.sendInit();
    packager.sendParts(PARTS_PER_SEGMENT + 1);
    packager.sendChunk();
    const partUrl = url(`v0/${stream.epoch}-1.1.m4s`);
    const early = await Promise.all(Array.from({ length: 4 }, () => fetch(partUrl)));
    const readers = early.map((res) => new BodyReader(res.body!));
    const firstBytes = packager.emitted.chunks.at(-1)!.data.byteLength;
    await until(() => readers.every((r) => r.bytes.byteLength === firstBytes));
    packager.sendChunk();
    // A reader arriving mid-part gets the chunks already written at once, then follows.
    const late = new BodyReader((await fetch(partUrl)).body!);
    readers.push(late);
    const soFar = packager.emitted.chunks.slice(-2).reduce((n, c) => n + c.data.byteLength, 0);
    await until(() => readers.every((r) => r.bytes.byteLength === soFar));
    const part = packager.sendPart();
    await until(() => readers.every((r) => r.done));
    const complete = new Uint8Array(await (await fetch(partUrl)).arrayBuffer());
    expect(Buffer.from(complete).equals(Buffer.from(part.data))).toBe(true);
    for (const reader of readers) expect(Buffer.from(reader.bytes).equals(Buffer.from(complete))).toBe(true);
    // The part as served whole later is also a slice of its segment, byte for byte.
    packager.sendParts(PARTS_PER_SEGMENT - 2);
    const segment = Buffer.from(await (await fetch(url(`v0/${stream.epoch}-1.m4s`))).arrayBuffer());
    const offset = packager.emitted.parts.find((p) => p.msn === 1 && p.partIndex === 0)!.data.byteLength;
    expect(segment.subarray(offset, offset + complete.byteLength).equals(Buffer.from(complete))).toBe(true);
  });

  it('cuts streamed responses off (no clean end) when the stream closes mid-part', async () => {
    const { h, stream, packager, url } = await live();
    packager.sendInit();
    packager.sendParts(1);
    packager.sendChunk();
    const reader = new BodyReader((await fetch(url(`v0/${stream.epoch}-0.1.m4s`))).body!);
    await until(() => reader.bytes.byteLength > 0);
    h.origin.detach('cam');
    await until(() => reader.failed !== undefined);
    expect(reader.done).toBe(false);
  });

  it('answers a HEAD for the part in production with its headers at once', async () => {
    const { stream, packager, url } = await live();
    packager.sendInit();
    packager.sendParts(1);
    packager.sendChunk();
    const res = await fetch(url(`v0/${stream.epoch}-0.1.m4s`), { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
  });
});

describe('playlist delta updates', () => {
  async function longStream(): Promise<{ url: (path: string) => string; packager: FakePackager }> {
    const { packager, url } = await live();
    packager.sendInit();
    // 15 complete segments (30 s) and 3 parts: more than the 12-segment default window, which is more than the 12 s boundary.
    packager.sendParts(PARTS_PER_SEGMENT * 15 + 3);
    return { packager, url };
  }

  it('offers CAN-SKIP-UNTIL of six target durations, with version 9 and EXT-X-INDEPENDENT-SEGMENTS', async () => {
    const { url } = await longStream();
    const text = await (await fetch(url('v0/media.m3u8'))).text();
    const playlist = parseMedia(text);
    expect(playlist.version).toBe(9);
    expect(playlist.lowLatencyCompatibility).toMatchObject({ canBlockReload: true, canSkipUntil: 12, holdBack: 6, partHoldBack: 0.6 });
    expect(text).toContain('CAN-SKIP-DATERANGES=YES');
    expect(text.split('\n')).toContain('#EXT-X-INDEPENDENT-SEGMENTS');
    expect(playlist.segments.filter((s) => s.uri)).toHaveLength(12);
  });

  it('answers _HLS_skip=YES with EXT-X-SKIP replacing the segments older than the boundary, consistent with the full playlist', async () => {
    const { url } = await longStream();
    const fullText = await (await fetch(url('v0/media.m3u8'))).text();
    const deltaText = await (await fetch(url('v0/media.m3u8?_HLS_skip=YES'))).text();
    const full = parseMedia(fullText);
    const delta = parseMedia(deltaText);
    expect(delta.version).toBe(9);
    expect(delta.mediaSequenceBase).toBe(full.mediaSequenceBase);
    const skipLine = deltaText.split('\n').find((l) => l.startsWith('#EXT-X-SKIP:'));
    expect(skipLine).toMatch(/^#EXT-X-SKIP:SKIPPED-SEGMENTS=\d+$/);
    const skipped = delta.skip;
    expect(skipped).toBeGreaterThan(0);
    expect(skipped + delta.segments.length).toBe(full.segments.length);
    // The same tail, segment for segment, with the same numbering.
    const tail = full.segments.slice(skipped);
    expect(delta.segments.map((s) => [s.mediaSequenceNumber, s.uri, s.duration, s.parts.length])).toEqual(tail.map((s) => [s.mediaSequenceNumber, s.uri, s.duration, s.parts.length]));
    // What is kept spans at least the Skip Boundary (12 s); one segment fewer would not.
    const keptS = delta.segments.reduce((sum, s) => sum + (s.duration ?? s.parts.reduce((n, p) => n + (p.duration ?? 0), 0)), 0);
    const lastSkipped = full.segments[skipped - 1]!;
    expect(keptS).toBeGreaterThanOrEqual(12);
    expect(keptS - (delta.segments[0]!.duration ?? 0)).toBeLessThan(12 + lastSkipped.duration);
    expect(delta.segments[0]!.programDateTime).toEqual(tail[0]!.programDateTime);
    expect(deltaText.indexOf('#EXT-X-MAP')).toBeGreaterThan(deltaText.indexOf('#EXT-X-SKIP'));
  });

  it('answers _HLS_skip=v2 with an empty RECENTLY-REMOVED-DATERANGES, and a blocking skip request too', async () => {
    const { url } = await longStream();
    const text = await (await fetch(url('v0/media.m3u8?_HLS_skip=v2'))).text();
    const skipLine = text.split('\n').find((l) => l.startsWith('#EXT-X-SKIP:'));
    expect(skipLine).toMatch(/^#EXT-X-SKIP:SKIPPED-SEGMENTS=\d+,RECENTLY-REMOVED-DATERANGES=""$/);
    const blocking = await fetch(url('v0/media.m3u8?_HLS_msn=15&_HLS_part=2&_HLS_skip=YES'));
    expect(blocking.status).toBe(200);
    expect(parseMedia(await blocking.text()).skip).toBeGreaterThan(0);
    expect((await fetch(url('v0/media.m3u8?_HLS_skip=no'))).status).toBe(400);
  });

  it('neither offers nor applies skips when the window is no longer than the boundary', async () => {
    const { packager, url } = await live({ windowSegments: 6 });
    packager.sendInit();
    packager.sendParts(PARTS_PER_SEGMENT * 8);
    const text = await (await fetch(url('v0/media.m3u8?_HLS_skip=YES'))).text();
    expect(text).not.toContain('CAN-SKIP-UNTIL');
    expect(text).not.toContain('#EXT-X-SKIP');
    expect(parseMedia(text).version).toBe(6);
  });
});

describe('rendition reports', () => {
  it('reports every other rendition\'s last segment and part, as of the moment the playlist is answered', async () => {
    const harness = await origins.start();
    const hi = new FakePackager('hi');
    const lo = new FakePackager('lo');
    const stream = harness.origin.attach('cam', renditions(hi, lo));
    const url = (path: string): string => `${harness.baseUrl}/live/cam/${path}`;
    hi.sendInit();
    lo.sendInit();
    hi.sendParts(PARTS_PER_SEGMENT + 3);
    lo.sendParts(PARTS_PER_SEGMENT + 2);
    const hiPlaylist = parseMedia(await (await fetch(url('hi/media.m3u8'))).text());
    expect(hiPlaylist.renditionReports.map((r) => [r.uri, r.lastMSN, r.lastPart])).toEqual([['../lo/media.m3u8', 1, 1]]);
    const loPlaylist = parseMedia(await (await fetch(url('lo/media.m3u8'))).text());
    expect(loPlaylist.renditionReports.map((r) => [r.uri, r.lastMSN, r.lastPart])).toEqual([['../hi/media.m3u8', 1, 2]]);

    // A blocking request answered when hi gets part 1.3 reports lo as it is in that same moment.
    const pending = fetch(url('hi/media.m3u8?_HLS_msn=1&_HLS_part=3'));
    await until(() => stream.rendition('hi')!.waiting === 1);
    lo.sendPart();
    hi.sendPart();
    const blocked = parseMedia(await (await pending).text());
    expect(blocked.renditionReports.map((r) => [r.lastMSN, r.lastPart])).toEqual([[1, 2]]);
  });
});

describe('GAP parts', () => {
  it('lists a part with no media as GAP=YES and answers a request for it with 404', async () => {
    const { stream, packager, url } = await live();
    packager.sendInit();
    packager.sendParts(2);
    packager.sendPart({ gap: true });
    packager.sendPart({ gap: true });
    packager.sendParts(1);
    const text = await (await fetch(url('v0/media.m3u8'))).text();
    const parts = parseMedia(text).segments.at(-1)!.parts;
    expect(parts.map((p) => Boolean(p.gap))).toEqual([false, false, true, true, false, false]);
    expect(text).toContain(`URI="${stream.epoch}-0.2.m4s",GAP=YES`);
    expect((await fetch(url(`v0/${stream.epoch}-0.2.m4s`))).status).toBe(404);
    expect((await fetch(url(`v0/${stream.epoch}-0.4.m4s`))).status).toBe(200);
  });
});

describe('playlist caching and compression', () => {
  it('gzips playlists for clients that accept it, with Vary and a distinct ETag, and the same text once inflated', async () => {
    const { packager, url } = await live();
    packager.sendInit();
    packager.sendParts(PARTS_PER_SEGMENT * 3 + 2);
    const plain = await rawGet(url('v0/media.m3u8'));
    const zipped = await rawGet(url('v0/media.m3u8'), { headers: { 'Accept-Encoding': 'br;q=1, gzip;q=0.8' } });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(zipped.headers['content-encoding']).toBe('gzip');
    for (const res of [plain, zipped]) {
      expect(res.status).toBe(200);
      expect(res.headers.vary).toBe('Accept-Encoding');
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(res.headers.etag).toMatch(/^"[^"]+"$/);
    }
    expect(zipped.headers.etag).not.toBe(plain.headers.etag);
    expect(Number(zipped.headers['content-length'])).toBe(zipped.body.byteLength);
    expect(zipped.body.byteLength).toBeLessThan(plain.body.byteLength);
    expect(gunzipSync(zipped.body).toString('utf8')).toBe(plain.body.toString('utf8'));
    // gzip;q=0 refuses it.
    expect((await rawGet(url('v0/media.m3u8'), { headers: { 'Accept-Encoding': 'gzip;q=0' } })).headers['content-encoding']).toBeUndefined();
    const multivariant = await rawGet(url('index.m3u8'), { headers: { 'Accept-Encoding': 'gzip' } });
    expect(gunzipSync(multivariant.body).toString('utf8')).toContain('#EXT-X-STREAM-INF');
  });

  it('answers a playlist revalidation with 304 until the playlist changes', async () => {
    const { packager, url } = await live();
    packager.sendInit();
    packager.sendParts(3);
    const first = await rawGet(url('v0/media.m3u8'));
    const etag = String(first.headers.etag);
    const again = await rawGet(url('v0/media.m3u8'), { headers: { 'If-None-Match': etag } });
    expect(again.status).toBe(304);
    expect(again.body.byteLength).toBe(0);
    expect(again.headers.etag).toBe(etag);
    packager.sendPart();
    expect((await rawGet(url('v0/media.m3u8'), { headers: { 'If-None-Match': etag } })).status).toBe(200);
  });

  it('caches blocking answers for three target durations, plain reloads not at all, the multivariant briefly', async () => {
    const { packager, url } = await live();
    packager.sendInit();
    packager.sendParts(3);
    expect((await rawGet(url('v0/media.m3u8?_HLS_msn=0&_HLS_part=2'))).headers['cache-control']).toBe('public, max-age=6');
    expect((await rawGet(url('v0/media.m3u8'))).headers['cache-control']).toBe('no-cache');
    expect((await rawGet(url('index.m3u8'))).headers['cache-control']).toBe('public, max-age=2');
  });
});
