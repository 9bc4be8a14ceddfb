// A TCP proxy on 127.0.0.1 that delays each direction of every connection by a base delay plus random jitter, order
// kept as TCP keeps it, and counts the HTTP requests passing through: the delay and jitter half of the emulated networks
// (loss and rate caps are the kernel's, netem-harness.ts). Hand-written: toxiproxy (the maintained one) is a Go server
// this machine does not have, and npm's TCP proxies (node-tcp-proxy, tcp-proxy.js) cannot delay.
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { listenOnLoopback } from './loopback-listen.ts';

/** One direction's emulated path: each chunk is held `delayMs` plus a uniform random share of `jitterMs`. */
export interface PathDelay {
  delayMs: number;
  jitterMs: number;
}

export interface DelayProxyOptions {
  /** Client to target (requests). Default: none. */
  upstream?: PathDelay;
  /** Target to client (responses). Default: none. */
  downstream?: PathDelay;
  /** Uniform in [0, 1); tests pass a seeded one. Default Math.random. */
  random?: () => number;
}

/** What the proxy measured on one direction: each chunk's time from arrival at the proxy to being passed on. */
export interface DelaySummary {
  chunks: number;
  bytes: number;
  minMs: number;
  maxMs: number;
  meanMs: number;
  /** The most a chunk went out after it was due: timer slack and event-loop lag, the emulation's own error. */
  maxLateMs: number;
}

/** HTTP/1.x request lines the proxy saw going upstream, by what they asked for. */
export interface RequestCounts {
  total: number;
  playlists: number;
  media: number;
  other: number;
}

export interface DelayProxy {
  /** `http://127.0.0.1:PORT`: the target's URLs with this origin go through the proxy. */
  readonly baseUrl: string;
  readonly port: number;
  /** Connections open now. */
  readonly connections: number;
  delays(): { upstream: DelaySummary; downstream: DelaySummary };
  requests(): RequestCounts;
  /** Stops listening, drops what is held and closes every proxied connection; idempotent. */
  close(): Promise<void>;
}

/** Held bytes (queued plus the outgoing socket's buffer) above which the incoming socket is paused, as a full window would. */
const HIGH_WATER_BYTES = 1 << 20;
/** A request line at the start of a chunk or after the previous request's blank line. */
const REQUEST_LINE = /(?:^|\r\n)(?:GET|HEAD|POST|PUT|DELETE|OPTIONS|PATCH) (\S+) HTTP\/1\.[01]\r\n/g;

class DelayRecorder {
  chunks = 0;
  bytes = 0;
  #min = Infinity;
  #max = 0;
  #sum = 0;
  #maxLate = 0;

  record(ms: number, lateMs: number, bytes: number): void {
    this.chunks++;
    this.#maxLate = Math.max(this.#maxLate, lateMs);
    this.bytes += bytes;
    this.#sum += ms;
    this.#min = Math.min(this.#min, ms);
    this.#max = Math.max(this.#max, ms);
  }

  summary(): DelaySummary {
    const none = this.chunks === 0;
    return { chunks: this.chunks, bytes: this.bytes, minMs: none ? 0 : this.#min, maxMs: this.#max, meanMs: none ? 0 : this.#sum / this.chunks, maxLateMs: this.#maxLate };
  }
}

interface Held {
  chunk: Buffer;
  arrivedMs: number;
  dueMs: number;
}

/**
 * One direction of one connection: a chunk is due at its arrival + delay + jitter, never before the chunk ahead of it
 * (TCP delivers in order), and is written when due. The source is paused while too much is held, so a slow reader
 * pushes back on the sender as it would through a real path.
 */
class DelayedPipe {
  readonly #from: Socket;
  readonly #to: Socket;
  readonly #path: PathDelay;
  readonly #random: () => number;
  readonly #recorder: DelayRecorder;
  #queue: Held[] = [];
  #heldBytes = 0;
  #lastDueMs = 0;
  #timer: NodeJS.Timeout | null = null;
  #ended = false;

  constructor(from: Socket, to: Socket, path: PathDelay, random: () => number, recorder: DelayRecorder, onChunk?: (chunk: Buffer) => void) {
    this.#from = from;
    this.#to = to;
    this.#path = path;
    this.#random = random;
    this.#recorder = recorder;
    from.on('data', (chunk: Buffer) => {
      onChunk?.(chunk);
      this.#hold(chunk);
    });
    from.on('end', () => {
      this.#ended = true;
      this.#flush();
    });
    to.on('drain', () => this.#resumeIfRoom());
  }

  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#queue = [];
  }

  #hold(chunk: Buffer): void {
    const arrivedMs = performance.now();
    const dueMs = Math.max(this.#lastDueMs, arrivedMs + this.#path.delayMs + this.#random() * this.#path.jitterMs);
    this.#lastDueMs = dueMs;
    this.#queue.push({ chunk, arrivedMs, dueMs });
    this.#heldBytes += chunk.length;
    if (this.#heldBytes + this.#to.writableLength > HIGH_WATER_BYTES) this.#from.pause();
    this.#flush();
  }

  #flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const now = performance.now();
    while (this.#queue.length > 0 && this.#queue[0]!.dueMs <= now) {
      const { chunk, arrivedMs, dueMs } = this.#queue.shift()!;
      this.#heldBytes -= chunk.length;
      if (this.#to.destroyed) return;
      this.#to.write(chunk);
      this.#recorder.record(now - arrivedMs, now - dueMs, chunk.length);
    }
    const head = this.#queue[0];
    if (head) this.#timer = setTimeout(() => this.#flush(), Math.max(0, head.dueMs - now));
    else if (this.#ended && !this.#to.destroyed) this.#to.end();
    this.#resumeIfRoom();
  }

  #resumeIfRoom(): void {
    if (this.#from.isPaused() && this.#heldBytes + this.#to.writableLength <= HIGH_WATER_BYTES / 2) this.#from.resume();
  }
}

function validPath(name: string, path: PathDelay | undefined): PathDelay {
  const value = path ?? { delayMs: 0, jitterMs: 0 };
  for (const [key, ms] of Object.entries(value)) {
    if (!(Number.isFinite(ms) && ms >= 0)) throw new RangeError(`delay proxy: ${name}.${key} must be a number of ms ≥ 0, got ${ms}`);
  }
  return value;
}

/** Proxies `127.0.0.1:<free port>` to `targetUrl`'s host and port with the given delays. */
export async function startDelayProxy(targetUrl: string, options: DelayProxyOptions = {}): Promise<DelayProxy> {
  const target = new URL(targetUrl);
  const targetPort = Number(target.port || (target.protocol === 'https:' ? 443 : 80));
  const targetHost = target.hostname.replace(/^\[|\]$/g, '');
  const up = validPath('upstream', options.upstream);
  const down = validPath('downstream', options.downstream);
  const random = options.random ?? Math.random;
  const upRecorder = new DelayRecorder();
  const downRecorder = new DelayRecorder();
  const requests: RequestCounts = { total: 0, playlists: 0, media: 0, other: 0 };
  const countRequests = (chunk: Buffer): void => {
    for (const match of chunk.toString('latin1').matchAll(REQUEST_LINE)) {
      const path = match[1]!.split('?')[0]!;
      requests.total++;
      if (path.endsWith('.m3u8')) requests.playlists++;
      else if (/\.(m4s|mp4)$/.test(path)) requests.media++;
      else requests.other++;
    }
  };
  const connections = new Set<{ client: Socket; upstream: Socket; pipes: DelayedPipe[] }>();

  const server: Server = createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
    const upstream = createConnection({ host: targetHost, port: targetPort, allowHalfOpen: true, noDelay: true });
    const entry = {
      client,
      upstream,
      pipes: [new DelayedPipe(client, upstream, up, random, upRecorder, countRequests), new DelayedPipe(upstream, client, down, random, downRecorder)],
    };
    connections.add(entry);
    // An error on either leg (a reset, a refused upstream) ends the whole connection; both closed, it is forgotten.
    const teardown = (): void => {
      client.destroy();
      upstream.destroy();
      for (const pipe of entry.pipes) pipe.stop();
      connections.delete(entry);
    };
    client.on('error', teardown);
    upstream.on('error', teardown);
    let closed = 0;
    const onClose = (): void => {
      if (++closed === 2) teardown();
    };
    client.on('close', onClose);
    upstream.on('close', onClose);
  });

  const port = await listenOnLoopback(server, 'delay proxy');

  let closing: Promise<void> | null = null;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    port,
    get connections() {
      return connections.size;
    },
    delays: () => ({ upstream: upRecorder.summary(), downstream: downRecorder.summary() }),
    requests: () => ({ ...requests }),
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const { client, upstream, pipes } of connections) {
          for (const pipe of pipes) pipe.stop();
          client.destroy();
          upstream.destroy();
        }
        connections.clear();
      });
      return closing;
    },
  };
}
