// hls.js plug-ins for ABR on streamed parts: a fragment loader that times every body read, and an ABR controller that
// picks rungs from what those timings say about the network (see throughput.ts).
import { concatBytes } from '../../shared/bytes.ts';
import Hls, { FetchLoader } from 'hls.js/light';
import type {
  AbrComponentAPI,
  ErrorData,
  FragLoadedData,
  FragmentLoaderContext,
  Fragment,
  LevelSwitchingData,
  LoaderStats,
  Part,
  HlsConfig,
  LoaderCallbacks,
  LoaderConfiguration,
  LoaderContext,
} from 'hls.js';
import { CmafChunkSplitter } from './cmaf-chunks.ts';
import { partChunkSink } from './hls-part-progress.ts';
import { PageLag, ThroughputEstimator, burstThroughput, chooseRung, emergencyRung, generousFlowThroughput, sampleTransfer, type Arrival } from './throughput.ts';
import { WrappingLoader } from './wrapping-loader.ts';

type LoaderClass = HlsConfig['loader'];
type FragmentLoaderClass = NonNullable<HlsConfig['fLoader']>;
type AbrControllerClass = HlsConfig['abrController'];

/** A main-playlist part or segment whose bytes are arriving. */
interface Loading {
  frag: Fragment;
  part: Part | null;
  requestedAtMs: number;
  /** `PageLag.totalMs` at the request. */
  lagAtRequestMs: number;
  stats: LoaderStats;
  /** Its body's reads so far. */
  arrivals: Arrival[];
  /** It came with a Content-Length: the origin had all of it, so its bytes arrive at the link's pace. */
  complete: boolean;
}

/**
 * How long after a rung answered a GAP part the ABR does not go back up to it: longer than the broadcaster's first
 * restore hold (4 s, client/broadcaster/adaptive-publishing.ts), so one retry usually finds it back.
 */
const PAUSED_RUNG_RETRY_MS = 8000;

/** How often the load in flight is checked against the estimate and the buffer (see `emergencyRung`). */
const EMERGENCY_CHECK_MS = 25;
/** A reload is handed to hls.js once it reaches this far past the playhead (see `#prefetchReload`), seconds. */
const RELOAD_AHEAD_S = 0.3;

/** One player's ABR state, shared by its fragment loader (which measures) and its ABR controller (which decides). */
export class StreamedPartAbr {
  readonly estimator = new ThroughputEstimator();
  /** Ticked by the emergency check's timer: how long the page could not run, so its own lateness is not the link's. */
  readonly pageLag = new PageLag(EMERGENCY_CHECK_MS);
  /** The main-playlist load in flight, set by the timed loader. */
  loading: Loading | null = null;
  /**
   * Set by every switch: the rung about to be reloaded from an independent part behind the buffer end, that buffer end,
   * the rung's parts of a segment and the playhead, for `#prefetchReload`.
   */
  reload: { level: number; untilS: number; parts: (sn: number) => readonly Part[]; playheadS: () => number } | null = null;
  /** Bodies of parts fetched ahead for a reload, by URL (null: the fetch failed; the loader then fetches it itself). */
  readonly #prefetched = new Map<string, Promise<ArrayBuffer | null>>();
  /** From an emergency switch until its reload is handed to hls.js. */
  switchingDown = false;
  /** The player lists hinted parts so they are requested while produced (hinted-parts.ts); set before loading starts. */
  streamsHintedParts = false;
  /** Called when an emergency switch starts (the player slows playback at once rather than at its next latency check). */
  onEmergency: () => void = () => {};
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
   * Appending a rung's independent part removes every frame of the old rung after it up to the next keyframe (MSE's
   * coded frame removal), so a reload appended part by part leaves nothing to play at the playhead until it catches up
   * with it: a stall. Instead the parts after the independent one, up to one past the old rung's buffer end, are
   * fetched beside it, in order, and the independent part is handed over only once they reach past the playhead by
   * `RELOAD_AHEAD_S` (or are all in): hls.js then appends that much of the reload in one go and takes the rest from
   * the prefetch as it arrives. Returns when that is.
   */
  #prefetchReload(part: Part): Promise<void> {
    const reload = this.reload;
    this.reload = null;
    // Whatever an earlier reload fetched and hls.js did not ask for is of no use now.
    this.#prefetched.clear();
    if (!reload) return Promise.resolve();
    const following = reload.parts(part.fragment.sn as number).filter((p) => p.index > part.index && p.start < reload.untilS + part.duration);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let previous: Promise<unknown> = Promise.resolve();
    for (const p of following) {
      const body = previous.then(() =>
        fetch(p.url, { cache: 'no-store' }).then(
          (response) => (response.ok ? response.arrayBuffer() : null),
          () => null,
        ),
      );
      this.#prefetched.set(p.url, body);
      previous = body.then(() => {
        if (p.start + p.duration >= reload.playheadS() + RELOAD_AHEAD_S) release();
      });
    }
    void previous.then(release);
    return gate;
  }

  #takePrefetched(url: string): Promise<ArrayBuffer | null> | undefined {
    const body = this.#prefetched.get(url);
    this.#prefetched.delete(url);
    return body;
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
        const media = context as FragmentLoaderContext;
        const inFlight: Loading | null =
          media.frag.sn === 'initSegment' || media.frag.type !== 'main'
            ? null
            : { frag: media.frag, part: media.part, requestedAtMs, lagAtRequestMs: abr.pageLag.totalMs(requestedAtMs), stats: this.stats, arrivals: [], complete: false };
        abr.loading = inFlight;
        const done = (): void => {
          if (abr.loading === inFlight) abr.loading = null;
        };
        const prefetched = abr.#takePrefetched(context.url);
        if (prefetched) {
          // Waiting on the prefetch is not the link running late: not watched by the emergency check.
          done();
          void prefetched.then((data) => {
            if (this.#aborted) return;
            if (data === null) return this.#loadFromNetwork(context, config, callbacks);
            // Served from the reload's prefetch: the stats say it arrived now, in one piece.
            const stats = this.inner.stats;
            stats.loading.start = requestedAtMs;
            stats.loading.first = stats.loading.end = performance.now();
            stats.loaded = stats.total = data.byteLength;
            callbacks.onSuccess({ url: context.url, data }, stats, context, null);
          });
          return;
        }
        const reload = abr.reload;
        const part = media.part;
        const gate = part?.independent && reload?.level === media.frag.level && part.start < reload.untilS ? abr.#prefetchReload(part) : null;
        this.#loadFromNetwork(context, config, callbacks, gate, done, inFlight);
      }

      override abort(): void {
        this.#aborted = true;
        super.abort();
      }

      #aborted = false;

      #loadFromNetwork(
        context: LoaderContext,
        config: LoaderConfiguration,
        callbacks: LoaderCallbacks<LoaderContext>,
        gate: Promise<unknown> | null = null,
        done: () => void = () => {},
        watched: Loading | null = null,
      ): void {
        const requestedAtMs = performance.now();
        const lagAtRequestMs = abr.pageLag.totalMs(requestedAtMs);
        const media = context as FragmentLoaderContext;
        let arrivals: Arrival[] = [];
        let chunks: Uint8Array[] = [];
        let loaded = 0;
        let contentLength: string | null = null;
        // A part's whole chunks go to hls.js as they arrive (see hls-part-progress.ts), except a reload's gated
        // independent part, which must reach hls.js only once its prefetches have.
        // An encrypted part is decrypted whole (AES-128 CBC over the part), so it is never pushed in pieces.
        const sink = gate || media.frag.encrypted ? undefined : partChunkSink(media.part);
        let splitter = new CmafChunkSplitter();
        let pushed = 0;
        /** The body's bytes from `pushed` on, not yet handed to the sink. */
        let unpushed: Uint8Array[] = [];
        // A high-water mark of one byte makes FetchLoader hand over every read as it arrives; the whole body still
        // goes to hls.js in onSuccess (minus what was pushed, which the adapter takes off).
        this.inner.load(context, { ...config, highWaterMark: 1 }, {
          ...callbacks,
          onError: (...args) => {
            done();
            callbacks.onError(...args);
          },
          onTimeout: (...args) => {
            done();
            callbacks.onTimeout(...args);
          },
          onAbort: (...args) => {
            done();
            callbacks.onAbort?.(...args);
          },
          onProgress: (stats, _ctx, data) => {
            if (stats.retry > 0 && stats.loaded < loaded) {
              arrivals = [];
              chunks = [];
              loaded = 0;
              splitter = new CmafChunkSplitter();
              pushed = 0;
              unpushed = [];
            }
            const bytes = stats.loaded - loaded;
            loaded = stats.loaded;
            if (typeof data === 'string' || bytes <= 0) return;
            const atMs = performance.now();
            arrivals.push({ atMs, bytes, lagMs: abr.pageLag.totalMs(atMs) });
            const piece = new Uint8Array(data, 0, Math.min(bytes, data.byteLength));
            chunks.push(piece);
            contentLength ??= this.inner.getResponseHeader?.('content-length') ?? null;
            if (sink) {
              unpushed.push(piece);
              const whole = splitter.push(piece);
              if (whole > pushed && !this.#aborted) {
                // Only the bytes since the last push are joined: a part's body is not copied again at every chunk.
                const tail = concatBytes(unpushed);
                sink.push(tail.slice(0, whole - pushed).buffer);
                unpushed = [tail.subarray(whole - pushed)];
                pushed = whole;
              }
            }
            if (watched) {
              watched.arrivals = arrivals;
              watched.complete = contentLength !== null;
            }
          },
          onSuccess: (response, stats, ctx, details) => {
            done();
            const body = concatBytes(chunks);
            // The origin streams a part in production without a length; a complete object has one.
            const streamedMediaMs = contentLength === null && media.frag.sn !== 'initSegment' ? (media.part ?? media.frag).duration * 1000 : null;
            const pageLagMs = abr.pageLag.totalMs(performance.now()) - lagAtRequestMs;
            const sample = sampleTransfer({ requestedAtMs, arrivals, streamedMediaMs, pageLagMs });
            // A reload's independent part shared the link with its prefetches: its time says nothing of the link.
            if (sample && !gate) abr.estimator.add(sample);
            const deliver = (): void => {
              if (!this.#aborted) callbacks.onSuccess({ ...response, data: body.buffer }, stats, ctx, details);
            };
            if (gate) {
              void gate.then(() => {
                abr.switchingDown = false;
                deliver();
              });
            } else {
              deliver();
            }
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
      #atSegmentEnd = false;
      #forced = -1;
      /** The rung an emergency switch went to, until a part of it has loaded. */
      #emergencyLevel = -1;
      /** When each rung last answered with a GAP part (its broadcaster paused it), performance.now() ms. */
      readonly #gapAtMs = new Map<number, number>();
      readonly #timer: ReturnType<typeof setInterval>;

      constructor(hls: Hls) {
        this.#hls = hls;
        hls.on(Hls.Events.FRAG_LOADED, this.#onFragLoaded);
        hls.on(Hls.Events.LEVEL_SWITCHING, this.#onLevelSwitching);
        hls.on(Hls.Events.ERROR, this.#onError);
        this.#timer = setInterval(this.#checkInFlight, EMERGENCY_CHECK_MS);
      }

      /** hls.js moves off a rung that answers GAP itself; remembering it keeps the estimate from going straight back. */
      #onError = (_event: string, data: ErrorData): void => {
        if (data.details === Hls.ErrorDetails.FRAG_GAP && data.frag) this.#gapAtMs.set(data.frag.level, performance.now());
      };

      #onFragLoaded = (_event: string, data: FragLoadedData): void => {
        const { frag, part } = data;
        if (frag.sn === 'initSegment' || frag.type !== 'main') return;
        this.#loadedLevel = frag.level;
        if (this.#forced === frag.level) this.#forced = -1;
        // A rung pinned by the viewer (hls.js's manual level) ends whatever the ABR had forced: hls.js forces every
        // level it loads in Auto (its `nextLoadLevel` setter), and the load in flight when the pin came never finishes,
        // so back in Auto the ABR would jump straight to that rung instead of climbing from the pinned one.
        if (!this.#hls.autoLevelEnabled) {
          this.#forced = -1;
          this.#emergencyLevel = -1;
        }
        // The emergency's rung is loading (a reload not gated by a prefetch ends here too).
        if (frag.level === this.#emergencyLevel) {
          abr.switchingDown = false;
          this.#emergencyLevel = -1;
        }
        this.#atSegmentEnd = false;
        if (!part) {
          this.#sinceIndependentMs = 0;
          return;
        }
        const into = (part.start + part.duration - frag.start) * 1000;
        const targetMs = (this.#hls.levels[frag.level]?.details?.targetduration ?? 0) * 1000;
        // The segment's last part: the next one starts a segment, on a keyframe.
        this.#atSegmentEnd = targetMs > 0 && into >= targetMs - (part.duration * 1000) / 2;
        this.#sinceIndependentMs = this.#atSegmentEnd ? 0 : into;
      };

      /** Abandons the load in flight for a lower rung when `emergencyRung` says its rung no longer fits (see there). */
      #checkInFlight = (): void => {
        const hls = this.#hls;
        const now = performance.now();
        abr.pageLag.tick(now);
        const loading = abr.loading;
        if (!loading || loading.stats.aborted || loading.stats.loading.end > 0 || !hls.autoLevelEnabled) return;
        const { frag, part } = loading;
        const pageLagMs = abr.pageLag.totalMs(now) - loading.lagAtRequestMs;
        // The flow with the page's own lag taken out: a part is abandoned only for a link too slow even by that.
        const flowBps = loading.complete ? generousFlowThroughput(loading.arrivals) : null;
        const durationMs = (part ?? frag).duration * 1000;
        const next = emergencyRung({
          bitrates: hls.levels.map((level) => level.maxBitrate),
          current: frag.level,
          estimateBps: abr.estimateBps,
          bufferMs: (hls.mainForwardBufferInfo?.len ?? 0) * 1000,
          sinceSwitchMs: abr.sinceSwitchMs,
          sinceIndependentMs: part && part.fragment === frag ? this.#sinceIndependentMs : 0,
          inFlight: {
            level: frag.level,
            // A part asked for while it is produced (the hinted part, hinted-parts.ts: no length, or no byte yet) spends
            // its own duration being produced: that time is the encoder's, not the link's.
            elapsedMs: now - loading.requestedAtMs - (abr.streamsHintedParts && part && !loading.complete ? durationMs : 0),
            durationMs,
            burstBps: burstThroughput(loading.arrivals),
            flowBps,
            pageLagMs,
          },
        });
        if (next === null) return;
        const level = Math.max(next, hls.minAutoLevel);
        if (level >= frag.level) return;
        // The abandoned part's flow measured the link: the choices after the switch start from it.
        if (flowBps !== null) abr.estimator.add({ kind: 'measured', bps: flowBps });
        abr.loading = null;
        abr.switchingDown = true;
        this.#emergencyLevel = level;
        abr.onEmergency();
        this.#forced = level;
        this.#expectReload(level);
        // As hls.js's own abandon rules: abort, then tell the stream controller, which goes idle and loads the new rung.
        frag.abortRequests();
        hls.trigger(Hls.Events.FRAG_LOAD_EMERGENCY_ABORTED, { frag, part, stats: loading.stats });
      };

      #onLevelSwitching = (_event: string, data: LevelSwitchingData): void => {
        if (this.#loadedLevel === -1) return;
        abr.switched();
        if (abr.reload?.level !== data.level) this.#expectReload(data.level);
      };

      /** A switch to `level` reloads it from an independent part behind the buffer end: see `#prefetchReload`. */
      #expectReload(level: number): void {
        const hls = this.#hls;
        const end = hls.mainForwardBufferInfo?.end;
        // The new rung's parts are read when its reload starts, from the playlist loaded for the switch.
        const parts = (sn: number): readonly Part[] => hls.levels[level]?.details?.partList?.filter((p) => p.fragment.sn === sn) ?? [];
        abr.reload = end === undefined ? null : { level, untilS: end, parts, playheadS: () => hls.media?.currentTime ?? 0 };
      }

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
          nextPartMs: (hls.levels[this.#loadedLevel]?.details?.partTarget ?? 0) * 1000,
          atSegmentEnd: this.#atSegmentEnd,
        });
        // Up only to a rung that has not answered GAP lately: its broadcaster paused it and restores it after a hold.
        const gapAtMs = this.#gapAtMs.get(next);
        const up = next > this.#loadedLevel && gapAtMs !== undefined && performance.now() - gapAtMs < PAUSED_RUNG_RETRY_MS ? this.#loadedLevel : next;
        return Math.min(Math.max(up, hls.minAutoLevel), hls.maxAutoLevel);
      }

      set nextAutoLevel(level: number) {
        this.#forced = level;
      }

      resetEstimator(): void {
        // The estimate comes from measured transfers only; a declared default has nothing to reset.
      }

      destroy(): void {
        clearInterval(this.#timer);
        this.#hls.off(Hls.Events.ERROR, this.#onError);
        this.#hls.off(Hls.Events.FRAG_LOADED, this.#onFragLoaded);
        this.#hls.off(Hls.Events.LEVEL_SWITCHING, this.#onLevelSwitching);
      }
    }
    return StreamedPartAbrController as unknown as AbrControllerClass;
  }
}

