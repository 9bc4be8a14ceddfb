// Typed errors of the publish wire protocol.
export type ProtocolErrorCode =
  | 'unsupported-version'
  | 'unknown-type'
  | 'truncated'
  | 'oversized'
  | 'out-of-order'
  | 'invalid-field'
  /** A message on a channel that does not carry it, or a channel the session may not open. */
  | 'wrong-channel';

export class ProtocolError extends Error {
  override name = 'ProtocolError';
  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}
