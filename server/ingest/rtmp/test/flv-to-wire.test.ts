// ffmpeg's own FLV (libx264's default preset, B-frames, + AAC, as it sends over RTMP) → FlvToWire → StreamPackager → ffprobe and ffmpeg read the CMAF back.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AudioTrackConfig, ChunkMessage, ClockMessage, VideoTrackConfig, WireMessage } from '../../../../shared/protocol/index.ts';
import { StreamPackager } from '../../../packager/index.ts';
import { avcPictureSize } from '../../../../shared/codecs/h264.ts';
import { RtmpProtocolError } from '../errors.ts';
import { FlvToWire, RTMP_AUDIO_TRACK_ID, RTMP_VIDEO_TRACK_ID } from '../flv-to-wire.ts';

const run = promisify(execFile);
const WALL_CLOCK_MS = 1_700_000_000_000;
let dir: string;

interface FlvTag {
  type: number;
  timestampMs: number;
  body: Uint8Array;
}

/** The tags of an FLV file: what an RTMP publisher sends as audio (8), video (9) and data (18) messages. */
function flvTags(file: Uint8Array): FlvTag[] {
  const tags: FlvTag[] = [];
  let offset = 9 + 4;
  while (offset + 11 <= file.byteLength) {
    const type = file[offset]!;
    const size = (file[offset + 1]! << 16) | (file[offset + 2]! << 8) | file[offset + 3]!;
    const timestampMs = ((file[offset + 7]! << 24) | (file[offset + 4]! << 16) | (file[offset + 5]! << 8) | file[offset + 6]!) >>> 0;
    tags.push({ type, timestampMs, body: file.subarray(offset + 11, offset + 11 + size) });
    offset += 11 + size + 4;
  }
  return tags;
}

async function encodeFlv(name: string, size: string, seconds: number): Promise<Uint8Array> {
  const path = join(dir, `${name}.flv`);
  await run('ffmpeg', [
    '-v', 'error', '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=30`, '-f', 'lavfi', '-i', 'sine=sample_rate=48000',
    '-t', String(seconds), '-c:v', 'libx264', '-g', '60', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-f', 'flv', path,
  ]);
  return new Uint8Array(await readFile(path));
}

function wireOf(tags: FlvTag[]): WireMessage[] {
  const flv = new FlvToWire(() => WALL_CLOCK_MS);
  return tags.flatMap((tag) => (tag.type === 9 ? flv.video(tag.timestampMs, tag.body) : tag.type === 8 ? flv.audio(tag.timestampMs, tag.body) : []));
}

let messages: WireMessage[];
let sdTags: FlvTag[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'swarmcast-flv-'));
  sdTags = flvTags(await encodeFlv('b-frames', '640x360', 4));
  messages = wireOf(sdTags);
}, 60_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('FlvToWire on ffmpeg FLV', () => {
  it('announces H.264 from the avcC (size from the SPS, rendition by height) and AAC-LC from the AudioSpecificConfig, then the clock', () => {
    const [video, audio, clock] = messages as [VideoTrackConfig, AudioTrackConfig, ClockMessage];
    expect(video).toMatchObject({ type: 'track', kind: 'video', trackId: RTMP_VIDEO_TRACK_ID, width: 640, height: 360, rendition: '360p' });
    expect(video.codec).toMatch(/^avc1\.64[0-9a-f]{4}$/);
    expect(audio).toMatchObject({ type: 'track', kind: 'audio', trackId: RTMP_AUDIO_TRACK_ID, codec: 'mp4a.40.2', sampleRate: 48000, channels: 1 });
    expect(clock.type).toBe('clock');
    // An RTMP encoder keys its frames on its own GOP: the origin learns the segment length from the first segment.
    expect(clock.encoderGop).toBe(true);
    expect(clock.gridOriginUs).toBeGreaterThan(clock.timestampUs);
    // The first keyframe is shown now: the clock's wall time is before it by the B-frame delay.
    expect(clock.wallClockMs).toBe(WALL_CLOCK_MS - (clock.gridOriginUs! - clock.timestampUs) / 1000);
  });

  it('keeps keyframes at offset 0 and B-frames at negative offsets; decode times rise; presentation times are the 30 fps grid', () => {
    const video = messages.filter((m): m is ChunkMessage => m.type === 'chunk' && m.trackId === RTMP_VIDEO_TRACK_ID);
    expect(video).toHaveLength(120);
    expect(video[0]!.keyframe).toBe(true);
    for (const frame of video.filter((f) => f.keyframe)) expect(frame.compositionOffsetUs ?? 0).toBe(0);
    expect(video.some((f) => (f.compositionOffsetUs ?? 0) < 0)).toBe(true);
    expect(video.every((f, i) => i === 0 || f.timestampUs > video[i - 1]!.timestampUs)).toBe(true);
    const shown = video.map((f) => f.timestampUs + (f.compositionOffsetUs ?? 0)).sort((a, b) => a - b);
    shown.forEach((us, i) => expect(Math.abs(us - shown[0]! - (i * 1_000_000) / 30)).toBeLessThanOrEqual(1000));
  });

  it('times AAC frames exactly 1024 samples apart, not on FLV\'s whole milliseconds', () => {
    const audio = messages.filter((m): m is ChunkMessage => m.type === 'chunk' && m.trackId === RTMP_AUDIO_TRACK_ID);
    expect(audio.length).toBeGreaterThan(150);
    const samples = audio.map((a) => Math.round((a.timestampUs * 48000) / 1_000_000));
    samples.slice(1).forEach((s, i) => expect(s - samples[i]!).toBe(1024));
  });

  it('packages into CMAF that ffprobe reads as H.264 with B-frames + AAC and ffmpeg decodes whole', async () => {
    const packager = new StreamPackager({ streamName: 'rtmp', partTargetUs: 200_000, segmentTargetUs: 2_000_000 });
    const bytes: Uint8Array[] = [];
    const segments: number[] = [];
    packager.on('init', (init) => bytes.unshift(init.data));
    packager.on('part', (part) => bytes.push(part.data));
    packager.on('segment', (segment) => segments.push(segment.durationUs));
    for (const message of messages) packager.push(message);
    packager.end();
    // Segments are cut on the encoder's keyframes (every 2 s, the segment target).
    expect(segments.slice(0, -1)).toEqual([2_000_000]);
    const file = join(dir, 'packaged.mp4');
    await writeFile(file, Buffer.concat(bytes));
    const probe = JSON.parse((await run('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,has_b_frames,profile,sample_rate,channels', '-of', 'json', file])).stdout) as {
      streams: { codec_name: string; has_b_frames?: number; sample_rate?: string }[];
    };
    expect(probe.streams.map((s) => s.codec_name)).toEqual(['h264', 'aac']);
    expect(probe.streams[0]!.has_b_frames).toBeGreaterThan(0);
    expect(probe.streams[1]!.sample_rate).toBe('48000');
    const { stdout } = await run('ffmpeg', ['-v', 'error', '-xerror', '-i', file, '-map', '0:v', '-f', 'framemd5', '-']);
    expect(stdout.split('\n').filter((line) => /^0,/.test(line))).toHaveLength(120);
  }, 30_000);

  it('reads the cropped size of a 1080p SPS (1088 coded lines)', async () => {
    const tags = flvTags(await encodeFlv('hd', '1920x1080', 0.1));
    const config = tags.find((t) => t.type === 9)!.body.subarray(5);
    const spsLength = (config[6]! << 8) | config[7]!;
    expect(avcPictureSize(config.subarray(8, 8 + spsLength))).toEqual({ width: 1920, height: 1080 });
    // A stream started at 640×360 that sends this configuration mid-stream is refused (the packager's tracks are fixed).
    const flv = new FlvToWire(() => WALL_CLOCK_MS);
    for (const tag of sdTags.slice(0, 20)) if (tag.type === 9) flv.video(tag.timestampMs, tag.body);
    expect(flv.started).toBe(true);
    expect(() => flv.video(1000, tags.find((t) => t.type === 9)!.body)).toThrow(/changed mid-stream/);
  }, 30_000);

  it('refuses frames before the sequence header and other codecs', () => {
    const flv = new FlvToWire(() => WALL_CLOCK_MS);
    expect(() => flv.video(0, Uint8Array.of(0x17, 1, 0, 0, 0, 0, 0, 0, 1, 0x65))).toThrow(RtmpProtocolError);
    expect(() => flv.video(0, Uint8Array.of(0x12, 0))).toThrow(/codec id 2/);
    expect(() => flv.video(0, Uint8Array.of(0x90, 0, 0, 0, 0))).toThrow(/Enhanced RTMP/);
    expect(() => flv.audio(0, Uint8Array.of(0x2f, 0))).toThrow(/sound format 2/);
  });
});
