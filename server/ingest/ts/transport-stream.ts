// MPEG-TS (ISO/IEC 13818-1) packets → PAT → PMT → the PES packets of one program's video (H.264, H.265) and AAC (ADTS) streams, with 33-bit timestamps unwrapped.
import { concatBytes } from '../../../shared/bytes.ts';
import { TsDemuxError } from './errors.ts';
import { TS_MAX_PES_BYTES, TS_MAX_SECTION_BYTES, TS_PACKET_BYTES } from './limits.ts';

const SYNC_BYTE = 0x47;
const PAT_PID = 0x0000;
const NULL_PID = 0x1fff;
const TABLE_PAT = 0x00;
const TABLE_PMT = 0x02;
/** Stream types of a PMT (H.222.0 Table 2-34) this ingest carries. */
const STREAM_TYPE_AAC_ADTS = 0x0f;
const STREAM_TYPE_H264 = 0x1b;
const STREAM_TYPE_H265 = 0x24;
/** 2^33: PTS and DTS are 33-bit counters of a 90 kHz clock, wrapping about every 26.5 hours. */
const TIMESTAMP_WRAP = 2 ** 33;

export type ElementaryCodec = 'h264' | 'h265' | 'aac';

/** One PES packet of a followed stream: an access unit (video) or a run of ADTS frames (audio). */
export interface PesPacket {
  codec: ElementaryCodec;
  /** 90 kHz ticks, unwrapped: they keep counting past 2^33. */
  pts: number;
  dts: number;
  data: Uint8Array;
}

interface PesAssembly {
  codec: ElementaryCodec;
  /** PES_packet_length + 6 when the packet says its length (audio), else 0 (video: ends at the next start). */
  expectedBytes: number;
  parts: Uint8Array[];
  bytes: number;
  /** Continuity counter of the last packet; a gap drops the PES being assembled. */
  continuity: number;
  /** False after a lost packet until the next PES starts. */
  intact: boolean;
}

interface SectionAssembly {
  parts: Uint8Array[];
  bytes: number;
}

/** MPEG-2's CRC-32 (polynomial 0x04c11db7, not reflected), which ends every PSI section. */
const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n << 24;
  for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ byte) & 0xff]!) >>> 0;
  return crc;
}

/** A PTS or DTS field: 33 bits spread over 5 bytes between marker bits. */
function readTimestamp(b: Uint8Array, at: number): number {
  return ((b[at]! >> 1) & 0x07) * 2 ** 30 + (b[at + 1]! << 22) + ((b[at + 2]! >> 1) << 15) + (b[at + 3]! << 7) + (b[at + 4]! >> 1);
}

/**
 * Follows the first program of the PAT, and in its PMT the first H.264/H.265 stream and the first AAC (ADTS) stream;
 * other programs and streams are skipped. Bytes arrive in pieces of any size; a packet split across pushes is kept
 * until it is whole. Packets lost on the way (a continuity-counter gap) drop the PES they belong to.
 * `push` keeps views of its bytes until the PES packet they belong to is complete: do not reuse the buffer.
 */
export class TransportStreamReader {
  #streamName: string;
  #partial = new Uint8Array(TS_PACKET_BYTES);
  #partialBytes = 0;
  #pmtPid: number | undefined;
  #sections = new Map<number, SectionAssembly>();
  /** The followed streams by PID, known once the PMT has been read. */
  #streams: Map<number, ElementaryCodec> | undefined;
  #pes = new Map<number, PesAssembly>();
  #lastTimestamp: number | undefined;
  #out: PesPacket[] = [];

  constructor(streamName = '') {
    this.#streamName = streamName;
  }

  /** The codecs the program carries, once its PMT has been read. */
  get codecs(): ElementaryCodec[] | undefined {
    return this.#streams && [...this.#streams.values()];
  }

  /** Reads `bytes`; returns the PES packets completed by them, in stream order. */
  push(bytes: Uint8Array): PesPacket[] {
    let offset = 0;
    if (this.#partialBytes > 0) {
      const take = Math.min(TS_PACKET_BYTES - this.#partialBytes, bytes.byteLength);
      this.#partial.set(bytes.subarray(0, take), this.#partialBytes);
      this.#partialBytes += take;
      offset = take;
      if (this.#partialBytes < TS_PACKET_BYTES) return [];
      // The packet's views must outlive the next push, which overwrites #partial.
      this.#packet(this.#partial.slice());
      this.#partialBytes = 0;
    }
    for (; offset + TS_PACKET_BYTES <= bytes.byteLength; offset += TS_PACKET_BYTES) this.#packet(bytes.subarray(offset, offset + TS_PACKET_BYTES));
    if (offset < bytes.byteLength) {
      if (bytes[offset] !== SYNC_BYTE) throw this.#error('no-sync', `byte ${offset} of a piece is 0x${bytes[offset]!.toString(16)}, not a packet's sync byte`);
      this.#partial.set(bytes.subarray(offset));
      this.#partialBytes = bytes.byteLength - offset;
    }
    return this.#drain();
  }

  /** The end of the stream: completes the PES packets whose end is only known from the next one (video). */
  end(): PesPacket[] {
    for (const pid of this.#pes.keys()) this.#finishPes(pid);
    return this.#drain();
  }

  #drain(): PesPacket[] {
    const out = this.#out;
    this.#out = [];
    return out;
  }

  #packet(packet: Uint8Array): void {
    if (packet[0] !== SYNC_BYTE) throw this.#error('no-sync', `a packet starts with 0x${packet[0]!.toString(16)}, not the sync byte 0x47`);
    // transport_error_indicator: the sender knows the packet is damaged.
    if (packet[1]! & 0x80) return;
    const start = (packet[1]! & 0x40) !== 0;
    const pid = ((packet[1]! & 0x1f) << 8) | packet[2]!;
    const control = (packet[3]! >> 4) & 0x03;
    const continuity = packet[3]! & 0x0f;
    if (pid === NULL_PID || (control & 0x01) === 0) return;
    let payloadStart = 4;
    let discontinuity = false;
    if (control & 0x02) {
      const length = packet[4]!;
      payloadStart = 5 + length;
      if (payloadStart > TS_PACKET_BYTES) throw this.#error('no-sync', `an adaptation field of ${length} bytes runs past its packet`);
      discontinuity = length > 0 && (packet[5]! & 0x80) !== 0;
    }
    const payload = packet.subarray(payloadStart);
    if (pid === PAT_PID || pid === this.#pmtPid) {
      this.#section(pid, start, payload);
      return;
    }
    const codec = this.#streams?.get(pid);
    if (codec) this.#pesPayload(pid, codec, start, continuity, discontinuity, payload);
  }

  #section(pid: number, start: boolean, payload: Uint8Array): void {
    let assembly = this.#sections.get(pid);
    if (start) {
      const pointer = payload[0]!;
      if (1 + pointer > payload.byteLength) throw this.#error('bad-section', `a pointer field of ${pointer} runs past its packet`);
      assembly = { parts: [payload.subarray(1 + pointer)], bytes: payload.byteLength - 1 - pointer };
      this.#sections.set(pid, assembly);
    } else if (assembly) {
      assembly.parts.push(payload);
      assembly.bytes += payload.byteLength;
    } else {
      return;
    }
    if (assembly.bytes < 3) return;
    const head = concatBytes(assembly.parts, assembly.bytes);
    if (head[0] === 0xff) {
      // Stuffing: no section here.
      this.#sections.delete(pid);
      return;
    }
    const total = 3 + (((head[1]! & 0x0f) << 8) | head[2]!);
    if (total > TS_MAX_SECTION_BYTES || total < 12) throw this.#error('bad-section', `a PSI section of ${total} bytes`);
    if (assembly.bytes < total) {
      assembly.parts = [head];
      return;
    }
    this.#sections.delete(pid);
    const section = head.subarray(0, total);
    if (crc32(section) !== 0) throw this.#error('bad-section', `the section of table 0x${section[0]!.toString(16)} on PID ${pid} fails its CRC`);
    // current_next_indicator 0: a table that applies later; the current one is still valid.
    if ((section[5]! & 0x01) === 0) return;
    if (pid === PAT_PID && section[0] === TABLE_PAT) this.#pat(section);
    else if (pid === this.#pmtPid && section[0] === TABLE_PMT) this.#pmt(section);
  }

  #pat(section: Uint8Array): void {
    if (this.#pmtPid !== undefined) return;
    for (let at = 8; at + 4 <= section.byteLength - 4; at += 4) {
      const program = (section[at]! << 8) | section[at + 1]!;
      // Program 0 points to the network information table, not to a program.
      if (program !== 0) {
        this.#pmtPid = ((section[at + 2]! & 0x1f) << 8) | section[at + 3]!;
        return;
      }
    }
  }

  #pmt(section: Uint8Array): void {
    // The first PMT fixes the streams: the packager's tracks are fixed at the first frame.
    if (this.#streams) return;
    const streams = new Map<number, ElementaryCodec>();
    const seen: string[] = [];
    let video = false;
    let audio = false;
    const programInfoLength = ((section[10]! & 0x0f) << 8) | section[11]!;
    const end = section.byteLength - 4;
    for (let at = 12 + programInfoLength; at + 5 <= end; ) {
      const type = section[at]!;
      const pid = ((section[at + 1]! & 0x1f) << 8) | section[at + 2]!;
      at += 5 + (((section[at + 3]! & 0x0f) << 8) | section[at + 4]!);
      seen.push(`0x${type.toString(16)}`);
      if (!video && (type === STREAM_TYPE_H264 || type === STREAM_TYPE_H265)) {
        video = true;
        streams.set(pid, type === STREAM_TYPE_H264 ? 'h264' : 'h265');
      } else if (!audio && type === STREAM_TYPE_AAC_ADTS) {
        audio = true;
        streams.set(pid, 'aac');
      }
    }
    if (!video) throw this.#error('unsupported', `the program has no H.264 (0x1b) or H.265 (0x24) video stream; its stream types: ${seen.join(', ') || 'none'}`);
    this.#streams = streams;
  }

  #pesPayload(pid: number, codec: ElementaryCodec, start: boolean, continuity: number, discontinuity: boolean, payload: Uint8Array): void {
    let pes = this.#pes.get(pid);
    if (pes && !start) {
      // A repeated packet (same counter) is a duplicate the format allows once; a skipped counter is a lost packet.
      if (continuity === pes.continuity) return;
      if (continuity !== ((pes.continuity + 1) & 0x0f) && !discontinuity) pes.intact = false;
      pes.continuity = continuity;
    }
    if (start) {
      if (pes) this.#finishPes(pid);
      if (payload.byteLength < 6 || payload[0] !== 0 || payload[1] !== 0 || payload[2] !== 1) {
        throw this.#error('bad-pes', `a PES packet on PID ${pid} without its 00 00 01 start code`);
      }
      const length = (payload[4]! << 8) | payload[5]!;
      pes = { codec, expectedBytes: length === 0 ? 0 : length + 6, parts: [], bytes: 0, continuity, intact: true };
      this.#pes.set(pid, pes);
    }
    if (!pes) return;
    pes.parts.push(payload);
    pes.bytes += payload.byteLength;
    if (pes.bytes > TS_MAX_PES_BYTES + TS_PACKET_BYTES) {
      throw this.#error('too-large', `a PES packet on PID ${pid} is over ${TS_MAX_PES_BYTES} bytes`);
    }
    if (pes.expectedBytes > 0 && pes.bytes >= pes.expectedBytes) this.#finishPes(pid);
  }

  #finishPes(pid: number): void {
    const pes = this.#pes.get(pid);
    this.#pes.delete(pid);
    if (!pes || !pes.intact) return;
    const bytes = concatBytes(pes.parts, pes.bytes);
    const data = pes.expectedBytes > 0 ? bytes.subarray(0, pes.expectedBytes) : bytes;
    if (data.byteLength < 9 || (data[6]! & 0xc0) !== 0x80) throw this.#error('bad-pes', `a PES packet on PID ${pid} without its optional header`);
    const flags = data[7]! >> 6;
    const headerEnd = 9 + data[8]!;
    if (headerEnd > data.byteLength) throw this.#error('bad-pes', `a PES header of ${data[8]} bytes runs past its packet on PID ${pid}`);
    if ((flags & 0x02) === 0 || headerEnd < 14) throw this.#error('bad-pes', `a PES packet on PID ${pid} without a PTS`);
    const pts = this.#unwrap(readTimestamp(data, 9));
    const dts = flags === 0x03 && headerEnd >= 19 ? this.#unwrap(readTimestamp(data, 14)) : pts;
    this.#out.push({ codec: pes.codec, pts, dts, data: data.subarray(headerEnd) });
  }

  /** The 33-bit value's unwrapped count nearest the last one seen (any stream): a wrap goes on counting up. */
  #unwrap(value: number): number {
    const last = this.#lastTimestamp;
    let unwrapped = value;
    if (last !== undefined) {
      const base = last - (last % TIMESTAMP_WRAP);
      unwrapped = base + value;
      if (unwrapped - last > TIMESTAMP_WRAP / 2) unwrapped -= TIMESTAMP_WRAP;
      else if (last - unwrapped > TIMESTAMP_WRAP / 2) unwrapped += TIMESTAMP_WRAP;
    }
    this.#lastTimestamp = unwrapped;
    return unwrapped;
  }

  #error(code: TsDemuxError['code'], message: string): TsDemuxError {
    return new TsDemuxError(code, message, this.#streamName);
  }
}
