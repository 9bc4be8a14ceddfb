// H.265 parameter sets of libx265's own output: SPS profile/tier/level and size, the hvcC record and codec string, checked against ffmpeg's hvcC, mp4box.js and ffmpeg's HLS muxer.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createFile, type MP4BoxBuffer } from 'mp4box';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lengthPrefixed, removeEmulationPrevention, splitAnnexB } from './annex-b.ts';
import {
  HEVC_NAL_PPS,
  HEVC_NAL_SPS,
  HEVC_NAL_VPS,
  hevcCodecString,
  hevcDecoderConfigurationRecord,
  hevcNalType,
  parseHevcSps,
} from './hevc.ts';
import { CodecConfigError } from './errors.ts';

const run = promisify(execFile);
let dir: string;

/** What ffmpeg itself makes of one libx265 stream: the Annex-B bytes, its MP4's hvcC and its HLS master playlist's CODECS. */
interface Encoded {
  annexB: Uint8Array;
  ffmpegHvcC: Uint8Array;
  mp4boxCodec: string;
  hlsCodecs: string;
}

async function encode(name: string, size: string, x265: string, extra: string[] = []): Promise<Encoded> {
  const hevc = join(dir, `${name}.hevc`);
  await run('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=30`, '-frames:v', '6', '-c:v', 'libx265', '-x265-params', `${x265}:log-level=error`, ...extra, '-f', 'hevc', hevc]);
  const mp4 = join(dir, `${name}.mp4`);
  await run('ffmpeg', ['-v', 'error', '-i', hevc, '-c', 'copy', '-tag:v', 'hvc1', '-movflags', '+faststart', mp4]);
  await run('ffmpeg', ['-v', 'error', '-i', mp4, '-c', 'copy', '-tag:v', 'hvc1', '-f', 'hls', '-hls_segment_type', 'fmp4', '-master_pl_name', `${name}-master.m3u8`, join(dir, `${name}.m3u8`)]);
  const master = await readFile(join(dir, `${name}-master.m3u8`), 'utf8');
  const mp4Bytes = new Uint8Array(await readFile(mp4));
  return {
    annexB: new Uint8Array(await readFile(hevc)),
    ffmpegHvcC: boxPayload(mp4Bytes, 'hvcC'),
    mp4boxCodec: mp4boxVideoCodec(mp4Bytes),
    hlsCodecs: /CODECS="([^"]+)"/.exec(master)![1]!,
  };
}

/** The payload of the first box of this type (a scan: the file has its moov first). */
function boxPayload(bytes: Uint8Array, type: string): Uint8Array {
  for (let i = 4; i + 4 <= bytes.byteLength; i++) {
    if (String.fromCharCode(...bytes.subarray(i, i + 4)) === type) {
      const size = new DataView(bytes.buffer, bytes.byteOffset + i - 4, 4).getUint32(0);
      return bytes.slice(i + 4, i - 4 + size);
    }
  }
  throw new Error(`no ${type} box`);
}

/** mp4box.js's codec string for the file's video track (it builds it from the hvcC record). */
function mp4boxVideoCodec(bytes: Uint8Array): string {
  const file = createFile();
  let codec: string | undefined;
  file.onReady = (info) => (codec = info.videoTracks[0]?.codec);
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as MP4BoxBuffer;
  buffer.fileStart = 0;
  file.appendBuffer(buffer);
  file.flush();
  if (!codec) throw new Error('mp4box.js found no video track');
  return codec;
}

function parameterSets(annexB: Uint8Array): { vps: Uint8Array[]; sps: Uint8Array[]; pps: Uint8Array[] } {
  const nals = splitAnnexB(annexB);
  const of = (type: number): Uint8Array[] => nals.filter((n) => hevcNalType(n) === type).slice(0, 1);
  return { vps: of(HEVC_NAL_VPS), sps: of(HEVC_NAL_SPS), pps: of(HEVC_NAL_PPS) };
}

let main: Encoded;
let main10: Encoded;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'swarmcast-hevc-'));
  // 1080p: the coded height is 1088, cropped by the conformance window. Main 10 at 4:2:0, another profile and level.
  [main, main10] = await Promise.all([
    encode('main', '1920x1080', 'keyint=30:bframes=0'),
    encode('main10', '640x360', 'keyint=30', ['-pix_fmt', 'yuv420p10le']),
  ]);
}, 120_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('Annex B', () => {
  it('splits on 3- and 4-byte start codes, drops trailing zeros, and prefixes lengths', () => {
    const stream = Uint8Array.of(9, 0, 0, 0, 1, 0x40, 1, 0, 0, 1, 0x42, 0, 0, 0, 0, 1, 0x26, 7);
    const nals = splitAnnexB(stream);
    expect(nals.map((n) => [...n])).toEqual([[0x40, 1], [0x42], [0x26, 7]]);
    expect([...lengthPrefixed(nals)]).toEqual([0, 0, 0, 2, 0x40, 1, 0, 0, 0, 1, 0x42, 0, 0, 0, 2, 0x26, 7]);
  });

  it('removes emulation-prevention bytes and leaves other bytes alone', () => {
    expect([...removeEmulationPrevention(Uint8Array.of(1, 0, 0, 3, 0, 0, 3, 1, 3, 0, 0, 3))]).toEqual([1, 0, 0, 0, 0, 1, 3, 0, 0]);
    const clean = Uint8Array.of(1, 2, 0, 3);
    expect(removeEmulationPrevention(clean)).toBe(clean);
  });
});

describe('H.265 parameter sets from libx265', () => {
  it('reads the cropped picture size, chroma format and bit depth from the SPS', () => {
    const sps = parseHevcSps(parameterSets(main.annexB).sps[0]!);
    expect(sps).toMatchObject({ width: 1920, height: 1080, chromaFormatIdc: 1, bitDepthLuma: 8, bitDepthChroma: 8 });
    expect(sps.profileTierLevel.profileIdc).toBe(1);
    const sps10 = parseHevcSps(parameterSets(main10.annexB).sps[0]!);
    expect(sps10).toMatchObject({ width: 640, height: 360, bitDepthLuma: 10, bitDepthChroma: 10 });
    expect(sps10.profileTierLevel.profileIdc).toBe(2);
  });

  it('builds an hvcC whose profile, tier, level, flags, chroma and bit depths are ffmpeg\'s', () => {
    for (const encoded of [main, main10]) {
      const sets = parameterSets(encoded.annexB);
      const ours = hevcDecoderConfigurationRecord(sets, parseHevcSps(sets.sps[0]!));
      // configurationVersion, profile/tier/level with every flag, and the chroma/bit-depth bytes (their reserved bits too).
      expect([...ours.subarray(0, 13)]).toEqual([...encoded.ffmpegHvcC.subarray(0, 13)]);
      expect([...ours.subarray(16, 19)]).toEqual([...encoded.ffmpegHvcC.subarray(16, 19)]);
      // lengthSizeMinusOne 3 and temporal nesting as ffmpeg writes them.
      expect(ours[21]! & 0x07).toBe(encoded.ffmpegHvcC[21]! & 0x07);
    }
  });

  it('writes the codec string mp4box.js reads from ffmpeg\'s own MP4 of the stream', () => {
    for (const encoded of [main, main10]) {
      const codec = hevcCodecString('hvc1', parseHevcSps(parameterSets(encoded.annexB).sps[0]!).profileTierLevel);
      expect(codec.toLowerCase()).toBe(encoded.mp4boxCodec.toLowerCase());
    }
    expect(hevcCodecString('hvc1', parseHevcSps(parameterSets(main.annexB).sps[0]!).profileTierLevel)).toBe('hvc1.1.6.L120.90');
  });

  it('agrees with ffmpeg 5.1\'s HLS muxer on profile and tier/level (that muxer writes fixed compatibility and constraint fields: `.4.` and `.B01`)', () => {
    for (const encoded of [main, main10]) {
      const ours = hevcCodecString('hvc1', parseHevcSps(parameterSets(encoded.annexB).sps[0]!).profileTierLevel).split('.');
      const ffmpeg = encoded.hlsCodecs.split(',')[0]!.split('.');
      expect([ffmpeg[0], ffmpeg[1], ffmpeg[3]]).toEqual([ours[0], ours[1], ours[3]]);
    }
  });

  it('refuses what is not a usable SPS with CodecConfigError', () => {
    const sps = parameterSets(main.annexB).sps[0]!;
    expect(() => parseHevcSps(sps.subarray(0, 8))).toThrow(CodecConfigError);
    expect(() => parseHevcSps(Uint8Array.of(0x40, 1, 0x0c))).toThrow(/not an SPS/);
    expect(() => hevcDecoderConfigurationRecord({ vps: [], sps: [sps], pps: [] }, parseHevcSps(sps))).toThrow(/needs a VPS/);
  });
});
