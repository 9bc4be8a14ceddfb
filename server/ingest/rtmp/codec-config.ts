// What the packager needs from the decoder configurations an encoder sends: H.264 picture size (SPS) and AAC rate and channels (AudioSpecificConfig).
import { RtmpProtocolError } from './errors.ts';

/** Reads bits MSB first from an SPS with its emulation-prevention bytes removed. */
class BitReader {
  #bytes: Uint8Array;
  #bit = 0;
  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }
  bit(): number {
    const byte = this.#bytes[this.#bit >> 3];
    if (byte === undefined) throw new RtmpProtocolError('bad-media', 'H.264 SPS ends early');
    const value = (byte >> (7 - (this.#bit & 7))) & 1;
    this.#bit++;
    return value;
  }
  bits(count: number): number {
    let value = 0;
    for (let i = 0; i < count; i++) value = value * 2 + this.bit();
    return value;
  }
  /** Exp-Golomb unsigned. */
  ue(): number {
    let zeros = 0;
    while (this.bit() === 0) {
      if (++zeros > 31) throw new RtmpProtocolError('bad-media', 'H.264 SPS has an Exp-Golomb code longer than 32 bits');
    }
    return this.bits(zeros) + 2 ** zeros - 1;
  }
  se(): number {
    const k = this.ue();
    return k % 2 === 1 ? (k + 1) / 2 : -k / 2;
  }
}

function unescapeRbsp(nal: Uint8Array): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < nal.byteLength; i++) {
    if (i >= 2 && nal[i] === 3 && nal[i - 1] === 0 && nal[i - 2] === 0) continue;
    out.push(nal[i]!);
  }
  return Uint8Array.from(out);
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
  const reader = new BitReader(unescapeRbsp(sps.subarray(1)));
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
    if (cycle > 255) throw new RtmpProtocolError('bad-media', 'H.264 SPS: picture order count cycle over 255');
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
    throw new RtmpProtocolError('bad-media', `H.264 SPS declares a ${width}×${height} picture`);
  }
  return { width, height };
}

const AAC_SAMPLE_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];
const AAC_LC = 2;

/** Sample rate and channel count of an AAC-LC AudioSpecificConfig (ISO 14496-3 1.6.2.1); other object types are refused. */
export function aacConfig(asc: Uint8Array): { sampleRate: number; channels: number } {
  if (asc.byteLength < 2) throw new RtmpProtocolError('bad-media', `AudioSpecificConfig of ${asc.byteLength} bytes`);
  const objectType = asc[0]! >> 3;
  if (objectType !== AAC_LC) throw new RtmpProtocolError('bad-media', `AAC object type ${objectType} (only AAC-LC, 2)`);
  const index = ((asc[0]! & 0x07) << 1) | (asc[1]! >> 7);
  let sampleRate: number | undefined;
  let channels: number;
  if (index === 15) {
    if (asc.byteLength < 5) throw new RtmpProtocolError('bad-media', 'AudioSpecificConfig with an explicit rate ends early');
    sampleRate = ((asc[1]! & 0x7f) << 17) | (asc[2]! << 9) | (asc[3]! << 1) | (asc[4]! >> 7);
    channels = (asc[4]! >> 3) & 0x0f;
  } else {
    sampleRate = AAC_SAMPLE_RATES[index];
    channels = (asc[1]! >> 3) & 0x0f;
  }
  if (!sampleRate) throw new RtmpProtocolError('bad-media', `AAC sampling frequency index ${index}`);
  if (channels < 1 || channels > 7) throw new RtmpProtocolError('bad-media', `AAC channel configuration ${channels}`);
  // Channel configuration 7 is 7.1: eight channels.
  return { sampleRate, channels: channels === 7 ? 8 : channels };
}
