// The process's one listener: plain HTTP/1.1, or HTTPS speaking HTTP/2 and HTTP/1.1 (ALPN) when given a certificate,
// with the header limits and slow-client timeouts that keep a few sockets from holding the server.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import type { Server, Socket } from 'node:net';
import { guardSession } from './http2-session-guard.ts';

/** Largest request head (request line and headers) taken, bytes; Node's default, said here so it is a documented limit. */
export const MAX_HEADER_BYTES = 16 * 1024;
/**
 * A client must send its whole request head within this long of connecting (or of its previous request on a kept-alive
 * socket; over HTTP/2, of the request's first HEADERS frame): a slowloris trickling header bytes is cut here. Held LL-HLS
 * requests are not affected: their head arrived.
 */
export const HEADERS_TIMEOUT_MS = 10_000;
/** A request's head and body must arrive within this long; the largest body taken is an SDP offer of a few kB. */
export const REQUEST_TIMEOUT_MS = 30_000;
/** How often Node looks for connections past those two timeouts. */
const CONNECTIONS_CHECK_INTERVAL_MS = 1_000;
/** An idle kept-alive HTTP/1.1 socket is closed after this long (longer than common proxies' 60 s, so they close first). */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;
/** A TLS handshake must end within this long. */
const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;
/**
 * An HTTP/2 connection with no frame for this long is closed, and so is one with no open request for this long, whatever
 * frames (PINGs) it sends; a held blocking request waits at most 3 target durations (30 s at the longest SEGMENT_TARGET_MS).
 */
const HTTP2_IDLE_TIMEOUT_MS = 65_000;
/** Concurrent streams per HTTP/2 connection: a player holds a few blocking requests and parts, a page a few dozen assets. */
const HTTP2_MAX_CONCURRENT_STREAMS = 100;

export interface TlsFiles {
  certPath: string;
  keyPath: string;
}

/** A listener and the sockets it has open, so close() can end them all. */
export interface Listener {
  server: Server;
  secure: boolean;
  /** Stops listening and destroys every open connection. */
  close(): Promise<void>;
}

/**
 * Creates the listener that hands every request to `handle`. Over HTTPS, an HTTP/2 request comes as Node's
 * compatibility request/response, which carry what the routes use (method, url, headers, socket address, writeHead,
 * write, end, close events); HTTP/1.1 connections (WebSocket upgrades among them) are served as by `http.Server`.
 */
export function createListener(handle: (req: http.IncomingMessage, res: http.ServerResponse) => void, tls?: TlsFiles): Listener {
  const sockets = new Set<Socket>();
  let server: Server;
  if (tls) {
    const secure = http2.createSecureServer({
      cert: readFileSync(tls.certPath),
      key: readFileSync(tls.keyPath),
      allowHTTP1: true,
      handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS,
      settings: { maxHeaderListSize: MAX_HEADER_BYTES, maxConcurrentStreams: HTTP2_MAX_CONCURRENT_STREAMS },
    });
    // The compatibility objects stand in for http's at run time (see above); their types differ only in what no route uses.
    secure.on('request', handle as unknown as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void);
    secure.setTimeout(HTTP2_IDLE_TIMEOUT_MS);
    // Node has no head timeout for HTTP/2: a session trickling CONTINUATION frames or PINGs would only meet the idle one.
    secure.on('session', (session) =>
      guardSession(session, { headersTimeoutMs: HEADERS_TIMEOUT_MS, idleTimeoutMs: HTTP2_IDLE_TIMEOUT_MS, checkIntervalMs: CONNECTIONS_CHECK_INTERVAL_MS }),
    );
    // HTTP/1.1 connections of an allowHTTP1 server run through http.Server's connection code, which reads these.
    // (set before listening: the timeout checks start on 'listening' with the interval set then).
    Object.assign(secure, {
      headersTimeout: HEADERS_TIMEOUT_MS,
      requestTimeout: REQUEST_TIMEOUT_MS,
      connectionsCheckingInterval: CONNECTIONS_CHECK_INTERVAL_MS,
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
      maxHeaderSize: MAX_HEADER_BYTES,
    });
    server = secure;
  } else {
    const plain = http.createServer(
      { maxHeaderSize: MAX_HEADER_BYTES, headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS, connectionsCheckingInterval: CONNECTIONS_CHECK_INTERVAL_MS },
      handle,
    );
    plain.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
    server = plain;
  }
  server.on('connection', (socket: Socket) => track(sockets, socket));
  return {
    server,
    secure: tls !== undefined,
    close: async () => {
      const closed = new Promise<void>((done) => server.close(() => done()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

function track(sockets: Set<Socket>, socket: Socket): void {
  sockets.add(socket);
  socket.once('close', () => sockets.delete(socket));
}
