// The seam between the broadcaster and the network: the data channels framed wire messages go on.
import type { TypedEmitter } from '../../shared/events.ts';
import type { FrameSink, ReceiptMessage } from '../../shared/protocol/index.ts';
import type { BroadcastError } from './errors.ts';

export type TransportEvents = {
  /** The connection broke after it was established. */
  failure: [BroadcastError];
  /** The connection state changed (RTCPeerConnectionState for WebRTC). */
  state: [string];
  /** The ingest told what it received so far per track channel (an ingest that predates receipts sends none). */
  receipt: [ReceiptMessage];
};

/** One ordered, reliable channel of a publish session; a wire writer's sink. */
export interface PublishChannel extends FrameSink {
  /** Bytes queued on this channel and not yet handed to the network. */
  readonly bufferedAmount: number;
  /** Calls `listener` each time bufferedAmount falls to `thresholdBytes` or below (RTCDataChannel's bufferedamountlow). */
  onBufferedAmountLow(thresholdBytes: number, listener: () => void): void;
}

/**
 * A connected publish session: a control channel (clock, track configs, end) and one channel per track (its chunks),
 * as `shared/protocol/channels.ts` lays down.
 */
export interface PublishTransport extends Pick<TypedEmitter<TransportEvents>, 'on' | 'off'> {
  /** Segment target the origin packages with; keyframes are forced on its boundaries. */
  readonly segmentTargetMs: number | undefined;
  readonly partTargetMs: number | undefined;
  readonly connectionState: string;
  /** The session's id on the server, when it names one: a reconnecting publisher says it `replaces` it. */
  readonly sessionId?: string | undefined;
  readonly control: PublishChannel;
  /** The channel of each track the transport was connected for, by track id. */
  readonly tracks: ReadonlyMap<number, PublishChannel>;
  /** The current round-trip time of the connection's selected candidate pair, ms; null when not known. */
  roundTripTimeMs(): Promise<number | null>;
  /** Ends the session and releases the connection; idempotent. A lost connection's session is left to the server's grace period. */
  close(): Promise<void>;
  /**
   * After the connection was lost and close()d: stops that session on the server after all (the broadcast ends while
   * reconnecting, or gives up reconnecting), so its stream ends at once instead of waiting out the grace period; tried
   * again while the server cannot be reached or answers with a server error, for at most `withinMs`.
   */
  stopLost?(withinMs: number): Promise<void>;
}

/** When the broadcaster sheds video rungs (see SendPriority): bytes queued on all channels together. */
export interface TransportLimits {
  maxBufferedBytes: number;
  lowBufferedBytes: number;
}

export interface TransportOptions {
  /** The tracks to open a channel for: every video rung and the audio track. */
  trackIds: readonly number[];
  /** The id of this publisher's session that the connection lost, when reconnecting: the server ends it as dropped. */
  replaces?: string | undefined;
  /**
   * Aborts a reconnection attempt when the broadcast ends meanwhile: connect() rejects at once, an offer not sent yet is
   * never sent, and a session the server already answered for is DELETEd.
   */
  signal?: AbortSignal | undefined;
}

/** Connects a publish session for a stream name. */
export type TransportConnector = (streamName: string, options: TransportOptions) => Promise<PublishTransport>;
