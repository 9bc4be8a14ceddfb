// The chunk stream: messages split by the server's writer (and by hand, as encoders do) come back whole; broken or oversized input is refused.
import { describe, expect, it } from 'vitest';
import { ChunkReader, MESSAGE_SET_CHUNK_SIZE, MESSAGE_VIDEO, writeChunks, type ChunkLimits } from '../chunk-stream.ts';
import { RtmpProtocolError } from '../errors.ts';

const LIMITS: ChunkLimits = { maxChunkSize: 64 * 1024, maxMessageBytes: 1024 * 1024, maxChunkStreams: 8 };

function bytesOf(length: number, seed: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 31 + seed) & 0xff);
}

function setChunkSize(size: number): Uint8Array {
  return writeChunks(2, { typeId: MESSAGE_SET_CHUNK_SIZE, streamId: 0, payload: Uint8Array.of(size >>> 24, (size >> 16) & 0xff, (size >> 8) & 0xff, size & 0xff) });
}

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (err) {
    return err instanceof RtmpProtocolError ? err.code : 'not-typed';
  }
  return undefined;
}

describe('ChunkReader', () => {
  it('reassembles messages split into 128-byte chunks, fed one byte at a time', () => {
    const payload = bytesOf(1000, 7);
    const stream = writeChunks(6, { typeId: MESSAGE_VIDEO, streamId: 1, payload });
    const reader = new ChunkReader(LIMITS);
    const messages = [...stream].flatMap((byte) => reader.push(Uint8Array.of(byte)));
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({ typeId: MESSAGE_VIDEO, streamId: 1, timestamp: 0 });
    expect(messages[0]!.payload).toEqual(payload);
    expect(reader.bytesRead).toBe(stream.byteLength);
  });

  it('applies Set Chunk Size to the chunks after it', () => {
    const payload = bytesOf(10_000, 3);
    const reader = new ChunkReader(LIMITS);
    const messages = reader.push(Buffer.concat([setChunkSize(4096), writeChunks(4, { typeId: 8, streamId: 1, payload }, 4096)]));
    expect(messages.map((m) => m.payload)).toEqual([payload]);
  });

  it('follows type-1, type-2 and type-3 headers: timestamp deltas, a repeated delta, and extended timestamps', () => {
    const reader = new ChunkReader(LIMITS);
    // Type 0 on chunk stream 5: timestamp 0xffffff → extended 0x01000000; length 2, video, stream 1.
    const type0 = [0x05, 0xff, 0xff, 0xff, 0, 0, 2, 9, 1, 0, 0, 0, 0x01, 0, 0, 0, 0xaa, 0xbb];
    // Type 1: delta 33, length 1, video. Type 2: delta 34. Type 3: the delta again (34).
    const type1 = [0x45, 0, 0, 33, 0, 0, 1, 9, 0xcc];
    const type2 = [0x85, 0, 0, 34, 0xdd];
    const type3 = [0xc5, 0xee];
    const messages = reader.push(Uint8Array.of(...type0, ...type1, ...type2, ...type3));
    expect(messages.map((m) => m.timestamp)).toEqual([0x01000000, 0x01000000 + 33, 0x01000000 + 67, 0x01000000 + 101]);
    expect(messages.map((m) => [...m.payload])).toEqual([[0xaa, 0xbb], [0xcc], [0xdd], [0xee]]);
  });

  it('keeps interleaved chunk streams apart', () => {
    const a = bytesOf(300, 1);
    const b = bytesOf(200, 2);
    const chunksA = writeChunks(4, { typeId: 8, streamId: 1, payload: a });
    const chunksB = writeChunks(6, { typeId: 9, streamId: 1, payload: b });
    // A's first chunk (12 + 128), B's first (12 + 128), then the rest of each.
    const reader = new ChunkReader(LIMITS);
    const messages = reader.push(Buffer.concat([chunksA.subarray(0, 140), chunksB.subarray(0, 140), chunksA.subarray(140), chunksB.subarray(140)]));
    expect(messages.map((m) => m.payload)).toEqual([a, b]);
  });

  it('refuses a chunk size over the limit, a message over the limit, too many chunk streams and a stream starting without a type-0 header', () => {
    expect(codeOf(() => new ChunkReader(LIMITS).push(setChunkSize(0x7fffffff)))).toBe('chunk-size');
    expect(codeOf(() => new ChunkReader(LIMITS).push(Uint8Array.of(0x04, 0, 0, 0, 0x20, 0, 0, 9, 1, 0, 0, 0)))).toBe('message-too-large');
    const many = new ChunkReader(LIMITS);
    expect(codeOf(() => {
      for (let csid = 3; csid < 3 + LIMITS.maxChunkStreams + 1; csid++) many.push(Uint8Array.of(csid, 0, 0, 0, 0, 0, 1, 9, 1, 0, 0, 0, 1));
    })).toBe('bad-chunk');
    expect(codeOf(() => new ChunkReader(LIMITS).push(Uint8Array.of(0x44, 0, 0, 0, 0, 0, 1, 9, 1)))).toBe('bad-chunk');
  });

  it('refuses unfinished messages adding up to more than two of the largest', () => {
    const reader = new ChunkReader({ ...LIMITS, maxMessageBytes: 1000 });
    reader.push(setChunkSize(1000));
    // Three chunk streams each start a 1000-byte message and send 900 bytes of it.
    expect(codeOf(() => {
      for (const csid of [4, 5, 6]) reader.push(Uint8Array.of(csid, 0, 0, 0, 0, 0x03, 0xe8, 9, 1, 0, 0, 0, ...new Uint8Array(900)));
    })).toBe('message-too-large');
  });
});
