// The origin: a registry of live streams by name, each attached to its packager, with ended streams retained for a while.
import type { SwarmVariant } from '../../shared/p2p-swarm.ts';
import { log } from '../log.ts';
import type { OriginConfig } from './config.ts';
import { resolveOriginConfig } from './config.ts';
import { OriginError } from './errors.ts';
import type { PackagedStream } from './live-stream.ts';
import { LiveStream } from './live-stream.ts';
import { swarmVariantOf } from './playlist/render-multivariant.ts';

let lastEpochMs = 0;

/** A per-publish id: the attach time in base36, strictly increasing within the process so two publishes never share one. */
function nextEpoch(): string {
  lastEpochMs = Math.max(Date.now(), lastEpochMs + 1);
  return lastEpochMs.toString(36);
}

export class Origin {
  readonly config: OriginConfig;
  #streams = new Map<string, LiveStream>();
  #retention = new Map<LiveStream, NodeJS.Timeout>();
  #targetDurationRaises = 0;
  #closed = false;

  constructor(config: Partial<OriginConfig> = {}) {
    this.config = resolveOriginConfig(config);
  }

  /**
   * Starts serving a packaged stream under `name`. A new publish replaces an ended stream of the same name;
   * a stream still live under that name is refused (`stream-busy`).
   */
  attach(name: string, source: PackagedStream): LiveStream {
    if (this.#closed) throw new OriginError('closed', name, 'origin is closed');
    const existing = this.#streams.get(name);
    if (existing && !existing.ended) throw new OriginError('stream-busy', name, 'stream is live');
    if (existing) this.detach(name);
    const stream = new LiveStream(name, nextEpoch(), source, this.config);
    stream.on('end', () => this.#retain(stream));
    stream.on('targetDurationRaised', () => this.#targetDurationRaises++);
    this.#streams.set(name, stream);
    log('info', 'origin.attach', { stream: name, epoch: stream.epoch });
    return stream;
  }

  /** Stops serving `name`, answering its held requests. Returns whether a stream was there. */
  detach(name: string): boolean {
    const stream = this.#streams.get(name);
    if (!stream) return false;
    this.#streams.delete(name);
    clearTimeout(this.#retention.get(stream));
    this.#retention.delete(stream);
    stream.close();
    log('info', 'origin.detach', { stream: name, epoch: stream.epoch });
    return true;
  }

  has(name: string): boolean {
    return this.#streams.has(name);
  }

  get(name: string): LiveStream | undefined {
    return this.#streams.get(name);
  }

  /**
   * Every variant the multivariant playlists of the streams being served have listed (each rendition's current rates
   * and those published before them), as the playlist wrote them: the P2P swarms a viewer of these streams may be in.
   */
  publishedVariants(): Array<{ stream: string; rendition: string; variant: SwarmVariant }> {
    const published: Array<{ stream: string; rendition: string; variant: SwarmVariant }> = [];
    for (const stream of this.#streams.values()) {
      for (const timeline of stream.renditions()) {
        for (const variant of timeline.publishedVariants()) published.push({ stream: stream.name, rendition: timeline.rendition, variant: swarmVariantOf(variant) });
      }
    }
    return published;
  }

  /** Times a rendition's published EXT-X-TARGETDURATION was raised since start (a source whose GOP grew). */
  get targetDurationRaises(): number {
    return this.#targetDurationRaises;
  }

  /** Streams being served, live or ended and still retained. */
  get streamCount(): number {
    return this.#streams.size;
  }

  /** Closes every stream and answers all held requests. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const name of [...this.#streams.keys()]) this.detach(name);
  }

  #retain(stream: LiveStream): void {
    // Players still inside the final playlist need its objects for a while after the end.
    const timer = setTimeout(() => {
      if (this.#streams.get(stream.name) === stream) this.detach(stream.name);
    }, this.config.endedRetentionMs);
    timer.unref();
    this.#retention.set(stream, timer);
  }
}
