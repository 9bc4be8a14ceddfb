// SwarmcastPlayer: hls.js in the chosen latency mode on a <video>, with waiting/ended handling, bounded recovery and stats.
import Hls from 'hls.js';
import type { ErrorData, FragLoadedData, LevelLoadedData } from 'hls.js';
import { TypedEmitter } from '../../shared/events.ts';
import { DEFAULT_PLAYER_CONFIG, hlsConfigFor } from './config.ts';
import type { PlayerConfig } from './config.ts';
import { PlayerError } from './errors.ts';
import { firstVariantUri, hasEndList } from './playlist-probe.ts';
import { BitrateWindow, StallCounter, bufferAheadMs } from './stats.ts';
import type { PlayerState, PlayerStats, StateReason } from './stats.ts';

export type PlayerEvents = {
  state: [state: PlayerState, reason: StateReason];
  stats: [stats: PlayerStats];
  error: [error: PlayerError];
  /** Playback started; `muted` is true when the browser refused unmuted autoplay and the player fell back to muted. */
  autoplay: [info: { muted: boolean }];
};

/** A media error this soon after the previous recovery counts towards the same failure streak. */
const MEDIA_RECOVERY_STREAK_MS = 10_000;

type ChromiumVideo = HTMLVideoElement & { webkitAudioDecodedByteCount?: number };

export class SwarmcastPlayer extends TypedEmitter<PlayerEvents> {
  readonly #video: ChromiumVideo;
  readonly #config: PlayerConfig;
  #hls: Hls | null = null;
  #src: string | undefined;
  #state: PlayerState = 'idle';
  #reason: StateReason = 'created';
  #destroyed = false;

  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #statsTimer: ReturnType<typeof setInterval> | undefined;
  #pollAttempt = 0;
  #networkFailures = 0;
  #mediaFailures = 0;
  #lastMediaRecoveryAt = -Infinity;

  #attemptStartedAt = 0;
  #firstFrameSeen = false;
  #timeToFirstFrameMs: number | null = null;
  #lastCurrentTime = 0;
  readonly #stalls = new StallCounter();
  readonly #bitrate = new BitrateWindow();
  readonly #videoEvents = new AbortController();

  constructor(video: HTMLVideoElement, options: Partial<PlayerConfig> = {}) {
    super();
    this.#video = video;
    this.#config = { ...DEFAULT_PLAYER_CONFIG, ...options };
    this.#src = this.#config.src;
    this.#listenToVideo();
  }

  /** Whether this browser has Media Source Extensions that hls.js can play through. */
  static isSupported(): boolean {
    return Hls.isSupported();
  }

  get state(): PlayerState {
    return this.#state;
  }

  get reason(): StateReason {
    return this.#reason;
  }

  get src(): string | undefined {
    return this.#src;
  }

  /** Starts playing `src` (or the configured `src`); waits for the broadcast if it is not live yet. */
  load(src: string | undefined = this.#config.src): void {
    if (this.#destroyed) throw new PlayerError('other', 'this player has been destroyed', src);
    if (!src) throw new PlayerError('no-source', 'no stream to play: pass a playlist URL to load() or set `src`');
    this.#src = new URL(src, globalThis.location?.href).href;
    this.#clearRetry();
    this.#pollAttempt = 0;
    this.#networkFailures = 0;
    this.#mediaFailures = 0;
    if (!Hls.isSupported()) {
      this.#fail(new PlayerError('unsupported', 'This browser cannot play live streams (Media Source Extensions are missing).', this.#src));
      return;
    }
    this.#statsTimer ??= setInterval(() => this.emit('stats', this.stats()), this.#config.statsIntervalMs);
    this.#start('loading');
  }

  stats(): PlayerStats {
    const video = this.#video;
    const hls = this.#hls;
    const quality = video.getVideoPlaybackQuality();
    const playing = this.#state === 'playing';
    const playingDate = playing ? hls?.playingDate ?? null : null;
    const targetLatency = hls?.targetLatency ?? null;
    const level = hls && hls.currentLevel >= 0 ? hls.levels[hls.currentLevel] : undefined;
    return {
      state: this.#state,
      reason: this.#reason,
      latencyMode: this.#config.latencyMode,
      latencyMs: playingDate ? Date.now() - playingDate.getTime() : null,
      targetLatencyMs: targetLatency === null ? null : Math.round(targetLatency * 1000),
      bufferMs: bufferAheadMs(video.buffered, video.currentTime),
      stalls: this.#stalls.count,
      bitrate: this.#bitrate.bitsPerSecond ?? (level?.bitrate || null),
      resolution: video.videoWidth > 0 ? `${video.videoWidth}x${video.videoHeight}` : null,
      droppedFrames: quality.droppedVideoFrames,
      decodedFrames: quality.totalVideoFrames,
      audioDecodedBytes: video.webkitAudioDecodedByteCount ?? null,
      currentTime: video.currentTime,
      timeToFirstFrameMs: this.#timeToFirstFrameMs,
      level: hls?.currentLevel ?? -1,
      muted: video.muted,
      playbackRate: video.playbackRate,
    };
  }

  /** Stops everything this player started: hls.js, timers, listeners. Idempotent. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#clearRetry();
    clearInterval(this.#statsTimer);
    this.#statsTimer = undefined;
    this.#teardownHls();
    this.#videoEvents.abort();
    this.#setState('idle', 'destroyed');
    this.removeAllListeners();
  }

  #start(reason: StateReason): void {
    const src = this.#src;
    if (this.#destroyed || !src) return;
    this.#teardownHls();
    this.#stalls.restart();
    this.#bitrate.clear();
    this.#firstFrameSeen = false;
    this.#lastCurrentTime = 0;
    this.#attemptStartedAt = performance.now();
    this.#setState('connecting', reason);

    const hls = new Hls(hlsConfigFor(this.#config.latencyMode));
    this.#hls = hls;
    hls.on(Hls.Events.MANIFEST_PARSED, () => this.#play());
    hls.on(Hls.Events.LEVEL_LOADED, (_event, data) => this.#onLevelLoaded(data));
    hls.on(Hls.Events.FRAG_LOADED, (_event, data) => this.#onFragLoaded(data));
    hls.on(Hls.Events.ERROR, (_event, data) => this.#onHlsError(hls, data));
    hls.loadSource(src);
    hls.attachMedia(this.#video);
  }

  #play(): void {
    const video = this.#video;
    video.play().then(
      () => this.emit('autoplay', { muted: video.muted }),
      (err: unknown) => {
        if (!(err instanceof DOMException) || err.name !== 'NotAllowedError' || video.muted) {
          // AbortError: a reload replaced the source before play() settled; the new source plays itself.
          if (err instanceof DOMException && err.name === 'AbortError') return;
          this.emit('error', new PlayerError('autoplay', 'The browser would not start playback; press play.', this.#src, { cause: err }));
          return;
        }
        // Browsers allow muted autoplay; the page offers an "Unmute" button.
        video.muted = true;
        this.#play();
      },
    );
  }

  #onLevelLoaded(data: LevelLoadedData): void {
    // Joining after the end: nothing live to show. While playing, the tail plays out and `ended` follows.
    if (!data.details.live && !this.#firstFrameSeen) this.#ended();
  }

  #onFragLoaded(data: FragLoadedData): void {
    this.#networkFailures = 0;
    const media = data.part ?? data.frag;
    this.#bitrate.add(media.stats.loaded, media.duration);
  }

  #onHlsError(hls: Hls, data: ErrorData): void {
    if (hls !== this.#hls) return;
    if (!data.fatal) {
      if (data.details === Hls.ErrorDetails.BUFFER_STALLED_ERROR) this.#stalls.stalled();
      return;
    }
    const status = data.response?.code;
    if (data.type === Hls.ErrorTypes.NETWORK_ERROR) {
      const playlist = data.details === Hls.ErrorDetails.MANIFEST_LOAD_ERROR || data.details === Hls.ErrorDetails.LEVEL_LOAD_ERROR;
      if (playlist && (status === 404 || status === 410)) {
        this.#waitForBroadcast();
        return;
      }
      this.#networkFailures++;
      if (this.#networkFailures > this.#config.networkRetry.maxAttempts) {
        this.#fail(new PlayerError('network', `The stream could not be loaded (${describeNetworkError(data)}).`, this.#src, { cause: data.error }));
        return;
      }
      console.warn(`[swarmcast] ${data.details} (${describeNetworkError(data)}); reload ${this.#networkFailures}/${this.#config.networkRetry.maxAttempts}`);
      this.#teardownHls();
      this.#setState('connecting', 'retrying');
      this.#retryTimer = setTimeout(() => this.#start('retrying'), this.#config.networkRetry.delayMs);
      return;
    }
    if (data.type === Hls.ErrorTypes.MEDIA_ERROR) {
      const now = performance.now();
      if (now - this.#lastMediaRecoveryAt > MEDIA_RECOVERY_STREAK_MS) this.#mediaFailures = 0;
      this.#lastMediaRecoveryAt = now;
      this.#mediaFailures++;
      if (this.#mediaFailures > this.#config.mediaRetry.maxAttempts) {
        this.#fail(new PlayerError('media', `This browser could not decode the stream (${data.details}).`, this.#src, { cause: data.error }));
        return;
      }
      console.warn(`[swarmcast] ${data.details}; recovering media ${this.#mediaFailures}/${this.#config.mediaRetry.maxAttempts}`);
      hls.recoverMediaError();
      return;
    }
    this.#fail(new PlayerError('other', `Playback stopped: ${data.details}.`, this.#src, { cause: data.error }));
  }

  /** The manifest is not there (yet): the broadcaster has not gone live. Poll until it is. */
  #waitForBroadcast(): void {
    this.#teardownHls();
    this.#setState('connecting', 'waiting-for-broadcast');
    this.#schedulePoll();
  }

  /** The broadcast ended: show it, and keep polling so a new broadcast on the same name starts playing. */
  #ended(): void {
    this.#teardownHls();
    this.#setState('idle', 'ended');
    this.#schedulePoll();
  }

  #schedulePoll(): void {
    const { initialDelayMs, factor, maxDelayMs } = this.#config.waitRetry;
    const delayMs = Math.min(maxDelayMs, initialDelayMs * factor ** this.#pollAttempt);
    this.#pollAttempt++;
    this.#clearRetry();
    this.#retryTimer = setTimeout(() => void this.#pollLive(), delayMs);
  }

  /** Reads the playlists without hls.js or MSE, so waiting costs one small request per poll. */
  async #pollLive(): Promise<void> {
    const src = this.#src;
    if (this.#destroyed || !src) return;
    let live = false;
    try {
      const manifest = await fetch(src, { cache: 'no-store' });
      if (manifest.ok) {
        const text = await manifest.text();
        const variant = firstVariantUri(text);
        if (variant === null) {
          live = !hasEndList(text);
        } else {
          const media = await fetch(new URL(variant, manifest.url).href, { cache: 'no-store' });
          live = media.ok && !hasEndList(await media.text());
        }
      }
    } catch (err) {
      // Offline or server restarting: same as "not live yet", the next poll tries again; logged once per wait.
      if (this.#pollAttempt === 1) console.warn(`[swarmcast] polling ${src} failed: ${String(err)}`);
    }
    if (this.#destroyed || src !== this.#src) return;
    if (live) {
      this.#pollAttempt = 0;
      this.#start('loading');
    } else {
      this.#schedulePoll();
    }
  }

  #fail(error: PlayerError): void {
    this.#teardownHls();
    this.#clearRetry();
    this.#setState('error', 'failed');
    this.emit('error', error);
  }

  #listenToVideo(): void {
    const video = this.#video;
    const signal = this.#videoEvents.signal;
    video.addEventListener(
      'playing',
      () => {
        if (!this.#hls) return;
        if (!this.#firstFrameSeen) {
          this.#firstFrameSeen = true;
          this.#timeToFirstFrameMs = Math.round(performance.now() - this.#attemptStartedAt);
        }
        this.#stalls.playing();
        this.#setState('playing', 'playing');
      },
      { signal },
    );
    video.addEventListener(
      'waiting',
      () => {
        // Seeks (including hls.js jumping to the live edge) wait by design; they are not stalls.
        if (!video.seeking) this.#stalls.stalled();
      },
      { signal },
    );
    video.addEventListener(
      'timeupdate',
      () => {
        if (video.currentTime > this.#lastCurrentTime && !video.paused) this.#stalls.playing();
        this.#lastCurrentTime = video.currentTime;
      },
      { signal },
    );
    video.addEventListener(
      'ended',
      () => {
        if (this.#hls) this.#ended();
      },
      { signal },
    );
  }

  #teardownHls(): void {
    const hls = this.#hls;
    if (!hls) return;
    this.#hls = null;
    hls.destroy();
  }

  #clearRetry(): void {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
  }

  #setState(state: PlayerState, reason: StateReason): void {
    if (state === this.#state && reason === this.#reason) return;
    this.#state = state;
    this.#reason = reason;
    this.emit('state', state, reason);
  }
}

function describeNetworkError(data: ErrorData): string {
  const status = data.response?.code;
  return status ? `HTTP ${status} for ${data.url ?? 'a request'}` : (data.error?.message ?? data.details);
}
