// One VideoEncoder per ABR rung (or the rung's fallback the browser encodes in real time); reports its decoder config with the first output.
import { TypedEmitter } from '../../shared/events.ts';
import type { Rung } from './config.ts';
import { BroadcastError, encoderFailure } from './errors.ts';

export type RungEncoderEvents = {
  chunk: [EncodedVideoChunk];
  error: [BroadcastError];
};

/** The encode latency a rung must stay under to be used when it has a fallback. */
export const REALTIME_LATENCY_MS = 100;
/** How long the real-time probe waits for its first output: far more than a real-time encoder needs, even under load. */
const PROBE_DEADLINE_MS = 1000;

export function videoEncoderConfig(rung: Rung, framerate: number): VideoEncoderConfig {
  const codec = rung.codec;
  return {
    codec,
    width: rung.width,
    height: rung.height,
    bitrate: rung.bitrate,
    framerate,
    bitrateMode: 'variable',
    // Firefox (ESR 153 on Linux: libx264 through ffmpeg) turns 'realtime' into libvpx/libaom options only, so its H.264
    // output trails its input by about 42 frames (1.4 s at 30 fps, x264's lookahead); no WebCodecs field changes that
    // (issue 18), hence the probe below. Without 'realtime' its AV1 encoder is slow too (seconds behind).
    latencyMode: 'realtime',
    ...(codec.startsWith('avc') && { avc: { format: 'avc' } }),
  };
}

async function isSupported(config: VideoEncoderConfig): Promise<boolean> {
  try {
    return typeof VideoEncoder !== 'undefined' && (await VideoEncoder.isConfigSupported(config)).supported === true;
  } catch {
    return false;
  }
}

/**
 * True when the encoder emits its first chunk while it holds fewer frames than fit in REALTIME_LATENCY_MS. An encoder
 * with a lookahead holds its first output until its lookahead is full however long it is given, so a handful of
 * black frames tells it apart, with no user-agent sniffing; the deadline only bounds the wait for one that holds.
 */
function encodesInRealTime(config: VideoEncoderConfig, framerate: number): Promise<boolean> {
  const frames = Math.max(1, Math.floor((REALTIME_LATENCY_MS * framerate) / 1000));
  return new Promise((resolve) => {
    let settled = false;
    const finish = (realtime: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (encoder.state !== 'closed') encoder.close();
      resolve(realtime);
    };
    const encoder = new VideoEncoder({ output: () => finish(true), error: () => finish(false) });
    const timer = setTimeout(() => finish(false), PROBE_DEADLINE_MS);
    try {
      encoder.configure(config);
      const pixels = new Uint8Array(config.width * config.height * 4);
      for (let i = 0; i < frames && !settled; i++) {
        const timestamp = Math.round((i * 1_000_000) / framerate);
        const frame = new VideoFrame(pixels, { format: 'RGBX', codedWidth: config.width, codedHeight: config.height, timestamp });
        encoder.encode(frame, { keyFrame: i === 0 });
        frame.close();
      }
    } catch {
      finish(false);
    }
  });
}

/**
 * AV1 from WebCodecs comes without a description (Chromium and Firefox alike); the packager needs the sequence header,
 * which every keyframe carries, so the first one's becomes the description. Null when `data` holds none.
 */
export function av1SequenceHeaderObu(data: Uint8Array): Uint8Array | null {
  const OBU_SEQUENCE_HEADER = 1;
  for (let offset = 0; offset < data.byteLength; ) {
    const header = data[offset]!;
    // Every OBU of a low-overhead bitstream has a size field; without one the rest cannot be walked.
    if ((header & 0x02) === 0) return null;
    let start = offset + ((header & 0x04) !== 0 ? 2 : 1);
    let size = 0;
    for (let shift = 0; ; shift += 7) {
      if (start >= data.byteLength || shift > 49) return null;
      const byte = data[start++]!;
      size += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) break;
    }
    const end = start + size;
    if (end > data.byteLength) return null;
    if (((header >> 3) & 0x0f) === OBU_SEQUENCE_HEADER) return data.slice(offset, end);
    offset = end;
  }
  return null;
}

/**
 * Every rung is given the captured frame as it is, and its VideoEncoder scales it to the configured size (Chromium
 * and Firefox both do: the whole picture, not a crop; a `visibleRect` would only crop). Measured in headless Chromium
 * on this two-core machine, a 720p30 source into 720p/480p/240p H.264 encoders, per frame on the page's thread and as
 * capture → output latency (p50/p95): scaled by the encoders 0.02 ms, 4.1/8.2 ms; `createImageBitmap` with
 * `resizeWidth/Height` → `new VideoFrame(bitmap)` 6.7 ms, 9.2/15.8 ms; `OffscreenCanvas.drawImage` → VideoFrame
 * 13.6 ms, 12.7/43.7 ms. In Firefox (360p + 240p AV1) the encoders' own scaling costs nothing on the page either.
 */
export class RungEncoder extends TypedEmitter<RungEncoderEvents> {
  /** The rung asked for. */
  readonly configured: Rung;
  #rung: Rung;
  #framerate: number;
  #encoder: VideoEncoder;
  #decoderConfig: VideoDecoderConfig | undefined;
  /** The bitrate encoded at now, and the one to switch to at the next keyframe (when different). */
  #bitrate: number;
  #nextBitrate: number;
  /** Timestamps handed to the encoder and not yet output, oldest first. */
  #inFlight: number[] = [];
  #framesEncoded = 0;
  #framesSkipped = 0;
  #closed = false;

  /**
   * Picks the rung before anything is captured or published: the rung or the first of its fallbacks that the browser
   * supports and encodes in real time; the last one it supports is taken without a probe, as nothing is left to try.
   */
  static async create(rung: Rung, framerate: number): Promise<RungEncoder> {
    const candidates: Rung[] = [];
    for (let candidate: Rung | undefined = rung; candidate; candidate = candidate.fallback) candidates.push(candidate);
    const supported: Rung[] = [];
    for (const candidate of candidates) {
      if (await isSupported(videoEncoderConfig(candidate, framerate))) supported.push(candidate);
    }
    for (const candidate of supported.slice(0, -1)) {
      const config = videoEncoderConfig(candidate, framerate);
      if (await encodesInRealTime(config, framerate)) return new RungEncoder(rung, candidate, framerate);
    }
    const chosen = supported.at(-1);
    if (!chosen) {
      const tried = candidates.map((c) => `${c.codec} ${c.width}×${c.height}`).join(' or ');
      throw new BroadcastError('encoder-unsupported', `This browser can't encode video as ${tried}. Use a recent Chrome, Edge, Firefox or Safari.`);
    }
    return new RungEncoder(rung, chosen, framerate);
  }

  private constructor(configured: Rung, rung: Rung, framerate: number) {
    super();
    this.configured = configured;
    this.#rung = rung;
    this.#framerate = framerate;
    this.#bitrate = rung.bitrate;
    this.#nextBitrate = rung.bitrate;
    this.#encoder = new VideoEncoder({
      output: (chunk, metadata) => {
        if (metadata?.decoderConfig && !this.#decoderConfig) this.#decoderConfig = this.#withDescription(metadata.decoderConfig, chunk);
        this.#countOutput(chunk.timestamp);
        this.emit('chunk', chunk);
      },
      error: (err) => {
        if (this.#closed) return;
        this.emit('error', encoderFailure('video', err));
      },
    });
    this.#encoder.configure(videoEncoderConfig(rung, framerate));
  }

  /** The rung this encoder runs: the one asked for or one of its fallbacks, at the size fitted to the source. */
  get rung(): Rung {
    return this.#rung;
  }

  /** True when the browser encodes a fallback instead of the rung asked for. */
  get isFallback(): boolean {
    return this.#rung.rendition !== this.configured.rendition || this.#rung.codec !== this.configured.codec;
  }

  /** Frames output so far. */
  get framesEncoded(): number {
    return this.#framesEncoded;
  }

  /** Frames the encoder was given and never output (a realtime encoder may skip frames under load). */
  get framesSkipped(): number {
    return this.#framesSkipped;
  }

  /** The target bitrate encoded at now, bits per second. */
  get bitrate(): number {
    return this.#bitrate;
  }

  /** A bitrate was set that waits for the next keyframe. */
  get bitratePending(): boolean {
    return this.#nextBitrate !== this.#bitrate;
  }

  /**
   * Encodes at `bitrate` from the next keyframe on. Chromium's H.264 encoder takes a new bitrate in place (measured
   * here: no keyframe, the same avcC, the rate follows within a frame), but WebCodecs lets an encoder reset on
   * configure(), so the change waits for a keyframe the segment grid asks for anyway: a reset's keyframe lands there.
   */
  setBitrate(bitrate: number): void {
    this.#nextBitrate = bitrate;
  }

  /** Re-sizes the encoder before its first frame (the source's aspect ratio inside the rung's box). */
  resize(width: number, height: number): void {
    if (this.#closed || (width === this.#rung.width && height === this.#rung.height)) return;
    this.#rung = { ...this.#rung, width, height };
    this.#encoder.configure(this.#config());
  }

  #config(): VideoEncoderConfig {
    return { ...videoEncoderConfig(this.#rung, this.#framerate), bitrate: this.#bitrate };
  }

  #countOutput(timestamp: number): void {
    this.#framesEncoded++;
    while (this.#inFlight.length > 0 && this.#inFlight[0]! < timestamp) {
      this.#inFlight.shift();
      this.#framesSkipped++;
    }
    if (this.#inFlight[0] === timestamp) this.#inFlight.shift();
  }

  /** The AV1 sequence header as the description when the browser gave none (the first output is a keyframe). */
  #withDescription(config: VideoDecoderConfig, chunk: EncodedVideoChunk): VideoDecoderConfig {
    const codec = config.codec || this.#rung.codec;
    if (config.description || !codec.startsWith('av01.')) return { ...config, codec };
    const data = new Uint8Array(chunk.byteLength);
    chunk.copyTo(data);
    const sequenceHeader = av1SequenceHeaderObu(data);
    return sequenceHeader ? { ...config, codec, description: sequenceHeader } : { ...config, codec };
  }

  /** The decoder configuration (avcC for H.264, the sequence header for AV1), known after the first output. */
  get decoderConfig(): VideoDecoderConfig | undefined {
    return this.#decoderConfig;
  }

  get queueSize(): number {
    return this.#closed ? 0 : this.#encoder.encodeQueueSize;
  }

  /** Encodes without taking ownership: the caller still closes the frame. */
  encode(frame: VideoFrame, keyFrame: boolean): void {
    if (this.#closed) return;
    if (keyFrame && this.#nextBitrate !== this.#bitrate) {
      this.#bitrate = this.#nextBitrate;
      this.#encoder.configure(this.#config());
    }
    this.#inFlight.push(frame.timestamp);
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
