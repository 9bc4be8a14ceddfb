// Byte-level helpers for writing ISO BMFF boxes: big-endian integers, four-character codes, box headers.
// Hand-written because no installed library emits these LL-HLS parts: mux.js's mp4-generator builds boxes from
// its own transmuxer track objects and has no Opus (dOps) sample entry, and mediabunny's CMAF muxer does not
// hand out part-by-part moof+mdat output with our timing.

import { concatBytes } from '../../../shared/bytes.ts';

export type Bytes = Uint8Array;

export function u8(value: number): Bytes {
  return Uint8Array.of(value & 0xff);
}

export function u16(value: number): Bytes {
  const out = new Uint8Array(2);
  new DataView(out.buffer).setUint16(0, value & 0xffff);
  return out;
}

export function i16(value: number): Bytes {
  const out = new Uint8Array(2);
  new DataView(out.buffer).setInt16(0, value);
  return out;
}

export function u24(value: number): Bytes {
  return Uint8Array.of((value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff);
}


export function u32(value: number): Bytes {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value >>> 0);
  return out;
}

export function zeros(length: number): Bytes {
  return new Uint8Array(length);
}

export function fourcc(type: string): Bytes {
  if (type.length !== 4) throw new RangeError(`four-character code expected, got '${type}'`);
  return Uint8Array.from(type, (c) => c.charCodeAt(0));
}

/** Box payloads joined: the box builders' name for shared/'s one byte-joining function. */
export const concat = concatBytes;

/** A box: 32-bit size, type, then the payload. */
export function box(type: string, ...payload: Bytes[]): Bytes {
  const body = concat(payload);
  return concat([u32(8 + body.byteLength), fourcc(type), body]);
}

/** A full box: a box whose payload starts with a version byte and 24 bits of flags. */
export function fullBox(type: string, version: number, flags: number, ...payload: Bytes[]): Bytes {
  return box(type, u8(version), u24(flags), ...payload);
}
