// The encrypted view of one rendition of an encrypted stream: the packager's CMAF stays clear, and the origin serves
// each part and each segment as its own AES-128-CBC run under the segment's key period (what hls.js decrypts), the
// part in production encrypted chunk by chunk as it is streamed.
import { CbcRun, encryptResource, MediaKeyError, type MediaKey, type StreamKeys } from '../access/index.ts';
import type { Part, PartChunk } from '../packager/index.ts';
import { OriginError } from './errors.ts';

/** The CBC run of the part in production, fed chunk by chunk. */
interface PartRun {
  msn: number;
  partIndex: number;
  run: CbcRun;
  /** Ciphertext given out so far. */
  out: Uint8Array[];
}

/** The CBC run of the segment in production, fed part by part. */
interface SegmentRun {
  msn: number;
  run: CbcRun;
  /** Ciphertext so far. */
  out: Uint8Array[];
  /** Clear bytes fed so far. */
  clearBytes: number;
}

export class EncryptedView {
  #keys: StreamKeys;
  #part: PartRun | undefined;
  #segment: SegmentRun | undefined;

  constructor(keys: StreamKeys) {
    this.#keys = keys;
  }

  /** The key segment `msn` is encrypted with (its EXT-X-KEY). */
  #keyOf(msn: number): MediaKey {
    try {
      return this.#keys.forSegment(msn);
    } catch (err) {
      // Media for a forgotten key period is out of order: the stream ends like for any media out of order.
      if (err instanceof MediaKeyError) throw new OriginError('bad-media', err.stream, err.reason);
      throw err;
    }
  }

  /**
   * The ciphertext to stream for a chunk of the part in production: its complete blocks, the rest held for the next
   * chunk (at most 15 bytes, so a streamed part keeps its pace). Chunk 0 starts the part's run.
   */
  chunk(chunk: PartChunk): Uint8Array {
    if (chunk.chunkIndex === 0) {
      this.#part = { msn: chunk.msn, partIndex: chunk.partIndex, run: new CbcRun(this.#keyOf(chunk.msn)), out: [] };
    }
    const part = this.#part;
    if (!part || part.msn !== chunk.msn || part.partIndex !== chunk.partIndex) {
      throw new OriginError('bad-media', this.#keys.streamName, `chunk ${chunk.chunkIndex} of part ${chunk.msn}.${chunk.partIndex} out of order`);
    }
    const data = part.run.update(chunk.data);
    part.out.push(data);
    return data;
  }

  /**
   * A part completes: its whole ciphertext, and `tail`, the bytes its stream still lacks (the padded last block; the
   * whole ciphertext when no chunk was streamed). The clear bytes feed the segment's own run. A gap part has no bytes
   * and stays empty.
   */
  part(part: Part): { data: Uint8Array; tail: Uint8Array } {
    if (part.partIndex === 0) this.#segment = { msn: part.msn, run: new CbcRun(this.#keyOf(part.msn)), out: [], clearBytes: 0 };
    if (part.gap || part.data.byteLength === 0) return { data: part.data, tail: part.data };
    const segment = this.#segment;
    if (segment?.msn === part.msn) {
      segment.out.push(segment.run.update(part.data));
      segment.clearBytes += part.data.byteLength;
    }
    const streamed = this.#part;
    this.#part = undefined;
    if (streamed?.msn === part.msn && streamed.partIndex === part.partIndex) {
      const tail = streamed.run.final();
      return { data: Buffer.concat([...streamed.out, tail]), tail };
    }
    const data = encryptResource(this.#keyOf(part.msn), part.data);
    return { data, tail: data };
  }

  /** A segment completes: its ciphertext, one run over all its parts' clear bytes (empty for a segment of gaps). */
  segment(msn: number): Uint8Array {
    const segment = this.#segment;
    this.#segment = undefined;
    if (segment?.msn === msn && segment.clearBytes === 0) return new Uint8Array(0);
    if (segment?.msn !== msn) throw new OriginError('bad-media', this.#keys.streamName, `segment ${msn} completed without its parts`);
    return Buffer.concat([...segment.out, segment.run.final()]);
  }
}
