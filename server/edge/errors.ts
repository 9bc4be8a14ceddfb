// Typed errors of the edge: why an upstream fetch failed or why a client was turned away.
export type EdgeErrorCode = 'bad-config' | 'connect' | 'timeout' | 'upstream-status' | 'aborted' | 'busy';

export class EdgeError extends Error {
  override name = 'EdgeError';
  constructor(
    readonly code: EdgeErrorCode,
    message: string,
  ) {
    super(message);
  }
}
