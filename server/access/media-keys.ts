// Media keys of encrypted streams: which streams are encrypted, each key period's random AES-128 key and IV (held while
// the stream still serves a segment of the period), and the AES-128-CBC runs that parts and segments are encrypted as.
import { createCipheriv, randomBytes, type Cipher } from 'node:crypto';

export interface MediaEncryptionConfig {
  /** Streams whose media is encrypted (ENCRYPTED_STREAMS): names, or `*` for every stream; empty: none (the default). */
  streams: readonly string[] | '*';
  /** Segments per key period (KEY_ROTATION_SEGMENTS): a new key every this many segments. */
  rotationSegments: number;
}

export const MEDIA_ENCRYPTION_DEFAULTS: MediaEncryptionConfig = { streams: [], rotationSegments: 10 };

/** True when `stream`'s media is served encrypted. */
export function encryptsStream(config: MediaEncryptionConfig, stream: string): boolean {
  return config.streams === '*' || config.streams.includes(stream);
}

/** One key period's key and IV; never logged, never in an error. */
export interface MediaKey {
  /** Key period index: segments `period × N` … `period × N + N − 1` are encrypted with this key. */
  period: number;
  /** The 16-byte AES-128 key, served as the key object. */
  key: Buffer;
  /**
   * The 16-byte IV, written into the playlist's EXT-X-KEY (IV=0x…). An explicit IV, because the implicit one (the
   * segment's media sequence number) is easy to get wrong across clients; a random one per period, because every part
   * and segment of the period then starts its CBC run with it (hls.js decrypts a part with its segment's IV), and CMAF
   * fragments differ from their second block on (mfhd sequence number), so the shared IV shows nothing of the media.
   */
  iv: Buffer;
}

const KEY_BYTES = 16;

/**
 * The keys of one stream, shared by all its renditions: they share one segment grid, so one key period grid fits all of
 * them and a rung switch lands in the same period; a viewer allowed one rung is allowed every rung, so a key per rung
 * would protect nothing more and hold more keys.
 */
export class StreamKeys {
  readonly streamName: string;
  readonly rotationSegments: number;
  /** Key periods still referenced, by index. */
  #keys = new Map<number, MediaKey>();
  /** Periods before this one are forgotten for good, so a late rendition cannot bring a key back. */
  #firstPeriod = 0;

  constructor(streamName: string, rotationSegments: number) {
    if (!Number.isInteger(rotationSegments) || rotationSegments < 1) {
      throw new MediaKeyError(streamName, `key rotation must be a whole number of segments, got ${rotationSegments}`);
    }
    this.streamName = streamName;
    this.rotationSegments = rotationSegments;
  }

  periodOf(msn: number): number {
    return Math.floor(msn / this.rotationSegments);
  }

  /** The key segment `msn` is encrypted with, made at random when the first segment of its period is. */
  forSegment(msn: number): MediaKey {
    const period = this.periodOf(msn);
    const held = this.#keys.get(period);
    if (held) return held;
    if (period < this.#firstPeriod) throw new MediaKeyError(this.streamName, `segment ${msn} belongs to a key period already forgotten`);
    const made: MediaKey = { period, key: randomBytes(KEY_BYTES), iv: randomBytes(KEY_BYTES) };
    this.#keys.set(period, made);
    return made;
  }

  /** The key segment `msn` is encrypted with, if made and not forgotten: a lookup that never makes a key. */
  heldFor(msn: number): MediaKey | undefined {
    return this.#keys.get(this.periodOf(msn));
  }

  /** A period's key while some served segment uses it; undefined before its first segment and once forgotten. */
  get(period: number): MediaKey | undefined {
    return this.#keys.get(period);
  }

  /** Forgets the keys of the periods that end before segment `msn`, the oldest any rendition still serves. */
  forgetBefore(msn: number): void {
    const first = this.periodOf(msn);
    if (first <= this.#firstPeriod) return;
    this.#firstPeriod = first;
    for (const period of this.#keys.keys()) if (period < first) this.#keys.delete(period);
  }

  /** Number of keys held. */
  get size(): number {
    return this.#keys.size;
  }
}

/**
 * One AES-128-CBC run with PKCS#7 padding under a period's key and IV: how HLS AES-128 encrypts a resource, and how
 * hls.js decrypts each LL-HLS part and each whole segment (each on its own). Fed as the media arrives, it gives out the
 * complete blocks at once and holds at most 15 bytes back until the next chunk or the end.
 */
export class CbcRun {
  #cipher: Cipher;

  constructor(key: MediaKey) {
    this.#cipher = createCipheriv('aes-128-cbc', key.key, key.iv);
  }

  /** The ciphertext of the complete blocks so far. */
  update(data: Uint8Array): Uint8Array {
    return this.#cipher.update(data);
  }

  /** The last block, padded: always 1 to 16 bytes more. */
  final(): Uint8Array {
    return this.#cipher.final();
  }
}

/** A whole resource encrypted as one CBC run. */
export function encryptResource(key: MediaKey, data: Uint8Array): Uint8Array {
  const run = new CbcRun(key);
  return Buffer.concat([run.update(data), run.final()]);
}

/** The IV as EXT-X-KEY writes it: a hexadecimal-sequence (`0x` and 32 hex digits). */
export function ivAttribute(key: MediaKey): string {
  return `0x${key.iv.toString('hex')}`;
}

export class MediaKeyError extends Error {
  override name = 'MediaKeyError';
  readonly stream: string;
  readonly reason: string;

  constructor(stream: string, reason: string) {
    super(`stream ${stream}: ${reason}`);
    this.stream = stream;
    this.reason = reason;
  }
}
