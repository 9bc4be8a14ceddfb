// H.264 over RTP (RFC 6184, packetization-mode 1): single NAL units, STAP-A and FU-A → access units of NAL units.
import { concatBytes } from '../../../shared/bytes.ts';
import { lengthPrefixed } from '../../../shared/codecs/annex-b.ts';
import { AVC_NAL_IDR, avcNalType } from '../../../shared/codecs/h264.ts';
import { MAX_MESSAGE_BYTES } from '../../../shared/protocol/index.ts';
import { RtpFormatError } from './errors.ts';
import type { RtpPacket } from './rtp-packet.ts';

/** H.264's RTP clock (RFC 6184 §8.2.1): 90 kHz. */
export const H264_CLOCK_RATE = 90_000;

export interface AccessUnit {
  /** The RTP timestamp (90 kHz) its packets carry. */
  timestamp: number;
  nalUnits: Uint8Array[];
  /** It holds an IDR slice. */
  keyframe: boolean;
}

const NAL_STAP_A = 24;
const NAL_FU_A = 28;
/** Largest access unit, bytes: the wire protocol's largest message. */
const MAX_ACCESS_UNIT_BYTES = MAX_MESSAGE_BYTES;

/**
 * Access units end at the marker bit, or when a packet with another timestamp starts the next one (a lost marker).
 * After a loss (`lost()`), what was being assembled is dropped, and so is every access unit until one with an IDR
 * slice: frames that refer to a lost one cannot be decoded. `waitingForKeyframe` says when the sender should be asked.
 */
export class H264Depacketizer {
  #nalUnits: Uint8Array[] = [];
  #bytes = 0;
  #timestamp: number | undefined;
  /** The FU-A being reassembled: its fragments, or undefined between fragmented units. */
  #fragments: Uint8Array[] | undefined;
  #waitingForKeyframe = true;

  get waitingForKeyframe(): boolean {
    return this.#waitingForKeyframe;
  }

  /** Packets were lost: the access unit in progress and those after it until the next keyframe are dropped. */
  lost(): void {
    this.#reset();
    this.#waitingForKeyframe = true;
  }

  /** Takes the next packet in sequence; returns the access units it completes (at most two). */
  push(packet: RtpPacket): AccessUnit[] {
    const done: AccessUnit[] = [];
    if (this.#timestamp !== undefined && packet.timestamp !== this.#timestamp) {
      const unit = this.#finish();
      if (unit) done.push(unit);
    }
    this.#timestamp = packet.timestamp;
    this.#payload(packet.payload);
    if (packet.marker) {
      const unit = this.#finish();
      if (unit) done.push(unit);
    }
    return done;
  }

  #payload(payload: Uint8Array): void {
    if (payload.byteLength < 1) throw new RtpFormatError('bad-payload', 'an empty H.264 RTP payload');
    const type = payload[0]! & 0x1f;
    if (type >= 1 && type <= 23) {
      this.#fragments = undefined;
      this.#add(payload);
    } else if (type === NAL_STAP_A) {
      this.#fragments = undefined;
      let offset = 1;
      while (offset + 2 <= payload.byteLength) {
        const size = (payload[offset]! << 8) | payload[offset + 1]!;
        offset += 2;
        if (size === 0 || offset + size > payload.byteLength) throw new RtpFormatError('bad-payload', 'a STAP-A unit runs past its packet');
        this.#add(payload.subarray(offset, offset + size));
        offset += size;
      }
    } else if (type === NAL_FU_A) {
      this.#fragment(payload);
    } else {
      throw new RtpFormatError('bad-payload', `H.264 RTP payload type ${type} (packetization-mode 1 allows 1-23, STAP-A and FU-A)`);
    }
  }

  #fragment(payload: Uint8Array): void {
    if (payload.byteLength < 3) throw new RtpFormatError('bad-payload', 'an FU-A packet without payload');
    const header = payload[1]!;
    const start = (header & 0x80) !== 0;
    const end = (header & 0x40) !== 0;
    if (start) {
      // The NAL header: F and NRI from the FU indicator, the type from the FU header.
      this.#fragments = [Uint8Array.of((payload[0]! & 0xe0) | (header & 0x1f))];
    } else if (!this.#fragments) {
      // A middle or end whose start was lost: nothing to attach it to.
      return;
    }
    this.#fragments.push(payload.subarray(2));
    this.#count(payload.byteLength - 2);
    if (end) {
      const nal = concatBytes(this.#fragments);
      this.#fragments = undefined;
      this.#nalUnits.push(nal);
    }
  }

  #add(nal: Uint8Array): void {
    this.#count(nal.byteLength);
    this.#nalUnits.push(nal);
  }

  #count(bytes: number): void {
    this.#bytes += bytes;
    if (this.#bytes > MAX_ACCESS_UNIT_BYTES) throw new RtpFormatError('bad-payload', `an H.264 access unit over ${MAX_ACCESS_UNIT_BYTES} bytes`);
  }

  #finish(): AccessUnit | undefined {
    const timestamp = this.#timestamp!;
    // A fragmented unit cut off by the next timestamp or the marker is incomplete: the frame is lost.
    const incomplete = this.#fragments !== undefined;
    const nalUnits = this.#nalUnits;
    this.#reset();
    if (incomplete) {
      this.#waitingForKeyframe = true;
      return undefined;
    }
    if (nalUnits.length === 0) return undefined;
    const keyframe = nalUnits.some((nal) => avcNalType(nal[0]!) === AVC_NAL_IDR);
    if (this.#waitingForKeyframe && !keyframe) return undefined;
    this.#waitingForKeyframe = false;
    return { timestamp, nalUnits, keyframe };
  }

  #reset(): void {
    this.#nalUnits = [];
    this.#bytes = 0;
    this.#timestamp = undefined;
    this.#fragments = undefined;
  }
}

/** The access unit as an AVC sample (ISO 14496-15): every NAL unit behind a 4-byte big-endian length. */
export function avcSample(unit: AccessUnit): Uint8Array {
  return lengthPrefixed(unit.nalUnits);
}
