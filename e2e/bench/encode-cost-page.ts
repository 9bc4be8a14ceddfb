// Bench page for `npm run bench -- encode`: one VideoEncoder per rung fed from one 720p30 test source, self-contained (not the broadcaster's ladder).
import { TestSource } from '../../client/broadcaster/test-source.ts';

/** How a rung's frame is made from the 720p source frame. */
export type ScalePath =
  /** The 720p frame is handed to an encoder configured at the rung's size; the encoder scales it. */
  | 'encoder'
  /** `createImageBitmap` with `resizeWidth`/`resizeHeight`, then a new VideoFrame from the bitmap. */
  | 'bitmap'
  /** `drawImage` onto an OffscreenCanvas of the rung's size, then a new VideoFrame from the canvas. */
  | 'canvas';

export interface RungSpec {
  label: string;
  codec: string;
  width: number;
  height: number;
  bitrate: number;
}

export interface EncodeRun {
  rungs: RungSpec[];
  path: ScalePath;
}

export interface RungResult {
  label: string;
  codec: string;
  /** The size the encoder reported in its decoder config: what it really encoded. */
  codedWidth: number | null;
  codedHeight: number | null;
  framesIn: number;
  dropped: number;
  encoded: number;
  /** Capture → encoded chunk, ms, for each chunk in the window. */
  latenciesMs: number[];
  bytes: number;
  error: string | null;
}

export interface EncodeWindow {
  seconds: number;
  /** Frames the source produced in the window. */
  sourceFrames: number;
  rungs: RungResult[];
}

declare global {
  interface Window {
    startEncode(run: EncodeRun): Promise<void>;
    /** Chunks out per rung since start, so the caller can wait until every encoder is running. */
    encodedSoFar(): number[];
    /** Zeroes every counter: the measured window starts now. */
    resetEncode(): void;
    /** Stops source and encoders and returns the window since the last reset. */
    stopEncode(): EncodeWindow;
  }
}

const SOURCE_WIDTH = 1280;
const SOURCE_HEIGHT = 720;
const FRAMERATE = 30;
/** Keyframes every 2 s, the project's segment length. */
const KEYFRAME_INTERVAL_US = 2_000_000;
/** As the broadcaster: a frame is dropped when an encoder already holds more than this many (realtime). */
const MAX_HELD_FRAMES = 2;

class RungRunner {
  readonly spec: RungSpec;
  readonly #path: ScalePath;
  readonly #encoder: VideoEncoder;
  readonly #canvas: OffscreenCanvas | null;
  /** Frames being scaled (bitmap path) that the encoder has not been handed yet. */
  #scaling = 0;
  #nextKeyUs: number | null = null;
  #chain: Promise<void> = Promise.resolve();
  counters = { framesIn: 0, dropped: 0, encoded: 0, bytes: 0, latenciesMs: [] as number[] };
  encodedTotal = 0;
  coded: { width: number; height: number } | null = null;
  error: string | null = null;

  constructor(spec: RungSpec, path: ScalePath) {
    this.spec = spec;
    this.#path = path;
    const scales = spec.width !== SOURCE_WIDTH || spec.height !== SOURCE_HEIGHT;
    this.#canvas = path === 'canvas' && scales ? new OffscreenCanvas(spec.width, spec.height) : null;
    this.#encoder = new VideoEncoder({
      output: (chunk, metadata) => {
        const config = metadata?.decoderConfig;
        if (config?.codedWidth && config.codedHeight && !this.coded) this.coded = { width: config.codedWidth, height: config.codedHeight };
        this.encodedTotal++;
        this.counters.encoded++;
        this.counters.bytes += chunk.byteLength;
        this.counters.latenciesMs.push(performance.now() - chunk.timestamp / 1000);
      },
      error: (err) => (this.error ??= String(err)),
    });
    this.#encoder.configure({
      codec: spec.codec,
      width: spec.width,
      height: spec.height,
      bitrate: spec.bitrate,
      framerate: FRAMERATE,
      bitrateMode: 'variable',
      latencyMode: 'realtime',
      ...(spec.codec.startsWith('avc') && { avc: { format: 'avc' } }),
    });
  }

  /** Encodes (a scaled copy of) `frame`, or drops it; the caller keeps ownership of `frame` until the promise settles. */
  offer(frame: VideoFrame): Promise<void> {
    this.counters.framesIn++;
    if (this.#encoder.state !== 'configured' || this.#encoder.encodeQueueSize + this.#scaling > MAX_HELD_FRAMES) {
      this.counters.dropped++;
      return Promise.resolve();
    }
    const keyFrame = this.#nextKeyUs === null || frame.timestamp >= this.#nextKeyUs;
    if (keyFrame) this.#nextKeyUs = (this.#nextKeyUs ?? frame.timestamp) + KEYFRAME_INTERVAL_US;
    const scales = this.spec.width !== frame.displayWidth || this.spec.height !== frame.displayHeight;
    if (!scales || this.#path === 'encoder') {
      this.#encoder.encode(frame, { keyFrame });
      return Promise.resolve();
    }
    const init = { timestamp: frame.timestamp, ...(frame.duration !== null && { duration: frame.duration }) };
    if (this.#canvas) {
      this.#canvas.getContext('2d')!.drawImage(frame, 0, 0, this.spec.width, this.spec.height);
      const scaled = new VideoFrame(this.#canvas, init);
      this.#encoder.encode(scaled, { keyFrame });
      scaled.close();
      return Promise.resolve();
    }
    this.#scaling++;
    const bitmap = createImageBitmap(frame, { resizeWidth: this.spec.width, resizeHeight: this.spec.height });
    // Chained, so frames reach the encoder in capture order whatever order the bitmaps resolve in.
    this.#chain = this.#chain.then(async () => {
      const image = await bitmap;
      this.#scaling--;
      const scaled = new VideoFrame(image, init);
      image.close();
      if (this.#encoder.state === 'configured') this.#encoder.encode(scaled, { keyFrame });
      scaled.close();
    });
    return bitmap.then(() => undefined);
  }

  reset(): void {
    this.counters = { framesIn: 0, dropped: 0, encoded: 0, bytes: 0, latenciesMs: [] };
  }

  close(): void {
    if (this.#encoder.state !== 'closed') this.#encoder.close();
  }

  result(): RungResult {
    return {
      label: this.spec.label,
      codec: this.spec.codec,
      codedWidth: this.coded?.width ?? null,
      codedHeight: this.coded?.height ?? null,
      ...this.counters,
      error: this.error,
    };
  }
}

let source: TestSource | null = null;
let runners: RungRunner[] = [];
let sourceFrames = 0;
let windowStart = 0;

window.startEncode = async ({ rungs, path }) => {
  for (const spec of rungs) {
    const support = await VideoEncoder.isConfigSupported({ codec: spec.codec, width: spec.width, height: spec.height, bitrate: spec.bitrate, framerate: FRAMERATE, latencyMode: 'realtime' });
    if (!support.supported) throw new Error(`${spec.codec} ${spec.width}×${spec.height} is not supported by this browser's VideoEncoder`);
  }
  runners = rungs.map((spec) => new RungRunner(spec, path));
  source = new TestSource({ streamName: 'encode-bench', width: SOURCE_WIDTH, height: SOURCE_HEIGHT, framerate: FRAMERATE, sampleRate: 48_000, channels: 1 });
  source.on('audio', (data) => data.close());
  source.on('video', (frame) => {
    sourceFrames++;
    void Promise.all(runners.map((r) => r.offer(frame))).finally(() => frame.close());
  });
  window.resetEncode();
  source.start();
};

window.encodedSoFar = () => runners.map((r) => r.encodedTotal);

window.resetEncode = () => {
  sourceFrames = 0;
  windowStart = performance.now();
  for (const r of runners) r.reset();
};

window.stopEncode = () => {
  const seconds = (performance.now() - windowStart) / 1000;
  source?.close();
  source = null;
  const result: EncodeWindow = { seconds, sourceFrames, rungs: runners.map((r) => r.result()) };
  for (const r of runners) r.close();
  runners = [];
  return result;
};

document.body.dataset.ready = 'yes';
