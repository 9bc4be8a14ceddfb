// What the origin publishes for peer-assisted viewers: digests.json per rendition, and BANDWIDTH that holds still.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { resolveOriginConfig } from '../config.ts';
import { Origin } from '../origin.ts';
import { RenditionTimeline } from '../rendition-timeline.ts';
import { FakePackager, PARTS_PER_SEGMENT } from './fake-packager.ts';
import { originsPerTest, parseMedia } from './http-harness.ts';

const origins = originsPerTest();

describe('digests.json', () => {
  it('lists the SHA-256 of every served segment under the name its playlist URI gives it, with CORS and a one-second lifetime', async () => {
    const { packager, url } = await origins.live({ windowSegments: 3, keepSegments: 1 });
    packager.sendInit();
    packager.sendParts(PARTS_PER_SEGMENT * 6 + 2);
    const res = await fetch(url('v0/digests.json'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('cache-control')).toBe('public, max-age=1');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const { segments } = (await res.json()) as { segments: Record<string, string> };

    const playlist = parseMedia(await (await fetch(url('v0/media.m3u8'))).text());
    const listed = playlist.segments.filter((segment) => segment.uri.endsWith('.m4s')).map((segment) => segment.uri);
    expect(listed).toHaveLength(3);
    // The window's segments and the one kept behind it, which is still served.
    expect(Object.keys(segments)).toHaveLength(4);
    for (const name of listed) expect(Object.keys(segments)).toContain(name);
    for (const [name, digest] of Object.entries(segments)) {
      const body = Buffer.from(await (await fetch(url(`v0/${name}`))).arrayBuffer());
      expect(digest, name).toBe(createHash('sha256').update(body).digest('base64'));
    }
  });

  it('is empty before a segment completes, 404 for an unknown rendition, and answers 304 to a client that holds it', async () => {
    const { packager, url } = await origins.live();
    packager.sendInit();
    packager.sendPart();
    expect(await (await fetch(url('v0/digests.json'))).json()).toEqual({ segments: {} });
    expect((await fetch(url('v9/digests.json'))).status).toBe(404);
    packager.sendParts(PARTS_PER_SEGMENT);
    const first = await fetch(url('v0/digests.json'));
    const etag = first.headers.get('etag');
    expect(etag).toBeTruthy();
    expect((await fetch(url('v0/digests.json'), { headers: { 'if-none-match': etag! } })).status).toBe(304);
  });
});

/** A timeline fed whole one-second segments (one part each) of the sizes given. */
function timelineWithSegments(bytesPerSegment: readonly number[]): RenditionTimeline {
  const timeline = new RenditionTimeline({ streamName: 'cam', rendition: 'v0', epoch: 'e1', config: resolveOriginConfig({ windowSegments: 3, keepSegments: 0, segmentTargetMs: 1_000 }) });
  timeline.setInit({ rendition: 'v0', data: new Uint8Array(8), codecs: 'avc1.42001f,opus', width: 1280, height: 720, bandwidth: 1_000_000 });
  bytesPerSegment.forEach((bytes, msn) => {
    timeline.addPart({ rendition: 'v0', msn, partIndex: 0, durationUs: 1_000_000, independent: true, programDateTimeMs: msn * 1_000, data: new Uint8Array(bytes) });
    timeline.completeSegment({ rendition: 'v0', msn, durationUs: 1_000_000, partCount: 1, programDateTimeMs: msn * 1_000 });
  });
  return timeline;
}

describe('sticky BANDWIDTH', () => {
  it('publishes the declared rate, then the first measurement, then holds while segments stay within 20 %', () => {
    // 125 000 bytes a second = 1 Mbit/s; then segments 10 % and 15 % larger.
    const timeline = timelineWithSegments([250_000, 250_000, 275_000, 287_500, 250_000]);
    expect(timeline.variant()).toMatchObject({ bandwidth: 2_000_000, averageBandwidth: 2_000_000 });
    expect(timeline.publishedVariants().map((v) => v.bandwidth)).toEqual([1_000_000, 2_000_000]);
  });

  it('follows a move of more than 20 % and keeps the earlier variants for viewers who read them', () => {
    const timeline = timelineWithSegments([250_000, 250_000, 400_000, 400_000, 400_000]);
    expect(timeline.variant()).toMatchObject({ bandwidth: 3_200_000, averageBandwidth: 3_200_000 });
    // Segment 2 moves the peak (2.0 → 3.2 Mbit/s, average 2.4); segment 4 the average (2.4 → 3.2), segment 3 neither.
    expect(timeline.publishedVariants().map((v) => [v.bandwidth, v.averageBandwidth])).toEqual([
      [1_000_000, 1_000_000],
      [2_000_000, 2_000_000],
      [3_200_000, 2_400_000],
      [3_200_000, 3_200_000],
    ]);
  });
});

describe('Origin.publishedVariants', () => {
  it('lists nothing for a stream without an init, and drops a stream once it is no longer served', () => {
    const origin = new Origin();
    const packager = new FakePackager('v0');
    origin.attach('cam', packager);
    expect(origin.publishedVariants()).toEqual([]);
    packager.sendInit({ frameRate: 29.97 });
    expect(origin.publishedVariants()).toEqual([
      { stream: 'cam', rendition: 'v0', variant: { bandwidth: 2_628_000, codecs: 'avc1.42001f,opus', width: 1280, height: 720, frameRate: '29.970' } },
    ]);
    origin.detach('cam');
    expect(origin.publishedVariants()).toEqual([]);
    origin.close();
  });
});
