// The seam between an ingest path and what consumes it: one publish session's validated wire messages, then its end.
import type { EndMessage, WireMessage } from '../../shared/protocol/index.ts';

/** Why a publish session ended. */
export type PublishEndReason =
  | 'publisher-ended'
  | 'stopped'
  | 'disconnected'
  | 'connect-timeout'
  | 'idle-timeout'
  | 'protocol-error'
  | 'server-closing';

/**
 * Ends that leave the publisher a way back, its stream waiting in the reconnect grace (server/packager/reconnect-grace.ts)
 * and its lost session still stoppable (Ingest.stop): the connection was lost or went silent. A publisher that says it
 * stops (DELETE, its `end` message, RTMP deleteStream), a server closing, or one refused for its media ends the stream now.
 */
export const CONNECTION_LOST: ReadonlySet<PublishEndReason> = new Set(['disconnected', 'idle-timeout']);

export type PublishedStreamEvents = {
  /** A validated wire message, in the order sent. The publisher's `end` message arrives as the `end` event instead. */
  message: [Exclude<WireMessage, EndMessage>];
  /** Emitted once, last; `detail` says what went wrong for error reasons. */
  end: [reason: PublishEndReason, detail: string | undefined];
};

type PublishedStreamListener<K extends keyof PublishedStreamEvents> = (...args: PublishedStreamEvents[K]) => void;

/**
 * What every ingest path (the WebRTC data channel, RTMP, SRT, WHIP) hands out for one publisher, and all
 * that the server's wiring needs to package it.
 */
export interface PublishedStream {
  readonly streamName: string;
  on<K extends keyof PublishedStreamEvents>(event: K, listener: PublishedStreamListener<K>): unknown;
  off<K extends keyof PublishedStreamEvents>(event: K, listener: PublishedStreamListener<K>): unknown;
  /**
   * The publisher's own choice of origin transcoding from its ingest URL (`off` or a ladder such as `480p:800k`;
   * RTMP: `transcode=` in the stream key's query; SRT: in the streamid; WHIP: `?transcode=` on the POST's URL);
   * absent: the server's TRANSCODE_LADDER.
   */
  readonly transcode?: string;
  /** Rejects the session because its messages cannot be used (`detail` says why): it ends as a `protocol-error`. */
  fail(detail: string): void;
}

/** What the Ingest keeps of a publish session of any path: its seam, and what it counts and ends. */
export interface IngestSession extends PublishedStream {
  readonly id: string;
  readonly stats: { readonly bytesReceived: number };
  /** Ends the session, once; emits `end` with the reason. */
  close(reason: PublishEndReason, detail?: string): void;
}
