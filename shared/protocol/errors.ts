// Typed errors of the publish wire protocol.
export type ProtocolErrorCode =
  | 'unsupported-version'
  | 'unknown-type'
  | 'truncated'
  | 'oversized'
  | 'out-of-order'
  | 'invalid-field';

export class ProtocolError extends Error {
  override name = 'ProtocolError';
  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}
