// One published stream as the origin serves it: its renditions' timelines, fed by the packager's events until the stream ends or is closed.
import { encryptsStream, StreamKeys } from '../access/index.ts';
import type { PackagerEvents } from '../packager/index.ts';
import { TypedEmitter } from '../../shared/events.ts';
import { isValidRenditionName } from '../../shared/stream-name.ts';
import { log } from '../log.ts';
import type { OriginConfig } from './config.ts';
import { OriginError } from './errors.ts';
import type { RenditionReport } from './playlist/render-media.ts';
import type { VariantSnapshot } from './playlist/render-multivariant.ts';
import { RenditionTimeline, type RenditionTimelineOptions } from './rendition-timeline.ts';

type PackagerListener<K extends keyof PackagerEvents> = (...args: PackagerEvents[K]) => void;

/** What the origin needs from the packager: its events (the packager class itself is wired by the server). */
export interface PackagedStream {
  on<K extends keyof PackagerEvents>(event: K, listener: PackagerListener<K>): unknown;
  off<K extends keyof PackagerEvents>(event: K, listener: PackagerListener<K>): unknown;
}

export type LiveStreamEvents = {
  /** The packager ended the stream; playlists now carry EXT-X-ENDLIST. */
  end: [];
  close: [];
  /** A segment longer than every one before raised a rendition's published EXT-X-TARGETDURATION. */
  targetDurationRaised: [];
};

export class LiveStream extends TypedEmitter<LiveStreamEvents> {
  readonly name: string;
  /** Per-publish id embedded in every object name. */
  readonly epoch: string;
  #config: OriginConfig;
  #source: PackagedStream;
  #renditions = new Map<string, RenditionTimeline>();
  /** The media keys, when the stream is encrypted (ENCRYPTED_STREAMS). */
  #keys: StreamKeys | undefined;
  #refused = new Set<string>();
  #ended = false;
  #closed = false;

  #onInit: PackagerListener<'init'> = (init) => this.#feed(init.rendition, (timeline) => timeline.setInit(init));
  #onChunk: PackagerListener<'chunk'> = (chunk) => this.#feed(chunk.rendition, (timeline) => timeline.addChunk(chunk));
  #onPart: PackagerListener<'part'> = (part) => this.#feed(part.rendition, (timeline) => timeline.addPart(part));
  #onSegment: PackagerListener<'segment'> = (info) => {
    this.#feed(info.rendition, (timeline) => timeline.completeSegment(info));
    this.#forgetOldKeys();
  };
  #onEnd: PackagerListener<'end'> = () => this.end();
  #onError: PackagerListener<'error'> = (err) => log('warn', 'origin.packager-error', { stream: this.name, reason: err.message });

  constructor(name: string, epoch: string, source: PackagedStream, config: OriginConfig) {
    super();
    this.name = name;
    this.epoch = epoch;
    this.#config = config;
    this.#source = source;
    if (encryptsStream(config.encryption, name)) this.#keys = new StreamKeys(name, config.encryption.rotationSegments);
    source.on('init', this.#onInit);
    source.on('chunk', this.#onChunk);
    source.on('part', this.#onPart);
    source.on('segment', this.#onSegment);
    source.on('end', this.#onEnd);
    source.on('error', this.#onError);
  }

  get ended(): boolean {
    return this.#ended;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** At least one rendition has an init and a part, so the multivariant playlist can be served. */
  get ready(): boolean {
    return this.renditions().some((timeline) => timeline.ready);
  }

  rendition(name: string): RenditionTimeline | undefined {
    return this.#renditions.get(name);
  }

  renditions(): RenditionTimeline[] {
    return [...this.#renditions.values()];
  }

  /** The renditions ready to play (the multivariant playlist puts them in start order). */
  variants(): VariantSnapshot[] {
    return this.renditions()
      .filter((timeline) => timeline.ready)
      .map((timeline) => timeline.variant())
      .filter((variant): variant is VariantSnapshot => variant !== undefined);
  }

  /** EXT-X-RENDITION-REPORT entries for `timeline`'s playlist: where every other rendition's playlist ends, now. */
  renditionReports(timeline: RenditionTimeline): RenditionReport[] {
    const reports: RenditionReport[] = [];
    for (const other of this.#renditions.values()) {
      if (other === timeline || !other.ready) continue;
      const report = other.report();
      if (report) reports.push({ rendition: other.rendition, ...report });
    }
    return reports;
  }

  /** Marks the stream ended: every rendition's playlist gets EXT-X-ENDLIST and held requests are answered. Idempotent. */
  end(): void {
    if (this.#ended || this.#closed) return;
    this.#ended = true;
    for (const timeline of this.#renditions.values()) timeline.end();
    this.#detachSource();
    this.emit('end');
  }

  /** Stops serving: detaches from the packager and answers every held request. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#detachSource();
    for (const timeline of this.#renditions.values()) timeline.close();
    this.emit('close');
    this.removeAllListeners();
  }

  #feed(rendition: string, apply: (timeline: RenditionTimeline) => void): void {
    if (this.#ended || this.#closed) return;
    let timeline = this.#renditions.get(rendition);
    if (!timeline) {
      if (!isValidRenditionName(rendition)) {
        if (!this.#refused.has(rendition)) log('warn', 'origin.bad-rendition', { stream: this.name, rendition });
        this.#refused.add(rendition);
        return;
      }
      const options: RenditionTimelineOptions = {
        streamName: this.name,
        rendition,
        epoch: this.epoch,
        config: this.#config,
        onTargetDurationRaised: () => this.emit('targetDurationRaised'),
      };
      if (this.#keys) options.keys = this.#keys;
      timeline = new RenditionTimeline(options);
      this.#renditions.set(rendition, timeline);
    }
    try {
      apply(timeline);
    } catch (err) {
      if (!(err instanceof OriginError)) throw err;
      // Media out of order cannot be served coherently; end the stream so players see a clean ENDLIST rather than a broken playlist.
      log('error', 'origin.bad-media', { stream: this.name, rendition, reason: err.message });
      this.end();
    }
  }

  /** Keys are held while any rendition still serves a segment of their period, and dropped after. */
  #forgetOldKeys(): void {
    if (!this.#keys) return;
    const oldest = this.renditions()
      .map((timeline) => timeline.firstMsn)
      .filter((msn): msn is number => msn !== undefined);
    if (oldest.length > 0) this.#keys.forgetBefore(Math.min(...oldest));
  }

  #detachSource(): void {
    this.#source.off('init', this.#onInit);
    this.#source.off('chunk', this.#onChunk);
    this.#source.off('part', this.#onPart);
    this.#source.off('segment', this.#onSegment);
    this.#source.off('end', this.#onEnd);
    this.#source.off('error', this.#onError);
  }
}
