// The edge's in-memory store of complete upstream answers, bounded in bytes, least recently used evicted first.
import type { ObjectKind } from './cache-key.ts';

export interface CachedObject {
  kind: ObjectKind;
  status: number;
  /** Response headers to repeat to clients (lower-case names). */
  headers: Record<string, string>;
  body: Buffer;
  /** The body gzipped at the edge, made once on the first client that accepts it. */
  gzipped?: Buffer;
  /** Wall clock after which the object must be fetched again, ms; a stale media object still answers if upstream fails. */
  freshUntilMs: number;
}

// Map bookkeeping, key and headers per object, so many tiny objects cannot overrun the byte bound.
const OVERHEAD_BYTES = 512;

export class ObjectCache {
  readonly maxBytes: number;
  // A Map iterates in insertion order: re-inserting on every hit keeps the least recently used first.
  #objects = new Map<string, CachedObject>();
  #bytes = 0;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#objects.size;
  }

  /** Returns the object (fresh or stale) and marks it most recently used. */
  get(key: string): CachedObject | undefined {
    const object = this.#objects.get(key);
    if (!object) return undefined;
    this.#objects.delete(key);
    this.#objects.set(key, object);
    return object;
  }

  /** Stores an object unless it alone would take more than an eighth of the cache; evicts the oldest to make room. */
  set(key: string, object: CachedObject): void {
    this.delete(key);
    const size = sizeOf(key, object);
    if (size > this.maxBytes / 8) return;
    this.#objects.set(key, object);
    this.#bytes += size;
    this.#evict();
  }

  /** Adds the gzipped body to a stored object, counting its bytes. */
  addGzipped(key: string, object: CachedObject, gzipped: Buffer): void {
    if (object.gzipped || this.#objects.get(key) !== object) return;
    object.gzipped = gzipped;
    this.#bytes += gzipped.byteLength;
    this.#evict();
  }

  delete(key: string): void {
    const old = this.#objects.get(key);
    if (!old) return;
    this.#objects.delete(key);
    this.#bytes -= sizeOf(key, old);
  }

  clear(): void {
    this.#objects.clear();
    this.#bytes = 0;
  }

  #evict(): void {
    for (const [key, object] of this.#objects) {
      if (this.#bytes <= this.maxBytes) break;
      this.#objects.delete(key);
      this.#bytes -= sizeOf(key, object);
    }
  }
}

function sizeOf(key: string, object: CachedObject): number {
  return OVERHEAD_BYTES + key.length + object.body.byteLength + (object.gzipped?.byteLength ?? 0);
}
