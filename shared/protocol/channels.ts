// Which data channel carries which wire messages, and the writer that routes a publish session's messages onto them.
//
// A publish session opens one control channel (`swarmcast`) and, optionally, one channel per track (`swarmcast/<trackId>`).
// SCTP streams are independent, so a large keyframe queued on the top rung's channel no longer delays audio or the
// lowest rung, and the sender can see (bufferedAmount) and shed the load of each track on its own.
//   control channel: track configs, then the clock (the clock seals the header), then `end` last of all.
//   track channel:   that track's chunks only, then `end` (nothing of the track follows).
// A session whose only channel is the control channel carries everything on it, in order (protocol's first form).
import { ProtocolError } from './errors.ts';
import { MAX_TRACKS } from './limits.ts';
import type { WireMessage } from './messages.ts';
import { WireWriter, type FrameSink } from './wire-writer.ts';

export const CONTROL_CHANNEL_LABEL = 'swarmcast';

/** Channels one publish session may open: the control channel and one per track. */
export const MAX_CHANNELS = MAX_TRACKS + 1;

/**
 * Largest frame on a track's channel. Without SCTP message interleaving (I-DATA, which libdatachannel does not
 * negotiate) a message goes out whole once started, so the other channels wait behind it: 16 KiB bounds that wait
 * to ~85 ms at 1.5 Mbit/s (64 KiB frames would be ~350 ms), for 10 bytes of fragment header per 16 KiB.
 */
export const TRACK_FRAME_BYTES = 16 * 1024;

export type ChannelRole = { kind: 'control' } | { kind: 'track'; trackId: number };

export function trackChannelLabel(trackId: number): string {
  if (!Number.isInteger(trackId) || trackId < 0 || trackId >= MAX_TRACKS) {
    throw new ProtocolError('invalid-field', `track id ${trackId}`);
  }
  return `${CONTROL_CHANNEL_LABEL}/${trackId}`;
}

/** What a channel carries, from its label; throws ProtocolError('wrong-channel') for any other label. */
export function channelRole(label: string): ChannelRole {
  if (label === CONTROL_CHANNEL_LABEL) return { kind: 'control' };
  const match = /^swarmcast\/(0|[1-9][0-9]?)$/.exec(label);
  const trackId = match ? Number(match[1]) : Number.NaN;
  if (!(trackId < MAX_TRACKS)) {
    throw new ProtocolError('wrong-channel', `data channel "${label.slice(0, 40)}" is neither ${CONTROL_CHANNEL_LABEL} nor ${CONTROL_CHANNEL_LABEL}/<0..${MAX_TRACKS - 1}>`);
  }
  return { kind: 'track', trackId };
}

/**
 * Writes one publish session's messages onto its control channel and per-track channels (message ids, and so
 * fragment reassembly, are per channel). `writeHeader` sends the track configs before the clock, which tells the
 * receiver that every track is configured: chunks that overtook the header on their own channels can then go out.
 */
export class ChannelWriter {
  #control: WireWriter;
  #tracks = new Map<number, WireWriter>();

  constructor(control: FrameSink, tracks: ReadonlyMap<number, FrameSink>) {
    this.#control = new WireWriter(control);
    for (const [trackId, sink] of tracks) {
      trackChannelLabel(trackId);
      const maxFrameBytes = Math.min(TRACK_FRAME_BYTES, sink.maxFrameBytes);
      this.#tracks.set(trackId, new WireWriter({ maxFrameBytes, send: (frame) => sink.send(frame) }));
    }
  }

  /** Sends the clock and track configs: the configs first, the clock last. */
  writeHeader(messages: readonly WireMessage[]): void {
    const ordered = [...messages.filter((m) => m.type === 'track'), ...messages.filter((m) => m.type === 'clock')];
    if (ordered.length !== messages.length) throw new ProtocolError('wrong-channel', 'a header holds only clock and track messages');
    for (const message of ordered) this.#control.write(message);
  }

  /** Sends a chunk on its track's channel; returns the bytes sent. */
  writeChunk(message: WireMessage & { type: 'chunk' }): number {
    const writer = this.#tracks.get(message.trackId);
    if (!writer) throw new ProtocolError('wrong-channel', `no channel for track ${message.trackId}`);
    return writer.write(message);
  }

  /** Ends every track channel, then the session on the control channel. */
  writeEnd(): void {
    for (const writer of this.#tracks.values()) writer.write({ type: 'end' });
    this.#control.write({ type: 'end' });
  }

  /** Bytes of every frame sent on every channel, headers included. */
  get bytesSent(): number {
    let total = this.#control.bytesSent;
    for (const writer of this.#tracks.values()) total += writer.bytesSent;
    return total;
  }
}
