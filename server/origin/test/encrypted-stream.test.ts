// An encrypted stream over real HTTP: EXT-X-KEY per key period and at the window's start, keys served and forgotten,
// every part (streamed while produced, or complete) and every segment its own AES-128-CBC run that decrypts to the
// packager's bytes, digests over the ciphertext; a stream not listed stays byte for byte clear.
import { createDecipheriv, createHash } from 'node:crypto';
import * as HLS from 'hls-parser';
import { beforeAll, describe, expect, it } from 'vitest';
import { keyObjectName, parseObjectName } from '../../../shared/playback-path.ts';
import { StreamKeys } from '../../access/index.ts';
import { resolveOriginConfig } from '../config.ts';
import { OriginError } from '../errors.ts';
import type { PackagedStream } from '../live-stream.ts';
import { RenditionTimeline } from '../rendition-timeline.ts';
import { CHUNKS_PER_PART, FakePackager, PARTS_PER_SEGMENT } from './fake-packager.ts';
import { originsPerTest, parseMedia, until } from './http-harness.ts';

beforeAll(() => HLS.setOptions({ strictMode: true }));

const origins = originsPerTest();
const ROTATION = 2;
const ENCRYPTED = { encryption: { streams: ['cam'], rotationSegments: ROTATION } };

interface KeyTag {
  uri: string;
  iv: Buffer;
  /** Media sequence number of the first segment the tag applies to. */
  firstMsn: number;
}

/** The playlist's EXT-X-KEY tags with the segment each one starts at (the msn of the next part or segment URI). */
function keyTags(playlist: string): KeyTag[] {
  const lines = playlist.split('\n');
  const tags: KeyTag[] = [];
  lines.forEach((line, at) => {
    const m = /^#EXT-X-KEY:METHOD=AES-128,URI="([^"]+)",IV=0x([0-9a-f]{32})$/.exec(line);
    if (!m) return;
    const next = lines.slice(at + 1).map(uriOf).find((uri) => uri !== undefined);
    const object = next === undefined ? null : parseObjectName(next);
    if (object?.kind !== 'part' && object?.kind !== 'segment') throw new Error(`no media after ${line}`);
    tags.push({ uri: m[1]!, iv: Buffer.from(m[2]!, 'hex'), firstMsn: object.msn });
  });
  return tags;
}

function uriOf(line: string): string | undefined {
  if (line.startsWith('#EXT-X-PART:')) return /URI="([^"]+)"/.exec(line)?.[1];
  return line && !line.startsWith('#') ? line : undefined;
}

function decrypt(key: Uint8Array, iv: Buffer, data: Uint8Array): Buffer {
  const decipher = createDecipheriv('aes-128-cbc', key, iv);
  return Buffer.concat([decipher.update(data), decipher.final()]);
}

async function get(url: string): Promise<{ status: number; body: Buffer; headers: Headers }> {
  const res = await fetch(url);
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()), headers: res.headers };
}

function joined(...sources: FakePackager[]): PackagedStream {
  return {
    on: (event, listener) => sources.forEach((source) => source.on(event, listener)),
    off: (event, listener) => sources.forEach((source) => source.off(event, listener)),
  };
}

describe('an encrypted stream', () => {
  it('lists EXT-X-KEY after EXT-X-MAP, where each key period starts, and keeps the init segment clear', async () => {
    const { stream, packager, url } = await origins.live(ENCRYPTED);
    const init = packager.sendInit();
    packager.sendParts(PARTS_PER_SEGMENT * 5 + 1);
    const playlist = await (await fetch(url('v0/media.m3u8'))).text();
    // Segments 0–5 are listed (5 in progress): key periods 0 (0, 1), 1 (2, 3), 2 (4, 5).
    expect(keyTags(playlist).map(({ uri, firstMsn }) => ({ uri, firstMsn }))).toEqual(
      [0, 1, 2].map((period) => ({ uri: keyObjectName(stream.epoch, period), firstMsn: period * ROTATION })),
    );
    expect(playlist.indexOf('#EXT-X-KEY')).toBeGreaterThan(playlist.indexOf('#EXT-X-MAP'));
    // An independent parser, strict, reads the same key for every segment of a period.
    const parsed = parseMedia(playlist);
    // (hls-parser's entry for the segment in progress, which has no URI yet, carries no usable key: left out.)
    const complete = parsed.segments.filter((segment) => segment.uri !== '');
    expect(complete.length).toBe(5);
    for (const segment of complete) {
      expect(segment.key?.method).toBe('AES-128');
      expect(segment.key?.uri).toBe(keyObjectName(stream.epoch, Math.floor(segment.mediaSequenceNumber / ROTATION)));
      expect(segment.key?.iv?.byteLength).toBe(16);
    }
    expect(parsed.segments[0]!.key?.iv).toEqual(parsed.segments[1]!.key?.iv);
    expect((await get(url(`v0/init-${stream.epoch}.mp4`))).body.equals(Buffer.from(init.data))).toBe(true);
  });

  it('serves every part and segment as ciphertext that its period key and IV decrypt to the packager bytes, and digests of the ciphertext', async () => {
    const { stream, packager, url } = await origins.live(ENCRYPTED);
    packager.sendInit();
    packager.sendParts(PARTS_PER_SEGMENT * 3 + 2);
    const playlist = await (await fetch(url('v0/media.m3u8'))).text();
    const tags = keyTags(playlist);
    const keyFor = async (msn: number): Promise<{ key: Buffer; iv: Buffer }> => {
      const tag = tags.findLast((t) => t.firstMsn <= msn)!;
      const answer = await get(url(`v0/${tag.uri}`));
      expect(answer.status).toBe(200);
      expect(answer.headers.get('content-type')).toBe('application/octet-stream');
      expect(answer.headers.get('cache-control')).toContain('immutable');
      expect(answer.body.byteLength).toBe(16);
      return { key: answer.body, iv: tag.iv };
    };
    for (const part of packager.emitted.parts) {
      const served = await get(url(`v0/${stream.epoch}-${part.msn}.${part.partIndex}.m4s`));
      expect(served.status).toBe(200);
      // PKCS#7: one to sixteen bytes of padding, and nothing of the clear bytes shows.
      expect(served.body.byteLength).toBe((Math.floor(part.data.byteLength / 16) + 1) * 16);
      expect(served.body.subarray(0, 16).equals(Buffer.from(part.data.subarray(0, 16)))).toBe(false);
      const { key, iv } = await keyFor(part.msn);
      expect(decrypt(key, iv, served.body).equals(Buffer.from(part.data))).toBe(true);
    }
    const digests = (await (await fetch(url('v0/digests.json'))).json()) as { segments: Record<string, string> };
    for (const info of packager.emitted.segments) {
      const served = await get(url(`v0/${stream.epoch}-${info.msn}.m4s`));
      const clear = Buffer.concat(packager.emitted.parts.filter((p) => p.msn === info.msn).map((p) => p.data));
      const { key, iv } = await keyFor(info.msn);
      expect(decrypt(key, iv, served.body).equals(clear)).toBe(true);
      expect(digests.segments[`${stream.epoch}-${info.msn}.m4s`]).toBe(createHash('sha256').update(served.body).digest('base64'));
    }
    // Periods 0 and 1 have different keys.
    expect((await keyFor(0)).key.equals((await keyFor(2)).key)).toBe(false);
  });

  it('streams the part in production encrypted chunk by chunk: complete blocks at once, the padded last block at its end', async () => {
    const { stream, packager, url } = await origins.live(ENCRYPTED);
    packager.sendInit();
    packager.sendParts(2);
    const res = fetch(url(`v0/${stream.epoch}-0.2.m4s`));
    await until(() => stream.rendition('v0')!.waiting === 1);
    const first = packager.sendChunk();
    const reader = (await res).body!.getReader();
    let received = Buffer.alloc(0);
    const readUntil = async (length: number): Promise<void> => {
      while (received.byteLength < length) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`body ended at ${received.byteLength} of ${length} bytes`);
        received = Buffer.concat([received, value]);
      }
    };
    // 30 clear bytes: one 16-byte block goes out before the next chunk exists.
    await readUntil(Math.floor(first.data.byteLength / 16) * 16);
    let clearSoFar = first.data.byteLength;
    for (let i = 1; i < CHUNKS_PER_PART; i++) {
      clearSoFar += packager.sendChunk().data.byteLength;
      await readUntil(Math.floor(clearSoFar / 16) * 16);
      expect(received.byteLength).toBe(Math.floor(clearSoFar / 16) * 16);
    }
    const part = packager.sendPart();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      received = Buffer.concat([received, value]);
    }
    const complete = await get(url(`v0/${stream.epoch}-0.2.m4s`));
    expect(received.equals(complete.body)).toBe(true);
    const tag = keyTags(await (await fetch(url('v0/media.m3u8'))).text())[0]!;
    const key = (await get(url(`v0/${tag.uri}`))).body;
    expect(decrypt(key, tag.iv, received).equals(Buffer.from(part.data))).toBe(true);
  });

  it('rotates keys, gives a joining player the key at the window start, and forgets keys no served segment uses', async () => {
    const { stream, packager, url } = await origins.live({ ...ENCRYPTED, windowSegments: 3, keepSegments: 0 });
    packager.sendInit();
    packager.sendParts(PARTS_PER_SEGMENT * 8 + 1);
    const playlist = await (await fetch(url('v0/media.m3u8'))).text();
    // Segments 5, 6, 7 complete and 8 in progress: 5 is in the middle of period 2, so the window opens with its key.
    expect(keyTags(playlist).map(({ uri, firstMsn }) => ({ uri, firstMsn }))).toEqual([
      { uri: keyObjectName(stream.epoch, 2), firstMsn: 5 },
      { uri: keyObjectName(stream.epoch, 3), firstMsn: 6 },
      { uri: keyObjectName(stream.epoch, 4), firstMsn: 8 },
    ]);
    for (const period of [0, 1]) {
      const gone = await get(url(`v0/${keyObjectName(stream.epoch, period)}`));
      expect(gone.status).toBe(404);
      expect(gone.body.toString().trim()).toBe(`key period ${period} of cam is not served`);
    }
    // Nor is a period not yet started, or another publish's key.
    expect((await get(url(`v0/${keyObjectName(stream.epoch, 5)}`))).status).toBe(404);
    expect((await get(url(`v0/${keyObjectName('zz', 4)}`))).status).toBe(404);
    expect((await get(url(`v0/${keyObjectName(stream.epoch, 4)}`))).status).toBe(200);
  });

  it('opens a delta update with the key of its first listed segment', async () => {
    const { packager, url } = await origins.live(ENCRYPTED);
    packager.sendInit();
    packager.sendParts(PARTS_PER_SEGMENT * 13 + 1);
    const delta = await (await fetch(url('v0/media.m3u8?_HLS_skip=YES'))).text();
    const skipped = Number(/#EXT-X-SKIP:SKIPPED-SEGMENTS=(\d+)/.exec(delta)?.[1]);
    expect(skipped).toBeGreaterThan(0);
    const firstListed = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(delta)?.[1]) + skipped;
    expect(firstListed % ROTATION).toBe(1);
    expect(keyTags(delta)[0]!.firstMsn).toBe(firstListed);
  });

  it('shares one key per period between renditions', async () => {
    const h = await origins.start(ENCRYPTED);
    const [high, low] = [new FakePackager('v0'), new FakePackager('v1')];
    const stream = h.origin.attach('cam', joined(high, low));
    for (const packager of [high, low]) {
      packager.sendInit();
      packager.sendParts(PARTS_PER_SEGMENT + 1);
    }
    const keyAt = async (rendition: string): Promise<Buffer> => (await get(`${h.baseUrl}/live/cam/${rendition}/${keyObjectName(stream.epoch, 0)}`)).body;
    expect((await keyAt('v0')).equals(await keyAt('v1'))).toBe(true);
    const ivs = await Promise.all(['v0', 'v1'].map(async (r) => keyTags(await (await fetch(`${h.baseUrl}/live/cam/${r}/media.m3u8`)).text())[0]!.iv));
    expect(ivs[0]!.equals(ivs[1]!)).toBe(true);
  });
});

describe('a stream not listed in ENCRYPTED_STREAMS', () => {
  it('is served byte for byte clear, with no key tag and no key', async () => {
    const { stream, packager, url } = await origins.live({ encryption: { streams: ['news'], rotationSegments: ROTATION } });
    packager.sendInit();
    packager.sendParts(PARTS_PER_SEGMENT + 2);
    expect(await (await fetch(url('v0/media.m3u8'))).text()).not.toContain('EXT-X-KEY');
    for (const part of packager.emitted.parts) {
      expect((await get(url(`v0/${stream.epoch}-${part.msn}.${part.partIndex}.m4s`))).body.equals(Buffer.from(part.data))).toBe(true);
    }
    expect((await get(url(`v0/${keyObjectName(stream.epoch, 0)}`))).status).toBe(404);
  });
});

describe('an encrypted rendition timeline', () => {
  it('refuses to list a segment whose key is gone rather than list it as clear, and makes no key while listing', () => {
    const keys = new StreamKeys('cam', ROTATION);
    const config = resolveOriginConfig({ partTargetMs: 200, segmentTargetMs: 1_000, windowSegments: 6, keepSegments: 0 });
    const timeline = new RenditionTimeline({ streamName: 'cam', rendition: 'v0', epoch: 'e1', config, keys });
    timeline.setInit({ rendition: 'v0', data: new Uint8Array(8), codecs: 'avc1.64001f', width: 640, height: 360, bandwidth: 1_000_000 });
    timeline.addPart({ rendition: 'v0', msn: 0, partIndex: 0, durationUs: 200_000, independent: true, programDateTimeMs: 0, data: new Uint8Array(100) });
    expect(timeline.snapshot().segments[0]?.key?.period).toBe(0);
    expect(keys.size).toBe(1);
    keys.forgetBefore(ROTATION);
    expect(() => timeline.snapshot()).toThrow(OriginError);
    expect(() => timeline.snapshot()).toThrow(/rendition v0: segment 0 is listed but its key period's key is gone/);
    expect(keys.size).toBe(0);
  });
});
