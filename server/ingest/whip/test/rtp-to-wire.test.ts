import { describe, expect, it } from 'vitest';
import type { ChunkMessage, ClockMessage, TrackConfigMessage, WireMessage } from '../../../../shared/protocol/index.ts';
import { segmentGrid } from '../../../../shared/segment-grid.ts';
import type { AccessUnit } from '../../rtp/h264-depacketizer.ts';
import { rtp } from '../../rtp/test/packets.ts';
import { AUDIO_REPORT_WAIT_MS, RtpToWire, WHIP_AUDIO_TRACK_ID, WHIP_VIDEO_TRACK_ID } from '../rtp-to-wire.ts';

// libx264's 640×480 Constrained Baseline SPS and PPS (ffmpeg -profile:v baseline).
const SPS = Buffer.from('6742c01ed900a03db0110000030001000003003c0f162e48', 'hex');
const PPS = Buffer.from('68cb83cb20', 'hex');
const IDR = Uint8Array.of(0x65, 0x88, 0x84);
const SLICE = Uint8Array.of(0x41, 0x9a, 0x02);
const WALL_MS = Date.UTC(2026, 10, 30, 12, 0, 0);
/** Random RTP bases, as a sender picks them (the video one wraps within the test). */
const VIDEO_BASE = 0xffff_e000;
const AUDIO_BASE = 123_456;

function unit(timestamp: number, keyframe: boolean): AccessUnit {
  return { timestamp: timestamp >>> 0, keyframe, nalUnits: keyframe ? [SPS, PPS, IDR] : [SLICE] };
}

/** Video frame `n` at 30 fps captured at WALL_MS + n × 33.3 ms, as its RTP timestamp says. */
const videoRtp = (frame: number): number => (VIDEO_BASE + frame * 3000) >>> 0;

function setup(now: { ms: number }, withAudio = true): RtpToWire {
  const toWire = new RtpToWire({ grid: segmentGrid(2_000_000, 200_000), withAudio, now: () => now.ms });
  // Both reports describe the same instant, WALL_MS, on each track's own RTP clock.
  toWire.senderReport('video', { ssrc: 1, wallClockMs: WALL_MS, rtpTimestamp: VIDEO_BASE });
  if (withAudio) toWire.senderReport('audio', { ssrc: 2, wallClockMs: WALL_MS, rtpTimestamp: AUDIO_BASE });
  return toWire;
}

const chunks = (messages: WireMessage[]): ChunkMessage[] => messages.filter((m): m is ChunkMessage => m.type === 'chunk');

describe('RtpToWire', () => {
  it('waits for the sender reports, asks for a keyframe, then starts: tracks, clock at the capture time, the keyframe at 0', () => {
    const now = { ms: 0 };
    const toWire = new RtpToWire({ grid: segmentGrid(2_000_000, 200_000), withAudio: true, now: () => now.ms });
    expect(toWire.video(unit(videoRtp(0), true))).toEqual([]);
    toWire.senderReport('video', { ssrc: 1, wallClockMs: WALL_MS, rtpTimestamp: VIDEO_BASE });
    expect(toWire.takeKeyframeRequest()).toBe(false);
    toWire.senderReport('audio', { ssrc: 2, wallClockMs: WALL_MS, rtpTimestamp: AUDIO_BASE });
    expect(toWire.takeKeyframeRequest()).toBe(true);
    expect(toWire.takeKeyframeRequest()).toBe(false);
    expect(toWire.video(unit(videoRtp(1), false))).toEqual([]);
    const messages = toWire.video(unit(videoRtp(3), true));
    const [video, audio, clock, chunk] = messages as [TrackConfigMessage, TrackConfigMessage, ClockMessage, ChunkMessage];
    expect(video).toMatchObject({ type: 'track', kind: 'video', trackId: WHIP_VIDEO_TRACK_ID, codec: 'avc1.42c01e', width: 640, height: 480, rendition: '480p' });
    expect([...video.description!.subarray(0, 6)]).toEqual([1, 0x42, 0xc0, 0x1e, 0xff, 0xe1]);
    expect(audio).toMatchObject({ type: 'track', kind: 'audio', trackId: WHIP_AUDIO_TRACK_ID, codec: 'opus', sampleRate: 48_000, channels: 2 });
    // Frame 3 was captured 100 ms after the report's instant, by the sender's clock.
    expect(clock).toEqual({ type: 'clock', timestampUs: 0, wallClockMs: WALL_MS + 100, gridOriginUs: 0, encoderGop: true });
    expect(chunk).toMatchObject({ type: 'chunk', trackId: WHIP_VIDEO_TRACK_ID, keyframe: true, timestampUs: 0 });
    // The AVC sample: SPS, PPS and IDR, each behind its length.
    expect(chunk.data.byteLength).toBe(12 + SPS.byteLength + PPS.byteLength + IDR.byteLength);
  });

  it('puts audio and video on one timeline through the sender reports (A/V sync), across an RTP timestamp wrap', () => {
    const toWire = setup({ ms: 0 });
    toWire.video(unit(videoRtp(0), true));
    // Audio captured 500 ms after the first frame: 24,000 ticks at 48 kHz; video frame 15 (500 ms) wraps the 32-bit clock.
    const [audio] = chunks(toWire.audio(rtp(1, AUDIO_BASE + 24_000, Uint8Array.of(0x78, 0))));
    expect(audio).toMatchObject({ trackId: WHIP_AUDIO_TRACK_ID, keyframe: true, timestampUs: 500_000, durationUs: 20_000 });
    expect(videoRtp(15)).toBeLessThan(VIDEO_BASE);
    const [frame] = chunks(toWire.video(unit(videoRtp(15), false)));
    expect(frame!.timestampUs).toBe(500_000);
    // Audio from before the stream's first keyframe has no place in it.
    expect(toWire.audio(rtp(2, AUDIO_BASE - 960, Uint8Array.of(0x78, 0)))).toEqual([]);
  });

  it('asks for a keyframe once per segment boundary, at the first frame near it, even when frames skip the lead window', () => {
    const toWire = setup({ ms: 0 });
    toWire.video(unit(videoRtp(0), true));
    toWire.takeKeyframeRequest();
    const requests: number[] = [];
    // Frames every 100 ms (sparse): boundaries at 0.4 s (the short first segment), 2 s, 4 s.
    for (let frame = 3; frame <= 150; frame += 3) {
      toWire.video(unit(videoRtp(frame), false));
      if (toWire.takeKeyframeRequest()) requests.push(Math.round((frame * 1000) / 30));
    }
    expect(requests).toEqual([400, 2000, 4000]);
  });

  it('starts without audio when the audio sender report does not come within AUDIO_REPORT_WAIT_MS', () => {
    const now = { ms: 0 };
    const toWire = new RtpToWire({ grid: segmentGrid(2_000_000, 200_000), withAudio: true, now: () => now.ms });
    toWire.senderReport('video', { ssrc: 1, wallClockMs: WALL_MS, rtpTimestamp: VIDEO_BASE });
    expect(toWire.video(unit(videoRtp(0), true))).toEqual([]);
    now.ms = AUDIO_REPORT_WAIT_MS;
    const messages = toWire.video(unit(videoRtp(1), true));
    expect(messages.filter((m) => m.type === 'track').map((m) => (m as TrackConfigMessage).kind)).toEqual(['video']);
    expect(toWire.audio(rtp(1, AUDIO_BASE, Uint8Array.of(0x78)))).toEqual([]);
  });

  it('warns when the sender changes its picture size and keeps the stream going (the new SPS is in-band)', () => {
    const warnings: string[] = [];
    const toWire = new RtpToWire({ grid: segmentGrid(2_000_000), withAudio: false, onWarning: (event, detail) => warnings.push(`${event} ${detail}`) });
    toWire.senderReport('video', { ssrc: 1, wallClockMs: WALL_MS, rtpTimestamp: VIDEO_BASE });
    toWire.video(unit(videoRtp(0), true));
    // The same SPS with pic_width_in_mbs_minus1 changed (39 → 19): 320 wide.
    const smaller = Buffer.from('6742c01ed90140f3610000030001000003003c0f162e48', 'hex');
    const frame = chunks(toWire.video({ timestamp: videoRtp(60), keyframe: true, nalUnits: [smaller, PPS, IDR] }));
    expect(frame).toHaveLength(1);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^whip\.picture-size-changed 640x480 → \d+x\d+$/);
  });
});
