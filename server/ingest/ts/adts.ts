// AAC in ADTS (ISO/IEC 13818-7 / 14496-3 1.A.2): frames split off their headers, and the AudioSpecificConfig the headers imply.
import { TsDemuxError } from './errors.ts';

const HEADER_BYTES = 7;
const HEADER_WITH_CRC_BYTES = 9;
/** frame_length is 13 bits. */
const MAX_FRAME_BYTES = 8191;

export interface AdtsFrame {
  /** audioObjectType (profile + 1), sampling_frequency_index and channel_configuration, as an AudioSpecificConfig needs them. */
  objectType: number;
  frequencyIndex: number;
  channelConfiguration: number;
  /** The raw AAC frame, without the ADTS header. */
  data: Uint8Array;
}

/**
 * The whole ADTS frames at the start of `bytes` and what is left after them (a frame that continues in the next PES
 * packet). Throws TsDemuxError 'bad-media' where a frame should start but no ADTS header does.
 */
export function splitAdts(bytes: Uint8Array, streamName: string): { frames: AdtsFrame[]; rest: Uint8Array } {
  const frames: AdtsFrame[] = [];
  let offset = 0;
  while (offset + HEADER_BYTES <= bytes.byteLength) {
    const b = bytes.subarray(offset);
    if (b[0] !== 0xff || (b[1]! & 0xf6) !== 0xf0) {
      throw new TsDemuxError('bad-media', `no ADTS sync word at byte ${offset} of an audio PES packet`, streamName);
    }
    const headerBytes = b[1]! & 0x01 ? HEADER_BYTES : HEADER_WITH_CRC_BYTES;
    const frameBytes = ((b[3]! & 0x03) << 11) | (b[4]! << 3) | (b[5]! >> 5);
    if (frameBytes <= headerBytes || frameBytes > MAX_FRAME_BYTES) throw new TsDemuxError('bad-media', `an ADTS frame of ${frameBytes} bytes`, streamName);
    if ((b[6]! & 0x03) !== 0) throw new TsDemuxError('bad-media', 'an ADTS frame with several raw data blocks (not carried in MP4)', streamName);
    if (offset + frameBytes > bytes.byteLength) break;
    frames.push({
      objectType: (b[2]! >> 6) + 1,
      frequencyIndex: (b[2]! >> 2) & 0x0f,
      channelConfiguration: ((b[2]! & 0x01) << 2) | (b[3]! >> 6),
      data: b.subarray(headerBytes, frameBytes),
    });
    offset += frameBytes;
  }
  return { frames, rest: bytes.subarray(offset) };
}

/** The two-byte AudioSpecificConfig (14496-3 1.6.2.1) of a frame's header. */
export function adtsAudioSpecificConfig(frame: AdtsFrame): Uint8Array {
  return Uint8Array.of((frame.objectType << 3) | (frame.frequencyIndex >> 1), ((frame.frequencyIndex & 1) << 7) | (frame.channelConfiguration << 3));
}
