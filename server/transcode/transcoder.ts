// The origin's transcoding: which published streams get a ladder (field encoders' only, the server's ladder or the
// publisher's own), the worker budget (a count, and cores), and each stream's status for the API and /metrics.
import type { FieldPath, PublishedStream } from '../ingest/index.ts';
import { log } from '../log.ts';
import { overBudget } from './cost.ts';
import { TranscodeLadderError } from './errors.ts';
import { formatLadder, parseLadder, type RungSpec } from './ladder.ts';
import { TranscodedStream, type TranscodeStatus } from './transcoded-stream.ts';

export interface TranscodeConfig {
  /** The ladder single-rendition sources get (`480p:1200k,240p:400k`); empty: no transcoding unless a publisher asks. */
  ladder: readonly RungSpec[];
  /** Streams transcoded at once; more are published with the source rendition alone. */
  maxStreams: number;
  /** A worker whose oldest frame in flight waited longer than this while later input came is restarted, ms. */
  maxLagMs: number;
  /**
   * Cores the workers may use together: a new ladder whose estimate does not fit beside the running workers' measured
   * use is refused (its stream published with the source rendition alone); undefined: no budget but maxStreams.
   */
  cpuBudget: number | undefined;
}

export const TRANSCODE_DEFAULTS: TranscodeConfig = { ladder: [], maxStreams: 2, maxLagMs: 2000, cpuBudget: undefined };

export class Transcoder {
  #config: TranscodeConfig;
  #ffmpegPath: string;
  /** Transcoded streams live now, by name. */
  #streams = new Map<string, TranscodedStream>();
  /** Streams live now that were refused for capacity, by name, with why. */
  #refused = new Map<string, TranscodeStatus>();
  #refusedTotal = 0;
  #restartsEnded = 0;
  #closed = false;

  constructor(config: TranscodeConfig, ffmpegPath = 'ffmpeg') {
    this.#config = config;
    this.#ffmpegPath = ffmpegPath;
  }

  /**
   * The stream the packager should get for `published`: itself (browser publishers send their own rungs; no ladder;
   * no capacity left) or it with the rungs of its ladder. A publisher's ladder that cannot be parsed fails its session:
   * undefined then (the session has ended; there is nothing to package).
   */
  wrap(published: PublishedStream, fieldPath: FieldPath | undefined): PublishedStream | undefined {
    const name = published.streamName;
    if (fieldPath === undefined || this.#closed) return published;
    let ladder = this.#config.ladder;
    if (published.transcode !== undefined) {
      try {
        ladder = parseLadder(published.transcode, name);
      } catch (err) {
        if (!(err instanceof TranscodeLadderError)) throw err;
        published.fail(err.message);
        return undefined;
      }
    }
    if (ladder.length === 0) return published;
    const busy = [...this.#streams.values()].filter((s) => s.holdsSlot).length;
    if (busy >= this.#config.maxStreams) {
      const reason = `the server is transcoding ${busy} streams, its limit (TRANSCODE_MAX_STREAMS=${this.#config.maxStreams}): published with the source rendition alone`;
      this.#refusedTotal++;
      const refused: TranscodeStatus = { stream: name, state: 'refused', ladder: formatLadder(ladder), reason, restarts: 0, rungs: [] };
      this.#refused.set(name, refused);
      published.on('end', () => {
        if (this.#refused.get(name) === refused) this.#refused.delete(name);
      });
      log('warn', 'transcode.refused', { stream: name, path: fieldPath, reason });
      return published;
    }
    const budget = this.#config.cpuBudget;
    const admit = (estimatedCores: number): string | undefined => {
      if (budget === undefined) return undefined;
      const running = [...this.#streams.values()].filter((s) => s !== stream && s.holdsSlot).map((s) => s.cores);
      const reason = overBudget(budget, running, estimatedCores);
      if (reason !== undefined) this.#refusedTotal++;
      return reason;
    };
    const stream: TranscodedStream = new TranscodedStream(published, { ladder, maxLagMs: this.#config.maxLagMs, ffmpegPath: this.#ffmpegPath, admit });
    this.#streams.set(name, stream);
    stream.on('end', () => {
      if (this.#streams.get(name) !== stream) return;
      this.#restartsEnded += stream.status().restarts;
      this.#streams.delete(name);
    });
    return stream;
  }

  /** The transcoding status of the live stream `name`; undefined when it is not live, or not a field encoder's with a ladder. */
  status(name: string): TranscodeStatus | undefined {
    return this.#refused.get(name) ?? this.#streams.get(name)?.status();
  }

  /** The statuses of the streams whose worker is running or restarting. */
  active(): TranscodeStatus[] {
    return [...this.#streams.values()].filter((s) => s.state === 'running' || s.state === 'restarting').map((s) => s.status());
  }

  get refusedTotal(): number {
    return this.#refusedTotal;
  }

  /** Workers restarted since start (after one died or fell behind). */
  get restartsTotal(): number {
    let total = this.#restartsEnded;
    for (const stream of this.#streams.values()) total += stream.status().restarts;
    return total;
  }

  /** Stops every worker and forgets the streams (their restarts stay counted). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const stream of this.#streams.values()) {
      stream.close();
      this.#restartsEnded += stream.status().restarts;
    }
    this.#streams.clear();
    this.#refused.clear();
  }
}
