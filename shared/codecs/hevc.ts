// H.265/HEVC parameter sets: the SPS's profile, tier, level and picture size, the HEVCDecoderConfigurationRecord (`hvcC`) built from VPS/SPS/PPS, and the RFC 6381 codec string.
import { removeEmulationPrevention } from './annex-b.ts';
import { BitReader } from './bit-reader.ts';
import { CodecConfigError } from './errors.ts';

/** NAL unit types (H.265 Table 7-1) an ingest path needs to tell apart. */
export const HEVC_NAL_VPS = 32;
export const HEVC_NAL_SPS = 33;
export const HEVC_NAL_PPS = 34;
export const HEVC_NAL_AUD = 35;
export const HEVC_NAL_FILLER = 38;
/** IRAP pictures (BLA, IDR, CRA and reserved IRAP types): random access points, MP4 sync samples. */
const HEVC_NAL_IRAP_FIRST = 16;
const HEVC_NAL_IRAP_LAST = 23;

export function hevcNalType(nal: Uint8Array): number {
  return (nal[0]! >> 1) & 0x3f;
}

export function isHevcIrap(type: number): boolean {
  return type >= HEVC_NAL_IRAP_FIRST && type <= HEVC_NAL_IRAP_LAST;
}

/** general_profile_tier_level (H.265 7.3.3), as `hvcC` and the codec string carry it. */
export interface HevcProfileTierLevel {
  profileSpace: number;
  tierFlag: number;
  profileIdc: number;
  /** general_profile_compatibility_flag[0..31], flag 0 in the most significant bit. */
  compatibilityFlags: number;
  /** The 48 bits from general_progressive_source_flag on, 6 bytes. */
  constraintFlags: Uint8Array;
  levelIdc: number;
}

export interface HevcSpsInfo {
  profileTierLevel: HevcProfileTierLevel;
  chromaFormatIdc: number;
  bitDepthLuma: number;
  bitDepthChroma: number;
  /** The picture size after the conformance window (what is displayed). */
  width: number;
  height: number;
  /** sps_max_sub_layers_minus1 + 1. */
  subLayers: number;
  temporalIdNesting: boolean;
}

function profileTierLevel(r: BitReader, maxSubLayersMinus1: number): HevcProfileTierLevel {
  const profileSpace = r.bits(2);
  const tierFlag = r.bits(1);
  const profileIdc = r.bits(5);
  const compatibilityFlags = r.bits(32);
  const constraintFlags = Uint8Array.from({ length: 6 }, () => r.bits(8));
  const levelIdc = r.bits(8);
  const subLayerProfilePresent: boolean[] = [];
  const subLayerLevelPresent: boolean[] = [];
  for (let i = 0; i < maxSubLayersMinus1; i++) {
    subLayerProfilePresent.push(r.bits(1) === 1);
    subLayerLevelPresent.push(r.bits(1) === 1);
  }
  if (maxSubLayersMinus1 > 0) for (let i = maxSubLayersMinus1; i < 8; i++) r.skip(2);
  for (let i = 0; i < maxSubLayersMinus1; i++) {
    if (subLayerProfilePresent[i]) r.skip(88);
    if (subLayerLevelPresent[i]) r.skip(8);
  }
  return { profileSpace, tierFlag, profileIdc, compatibilityFlags, constraintFlags, levelIdc };
}

const MAX_PICTURE_SIDE = 16384;

/** Reads an SPS NAL unit (with its 2-byte header, emulation prevention in place) as far as the bit depths (H.265 7.3.2.2.1). */
export function parseHevcSps(nal: Uint8Array): HevcSpsInfo {
  if (nal.byteLength < 3 || hevcNalType(nal) !== HEVC_NAL_SPS) throw new CodecConfigError(`not an SPS NAL unit (type ${nal.byteLength > 0 ? hevcNalType(nal) : 'none'})`);
  const r = new BitReader(removeEmulationPrevention(nal.subarray(2)), 'the H.265 SPS');
  r.skip(4); // sps_video_parameter_set_id
  const maxSubLayersMinus1 = r.bits(3);
  if (maxSubLayersMinus1 > 6) throw new CodecConfigError(`sps_max_sub_layers_minus1 ${maxSubLayersMinus1} is over 6`);
  const temporalIdNesting = r.bits(1) === 1;
  const ptl = profileTierLevel(r, maxSubLayersMinus1);
  r.ue(); // sps_seq_parameter_set_id
  const chromaFormatIdc = r.ue();
  if (chromaFormatIdc > 3) throw new CodecConfigError(`chroma_format_idc ${chromaFormatIdc}`);
  const separateColourPlanes = chromaFormatIdc === 3 && r.bits(1) === 1;
  const codedWidth = r.ue();
  const codedHeight = r.ue();
  let crop = { left: 0, right: 0, top: 0, bottom: 0 };
  if (r.bits(1)) crop = { left: r.ue(), right: r.ue(), top: r.ue(), bottom: r.ue() };
  const bitDepthLuma = r.ue() + 8;
  const bitDepthChroma = r.ue() + 8;
  if (bitDepthLuma > 16 || bitDepthChroma > 16) throw new CodecConfigError(`bit depths ${bitDepthLuma}/${bitDepthChroma}`);
  // Conformance window offsets count chroma samples (H.265 Table 6-1, eq. 7-20).
  const chromaArrayType = separateColourPlanes ? 0 : chromaFormatIdc;
  const subWidth = chromaArrayType === 1 || chromaArrayType === 2 ? 2 : 1;
  const subHeight = chromaArrayType === 1 ? 2 : 1;
  const width = codedWidth - subWidth * (crop.left + crop.right);
  const height = codedHeight - subHeight * (crop.top + crop.bottom);
  if (width <= 0 || height <= 0 || width > MAX_PICTURE_SIDE || height > MAX_PICTURE_SIDE) {
    throw new CodecConfigError(`the H.265 SPS declares a ${width}×${height} picture`);
  }
  return {
    profileTierLevel: ptl,
    chromaFormatIdc,
    bitDepthLuma,
    bitDepthChroma,
    width,
    height,
    subLayers: maxSubLayersMinus1 + 1,
    temporalIdNesting,
  };
}

/** Parameter sets as they came in band: NAL units with their headers. */
export interface HevcParameterSets {
  vps: readonly Uint8Array[];
  sps: readonly Uint8Array[];
  pps: readonly Uint8Array[];
}

/**
 * The HEVCDecoderConfigurationRecord (ISO/IEC 14496-15 §8.3.3.1) for samples with 4-byte NAL lengths; profile, tier,
 * level, chroma format and bit depths from `info`, the first SPS parsed (callers read it for the codec string and the
 * picture size too, so it is parsed once). Arrays are complete (`hvc1`: every parameter set is here).
 * min_spatial_segmentation_idc, parallelismType and avgFrameRate are written as 0 (unknown), which the format allows.
 */
export function hevcDecoderConfigurationRecord(sets: HevcParameterSets, info: HevcSpsInfo): Uint8Array {
  if (sets.vps.length === 0 || sets.sps.length === 0 || sets.pps.length === 0) {
    throw new CodecConfigError(`needs a VPS, an SPS and a PPS, has ${sets.vps.length}, ${sets.sps.length} and ${sets.pps.length}`);
  }
  const ptl = info.profileTierLevel;
  const arrays: [number, readonly Uint8Array[]][] = [
    [HEVC_NAL_VPS, sets.vps],
    [HEVC_NAL_SPS, sets.sps],
    [HEVC_NAL_PPS, sets.pps],
  ];
  let length = 23;
  for (const [, nals] of arrays) for (const nal of nals) length += 2 + nal.byteLength;
  length += arrays.length * 3;
  const out = new Uint8Array(length);
  const view = new DataView(out.buffer);
  out[0] = 1; // configurationVersion
  out[1] = (ptl.profileSpace << 6) | (ptl.tierFlag << 5) | ptl.profileIdc;
  view.setUint32(2, ptl.compatibilityFlags >>> 0);
  out.set(ptl.constraintFlags, 6);
  out[12] = ptl.levelIdc;
  view.setUint16(13, 0xf000); // reserved 1111, min_spatial_segmentation_idc 0
  out[15] = 0xfc; // reserved 111111, parallelismType 0
  out[16] = 0xfc | info.chromaFormatIdc;
  out[17] = 0xf8 | (info.bitDepthLuma - 8);
  out[18] = 0xf8 | (info.bitDepthChroma - 8);
  view.setUint16(19, 0); // avgFrameRate
  // constantFrameRate 0, numTemporalLayers, temporalIdNested, lengthSizeMinusOne 3.
  out[21] = (info.subLayers << 3) | ((info.temporalIdNesting ? 1 : 0) << 2) | 3;
  out[22] = arrays.length;
  let offset = 23;
  for (const [type, nals] of arrays) {
    out[offset] = 0x80 | type; // array_completeness 1
    view.setUint16(offset + 1, nals.length);
    offset += 3;
    for (const nal of nals) {
      if (nal.byteLength > 0xffff) throw new CodecConfigError(`a parameter set of ${nal.byteLength} bytes`);
      view.setUint16(offset, nal.byteLength);
      out.set(nal, offset + 2);
      offset += 2 + nal.byteLength;
    }
  }
  return out;
}

/**
 * The codec string of ISO/IEC 14496-15 Annex E (RFC 6381's `codecs`): `hvc1.` profile space letter (none for 0) and
 * profile_idc, the 32 compatibility flags bit-reversed in hex, `L`/`H` (tier) and level_idc, then the six constraint
 * bytes in hex with trailing zero bytes left out; e.g. `hvc1.1.6.L93.B0` for Main at level 3.1.
 */
export function hevcCodecString(sampleEntry: 'hvc1' | 'hev1', ptl: HevcProfileTierLevel): string {
  let reversed = 0;
  for (let i = 0; i < 32; i++) if ((ptl.compatibilityFlags >>> i) & 1) reversed |= 1 << (31 - i);
  const constraints = [...ptl.constraintFlags];
  while (constraints.length > 0 && constraints[constraints.length - 1] === 0) constraints.pop();
  const space = ['', 'A', 'B', 'C'][ptl.profileSpace] ?? '';
  return [
    sampleEntry,
    `${space}${ptl.profileIdc}`,
    (reversed >>> 0).toString(16).toUpperCase(),
    `${ptl.tierFlag ? 'H' : 'L'}${ptl.levelIdc}`,
    ...constraints.map((byte) => byte.toString(16).toUpperCase()),
  ].join('.');
}
