// The PublishedStream of a publisher whose connection the ingest reads itself (RTMP, SRT): the connection pushes wire messages and ends it.
import { randomBytes } from 'node:crypto';
import { TypedEmitter, type ErrorContext } from '../../shared/events.ts';
import type { WireMessage } from '../../shared/protocol/index.ts';
import type { IngestSession, PublishEndReason, PublishedStreamEvents } from './published-stream.ts';

export class PushedStream extends TypedEmitter<PublishedStreamEvents & { error: [Error] }> implements IngestSession {
  readonly id = randomBytes(8).toString('hex');
  readonly stats = { bytesReceived: 0 };
  readonly streamName: string;
  /** The ingest path, for logs and errors (`rtmp`, `srt`). */
  readonly path: string;
  readonly transcode: string | undefined;
  /** Ends the connection behind it. */
  #onClose: (reason: PublishEndReason, detail: string | undefined) => void;
  #closed = false;

  /** `transcode`: the publisher's choice of origin transcoding from its URL (PublishedStream.transcode). */
  constructor(path: string, streamName: string, onClose: (reason: PublishEndReason, detail: string | undefined) => void, transcode?: string) {
    super();
    this.path = path;
    this.transcode = transcode;
    this.streamName = streamName;
    this.#onClose = onClose;
  }

  /** Hands one wire message to the consumer (the packager). */
  push(message: Exclude<WireMessage, { type: 'end' }>): void {
    if (!this.#closed) this.emit('message', message);
  }

  get closed(): boolean {
    return this.#closed;
  }

  fail(detail: string): void {
    this.close('protocol-error', detail);
  }

  close(reason: PublishEndReason, detail?: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#onClose(reason, detail);
    this.emit('end', reason, detail);
    this.removeAllListeners();
  }

  protected override errorContext(): ErrorContext {
    return { stream: this.streamName, session: this.id, path: this.path };
  }
}
