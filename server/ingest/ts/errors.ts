// The typed error of the MPEG-TS ingest: a transport stream that breaks the format or its limits ends its publisher with it.
export type TsErrorCode =
  /** A packet does not start with the 0x47 sync byte (not a transport stream, or bytes lost mid-packet). */
  | 'no-sync'
  /** A PAT or PMT section that cannot be read (bad length, CRC). */
  | 'bad-section'
  /** A PES packet with no start code, no PTS or a header longer than its packet. */
  | 'bad-pes'
  /** Beyond a limit of limits.ts. */
  | 'too-large'
  /** The program has no H.264 or H.265 video stream. */
  | 'unsupported'
  /** Elementary-stream content that cannot be carried: no parameter sets, bad ADTS, a configuration change. */
  | 'bad-media';

export class TsDemuxError extends Error {
  override name = 'TsDemuxError';
  constructor(
    readonly code: TsErrorCode,
    message: string,
    /** The stream being published, when the caller named one. */
    readonly streamName = '',
  ) {
    super(message);
  }
}
