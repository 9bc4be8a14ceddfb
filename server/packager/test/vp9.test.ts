// VP9 through the packager on real frames: libvpx-vp9 (ffmpeg) samples → vp09 + vpcC init and parts that ffmpeg decodes.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demuxMp4, findBoxPayload, opusHeadFromDOps } from '../../../e2e/support/mp4-media.ts';
import type { WireMessage } from '../../../shared/protocol/index.ts';
import { StreamPackager, type Part, type RenditionInit } from '../index.ts';
import { parseVp09CodecString, VpCodecStringError, vpcCPayload } from '../mp4/vpcc.ts';

const run = promisify(execFile);
const ORIGIN_US = 3_000_000;
const CODEC = 'vp09.00.21.08';

describe('vp09 codec string → vpcC', () => {
  it('reads the short form with the binding defaults and writes the record', () => {
    const config = parseVp09CodecString(CODEC);
    expect(config).toEqual({ profile: 0, level: 21, bitDepth: 8, chromaSubsampling: 1, colourPrimaries: 1, transferCharacteristics: 1, matrixCoefficients: 1, videoFullRange: false });
    expect(Array.from(vpcCPayload(config))).toEqual([0, 21, 0x82, 1, 1, 1, 0, 0]);
  });
  it('reads the long form', () => {
    const config = parseVp09CodecString('vp09.02.10.10.01.09.16.09.01');
    expect(Array.from(vpcCPayload(config))).toEqual([2, 10, 0xa3, 9, 16, 9, 0, 0]);
  });
  it('rejects malformed strings', () => {
    for (const bad of ['vp09', 'vp09.00.21', 'vp09.00.99.08', 'vp09.04.21.08', 'vp09.00.21.09', 'vp09.0.21.08', 'vp8.00.21.08']) {
      expect(() => parseVp09CodecString(bad), bad).toThrow(VpCodecStringError);
    }
  });
});

describe('real VP9 + Opus through the packager', () => {
  let dir = '';
  let init: RenditionInit | undefined;
  const parts: Part[] = [];
  let sourceVpcC: Uint8Array;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'swarmcast-vp9-'));
    const source = join(dir, 'source.mp4');
    await run('ffmpeg', [
      '-v', 'error', '-y',
      '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30',
      '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
      '-t', '2',
      '-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '300k', '-g', '30', '-pix_fmt', 'yuv420p',
      '-c:a', 'libopus', '-b:a', '64k', '-ac', '2', '-movflags', '+faststart', source,
    ]);
    const media = await demuxMp4(source);
    sourceVpcC = findBoxPayload(media.bytes, 'vpcC');
    const packager = new StreamPackager({ streamName: 'vp9', partTargetUs: 200_000, segmentTargetUs: 1_000_000 });
    packager.on('init', (i) => (init = i));
    packager.on('part', (p) => parts.push(p));
    const toUs = (dts: number, timescale: number): number => ORIGIN_US + Math.round((dts * 1_000_000) / timescale);
    const messages: WireMessage[] = [
      { type: 'clock', timestampUs: ORIGIN_US, wallClockMs: 1_700_000_000_000 },
      { type: 'track', kind: 'video', trackId: 0, codec: CODEC, rendition: '240p', width: 320, height: 240, framerate: 30, bitrate: 300_000 },
      { type: 'track', kind: 'audio', trackId: 1, codec: 'opus', sampleRate: 48000, channels: 2, bitrate: 64_000, description: opusHeadFromDOps(findBoxPayload(media.bytes, 'dOps')) },
      ...[
        ...media.video.samples.map((s): WireMessage => ({ type: 'chunk', trackId: 0, keyframe: s.is_sync, timestampUs: toUs(s.dts, media.video.timescale), durationUs: 0, data: s.data! })),
        ...media.audio.samples.map((s): WireMessage => ({ type: 'chunk', trackId: 1, keyframe: true, timestampUs: toUs(s.dts, media.audio.timescale), durationUs: 0, data: s.data! })),
      ].sort((a, b) => (a.type === 'chunk' && b.type === 'chunk' ? a.timestampUs - b.timestampUs : 0)),
    ];
    for (const message of messages) packager.push(message);
    packager.end();
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('announces the codec string in CODECS and writes a vp09 sample entry whose vpcC matches ffmpeg’s', () => {
    if (!init) throw new Error('no init emitted');
    expect(init.codecs).toBe(`${CODEC},opus`);
    const written = findBoxPayload(init.data, 'vpcC');
    // Version 1 FullBox; profile and bit depth/chroma/range as ffmpeg wrote them, level from the codec string, and the
    // binding's BT.709 defaults for colour (the short string browsers report carries none; ffmpeg wrote "unspecified").
    expect(written[0]).toBe(1);
    expect([written[4], written[6]]).toEqual([sourceVpcC[4], sourceVpcC[6]]);
    expect(Array.from(written.subarray(4))).toEqual([0, 21, 0x82, 1, 1, 1, 0, 0]);
    expect(Buffer.from(init.data).includes(Buffer.from('vp09'))).toBe(true);
  });

  it('init + parts: ffprobe reads VP9 320×240 and Opus, ffmpeg decodes all 60 frames without a warning', async () => {
    const path = join(dir, 'packaged.mp4');
    await writeFile(path, Buffer.concat([init!.data, ...parts.map((p) => p.data)]));
    const probe = await run('ffprobe', ['-v', 'warning', '-count_frames', '-show_streams', '-of', 'json', path]);
    expect(probe.stderr).toBe('');
    const streams = (JSON.parse(probe.stdout) as { streams: Record<string, unknown>[] }).streams;
    const video = streams.find((s) => s.codec_type === 'video')!;
    expect([video.codec_name, video.width, video.height, video.nb_read_frames]).toEqual(['vp9', 320, 240, '60']);
    expect(streams.find((s) => s.codec_type === 'audio')?.codec_name).toBe('opus');
    const decode = await run('ffmpeg', ['-v', 'warning', '-i', path, '-f', 'null', '-']);
    expect(decode.stderr).toBe('');
  });
});
