// Limits of the RTMP ingest: a connection that exceeds one is dropped (README, Limits).
import { MAX_MESSAGE_BYTES } from '../../../shared/protocol/index.ts';
import type { ChunkLimits } from './chunk-stream.ts';

export const RTMP_CHUNK_LIMITS: ChunkLimits = {
  /** Largest chunk size a publisher may set (ffmpeg and OBS use 4096; the protocol allows 2^31 - 1). */
  maxChunkSize: 64 * 1024,
  /** Largest message, one encoded frame: the same bound as a data-channel message. */
  maxMessageBytes: MAX_MESSAGE_BYTES,
  /** Chunk streams one connection may use (encoders use about 5). */
  maxChunkStreams: 64,
};

/** From the TCP connection to an accepted `publish`, ms. */
export const RTMP_HANDSHAKE_TIMEOUT_MS = 10_000;
/** The window the server asks the publisher to acknowledge, bytes (what the server itself acknowledges follows the publisher's). */
export const RTMP_WINDOW_ACK_BYTES = 2_500_000;
/** Longest command or data message (connect, publish, metadata) read as AMF0, bytes. */
export const RTMP_MAX_COMMAND_BYTES = 64 * 1024;
