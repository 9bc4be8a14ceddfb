// One H.264 VideoEncoder per ABR rung; reports its decoder config (avcC) with the first output.
import { TypedEmitter } from '../../shared/events.ts';
import type { Rung } from './config.ts';
import { BroadcastError, encoderFailure } from './errors.ts';

export type RungEncoderEvents = {
  chunk: [EncodedVideoChunk];
  error: [BroadcastError];
};

export function videoEncoderConfig(rung: Rung, framerate: number): VideoEncoderConfig {
  return {
    codec: rung.codec,
    width: rung.width,
    height: rung.height,
    bitrate: rung.bitrate,
    framerate,
    bitrateMode: 'variable',
    // Firefox (ESR 153 on Linux: libx264 through ffmpeg) turns 'realtime' into libvpx options only, so its H.264 output
    // trails its input by about 42 frames (1.4 s at 30 fps, x264's lookahead); no WebCodecs field changes that (issue 18).
    latencyMode: 'realtime',
    avc: { format: 'avc' },
  };
}

export class RungEncoder extends TypedEmitter<RungEncoderEvents> {
  readonly rung: Rung;
  #encoder: VideoEncoder;
  #decoderConfig: VideoDecoderConfig | undefined;
  #closed = false;

  /** Checks the browser can encode the rung before anything is captured or published. */
  static async create(rung: Rung, framerate: number): Promise<RungEncoder> {
    const config = videoEncoderConfig(rung, framerate);
    let supported = false;
    try {
      supported = typeof VideoEncoder !== 'undefined' && (await VideoEncoder.isConfigSupported(config)).supported === true;
    } catch {
      supported = false;
    }
    if (!supported) {
      throw new BroadcastError(
        'encoder-unsupported',
        `This browser can't encode H.264 video (${rung.codec}, ${rung.width}×${rung.height}). Use a recent Chrome, Edge or Safari.`,
      );
    }
    return new RungEncoder(rung, config);
  }

  private constructor(rung: Rung, config: VideoEncoderConfig) {
    super();
    this.rung = rung;
    this.#encoder = new VideoEncoder({
      output: (chunk, metadata) => {
        if (metadata?.decoderConfig && !this.#decoderConfig) this.#decoderConfig = metadata.decoderConfig;
        this.emit('chunk', chunk);
      },
      error: (err) => {
        if (this.#closed) return;
        this.emit('error', encoderFailure('video', err));
      },
    });
    this.#encoder.configure(config);
  }

  /** The decoder configuration (with the avcC description), known after the first output. */
  get decoderConfig(): VideoDecoderConfig | undefined {
    return this.#decoderConfig;
  }

  get queueSize(): number {
    return this.#closed ? 0 : this.#encoder.encodeQueueSize;
  }

  /** Encodes without taking ownership: the caller still closes the frame. */
  encode(frame: VideoFrame, keyFrame: boolean): void {
    if (this.#closed) return;
    this.#encoder.encode(frame, { keyFrame });
  }

  /** Emits every pending chunk. */
  async flush(): Promise<void> {
    if (this.#closed || this.#encoder.state !== 'configured') return;
    await this.#encoder.flush();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#encoder.state !== 'closed') this.#encoder.close();
    this.removeAllListeners();
  }
}
