// The caching reverse proxy for /live/: serves from memory, collapses identical in-flight requests into one upstream
// request, and fans each upstream answer out to every waiter as its bytes arrive. How each answer is written (headers,
// content-coding, 304s) is reply.ts's job.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Registry } from 'prom-client';
import { gzip, negotiateCoding, sendText, type ContentCoding } from '../http/index.ts';
import { log } from '../log.ts';
import { cachePolicyOf } from './cache-control.ts';
import { cacheKeyOf, objectKindOf, type ObjectKind } from './cache-key.ts';
import { resolveEdgeConfig, type EdgeConfig } from './config.ts';
import { EdgeError } from './errors.ts';
import { createEdgeMetrics, type EdgeMetrics } from './metrics.ts';
import { ObjectCache, type CachedObject } from './object-cache.ts';
import { isCompressible, passedHeaders, sendStored, startStreamed, type CacheStatus } from './reply.ts';
import { UpstreamPool, type UpstreamHead, type UpstreamHealth } from './upstream.ts';
import { TargetDurations, upstreamWaitMs } from './upstream-wait.ts';
import { parsePlaybackPath } from '../../shared/playback-path.ts';

interface Client {
  req: IncomingMessage;
  res: ServerResponse;
  coding: ContentCoding;
  status: CacheStatus;
  /** `waiting` for the upstream head (or, to be compressed, the whole body); `streaming` body bytes as they arrive; `done`. */
  phase: 'waiting' | 'streaming' | 'done';
  settled: boolean;
}

/** One upstream request and everyone waiting on it. */
interface Flight {
  key: string;
  kind: ObjectKind;
  /** The stream the URL belongs to, whose target duration a media playlist answer updates. */
  stream: string | undefined;
  head: UpstreamHead | null;
  /** The upstream answer is one the edge compresses itself for clients that take gzip. */
  compressible: boolean;
  chunks: Buffer[];
  clients: Set<Client>;
  /** A cached copy past its freshness, kept to answer with if upstream fails (media objects only). */
  stale: CachedObject | undefined;
  abandon: () => void;
}

export interface EdgeHealth {
  status: 'ok' | 'no-upstream';
  upstreams: UpstreamHealth[];
  cacheBytes: number;
  waitingClients: number;
}

export interface EdgeOptions extends Partial<EdgeConfig> {
  /** Registry the edge's metrics join; a registry of its own when absent. */
  registry?: Registry;
  /** Wall clock for freshness, ms (tests move it to make objects stale). */
  nowMs?: () => number;
}

export class Edge {
  readonly config: EdgeConfig;
  /** The registry holding this edge's metrics. */
  readonly registry: Registry;
  #cache: ObjectCache;
  #upstream: UpstreamPool;
  #flights = new Map<string, Flight>();
  #targetDurations = new TargetDurations();
  #metrics: EdgeMetrics;
  #waiting = 0;
  #closed = false;
  #nowMs: () => number;

  constructor(options: EdgeOptions) {
    const { registry, nowMs, ...overrides } = options;
    this.#nowMs = nowMs ?? Date.now;
    this.config = resolveEdgeConfig(overrides);
    this.#cache = new ObjectCache(this.config.cacheMaxBytes);
    this.#upstream = new UpstreamPool({ originUrls: this.config.originUrls, originRetryMs: this.config.originRetryMs });
    this.registry = registry ?? new Registry();
    this.#metrics = createEdgeMetrics(this.registry, {
      waitingClients: () => this.#waiting,
      cacheBytes: () => this.#cache.bytes,
      cacheObjects: () => this.#cache.size,
      inFlightRequests: () => this.#flights.size,
    });
  }

  health(): EdgeHealth {
    const upstreams = this.#upstream.health();
    return {
      status: upstreams.some((u) => u.healthy) ? 'ok' : 'no-upstream',
      upstreams,
      cacheBytes: this.#cache.bytes,
      waitingClients: this.#waiting,
    };
  }

  /** The wait for upstream headers or body bytes on a request for `url`, ms: the override, or derived from its stream's target duration. */
  upstreamWaitMs(url: string): number {
    const stream = parsePlaybackPath(url)?.stream;
    return upstreamWaitMs(stream === undefined ? undefined : this.#targetDurations.of(stream), this.config.upstreamTimeoutMs);
  }

  /**
   * Answers a GET or HEAD for a /live/ URL from the cache, an in-flight upstream request, or a new one. `url` is the
   * plain /live/ path (with query) the cache is keyed by, the viewer's token already checked and stripped;
   * `upstreamUrl` is what the origin is asked for (the same path behind the edge's own token, when tokens are on).
   */
  handle(req: IncomingMessage, res: ServerResponse, url = req.url ?? '/', upstreamUrl = url): void {
    if (this.#closed) return sendText(res, 503, 'edge closing');
    const key = cacheKeyOf(url);
    const kind = objectKindOf(url);
    const cached = this.#cache.get(key);
    if (cached && cached.freshUntilMs > this.#nowMs()) {
      this.#metrics.hits.inc({ kind });
      this.#sendStored(req, res, key, cached, 'HIT');
      return;
    }
    const existing = this.#flights.get(key);
    if (existing && existing.clients.size >= this.config.maxWaitersPerRequest) return this.#reject(res, 'waiters-per-request');
    if (this.#waiting >= this.config.maxWaitingClients) return this.#reject(res, 'waiting-clients');
    const client: Client = {
      req,
      res,
      coding: negotiateCoding(req.headers),
      status: existing ? 'COLLAPSED' : 'MISS',
      phase: 'waiting',
      settled: false,
    };
    if (existing) {
      this.#metrics.collapsed.inc({ kind });
      this.#attach(existing, client);
      return;
    }
    this.#metrics.misses.inc({ kind });
    const flight: Flight = {
      key,
      kind,
      stream: parsePlaybackPath(url)?.stream,
      head: null,
      compressible: false,
      chunks: [],
      clients: new Set(),
      stale: cached && kind !== 'playlist' && kind !== 'digests' && kind !== 'other' ? cached : undefined,
      abandon: () => undefined,
    };
    this.#flights.set(key, flight);
    this.#attach(flight, client);
    this.#metrics.upstreamRequests.inc({ kind });
    flight.abandon = this.#upstream.request(
      upstreamUrl,
      {
        head: (head) => this.#onHead(flight, head),
        data: (chunk) => this.#onData(flight, chunk),
        end: () => this.#onEnd(flight),
        error: (err) => this.#onError(flight, err),
      },
      this.upstreamWaitMs(url),
    );
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const flight of this.#flights.values()) {
      flight.abandon();
      for (const client of flight.clients) this.#settle(client, () => client.res.destroy());
    }
    this.#flights.clear();
    this.#upstream.close();
    this.#cache.clear();
  }

  #attach(flight: Flight, client: Client): void {
    flight.clients.add(client);
    this.#waiting++;
    client.res.once('close', () => {
      flight.clients.delete(client);
      this.#settle(client, () => undefined);
    });
    if (flight.head && !this.#needsWholeBody(flight, client)) this.#start(flight, client);
  }

  #onHead(flight: Flight, head: UpstreamHead): void {
    if (head.status >= 500 && flight.stale) {
      flight.abandon();
      this.#answerStale(flight, `${head.origin} answered ${head.status}`);
      return;
    }
    flight.head = head;
    flight.compressible = isCompressible(flight.kind, head.status, head.headers);
    for (const client of flight.clients) {
      if (!this.#needsWholeBody(flight, client)) this.#start(flight, client);
    }
  }

  #onData(flight: Flight, chunk: Buffer): void {
    flight.chunks.push(chunk);
    for (const client of flight.clients) {
      if (client.phase !== 'streaming') continue;
      client.res.write(chunk);
      this.#metrics.bytesOut.inc(chunk.byteLength);
    }
  }

  #onEnd(flight: Flight): void {
    this.#flights.delete(flight.key);
    const head = flight.head!;
    const body = Buffer.concat(flight.chunks);
    const policy = cachePolicyOf(head.status, head.headers['cache-control']);
    const object: CachedObject = {
      kind: flight.kind,
      status: head.status,
      headers: passedHeaders(head.headers),
      body,
      freshUntilMs: this.#nowMs() + policy.freshMs,
    };
    if (policy.storable) this.#cache.set(flight.key, object);
    if (flight.compressible && flight.kind === 'playlist' && flight.stream !== undefined) this.#targetDurations.observe(flight.stream, body.toString('utf8'));
    for (const client of flight.clients) {
      if (client.phase === 'streaming') this.#settle(client, () => client.res.end());
      else if (client.phase === 'waiting') this.#sendStored(client.req, client.res, flight.key, object, client.status);
      this.#settleQuietly(client);
    }
    flight.clients.clear();
  }

  #onError(flight: Flight, err: EdgeError): void {
    this.#flights.delete(flight.key);
    this.#metrics.upstreamErrors.inc({ kind: flight.kind, reason: err.code });
    log('warn', 'edge.upstream-error', { path: flight.key, reason: err.message, waiting: flight.clients.size, stale: Boolean(flight.stale) });
    if (flight.stale && !flight.head) {
      this.#answerStale(flight, err.message);
      return;
    }
    for (const client of flight.clients) {
      // Bytes already sent cannot be taken back: cut the response so the client retries instead of keeping a torn object.
      if (client.phase === 'streaming') this.#settle(client, () => client.res.destroy());
      else this.#settle(client, () => sendText(client.res, err.code === 'timeout' ? 504 : 502, `upstream failed: ${err.message}`));
    }
    flight.clients.clear();
  }

  #answerStale(flight: Flight, reason: string): void {
    this.#flights.delete(flight.key);
    const stale = flight.stale!;
    log('warn', 'edge.serving-stale', { path: flight.key, reason, clients: flight.clients.size });
    for (const client of flight.clients) {
      this.#metrics.staleServed.inc({ kind: flight.kind });
      this.#sendStored(client.req, client.res, flight.key, stale, 'STALE');
      this.#settleQuietly(client);
    }
    flight.clients.clear();
  }

  /** A gzip client of a playlist the edge compresses waits for the whole body, compressed once; playlists arrive in one piece. */
  #needsWholeBody(flight: Flight, client: Client): boolean {
    return flight.compressible && client.coding === 'gzip';
  }

  /** Passes the upstream head to `client`, then the body bytes received so far; later ones follow in #onData. */
  #start(flight: Flight, client: Client): void {
    const res = client.res;
    if (res.headersSent || res.destroyed) {
      client.phase = 'done';
      return;
    }
    if (!startStreamed(client.req, res, flight.head!, client.status, flight.compressible)) {
      client.phase = 'done';
      this.#settleQuietly(client);
      return;
    }
    client.phase = 'streaming';
    for (const chunk of flight.chunks) {
      res.write(chunk);
      this.#metrics.bytesOut.inc(chunk.byteLength);
    }
  }

  #sendStored(req: IncomingMessage, res: ServerResponse, key: string, object: CachedObject, status: CacheStatus): void {
    const gzipped = isCompressible(object.kind, object.status, object.headers) ? () => this.#gzipped(key, object) : undefined;
    this.#metrics.bytesOut.inc(sendStored(req, res, object, status, gzipped));
  }

  /** The object's body gzipped, made on the first client that takes it and kept with the object (counted if cached). */
  #gzipped(key: string, object: CachedObject): Uint8Array {
    if (!object.gzipped) {
      const gzipped = gzip(object.body);
      this.#cache.addGzipped(key, object, gzipped);
      object.gzipped ??= gzipped;
    }
    return object.gzipped;
  }

  #reject(res: ServerResponse, reason: string): void {
    this.#metrics.rejected.inc({ reason });
    sendText(res, 503, `edge busy: ${reason}`, { 'Retry-After': '1' });
  }

  /** Runs the client's last action once and stops counting it as waiting. */
  #settle(client: Client, finish: () => void): void {
    if (client.settled) return;
    client.settled = true;
    this.#waiting--;
    finish();
  }

  #settleQuietly(client: Client): void {
    this.#settle(client, () => undefined);
  }
}
