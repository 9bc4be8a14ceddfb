// The AV1 description the broadcaster sends: the sequence header OBU cut from Firefox's real first keyframe.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readAv1SequenceHeader } from '../../server/packager/mp4/av1c.ts';
import { av1SequenceHeaderObu, videoEncoderConfig } from './video-encoder.ts';

const fixture = JSON.parse(readFileSync(join(import.meta.dirname, '../../server/packager/test/fixtures/firefox-153-av1.json'), 'utf8')) as {
  chunks: { type: string; data: string }[];
};
const keyframe = new Uint8Array(Buffer.from(fixture.chunks[0]!.data, 'base64'));
const delta = new Uint8Array(Buffer.from(fixture.chunks[1]!.data, 'base64'));

describe('av1SequenceHeaderObu', () => {
  it('cuts the sequence header OBU out of a keyframe, as the packager reads it', () => {
    const obu = av1SequenceHeaderObu(keyframe)!;
    expect(Buffer.from(obu).toString('hex')).toBe(Buffer.from(readAv1SequenceHeader(keyframe).obu).toString('hex'));
    // After the 2-byte temporal delimiter: OBU type 1 with a size field.
    expect(obu[0]).toBe(0x0a);
    expect(Buffer.from(keyframe.subarray(2, 2 + obu.byteLength)).equals(Buffer.from(obu))).toBe(true);
  });

  it('finds none in a delta frame or in bytes it cannot walk', () => {
    expect(av1SequenceHeaderObu(delta)).toBeNull();
    expect(av1SequenceHeaderObu(keyframe.subarray(0, 5))).toBeNull();
    expect(av1SequenceHeaderObu(Uint8Array.of(0x08, 0x00))).toBeNull();
  });
});

describe('videoEncoderConfig', () => {
  it('asks for realtime latency, and the avcC format only of H.264', () => {
    const rung = { rendition: '480p', width: 854, height: 480, bitrate: 1_000_000, codec: 'av01.0.04M.08' };
    expect(videoEncoderConfig(rung, 30)).toEqual({ codec: 'av01.0.04M.08', width: 854, height: 480, bitrate: 1_000_000, framerate: 30, bitrateMode: 'variable', latencyMode: 'realtime' });
    expect(videoEncoderConfig({ ...rung, codec: 'avc1.42001f' }, 30).avc).toEqual({ format: 'avc' });
  });
});
