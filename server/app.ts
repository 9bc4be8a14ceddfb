// Assembles one process's HTTP server from the stages its role runs (ingest → packager → origin + tracker, or the
// edge): routes, WebSocket upgrades, pages, client settings, health and metrics.
import { existsSync } from 'node:fs';
import type http from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Server } from 'node:net';
import { resolve } from 'node:path';
import type { Duplex } from 'node:stream';
import findMyWay from 'find-my-way';
import type Router from 'find-my-way';
import { Registry } from 'prom-client';
import { setUnhandledErrorReporter } from '../shared/events.ts';
import {
  BEARER_CHALLENGE,
  bearerCredentials,
  matchesSecret,
  PLAYBACK_AUTH_PATH,
  PlaybackAccessError,
  PlaybackGuard,
  PublishAuthorizer,
  publishGate,
  secretDigest,
  serveTokenApi,
  TOKEN_API_PATH,
} from './access/index.ts';
import type { ServerConfig } from './config.ts';
import { Edge, registerEdgeRoutes, TrackerRelay } from './edge/index.ts';
import { createListener, createPages, failInternal, registerPreflight, sendBody, sendJson, sendText } from './http/index.ts';
import { admitSrtPublisher, Ingest, registerIngestRoutes, RtmpServer, SrtServer } from './ingest/index.ts';
import { log } from './log.ts';
import { createMetrics, type MetricSources } from './metrics.ts';
import { Origin, registerOriginRoutes } from './origin/index.ts';
import { packageIngest, ReconnectGrace } from './packager/index.ts';
import { Tracker, TRACKER_PATH } from './tracker/index.ts';
import { registerTranscodeRoutes, Transcoder } from './transcode/index.ts';
import { logUnhandledError } from './unhandled-error.ts';
import { EMBED_PAGE_PREFIX } from '../shared/embed-paths.ts';
import { PLAYBACK_PREFIX, TOKEN_PREFIX } from '../shared/playback-path.ts';

const PAGES_DIR = resolve(import.meta.dirname, '../dist/client');

/** What a role adds to the shared HTTP server: its routes (registered at creation), its health, its close. */
interface RoleParts {
  rtmp?: RtmpServer;
  srt?: SrtServer;
  metricSources: MetricSources;
  /** Metrics the role keeps in a registry of its own. */
  registry?: Registry;
  health(): { status: string } & Record<string, unknown>;
  /**
   * Takes an HTTP upgrade of TRACKER_PATH (the tracker's WebSocket); `stream`, when playback tokens are on, is the
   * one stream whose swarms the connection's token admits it to.
   */
  upgradeTracker(req: http.IncomingMessage, socket: Duplex, head: Buffer, stream: string | undefined): void;
  close(): void;
}

/** How long a player may keep the client settings of /api/config, s. */
const CLIENT_CONFIG_MAX_AGE_S = 60;

export interface App {
  /** HTTP, or HTTPS (HTTP/2 and HTTP/1.1) with TLS_CERT and TLS_KEY. */
  server: Server;
  secure: boolean;
  /** The RTMP ingest of an origin with RTMP_PORT set, not yet listening (the entry point starts it). */
  rtmp: RtmpServer | undefined;
  /** The SRT ingest of an origin with SRT_PORT set, not yet listening (the entry point starts it; it may be unavailable). */
  srt: SrtServer | undefined;
  close(): Promise<void>;
}

/** `pagesDir`: the built pages and player (tests serve a build of their own). */
export function createApp(config: ServerConfig, pagesDir = PAGES_DIR): App {
  setUnhandledErrorReporter(logUnhandledError);
  const router = findMyWay({
    ignoreTrailingSlash: true,
    // A playback token is a path parameter (/t/TOKEN/live/…) of a few hundred characters; find-my-way's default is 100.
    maxParamLength: 2048,
    defaultRoute: (req, res) => pages.serve(req, res),
  });

  const guard = PlaybackGuard.fromConfig(config.access.playback);
  const role = config.role === 'edge' ? createEdgeRole(config, router, guard) : createOriginRole(config, router, guard);
  const metrics = createMetrics(role.metricSources);
  const registry = role.registry ? Registry.merge([metrics.registry, role.registry]) : metrics.registry;
  router.on(['GET', 'HEAD'], '/healthz', (_req, res) => {
    const health = role.health();
    sendJson(res, health.status === 'ok' ? 200 : 503, health);
  });
  const metricsAllowed = operatorGate(config, 'metrics');
  router.on('GET', '/metrics', async (req, res) => {
    if (!metricsAllowed(req, res)) return;
    sendBody(res, 200, registry.contentType, await registry.metrics());
  });
  // What a page of any site needs from the server: the ICE servers for a player's peer connections, and where studio
  // encoders publish (the broadcaster page shows it); the RTMP and SRT ports are known once their listeners are up, so
  // they are read here.
  router.on(['GET', 'HEAD'], '/api/config', (_req, res) => {
    const rtmpPort = role.rtmp?.port;
    const srtPort = role.srt?.port;
    const clientConfig = JSON.stringify({
      iceServers: config.iceServers,
      ...(rtmpPort !== undefined && { rtmp: { port: rtmpPort } }),
      ...(srtPort !== undefined && { srt: { port: srtPort, passphrase: config.srtPassphrase !== undefined } }),
      // WHIP is served wherever the ingest is (origin roles), under this server's own address.
      ...(config.role !== 'edge' && { whip: true }),
    });
    sendBody(res, 200, 'application/json', clientConfig, { 'cache-control': `public, max-age=${CLIENT_CONFIG_MAX_AGE_S}` });
  });
  registerPreflight(router, '/api/config');
  // nginx edges ask here before serving /live/ (auth_request, server/edge/nginx); any role holding the secret answers.
  router.on('GET', PLAYBACK_AUTH_PATH, (req, res) => {
    guard.answerAuthRequest(req, res).catch((err: unknown) => failInternal(res, 'playback-auth.error', err));
  });
  const tokenApiKey = config.access.playback.tokenApiKey;
  if (tokenApiKey !== undefined) {
    const tokenApiKeyDigest = secretDigest(tokenApiKey);
    router.on('POST', TOKEN_API_PATH, (req, res) => {
      serveTokenApi(req, res, guard, tokenApiKeyDigest).catch((err: unknown) => failInternal(res, 'token-api.error', err));
    });
  }

  if (!existsSync(resolve(pagesDir, 'index.html'))) log('warn', 'pages.missing', { dir: pagesDir, hint: 'run `npm run build`' });
  const pages = createPages(pagesDir);
  // Both roles serve the pages and the embeddable player: an embedder's HOST may be the origin or any edge.
  router.on(['GET', 'HEAD'], `${EMBED_PAGE_PREFIX}:name`, (req, res, params) => pages.serveEmbedPage(req, res, params.name ?? ''));

  const tls = config.tls.certPath && config.tls.keyPath ? { certPath: config.tls.certPath, keyPath: config.tls.keyPath } : undefined;
  const listener = createListener((req, res) => {
    res.on('finish', () => {
      const path = req.url ?? '/';
      const route = path.startsWith(PLAYBACK_PREFIX) || path.startsWith(TOKEN_PREFIX) ? 'live' : path.startsWith('/api/') ? 'api' : 'page';
      metrics.httpResponses.inc({ route, status: String(res.statusCode) });
    });
    router.lookup(req, res);
  }, tls);
  const server = listener.server;
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://upgrade');
    if (url.pathname !== TRACKER_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\nno WebSocket here\n');
      return;
    }
    if (!guard.tokensRequired) return role.upgradeTracker(req, socket, head, undefined);
    // With playback tokens on, the swarm is as closed as the stream: the announce URL carries the viewer's token.
    guard.trackerStream(req, url.searchParams.get('token') ?? undefined).then(
      (stream) => role.upgradeTracker(req, socket, head, stream),
      (err: unknown) => {
        const status = err instanceof PlaybackAccessError ? err.status : 500;
        const reason = err instanceof PlaybackAccessError ? err.reason : 'internal error';
        socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\n${reason}\n`);
      },
    );
  });

  return {
    server,
    secure: listener.secure,
    rtmp: role.rtmp,
    srt: role.srt,
    close: async () => {
      role.close();
      await Promise.all([listener.close(), role.rtmp?.close(), role.srt?.close()]);
    },
  };
}

/** ROLE=all and ROLE=origin: ingest feeds the origin, which serves /live/ itself. */
/**
 * The check of an operator's endpoint (`what`: /metrics, the transcoding status API): with METRICS_TOKEN set, a request
 * without it as its bearer token is answered 401 here and refused.
 */
function operatorGate(config: ServerConfig, what: string): (req: http.IncomingMessage, res: http.ServerResponse) => boolean {
  const token = config.access.metricsToken === undefined ? undefined : secretDigest(config.access.metricsToken);
  return (req, res) => {
    if (!token || matchesSecret(bearerCredentials(req.headers.authorization), token)) return true;
    sendText(res, 401, `${what} need Authorization: Bearer METRICS_TOKEN`, { 'www-authenticate': BEARER_CHALLENGE });
    return false;
  };
}

function createOriginRole(config: ServerConfig, router: Router.Instance<Router.HTTPVersion.V1>, guard: PlaybackGuard): RoleParts {
  const ingest = new Ingest(config.ingest, config.media);
  const origin = new Origin({
    partTargetMs: config.media.partTargetMs,
    segmentTargetMs: config.media.segmentTargetMs,
    windowSegments: config.media.windowSegments,
    encryption: config.access.encryption,
  });
  // A publisher that drops and comes back within the grace period continues its stream: nothing new to attach then.
  const grace = new ReconnectGrace({
    graceMs: config.ingest.publishGraceMs,
    partTargetUs: config.media.partTargetMs * 1000,
    segmentTargetUs: config.media.segmentTargetMs * 1000,
  });
  // Field encoders' single renditions get the origin's ladder on the way to the packager.
  const transcoder = new Transcoder(config.transcode);
  packageIngest(ingest, grace, (name, packager) => origin.attach(name, packager), (published, fieldPath) => transcoder.wrap(published, fieldPath));
  registerTranscodeRoutes(router, transcoder, operatorGate(config, 'transcoding statuses'));
  const publishAuthorizer = new PublishAuthorizer(config.access.publish);
  if (publishAuthorizer.open) {
    log('warn', 'publish.open', { reason: 'no publish key is set: anyone who reaches this server may publish', hint: 'set PUBLISH_KEY, PUBLISH_KEYS_FILE or PUBLISH_SECRET' });
  }
  // Behind a trusted proxy the failed-attempt and publish-rate budgets are each publisher's, not the proxy's.
  const addressOf = (req: http.IncomingMessage): string => guard.clientAddress(req);
  registerIngestRoutes(router, ingest, publishGate(publishAuthorizer, addressOf), addressOf);
  // RTMP publishers go through the same key check and the same admission as the browser's.
  const rtmp =
    config.rtmpPort === undefined ? undefined : new RtmpServer({ ingest, authorizer: publishAuthorizer, idleTimeoutMs: config.ingest.idleTimeoutMs });
  // SRT publishers too, decided before their handshake is answered (a refusal is an SRT rejection code).
  const srt =
    config.srtPort === undefined
      ? undefined
      : new SrtServer({
          authorizer: publishAuthorizer,
          passphrase: config.srtPassphrase,
          vet: (publisher) => ingest.vet(publisher.streamName, publisher.remoteAddress),
          admit: (publisher) => admitSrtPublisher(publisher, ingest, config.ingest.idleTimeoutMs),
        });
  registerOriginRoutes(router, origin, guard);
  const tracker = new Tracker({ directory: origin });
  return {
    ...(rtmp && { rtmp }),
    ...(srt && { srt }),
    registry: tracker.registry,
    metricSources: {
      liveStreams: () => ingest.streamCount,
      publishesTotal: () => ingest.publishesTotal,
      publishersDroppedTotal: () => ingest.droppedTotal,
      ingestBytes: () => ingest.bytesReceived,
      targetDurationRaises: () => origin.targetDurationRaises,
      transcodeWorkers: () => transcoder.active(),
      transcodeRestarts: () => transcoder.restartsTotal,
      transcodeRefused: () => transcoder.refusedTotal,
    },
    health: () => ({ status: 'ok', role: config.role, liveStreams: ingest.streamCount }),
    upgradeTracker: (req, socket, head, stream) => tracker.handleUpgrade(req, socket, head, stream),
    close: () => {
      tracker.close();
      ingest.close();
      transcoder.close();
      grace.close();
      origin.close();
    },
  };
}

/**
 * ROLE=edge: /live/ goes through the caching proxy to ORIGIN_URL, and /tracker to the origin's tracker (one swarm
 * registry for the viewers of every edge); publishing belongs to the origin.
 */
function createEdgeRole(config: ServerConfig, router: Router.Instance<Router.HTTPVersion.V1>, guard: PlaybackGuard): RoleParts {
  const edge = new Edge({ ...config.edge, originUrls: config.originUrls });
  const trackerRelay = new TrackerRelay(config.originUrls);
  registerEdgeRoutes(router, edge, guard);
  router.all('/api/publish/*', (_req, res) => sendText(res, 404, `this is an edge: publish to the origin (${config.originUrls[0]})`));
  return {
    metricSources: { trackerRelayConnections: () => trackerRelay.connections },
    registry: edge.registry,
    health: () => ({ role: config.role, ...edge.health() }),
    upgradeTracker: (req, socket, head, stream) => {
      // The origin is asked with the edge's own token for the stream the viewer's token admitted.
      if (stream === undefined) return trackerRelay.relay(req, socket, head);
      guard.serviceToken(stream).then(
        (token) => {
          req.url = `${TRACKER_PATH}?token=${token}`;
          trackerRelay.relay(req, socket, head);
        },
        () => socket.destroy(),
      );
    },
    close: () => {
      trackerRelay.close();
      edge.close();
    },
  };
}
