// FLV audio and video tag bodies (RTMP message types 8 and 9): AVC/H.264 and AAC, sequence headers and frames.
import { RtmpProtocolError } from './errors.ts';

const CODEC_AVC = 7;
const SOUND_FORMAT_AAC = 10;
const FRAME_KEY = 1;
const FRAME_COMMAND = 5;
/** The top bit of an Enhanced RTMP video tag's first byte ("IsExHeader"): HEVC, AV1, VP9 by FourCC. */
const ENHANCED_VIDEO = 0x80;

export type VideoTag =
  | { kind: 'avc-config'; avcC: Uint8Array }
  | { kind: 'avc-frame'; keyframe: boolean; /** Presentation minus decode time, ms (signed). */ compositionMs: number; data: Uint8Array }
  /** End of sequence, a video info/command frame: nothing to package. */
  | { kind: 'ignored' };

export type AudioTag = { kind: 'aac-config'; audioSpecificConfig: Uint8Array } | { kind: 'aac-frame'; data: Uint8Array };

/** Reads a video tag body. Throws RtmpProtocolError for codecs other than H.264 and for truncated tags. */
export function parseVideoTag(body: Uint8Array): VideoTag {
  if (body.byteLength < 1) throw new RtmpProtocolError('bad-media', 'empty video message');
  const first = body[0]!;
  if (first & ENHANCED_VIDEO) throw new RtmpProtocolError('bad-media', 'Enhanced RTMP video (HEVC, AV1, VP9) is not supported: send H.264');
  const frameType = first >> 4;
  const codecId = first & 0x0f;
  if (frameType === FRAME_COMMAND) return { kind: 'ignored' };
  if (codecId !== CODEC_AVC) throw new RtmpProtocolError('bad-media', `video codec id ${codecId} is not H.264 (7)`);
  if (body.byteLength < 5) throw new RtmpProtocolError('bad-media', `AVC video tag of ${body.byteLength} bytes`);
  const packetType = body[1]!;
  // Composition time: signed 24 bits.
  const compositionMs = ((body[2]! << 24) | (body[3]! << 16) | (body[4]! << 8)) >> 8;
  const data = body.subarray(5);
  if (packetType === 0) return { kind: 'avc-config', avcC: data };
  if (packetType === 1) {
    if (data.byteLength === 0) return { kind: 'ignored' };
    return { kind: 'avc-frame', keyframe: frameType === FRAME_KEY, compositionMs, data };
  }
  if (packetType === 2) return { kind: 'ignored' };
  throw new RtmpProtocolError('bad-media', `AVC packet type ${packetType}`);
}

/** Reads an audio tag body. Throws RtmpProtocolError for formats other than AAC. */
export function parseAudioTag(body: Uint8Array): AudioTag {
  if (body.byteLength < 2) throw new RtmpProtocolError('bad-media', `audio message of ${body.byteLength} bytes`);
  const format = body[0]! >> 4;
  if (format !== SOUND_FORMAT_AAC) throw new RtmpProtocolError('bad-media', `sound format ${format} is not AAC (10)`);
  const data = body.subarray(2);
  return body[1] === 0 ? { kind: 'aac-config', audioSpecificConfig: data } : { kind: 'aac-frame', data };
}
