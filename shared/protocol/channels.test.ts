// Channel labels and the writer that routes a publish session's messages onto its control and track channels.
import { describe, expect, it } from 'vitest';
import {
  ChannelWriter,
  MAX_TRACKS,
  MessageReassembler,
  ProtocolError,
  TRACK_FRAME_BYTES,
  channelRole,
  trackChannelLabel,
  type FrameSink,
  type WireMessage,
} from './index.ts';

function sink(maxFrameBytes = 256 * 1024): FrameSink & { frames: Uint8Array[] } {
  const frames: Uint8Array[] = [];
  return { maxFrameBytes, frames, send: (frame) => void frames.push(frame.slice()) };
}

function messagesOf(frames: Uint8Array[]): WireMessage[] {
  const reassembler = new MessageReassembler();
  return frames.map((f) => reassembler.push(f)).filter((m) => m !== null);
}

describe('channel labels', () => {
  it('name the control channel and one channel per track, and refuse anything else', () => {
    expect(channelRole('swarmcast')).toEqual({ kind: 'control' });
    expect(channelRole(trackChannelLabel(0))).toEqual({ kind: 'track', trackId: 0 });
    expect(channelRole(trackChannelLabel(MAX_TRACKS - 1))).toEqual({ kind: 'track', trackId: MAX_TRACKS - 1 });
    for (const label of ['', 'swarmcast/', `swarmcast/${MAX_TRACKS}`, 'swarmcast/01', 'swarmcast/-1', 'other', 'swarmcast/1/2']) {
      expect(() => channelRole(label), label).toThrow(ProtocolError);
    }
    expect(() => trackChannelLabel(MAX_TRACKS)).toThrow(ProtocolError);
  });
});

describe('ChannelWriter', () => {
  it('sends track configs before the clock, chunks on their track channel in small frames, and end on every channel, control last', () => {
    const control = sink();
    const video = sink();
    const audio = sink();
    const writer = new ChannelWriter(control, new Map([[0, video], [1, audio]]));
    const clock: WireMessage = { type: 'clock', timestampUs: 0, wallClockMs: 1 };
    const track: WireMessage = { type: 'track', kind: 'audio', trackId: 1, codec: 'opus', sampleRate: 48_000, channels: 2 };
    writer.writeHeader([clock, track]);
    const big = { type: 'chunk', trackId: 0, keyframe: true, timestampUs: 0, durationUs: 0, data: new Uint8Array(100_000).fill(3) } as const;
    writer.writeChunk(big);
    writer.writeChunk({ ...big, trackId: 1, data: new Uint8Array(10) });
    expect(() => writer.writeChunk({ ...big, trackId: 2 })).toThrow(/no channel for track 2/);
    const endsBefore = control.frames.length;
    writer.writeEnd();
    expect(messagesOf(control.frames)).toEqual([track, clock, { type: 'end' }]);
    expect(control.frames.length).toBe(endsBefore + 1);
    expect(messagesOf(video.frames).map((m) => m.type)).toEqual(['chunk', 'end']);
    expect(video.frames.every((f) => f.byteLength <= TRACK_FRAME_BYTES)).toBe(true);
    expect(video.frames.length).toBe(Math.ceil((100_000 + 16) / (TRACK_FRAME_BYTES - 10)) + 1);
    expect(messagesOf(audio.frames).map((m) => m.type)).toEqual(['chunk', 'end']);
    const total = [control, video, audio].reduce((n, s) => n + s.frames.reduce((a, f) => a + f.byteLength, 0), 0);
    expect(writer.bytesSent).toBe(total);
    expect(() => writer.writeHeader([{ type: 'end' }])).toThrow(ProtocolError);
  });
});
