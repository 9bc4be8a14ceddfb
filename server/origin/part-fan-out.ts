// The part in production and its readers: each chunk the packager writes goes at once to every request streaming it.
import type { PartChunk } from '../packager/index.ts';
import { OriginError } from './errors.ts';

/** Someone following a part while it is produced (a streamed HTTP response): fed the part's chunks as they come. */
export interface PartReader {
  chunk(data: Uint8Array): void;
  /** The part is complete: every chunk has been given. */
  end(): void;
  /** The part will never complete (the stream closed or broke off mid-part). */
  abort(reason: string): void;
}

/** The part in production: its chunks so far, shared by every reader (no per-reader copies). */
interface ProducingPart {
  msn: number;
  partIndex: number;
  chunks: Uint8Array[];
  readers: Set<PartReader>;
}

export class PartFanOut {
  readonly streamName: string;
  readonly rendition: string;
  #producing: ProducingPart | undefined;

  constructor(streamName: string, rendition: string) {
    this.streamName = streamName;
    this.rendition = rendition;
  }

  /** True while part `msn`.`partIndex` is being produced (its first chunk is in, the part is not complete). */
  producing(msn: number, partIndex: number): boolean {
    return this.#producing?.msn === msn && this.#producing.partIndex === partIndex;
  }

  /** Chunk 0 of the part `due` next: production of that part starts. */
  start(chunk: PartChunk, due: { msn: number; partIndex: number } | undefined): void {
    if (this.#producing || !due || due.msn !== chunk.msn || due.partIndex !== chunk.partIndex) {
      throw new OriginError('bad-media', this.streamName, `rendition ${this.rendition}: chunk of part ${chunk.msn}.${chunk.partIndex} where ${due ? `${due.msn}.${due.partIndex}` : 'nothing'} was due`);
    }
    this.#producing = { msn: chunk.msn, partIndex: chunk.partIndex, chunks: [chunk.data], readers: new Set() };
  }

  /** A later chunk of the part in production, handed to every reader. */
  add(chunk: PartChunk): void {
    const producing = this.#producing;
    if (!producing || producing.msn !== chunk.msn || producing.partIndex !== chunk.partIndex || producing.chunks.length !== chunk.chunkIndex) {
      throw new OriginError('bad-media', this.streamName, `rendition ${this.rendition}: chunk ${chunk.chunkIndex} of part ${chunk.msn}.${chunk.partIndex} out of order`);
    }
    producing.chunks.push(chunk.data);
    for (const reader of [...producing.readers]) reader.chunk(chunk.data);
  }

  /**
   * Follows the part in production: gives `reader` the chunks produced so far at once, then each new one, then
   * `end` when the part completes (or `abort`). Returns how to stop following, or undefined when that part is not
   * in production.
   */
  follow(msn: number, partIndex: number, reader: PartReader): (() => void) | undefined {
    const producing = this.#producing;
    if (!producing || producing.msn !== msn || producing.partIndex !== partIndex) return undefined;
    for (const data of producing.chunks) reader.chunk(data);
    producing.readers.add(reader);
    return () => producing.readers.delete(reader);
  }

  /**
   * The part in production completes as part `msn`.`partIndex` of `byteLength` bytes, which must be its chunks followed
   * by `tail`: bytes known only at the part's end (an encrypted part's padded last block), handed to every reader first.
   */
  complete(msn: number, partIndex: number, byteLength: number, tail?: Uint8Array): void {
    const producing = this.#producing;
    if (!producing) return;
    if (producing.msn !== msn || producing.partIndex !== partIndex) {
      throw new OriginError('bad-media', this.streamName, `rendition ${this.rendition}: part ${msn}.${partIndex} completed while ${producing.msn}.${producing.partIndex} was in production`);
    }
    if (tail) {
      producing.chunks.push(tail);
      for (const reader of producing.readers) reader.chunk(tail);
    }
    const streamed = producing.chunks.reduce((sum, c) => sum + c.byteLength, 0);
    if (streamed !== byteLength) {
      throw new OriginError('bad-media', this.streamName, `rendition ${this.rendition}: part ${msn}.${partIndex} is ${byteLength} bytes, its chunks ${streamed}`);
    }
    this.#producing = undefined;
    for (const reader of producing.readers) reader.end();
  }

  /** The part in production will never complete: its readers are told why. */
  abandon(reason: string): void {
    const producing = this.#producing;
    this.#producing = undefined;
    for (const reader of producing?.readers ?? []) reader.abort(reason);
  }
}
