// Round trip on real media: ffmpeg-encoded H.264 + Opus/AAC → wire messages → StreamPackager → mux.js and ffprobe read it back.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Sample } from 'mp4box';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demuxMp4, findBoxPayload, opusHeadFromDOps } from '../../../e2e/support/mp4-media.ts';
import type { ChunkMessage, TrackConfigMessage, WireMessage } from '../../../shared/protocol/index.ts';
import { StreamPackager, type Part, type RenditionInit, type SegmentInfo } from '../index.ts';
import { child, children, inspect, readPart } from '../../../e2e/support/mp4-probe.ts';

const run = promisify(execFile);
const ORIGIN_US = 10_000_000;
const WALL_CLOCK_MS = 1_700_000_000_000;

async function toWireMessages(path: string, audioCodec: 'opus' | 'aac'): Promise<{ messages: WireMessage[]; videoSizes: number[] }> {
  const source = await demuxMp4(path);
  const bytes = source.bytes;
  const tracks: TrackConfigMessage[] = [
    { type: 'track', kind: 'video', trackId: 0, codec: 'avc1.42c01e', description: findBoxPayload(bytes, 'avcC'), width: 640, height: 360, framerate: 30, bitrate: 800_000, rendition: '360p' },
    audioCodec === 'opus'
      ? { type: 'track', kind: 'audio', trackId: 1, codec: 'opus', description: opusHeadFromDOps(findBoxPayload(bytes, 'dOps')), sampleRate: 48000, channels: 2, bitrate: 64_000 }
      // The AAC description is left out so the packager builds the AudioSpecificConfig itself.
      : { type: 'track', kind: 'audio', trackId: 1, codec: 'mp4a.40.2', sampleRate: 48000, channels: 2, bitrate: 128_000 },
  ];
  const chunk = (trackId: number, timescale: number, s: Sample): ChunkMessage => ({
    type: 'chunk',
    trackId,
    keyframe: s.is_sync,
    timestampUs: ORIGIN_US + Math.round((s.dts * 1_000_000) / timescale),
    durationUs: 0,
    data: s.data ?? new Uint8Array(0),
  });
  const chunks = [
    ...source.video.samples.map((s) => chunk(0, source.video.timescale, s)),
    ...source.audio.samples.map((s) => chunk(1, source.audio.timescale, s)),
  ].sort((a, b) => a.timestampUs - b.timestampUs);
  return {
    messages: [{ type: 'clock', timestampUs: ORIGIN_US, wallClockMs: WALL_CLOCK_MS }, ...tracks, ...chunks],
    videoSizes: source.video.samples.map((s) => s.size),
  };
}

interface Packaged {
  init: RenditionInit;
  parts: Part[];
  segments: SegmentInfo[];
}

function packageAll(messages: WireMessage[]): Packaged {
  const packager = new StreamPackager({ streamName: 'real', partTargetUs: 200_000, segmentTargetUs: 2_000_000 });
  let init: RenditionInit | undefined;
  const parts: Part[] = [];
  const segments: SegmentInfo[] = [];
  packager.on('init', (i) => (init = i));
  packager.on('part', (p) => parts.push(p));
  packager.on('segment', (s) => segments.push(s));
  for (const message of messages) packager.push(message);
  packager.end();
  if (!init) throw new Error('no init emitted');
  return { init, parts, segments };
}

function concatBytes(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

interface ProbeStream {
  codec_name: string;
  codec_type: string;
  nb_read_frames?: string;
  sample_rate?: string;
  channels?: number;
  width?: number;
  height?: number;
}

async function ffprobe(path: string): Promise<{ streams: ProbeStream[]; format: { duration: string } }> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-count_frames', '-show_streams', '-show_format', '-of', 'json', path]);
  return JSON.parse(stdout) as { streams: ProbeStream[]; format: { duration: string } };
}

let dir = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'swarmcast-packager-'));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

for (const audioCodec of ['opus', 'aac'] as const) {
  describe(`real H.264 + ${audioCodec} media`, () => {
    let packaged: Packaged;
    let videoSizes: number[];

    beforeAll(async () => {
      const source = join(dir, `source-${audioCodec}.mp4`);
      await run('ffmpeg', [
        '-v', 'error', '-y',
        '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30',
        '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
        '-t', '4',
        '-c:v', 'libx264', '-profile:v', 'baseline', '-pix_fmt', 'yuv420p',
        '-g', '60', '-keyint_min', '60', '-sc_threshold', '0', '-bf', '0',
        ...(audioCodec === 'opus' ? ['-c:a', 'libopus', '-b:a', '64k'] : ['-c:a', 'aac', '-b:a', '128k']),
        '-ac', '2', source,
      ]);
      const wire = await toWireMessages(source, audioCodec);
      videoSizes = wire.videoSizes;
      packaged = packageAll(wire.messages);
    });

    it('writes an init segment mux.js reads as ftyp + moov with a video and an audio trak and mvex', () => {
      const top = inspect(packaged.init.data);
      expect(top.map((b) => b.type)).toEqual(['ftyp', 'moov']);
      expect(top[0]?.majorBrand).toBe('iso6');
      expect(top[0]?.compatibleBrands).toEqual(['iso6', 'cmfc', 'mp41']);
      const moov = top[1]!;
      expect(moov.boxes?.map((b) => b.type)).toEqual(['mvhd', 'trak', 'trak', 'mvex']);
      const handlers = children(moov, 'trak').map((trak) => child(child(trak, 'mdia'), 'hdlr').handlerType);
      expect(handlers).toEqual(['vide', 'soun']);
      const timescales = children(moov, 'trak').map((trak) => child(child(trak, 'mdia'), 'mdhd').timescale);
      expect(timescales).toEqual([1_000_000, 48000]);
      expect(children(child(moov, 'mvex'), 'trex').map((t) => t.trackId)).toEqual([1, 2]);
      expect(packaged.init.codecs).toBe(audioCodec === 'opus' ? 'avc1.42c01e,opus' : 'avc1.42c01e,mp4a.40.2');
    });

    it('writes parts mux.js reads as moof (mfhd, a traf per track) + mdat chunks with consistent offsets and sizes', () => {
      for (const part of packaged.parts) {
        let partBytes = 0;
        const { chunks } = readPart(part.data);
        // One chunk per video frame: the part was streamed frame by frame.
        expect(chunks.length).toBe(chunks.flatMap((c) => c.runs.filter((r) => r.trackId === 1).flatMap((r) => r.samples)).length);
        expect(chunks.length).toBeGreaterThan(1);
        for (const { runs, mdatBytes, moofBytes } of chunks) {
          expect(runs[0]?.trackId).toBe(1);
          let offset = moofBytes + 8;
          for (const r of runs) {
            expect(r.dataOffset).toBe(offset);
            offset += r.samples.reduce((n, s) => n + s.size, 0);
          }
          expect(offset).toBe(moofBytes + 8 + mdatBytes);
          partBytes += offset;
        }
        expect(partBytes).toBe(part.data.byteLength);
      }
      const videoOut = packaged.parts.flatMap((p) => readPart(p.data).runs.filter((r) => r.trackId === 1).flatMap((r) => r.samples.map((s) => s.size)));
      expect(videoOut).toEqual(videoSizes);
    });

    it('cuts 2 s segments of 10 parts of at most 200 ms, each segment starting independent', () => {
      expect(packaged.segments.map((s) => s.partCount)).toEqual([10, 10]);
      for (const s of packaged.segments) expect(Math.abs(s.durationUs - 2_000_000)).toBeLessThan(1000);
      for (const p of packaged.parts) {
        expect(p.durationUs).toBeLessThanOrEqual(200_000);
        expect(p.independent).toBe(p.partIndex === 0);
      }
    });

    it('init + first segment decodes in ffprobe: 60 H.264 frames, the audio stream, about 2 s', async () => {
      const path = join(dir, `segment0-${audioCodec}.mp4`);
      const first = packaged.parts.filter((p) => p.msn === 0).map((p) => p.data);
      await writeFile(path, concatBytes([packaged.init.data, ...first]));
      const probe = await ffprobe(path);
      const video = probe.streams.find((s) => s.codec_type === 'video');
      const audio = probe.streams.find((s) => s.codec_type === 'audio');
      expect(video?.codec_name).toBe('h264');
      expect([video?.width, video?.height]).toEqual([640, 360]);
      expect(Math.abs(Number(video?.nb_read_frames) - 60)).toBeLessThanOrEqual(1);
      expect(audio?.codec_name).toBe(audioCodec);
      expect(audio?.sample_rate).toBe('48000');
      expect(audio?.channels).toBe(2);
      expect(Math.abs(Number(probe.format.duration) - 2)).toBeLessThan(0.1);
    });

    it('init + all segments decode in ffmpeg without errors', async () => {
      const path = join(dir, `all-${audioCodec}.mp4`);
      await writeFile(path, concatBytes([packaged.init.data, ...packaged.parts.map((p) => p.data)]));
      const { stderr } = await run('ffmpeg', ['-v', 'error', '-i', path, '-f', 'null', '-']);
      expect(stderr).toBe('');
      const probe = await ffprobe(path);
      expect(Number(probe.streams.find((s) => s.codec_type === 'video')?.nb_read_frames)).toBe(120);
    });
  });
}
