// Keeps a stream's packager across its publisher's reconnects: a publish session that drops leaves its stream live for
// a grace period, and the next session on the same name within it continues the stream instead of starting another.
import { CONNECTION_LOST, type FieldPath, type Ingest, type PublishedStream, type PublishEndReason } from '../ingest/index.ts';
import { log } from '../log.ts';
import { StreamPackager } from './stream-packager.ts';

export interface ReconnectGraceOptions {
  /** How long a stream whose publisher dropped waits for it, ms; 0: the stream ends with its session. */
  graceMs: number;
  partTargetUs: number;
  segmentTargetUs: number;
}

export class ReconnectGrace {
  #options: ReconnectGraceOptions;
  /** Packagers of live streams, by stream name, with the timer of the grace period while their publisher is away. */
  #streams = new Map<string, { packager: StreamPackager; graceTimer: NodeJS.Timeout | undefined }>();
  #closed = false;

  constructor(options: ReconnectGraceOptions) {
    this.#options = options;
  }

  /**
   * Packages a published stream until its end: returns the new packager to serve, or undefined when the session
   * continues a stream in its grace period (its packager is already served). A message the packager refuses ends the
   * session as a protocol error.
   */
  package(published: PublishedStream): StreamPackager | undefined {
    const name = published.streamName;
    const waiting = this.#streams.get(name);
    let packager: StreamPackager;
    if (waiting?.graceTimer) {
      clearTimeout(waiting.graceTimer);
      waiting.graceTimer = undefined;
      packager = waiting.packager;
      packager.resume();
      log('info', 'publish.resumed', { stream: name });
    } else {
      // A stream still live under this name cannot be here (the ingest admits one session per name), so a stale entry is an ended one.
      packager = new StreamPackager({ streamName: name, partTargetUs: this.#options.partTargetUs, segmentTargetUs: this.#options.segmentTargetUs });
      this.#streams.set(name, { packager, graceTimer: undefined });
      packager.on('end', () => {
        if (this.#streams.get(name)?.packager === packager) this.#streams.delete(name);
      });
    }
    published.on('message', (message) => {
      try {
        packager.push(message);
      } catch (err) {
        published.fail((err as Error).message);
      }
    });
    published.on('end', (reason) => this.#ended(name, packager, reason));
    return waiting?.packager === packager ? undefined : packager;
  }

  /** The publisher that dropped says it stops after all (a Stop pressed while it was reconnecting): its stream ends now. */
  abandon(name: string): void {
    const stream = this.#streams.get(name);
    if (!stream?.graceTimer) return;
    clearTimeout(stream.graceTimer);
    stream.graceTimer = undefined;
    log('info', 'publish.grace-ended', { stream: name, reason: 'stopped' });
    stream.packager.end();
  }

  /** Ends every stream waiting for its publisher. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const { packager, graceTimer } of [...this.#streams.values()]) {
      if (graceTimer) {
        clearTimeout(graceTimer);
        packager.end();
      }
    }
    this.#streams.clear();
  }

  #ended(name: string, packager: StreamPackager, reason: PublishEndReason): void {
    const stream = this.#streams.get(name);
    if (stream?.packager !== packager) return;
    if (this.#closed || this.#options.graceMs <= 0 || !CONNECTION_LOST.has(reason)) {
      packager.end();
      return;
    }
    packager.interrupt();
    stream.graceTimer = setTimeout(() => {
      stream.graceTimer = undefined;
      log('info', 'publish.grace-expired', { stream: name, graceMs: this.#options.graceMs });
      packager.end();
    }, this.#options.graceMs);
    stream.graceTimer.unref();
    log('info', 'publish.grace', { stream: name, reason, graceMs: this.#options.graceMs });
  }
}

/**
 * The server's wiring of its ingest to the grace: each admitted stream packaged (as `through` hands it on: the origin's
 * transcoding adds rungs to a field encoder's; undefined when it failed the session, which has ended), a new packager handed to `serve` (a continued one is served already),
 * and a stream its publisher abandoned (Stop while reconnecting) ended now.
 */
export function packageIngest(
  ingest: Ingest,
  grace: ReconnectGrace,
  serve: (name: string, packager: StreamPackager) => void,
  through: (published: PublishedStream, fieldPath: FieldPath | undefined) => PublishedStream | undefined = (published) => published,
): void {
  ingest.on('stream', (published, fieldPath) => {
    const stream = through(published, fieldPath);
    if (!stream) return;
    const packager = grace.package(stream);
    if (packager) serve(published.streamName, packager);
  });
  ingest.on('abandoned', (name) => grace.abandon(name));
}
