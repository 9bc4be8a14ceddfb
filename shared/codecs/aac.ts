// AAC's AudioSpecificConfig (ISO 14496-3 1.6.2.1): the sample rate and channels the packager's `esds` and tracks need.
import { CodecConfigError } from './errors.ts';

const AAC_SAMPLE_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];
const AAC_LC = 2;

/** Sample rate and channel count of an AAC-LC AudioSpecificConfig (ISO 14496-3 1.6.2.1); other object types are refused. */
export function aacConfig(asc: Uint8Array): { sampleRate: number; channels: number } {
  if (asc.byteLength < 2) throw new CodecConfigError(`AudioSpecificConfig of ${asc.byteLength} bytes`);
  const objectType = asc[0]! >> 3;
  if (objectType !== AAC_LC) throw new CodecConfigError(`AAC object type ${objectType} (only AAC-LC, 2)`);
  const index = ((asc[0]! & 0x07) << 1) | (asc[1]! >> 7);
  let sampleRate: number | undefined;
  let channels: number;
  if (index === 15) {
    if (asc.byteLength < 5) throw new CodecConfigError('AudioSpecificConfig with an explicit rate ends early');
    sampleRate = ((asc[1]! & 0x7f) << 17) | (asc[2]! << 9) | (asc[3]! << 1) | (asc[4]! >> 7);
    channels = (asc[4]! >> 3) & 0x0f;
  } else {
    sampleRate = AAC_SAMPLE_RATES[index];
    channels = (asc[1]! >> 3) & 0x0f;
  }
  if (!sampleRate) throw new CodecConfigError(`AAC sampling frequency index ${index}`);
  if (channels < 1 || channels > 7) throw new CodecConfigError(`AAC channel configuration ${channels}`);
  // Channel configuration 7 is 7.1: eight channels.
  return { sampleRate, channels: channels === 7 ? 8 : channels };
}
