// The data channels of one publish session → one valid sequence of wire messages (pure code; rules in shared/protocol/channels.ts).
import {
  MAX_CHANNELS,
  MAX_MESSAGE_BYTES,
  MessageReassembler,
  ProtocolError,
  channelRole,
  type ChannelRole,
  type ChunkMessage,
  type WireMessage,
} from '../../shared/protocol/index.ts';

/** What the packager is fed: everything but `end`, which the session turns into its own end. */
type StreamMessage = Exclude<WireMessage, { type: 'end' }>;


/**
 * Chunks that overtook the header on their own channels are held until the clock seals it. The publisher sends the
 * header before any chunk, so this is a few frames at most; two of the largest messages is a generous bound.
 */
export const MAX_HELD_BYTES = 2 * MAX_MESSAGE_BYTES;

interface Channel {
  role: ChannelRole;
  reassembler: MessageReassembler;
  ended: boolean;
}

/**
 * Reassembles each channel's frames on its own (fragment message ids are per channel) and enforces which messages a
 * channel may carry. Every method throws ProtocolError on input that breaks the rules; the session then ends.
 */
export class ChannelDemux {
  #channels = new Map<string, Channel>();
  #configured = new Set<number>();
  #clockSeen = false;
  /** A track config came after the clock: the single-channel order, in which track channels have no place. */
  #trackAfterClock = false;
  #controlChunks = false;
  #held: ChunkMessage[] = [];
  #heldBytes = 0;
  #controlEnded = false;
  #messages = 0;

  /** Whole messages received on every channel, `end`s included. */
  get messagesReceived(): number {
    return this.#messages;
  }

  /** True once the control channel sent `end`. */
  get controlEnded(): boolean {
    return this.#controlEnded;
  }

  /** True once the control channel and every track channel sent `end`: the publisher stopped and nothing is missing. */
  get finished(): boolean {
    return this.#controlEnded && [...this.#channels.values()].every((c) => c.role.kind === 'control' || c.ended);
  }

  /** Takes a newly opened channel by its label. */
  attach(label: string): void {
    const role = channelRole(label);
    if (this.#channels.has(label)) throw new ProtocolError('wrong-channel', `a second data channel "${label}"`);
    if (this.#channels.size >= MAX_CHANNELS) throw new ProtocolError('wrong-channel', `more than ${MAX_CHANNELS} data channels`);
    if (role.kind === 'track') {
      if (this.#controlChunks) throw new ProtocolError('wrong-channel', `channel "${label}" opened after chunks came on the control channel`);
      if (this.#trackAfterClock) throw new ProtocolError('wrong-channel', `channel "${label}" opened after a track config followed the clock`);
      if (this.#clockSeen && !this.#configured.has(role.trackId)) {
        throw new ProtocolError('wrong-channel', `channel "${label}" for a track the header did not configure`);
      }
    }
    this.#channels.set(label, { role, reassembler: new MessageReassembler(), ended: false });
  }

  /** One frame from a channel; returns the messages that may now go to the packager, in order (`end` never among them). */
  push(label: string, frame: Uint8Array): StreamMessage[] {
    const channel = this.#channels.get(label);
    if (!channel) throw new ProtocolError('wrong-channel', `frame on unknown channel "${label}"`);
    if (channel.ended) throw new ProtocolError('out-of-order', `frame on channel "${label}" after its end`);
    const message = channel.reassembler.push(frame);
    if (!message) return [];
    this.#messages++;
    return channel.role.kind === 'control' ? this.#control(channel, message) : this.#track(channel, channel.role.trackId, message);
  }

  #control(channel: Channel, message: WireMessage): StreamMessage[] {
    switch (message.type) {
      case 'end':
        channel.ended = true;
        this.#controlEnded = true;
        return [];
      case 'chunk':
        if (this.#hasTrackChannels()) throw new ProtocolError('wrong-channel', `chunk of track ${message.trackId} on the control channel`);
        this.#controlChunks = true;
        return [message];
      case 'track':
        if (this.#clockSeen) {
          if (this.#hasTrackChannels()) throw new ProtocolError('out-of-order', `track ${message.trackId} configured after the clock sealed the header`);
          this.#trackAfterClock = true;
        }
        this.#configured.add(message.trackId);
        return [message];
      case 'clock': {
        if (this.#clockSeen) return [message];
        this.#clockSeen = true;
        const held = this.#held;
        this.#held = [];
        this.#heldBytes = 0;
        for (const chunk of held) this.#checkConfigured(chunk.trackId);
        return [message, ...held];
      }
    }
  }

  #track(channel: Channel, trackId: number, message: WireMessage): StreamMessage[] {
    if (message.type === 'end') {
      channel.ended = true;
      return [];
    }
    if (message.type !== 'chunk') throw new ProtocolError('wrong-channel', `${message.type} message on the channel of track ${trackId}`);
    if (message.trackId !== trackId) throw new ProtocolError('wrong-channel', `chunk of track ${message.trackId} on the channel of track ${trackId}`);
    if (this.#clockSeen) {
      this.#checkConfigured(trackId);
      return [message];
    }
    this.#heldBytes += message.data.byteLength;
    if (this.#heldBytes > MAX_HELD_BYTES) throw new ProtocolError('oversized', `more than ${MAX_HELD_BYTES} bytes of chunks before the header`);
    this.#held.push(message);
    return [];
  }

  #checkConfigured(trackId: number): void {
    if (!this.#configured.has(trackId)) throw new ProtocolError('out-of-order', `chunk of track ${trackId}, which the header did not configure`);
  }

  #hasTrackChannels(): boolean {
    for (const channel of this.#channels.values()) if (channel.role.kind === 'track') return true;
    return false;
  }
}
