// Typed player errors: a stable `code` for programs and a plain-words message for people.
export type PlayerErrorCode =
  | 'no-source'
  | 'invalid-stream'
  | 'unsupported'
  | 'network'
  | 'media'
  | 'autoplay'
  /** The server refused the link's playback token (401 or 403). */
  | 'access-denied'
  /** The server's geo rules refuse this viewer's location (451). */
  | 'geo-blocked'
  | 'other';

export class PlayerError extends Error {
  override readonly name = 'PlayerError';
  readonly code: PlayerErrorCode;
  /** The URL being played when the error happened, if any. */
  readonly src: string | undefined;

  constructor(code: PlayerErrorCode, message: string, src?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.src = src;
  }
}
