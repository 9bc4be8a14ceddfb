// Placeholder for the embed stage's entry (the real element comes from the ELEMENT helper): defines
// `swarmcast-player`, a video in an open shadow root playing `stream` from the server this module was loaded from.
import { SwarmcastPlayer, playbackUrl } from '../player/index.ts';

export class SwarmcastPlayerElement extends HTMLElement {
  #player: SwarmcastPlayer | undefined;

  connectedCallback(): void {
    const video = document.createElement('video');
    video.muted = true;
    video.playsInline = true;
    video.style.width = '100%';
    this.attachShadow({ mode: 'open' }).append(video);
    const server = this.getAttribute('server') ?? new URL(import.meta.url).origin;
    this.#player = new SwarmcastPlayer(video);
    this.#player.on('state', (state, reason) => {
      this.dataset.state = state;
      this.dataset.reason = reason;
    });
    this.#player.load(playbackUrl(this.getAttribute('stream') ?? '', server));
  }

  disconnectedCallback(): void {
    this.#player?.destroy();
  }
}

if (!customElements.get('swarmcast-player')) customElements.define('swarmcast-player', SwarmcastPlayerElement);
