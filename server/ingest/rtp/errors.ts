// The typed error of the RTP ingest's format code: a packet or payload that breaks RFC 3550, 6184 or 7587.
export type RtpErrorCode = 'bad-packet' | 'bad-payload' | 'bad-config';

export class RtpFormatError extends Error {
  override name = 'RtpFormatError';
  constructor(
    readonly code: RtpErrorCode,
    message: string,
  ) {
    super(message);
  }
}
