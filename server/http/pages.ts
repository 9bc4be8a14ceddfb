// Serving the built pages and the embeddable player (dist/client): each kind of file with the cache and CORS headers a
// CDN can keep: content-hashed assets for a year, the embed.js loader (which names them) for five minutes, pages
// revalidated on every load. /embed/NAME is the iframe page for stream NAME.
import { existsSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { resolve } from 'node:path';
import sirv from 'sirv';
import { CORS_HEADERS } from './cors.ts';
import { sendText } from './reply.ts';
import { securityHeaders } from './security-headers.ts';
import { ASSETS_PREFIX, EMBED_LOADER_PATH } from '../../shared/embed-paths.ts';
import { isValidStreamName } from '../../shared/stream-name.ts';

/** Content-hashed: a new build names new files, so any cache may keep these forever. */
const IMMUTABLE_CACHE = 'public, max-age=31536000, immutable';
/** How long a deploy takes to reach embedders whose browser or CDN holds the old loader. */
const EMBED_LOADER_CACHE = 'public, max-age=300';
/** Pages name the hashed assets of their build: revalidated (ETag) on every load, so a deploy shows at once. */
const PAGE_CACHE = 'no-cache';
/** Any site may load the loader and the modules it imports (module scripts are fetched with CORS). */
const CROSS_ORIGIN_HEADERS = { ...CORS_HEADERS, 'cross-origin-resource-policy': 'cross-origin' };

/** The built iframe page served at /embed/NAME. */
const EMBED_PAGE = '/embed.html';

/** The cache and CORS headers of the static file at `pathname`. */
function staticHeaders(pathname: string): Record<string, string> {
  if (pathname.startsWith(ASSETS_PREFIX)) return { ...CROSS_ORIGIN_HEADERS, 'cache-control': IMMUTABLE_CACHE };
  if (pathname === EMBED_LOADER_PATH) return { ...CROSS_ORIGIN_HEADERS, 'cache-control': EMBED_LOADER_CACHE };
  return { ...CORS_HEADERS, 'cache-control': PAGE_CACHE };
}

export interface Pages {
  /** Answers a request for a page or asset, or 404/405. */
  serve(req: IncomingMessage, res: ServerResponse): void;
  /** Answers /embed/NAME with the iframe page, or 404 with the reason. */
  serveEmbedPage(req: IncomingMessage, res: ServerResponse, stream: string): void;
}

/** Serves the build in `dir`; without one (not built) every page is a 404 saying so, and the rest of the server works. */
export function createPages(dir: string): Pages {
  const built = existsSync(resolve(dir, 'index.html'));
  // sirv reads the folder at creation (and throws when it is missing), then serves the .br or .gz copy a client accepts.
  const serveStatic = built ? sirv(dir, { extensions: ['html'], etag: true, dev: false, gzip: true, brotli: true }) : undefined;
  const hasEmbedPage = existsSync(resolve(dir, EMBED_PAGE.slice(1)));
  const notBuilt = 'not found (the pages are not built: run `npm run build`)';

  const serveFile = (req: IncomingMessage, res: ServerResponse, pathname: string): void => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendText(res, 405, 'method not allowed');
    if (!serveStatic) return sendText(res, 404, notBuilt);
    // Set before sirv answers, so its 304s carry them too; every file has .br and .gz copies to choose from.
    const headers = { ...staticHeaders(pathname), ...securityHeaders(pathname, pathname === EMBED_PAGE) };
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    res.setHeader('vary', 'Accept-Encoding');
    serveStatic(req, res, () => sendText(res, 404, 'not found'));
  };

  return {
    serve: (req, res) => serveFile(req, res, (req.url ?? '/').split('?')[0]!),
    serveEmbedPage: (req, res, stream) => {
      if (!isValidStreamName(stream)) {
        return sendText(res, 404, `"${stream}" is not a valid stream name: use 1 to 64 of a-z, 0-9, _ and -`);
      }
      if (!hasEmbedPage) return sendText(res, 404, 'not found (the embed page is not built: run `npm run build`)');
      req.url = EMBED_PAGE + searchOf(req.url ?? '');
      serveFile(req, res, EMBED_PAGE);
    },
  };
}

/** The query of a request URL, with its `?`, or ''. */
function searchOf(url: string): string {
  const at = url.indexOf('?');
  return at < 0 ? '' : url.slice(at);
}
