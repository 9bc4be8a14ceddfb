// Typed errors of the packager: a wire-message sequence it cannot turn into CMAF.
export type PackagerErrorCode =
  | 'no-clock'
  | 'invalid-grid-origin'
  | 'no-video'
  | 'track-change'
  | 'unknown-track'
  | 'too-many-audio-tracks'
  | 'duplicate-rendition'
  | 'unsupported-codec'
  | 'missing-description'
  | 'invalid-description'
  | 'timestamp-before-origin'
  | 'timestamp-regression'
  | 'invalid-composition-offset'
  | 'ended'
  | 'interrupted';

export class PackagerError extends Error {
  override name = 'PackagerError';
  constructor(
    readonly code: PackagerErrorCode,
    readonly streamName: string,
    message: string,
  ) {
    super(`${code}: ${message} (stream ${streamName})`);
  }
}
