// The listener's stdout frames, cut correctly however the pipe splits them, and refused when malformed.
import { describe, expect, it } from 'vitest';
import { acceptCommand, closeCommand, FrameReader, hostOf, ListenerProtocolError, parseRequest, rejectCommand } from '../frames.ts';

function frame(type: string, id: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(9 + payload.byteLength);
  const view = new DataView(out.buffer);
  view.setUint8(0, type.charCodeAt(0));
  view.setUint32(1, id);
  view.setUint32(5, payload.byteLength);
  out.set(payload, 9);
  return out;
}

describe('FrameReader', () => {
  it('cuts frames at any split, keeping ids and payloads', () => {
    const data = Uint8Array.from({ length: 1316 }, (_, i) => i % 251);
    const stream = new Uint8Array([...frame('O', 0xfffffffe, new Uint8Array()), ...frame('D', 7, data), ...frame('C', 7, new TextEncoder().encode('bye'))]);
    for (const step of [1, 5, 9, 100, stream.byteLength]) {
      const reader = new FrameReader();
      const frames = [];
      for (let at = 0; at < stream.byteLength; at += step) frames.push(...reader.push(stream.slice(at, at + step)));
      expect(frames.map((f) => [f.type, f.id, f.payload.byteLength])).toEqual([
        ['open', 0xfffffffe, 0],
        ['data', 7, 1316],
        ['closed', 7, 3],
      ]);
      expect(frames[1]!.payload).toEqual(data);
    }
  });

  it('refuses an unknown type and an oversized frame', () => {
    expect(() => [...new FrameReader().push(frame('Z', 1, new Uint8Array(1)))]).toThrow(ListenerProtocolError);
    const huge = frame('D', 1, new Uint8Array(0));
    new DataView(huge.buffer).setUint32(5, 1 << 20);
    expect(() => [...new FrameReader().push(huge)]).toThrow(/1048576-byte frame/);
  });

  it('reads a request and writes the command lines', () => {
    const address = new TextEncoder().encode('::1:40000');
    const request = parseRequest(new Uint8Array([address.byteLength, ...address, ...new TextEncoder().encode('publish:demo:k')]));
    expect(request).toEqual({ address: '::1:40000', streamId: 'publish:demo:k' });
    expect(hostOf(request.address)).toBe('::1');
    expect(hostOf('127.0.0.1:5000')).toBe('127.0.0.1');
    expect(() => parseRequest(new Uint8Array([20, 1, 2]))).toThrow(ListenerProtocolError);
    expect(acceptCommand(42, undefined)).toBe('A 42\n');
    expect(acceptCommand(42, 'a pass phrase')).toBe('A 42 a pass phrase\n');
    expect(rejectCommand(42, 1401)).toBe('J 42 1401\n');
    expect(closeCommand(42)).toBe('K 42\n');
  });
});
