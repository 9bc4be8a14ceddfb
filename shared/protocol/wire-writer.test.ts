// The wire writer against the reassembler: what it sends comes back message for message, within the peer's frame limit.
import { describe, expect, it } from 'vitest';
import {
  FRAGMENT_HEADER_BYTES,
  FRAGMENT_PAYLOAD_BYTES,
  MessageReassembler,
  ProtocolError,
  WireWriter,
  type FrameSink,
  type WireMessage,
} from './index.ts';

function bytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

/** A sink that keeps every frame, as a data channel with this max-message-size would carry them. */
function recordingSink(maxFrameBytes: number): FrameSink & { frames: Uint8Array[] } {
  const frames: Uint8Array[] = [];
  return { maxFrameBytes, frames, send: (frame) => frames.push(frame.slice()) };
}

function reassemble(frames: Uint8Array[]): WireMessage[] {
  const reassembler = new MessageReassembler();
  const messages: WireMessage[] = [];
  for (const frame of frames) {
    const msg = reassembler.push(frame);
    if (msg) messages.push(msg);
  }
  expect(reassembler.pendingBytes).toBe(0);
  return messages;
}

const stream: WireMessage[] = [
  { type: 'clock', timestampUs: 1_000_000, wallClockMs: 1_764_000_000_000, gridOriginUs: 1_000_000 },
  { type: 'track', kind: 'video', trackId: 0, codec: 'avc1.42001f', width: 1280, height: 720, framerate: 30, rendition: '720p', description: bytes(40) },
  { type: 'track', kind: 'audio', trackId: 1, codec: 'opus', sampleRate: 48_000, channels: 2 },
  { type: 'chunk', trackId: 0, keyframe: true, timestampUs: 1_000_000, durationUs: 33_333, data: bytes(150_000, 3) },
  { type: 'chunk', trackId: 1, keyframe: true, timestampUs: 1_000_000, durationUs: 20_000, data: bytes(120, 4) },
  { type: 'chunk', trackId: 0, keyframe: false, timestampUs: 1_033_333, durationUs: 33_333, data: bytes(9_000, 5) },
  { type: 'chunk', trackId: 0, keyframe: false, timestampUs: 1_066_667, durationUs: 33_333, data: bytes(70_000, 6) },
  { type: 'end' },
];

describe('WireWriter', () => {
  it('sends messages that the reassembler gives back unchanged, fragments at most the protocol fragment size', () => {
    const sink = recordingSink(256 * 1024);
    const writer = new WireWriter(sink);
    let returned = 0;
    for (const msg of stream) returned += writer.write(msg);
    expect(reassemble(sink.frames)).toEqual(stream);
    expect(sink.frames.every((f) => f.byteLength <= FRAGMENT_PAYLOAD_BYTES + FRAGMENT_HEADER_BYTES)).toBe(true);
    // The two chunks above 64 KiB are fragmented, each under its own message id.
    const firstFragments = sink.frames.filter((f) => f[1] === 5 && f[6] === 0 && f[7] === 0);
    expect(firstFragments.map((f) => new DataView(f.buffer).getUint32(2))).toEqual([0, 1]);
    const total = sink.frames.reduce((n, f) => n + f.byteLength, 0);
    expect(writer.bytesSent).toBe(total);
    expect(returned).toBe(total);
    expect(writer.messagesSent).toBe(stream.length);
  });

  it('clamps fragments to a peer that accepts only small frames', () => {
    const maxFrameBytes = 4096;
    const sink = recordingSink(maxFrameBytes);
    const writer = new WireWriter(sink);
    for (const msg of stream) writer.write(msg);
    expect(sink.frames.every((f) => f.byteLength <= maxFrameBytes)).toBe(true);
    // Full fragments use the whole frame: the clamp is the peer's limit less the header, not a smaller guess.
    expect(Math.max(...sink.frames.map((f) => f.byteLength))).toBe(maxFrameBytes);
    expect(sink.frames.length).toBeGreaterThan(Math.ceil(150_000 / maxFrameBytes));
    expect(reassemble(sink.frames)).toEqual(stream);
  });

  it('refuses a peer frame limit that leaves no room for a fragment, and a message that needs too many fragments', () => {
    for (const maxFrameBytes of [FRAGMENT_HEADER_BYTES, 0, Number.NaN]) {
      expect(() => new WireWriter(recordingSink(maxFrameBytes))).toThrow(ProtocolError);
    }
    const writer = new WireWriter(recordingSink(FRAGMENT_HEADER_BYTES + 1));
    // One byte per fragment: 150 KB would need more fragments than a reassembler accepts.
    expect(() => writer.write(stream[3]!)).toThrow(/fragments/);
    expect(writer.write(stream[4]!)).toBeGreaterThan(0);
  });
});
