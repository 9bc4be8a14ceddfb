// H.264 decoder configuration: the AVCDecoderConfigurationRecord (ISO/IEC 14496-15 §5.3.3, `avcC`) read and written, the
// picture size an SPS declares, and the RFC 6381 codec string; pure code over bytes for every ingest path and the packager.
import { concatBytes } from '../bytes.ts';
import { removeEmulationPrevention } from './annex-b.ts';
import { BitReader } from './bit-reader.ts';
import { CodecConfigError } from './errors.ts';

export interface AvcDecoderConfig {
  profile: number;
  profileCompatibility: number;
  level: number;
  /** Bytes of each NAL unit's length prefix in the samples: 1, 2 or 4. */
  nalLengthSize: number;
  sps: Uint8Array[];
  pps: Uint8Array[];
  /** Whatever follows the PPS list (the High-profile chroma/bit-depth extension), kept as sent. */
  extension: Uint8Array;
}

const CONFIGURATION_VERSION = 1;
const FIXED_BYTES = 6;
/** NAL unit types (H.264 Table 7-1) the ingest paths and the record need to tell apart. */
export const AVC_NAL_IDR = 5;
export const AVC_NAL_SPS = 7;
export const AVC_NAL_PPS = 8;
export const AVC_NAL_AUD = 9;
export const AVC_NAL_FILLER = 12;

/** The type of a NAL unit from its header byte. */
export function avcNalType(header: number): number {
  return header & 0x1f;
}

/** Reads the record; throws CodecConfigError when it is not one or its parameter-set lists run past its end. */
export function parseAvcC(bytes: Uint8Array): AvcDecoderConfig {
  if (bytes.byteLength < FIXED_BYTES + 1 || bytes[0] !== CONFIGURATION_VERSION) {
    throw new CodecConfigError('not an avcC record (configurationVersion 1)');
  }
  let offset = 0;
  const byte = (): number => {
    if (offset >= bytes.byteLength) throw new CodecConfigError(`record ends at byte ${offset}, inside its parameter-set lists`);
    return bytes[offset++]!;
  };
  const list = (count: number, what: string): Uint8Array[] =>
    Array.from({ length: count }, (_, i) => {
      const length = (byte() << 8) | byte();
      if (length === 0 || offset + length > bytes.byteLength) throw new CodecConfigError(`${what} ${i} of ${length} bytes runs past the record`);
      offset += length;
      return bytes.slice(offset - length, offset);
    });
  offset = 1;
  const profile = byte();
  const profileCompatibility = byte();
  const level = byte();
  const nalLengthSize = (byte() & 0x03) + 1;
  if (nalLengthSize === 3) throw new CodecConfigError('3-byte NAL lengths are not allowed');
  const sps = list(byte() & 0x1f, 'SPS');
  const pps = list(byte(), 'PPS');
  if (sps.length === 0 || pps.length === 0) throw new CodecConfigError(`needs an SPS and a PPS, has ${sps.length} and ${pps.length}`);
  sps.forEach((s, i) => {
    if (avcNalType(s[0]!) !== AVC_NAL_SPS) throw new CodecConfigError(`SPS ${i} has NAL type ${avcNalType(s[0]!)}`);
  });
  pps.forEach((p, i) => {
    if (avcNalType(p[0]!) !== AVC_NAL_PPS) throw new CodecConfigError(`PPS ${i} has NAL type ${avcNalType(p[0]!)}`);
  });
  return { profile, profileCompatibility, level, nalLengthSize, sps, pps, extension: bytes.slice(offset) };
}

/** Writes the record with its reserved bits set, as 14496-15 asks (readers such as ffmpeg check them). */
export function writeAvcC(config: AvcDecoderConfig): Uint8Array {
  const list = (sets: readonly Uint8Array[]): Uint8Array[] => sets.flatMap((s) => [Uint8Array.of(s.byteLength >> 8, s.byteLength & 0xff), s]);
  return concatBytes([
    Uint8Array.of(CONFIGURATION_VERSION, config.profile, config.profileCompatibility, config.level),
    Uint8Array.of(0xfc | (config.nalLengthSize - 1), 0xe0 | config.sps.length),
    ...list(config.sps),
    Uint8Array.of(config.pps.length),
    ...list(config.pps),
    config.extension,
  ]);
}

// Profiles whose SPS carries chroma format and bit depth (H.264 7.3.2.1.1).
const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

function skipScalingList(reader: BitReader, size: number): void {
  let last = 8;
  let next = 8;
  for (let j = 0; j < size; j++) {
    if (next !== 0) next = (last + reader.se() + 256) % 256;
    last = next === 0 ? last : next;
  }
}

/** The displayed picture size an H.264 SPS NAL unit (with its header byte) declares, cropping applied. */
export function avcPictureSize(sps: Uint8Array): { width: number; height: number } {
  const reader = new BitReader(removeEmulationPrevention(sps.subarray(1)), 'the H.264 SPS');
  const profile = reader.bits(8);
  reader.bits(16); // constraint flags, level
  reader.ue(); // seq_parameter_set_id
  let chromaFormat = 1;
  if (HIGH_PROFILES.has(profile)) {
    chromaFormat = reader.ue();
    if (chromaFormat === 3) reader.bit();
    reader.ue();
    reader.ue();
    reader.bit();
    if (reader.bit()) {
      for (let i = 0; i < (chromaFormat === 3 ? 12 : 8); i++) if (reader.bit()) skipScalingList(reader, i < 6 ? 16 : 64);
    }
  }
  reader.ue(); // log2_max_frame_num_minus4
  const pocType = reader.ue();
  if (pocType === 0) reader.ue();
  else if (pocType === 1) {
    reader.bit();
    reader.se();
    reader.se();
    const cycle = reader.ue();
    if (cycle > 255) throw new CodecConfigError('H.264 SPS: picture order count cycle over 255');
    for (let i = 0; i < cycle; i++) reader.se();
  }
  reader.ue(); // max_num_ref_frames
  reader.bit();
  const widthMbs = reader.ue() + 1;
  const heightMapUnits = reader.ue() + 1;
  const frameMbsOnly = reader.bit();
  if (!frameMbsOnly) reader.bit();
  reader.bit();
  let crop = { left: 0, right: 0, top: 0, bottom: 0 };
  if (reader.bit()) crop = { left: reader.ue(), right: reader.ue(), top: reader.ue(), bottom: reader.ue() };
  const cropUnitX = chromaFormat === 1 || chromaFormat === 2 ? 2 : 1;
  const cropUnitY = (chromaFormat === 1 ? 2 : 1) * (2 - frameMbsOnly);
  const width = widthMbs * 16 - cropUnitX * (crop.left + crop.right);
  const height = heightMapUnits * 16 * (2 - frameMbsOnly) - cropUnitY * (crop.top + crop.bottom);
  if (width <= 0 || height <= 0 || width > 16384 || height > 16384) {
    throw new CodecConfigError(`H.264 SPS declares a ${width}×${height} picture`);
  }
  return { width, height };
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}

/** The avcC record of parameter sets taken from an Annex-B or RTP stream, for samples with 4-byte NAL lengths. */
export function avcCFromParameterSets(sps: readonly Uint8Array[], pps: readonly Uint8Array[]): Uint8Array {
  const first = sps[0];
  if (!first || first.byteLength < 4 || pps.length === 0) throw new CodecConfigError(`H.264 parameter sets: ${sps.length} SPS and ${pps.length} PPS`);
  if (sps.length > 31 || pps.length > 255) throw new CodecConfigError(`H.264 parameter sets: ${sps.length} SPS and ${pps.length} PPS (at most 31 and 255)`);
  return writeAvcC({ profile: first[1]!, profileCompatibility: first[2]!, level: first[3]!, nalLengthSize: 4, sps: [...sps], pps: [...pps], extension: new Uint8Array(0) });
}

/** `avc1.PPCCLL` from an SPS NAL unit (with its header byte): profile, constraint flags and level, as RFC 6381 writes them. */
export function avcCodecString(sps: Uint8Array): string {
  if (sps.byteLength < 4) throw new CodecConfigError(`an H.264 SPS of ${sps.byteLength} bytes`);
  return `avc1.${hex(sps[1]!)}${hex(sps[2]!)}${hex(sps[3]!)}`;
}
