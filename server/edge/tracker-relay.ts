// Relays WebSocket upgrades of /tracker to the origin, so the viewers of every edge meet in the origin's one tracker
// (over TLS, wss, to an https:// origin).
import http from 'node:http';
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { log } from '../log.ts';

/** Longest wait for an origin to answer the upgrade before the next origin is tried, ms. */
const UPGRADE_TIMEOUT_MS = 5_000;

export class TrackerRelay {
  #originUrls: URL[];
  /** Client and origin sockets of the relayed connections. */
  #sockets = new Set<Duplex>();
  #clients = 0;
  #closed = false;

  constructor(originUrls: readonly string[]) {
    this.#originUrls = originUrls.map((url) => new URL(url));
  }

  /** Connects the client's upgrade to the first origin that takes it, and passes bytes both ways until either side closes. */
  relay(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.#closed) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n');
      return;
    }
    this.#track(socket);
    this.#clients++;
    socket.once('close', () => this.#clients--);
    this.#attempt(0, req, socket, head);
  }

  /** Client connections being relayed (or connecting). */
  get connections(): number {
    return this.#clients;
  }

  /** Cuts every relayed connection. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
  }

  #attempt(index: number, req: IncomingMessage, client: Duplex, head: Buffer): void {
    const origin = this.#originUrls[index];
    if (!origin || client.destroyed) {
      if (!client.destroyed) client.end('HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\nno origin took the tracker connection\n');
      return;
    }
    const forwardedFor = [req.headers['x-forwarded-for'], req.socket.remoteAddress].filter(Boolean).join(', ');
    const upstream = (origin.protocol === 'https:' ? https.request : http.request)({
      host: origin.hostname,
      port: origin.port,
      path: req.url,
      method: 'GET',
      headers: { ...req.headers, 'x-forwarded-for': forwardedFor },
      timeout: UPGRADE_TIMEOUT_MS,
    });
    let answered = false;
    upstream.on('upgrade', (res, originSocket, originHead) => {
      answered = true;
      originSocket.setTimeout(0);
      this.#track(originSocket);
      client.write(statusHead(res));
      if (originHead.length > 0) client.write(originHead);
      if (head.length > 0) originSocket.write(head);
      originSocket.pipe(client);
      client.pipe(originSocket);
      const cut = (): void => {
        client.destroy();
        originSocket.destroy();
      };
      client.on('error', cut).on('close', cut);
      originSocket.on('error', cut).on('close', cut);
    });
    // The origin refused the upgrade (503 when its tracker is full, 404 …): the client gets its answer as it is.
    upstream.on('response', (res) => {
      answered = true;
      client.write(statusHead(res));
      res.pipe(client);
    });
    upstream.on('timeout', () => upstream.destroy(new Error(`no answer within ${UPGRADE_TIMEOUT_MS} ms`)));
    upstream.on('error', (err) => {
      if (answered) return;
      log('warn', 'edge.tracker-upstream-error', { origin: origin.href, reason: err.message });
      this.#attempt(index + 1, req, client, head);
    });
    upstream.end();
  }

  #track(socket: Duplex): void {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
  }
}

/** The status line and headers of an upstream answer, as the client is to get them. */
function statusHead(res: IncomingMessage): string {
  const lines = [`HTTP/1.1 ${res.statusCode ?? 502} ${res.statusMessage ?? ''}`];
  for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) lines.push(`${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}`);
  return lines.join('\r\n') + '\r\n\r\n';
}
