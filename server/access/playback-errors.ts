// The typed refusal of playback access (token, geo): the stream, the reason, and the HTTP status a refusal answers with.
export type PlaybackAccessCode = 'unauthorized' | 'forbidden' | 'geo-blocked' | 'bad-request' | 'bad-config';

const STATUS: Record<PlaybackAccessCode, number> = {
  unauthorized: 401,
  forbidden: 403,
  'geo-blocked': 451,
  'bad-request': 400,
  'bad-config': 500,
};

export class PlaybackAccessError extends Error {
  override name = 'PlaybackAccessError';
  readonly status: number;

  /** `reason` is what the client is told: never a token, key or secret. */
  constructor(
    readonly code: PlaybackAccessCode,
    readonly stream: string,
    readonly reason: string,
  ) {
    super(`${stream}: ${reason}`);
    this.status = STATUS[code];
  }
}
