// Firefox's H.264 on real bytes: its malformed avcC is repaired, and init + segment built from it decode cleanly in ffmpeg.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WireMessage } from '../../../shared/protocol/index.ts';
import { StreamPackager, type Part, type RenditionInit } from '../index.ts';
import { CodecConfigError } from '../../../shared/codecs/errors.ts';
import { parseAvcC, writeAvcC } from '../../../shared/codecs/h264.ts';
import { normaliseAvcC, repairAvcDecoderConfig } from '../mp4/avcc.ts';

const run = promisify(execFile);

interface Fixture {
  codec: string;
  width: number;
  height: number;
  description: string;
  chunks: { type: 'key' | 'delta'; timestampUs: number; durationUs: number; data: string }[];
}

const fixture = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures/firefox-153-h264.json'), 'utf8')) as Fixture;
const firefoxAvcC = new Uint8Array(Buffer.from(fixture.description, 'base64'));
const chunks = fixture.chunks.map((c) => ({ ...c, data: new Uint8Array(Buffer.from(c.data, 'base64')) }));
const ORIGIN_US = 1_000_000;

/** The NAL units of a 4-byte length-prefixed sample. */
function nalUnits(sample: Uint8Array): Uint8Array[] {
  const units: Uint8Array[] = [];
  for (let offset = 0; offset + 4 <= sample.byteLength; ) {
    const length = new DataView(sample.buffer, sample.byteOffset + offset).getUint32(0);
    units.push(sample.subarray(offset + 4, offset + 4 + length));
    offset += 4 + length;
  }
  return units;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

describe('Firefox 153 avcC', () => {
  it('is the defect the repair targets: doubled NAL headers, reserved bits clear', () => {
    expect(firefoxAvcC.byteLength).toBe(40);
    expect([firefoxAvcC[4], firefoxAvcC[5]]).toEqual([0x03, 0x01]);
    const parsed = parseAvcC(firefoxAvcC);
    expect(hex(parsed.sps[0]!).slice(0, 6)).toBe('676742');
    expect(hex(parsed.pps[0]!).slice(0, 4)).toBe('6868');
  });

  it('repairs to the parameter sets Firefox sends in band with its keyframe', () => {
    const key = chunks.find((c) => c.type === 'key')!;
    const inBand = nalUnits(key.data);
    const inBandSps = inBand.find((n) => (n[0]! & 0x1f) === 7)!;
    const inBandPps = inBand.find((n) => (n[0]! & 0x1f) === 8)!;
    const repaired = parseAvcC(normaliseAvcC(firefoxAvcC));
    expect(repaired.sps.map(hex)).toEqual([hex(inBandSps)]);
    expect(repaired.pps.map(hex)).toEqual([hex(inBandPps)]);
    expect([repaired.profile, repaired.profileCompatibility, repaired.level, repaired.nalLengthSize]).toEqual([0x42, 0xc0, 0x1f, 4]);
    const written = normaliseAvcC(firefoxAvcC);
    expect(written.byteLength).toBe(38);
    expect([written[4], written[5]]).toEqual([0xff, 0xe1]);
  });

  it('leaves a well-formed record (ffmpeg/Chromium style) byte for byte as it was', () => {
    const good = normaliseAvcC(firefoxAvcC);
    expect(hex(normaliseAvcC(good))).toBe(hex(good));
    expect(repairAvcDecoderConfig(parseAvcC(good))).toEqual(parseAvcC(good));
    const parsed = parseAvcC(good);
    expect(hex(writeAvcC(parsed))).toBe(hex(good));
  });

  it('rejects what is not a record: Annex B, truncated lists, wrong NAL types', () => {
    expect(() => parseAvcC(Uint8Array.of(0, 0, 0, 1, 0x67, 0x42, 0, 0x1f))).toThrow(CodecConfigError);
    expect(() => parseAvcC(firefoxAvcC.subarray(0, 20))).toThrow(/runs past/);
    const swapped = normaliseAvcC(firefoxAvcC);
    swapped[8] = 0x68;
    expect(() => parseAvcC(swapped)).toThrow(/NAL type 8/);
  });
});

describe('Firefox 153 H.264 through the packager', () => {
  let dir = '';
  let init: RenditionInit | undefined;
  const parts: Part[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'swarmcast-firefox-'));
    const packager = new StreamPackager({ streamName: 'firefox', partTargetUs: 200_000, segmentTargetUs: 2_000_000 });
    packager.on('init', (i) => (init = i));
    packager.on('part', (p) => parts.push(p));
    const messages: WireMessage[] = [
      { type: 'clock', timestampUs: ORIGIN_US, wallClockMs: 1_700_000_000_000 },
      { type: 'track', kind: 'video', trackId: 0, codec: fixture.codec, rendition: '720p', width: fixture.width, height: fixture.height, framerate: 30, bitrate: 2_500_000, description: firefoxAvcC },
      ...chunks.map((c): WireMessage => ({ type: 'chunk', trackId: 0, keyframe: c.type === 'key', timestampUs: ORIGIN_US + c.timestampUs, durationUs: c.durationUs, data: c.data })),
    ];
    for (const message of messages) packager.push(message);
    packager.end();
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('writes the repaired avcC into the init segment', () => {
    if (!init) throw new Error('no init emitted');
    const written = Buffer.from(init.data).indexOf(Buffer.from(normaliseAvcC(firefoxAvcC)));
    expect(written).toBeGreaterThan(0);
    expect(Buffer.from(init.data).indexOf(Buffer.from(firefoxAvcC))).toBe(-1);
  });

  it('init + segment: ffprobe reads 1280×720 Constrained Baseline 3.1, ffmpeg decodes all 4 frames, no SPS warnings', async () => {
    const path = join(dir, 'firefox.mp4');
    await writeFile(path, Buffer.concat([init!.data, ...parts.map((p) => p.data)]));
    const probe = await run('ffprobe', ['-v', 'warning', '-count_frames', '-show_streams', '-of', 'json', path]);
    expect(probe.stderr).toBe('');
    const video = (JSON.parse(probe.stdout) as { streams: Record<string, unknown>[] }).streams[0]!;
    expect([video.codec_name, video.width, video.height, video.profile, video.level]).toEqual(['h264', 1280, 720, 'Constrained Baseline', 31]);
    expect(video.nb_read_frames).toBe('4');
    const decode = await run('ffmpeg', ['-v', 'warning', '-i', path, '-f', 'null', '-']);
    expect(decode.stderr).toBe('');
  });
});
