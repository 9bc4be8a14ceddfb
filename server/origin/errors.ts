// Typed errors of the origin, each with the HTTP status it is answered with.
export type OriginErrorCode =
  | 'bad-directive'
  | 'directive-too-far'
  | 'not-found'
  | 'not-ready'
  | 'stream-busy'
  | 'bad-media'
  | 'timeout'
  | 'closed'
  | 'bad-config';

const STATUS: Record<OriginErrorCode, number> = {
  'bad-directive': 400,
  'directive-too-far': 400,
  'not-found': 404,
  'not-ready': 404,
  'stream-busy': 409,
  'bad-media': 500,
  timeout: 503,
  closed: 503,
  'bad-config': 500,
};

export class OriginError extends Error {
  override name = 'OriginError';
  readonly status: number;
  constructor(
    readonly code: OriginErrorCode,
    readonly streamName: string,
    message: string,
  ) {
    super(message);
    this.status = STATUS[code];
  }
}
