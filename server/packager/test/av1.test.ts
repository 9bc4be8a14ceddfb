// AV1 on Firefox's real encoder bytes: sequence header → av1C and CODECS, init + parts that ffprobe and ffmpeg read cleanly.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findBoxPayload } from '../../../e2e/support/mp4-media.ts';
import type { WireMessage } from '../../../shared/protocol/index.ts';
import { PackagerError, StreamPackager, type Part, type RenditionInit } from '../index.ts';
import { Av1ConfigError, av1CodecString, av1CPayload, readAv1SequenceHeader } from '../mp4/av1c.ts';

const run = promisify(execFile);

interface Fixture {
  codec: string;
  width: number;
  height: number;
  chunks: { type: 'key' | 'delta'; timestampUs: number; durationUs: number; data: string }[];
}

const fixture = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures/firefox-153-av1.json'), 'utf8')) as Fixture;
const chunks = fixture.chunks.map((c) => ({ ...c, data: new Uint8Array(Buffer.from(c.data, 'base64')) }));
const firstKey = chunks[0]!.data;
const ORIGIN_US = 1_000_000;

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

describe('AV1 sequence header → av1C', () => {
  it('reads Firefox’s keyframe: temporal delimiter, then a sequence header for Main profile 8-bit 4:2:0', () => {
    expect(fixture.codec).toBe('av01.0.04M.08');
    expect(hex(firstKey.subarray(0, 2))).toBe('1200');
    const info = readAv1SequenceHeader(firstKey);
    expect(info.obu[0]).toBe(0x0a);
    expect(info).toMatchObject({ profile: 0, tier: 0, bitDepth: 8, monochrome: false, subsamplingX: 1, subsamplingY: 1 });
    // The same sequence header repeats with the second keyframe.
    expect(hex(readAv1SequenceHeader(chunks.find((c, i) => i > 0 && c.type === 'key')!.data).obu)).toBe(hex(info.obu));
  });

  it('writes the record ffmpeg writes for the same bitstream', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'swarmcast-av1c-'));
    try {
      await writeFile(join(dir, 'in.obu'), Buffer.concat(chunks.map((c) => c.data)));
      await run('ffmpeg', ['-v', 'error', '-y', '-f', 'obu', '-i', join(dir, 'in.obu'), '-c', 'copy', join(dir, 'out.mp4')]);
      const ffmpegAv1C = findBoxPayload(new Uint8Array(readFileSync(join(dir, 'out.mp4'))), 'av1C');
      expect(hex(av1CPayload(readAv1SequenceHeader(firstKey)))).toBe(hex(ffmpegAv1C));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('names the stream by its sequence header', () => {
    const info = readAv1SequenceHeader(firstKey);
    expect(av1CodecString(info)).toBe(`av01.0.${String(info.level).padStart(2, '0')}M.08`);
    expect(av1CodecString({ ...info, profile: 2, level: 13, tier: 1, bitDepth: 12 })).toBe('av01.2.13H.12');
  });

  it('rejects what holds no usable sequence header', () => {
    const info = readAv1SequenceHeader(firstKey);
    expect(() => readAv1SequenceHeader(firstKey.subarray(0, 2))).toThrow(/no sequence header/);
    expect(() => readAv1SequenceHeader(info.obu.subarray(0, info.obu.byteLength - 4))).toThrow(Av1ConfigError);
    expect(() => readAv1SequenceHeader(Uint8Array.of(0x0a, 0x02, 0xff, 0xff))).toThrow(/seq_profile 7/);
    expect(() => readAv1SequenceHeader(Uint8Array.of(0x08, 0x00))).toThrow(/no size field/);
  });
});

describe('Firefox 153 AV1 through the packager', () => {
  let dir = '';
  let init: RenditionInit | undefined;
  const parts: Part[] = [];
  const sequenceHeader = readAv1SequenceHeader(firstKey).obu;

  function videoTrack(description: Uint8Array | undefined): WireMessage {
    return {
      type: 'track', kind: 'video', trackId: 0, codec: fixture.codec, rendition: '240p', width: fixture.width, height: fixture.height,
      framerate: 30, bitrate: 250_000, ...(description && { description }),
    };
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'swarmcast-av1-'));
    const packager = new StreamPackager({ streamName: 'firefox-av1', partTargetUs: 200_000, segmentTargetUs: 500_000 });
    packager.on('init', (i) => (init = i));
    packager.on('part', (p) => parts.push(p));
    const messages: WireMessage[] = [
      { type: 'clock', timestampUs: ORIGIN_US, wallClockMs: 1_700_000_000_000 },
      // What the broadcaster sends: the sequence header OBU of its first keyframe as the description.
      videoTrack(sequenceHeader),
      ...chunks.map((c): WireMessage => ({ type: 'chunk', trackId: 0, keyframe: c.type === 'key', timestampUs: ORIGIN_US + c.timestampUs, durationUs: c.durationUs, data: c.data })),
    ];
    for (const message of messages) packager.push(message);
    packager.end();
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('announces the sequence header’s codec string and writes an av01 sample entry with its av1C', () => {
    if (!init) throw new Error('no init emitted');
    const info = readAv1SequenceHeader(firstKey);
    expect(init.codecs).toBe(av1CodecString(info));
    expect(hex(findBoxPayload(init.data, 'av1C'))).toBe(hex(av1CPayload(info)));
    expect(Buffer.from(init.data).includes(Buffer.from('av01'))).toBe(true);
  });

  it('init + parts: ffprobe reads AV1 320×240, ffmpeg decodes all 30 frames without a warning', async () => {
    const path = join(dir, 'packaged.mp4');
    await writeFile(path, Buffer.concat([init!.data, ...parts.map((p) => p.data)]));
    const probe = await run('ffprobe', ['-v', 'warning', '-count_frames', '-show_streams', '-of', 'json', path]);
    expect(probe.stderr).toBe('');
    const video = (JSON.parse(probe.stdout) as { streams: Record<string, unknown>[] }).streams[0]!;
    expect([video.codec_name, video.width, video.height, video.nb_read_frames]).toEqual(['av1', 320, 240, '30']);
    const decode = await run('ffmpeg', ['-v', 'warning', '-i', path, '-f', 'null', '-']);
    expect(decode.stderr).toBe('');
  });

  it('takes an av1C record as the description too, and rejects a track without a sequence header', () => {
    const withRecord = new StreamPackager({ streamName: 'av1c', partTargetUs: 200_000, segmentTargetUs: 500_000 });
    let codecs = '';
    withRecord.on('init', (i) => (codecs = i.codecs));
    withRecord.push({ type: 'clock', timestampUs: ORIGIN_US, wallClockMs: 1_700_000_000_000 });
    withRecord.push(videoTrack(av1CPayload(readAv1SequenceHeader(firstKey))));
    withRecord.push({ type: 'chunk', trackId: 0, keyframe: true, timestampUs: ORIGIN_US, durationUs: 33_333, data: firstKey });
    withRecord.end();
    expect(codecs).toBe(init!.codecs);

    for (const [description, reason] of [[undefined, 'missing-description'], [firstKey.subarray(0, 2), 'invalid-description']] as const) {
      const packager = new StreamPackager({ streamName: 'bad-av1', partTargetUs: 200_000, segmentTargetUs: 500_000 });
      packager.push({ type: 'clock', timestampUs: ORIGIN_US, wallClockMs: 1_700_000_000_000 });
      let error: unknown;
      try {
        packager.push(videoTrack(description));
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(PackagerError);
      expect((error as PackagerError).code).toBe(reason);
    }
  });
});
