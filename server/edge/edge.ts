// The caching reverse proxy for /live/: serves from memory, collapses identical in-flight requests into one upstream
// request, and fans each upstream answer out to every waiter as its bytes arrive.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { Registry } from 'prom-client';
import { sendText } from '../http/reply.ts';
import { log } from '../log.ts';
import { cachePolicyOf } from './cache-control.ts';
import { cacheKeyOf, objectKindOf, type ObjectKind } from './cache-key.ts';
import { resolveEdgeConfig, type EdgeConfig } from './config.ts';
import { EdgeError } from './errors.ts';
import { createEdgeMetrics, type EdgeMetrics } from './metrics.ts';
import { ObjectCache, type CachedObject } from './object-cache.ts';
import { UpstreamPool, type UpstreamHead, type UpstreamHealth } from './upstream.ts';

/** Upstream headers repeated to clients; hop-by-hop headers and the rest stay behind. */
const PASSED_HEADERS = ['content-type', 'content-length', 'content-encoding', 'cache-control', 'etag', 'last-modified', 'expires', 'vary'];

type CacheStatus = 'HIT' | 'MISS' | 'COLLAPSED' | 'STALE';

interface Client {
  res: ServerResponse;
  headOnly: boolean;
  acceptsGzip: boolean;
  status: CacheStatus;
  /** Headers written; body bytes flow to it as they arrive. */
  started: boolean;
  settled: boolean;
}

/** One upstream request and everyone waiting on it. */
interface Flight {
  key: string;
  kind: ObjectKind;
  head: UpstreamHead | null;
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
  #metrics: EdgeMetrics;
  #waiting = 0;
  #closed = false;
  #nowMs: () => number;

  constructor(options: EdgeOptions) {
    const { registry, nowMs, ...overrides } = options;
    this.#nowMs = nowMs ?? Date.now;
    this.config = resolveEdgeConfig(overrides);
    this.#cache = new ObjectCache(this.config.cacheMaxBytes);
    this.#upstream = new UpstreamPool({
      originUrls: this.config.originUrls,
      timeoutMs: this.config.upstreamTimeoutMs,
      originRetryMs: this.config.originRetryMs,
    });
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

  /** Answers a GET or HEAD for a /live/ URL from the cache, an in-flight upstream request, or a new one. */
  handle(req: IncomingMessage, res: ServerResponse): void {
    if (this.#closed) return sendText(res, 503, 'edge closing');
    const url = req.url ?? '/';
    const key = cacheKeyOf(url);
    const kind = objectKindOf(url);
    const cached = this.#cache.get(key);
    if (cached && cached.freshUntilMs > this.#nowMs()) {
      this.#metrics.hits.inc({ kind });
      this.#sendCached(req, res, key, cached, 'HIT');
      return;
    }
    const existing = this.#flights.get(key);
    if (existing && existing.clients.size >= this.config.maxWaitersPerRequest) return this.#reject(res, 'waiters-per-request');
    if (this.#waiting >= this.config.maxWaitingClients) return this.#reject(res, 'waiting-clients');
    const client: Client = {
      res,
      headOnly: req.method === 'HEAD',
      acceptsGzip: acceptsGzip(req.headers['accept-encoding']),
      status: existing ? 'COLLAPSED' : 'MISS',
      started: false,
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
      head: null,
      chunks: [],
      clients: new Set(),
      stale: cached && kind !== 'playlist' && kind !== 'other' ? cached : undefined,
      abandon: () => undefined,
    };
    this.#flights.set(key, flight);
    this.#attach(flight, client);
    this.#metrics.upstreamRequests.inc({ kind });
    flight.abandon = this.#upstream.request(url, {
      head: (head) => this.#onHead(flight, head),
      data: (chunk) => this.#onData(flight, chunk),
      end: () => this.#onEnd(flight),
      error: (err) => this.#onError(flight, err),
    });
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
    for (const client of flight.clients) {
      if (!this.#needsWholeBody(flight, client)) this.#start(flight, client);
    }
  }

  #onData(flight: Flight, chunk: Buffer): void {
    flight.chunks.push(chunk);
    for (const client of flight.clients) {
      if (!client.started || client.headOnly) continue;
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
    for (const client of flight.clients) {
      if (client.started) this.#settle(client, () => client.res.end());
      else this.#sendObject(client.res, flight.key, object, client.status, client.headOnly, client.acceptsGzip, policy.storable);
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
      if (client.started) this.#settle(client, () => client.res.destroy());
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
      this.#sendObject(client.res, flight.key, stale, 'STALE', client.headOnly, client.acceptsGzip, true);
      this.#settleQuietly(client);
    }
    flight.clients.clear();
  }

  /** A gzip-accepting client of a playlist waits for the whole body, compressed once at the edge; playlists arrive in one piece. */
  #needsWholeBody(flight: Flight, client: Client): boolean {
    const head = flight.head;
    return client.acceptsGzip && flight.kind === 'playlist' && head !== null && head.status === 200 && !head.headers['content-encoding'];
  }

  #start(flight: Flight, client: Client): void {
    const head = flight.head!;
    client.started = true;
    const res = client.res;
    if (res.headersSent || res.destroyed) return;
    res.writeHead(head.status, { ...passedHeaders(head.headers), 'x-cache': client.status });
    if (client.headOnly) {
      this.#settle(client, () => res.end());
      return;
    }
    for (const chunk of flight.chunks) {
      res.write(chunk);
      this.#metrics.bytesOut.inc(chunk.byteLength);
    }
  }

  #sendCached(req: IncomingMessage, res: ServerResponse, key: string, object: CachedObject, status: CacheStatus): void {
    this.#sendObject(res, key, object, status, req.method === 'HEAD', acceptsGzip(req.headers['accept-encoding']), true, req.headers['if-none-match']);
  }

  #sendObject(
    res: ServerResponse,
    key: string,
    object: CachedObject,
    status: CacheStatus,
    headOnly: boolean,
    gzip: boolean,
    inCache: boolean,
    ifNoneMatch?: string,
  ): void {
    if (res.headersSent || res.destroyed) return;
    const etag = object.headers.etag;
    if (ifNoneMatch && etag && ifNoneMatch === etag && object.status === 200) {
      const { 'content-length': _length, 'content-type': _type, ...rest } = object.headers;
      res.writeHead(304, { ...rest, 'x-cache': status });
      res.end();
      return;
    }
    let body = object.body;
    const headers: Record<string, string | number> = { ...object.headers, 'x-cache': status };
    if (gzip && object.kind === 'playlist' && object.status === 200 && !object.headers['content-encoding']) {
      if (!object.gzipped) {
        const gzipped = gzipSync(object.body);
        if (inCache) this.#cache.addGzipped(key, object, gzipped);
        else object.gzipped = gzipped;
      }
      body = object.gzipped!;
      headers['content-encoding'] = 'gzip';
      headers.vary = object.headers.vary ? `${object.headers.vary}, Accept-Encoding` : 'Accept-Encoding';
    }
    headers['content-length'] = body.byteLength;
    res.writeHead(object.status, headers);
    if (headOnly) {
      res.end();
      return;
    }
    res.end(body);
    this.#metrics.bytesOut.inc(body.byteLength);
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

function passedHeaders(upstream: Record<string, string>): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(upstream)) {
    if (PASSED_HEADERS.includes(name) || name.startsWith('access-control-')) headers[name] = value;
  }
  return headers;
}

function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  return header.split(',').some((item) => {
    const [coding, ...params] = item.trim().toLowerCase().split(';');
    if (coding !== 'gzip') return false;
    return !params.some((p) => /^\s*q=0(\.0*)?\s*$/.test(p));
  });
}
