// What a capture source gives the encoders: VideoFrames and AudioData stamped on the page's performance clock.
import type { TypedEmitter } from '../../shared/events.ts';

export type SourceKind = 'camera' | 'screen' | 'tab' | 'test';
export const SOURCE_KINDS: readonly SourceKind[] = ['camera', 'screen', 'tab', 'test'];

export function isSourceKind(value: string): value is SourceKind {
  return (SOURCE_KINDS as readonly string[]).includes(value);
}

/**
 * Frames are handed over owned: the listener must close them.
 * Timestamps are microseconds since `performance.timeOrigin`, so `performance.timeOrigin + timestamp / 1000`
 * is the wall-clock time of capture.
 */
/** What a source is asked to capture; devices treat the sizes and rates as ideals, the test source as exact. */
export interface CaptureOptions {
  streamName: string;
  width: number;
  height: number;
  framerate: number;
  sampleRate: number;
  channels: number;
}

export type CaptureSourceEvents = {
  video: [VideoFrame];
  audio: [AudioData];
  /** The user stopped sharing or the device went away. */
  ended: [];
  error: [unknown];
};

export interface CaptureSource extends Pick<TypedEmitter<CaptureSourceEvents>, 'on' | 'off'> {
  readonly kind: SourceKind;
  /** Something to show as the preview: the captured stream or the drawn canvas. */
  readonly preview: MediaStream | HTMLCanvasElement;
  readonly hasAudio: boolean;
  /** Channel count of the audio the source delivers. */
  readonly audioChannels: number;
  /** Starts delivering frames; nothing is emitted before. */
  start(): void;
  /** Stops capture and releases devices; idempotent. */
  close(): void;
}

/** Current time on the clock media timestamps use. */
export function nowUs(): number {
  return performance.now() * 1000;
}
