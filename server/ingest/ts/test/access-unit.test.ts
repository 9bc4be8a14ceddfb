// The video decoder configuration from an MPEG-TS keyframe's parameter sets: incomplete or unreadable sets are the publisher's bad media.
import { describe, expect, it } from 'vitest';
import { videoDecoderConfig } from '../access-unit.ts';
import { TsDemuxError } from '../errors.ts';

describe('videoDecoderConfig', () => {
  it('refuses H.265 parameter sets without an SPS, or with an SPS that is not one, as bad media', () => {
    const vps = Uint8Array.of(0x40, 0x01, 0x0c);
    const pps = Uint8Array.of(0x44, 0x01, 0xc1);
    expect(() => videoDecoderConfig('h265', { vps: [vps], sps: [], pps: [pps] }, 'cam')).toThrow(TsDemuxError);
    expect(() => videoDecoderConfig('h265', { vps: [vps], sps: [], pps: [pps] }, 'cam')).toThrow(/H\.265 without an SPS/);
    // A VPS where the SPS should be: the SPS reader says so, and it reaches the publisher as a TS error.
    expect(() => videoDecoderConfig('h265', { vps: [vps], sps: [vps], pps: [pps] }, 'cam')).toThrow(/H\.265 parameter sets: not an SPS/);
  });
});
