import { describe, expect, it } from 'vitest';
import { avcSample, H264Depacketizer } from '../h264-depacketizer.ts';
import { RtpFormatError } from '../errors.ts';
import { nal, rtp } from './packets.ts';

function stapA(...units: Uint8Array[]): Uint8Array {
  const parts = units.flatMap((u) => [Uint8Array.of(u.byteLength >> 8, u.byteLength & 0xff), u]);
  return Uint8Array.from([0x78, ...parts.flatMap((p) => [...p])]);
}

/** `unit` split into FU-A payloads of at most `size` bytes of its body. */
function fuA(unit: Uint8Array, size: number): Uint8Array[] {
  const body = unit.subarray(1);
  const out: Uint8Array[] = [];
  for (let offset = 0; offset < body.byteLength; offset += size) {
    const start = offset === 0 ? 0x80 : 0;
    const end = offset + size >= body.byteLength ? 0x40 : 0;
    out.push(Uint8Array.from([(unit[0]! & 0xe0) | 28, start | end | (unit[0]! & 0x1f), ...body.subarray(offset, offset + size)]));
  }
  return out;
}

describe('H264Depacketizer (RFC 6184, packetization-mode 1)', () => {
  const sps = nal(7, 12);
  const pps = nal(8, 4);
  const idr = nal(5, 5000);
  const slice = nal(1, 300);

  it('reassembles STAP-A (SPS, PPS) + an IDR split into FU-A over several packets into one keyframe access unit', () => {
    const depacketizer = new H264Depacketizer();
    const fragments = fuA(idr, 1200);
    expect(fragments).toHaveLength(5);
    const units = [stapA(sps, pps), ...fragments].flatMap((payload, i, all) => depacketizer.push(rtp(i, 9000, payload, { marker: i === all.length - 1 })));
    expect(units).toHaveLength(1);
    expect(units[0]!.keyframe).toBe(true);
    expect(units[0]!.timestamp).toBe(9000);
    expect(units[0]!.nalUnits).toEqual([sps, pps, idr]);
    // As an AVC sample: each unit behind its 4-byte length.
    const sample = avcSample(units[0]!);
    expect(sample.byteLength).toBe(12 + sps.byteLength + pps.byteLength + idr.byteLength);
    expect(new DataView(sample.buffer).getUint32(0)).toBe(sps.byteLength);
  });

  it('takes single NAL unit packets, and ends an access unit on a timestamp change when its marker was lost', () => {
    const depacketizer = new H264Depacketizer();
    expect(depacketizer.push(rtp(1, 0, idr, { marker: true }))).toHaveLength(1);
    expect(depacketizer.push(rtp(2, 3000, slice))).toEqual([]);
    const units = depacketizer.push(rtp(3, 6000, slice, { marker: true }));
    expect(units.map((u) => [u.timestamp, u.keyframe])).toEqual([
      [3000, false],
      [6000, false],
    ]);
  });

  it('drops frames after a loss until the next keyframe, and says it waits for one', () => {
    const depacketizer = new H264Depacketizer();
    expect(depacketizer.waitingForKeyframe).toBe(true);
    // Delta frames before any keyframe cannot be decoded.
    expect(depacketizer.push(rtp(1, 0, slice, { marker: true }))).toEqual([]);
    expect(depacketizer.push(rtp(2, 3000, idr, { marker: true }))).toHaveLength(1);
    expect(depacketizer.waitingForKeyframe).toBe(false);
    const [first, , third] = fuA(slice, 100);
    depacketizer.push(rtp(3, 6000, first!));
    depacketizer.lost();
    expect(depacketizer.waitingForKeyframe).toBe(true);
    // The rest of the fragmented frame, and the next delta frame, are dropped.
    expect(depacketizer.push(rtp(5, 6000, third!, { marker: true }))).toEqual([]);
    expect(depacketizer.push(rtp(6, 9000, slice, { marker: true }))).toEqual([]);
    const [keyframe] = depacketizer.push(rtp(7, 12000, idr, { marker: true }));
    expect(keyframe?.keyframe).toBe(true);
  });

  it('counts an FU-A cut short by the marker as a lost frame', () => {
    const depacketizer = new H264Depacketizer();
    depacketizer.push(rtp(1, 0, idr, { marker: true }));
    const [start] = fuA(slice, 100);
    expect(depacketizer.push(rtp(2, 3000, start!, { marker: true }))).toEqual([]);
    expect(depacketizer.waitingForKeyframe).toBe(true);
  });

  it('refuses payload types packetization-mode 1 does not allow, and STAP-A units that run past the packet', () => {
    expect(() => new H264Depacketizer().push(rtp(1, 0, Uint8Array.of(0x1a, 0, 1, 2)))).toThrow(RtpFormatError);
    expect(() => new H264Depacketizer().push(rtp(1, 0, Uint8Array.of(0x78, 0, 9, 0x65)))).toThrow(/STAP-A/);
  });
});
