// One H.264 or H.265 access unit of a PES packet (Annex B) → an MP4 sample (length-prefixed NAL units), its keyframe flag, and the decoder configuration (avcC, hvcC) from its parameter sets.
import { lengthPrefixed, splitAnnexB } from '../../../shared/codecs/annex-b.ts';
import {
  HEVC_NAL_AUD,
  HEVC_NAL_FILLER,
  HEVC_NAL_PPS,
  HEVC_NAL_SPS,
  HEVC_NAL_VPS,
  HevcConfigError,
  hevcCodecString,
  hevcDecoderConfigurationRecord,
  hevcNalType,
  isHevcIrap,
  parseHevcSps,
} from '../../../shared/codecs/hevc.ts';
import { avcPictureSize } from '../rtmp/codec-config.ts';
import { RtmpProtocolError } from '../rtmp/errors.ts';
import { TsDemuxError } from './errors.ts';

const AVC_NAL_IDR = 5;
const AVC_NAL_SPS = 7;
const AVC_NAL_PPS = 8;
const AVC_NAL_AUD = 9;
const AVC_NAL_FILLER = 12;

export type VideoCodec = 'h264' | 'h265';

export interface ParameterSets {
  vps: Uint8Array[];
  sps: Uint8Array[];
  pps: Uint8Array[];
}

export interface VideoAccessUnit {
  /** The NAL units the sample carries, each behind a 4-byte length; parameter sets, delimiters and filler left out. */
  sample: Uint8Array;
  keyframe: boolean;
  /** The parameter sets the access unit repeats in band, if any. */
  parameterSets: ParameterSets | undefined;
}

export interface VideoDecoderConfig {
  /** RFC 6381 codec string. */
  codec: string;
  /** avcC or hvcC. */
  description: Uint8Array;
  width: number;
  height: number;
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}

function pushUnique(list: Uint8Array[], nal: Uint8Array): void {
  if (!list.some((known) => known.byteLength === nal.byteLength && known.every((value, i) => value === nal[i]))) list.push(nal.slice());
}

/**
 * Splits the access unit; parameter sets go to the sample entry only (`avc1`/`hvc1`), so they are taken out of the
 * sample. A keyframe is an H.264 IDR picture or an H.265 IRAP picture (IDR, CRA, BLA): a CRA's leading pictures that
 * reference the previous GOP are skipped by a decoder that starts there.
 */
export function readAccessUnit(codec: VideoCodec, data: Uint8Array): VideoAccessUnit {
  const sets: ParameterSets = { vps: [], sps: [], pps: [] };
  const kept: Uint8Array[] = [];
  let keyframe = false;
  for (const nal of splitAnnexB(data)) {
    if (codec === 'h264') {
      const type = nal[0]! & 0x1f;
      if (type === AVC_NAL_SPS) pushUnique(sets.sps, nal);
      else if (type === AVC_NAL_PPS) pushUnique(sets.pps, nal);
      else if (type !== AVC_NAL_AUD && type !== AVC_NAL_FILLER) {
        keyframe ||= type === AVC_NAL_IDR;
        kept.push(nal);
      }
    } else {
      if (nal.byteLength < 2) continue;
      const type = hevcNalType(nal);
      if (type === HEVC_NAL_VPS) pushUnique(sets.vps, nal);
      else if (type === HEVC_NAL_SPS) pushUnique(sets.sps, nal);
      else if (type === HEVC_NAL_PPS) pushUnique(sets.pps, nal);
      else if (type !== HEVC_NAL_AUD && type !== HEVC_NAL_FILLER) {
        keyframe ||= isHevcIrap(type);
        kept.push(nal);
      }
    }
  }
  const hasSets = sets.vps.length + sets.sps.length + sets.pps.length > 0;
  return { sample: lengthPrefixed(kept), keyframe, parameterSets: hasSets ? sets : undefined };
}

/** The avcC record for 4-byte NAL lengths (ISO/IEC 14496-15 §5.3.3.1) without the optional High-profile extension. */
function avcDecoderConfigurationRecord(sps: readonly Uint8Array[], pps: readonly Uint8Array[]): Uint8Array {
  const first = sps[0]!;
  const parts: Uint8Array[] = [Uint8Array.of(1, first[1]!, first[2]!, first[3]!, 0xff, 0xe0 | sps.length)];
  for (const s of sps) parts.push(Uint8Array.of(s.byteLength >> 8, s.byteLength & 0xff), s);
  parts.push(Uint8Array.of(pps.length));
  for (const p of pps) parts.push(Uint8Array.of(p.byteLength >> 8, p.byteLength & 0xff), p);
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

/** The decoder configuration the parameter sets describe; throws TsDemuxError 'bad-media' when they are incomplete or unreadable. */
export function videoDecoderConfig(codec: VideoCodec, sets: ParameterSets, streamName: string): VideoDecoderConfig {
  try {
    if (codec === 'h264') {
      const sps = sets.sps[0];
      if (!sps || sps.byteLength < 4 || sets.pps.length === 0 || sets.sps.length > 31 || sets.pps.length > 255) {
        throw new TsDemuxError('bad-media', `H.264 parameter sets: ${sets.sps.length} SPS and ${sets.pps.length} PPS`, streamName);
      }
      return {
        codec: `avc1.${hex(sps[1]!)}${hex(sps[2]!)}${hex(sps[3]!)}`,
        description: avcDecoderConfigurationRecord(sets.sps, sets.pps),
        ...avcPictureSize(sps),
      };
    }
    const description = hevcDecoderConfigurationRecord(sets);
    const info = parseHevcSps(sets.sps[0]!);
    return { codec: hevcCodecString('hvc1', info.profileTierLevel), description, width: info.width, height: info.height };
  } catch (err) {
    if (err instanceof HevcConfigError || err instanceof RtmpProtocolError) {
      throw new TsDemuxError('bad-media', `${codec === 'h264' ? 'H.264' : 'H.265'} parameter sets: ${err.message}`, streamName);
    }
    throw err;
  }
}
