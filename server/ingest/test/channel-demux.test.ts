// The ordering and channel rules of ChannelDemux that need no network: bounds and late channels.
import { describe, expect, it } from 'vitest';
import { encodeMessage, fragmentMessage, MAX_MESSAGE_BYTES, type WireMessage } from '../../../shared/protocol/index.ts';
import { ChannelDemux, MAX_HELD_BYTES } from '../channel-demux.ts';

const clock: WireMessage = { type: 'clock', timestampUs: 0, wallClockMs: 1 };
const video: WireMessage = { type: 'track', kind: 'video', trackId: 0, codec: 'avc1.42001f', width: 640, height: 360, rendition: '360p' };

function push(demux: ChannelDemux, label: string, message: WireMessage, messageId = 0): WireMessage[] {
  return fragmentMessage(encodeMessage(message), messageId).flatMap((frame) => demux.push(label, frame));
}

describe('ChannelDemux', () => {
  it('holds at most MAX_HELD_BYTES of chunks before the header', () => {
    const demux = new ChannelDemux();
    demux.attach('swarmcast');
    demux.attach('swarmcast/0');
    const chunk = { type: 'chunk', trackId: 0, keyframe: true, timestampUs: 0, durationUs: 0, data: new Uint8Array(MAX_MESSAGE_BYTES - 16) } as const;
    expect(MAX_HELD_BYTES).toBe(2 * MAX_MESSAGE_BYTES);
    expect(push(demux, 'swarmcast/0', chunk, 1)).toEqual([]);
    expect(push(demux, 'swarmcast/0', chunk, 2)).toEqual([]);
    expect(() => push(demux, 'swarmcast/0', chunk, 3)).toThrow(/^oversized: more than/);
  });

  it('refuses a track config after the clock once track channels exist, and a track channel after chunks on the control channel', () => {
    const multi = new ChannelDemux();
    multi.attach('swarmcast');
    multi.attach('swarmcast/0');
    expect(push(multi, 'swarmcast', clock)).toEqual([clock]);
    expect(() => push(multi, 'swarmcast', video)).toThrow(/^out-of-order: track 0 configured after the clock/);

    const single = new ChannelDemux();
    single.attach('swarmcast');
    for (const m of [clock, video]) push(single, 'swarmcast', m);
    push(single, 'swarmcast', { type: 'chunk', trackId: 0, keyframe: true, timestampUs: 0, durationUs: 0, data: new Uint8Array(4) });
    expect(() => single.attach('swarmcast/0')).toThrow(/^wrong-channel: channel "swarmcast\/0" opened after chunks came on the control channel/);
  });

  it('refuses frames after a channel ended', () => {
    const demux = new ChannelDemux();
    demux.attach('swarmcast');
    push(demux, 'swarmcast', { type: 'end' });
    expect(demux.finished).toBe(true);
    expect(() => push(demux, 'swarmcast', clock)).toThrow(/^out-of-order: frame on channel "swarmcast" after its end/);
  });
});
