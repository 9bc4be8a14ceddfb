// The `test` source: a synthetic 30 fps picture with a running wall clock and a 440 Hz tone, needing no devices.
import { TypedEmitter } from '../../shared/events.ts';
import { nowUs, type CaptureOptions, type CaptureSource, type CaptureSourceEvents } from './source.ts';


const TONE_HZ = 440;
const TONE_GAIN = 0.2;
const AUDIO_BLOCK_MS = 20;
/** How often the generator wakes up; well below a frame interval. */
const TICK_MS = 4;
/** A frame or audio block later than this is skipped rather than sent late (the tab was throttled). */
const MAX_LATENESS_US = 200_000;

export class TestSource extends TypedEmitter<CaptureSourceEvents> implements CaptureSource {
  readonly kind = 'test';
  readonly hasAudio = true;
  readonly audioChannels: number;
  readonly preview: HTMLCanvasElement;
  #options: CaptureOptions;
  #ctx: CanvasRenderingContext2D;
  #texture: HTMLCanvasElement;
  #timer: ReturnType<typeof setInterval> | undefined;
  #originUs = 0;
  #frameIndex = 0;
  #blockIndex = 0;
  #closed = false;

  constructor(options: CaptureOptions) {
    super();
    this.#options = options;
    this.audioChannels = options.channels;
    this.preview = document.createElement('canvas');
    this.preview.width = options.width;
    this.preview.height = options.height;
    const ctx = this.preview.getContext('2d', { alpha: false });
    if (!ctx) throw new Error('2d canvas unavailable');
    this.#ctx = ctx;
    this.#texture = noiseTexture(options.width, Math.round(options.height / 3));
    this.#draw(0, nowUs());
  }

  start(): void {
    if (this.#closed || this.#timer !== undefined) return;
    this.#originUs = Math.round(nowUs());
    this.#timer = setInterval(() => this.#tick(), TICK_MS);
    this.#tick();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.removeAllListeners();
  }

  #frameTimestampUs(n: number): number {
    return this.#originUs + Math.round((n * 1_000_000) / this.#options.framerate);
  }

  #tick(): void {
    const now = nowUs();
    for (let ts = this.#frameTimestampUs(this.#frameIndex); ts <= now; ts = this.#frameTimestampUs(this.#frameIndex)) {
      const n = this.#frameIndex++;
      if (now - ts > MAX_LATENESS_US) continue;
      this.#draw(n, ts);
      const duration = this.#frameTimestampUs(n + 1) - ts;
      this.emit('video', new VideoFrame(this.preview, { timestamp: ts, duration }));
      if (this.#closed) return;
    }
    const blockUs = AUDIO_BLOCK_MS * 1000;
    // A block is "captured" once its last sample is in the past, as a microphone would deliver it.
    for (let ts = this.#originUs + this.#blockIndex * blockUs; ts + blockUs <= now; ts = this.#originUs + this.#blockIndex * blockUs) {
      const k = this.#blockIndex++;
      if (now - ts > MAX_LATENESS_US) continue;
      this.emit('audio', this.#tone(k, ts));
      if (this.#closed) return;
    }
  }

  #tone(block: number, timestampUs: number): AudioData {
    const { sampleRate, channels } = this.#options;
    const frames = (sampleRate * AUDIO_BLOCK_MS) / 1000;
    const data = new Float32Array(frames * channels);
    const first = block * frames;
    for (let i = 0; i < frames; i++) {
      const sample = TONE_GAIN * Math.sin((2 * Math.PI * TONE_HZ * (first + i)) / sampleRate);
      for (let c = 0; c < channels; c++) data[c * frames + i] = sample;
    }
    return new AudioData({ format: 'f32-planar', sampleRate, numberOfFrames: frames, numberOfChannels: channels, timestamp: timestampUs, data });
  }

  /** Draws frame `n`, whose capture time is `timestampUs`: moving shapes, the wall clock of that instant, the name, the counter. */
  #draw(n: number, timestampUs: number): void {
    const ctx = this.#ctx;
    const { width: w, height: h, streamName, framerate } = this.#options;
    const t = n / framerate;
    ctx.fillStyle = '#0e1116';
    ctx.fillRect(0, 0, w, h);
    const bars = ['#ff4d5e', '#4da3ff', '#3fb950', '#d29922', '#a371f7', '#e6edf3', '#2d3643'];
    bars.forEach((colour, i) => {
      ctx.fillStyle = colour;
      ctx.fillRect((i * w) / bars.length, h - h / 10, w / bars.length + 1, h / 10);
    });
    ctx.drawImage(this.#texture, 0, h * 0.5);
    ctx.fillStyle = '#4da3ff';
    const x = ((Math.sin(t * 1.3) + 1) / 2) * (w - h / 5);
    ctx.fillRect(x, h * 0.15, h / 5, h / 5);
    ctx.beginPath();
    ctx.fillStyle = '#ff4d5e';
    ctx.arc(w / 2 + Math.cos(t * 2) * w * 0.3, h * 0.6 + Math.sin(t * 2) * h * 0.12, h / 12, 0, 2 * Math.PI);
    ctx.fill();
    const wall = new Date(performance.timeOrigin + timestampUs / 1000);
    const clock = `${wall.toISOString().slice(11, 23)} UTC`;
    ctx.fillStyle = '#e6edf3';
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.font = `700 ${Math.round(h / 8)}px ui-monospace, monospace`;
    ctx.fillText(clock, w / 2, h * 0.42);
    ctx.font = `600 ${Math.round(h / 20)}px system-ui, sans-serif`;
    ctx.fillText(`swarmcast · ${streamName}`, w / 2, h * 0.08);
    ctx.font = `500 ${Math.round(h / 24)}px ui-monospace, monospace`;
    ctx.fillText(`frame ${n}`, w / 2, h * 0.865);
  }
}

/**
 * A still band of fine detail: cheap to draw, costs P-frames nothing, and makes keyframes as large
 * as a camera's (so keyframes exercise fragmentation as real ones do).
 */
function noiseTexture(width: number, height: number): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d');
  if (!ctx) return canvas;
  const image = ctx.createImageData(width, height);
  let seed = 0x2545f491;
  for (let i = 0; i < image.data.length; i += 4) {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    const v = 64 + ((seed >>> 0) % 128);
    image.data[i] = v;
    image.data[i + 1] = v;
    image.data[i + 2] = v;
    image.data[i + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
  return canvas;
}
