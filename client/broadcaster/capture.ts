// Capture from devices (camera, screen, tab) or the test source, delivering frames on the performance clock.
import { TypedEmitter } from '../../shared/events.ts';
import { captureError } from './errors.ts';
import { nowUs, type CaptureOptions, type CaptureSource, type CaptureSourceEvents, type SourceKind } from './source.ts';
import { StillFrameFiller } from './still-frame-filler.ts';
import { TestSource } from './test-source.ts';

// Chromium's MediaStreamTrackProcessor (Insertable Streams) is not in TypeScript's DOM library.
declare class MediaStreamTrackProcessor<T> {
  constructor(init: { track: MediaStreamTrack; maxBufferSize?: number });
  readonly readable: ReadableStream<T>;
}

/**
 * A timestamp this close to `performance.now()` is taken as already on the performance clock.
 * Chromium stamps microphone AudioData on it, but camera and display VideoFrames on the
 * system's monotonic clock (seconds since boot), which needs an offset.
 */
const SAME_CLOCK_TOLERANCE_US = 5_000_000;

/** Opens a source; rejects with a BroadcastError whose message says what the user can do. */
export async function openSource(kind: SourceKind, options: CaptureOptions): Promise<CaptureSource> {
  if (kind === 'test') return new TestSource(options);
  let stream: MediaStream;
  try {
    stream = kind === 'camera'
      ? await navigator.mediaDevices.getUserMedia({
          video: { width: { ideal: options.width }, height: { ideal: options.height }, frameRate: { ideal: options.framerate } },
          audio: { sampleRate: options.sampleRate, echoCancellation: true, noiseSuppression: true },
        })
      : await navigator.mediaDevices.getDisplayMedia({
          video: { width: { ideal: options.width }, height: { ideal: options.height }, frameRate: { ideal: options.framerate } },
          audio: true,
          // Chromium-only hints: offer this tab first for `tab`, hide it for `screen`.
          ...(kind === 'tab' ? { preferCurrentTab: true, selfBrowserSurface: 'include' } : { selfBrowserSurface: 'exclude' }),
        } as DisplayMediaStreamOptions);
  } catch (err) {
    throw captureError(kind, err);
  }
  return new DeviceSource(kind, stream);
}

class DeviceSource extends TypedEmitter<CaptureSourceEvents> implements CaptureSource {
  readonly kind: SourceKind;
  readonly preview: MediaStream;
  readonly hasAudio: boolean;
  readonly audioChannels: number;
  #readers: ReadableStreamDefaultReader<VideoFrame | AudioData>[] = [];
  readonly #filler = new StillFrameFiller((frame) => this.emit('video', frame));
  #fillTimer: ReturnType<typeof setInterval> | undefined;
  #started = false;
  #closed = false;

  constructor(kind: SourceKind, stream: MediaStream) {
    super();
    this.kind = kind;
    this.preview = stream;
    const audio = stream.getAudioTracks()[0];
    this.hasAudio = audio !== undefined;
    this.audioChannels = audio?.getSettings().channelCount ?? 2;
    const video = stream.getVideoTracks()[0];
    video?.addEventListener('ended', () => {
      if (!this.#closed) this.emit('ended');
    });
  }

  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    const video = this.preview.getVideoTracks()[0];
    const audio = this.preview.getAudioTracks()[0];
    if (video) {
      void this.#pump(video, (frame: VideoFrame, offsetUs) => {
        if (offsetUs === 0) return this.#filler.push(frame);
        const moved = new VideoFrame(frame, { timestamp: frame.timestamp + offsetUs });
        frame.close();
        this.#filler.push(moved);
      });
      this.#fillTimer = setInterval(() => this.#filler.tick(nowUs()), this.#filler.maxGapUs / 2000);
    }
    if (audio) void this.#pump(audio, (data: AudioData, offsetUs) => {
      this.emit('audio', offsetUs === 0 ? data : retimeAudio(data, data.timestamp + offsetUs));
    });
  }

  async #pump<T extends VideoFrame | AudioData>(track: MediaStreamTrack, deliver: (item: T, offsetUs: number) => void): Promise<void> {
    const reader = new MediaStreamTrackProcessor<T>({ track }).readable.getReader();
    this.#readers.push(reader as ReadableStreamDefaultReader<VideoFrame | AudioData>);
    let offsetUs: number | undefined;
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        if (this.#closed) {
          value.close();
          return;
        }
        // Fixed once per track so timestamps stay monotonic; the error is the delivery delay of one frame.
        if (offsetUs === undefined) {
          const gap = nowUs() - value.timestamp;
          offsetUs = Math.abs(gap) < SAME_CLOCK_TOLERANCE_US ? 0 : Math.round(gap);
        }
        deliver(value, offsetUs);
      }
    } catch (err) {
      if (!this.#closed) this.emit('error', err);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#fillTimer);
    this.#filler.close();
    for (const reader of this.#readers) void reader.cancel().catch(() => undefined);
    for (const track of this.preview.getTracks()) track.stop();
    this.removeAllListeners();
  }
}

/** AudioData cannot be re-stamped in place: copy its planes into a new one. */
function retimeAudio(data: AudioData, timestamp: number): AudioData {
  const format = data.format ?? 'f32-planar';
  const planar = format.endsWith('-planar');
  const planes = planar ? data.numberOfChannels : 1;
  const sizes = Array.from({ length: planes }, (_, planeIndex) => data.allocationSize({ planeIndex, format }));
  const bytes = new Uint8Array(sizes.reduce((a, b) => a + b, 0));
  let offset = 0;
  sizes.forEach((size, planeIndex) => {
    data.copyTo(bytes.subarray(offset, offset + size), { planeIndex, format });
    offset += size;
  });
  const moved = new AudioData({
    format,
    sampleRate: data.sampleRate,
    numberOfFrames: data.numberOfFrames,
    numberOfChannels: data.numberOfChannels,
    timestamp,
    data: bytes,
  });
  data.close();
  return moved;
}
