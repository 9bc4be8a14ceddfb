// Assembles one process's HTTP server from the stages its role runs: routes, pages, health and metrics.
import { existsSync } from 'node:fs';
import http from 'node:http';
import { resolve } from 'node:path';
import findMyWay from 'find-my-way';
import sirv from 'sirv';
import type { ServerConfig } from './config.ts';
import { sendText } from './http/reply.ts';
import { Ingest, registerIngestRoutes } from './ingest/index.ts';
import { log } from './log.ts';
import { createMetrics } from './metrics.ts';
import { Origin, registerOriginRoutes } from './origin/index.ts';

export const PAGES_DIR = resolve(import.meta.dirname, '../dist/client');

export interface App {
  server: http.Server;
  close(): Promise<void>;
}

export function createApp(config: ServerConfig): App {
  const router = findMyWay({
    ignoreTrailingSlash: true,
    defaultRoute: (req, res) => pages(req, res),
  });

  const ingest = new Ingest(config.ingest, config.media);
  const origin = new Origin({
    partTargetMs: config.media.partTargetMs,
    segmentTargetMs: config.media.segmentTargetMs,
    windowSegments: config.media.windowSegments,
  });
  ingest.on('stream', (name, stream) => origin.attach(name, stream));
  registerIngestRoutes(router, ingest);
  registerOriginRoutes(router, origin);

  const metrics = createMetrics({
    liveStreams: () => ingest.streamCount,
    publishesTotal: () => ingest.publishesTotal,
    publishersDroppedTotal: () => ingest.droppedTotal,
    ingestBytes: () => ingest.bytesReceived,
  });
  router.on(['GET', 'HEAD'], '/healthz', (_req, res) => {
    const body = JSON.stringify({ status: 'ok', role: config.role, liveStreams: ingest.streamCount });
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
    res.end(body);
  });
  router.on('GET', '/metrics', async (_req, res) => {
    const body = await metrics.registry.metrics();
    res.writeHead(200, { 'Content-Type': metrics.registry.contentType, 'Cache-Control': 'no-store' });
    res.end(body);
  });

  const hasPages = existsSync(resolve(PAGES_DIR, 'index.html'));
  if (!hasPages) log('warn', 'pages.missing', { dir: PAGES_DIR, hint: 'run `npm run build`' });
  const serveStatic = sirv(PAGES_DIR, { extensions: ['html'], etag: true, dev: false });
  const pages = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendText(res, 405, 'method not allowed');
      return;
    }
    serveStatic(req, res, () => sendText(res, 404, 'not found'));
  };

  const server = http.createServer((req, res) => {
    res.on('finish', () => {
      const path = req.url ?? '/';
      const route = path.startsWith('/live/') ? 'live' : path.startsWith('/api/') ? 'api' : 'page';
      metrics.httpResponses.inc({ route, status: String(res.statusCode) });
    });
    router.lookup(req, res);
  });
  server.keepAliveTimeout = 65_000;

  return {
    server,
    close: async () => {
      ingest.close();
      origin.close();
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}
