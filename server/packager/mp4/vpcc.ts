// VP9 in ISO BMFF (VP Codec ISO Media File Format Binding v1.0): the `vp09` codec string read into a `vpcC` record.
import { concat, u16, u8, type Bytes } from './writer.ts';

export interface VpCodecConfig {
  profile: number;
  level: number;
  bitDepth: number;
  chromaSubsampling: number;
  colourPrimaries: number;
  transferCharacteristics: number;
  matrixCoefficients: number;
  videoFullRange: boolean;
}

export class VpCodecStringError extends Error {
  override name = 'VpCodecStringError';
}

// The binding's levels (§ "Levels"), times ten: 1, 1.1, 2, 2.1, … 6.2.
const VP9_LEVELS = new Set([10, 11, 20, 21, 30, 31, 40, 41, 50, 51, 52, 60, 61, 62]);
// Optional fields and their defaults when the string stops after the bit depth: 4:2:0 colocated, BT.709, limited range.
const DEFAULT_TAIL = [1, 1, 1, 1, 0];

/** Reads `vp09.PP.LL.DD[.CC.cp.tc.mc.FF]`; throws VpCodecStringError on anything else. */
export function parseVp09CodecString(codec: string): VpCodecConfig {
  const fields = codec.split('.');
  if (fields[0] !== 'vp09' || (fields.length !== 4 && fields.length !== 9) || !fields.slice(1).every((f) => /^\d\d$/.test(f))) {
    throw new VpCodecStringError(`"${codec}" is not vp09.PP.LL.DD[.CC.cp.tc.mc.FF]`);
  }
  const [profile, level, bitDepth, chromaSubsampling, colourPrimaries, transferCharacteristics, matrixCoefficients, fullRange] = [
    ...fields.slice(1).map(Number),
    ...DEFAULT_TAIL.slice(fields.length - 4),
  ] as [number, number, number, number, number, number, number, number];
  if (profile > 3) throw new VpCodecStringError(`"${codec}": profile ${profile} is not 0 to 3`);
  if (!VP9_LEVELS.has(level)) throw new VpCodecStringError(`"${codec}": level ${level} is not a VP9 level`);
  if (![8, 10, 12].includes(bitDepth)) throw new VpCodecStringError(`"${codec}": bit depth ${bitDepth} is not 8, 10 or 12`);
  if (chromaSubsampling > 3) throw new VpCodecStringError(`"${codec}": chroma subsampling ${chromaSubsampling} is not 0 to 3`);
  if (fullRange > 1) throw new VpCodecStringError(`"${codec}": full-range flag ${fullRange} is not 0 or 1`);
  return { profile, level, bitDepth, chromaSubsampling, colourPrimaries, transferCharacteristics, matrixCoefficients, videoFullRange: fullRange === 1 };
}

/** The `vpcC` payload after its FullBox header (version 1): VP9 carries no codec initialization data. */
export function vpcCPayload(config: VpCodecConfig): Bytes {
  return concat([
    u8(config.profile),
    u8(config.level),
    u8((config.bitDepth << 4) | (config.chromaSubsampling << 1) | (config.videoFullRange ? 1 : 0)),
    u8(config.colourPrimaries),
    u8(config.transferCharacteristics),
    u8(config.matrixCoefficients),
    u16(0),
  ]);
}
