// The HEVCDecoderConfigurationRecord (ISO/IEC 14496-15 §8.3.3.1, the `hvcC` payload): checked before it goes into an init segment, and its profile, tier and level read for CODECS.
import { HEVC_NAL_PPS, HEVC_NAL_SPS, HEVC_NAL_VPS, type HevcProfileTierLevel } from '../../../shared/codecs/hevc.ts';
import type { Bytes } from './writer.ts';

export class HvcCError extends Error {
  override name = 'HvcCError';
}

const CONFIGURATION_VERSION = 1;
const FIXED_BYTES = 23;

/**
 * Reads the record's header and walks its NAL unit arrays; throws HvcCError when it is not one, an array runs past
 * its end, or it lacks a VPS, an SPS or a PPS (an `hvc1` track carries its parameter sets only here).
 */
export function parseHvcC(bytes: Bytes): HevcProfileTierLevel {
  if (bytes.byteLength < FIXED_BYTES || bytes[0] !== CONFIGURATION_VERSION) throw new HvcCError('not an hvcC record (configurationVersion 1)');
  if ((bytes[21]! & 0x03) === 2) throw new HvcCError('3-byte NAL lengths are not allowed');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const found = new Set<number>();
  let offset = FIXED_BYTES;
  const arrays = bytes[22]!;
  for (let a = 0; a < arrays; a++) {
    if (offset + 3 > bytes.byteLength) throw new HvcCError(`array ${a} runs past the record`);
    const type = bytes[offset]! & 0x3f;
    const count = view.getUint16(offset + 1);
    offset += 3;
    for (let n = 0; n < count; n++) {
      if (offset + 2 > bytes.byteLength) throw new HvcCError(`NAL unit ${n} of array ${a} runs past the record`);
      const length = view.getUint16(offset);
      if (length < 2 || offset + 2 + length > bytes.byteLength) throw new HvcCError(`NAL unit ${n} of array ${a} (${length} bytes) runs past the record`);
      if (((bytes[offset + 2]! >> 1) & 0x3f) !== type) throw new HvcCError(`array ${a} of type ${type} holds a NAL unit of another type`);
      offset += 2 + length;
      found.add(type);
    }
  }
  for (const [type, name] of [[HEVC_NAL_VPS, 'VPS'], [HEVC_NAL_SPS, 'SPS'], [HEVC_NAL_PPS, 'PPS']] as const) {
    if (!found.has(type)) throw new HvcCError(`no ${name}`);
  }
  return {
    profileSpace: bytes[1]! >> 6,
    tierFlag: (bytes[1]! >> 5) & 1,
    profileIdc: bytes[1]! & 0x1f,
    compatibilityFlags: view.getUint32(2),
    constraintFlags: bytes.slice(6, 12),
    levelIdc: bytes[12]!,
  };
}
