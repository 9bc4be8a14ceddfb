// The seam between the broadcaster and the network: where framed wire messages go.
import type { TypedEmitter } from '../../shared/events.ts';
import type { FrameSink } from '../../shared/protocol/index.ts';
import type { BroadcastError } from './errors.ts';

export type TransportEvents = {
  /** The connection broke after it was established. */
  failure: [BroadcastError];
  /** The connection state changed (RTCPeerConnectionState for WebRTC). */
  state: [string];
};

/** A connected publish session that carries data-channel frames in order and reliably; the wire writer's sink. */
export interface PublishTransport extends FrameSink, Pick<TypedEmitter<TransportEvents>, 'on' | 'off'> {
  /** Segment target the origin packages with; keyframes are forced on its boundaries. */
  readonly segmentTargetMs: number | undefined;
  readonly partTargetMs: number | undefined;
  readonly connectionState: string;
  /** True while more than the configured maximum is queued, until the queue drains to the low mark. */
  readonly congested: boolean;
  /** Bytes queued and not yet handed to the network. */
  readonly bufferedAmount: number;
  /** Ends the session and releases the connection; idempotent. */
  close(): Promise<void>;
}

export interface TransportLimits {
  maxBufferedBytes: number;
  lowBufferedBytes: number;
}

/** Connects a publish session for a stream name. */
export type TransportConnector = (streamName: string, limits: TransportLimits) => Promise<PublishTransport>;
