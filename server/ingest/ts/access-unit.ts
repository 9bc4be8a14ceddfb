// One H.264 or H.265 access unit of a PES packet (Annex B) → an MP4 sample (length-prefixed NAL units), its keyframe flag, and the decoder configuration (avcC, hvcC) from its parameter sets.
import { sameBytes } from '../../../shared/bytes.ts';
import { lengthPrefixed, splitAnnexB } from '../../../shared/codecs/annex-b.ts';
import {
  HEVC_NAL_AUD,
  HEVC_NAL_FILLER,
  HEVC_NAL_PPS,
  HEVC_NAL_SPS,
  HEVC_NAL_VPS,
  hevcCodecString,
  hevcDecoderConfigurationRecord,
  hevcNalType,
  isHevcIrap,
  parseHevcSps,
} from '../../../shared/codecs/hevc.ts';
import { CodecConfigError } from '../../../shared/codecs/errors.ts';
import {
  AVC_NAL_AUD,
  AVC_NAL_FILLER,
  AVC_NAL_IDR,
  AVC_NAL_PPS,
  AVC_NAL_SPS,
  avcCFromParameterSets,
  avcCodecString,
  avcNalType,
  avcPictureSize,
} from '../../../shared/codecs/h264.ts';
import { TsDemuxError } from './errors.ts';


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

function pushUnique(list: Uint8Array[], nal: Uint8Array): void {
  if (!list.some((known) => sameBytes(known, nal))) list.push(nal.slice());
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
      const type = avcNalType(nal[0]!);
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

/** The decoder configuration the parameter sets describe; throws TsDemuxError 'bad-media' when they are incomplete or unreadable. */
export function videoDecoderConfig(codec: VideoCodec, sets: ParameterSets, streamName: string): VideoDecoderConfig {
  try {
    if (codec === 'h264') {
      const sps = sets.sps[0];
      if (!sps) throw new TsDemuxError('bad-media', 'H.264 without an SPS', streamName);
      return { codec: avcCodecString(sps), description: avcCFromParameterSets(sets.sps, sets.pps), ...avcPictureSize(sps) };
    }
    const sps = sets.sps[0];
    if (!sps) throw new TsDemuxError('bad-media', 'H.265 without an SPS', streamName);
    const info = parseHevcSps(sps);
    return { codec: hevcCodecString('hvc1', info.profileTierLevel), description: hevcDecoderConfigurationRecord(sets, info), width: info.width, height: info.height };
  } catch (err) {
    if (err instanceof CodecConfigError) {
      throw new TsDemuxError('bad-media', `${codec === 'h264' ? 'H.264' : 'H.265'} parameter sets: ${err.message}`, streamName);
    }
    throw err;
  }
}
