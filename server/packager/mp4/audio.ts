// Audio decoder-configuration boxes for the init segment: Opus `dOps`, AAC `esds`, and an AudioSpecificConfig builder.
import { box, concat, fullBox, i16, u16, u32, u8, type Bytes } from './writer.ts';

/** Encoder delay Chromium's and libopus' encoders use at 48 kHz; the default when no OpusHead says otherwise. */
const OPUS_DEFAULT_PRE_SKIP = 312;
const OPUS_HEAD_MAGIC = 'OpusHead';

const AAC_SAMPLE_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];
const AAC_LC_OBJECT_TYPE = 2;

function startsWithOpusHead(description: Bytes): boolean {
  if (description.byteLength < 19) return false;
  for (let i = 0; i < OPUS_HEAD_MAGIC.length; i++) {
    if (description[i] !== OPUS_HEAD_MAGIC.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * The Opus-in-ISOBMFF `dOps` box. An Ogg `OpusHead` (little-endian) is translated field by field to dOps
 * (big-endian); without one the stream is described as a plain mono/stereo stream with the default pre-skip.
 */
export function dOps(description: Bytes | undefined, channels: number, sampleRate: number): Bytes {
  if (description && startsWithOpusHead(description)) {
    const view = new DataView(description.buffer, description.byteOffset, description.byteLength);
    const outputChannels = view.getUint8(9);
    const preSkip = view.getUint16(10, true);
    const inputSampleRate = view.getUint32(12, true);
    const gain = view.getInt16(16, true);
    const mappingFamily = view.getUint8(18);
    // Family 0 has no mapping table; others carry stream count, coupled count and one byte per channel.
    const mapping = mappingFamily === 0 ? new Uint8Array(0) : description.subarray(19, 21 + outputChannels);
    return box('dOps', u8(0), u8(outputChannels), u16(preSkip), u32(inputSampleRate), i16(gain), u8(mappingFamily), mapping);
  }
  return box('dOps', u8(0), u8(channels), u16(OPUS_DEFAULT_PRE_SKIP), u32(sampleRate), i16(0), u8(0));
}

/** A minimal AAC-LC AudioSpecificConfig (ISO 14496-3 1.6.2.1), for publishers that send no description. */
export function aacAudioSpecificConfig(sampleRate: number, channels: number): Bytes {
  const index = AAC_SAMPLE_RATES.indexOf(sampleRate);
  if (index >= 0) {
    // 5 bits object type, 4 bits frequency index, 4 bits channel configuration, 3 bits GASpecificConfig (zero).
    return Uint8Array.of((AAC_LC_OBJECT_TYPE << 3) | (index >> 1), ((index & 1) << 7) | ((channels & 0x0f) << 3));
  }
  // Escape value 15: the sample rate follows as 24 bits.
  const bits = (BigInt(AAC_LC_OBJECT_TYPE) << 35n) | (15n << 31n) | (BigInt(sampleRate) << 7n) | (BigInt(channels & 0x0f) << 3n);
  const out = new Uint8Array(5);
  for (let i = 0; i < 5; i++) out[i] = Number((bits >> BigInt(8 * (4 - i))) & 0xffn);
  return out;
}

/** An MPEG-4 descriptor: tag, size in the 4-byte expandable form (always valid, simplest to write), payload. */
function descriptor(tag: number, ...payload: Bytes[]): Bytes {
  const body = concat(payload);
  const size = body.byteLength;
  return concat([
    Uint8Array.of(tag, 0x80 | ((size >> 21) & 0x7f), 0x80 | ((size >> 14) & 0x7f), 0x80 | ((size >> 7) & 0x7f), size & 0x7f),
    body,
  ]);
}

const ES_DESCRIPTOR_TAG = 0x03;
const DECODER_CONFIG_TAG = 0x04;
const DECODER_SPECIFIC_INFO_TAG = 0x05;
const SL_CONFIG_TAG = 0x06;
const OBJECT_TYPE_AAC = 0x40;
// streamType 5 (audio) << 2 | upStream 0 | reserved 1.
const STREAM_TYPE_AUDIO = 0x15;

/** The `esds` box carrying an AAC AudioSpecificConfig. */
export function esds(audioSpecificConfig: Bytes, bitrate: number): Bytes {
  return fullBox(
    'esds',
    0,
    0,
    descriptor(
      ES_DESCRIPTOR_TAG,
      u16(0),
      u8(0),
      descriptor(
        DECODER_CONFIG_TAG,
        u8(OBJECT_TYPE_AAC),
        u8(STREAM_TYPE_AUDIO),
        Uint8Array.of(0, 0, 0),
        u32(bitrate),
        u32(bitrate),
        descriptor(DECODER_SPECIFIC_INFO_TAG, audioSpecificConfig),
      ),
      descriptor(SL_CONFIG_TAG, u8(0x02)),
    ),
  );
}
