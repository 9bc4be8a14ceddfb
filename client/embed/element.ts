// <swarmcast-player>: the embeddable live player, SwarmcastPlayer on a <video> with live controls and state screens in an open shadow root.
import { LATENCY_MODES, SwarmcastPlayer } from '../player/index.ts';
import type { LatencyMode, PlayerErrorCode, PlayerState, PlayerStats, Quality, Rung, StateReason } from '../player/index.ts';
import { SEEK_STEP_S, keyAction, liveBadge, seekTarget, stateScreen, stepVolume } from './controls.ts';
import type { KeyAction } from './controls.ts';
import { EmbedAttributeError, embedOptions, flag } from './options.ts';
import { ICONS, TEMPLATE } from './template.ts';

/** The element's own events: CustomEvents that bubble and cross shadow roots. */
export interface SwarmcastPlayerEvents {
  statechange: { state: PlayerState; reason: StateReason };
  playing: { reason: StateReason };
  /** The player is connecting: loading, waiting for the broadcast to begin, or reconnecting (`reason` says which). */
  waiting: { reason: StateReason };
  ended: { reason: StateReason };
  /** `code` is the player's error code, or `attribute` for an attribute the element cannot play with. */
  error: { message: string; code: PlayerErrorCode | 'attribute' };
  qualitychange: Quality;
}

/** `addEventListener` types for the element: its own events, and every HTMLElement event besides `error`. */
export type SwarmcastPlayerElementEventMap = Omit<HTMLElementEventMap, keyof SwarmcastPlayerEvents> & {
  [K in keyof SwarmcastPlayerEvents]: CustomEvent<SwarmcastPlayerEvents[K]>;
};

/** Where the element's module came from: its default server. */
const DEFAULT_SERVER = new URL(import.meta.url).origin;
/** Controls hide after this long without pointer or key activity while playing. */
const IDLE_MS = 3000;
const LATENCY_LABELS: Record<LatencyMode, string> = { low: 'Low latency', p2p: 'Peer-to-peer' };
/** Attributes that say what to play and how: a change reloads the stream. */
const SOURCE_ATTRIBUTES = ['stream', 'server', 'edges', 'latency', 'abr', 'token', 'target'];

type WebKitVideo = HTMLVideoElement & { webkitEnterFullscreen?: () => void };

interface MenuItem {
  label: string;
  checked: boolean;
  select: () => void;
}

export class SwarmcastPlayerElement extends HTMLElement {
  static readonly observedAttributes = [...SOURCE_ATTRIBUTES, 'autoplay', 'muted', 'poster', 'controls'];

  readonly #video: WebKitVideo;
  readonly #ui: Record<
    'root' | 'screen' | 'title' | 'detail' | 'spinner' | 'retry' | 'bigPlay' | 'unmute' | 'play' | 'mute' | 'live' | 'pip' | 'fullscreen' | 'latencyButton' | 'latencyMenu' | 'qualityButton' | 'qualityMenu',
    HTMLElement
  >;
  readonly #volume: HTMLInputElement;
  #player: SwarmcastPlayer | null = null;
  /** Playback was asked for (`autoplay`, the play button, `play()`); until then the poster and a play button show. */
  #started = false;
  #errorMessage = '';
  #rungs: Rung[] = [];
  #quality: Quality = { rendition: null, level: -1, auto: true };
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #inPictureInPicture = false;
  /**
   * Between connectedCallback and disconnectedCallback. Not `isConnected`: an element upgraded in the page gets its
   * attributes' callbacks while already connected, before connectedCallback, and must not start once per attribute.
   */
  #connected = false;
  /** The host's aria-label is the element's own (not the page's), so it follows the stream. */
  #ownLabel = false;

  constructor() {
    super();
    const root = this.attachShadow({ mode: 'open' });
    root.innerHTML = TEMPLATE;
    const part = (selector: string): HTMLElement => root.querySelector<HTMLElement>(selector)!;
    this.#video = part('video') as WebKitVideo;
    this.#volume = part('.volume') as HTMLInputElement;
    this.#ui = {
      root: part('.root'),
      screen: part('.screen'),
      title: part('.title'),
      detail: part('.detail'),
      spinner: part('.spinner'),
      retry: part('.retry'),
      bigPlay: part('.big-play'),
      unmute: part('.unmute'),
      play: part('.play'),
      mute: part('.mute'),
      live: part('.live'),
      pip: part('.pip'),
      fullscreen: part('.fullscreen'),
      latencyButton: part('.latency-button'),
      latencyMenu: part('#latency-menu'),
      qualityButton: part('.quality-button'),
      qualityMenu: part('#quality-menu'),
    };
    this.#listen();
    this.#showPlaying();
    this.#showVolume();
    this.#showLatencyMode();
  }

  connectedCallback(): void {
    this.#connected = true;
    if (!this.hasAttribute('tabindex')) this.tabIndex = 0;
    if (!this.hasAttribute('role')) this.setAttribute('role', 'region');
    this.#label();
    this.#ui.pip.hidden = !(document.pictureInPictureEnabled && typeof this.#video.requestPictureInPicture === 'function');
    this.#ui.fullscreen.hidden = !(document.fullscreenEnabled || typeof this.#video.webkitEnterFullscreen === 'function');
    if (this.#started || flag(this.getAttribute('autoplay'), false)) {
      this.#load();
      return;
    }
    this.dataset['state'] ??= 'idle';
    this.dataset['reason'] ??= 'created';
    this.#render();
  }

  disconnectedCallback(): void {
    this.#connected = false;
    this.#teardown();
    this.#setState('idle', 'destroyed');
  }

  attributeChangedCallback(name: string, oldValue: string | null, value: string | null): void {
    if (oldValue === value) return;
    if (SOURCE_ATTRIBUTES.includes(name)) {
      this.#label();
      this.#showLatencyMode();
      if (this.#connected && this.#started) this.#load();
    } else if (name === 'autoplay') {
      if (this.#connected && !this.#started && flag(value, false)) this.#load();
    } else if (name === 'muted') {
      this.#video.muted = flag(value, false);
    } else if (name === 'poster') {
      if (value === null) this.#video.removeAttribute('poster');
      else this.#video.poster = value;
    } else if (name === 'controls') {
      this.#ui.root.classList.toggle('bare', !flag(value, true));
    }
  }

  /** Starts playback: loads the stream if it was not yet, else resumes the video. */
  async play(): Promise<void> {
    const player = this.#player;
    if (!player || player.state === 'error') {
      this.#load();
      return;
    }
    // Before the stream plays (waiting for it, reconnecting) the player starts playback itself when it can.
    if (player.state === 'playing') await this.#video.play();
  }

  pause(): void {
    this.#video.pause();
  }

  /** The player's statistics, or null before a stream was loaded. */
  stats(): PlayerStats | null {
    return this.#player?.stats() ?? null;
  }

  /** Stops playback and releases the stream; `play()` (or re-adding the element) starts it again. */
  destroy(): void {
    this.#teardown();
    this.#started = false;
    this.#setState('idle', 'destroyed');
  }

  #load(): void {
    this.#teardown();
    this.#started = true;
    let options;
    try {
      options = embedOptions((name) => this.getAttribute(name), DEFAULT_SERVER);
    } catch (err) {
      if (!(err instanceof EmbedAttributeError)) throw err;
      this.#errorMessage = err.message;
      this.#setState('error', 'failed');
      this.#emit('error', { message: err.message, code: 'attribute' });
      return;
    }
    const player = new SwarmcastPlayer(this.#video, {
      latencyMode: options.latencyMode,
      edges: options.edges,
      abr: options.abr,
      latencyTargetFloorMs: options.latencyTargetFloorMs,
    });
    this.#player = player;
    const current = (): boolean => this.#player === player;
    player.on('state', (state, reason) => current() && this.#setState(state, reason));
    player.on('error', (error) => {
      if (!current()) return;
      this.#errorMessage = error.message;
      // The player enters its error state before it emits the error: draw the screen again with the reason in words.
      this.#render();
      // The browser refused even muted autoplay: the play button starts it with the viewer's click.
      if (error.code === 'autoplay') this.#ui.bigPlay.hidden = false;
      this.#emit('error', { message: error.message, code: error.code });
    });
    player.on('autoplay', ({ muted }) => {
      if (!current()) return;
      this.#ui.bigPlay.hidden = true;
      this.#ui.unmute.hidden = !muted || flag(this.getAttribute('muted'), false);
    });
    player.on('stats', (stats) => current() && this.#showLive(stats));
    player.on('rungs', (rungs) => {
      if (!current()) return;
      this.#rungs = rungs;
      this.#showQuality();
    });
    player.on('quality', (quality) => {
      if (!current()) return;
      this.#quality = quality;
      this.#showQuality();
      this.#emit('qualitychange', quality);
    });
    this.#video.muted = flag(this.getAttribute('muted'), false);
    player.load(options.src);
  }

  #teardown(): void {
    const player = this.#player;
    this.#player = null;
    player?.destroy();
    this.#rungs = [];
    this.#quality = { rendition: null, level: -1, auto: true };
    this.#ui.unmute.hidden = true;
    this.#closeMenus();
    this.#showQuality();
    clearTimeout(this.#idleTimer);
  }

  #setState(state: PlayerState, reason: StateReason): void {
    this.dataset['state'] = state;
    this.dataset['reason'] = reason;
    this.#emit('statechange', { state, reason });
    if (state === 'playing') this.#emit('playing', { reason });
    else if (state === 'connecting') this.#emit('waiting', { reason });
    if (reason === 'ended') this.#emit('ended', { reason });
    this.#render();
  }

  #render(): void {
    const state = this.dataset['state'] ?? 'idle';
    const screen = this.#started ? stateScreen(state, this.dataset['reason'] ?? 'created', this.#errorMessage) : null;
    const ui = this.#ui;
    ui.screen.hidden = !screen;
    ui.screen.dataset['screen'] = screen?.kind ?? '';
    ui.title.textContent = screen?.title ?? '';
    ui.detail.textContent = screen?.detail ?? '';
    ui.spinner.hidden = !screen?.spinner;
    ui.retry.hidden = !screen?.retry;
    if (!this.#started || state !== 'playing') ui.bigPlay.hidden = this.#started;
    ui.live.hidden = state !== 'playing';
  }

  #emit<K extends keyof SwarmcastPlayerEvents>(type: K, detail: SwarmcastPlayerEvents[K]): void {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }

  #label(): void {
    if (this.hasAttribute('aria-label') && !this.#ownLabel) return;
    this.#ownLabel = true;
    this.setAttribute('aria-label', `Live video player${this.getAttribute('stream') ? `: ${this.getAttribute('stream')}` : ''}`);
  }

  #listen(): void {
    const ui = this.#ui;
    const video = this.#video;
    const click = (element: HTMLElement, action: () => void): void => element.addEventListener('click', action);
    click(ui.play, () => this.#act('toggle-play'));
    click(ui.bigPlay, () => {
      ui.bigPlay.hidden = true;
      if (this.#player) void video.play();
      else this.#load();
    });
    click(ui.retry, () => this.#load());
    click(ui.mute, () => this.#act('toggle-mute'));
    click(ui.unmute, () => {
      video.muted = false;
      ui.unmute.hidden = true;
    });
    click(ui.fullscreen, () => this.#act('fullscreen'));
    click(ui.pip, () => {
      if (this.#inPictureInPicture) void document.exitPictureInPicture();
      else void video.requestPictureInPicture().catch((err: unknown) => console.warn('[swarmcast] picture-in-picture refused', err));
    });
    click(ui.live, () => this.#player?.seekToLive());
    click(ui.qualityButton, () => this.#toggleMenu(ui.qualityButton, ui.qualityMenu, () => this.#qualityItems()));
    click(ui.latencyButton, () => this.#toggleMenu(ui.latencyButton, ui.latencyMenu, () => this.#latencyItems()));
    video.addEventListener('click', () => this.#act('toggle-play'));
    video.addEventListener('dblclick', () => this.#act('fullscreen'));
    for (const type of ['play', 'pause']) video.addEventListener(type, () => this.#showPlaying());
    video.addEventListener('volumechange', () => this.#showVolume());
    video.addEventListener('enterpictureinpicture', () => (this.#inPictureInPicture = true));
    video.addEventListener('leavepictureinpicture', () => (this.#inPictureInPicture = false));
    this.#volume.addEventListener('input', () => {
      video.volume = Number(this.#volume.value);
      video.muted = video.volume === 0;
    });
    this.addEventListener('fullscreenchange', () => this.#showFullscreen());
    this.addEventListener('keydown', (event) => this.#onKey(event));
    for (const type of ['pointermove', 'pointerdown', 'focusin']) this.addEventListener(type, () => this.#wake());
    this.addEventListener('pointerleave', () => this.#wake(0));
    ui.root.addEventListener('pointerdown', (event) => {
      if (!event.composedPath().some((node) => node instanceof HTMLElement && node.classList.contains('menu'))) this.#closeMenus();
    });
  }

  #onKey(event: KeyboardEvent): void {
    const target = event.composedPath()[0];
    const menu = target instanceof HTMLElement ? target.closest('[role=menu]') : null;
    if (menu) {
      this.#onMenuKey(event, menu as HTMLElement);
      return;
    }
    if (event.key === 'Escape') this.#closeMenus();
    const action = keyAction(event);
    // Buttons take space (and the slider its arrows) themselves.
    if (!action || target instanceof HTMLInputElement || (target instanceof HTMLButtonElement && event.key === ' ')) return;
    event.preventDefault();
    this.#act(action);
  }

  #act(action: KeyAction): void {
    const video = this.#video;
    this.#wake();
    switch (action) {
      case 'toggle-play':
        if (video.paused) void this.play();
        else this.pause();
        return;
      case 'toggle-mute':
        video.muted = !video.muted;
        if (!video.muted) this.#ui.unmute.hidden = true;
        return;
      case 'fullscreen':
        this.#toggleFullscreen();
        return;
      case 'seek-back':
      case 'seek-forward': {
        const seekable = video.seekable.length > 0 ? { start: video.seekable.start(0), end: video.seekable.end(video.seekable.length - 1) } : null;
        const to = seekTarget(video.currentTime, action === 'seek-back' ? -SEEK_STEP_S : SEEK_STEP_S, seekable);
        if (to === 'live') this.#player?.seekToLive();
        else video.currentTime = to;
        return;
      }
      case 'volume-up':
      case 'volume-down':
        video.volume = stepVolume(video.volume, action === 'volume-up');
        if (action === 'volume-up') video.muted = false;
        return;
    }
  }

  #isFullscreen(): boolean {
    return document.fullscreenElement === this;
  }

  #toggleFullscreen(): void {
    if (this.#isFullscreen()) void document.exitFullscreen();
    else if (document.fullscreenEnabled) void this.requestFullscreen().catch((err: unknown) => console.warn('[swarmcast] full screen refused', err));
    // iOS Safari: only the video itself goes full screen.
    else this.#video.webkitEnterFullscreen?.();
  }

  /** Shows the controls and hides them again after `delayMs` of no activity while playing. */
  #wake(delayMs = IDLE_MS): void {
    const root = this.#ui.root;
    root.classList.remove('idle');
    clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(() => {
      const menuOpen = !this.#ui.qualityMenu.hidden || !this.#ui.latencyMenu.hidden;
      if (!this.#video.paused && !menuOpen) root.classList.add('idle');
    }, delayMs);
  }

  #toggleMenu(button: HTMLElement, menu: HTMLElement, items: () => MenuItem[]): void {
    const open = menu.hidden;
    this.#closeMenus();
    if (!open) return;
    menu.replaceChildren(
      ...items().map((item) => {
        const entry = document.createElement('button');
        entry.type = 'button';
        entry.setAttribute('role', 'menuitemradio');
        entry.setAttribute('aria-checked', String(item.checked));
        entry.tabIndex = -1;
        entry.textContent = item.label;
        entry.addEventListener('click', () => {
          item.select();
          this.#closeMenus();
          button.focus();
        });
        return entry;
      }),
    );
    menu.hidden = false;
    button.setAttribute('aria-expanded', 'true');
    (menu.querySelector<HTMLElement>('[aria-checked=true]') ?? menu.querySelector<HTMLElement>('button'))?.focus();
  }

  #onMenuKey(event: KeyboardEvent, menu: HTMLElement): void {
    const items = [...menu.querySelectorAll<HTMLElement>('button')];
    const at = items.indexOf(event.composedPath()[0] as HTMLElement);
    const move = event.key === 'ArrowDown' ? 1 : event.key === 'ArrowUp' ? -1 : 0;
    if (move !== 0) {
      event.preventDefault();
      items[(at + move + items.length) % items.length]?.focus();
    } else if (event.key === 'Escape' || event.key === 'Tab') {
      if (event.key === 'Escape') event.preventDefault();
      this.#closeMenus();
      this.#ui.root.querySelector<HTMLElement>(`[aria-controls="${menu.id}"]`)?.focus();
    }
  }

  #closeMenus(): void {
    for (const [button, menu] of [
      [this.#ui.qualityButton, this.#ui.qualityMenu],
      [this.#ui.latencyButton, this.#ui.latencyMenu],
    ] as const) {
      menu.hidden = true;
      button.setAttribute('aria-expanded', 'false');
    }
  }

  #qualityItems(): MenuItem[] {
    const player = this.#player;
    const auto = this.#quality.auto;
    return [
      { label: 'Auto', checked: auto, select: () => player?.setQuality(null) },
      ...this.#rungs.map((rung) => ({ label: rung.name, checked: !auto && rung.level === this.#quality.level, select: () => player?.setQuality(rung.name) })),
    ];
  }

  #latencyItems(): MenuItem[] {
    const current = this.#latencyMode();
    return LATENCY_MODES.map((mode) => ({ label: LATENCY_LABELS[mode], checked: mode === current, select: () => this.setAttribute('latency', mode) }));
  }

  #latencyMode(): LatencyMode {
    const value = this.getAttribute('latency');
    return LATENCY_MODES.find((mode) => mode === value) ?? 'low';
  }

  #showPlaying(): void {
    const paused = this.#video.paused;
    this.#ui.play.innerHTML = paused ? ICONS.play : ICONS.pause;
    this.#ui.play.setAttribute('aria-label', paused ? 'Play' : 'Pause');
    this.#wake();
  }

  #showVolume(): void {
    const video = this.#video;
    const muted = video.muted || video.volume === 0;
    this.#ui.mute.innerHTML = muted ? ICONS.muted : ICONS.volume;
    this.#ui.mute.setAttribute('aria-label', muted ? 'Unmute' : 'Mute');
    this.#volume.value = String(video.muted ? 0 : video.volume);
    if (!video.muted) this.#ui.unmute.hidden = true;
  }

  #showFullscreen(): void {
    const full = this.#isFullscreen();
    this.#ui.fullscreen.innerHTML = full ? ICONS.exitFullscreen : ICONS.fullscreen;
    this.#ui.fullscreen.setAttribute('aria-label', full ? 'Exit full screen' : 'Full screen');
  }

  #showLatencyMode(): void {
    const mode = this.#latencyMode();
    this.#ui.latencyButton.textContent = mode === 'low' ? 'Low' : 'P2P';
    this.#ui.latencyButton.setAttribute('aria-label', `Latency mode: ${this.#ui.latencyButton.textContent} (${LATENCY_LABELS[mode]})`);
  }

  #showLive(stats: PlayerStats | null): void {
    const badge = liveBadge(stats?.latencyMs ?? null, stats?.targetLatencyMs ?? null, this.#video.paused && stats !== null);
    const live = this.#ui.live;
    live.textContent = badge.text;
    live.setAttribute('aria-label', badge.label);
    live.classList.toggle('behind', badge.behind);
  }

  #showQuality(): void {
    const button = this.#ui.qualityButton;
    const { auto, rendition } = this.#quality;
    button.hidden = this.#rungs.length < 2;
    const text = auto ? `Auto${rendition ? ` (${rendition})` : ''}` : (rendition ?? 'Auto');
    button.textContent = text;
    button.setAttribute('aria-label', `Quality: ${text}${auto ? '' : ', pinned'}`);
  }
}

// Typed `addEventListener` for the element's events (declaration merging with the class above).
export interface SwarmcastPlayerElement {
  addEventListener<K extends keyof SwarmcastPlayerElementEventMap>(
    type: K,
    listener: (this: SwarmcastPlayerElement, event: SwarmcastPlayerElementEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof SwarmcastPlayerElementEventMap>(
    type: K,
    listener: (this: SwarmcastPlayerElement, event: SwarmcastPlayerElementEventMap[K]) => unknown,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | EventListenerOptions): void;
}

declare global {
  interface HTMLElementTagNameMap {
    'swarmcast-player': SwarmcastPlayerElement;
  }
}
