// Public surface of the publish wire protocol.
export * from './messages.ts';
export * from './limits.ts';
export { ProtocolError } from './errors.ts';
export { encodeMessage, decodeMessage, encodeServerMessage, decodeServerMessage, fragmentMessage, MessageReassembler, FRAGMENT_HEADER_BYTES, MAX_FRAGMENTS } from './framing.ts';
export { WireWriter, type FrameSink } from './wire-writer.ts';
export { ChannelWriter, CONTROL_CHANNEL_LABEL, MAX_CHANNELS, TRACK_FRAME_BYTES, channelRole, trackChannelLabel, type ChannelRole } from './channels.ts';
