// The broadcast's header and chunk messages, built from encoder outputs without a browser, and their trip over the wire.
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage } from '../../shared/protocol/index.ts';
import type { Rung } from './config.ts';
import { chunkMessage, clockMessage, headerMessages, type EncodedChunkLike } from './track-messages.ts';

const RUNGS: Rung[] = [
  { rendition: '720p', width: 1280, height: 720, bitrate: 2_500_000, codec: 'avc1.42001f' },
  { rendition: '240p', width: 426, height: 240, bitrate: 400_000, codec: 'avc1.42001e' },
];
const AVCC = Uint8Array.of(1, 0x42, 0, 0x1f, 0xff, 0xe1, 0, 4, 0x67, 0x42, 0, 0x1f, 1, 0, 4, 0x68, 0xce, 0x3c, 0x80);
const OPUS_HEAD = new TextEncoder().encode('OpusHead\x01\x02\x38\x01\x80\xbb\x00\x00\x00\x00\x00');

function fakeChunk(type: 'key' | 'delta', timestamp: number, duration: number | null, bytes: number[]): EncodedChunkLike {
  return { type, timestamp, duration, byteLength: bytes.length, copyTo: (dest) => dest.set(bytes) };
}

describe('track messages', () => {
  it('stamps the clock with the wall-clock time of its timestamp and the grid origin of the first frame', () => {
    expect(clockMessage({ clockOriginUs: 4_980_000, gridOriginUs: 5_000_000, timeOriginMs: 1_700_000_000_000 })).toEqual({
      type: 'clock',
      timestampUs: 4_980_000,
      wallClockMs: 1_700_000_004_980,
      gridOriginUs: 5_000_000,
    });
  });

  it('opens with the clock, one video track per rung in ladder order, then the audio track after the rungs', () => {
    // The encoder's buffer: the message must keep its own copy of the description.
    const avcC = AVCC.slice();
    const messages = headerMessages({
      clockOriginUs: 1_000,
      gridOriginUs: 1_000,
      timeOriginMs: 1_700_000_000_000,
      framerate: 30,
      video: [
        { rung: RUNGS[0]!, decoderConfig: { codec: 'avc1.42001f', description: avcC } },
        // An encoder that reports no codec string: the rung's is used.
        { rung: RUNGS[1]!, decoderConfig: { codec: '', description: avcC.buffer } },
      ],
      audio: { codec: 'opus', bitrate: 128_000, decoderConfig: { sampleRate: 48_000, numberOfChannels: 2, description: OPUS_HEAD } },
    });
    avcC.fill(0);
    expect(messages.map((m) => m.type)).toEqual(['clock', 'track', 'track', 'track']);
    expect(messages[1]).toEqual({
      type: 'track', kind: 'video', trackId: 0, codec: 'avc1.42001f', rendition: '720p', width: 1280, height: 720, framerate: 30, bitrate: 2_500_000, description: AVCC,
    });
    expect(messages[2]).toMatchObject({ kind: 'video', trackId: 1, codec: 'avc1.42001e', rendition: '240p', width: 426, height: 240, bitrate: 400_000, description: AVCC });
    expect(messages[3]).toEqual({ type: 'track', kind: 'audio', trackId: 2, codec: 'opus', sampleRate: 48_000, channels: 2, bitrate: 128_000, description: OPUS_HEAD });
    // What goes out decodes to the same messages on the origin's side.
    for (const message of messages) expect(decodeMessage(encodeMessage(message))).toEqual(message);
  });

  it('leaves the audio track out when the stream goes without audio, and the description out when there is none', () => {
    const messages = headerMessages({
      clockOriginUs: 0,
      gridOriginUs: 0,
      timeOriginMs: 1_700_000_000_000,
      framerate: 25,
      video: [{ rung: RUNGS[0]!, decoderConfig: { codec: 'avc1.4d0028' } }],
    });
    expect(messages).toHaveLength(2);
    expect(messages[1]).toMatchObject({ kind: 'video', codec: 'avc1.4d0028', framerate: 25 });
    expect(messages[1]).not.toHaveProperty('description');
  });

  it('copies an encoded chunk into a chunk message, with 0 for an unknown duration', () => {
    expect(chunkMessage(0, fakeChunk('key', 1_033_333, 33_333, [0, 0, 0, 1, 0x65]))).toEqual({
      type: 'chunk', trackId: 0, keyframe: true, timestampUs: 1_033_333, durationUs: 33_333, data: Uint8Array.of(0, 0, 0, 1, 0x65),
    });
    expect(chunkMessage(2, fakeChunk('delta', 20_000, null, [0xfc]))).toMatchObject({ trackId: 2, keyframe: false, durationUs: 0, data: Uint8Array.of(0xfc) });
  });
});
