// ffmpeg's own MPEG-TS (libx264 with B-frames + AAC, libx265 with B-frames + AAC), fed in odd-sized pieces → TsToWire → StreamPackager → ffprobe and ffmpeg read the CMAF back.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createFile, type MP4BoxBuffer } from 'mp4box';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AudioTrackConfig, ChunkMessage, ClockMessage, VideoTrackConfig, WireMessage } from '../../../../shared/protocol/index.ts';
import { StreamPackager } from '../../../packager/index.ts';
import { TS_AUDIO_TRACK_ID, TS_VIDEO_TRACK_ID, TsDemuxError, TsToWire } from '../index.ts';

const run = promisify(execFile);
const WALL_CLOCK_MS = 1_700_000_000_000;
const FRAMES = 120;
const FRAME_US = 1_000_000 / 30;
let dir: string;

async function encodeTs(name: string, video: string[]): Promise<Uint8Array> {
  const path = join(dir, `${name}.ts`);
  await run('ffmpeg', [
    '-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30', '-f', 'lavfi', '-i', 'sine=sample_rate=48000:frequency=440',
    '-t', '4', ...video, '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-f', 'mpegts', path,
  ]);
  return new Uint8Array(await readFile(path));
}

/** Pieces of sizes that straddle packets: SRT's 1316 bytes, then odd sizes. */
function pieces(bytes: Uint8Array): Uint8Array[] {
  const sizes = [1316, 7, 188, 1000, 3, 4096, 187, 189];
  const out: Uint8Array[] = [];
  for (let offset = 0, i = 0; offset < bytes.byteLength; i++) {
    const size = sizes[i % sizes.length]!;
    out.push(bytes.slice(offset, offset + size));
    offset += size;
  }
  return out;
}

function wireOf(bytes: Uint8Array): WireMessage[] {
  const ts = new TsToWire({ streamName: 'ts', now: () => WALL_CLOCK_MS });
  return [...pieces(bytes).flatMap((piece) => ts.push(piece)), ...ts.end()];
}

interface Packaged {
  file: string;
  codecs: string;
  segmentsUs: number[];
}

async function packageTo(name: string, messages: WireMessage[]): Promise<Packaged> {
  const packager = new StreamPackager({ streamName: name, partTargetUs: 200_000, segmentTargetUs: 2_000_000 });
  const bytes: Uint8Array[] = [];
  const segmentsUs: number[] = [];
  let codecs = '';
  packager.on('init', (init) => {
    bytes.unshift(init.data);
    codecs = init.codecs;
  });
  packager.on('part', (part) => bytes.push(part.data));
  packager.on('segment', (segment) => segmentsUs.push(segment.durationUs));
  for (const message of messages) packager.push(message);
  packager.end();
  const file = join(dir, `${name}.mp4`);
  await writeFile(file, Buffer.concat(bytes));
  return { file, codecs, segmentsUs };
}

/** mp4box.js's codec strings of the file's video and audio tracks, as CODECS lists them. */
function mp4boxCodecs(bytes: Uint8Array): string {
  const file = createFile();
  let codecs = '';
  file.onReady = (info) => (codecs = `${info.videoTracks[0]?.codec},${info.audioTracks[0]?.codec}`);
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as MP4BoxBuffer;
  buffer.fileStart = 0;
  file.appendBuffer(buffer);
  file.flush();
  return codecs;
}

interface ProbedPacket {
  codec_type: string;
  pts_time: string;
  flags: string;
}

async function packets(file: string): Promise<ProbedPacket[]> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'packet=codec_type,pts_time,flags', '-of', 'json', file], { maxBuffer: 64 * 1024 * 1024 });
  return (JSON.parse(stdout) as { packets: ProbedPacket[] }).packets;
}

/** Audio start minus the first video keyframe's presentation, seconds: the A/V offset a player would see. */
async function avOffset(file: string): Promise<number> {
  const all = await packets(file);
  const key = Math.min(...all.filter((p) => p.codec_type === 'video' && p.flags.startsWith('K')).map((p) => Number(p.pts_time)));
  const audio = all.filter((p) => p.codec_type === 'audio').map((p) => Number(p.pts_time)).filter((t) => t >= key - 0.001);
  return Math.min(...audio) - key;
}

const sources: Record<'h264' | 'h265', Uint8Array> = { h264: new Uint8Array(0), h265: new Uint8Array(0) };
const wire: Record<'h264' | 'h265', WireMessage[]> = { h264: [], h265: [] };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'swarmcast-ts-'));
  [sources.h264, sources.h265] = await Promise.all([
    encodeTs('h264', ['-c:v', 'libx264', '-g', '60']),
    // Closed GOPs, so the second keyframe (an IDR) is decoded at its presentation time like x264's (see the report on open GOPs).
    encodeTs('h265', ['-c:v', 'libx265', '-x265-params', 'keyint=60:min-keyint=60:open-gop=0:log-level=error']),
  ]);
  wire.h264 = wireOf(sources.h264);
  wire.h265 = wireOf(sources.h265);
}, 120_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.each(['h264', 'h265'] as const)('TsToWire on ffmpeg MPEG-TS (%s + AAC)', (codec) => {
  it('announces the video from its parameter sets and AAC-LC from the ADTS headers, then the clock', () => {
    const [video, audio, clock] = wire[codec] as [VideoTrackConfig, AudioTrackConfig, ClockMessage];
    expect(video).toMatchObject({ type: 'track', kind: 'video', trackId: TS_VIDEO_TRACK_ID, width: 640, height: 360, rendition: '360p' });
    expect(video.codec).toMatch(codec === 'h264' ? /^avc1\.64[0-9a-f]{4}$/ : /^hvc1\.1\.6\.L\d+\.[0-9A-F]+/);
    expect(audio).toMatchObject({ type: 'track', kind: 'audio', trackId: TS_AUDIO_TRACK_ID, codec: 'mp4a.40.2', sampleRate: 48000, channels: 1 });
    expect([...audio.description!]).toEqual([0x11, 0x88]);
    expect(clock).toMatchObject({ type: 'clock', timestampUs: 0, wallClockMs: WALL_CLOCK_MS - clock.gridOriginUs! / 1000, encoderGop: true });
  });

  it('turns every frame into a chunk: keyframes at offset 0, B-frames reordered, presentation times on the 30 fps grid', () => {
    const video = wire[codec].filter((m): m is ChunkMessage => m.type === 'chunk' && m.trackId === TS_VIDEO_TRACK_ID);
    expect(video).toHaveLength(FRAMES);
    expect(video.filter((f) => f.keyframe)).toHaveLength(2);
    for (const frame of video.filter((f) => f.keyframe)) expect(frame.compositionOffsetUs ?? 0).toBe(0);
    expect(video.some((f) => (f.compositionOffsetUs ?? 0) < 0)).toBe(true);
    expect(video.every((f, i) => i === 0 || f.timestampUs > video[i - 1]!.timestampUs)).toBe(true);
    const shown = video.map((f) => f.timestampUs + (f.compositionOffsetUs ?? 0)).sort((a, b) => a - b);
    shown.forEach((us, i) => expect(Math.abs(us - shown[0]! - i * FRAME_US)).toBeLessThanOrEqual(20));
    // Samples are length-prefixed NAL units, not Annex B.
    const first = video[0]!.data;
    expect(new DataView(first.buffer, first.byteOffset).getUint32(0) + 4).toBeLessThanOrEqual(first.byteLength);
  });

  it('times AAC frames exactly 1024 samples apart', () => {
    const audio = wire[codec].filter((m): m is ChunkMessage => m.type === 'chunk' && m.trackId === TS_AUDIO_TRACK_ID);
    expect(audio.length).toBeGreaterThan(180);
    const samples = audio.map((a) => Math.round((a.timestampUs * 48000) / 1_000_000));
    samples.slice(1).forEach((s, i) => expect(s - samples[i]!).toBe(1024));
  });

  it('packages into CMAF that ffprobe reads with the right size and duration, ffmpeg decodes every frame, and audio stays in step with video', async () => {
    const packaged = await packageTo(codec, wire[codec]);
    expect(packaged.segmentsUs).toHaveLength(2);
    expect(packaged.segmentsUs[0]).toBe(2_000_000);
    // CODECS for the multivariant playlist: the wire's codec, and what mp4box.js reads from our own init segment's avcC/hvcC.
    const videoCodec = (wire[codec][0] as VideoTrackConfig).codec;
    expect(packaged.codecs).toBe(`${videoCodec},mp4a.40.2`);
    expect(mp4boxCodecs(new Uint8Array(await readFile(packaged.file))).toLowerCase()).toBe(packaged.codecs.toLowerCase());
    const probe = JSON.parse((await run('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,width,height,has_b_frames,sample_rate', '-of', 'json', packaged.file])).stdout) as {
      streams: { codec_name: string; width?: number; height?: number; has_b_frames?: number; sample_rate?: string }[];
        };
    expect(probe.streams.map((s) => s.codec_name)).toEqual([codec === 'h264' ? 'h264' : 'hevc', 'aac']);
    expect(probe.streams[0]).toMatchObject({ width: 640, height: 360 });
    expect(probe.streams[0]!.has_b_frames).toBeGreaterThan(0);
    expect(probe.streams[1]!.sample_rate).toBe('48000');
    // Video spans its 120 frames; the audio is the source's from the first keyframe on.
    const ours = await packets(packaged.file);
    const theirs = await packets(join(dir, `${codec}.ts`));
    const shown = ours.filter((p) => p.codec_type === 'video').map((p) => Number(p.pts_time));
    expect(Math.max(...shown) - Math.min(...shown)).toBeCloseTo(((FRAMES - 1) * FRAME_US) / 1_000_000, 3);
    const sourceKey = Math.min(...theirs.filter((p) => p.codec_type === 'video').map((p) => Number(p.pts_time)));
    const sourceAudio = theirs.filter((p) => p.codec_type === 'audio' && Number(p.pts_time) >= sourceKey - 0.001).length;
    expect(Math.abs(ours.filter((p) => p.codec_type === 'audio').length - sourceAudio)).toBeLessThanOrEqual(1);
    const { stdout } = await run('ffmpeg', ['-v', 'error', '-xerror', '-i', packaged.file, '-map', '0:v', '-f', 'framemd5', '-']);
    expect(stdout.split('\n').filter((line) => /^0,/.test(line))).toHaveLength(FRAMES);
    // The source's audio-to-video offset, as ffprobe reads it from the TS, survives within a frame.
    const source = join(dir, `${codec}.ts`);
    expect(Math.abs((await avOffset(packaged.file)) - (await avOffset(source)))).toBeLessThan(FRAME_US / 1_000_000);
  }, 60_000);
});

describe('TsToWire on bad input', () => {
  it('refuses bytes that are not a transport stream with TsDemuxError no-sync', () => {
    const ts = new TsToWire();
    expect(() => ts.push(new TextEncoder().encode('GET / HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(10)))).toThrow(expect.objectContaining({ name: 'TsDemuxError', code: 'no-sync' }));
  });

  it('ends a truncated stream without an error, and with fewer frames', () => {
    const ts = new TsToWire({ now: () => WALL_CLOCK_MS });
    const cut = sources.h264.subarray(0, Math.floor(sources.h264.byteLength / 2) + 77);
    const messages = [...ts.push(cut), ...ts.end()];
    const frames = messages.filter((m) => m.type === 'chunk' && m.trackId === TS_VIDEO_TRACK_ID);
    expect(frames.length).toBeGreaterThan(10);
    expect(frames.length).toBeLessThan(FRAMES);
  });

  it('refuses a program without H.264 or H.265 video', async () => {
    const path = join(dir, 'audio-only.ts');
    await run('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'sine=sample_rate=48000', '-t', '0.5', '-c:a', 'aac', '-f', 'mpegts', path]);
    const bytes = new Uint8Array(await readFile(path));
    const ts = new TsToWire();
    expect(() => ts.push(bytes)).toThrow(expect.objectContaining({ code: 'unsupported' }));
  });

  it('throws only TsDemuxError on corrupted packets (random bytes written over headers and payloads)', () => {
    let seed = 42;
    const random = (): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const codes = new Set<string>();
    for (const source of [sources.h264, sources.h265]) {
      for (let round = 0; round < 60; round++) {
        const bytes = source.slice(0, 188 * 400);
        for (let n = 0; n < 20; n++) {
          const at = Math.floor(random() * bytes.byteLength);
          // Keep most sync bytes so the damage reaches PSI, PES and codec parsing.
          if (at % 188 !== 0 || random() < 0.1) bytes[at] = Math.floor(random() * 256);
        }
        const ts = new TsToWire();
        try {
          for (const piece of pieces(bytes)) ts.push(piece);
          ts.end();
        } catch (err) {
          expect(err).toBeInstanceOf(TsDemuxError);
          codes.add((err as TsDemuxError).code);
        }
      }
    }
    expect(codes.size).toBeGreaterThan(1);
  });
});
