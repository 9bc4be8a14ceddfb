// hls.js plug-ins for ABR on streamed parts: a fragment loader that times every body read, and an ABR controller that
// picks rungs from what those timings say about the network (see throughput.ts).
import Hls, { FetchLoader } from 'hls.js/light';
import type {
  AbrComponentAPI,
  FragLoadedData,
  FragmentLoaderContext,
  HlsConfig,
  LoaderCallbacks,
  LoaderConfiguration,
  LoaderContext,
} from 'hls.js';
import { ThroughputEstimator, chooseRung, sampleTransfer, type Arrival } from './throughput.ts';
import { WrappingLoader } from './wrapping-loader.ts';

type LoaderClass = HlsConfig['loader'];
type FragmentLoaderClass = NonNullable<HlsConfig['fLoader']>;
type AbrControllerClass = HlsConfig['abrController'];

/** One player's ABR state, shared by its fragment loader (which measures) and its ABR controller (which decides). */
export class StreamedPartAbr {
  readonly estimator = new ThroughputEstimator();
  #lastSwitchAtMs = -Infinity;

  /** Bits per second the network is estimated to carry; null before any sample. */
  get estimateBps(): number | null {
    return this.estimator.estimateBps;
  }

  get sinceSwitchMs(): number {
    return performance.now() - this.#lastSwitchAtMs;
  }

  switched(): void {
    this.#lastSwitchAtMs = performance.now();
  }

  /**
   * A fragment loader class over `Inner` (hls.js's FetchLoader unless given: a fetch body can be read chunk by chunk)
   * that records when each read of a media response arrived and feeds the estimator when the response completes.
   */
  timedLoader(Inner: LoaderClass = FetchLoader): FragmentLoaderClass {
    const abr = this;
    const TimedFragmentLoader = class extends WrappingLoader {
      constructor(config: HlsConfig) {
        super(new Inner(config));
      }

      load(context: LoaderContext, config: LoaderConfiguration, callbacks: LoaderCallbacks<LoaderContext>): void {
        this.context = context;
        const requestedAtMs = performance.now();
        let arrivals: Arrival[] = [];
        let chunks: Uint8Array[] = [];
        let loaded = 0;
        let contentLength: string | null = null;
        // A high-water mark of one byte makes FetchLoader hand over every read as it arrives; the whole body still
        // goes to hls.js at once, as without it.
        this.inner.load(context, { ...config, highWaterMark: 1 }, {
          ...callbacks,
          onProgress: (stats, _ctx, data) => {
            if (stats.retry > 0 && stats.loaded < loaded) {
              arrivals = [];
              chunks = [];
              loaded = 0;
            }
            const bytes = stats.loaded - loaded;
            loaded = stats.loaded;
            if (typeof data === 'string' || bytes <= 0) return;
            arrivals.push({ atMs: performance.now(), bytes });
            chunks.push(new Uint8Array(data, 0, Math.min(bytes, data.byteLength)));
            contentLength ??= this.inner.getResponseHeader?.('content-length') ?? null;
          },
          onSuccess: (response, stats, ctx, details) => {
            const media = ctx as FragmentLoaderContext;
            const body = concat(chunks);
            // The origin streams a part in production without a length; a complete object has one.
            const streamedMediaMs = contentLength === null && media.frag.sn !== 'initSegment' ? (media.part ?? media.frag).duration * 1000 : null;
            const sample = sampleTransfer({ requestedAtMs, arrivals, streamedMediaMs });
            if (sample) abr.estimator.add(sample);
            callbacks.onSuccess({ ...response, data: body.buffer }, stats, ctx, details);
          },
        });
      }
    };
    // hls.js hands a fragment loader fragment contexts only.
    return TimedFragmentLoader as unknown as FragmentLoaderClass;
  }

  /** An hls.js ABR controller class choosing rungs with `chooseRung` from this estimator and the buffer. */
  controller(): AbrControllerClass {
    const abr = this;
    class StreamedPartAbrController implements AbrComponentAPI {
      readonly #hls: Hls;
      #loadedLevel = -1;
      /** Media loaded since the last independent part of the loaded level, ms. */
      #sinceIndependentMs = 0;
      #forced = -1;

      constructor(hls: Hls) {
        this.#hls = hls;
        hls.on(Hls.Events.FRAG_LOADED, this.#onFragLoaded);
        hls.on(Hls.Events.LEVEL_SWITCHING, this.#onLevelSwitching);
      }

      #onFragLoaded = (_event: string, data: FragLoadedData): void => {
        const { frag, part } = data;
        if (frag.sn === 'initSegment' || frag.type !== 'main') return;
        this.#loadedLevel = frag.level;
        if (this.#forced === frag.level) this.#forced = -1;
        if (!part) {
          this.#sinceIndependentMs = 0;
          return;
        }
        const into = (part.start + part.duration - frag.start) * 1000;
        const targetMs = (this.#hls.levels[frag.level]?.details?.targetduration ?? 0) * 1000;
        // The segment's last part: the next one starts a segment, on a keyframe.
        this.#sinceIndependentMs = targetMs > 0 && into >= targetMs - (part.duration * 1000) / 2 ? 0 : into;
      };

      #onLevelSwitching = (): void => {
        if (this.#loadedLevel !== -1) abr.switched();
      };

      get firstAutoLevel(): number {
        return this.#hls.firstLevel;
      }

      get forcedAutoLevel(): number {
        return this.#forced;
      }

      get nextAutoLevel(): number {
        const hls = this.#hls;
        if (this.#forced !== -1) return this.#forced;
        if (this.#loadedLevel === -1) return this.firstAutoLevel;
        const next = chooseRung({
          bitrates: hls.levels.map((level) => level.maxBitrate),
          current: this.#loadedLevel,
          estimateBps: abr.estimateBps,
          bufferMs: (hls.mainForwardBufferInfo?.len ?? 0) * 1000,
          sinceSwitchMs: abr.sinceSwitchMs,
          sinceIndependentMs: this.#sinceIndependentMs,
        });
        return Math.min(Math.max(next, hls.minAutoLevel), hls.maxAutoLevel);
      }

      set nextAutoLevel(level: number) {
        this.#forced = level;
      }

      resetEstimator(): void {
        // The estimate comes from measured transfers only; a declared default has nothing to reset.
      }

      destroy(): void {
        this.#hls.off(Hls.Events.FRAG_LOADED, this.#onFragLoaded);
        this.#hls.off(Hls.Events.LEVEL_SWITCHING, this.#onLevelSwitching);
      }
    }
    return StreamedPartAbrController as unknown as AbrControllerClass;
  }
}

function concat(chunks: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(chunks.reduce((sum, c) => sum + c.byteLength, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}
