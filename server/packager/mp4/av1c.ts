// AV1 in ISO BMFF (AV1 Codec ISO Media File Format Binding v1.2.0): the sequence header OBU read into an `av1C` record and its codec string.
import { concat, u8, type Bytes } from './writer.ts';

export class Av1ConfigError extends Error {
  override name = 'Av1ConfigError';
}

/** What `av1C` and the `av01` codec string say about a stream, read from its sequence header. */
export interface Av1SequenceInfo {
  profile: number;
  /** seq_level_idx of operating point 0. */
  level: number;
  /** seq_tier of operating point 0: 0 main, 1 high. */
  tier: number;
  bitDepth: 8 | 10 | 12;
  monochrome: boolean;
  subsamplingX: number;
  subsamplingY: number;
  chromaSamplePosition: number;
  /** The whole sequence header OBU (header, size field, payload), as `av1C` carries it. */
  obu: Bytes;
}

const OBU_SEQUENCE_HEADER = 1;

/** An OBU of a low-overhead bitstream: its type and its whole bytes, header included. */
interface Obu {
  type: number;
  bytes: Bytes;
  payload: Bytes;
}

function readLeb128(data: Bytes, offset: number): { value: number; length: number } {
  let value = 0;
  for (let i = 0; i < 8; i++) {
    if (offset + i >= data.byteLength) throw new Av1ConfigError('an OBU size runs past the end of the data');
    const byte = data[offset + i]!;
    value += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) return { value, length: i + 1 };
  }
  throw new Av1ConfigError('an OBU size is longer than 8 bytes');
}

/** Splits a low-overhead bitstream (every OBU with obu_has_size_field, as WebCodecs emits AV1) into its OBUs. */
function splitObus(data: Bytes): Obu[] {
  const obus: Obu[] = [];
  for (let offset = 0; offset < data.byteLength; ) {
    const header = data[offset]!;
    if (header & 0x80) throw new Av1ConfigError(`OBU at byte ${offset}: forbidden bit set`);
    const hasExtension = (header & 0x04) !== 0;
    if ((header & 0x02) === 0) throw new Av1ConfigError(`OBU at byte ${offset}: no size field (not a low-overhead bitstream)`);
    const headerLength = hasExtension ? 2 : 1;
    const size = readLeb128(data, offset + headerLength);
    const payloadStart = offset + headerLength + size.length;
    const end = payloadStart + size.value;
    if (end > data.byteLength) throw new Av1ConfigError(`OBU at byte ${offset} runs past the end of the data`);
    obus.push({ type: (header >> 3) & 0x0f, bytes: data.subarray(offset, end), payload: data.subarray(payloadStart, end) });
    offset = end;
  }
  return obus;
}

class BitReader {
  #data: Bytes;
  #bit = 0;
  constructor(data: Bytes) {
    this.#data = data;
  }
  f(n: number): number {
    let value = 0;
    for (let i = 0; i < n; i++) {
      const byte = this.#bit >> 3;
      if (byte >= this.#data.byteLength) throw new Av1ConfigError('the sequence header ends early');
      value = value * 2 + ((this.#data[byte]! >> (7 - (this.#bit & 7))) & 1);
      this.#bit++;
    }
    return value;
  }
  flag(): boolean {
    return this.f(1) === 1;
  }
  uvlc(): void {
    let leadingZeros = 0;
    while (!this.flag()) {
      if (++leadingZeros >= 32) throw new Av1ConfigError('a uvlc value is longer than 32 bits');
    }
    this.f(leadingZeros);
  }
}

// color_config() constants (AV1 spec § 6.4.2).
const CP_BT_709 = 1;
const TC_SRGB = 13;
const MC_IDENTITY = 0;

/** Reads sequence_header_obu() (AV1 spec § 5.5) as far as color_config(), which ends what av1C needs. */
function parseSequenceHeaderPayload(payload: Bytes): Omit<Av1SequenceInfo, 'obu'> {
  const r = new BitReader(payload);
  const profile = r.f(3);
  if (profile > 2) throw new Av1ConfigError(`seq_profile ${profile} is not 0 to 2`);
  r.f(1); // still_picture
  const reduced = r.flag();
  let level: number;
  let tier = 0;
  if (reduced) {
    level = r.f(5);
  } else {
    let decoderModelInfo = false;
    let bufferDelayLength = 0;
    if (r.flag()) {
      // timing_info()
      r.f(32);
      r.f(32);
      if (r.flag()) r.uvlc();
      decoderModelInfo = r.flag();
      if (decoderModelInfo) {
        bufferDelayLength = r.f(5) + 1;
        r.f(32);
        r.f(5);
        r.f(5);
      }
    }
    const initialDisplayDelay = r.flag();
    const operatingPoints = r.f(5) + 1;
    level = 0;
    for (let i = 0; i < operatingPoints; i++) {
      r.f(12); // operating_point_idc
      const opLevel = r.f(5);
      const opTier = opLevel > 7 ? r.f(1) : 0;
      if (i === 0) [level, tier] = [opLevel, opTier];
      if (decoderModelInfo && r.flag()) {
        r.f(bufferDelayLength);
        r.f(bufferDelayLength);
        r.f(1);
      }
      if (initialDisplayDelay && r.flag()) r.f(4);
    }
  }
  const widthBits = r.f(4) + 1;
  const heightBits = r.f(4) + 1;
  r.f(widthBits);
  r.f(heightBits);
  if (!reduced && r.flag()) {
    r.f(4);
    r.f(3);
  }
  r.f(3); // use_128x128_superblock, enable_filter_intra, enable_intra_edge_filter
  if (!reduced) {
    r.f(4); // enable_interintra_compound, enable_masked_compound, enable_warped_motion, enable_dual_filter
    const orderHint = r.flag();
    if (orderHint) r.f(2); // enable_jnt_comp, enable_ref_frame_mvs
    const forceScreenContentTools = r.flag() ? 2 : r.f(1);
    if (forceScreenContentTools > 0 && !r.flag()) r.f(1); // seq_choose_integer_mv, else seq_force_integer_mv
    if (orderHint) r.f(3);
  }
  r.f(3); // enable_superres, enable_cdef, enable_restoration

  // color_config()
  const highBitdepth = r.flag();
  const twelveBit = profile === 2 && highBitdepth ? r.flag() : false;
  const bitDepth = twelveBit ? 12 : highBitdepth ? 10 : 8;
  const monochrome = profile === 1 ? false : r.flag();
  let [primaries, transfer, matrix] = [2, 2, 2];
  if (r.flag()) [primaries, transfer, matrix] = [r.f(8), r.f(8), r.f(8)];
  let subsamplingX = 1;
  let subsamplingY = 1;
  let chromaSamplePosition = 0;
  if (monochrome) {
    r.f(1);
  } else if (primaries === CP_BT_709 && transfer === TC_SRGB && matrix === MC_IDENTITY) {
    [subsamplingX, subsamplingY] = [0, 0];
  } else {
    r.f(1); // color_range
    if (profile === 1) {
      [subsamplingX, subsamplingY] = [0, 0];
    } else if (profile === 2) {
      if (bitDepth === 12) {
        subsamplingX = r.f(1);
        subsamplingY = subsamplingX ? r.f(1) : 0;
      } else {
        [subsamplingX, subsamplingY] = [1, 0];
      }
    }
    if (subsamplingX && subsamplingY) chromaSamplePosition = r.f(2);
  }
  return { profile, level, tier, bitDepth, monochrome, subsamplingX, subsamplingY, chromaSamplePosition };
}

/** Finds and reads the sequence header OBU in `data` (a temporal unit, or the OBU alone); throws Av1ConfigError if none. */
export function readAv1SequenceHeader(data: Bytes): Av1SequenceInfo {
  const obu = splitObus(data).find((o) => o.type === OBU_SEQUENCE_HEADER);
  if (!obu) throw new Av1ConfigError('no sequence header OBU');
  return { ...parseSequenceHeaderPayload(obu.payload), obu: obu.bytes };
}

/** The `av1C` box payload: the record's four bytes, no initial presentation delay, then the sequence header OBU. */
export function av1CPayload(info: Av1SequenceInfo): Bytes {
  return concat([
    u8(0x81), // marker, version 1
    u8((info.profile << 5) | info.level),
    u8(
      (info.tier << 7) |
        ((info.bitDepth > 8 ? 1 : 0) << 6) |
        ((info.bitDepth === 12 ? 1 : 0) << 5) |
        ((info.monochrome ? 1 : 0) << 4) |
        (info.subsamplingX << 3) |
        (info.subsamplingY << 2) |
        info.chromaSamplePosition,
    ),
    u8(0),
    info.obu,
  ]);
}

/** The short `av01.P.LLT.DD` codec string (binding § 5) of what the sequence header declares. */
export function av1CodecString(info: Av1SequenceInfo): string {
  return `av01.${info.profile}.${String(info.level).padStart(2, '0')}${info.tier ? 'H' : 'M'}.${String(info.bitDepth).padStart(2, '0')}`;
}
