// AMF0 (Adobe Action Message Format 0) values: what RTMP commands and FLV metadata are written in; decoded and encoded.
import { RtmpProtocolError } from './errors.ts';

export type Amf0Value = number | boolean | string | null | undefined | Date | Amf0Value[] | { [key: string]: Amf0Value };

/** An AMF0 object (not an array, a date or a scalar). */
export function isAmf0Object(value: Amf0Value): value is { [key: string]: Amf0Value } {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

const NUMBER = 0x00;
const BOOLEAN = 0x01;
const STRING = 0x02;
const OBJECT = 0x03;
const NULL = 0x05;
const UNDEFINED = 0x06;
const REFERENCE = 0x07;
const ECMA_ARRAY = 0x08;
const OBJECT_END = 0x09;
const STRICT_ARRAY = 0x0a;
const DATE = 0x0b;
const LONG_STRING = 0x0c;
const UNSUPPORTED = 0x0d;
const TYPED_OBJECT = 0x10;
const SWITCH_TO_AMF3 = 0x11;

/** Nesting deeper than this is refused: no RTMP command needs it, and it bounds the decoder's recursion. */
const MAX_DEPTH = 16;

const utf8 = new TextDecoder('utf-8', { fatal: false });

class Reader {
  offset = 0;
  readonly #view: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  need(count: number): void {
    if (this.offset + count > this.bytes.byteLength) throw new RtmpProtocolError('bad-amf', `AMF0 value runs past the end of its message (byte ${this.offset})`);
  }
  u8(): number {
    this.need(1);
    return this.#view.getUint8(this.offset++);
  }
  u16(): number {
    this.need(2);
    const value = this.#view.getUint16(this.offset);
    this.offset += 2;
    return value;
  }
  u32(): number {
    this.need(4);
    const value = this.#view.getUint32(this.offset);
    this.offset += 4;
    return value;
  }
  f64(): number {
    this.need(8);
    const value = this.#view.getFloat64(this.offset);
    this.offset += 8;
    return value;
  }
  text(length: number): string {
    this.need(length);
    const value = utf8.decode(this.bytes.subarray(this.offset, this.offset + length));
    this.offset += length;
    return value;
  }
}

function readProperties(reader: Reader, depth: number): Record<string, Amf0Value> {
  const out: Record<string, Amf0Value> = Object.create(null) as Record<string, Amf0Value>;
  for (;;) {
    const key = reader.text(reader.u16());
    if (key === '' && reader.bytes[reader.offset] === OBJECT_END) {
      reader.offset++;
      return out;
    }
    out[key] = readValue(reader, depth + 1);
  }
}

function readValue(reader: Reader, depth: number): Amf0Value {
  if (depth > MAX_DEPTH) throw new RtmpProtocolError('bad-amf', `AMF0 values nested deeper than ${MAX_DEPTH}`);
  const marker = reader.u8();
  switch (marker) {
    case NUMBER:
      return reader.f64();
    case BOOLEAN:
      return reader.u8() !== 0;
    case STRING:
      return reader.text(reader.u16());
    case LONG_STRING:
      return reader.text(reader.u32());
    case OBJECT:
      return readProperties(reader, depth);
    case ECMA_ARRAY:
      reader.u32(); // The count is a hint; the properties end with the object-end marker.
      return readProperties(reader, depth);
    case TYPED_OBJECT:
      reader.text(reader.u16());
      return readProperties(reader, depth);
    case STRICT_ARRAY: {
      const count = reader.u32();
      // Each element takes at least one byte: a count beyond the bytes left is a lie, refused before allocating.
      reader.need(count);
      return Array.from({ length: count }, () => readValue(reader, depth + 1));
    }
    case DATE: {
      const ms = reader.f64();
      reader.u16(); // Time zone, unused by AMF0 writers.
      return new Date(ms);
    }
    case NULL:
    case UNSUPPORTED:
      return null;
    case UNDEFINED:
      return undefined;
    case REFERENCE:
      reader.u16();
      return null;
    case SWITCH_TO_AMF3:
      throw new RtmpProtocolError('bad-amf', 'AMF3 values are not supported (use AMF0 commands)');
    default:
      throw new RtmpProtocolError('bad-amf', `unknown AMF0 type marker 0x${marker.toString(16)} at byte ${reader.offset - 1}`);
  }
}

/** Decodes every value of a command or data message; throws RtmpProtocolError on malformed input. */
export function decodeAmf0(bytes: Uint8Array): Amf0Value[] {
  const reader = new Reader(bytes);
  const values: Amf0Value[] = [];
  while (reader.offset < bytes.byteLength) values.push(readValue(reader, 0));
  return values;
}

const encoder = new TextEncoder();

function encodeValue(value: Amf0Value, out: number[]): void {
  const pushU16 = (n: number): void => void out.push((n >> 8) & 0xff, n & 0xff);
  const pushString = (text: string): void => {
    const bytes = encoder.encode(text);
    pushU16(bytes.byteLength);
    for (const b of bytes) out.push(b);
  };
  if (value === null) out.push(NULL);
  else if (value === undefined) out.push(UNDEFINED);
  else if (typeof value === 'number') {
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setFloat64(0, value);
    out.push(NUMBER, ...bytes);
  } else if (typeof value === 'boolean') out.push(BOOLEAN, value ? 1 : 0);
  else if (typeof value === 'string') {
    out.push(STRING);
    pushString(value);
  } else if (value instanceof Date || Array.isArray(value)) {
    throw new RangeError('the server writes no AMF0 dates or arrays');
  } else {
    out.push(OBJECT);
    for (const [key, property] of Object.entries(value)) {
      pushString(key);
      encodeValue(property, out);
    }
    out.push(0, 0, OBJECT_END);
  }
}

/** Encodes the values of a command the server sends (numbers, booleans, strings, null, plain objects). */
export function encodeAmf0(...values: Amf0Value[]): Uint8Array {
  const out: number[] = [];
  for (const value of values) encodeValue(value, out);
  return Uint8Array.from(out);
}
