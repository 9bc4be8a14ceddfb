// Round trips and error cases of the publish wire protocol's framing.
import { describe, expect, it } from 'vitest';
import {
  FRAGMENT_PAYLOAD_BYTES,
  MAX_FRAGMENTS,
  MAX_FRAME_BYTES,
  MAX_MESSAGE_BYTES,
  MessageReassembler,
  PROTOCOL_VERSION,
  ProtocolError,
  decodeMessage,
  decodeServerMessage,
  encodeMessage,
  encodeServerMessage,
  fragmentMessage,
  type WireMessage,
} from './index.ts';

function bytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

function expectCode(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as ProtocolError).code).toBe(code);
    return;
  }
  throw new Error(`expected ProtocolError ${code}`);
}

const samples: WireMessage[] = [
  { type: 'clock', timestampUs: 1_234_567_890.5, wallClockMs: 1_764_000_000_123.25 },
  {
    type: 'track',
    kind: 'video',
    trackId: 0,
    codec: 'avc1.42001f',
    width: 1280,
    height: 720,
    framerate: 30,
    bitrate: 2_500_000,
    rendition: '720p',
    description: bytes(40),
  },
  { type: 'track', kind: 'audio', trackId: 1, codec: 'opus', sampleRate: 48000, channels: 2, bitrate: 128000 },
  { type: 'chunk', trackId: 0, keyframe: true, timestampUs: 1_234_600_000, durationUs: 33_333, data: bytes(5000) },
  { type: 'chunk', trackId: 1, keyframe: false, timestampUs: 42, durationUs: 20_000, data: bytes(3) },
  { type: 'end' },
  { type: 'clock', timestampUs: 1_234_500_000, wallClockMs: 1_764_000_000_123.25, gridOriginUs: 1_234_567_890.5 },
];

describe('wire protocol framing', () => {
  it('round-trips every message type unchanged', () => {
    for (const msg of samples) {
      expect(decodeMessage(encodeMessage(msg))).toEqual(msg);
    }
  });

  it('fragments a large keyframe and reassembles it exactly', () => {
    const big: WireMessage = { type: 'chunk', trackId: 0, keyframe: true, timestampUs: 1e9, durationUs: 33_333, data: bytes(700_000, 7) };
    const frames = fragmentMessage(encodeMessage(big), 9);
    expect(frames.length).toBe(Math.ceil((700_000 + 16) / FRAGMENT_PAYLOAD_BYTES));
    for (const frame of frames) expect(frame.byteLength).toBeLessThanOrEqual(FRAGMENT_PAYLOAD_BYTES + 10);
    const reassembler = new MessageReassembler();
    const results = frames.map((f) => reassembler.push(f));
    expect(results.slice(0, -1).every((r) => r === null)).toBe(true);
    const whole = results.at(-1);
    expect(whole).toMatchObject({ type: 'chunk', trackId: 0, keyframe: true, timestampUs: 1e9, durationUs: 33_333 });
    // Compared as Buffers: a deep equality walk over 700 KB is needlessly slow.
    expect(Buffer.from((whole as { data: Uint8Array }).data).equals(Buffer.from((big as { data: Uint8Array }).data))).toBe(true);
    expect(reassembler.pendingBytes).toBe(0);
  });

  it('passes small messages through the reassembler between fragmented ones', () => {
    const reassembler = new MessageReassembler();
    const small = encodeMessage(samples[4]!);
    expect(reassembler.push(small)).toEqual(samples[4]);
    const frames = fragmentMessage(encodeMessage(samples[3]!), 1, 1024);
    let last: WireMessage | null = null;
    for (const f of frames) last = reassembler.push(f);
    expect(last).toEqual(samples[3]);
    expect(reassembler.push(small)).toEqual(samples[4]);
  });

  it('rejects malformed input with typed errors', () => {
    expectCode(() => decodeMessage(new Uint8Array([PROTOCOL_VERSION])), 'truncated');
    expectCode(() => decodeMessage(new Uint8Array([99, 2, 0, 0])), 'unsupported-version');
    expectCode(() => decodeMessage(new Uint8Array([PROTOCOL_VERSION, 77])), 'unknown-type');
    const chunk = encodeMessage(samples[3]!);
    expectCode(() => decodeMessage(chunk.subarray(0, 10)), 'truncated');
    expectCode(() => decodeMessage(chunk.subarray(0, 16)), 'truncated');
    const badTrack = chunk.slice();
    badTrack[2] = 200;
    expectCode(() => decodeMessage(badTrack), 'invalid-field');
    const badFlags = chunk.slice();
    badFlags[3] = 9;
    expectCode(() => decodeMessage(badFlags), 'invalid-field');
    const nanTime = chunk.slice();
    new DataView(nanTime.buffer).setFloat64(4, Number.NaN);
    expectCode(() => decodeMessage(nanTime), 'invalid-field');
    expectCode(() => decodeMessage(encodeMessage(samples[0]!).subarray(0, 12)), 'truncated');
    expectCode(() => decodeMessage(Uint8Array.of(PROTOCOL_VERSION, 4, 0)), 'invalid-field');
  });

  it('carries the segment grid origin in the clock message only when there is one, and checks it', () => {
    const plain = encodeMessage(samples[0]!);
    const withGrid = encodeMessage(samples[6]!);
    expect(plain.byteLength).toBe(18);
    expect(withGrid.byteLength).toBe(26);
    expect(decodeMessage(plain)).not.toHaveProperty('gridOriginUs');
    expect(decodeMessage(withGrid)).toEqual(samples[6]);
    const setGrid = (value: number): Uint8Array => {
      const out = withGrid.slice();
      new DataView(out.buffer).setFloat64(18, value);
      return out;
    };
    expect(decodeMessage(setGrid(1_234_500_000))).toMatchObject({ gridOriginUs: 1_234_500_000 });
    expectCode(() => decodeMessage(setGrid(1_234_499_999)), 'invalid-field');
    expectCode(() => decodeMessage(setGrid(Number.POSITIVE_INFINITY)), 'invalid-field');
    expectCode(() => decodeMessage(setGrid(Number.NaN)), 'invalid-field');
    expectCode(() => decodeMessage(withGrid.subarray(0, 22)), 'invalid-field');
    expectCode(() => decodeMessage(Uint8Array.of(...withGrid, 0)), 'invalid-field');
  });

  it('refuses to cut a message into more fragments than a reassembler takes, or into empty ones', () => {
    expectCode(() => fragmentMessage(new Uint8Array(MAX_FRAGMENTS * 100 + 1), 1, 100), 'oversized');
    expect(fragmentMessage(new Uint8Array(MAX_FRAGMENTS * 100), 1, 100)).toHaveLength(MAX_FRAGMENTS);
    expectCode(() => fragmentMessage(new Uint8Array(10), 1, 0), 'invalid-field');
  });

  it('rejects track configurations that are not JSON or have bad fields', () => {
    const valid = encodeMessage(samples[1]!);
    const notJson = valid.slice();
    notJson[4] = 0x7b + 1;
    expectCode(() => decodeMessage(notJson), 'invalid-field');
    const encodeFields = (fields: object): Uint8Array => {
      const json = new TextEncoder().encode(JSON.stringify(fields));
      const out = new Uint8Array(4 + json.byteLength);
      out[0] = PROTOCOL_VERSION;
      out[1] = 1;
      new DataView(out.buffer).setUint16(2, json.byteLength);
      out.set(json, 4);
      return out;
    };
    const video = { kind: 'video', trackId: 0, codec: 'avc1.42001f', width: 1280, height: 720, rendition: '720p' };
    expect(decodeMessage(encodeFields(video))).toMatchObject({ type: 'track', kind: 'video' });
    expectCode(() => decodeMessage(encodeFields({ ...video, kind: 'subtitles' })), 'invalid-field');
    expectCode(() => decodeMessage(encodeFields({ ...video, trackId: 99 })), 'invalid-field');
    expectCode(() => decodeMessage(encodeFields({ ...video, width: 1.5 })), 'invalid-field');
    expectCode(() => decodeMessage(encodeFields({ ...video, codec: 'avc1"; drop' })), 'invalid-field');
    expectCode(() => decodeMessage(encodeFields({ ...video, rendition: '../x' })), 'invalid-field');
    expectCode(() => decodeMessage(encodeFields({ kind: 'audio', trackId: 1, codec: 'opus', sampleRate: 48000, channels: 0 })), 'invalid-field');
    const truncated = valid.subarray(0, 10);
    expectCode(() => decodeMessage(truncated), 'truncated');
  });

  it('rejects oversized frames and messages', () => {
    const reassembler = new MessageReassembler();
    expectCode(() => reassembler.push(new Uint8Array(MAX_FRAME_BYTES + 1).fill(PROTOCOL_VERSION)), 'oversized');
    expectCode(() => decodeMessage(new Uint8Array(MAX_MESSAGE_BYTES + 1).fill(PROTOCOL_VERSION)), 'oversized');
    expectCode(() => fragmentMessage(new Uint8Array(MAX_MESSAGE_BYTES + 1), 1), 'oversized');
  });

  it('rejects fragments out of order, interleaved or without their first', () => {
    const frames = fragmentMessage(encodeMessage(samples[3]!), 5, 1000);
    expect(frames.length).toBeGreaterThan(3);
    expectCode(() => new MessageReassembler().push(frames[1]!), 'out-of-order');
    const skip = new MessageReassembler();
    skip.push(frames[0]!);
    expectCode(() => skip.push(frames[2]!), 'out-of-order');
    const interleaved = new MessageReassembler();
    interleaved.push(frames[0]!);
    expectCode(() => interleaved.push(encodeMessage(samples[4]!)), 'out-of-order');
    const other = fragmentMessage(encodeMessage(samples[3]!), 6, 1000);
    const mixed = new MessageReassembler();
    mixed.push(frames[0]!);
    expectCode(() => mixed.push(other[1]!), 'out-of-order');
    expectCode(() => decodeMessage(frames[0]!), 'out-of-order');
  });
});

describe('receipts (server → publisher)', () => {
  it('round-trip', () => {
    const receipt = { type: 'receipt' as const, channels: [{ trackId: 0, bytes: 123_456_789_012 }, { trackId: 3, bytes: 0 }, { trackId: 15, bytes: 42 }] };
    const encoded = encodeServerMessage(receipt);
    expect(encoded.byteLength).toBe(3 + 3 * 9);
    expect(decodeServerMessage(encoded)).toEqual(receipt);
    expect(decodeServerMessage(encodeServerMessage({ type: 'receipt', channels: [] }))).toEqual({ type: 'receipt', channels: [] });
  });

  it('the ingest refuses one from a publisher, whole or reassembled', () => {
    const encoded = encodeServerMessage({ type: 'receipt', channels: [{ trackId: 1, bytes: 10 }] });
    expectCode(() => decodeMessage(encoded), 'wrong-channel');
    expectCode(() => new MessageReassembler().push(encoded), 'wrong-channel');
  });

  it('refuses malformed receipts with typed errors', () => {
    const good = encodeServerMessage({ type: 'receipt', channels: [{ trackId: 1, bytes: 10 }] });
    expectCode(() => decodeServerMessage(good.subarray(0, 2)), 'truncated');
    expectCode(() => decodeServerMessage(good.subarray(0, good.byteLength - 1)), 'truncated');
    expectCode(() => decodeServerMessage(encodeMessage({ type: 'end' })), 'truncated');
    expectCode(() => decodeServerMessage(encodeMessage({ type: 'clock', timestampUs: 1, wallClockMs: 2 })), 'unknown-type');
    const badTrack = good.slice();
    badTrack[3] = 200;
    expectCode(() => decodeServerMessage(badTrack), 'invalid-field');
    const negative = good.slice();
    new DataView(negative.buffer).setFloat64(4, -1);
    expectCode(() => decodeServerMessage(negative), 'invalid-field');
    const tooMany = new Uint8Array(3).fill(0);
    tooMany.set([PROTOCOL_VERSION, 6, 17]);
    expectCode(() => decodeServerMessage(tooMany), 'oversized');
    expectCode(() => encodeServerMessage({ type: 'receipt', channels: [{ trackId: 1, bytes: 1.5 }] }), 'invalid-field');
  });
});
