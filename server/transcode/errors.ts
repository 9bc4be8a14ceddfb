// Typed errors of the transcode stage: a ladder that cannot be parsed, from the server's config or a publisher's URL.

export class TranscodeLadderError extends Error {
  override name = 'TranscodeLadderError';
  /** The stream whose publisher asked for the ladder; undefined for the server's TRANSCODE_LADDER. */
  readonly streamName: string | undefined;
  readonly reason: string;

  constructor(streamName: string | undefined, reason: string) {
    super(streamName === undefined ? `transcode ladder: ${reason}` : `stream "${streamName}": transcode ladder: ${reason}`);
    this.streamName = streamName;
    this.reason = reason;
  }
}
