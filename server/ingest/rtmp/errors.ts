// The typed error of the RTMP ingest: a connection that breaks the protocol or its limits is dropped with it.
export type RtmpErrorCode =
  | 'bad-handshake'
  | 'chunk-size'
  | 'message-too-large'
  | 'bad-chunk'
  | 'bad-amf'
  | 'bad-command'
  | 'bad-media'
  | 'timeout';

export class RtmpProtocolError extends Error {
  override name = 'RtmpProtocolError';
  constructor(
    readonly code: RtmpErrorCode,
    message: string,
    /** The stream being published, once the publisher named one. */
    readonly streamName = '',
  ) {
    super(message);
  }
}
