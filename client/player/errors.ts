// Typed player errors: a stable `code` for programs and a plain-words message for people.
export type PlayerErrorCode =
  | 'no-source'
  | 'invalid-stream'
  | 'unsupported'
  | 'network'
  | 'media'
  | 'autoplay'
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
