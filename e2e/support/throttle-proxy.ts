// A rate-limited TCP proxy on 127.0.0.1, a browser-agnostic stand-in for a viewer's access link whose downstream rate a
// test sets and lifts at run time. Hand-written: stream-throttle (the npm limiter that shares a bucket across streams)
// can neither change nor lift its rate while streams run, and is unmaintained.
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { pipeline, Transform, type TransformCallback } from 'node:stream';
import { listenOnLoopback } from './loopback-listen.ts';

/** Tokens are released about this often while limited, so data arrives as a smooth flow rather than in big bursts. */
const TICK_S = 0.01;
/** Bounds of one release, bytes: at least a packet's worth, at most one socket read. */
const MIN_SLICE_BYTES = 1460;
const MAX_SLICE_BYTES = 64 * 1024;

interface Waiter {
  max: number;
  stream: Transform;
  grant: (bytes: number) => void;
}

/**
 * One token bucket for every connection of a proxy (one shared link). Waiters are served first come, first served one
 * slice at a time, so connections that keep asking interleave as packets on one link do.
 */
class SharedBucket {
  #bytesPerSecond: number | null = null;
  #tokens = 0;
  #refilledAt = performance.now();
  #queue: Waiter[] = [];
  #timer: NodeJS.Timeout | null = null;

  get bitsPerSecond(): number | null {
    return this.#bytesPerSecond === null ? null : this.#bytesPerSecond * 8;
  }

  setRate(bitsPerSecond: number | null): void {
    if (bitsPerSecond !== null && !(Number.isFinite(bitsPerSecond) && bitsPerSecond > 0)) {
      throw new RangeError(`throttle rate must be a positive number of bit/s or null, got ${bitsPerSecond}`);
    }
    this.#refill();
    this.#bytesPerSecond = bitsPerSecond === null ? null : bitsPerSecond / 8;
    // A new limit starts from an empty bucket: no burst carried over from the open link.
    this.#tokens = 0;
    this.#refilledAt = performance.now();
    this.#pump();
  }

  /** Resolves with how many of `max` bytes `stream` may send now (all of them while unlimited). */
  take(max: number, stream: Transform): Promise<number> {
    if (this.#bytesPerSecond === null && this.#queue.length === 0) return Promise.resolve(max);
    return new Promise((grant) => {
      this.#queue.push({ max, stream, grant });
      this.#pump();
    });
  }

  close(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#queue = [];
  }

  get #slice(): number {
    const rate = this.#bytesPerSecond ?? Infinity;
    return Math.min(MAX_SLICE_BYTES, Math.max(MIN_SLICE_BYTES, Math.round(rate * TICK_S)));
  }

  /** At most two slices: enough to keep the link busy between ticks, too little to burst past the limit. */
  get #capacity(): number {
    return 2 * this.#slice;
  }

  #refill(): void {
    const now = performance.now();
    if (this.#bytesPerSecond !== null) {
      this.#tokens = Math.min(this.#capacity, this.#tokens + ((now - this.#refilledAt) / 1000) * this.#bytesPerSecond);
    }
    this.#refilledAt = now;
  }

  #pump(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#refill();
    for (;;) {
      const head = this.#queue[0];
      if (!head) return;
      if (head.stream.destroyed) {
        this.#queue.shift();
        continue;
      }
      if (this.#bytesPerSecond === null) {
        this.#queue.shift();
        head.grant(head.max);
        continue;
      }
      const bytes = Math.min(head.max, this.#slice);
      if (this.#tokens < bytes) {
        const waitMs = ((bytes - this.#tokens) / this.#bytesPerSecond) * 1000;
        this.#timer = setTimeout(() => this.#pump(), Math.max(1, Math.ceil(waitMs)));
        return;
      }
      this.#tokens -= bytes;
      this.#queue.shift();
      head.grant(bytes);
    }
  }
}

/**
 * Passes bytes on as the shared bucket allows. Back-pressure is the stream's own: it takes the next chunk only once
 * this one is through, so a limited link pauses the upstream socket instead of buffering what the server sends.
 */
class ThrottledStream extends Transform {
  readonly #bucket: SharedBucket;
  readonly #count: (bytes: number) => void;

  constructor(bucket: SharedBucket, count: (bytes: number) => void) {
    super();
    this.#bucket = bucket;
    this.#count = count;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    void this.#pass(chunk).then(() => done(), done);
  }

  async #pass(chunk: Buffer): Promise<void> {
    let offset = 0;
    while (offset < chunk.length && !this.destroyed) {
      const bytes = await this.#bucket.take(chunk.length - offset, this);
      this.push(chunk.subarray(offset, offset + bytes));
      this.#count(bytes);
      offset += bytes;
    }
  }
}

export interface ThrottleProxyOptions {
  /** Downstream limit (server to client) at start, bit/s; null (the default) for an open link. */
  downstreamBps?: number | null;
}

export interface ThrottleProxy {
  /** `http://127.0.0.1:PORT`: the target's URLs with this origin go through the proxy. */
  readonly baseUrl: string;
  /** Bytes carried from the target to clients so far. */
  readonly bytesDown: number;
  /** The downstream limit in force, bit/s, or null for an open link. */
  readonly downstreamBps: number | null;
  /** Sets the downstream limit shared by all connections (null lifts it); applies to data in flight at once. */
  setDownstreamRate(bitsPerSecond: number | null): void;
  /** Stops listening and closes every proxied connection; idempotent. */
  close(): Promise<void>;
}

/** Proxies `127.0.0.1:<free port>` to `targetUrl`'s host and port, upstream (client to server) unlimited. */
export async function startThrottleProxy(targetUrl: string, options: ThrottleProxyOptions = {}): Promise<ThrottleProxy> {
  const target = new URL(targetUrl);
  const targetPort = Number(target.port || (target.protocol === 'https:' ? 443 : 80));
  const targetHost = target.hostname.replace(/^\[|\]$/g, '');
  const bucket = new SharedBucket();
  bucket.setRate(options.downstreamBps ?? null);
  const sockets = new Set<Socket>();
  let bytesDown = 0;

  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };

  const server: Server = createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
    const upstream = createConnection({ host: targetHost, port: targetPort, allowHalfOpen: true, noDelay: true });
    track(client);
    track(upstream);
    // An error on either leg (a reset, a refused upstream) ends the whole connection; a clean FIN is passed on as is.
    const fail = (error: Error | null | undefined): void => {
      if (!error) return;
      client.destroy();
      upstream.destroy();
    };
    pipeline(upstream, new ThrottledStream(bucket, (bytes) => (bytesDown += bytes)), client, fail);
    pipeline(client, upstream, fail);
  });

  const port = await listenOnLoopback(server, 'throttle proxy');

  let closing: Promise<void> | null = null;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    get bytesDown() {
      return bytesDown;
    },
    get downstreamBps() {
      return bucket.bitsPerSecond;
    },
    setDownstreamRate: (bitsPerSecond) => bucket.setRate(bitsPerSecond),
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
        bucket.close();
      });
      return closing;
    },
  };
}
