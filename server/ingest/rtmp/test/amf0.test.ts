// AMF0: the server's own encodings read back, what encoders send decoded, and malformed input refused with a typed error.
import { describe, expect, it } from 'vitest';
import { decodeAmf0, encodeAmf0 } from '../amf0.ts';
import { RtmpProtocolError } from '../errors.ts';

describe('AMF0', () => {
  it('round-trips a connect result: strings, numbers, booleans, null and nested objects', () => {
    const values = ['_result', 1, { fmsVer: 'FMS/3,0,1,123', capabilities: 31, ok: true }, { level: 'status', code: 'NetConnection.Connect.Success', nested: { n: -2.5 } }, null];
    expect(decodeAmf0(encodeAmf0(...values))).toEqual(values);
  });

  it('reads ECMA arrays (onMetaData), strict arrays, dates, long strings and undefined', () => {
    const bytes = Uint8Array.of(
      0x08, 0, 0, 0, 1, 0, 5, ...Buffer.from('width'), 0x00, ...new Uint8Array(new Float64Array([1280]).buffer).reverse(), 0, 0, 9,
      0x0a, 0, 0, 0, 2, 0x01, 1, 0x05,
      0x0b, ...new Uint8Array(new Float64Array([86_400_000]).buffer).reverse(), 0, 0,
      0x0c, 0, 0, 0, 2, ...Buffer.from('hi'),
      0x06,
    );
    expect(decodeAmf0(bytes)).toEqual([{ width: 1280 }, [true, null], new Date(86_400_000), 'hi', undefined]);
  });

  it.each([
    ['a truncated number', Uint8Array.of(0x00, 1, 2, 3)],
    ['a string longer than the message', Uint8Array.of(0x02, 0x10, 0, 0x41)],
    ['a strict array claiming 2^32 - 1 elements', Uint8Array.of(0x0a, 0xff, 0xff, 0xff, 0xff, 0x05)],
    ['an unknown type marker', Uint8Array.of(0x42)],
    ['AMF3', Uint8Array.of(0x11, 0x01)],
    ['objects nested 20 deep', Uint8Array.of(...Array.from({ length: 20 }, () => [0x03, 0, 1, 0x61]).flat())],
  ])('refuses %s', (_what, bytes) => {
    expect(() => decodeAmf0(bytes)).toThrow(RtmpProtocolError);
  });
});
