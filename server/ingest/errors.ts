// Typed errors of the ingest, each with the HTTP status the publish API answers.
export type IngestErrorCode =
  | 'bad-name'
  | 'bad-offer'
  | 'offer-too-large'
  | 'stream-busy'
  | 'rate-limited'
  | 'too-many-streams'
  | 'not-found'
  | 'negotiation-failed';

const STATUS: Record<IngestErrorCode, number> = {
  'bad-name': 400,
  'bad-offer': 400,
  'offer-too-large': 413,
  'stream-busy': 409,
  'rate-limited': 429,
  'too-many-streams': 503,
  'not-found': 404,
  'negotiation-failed': 500,
};

export class IngestError extends Error {
  override name = 'IngestError';
  readonly status: number;
  constructor(
    readonly code: IngestErrorCode,
    readonly streamName: string,
    message: string,
  ) {
    super(message);
    this.status = STATUS[code];
  }
}
