// The AVCDecoderConfigurationRecord (ISO/IEC 14496-15 §5.3.3, the `avcC` payload): read, repair, write.
import { concat, u16, u8, type Bytes } from './writer.ts';

export interface AvcDecoderConfig {
  profile: number;
  profileCompatibility: number;
  level: number;
  /** Bytes of each NAL unit's length prefix in the samples: 1, 2 or 4. */
  nalLengthSize: number;
  sps: Bytes[];
  pps: Bytes[];
  /** Whatever follows the PPS list (the High-profile chroma/bit-depth extension), kept as sent. */
  extension: Bytes;
}

export class AvcCError extends Error {
  override name = 'AvcCError';
}

const CONFIGURATION_VERSION = 1;
const FIXED_BYTES = 6;
const NAL_SPS = 7;
const NAL_PPS = 8;

function nalType(header: number): number {
  return header & 0x1f;
}

/** Reads the record; throws AvcCError when it is not one or its parameter-set lists run past its end. */
export function parseAvcC(bytes: Bytes): AvcDecoderConfig {
  if (bytes.byteLength < FIXED_BYTES + 1 || bytes[0] !== CONFIGURATION_VERSION) {
    throw new AvcCError('not an avcC record (configurationVersion 1)');
  }
  let offset = 0;
  const byte = (): number => {
    if (offset >= bytes.byteLength) throw new AvcCError(`record ends at byte ${offset}, inside its parameter-set lists`);
    return bytes[offset++]!;
  };
  const list = (count: number, what: string): Bytes[] =>
    Array.from({ length: count }, (_, i) => {
      const length = (byte() << 8) | byte();
      if (length === 0 || offset + length > bytes.byteLength) throw new AvcCError(`${what} ${i} of ${length} bytes runs past the record`);
      offset += length;
      return bytes.slice(offset - length, offset);
    });
  offset = 1;
  const profile = byte();
  const profileCompatibility = byte();
  const level = byte();
  const nalLengthSize = (byte() & 0x03) + 1;
  if (nalLengthSize === 3) throw new AvcCError('3-byte NAL lengths are not allowed');
  const sps = list(byte() & 0x1f, 'SPS');
  const pps = list(byte(), 'PPS');
  if (sps.length === 0 || pps.length === 0) throw new AvcCError(`needs an SPS and a PPS, has ${sps.length} and ${pps.length}`);
  sps.forEach((s, i) => {
    if (nalType(s[0]!) !== NAL_SPS) throw new AvcCError(`SPS ${i} has NAL type ${nalType(s[0]!)}`);
  });
  pps.forEach((p, i) => {
    if (nalType(p[0]!) !== NAL_PPS) throw new AvcCError(`PPS ${i} has NAL type ${nalType(p[0]!)}`);
  });
  return { profile, profileCompatibility, level, nalLengthSize, sps, pps, extension: bytes.slice(offset) };
}

/** Writes the record with its reserved bits set, as 14496-15 asks (readers such as ffmpeg check them). */
export function writeAvcC(config: AvcDecoderConfig): Bytes {
  const list = (sets: readonly Bytes[]): Bytes[] => sets.flatMap((s) => [u16(s.byteLength), s]);
  return concat([
    u8(CONFIGURATION_VERSION),
    u8(config.profile),
    u8(config.profileCompatibility),
    u8(config.level),
    u8(0xfc | (config.nalLengthSize - 1)),
    u8(0xe0 | config.sps.length),
    ...list(config.sps),
    u8(config.pps.length),
    ...list(config.pps),
    config.extension,
  ]);
}

function hasDoubledHeader(set: Bytes): boolean {
  return set.byteLength > 2 && set[0] === set[1];
}

/**
 * Firefox (checked: ESR 153 on Linux) writes every parameter set into its `avcC` with the one-byte NAL header twice
 * (`67 67 42 c0 1f …`, `68 68 cb …`) and leaves the reserved bits clear. Decoders then read the SPS from the wrong
 * byte (ffmpeg: "sps_id 1 out of range"; Chromium's MSE rejects the init segment). An SPS's first byte after its
 * header is profile_idc, which the record repeats as AVCProfileIndication: an SPS whose header is doubled and whose
 * third byte, not its second, is that profile is this defect, and the same record's doubled PPS headers are too.
 */
export function repairAvcDecoderConfig(config: AvcDecoderConfig): AvcDecoderConfig {
  const doubled = config.sps.every((s) => hasDoubledHeader(s) && s[1] !== config.profile && s[2] === config.profile);
  if (!doubled) return config;
  const undouble = (s: Bytes): Bytes => (hasDoubledHeader(s) ? s.subarray(1) : s);
  return { ...config, sps: config.sps.map(undouble), pps: config.pps.map(undouble) };
}

/** The record as the init segment should carry it: parsed, repaired (see above), rewritten with its reserved bits. */
export function normaliseAvcC(bytes: Bytes): Bytes {
  return writeAvcC(repairAvcDecoderConfig(parseAvcC(bytes)));
}
