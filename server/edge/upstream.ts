// The edge's origins: one keep-alive HTTP/1.1 client per origin (over TLS for an https:// origin), tried in order,
// failing over on error, 5xx or timeout.
import http from 'node:http';
import https from 'node:https';
import { splitPlaybackToken } from '../../shared/playback-path.ts';
import { log } from '../log.ts';
import { EdgeError } from './errors.ts';

export interface UpstreamHead {
  status: number;
  /** Response headers, lower-case names, joined when repeated. */
  headers: Record<string, string>;
  /** The origin that answered. */
  origin: string;
}

/** Receives one upstream answer as it arrives; exactly one of `end` or `error` is called last. */
export interface UpstreamSink {
  head(head: UpstreamHead): void;
  data(chunk: Buffer): void;
  end(): void;
  error(err: EdgeError): void;
}

export interface UpstreamHealth {
  url: string;
  healthy: boolean;
  lastError: string | null;
  lastErrorAtMs: number | null;
}

interface OriginState extends UpstreamHealth {
  agent: http.Agent;
  base: URL;
  /** http.request or https.request, by the origin URL's scheme. */
  send: typeof http.request;
}

export interface UpstreamOptions {
  originUrls: string[];
  originRetryMs: number;
}

export class UpstreamPool {
  #origins: OriginState[];
  #retryMs: number;
  #requests = new Set<http.ClientRequest>();
  #closed = false;

  constructor(options: UpstreamOptions) {
    this.#retryMs = options.originRetryMs;
    this.#origins = options.originUrls.map((url) => {
      const base = new URL(url);
      const secure = base.protocol === 'https:';
      // Held blocking requests each keep a socket busy, so the socket count is not capped. HTTP/1.1 over TLS too (no
      // ALPN h2): a held request on a socket of its own cannot hold up the parts and playlists on the others. An https
      // origin's certificate is checked against Node's CAs, plus NODE_EXTRA_CA_CERTS for a private one.
      const agentOptions = { keepAlive: true, keepAliveMsecs: 10_000, scheduling: 'lifo' } as const;
      return {
        url: url.replace(/\/$/, ''),
        base,
        agent: secure ? new https.Agent(agentOptions) : new http.Agent(agentOptions),
        send: secure ? https.request : http.request,
        healthy: true,
        lastError: null,
        lastErrorAtMs: null,
      };
    });
  }

  health(): UpstreamHealth[] {
    const now = Date.now();
    return this.#origins.map((o) => ({ url: o.url, healthy: this.#usable(o, now), lastError: o.lastError, lastErrorAtMs: o.lastErrorAtMs }));
  }

  /**
   * Fetches `path` (with query) with GET, giving each origin `timeoutMs` for its headers and for each silence between
   * body bytes; returns a function that abandons the fetch.
   */
  request(path: string, sink: UpstreamSink, timeoutMs: number): () => void {
    // Logs and error texts (which reach clients) name the path without the edge's token.
    const shown = splitPlaybackToken(path)?.path ?? path;
    const now = Date.now();
    // Healthy origins in configured order first; an origin that failed recently is still tried, last.
    const order = [...this.#origins.filter((o) => this.#usable(o, now)), ...this.#origins.filter((o) => !this.#usable(o, now))];
    let current: http.ClientRequest | null = null;
    let abandoned = false;
    const attempt = (index: number): void => {
      const origin = order[index]!;
      const next = order[index + 1];
      const failOver = (err: EdgeError, markUnhealthy: boolean): void => {
        if (markUnhealthy) {
          origin.healthy = false;
          origin.lastError = err.message;
          origin.lastErrorAtMs = Date.now();
        }
        if (abandoned || this.#closed) return;
        if (next) {
          log('warn', 'edge.upstream-failover', { path: shown, from: origin.url, to: next.url, reason: err.message });
          attempt(index + 1);
        } else {
          sink.error(err);
        }
      };
      let headSent = false;
      let timer: NodeJS.Timeout | undefined;
      const arm = (what: string): void => {
        clearTimeout(timer);
        timer = setTimeout(() => req.destroy(new EdgeError('timeout', `${origin.url} sent no ${what} in ${timeoutMs} ms`)), timeoutMs);
      };
      const req = origin.send(new URL(path, origin.base), {
        method: 'GET',
        agent: origin.agent,
        // The edge stores one identity copy and compresses playlists itself, so one upstream request serves every encoding.
        headers: { 'accept-encoding': 'identity', via: '1.1 swarmcast-edge' },
      });
      current = req;
      this.#requests.add(req);
      arm('headers');
      req.on('response', (res) => {
        const status = res.statusCode ?? 502;
        if (status >= 500 && next) {
          clearTimeout(timer);
          res.resume();
          this.#requests.delete(req);
          failOver(new EdgeError('upstream-status', `${origin.url} answered ${status}`), false);
          return;
        }
        origin.healthy = true;
        headSent = true;
        sink.head({ status, headers: headersOf(res), origin: origin.url });
        if (abandoned) return;
        arm('body bytes');
        let finished = false;
        res.on('data', (chunk: Buffer) => {
          arm('body bytes');
          if (!abandoned) sink.data(chunk);
        });
        res.on('end', () => {
          finished = true;
          clearTimeout(timer);
          this.#requests.delete(req);
          if (!abandoned) sink.end();
        });
        // A body cut short (origin gone, timeout) ends in `close` without `end`; the answer is incomplete.
        res.on('error', () => undefined);
        res.on('close', () => {
          if (finished) return;
          finished = true;
          clearTimeout(timer);
          this.#requests.delete(req);
          if (!abandoned) sink.error(new EdgeError('connect', `${origin.url} cut ${shown} short`));
        });
      });
      req.on('error', (err) => {
        clearTimeout(timer);
        this.#requests.delete(req);
        const edgeError = err instanceof EdgeError ? err : new EdgeError('connect', `${origin.url}: ${err.message}`);
        // Once headers are in, a failure surfaces as the response's `close` without `end`.
        if (headSent) return;
        failOver(edgeError, edgeError.code !== 'aborted');
      });
      req.on('close', () => {
        clearTimeout(timer);
        this.#requests.delete(req);
      });
      req.end();
    };
    attempt(0);
    return () => {
      if (abandoned) return;
      abandoned = true;
      current?.destroy(new EdgeError('aborted', 'abandoned by the edge'));
    };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const req of this.#requests) req.destroy(new EdgeError('aborted', 'edge closing'));
    this.#requests.clear();
    for (const origin of this.#origins) origin.agent.destroy();
  }

  #usable(origin: OriginState, now: number): boolean {
    return origin.healthy || (origin.lastErrorAtMs !== null && now - origin.lastErrorAtMs >= this.#retryMs);
  }
}

function headersOf(res: http.IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(res.headers)) {
    if (value === undefined) continue;
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}
