// The security headers of the pages and static files: a Content-Security-Policy per page, no MIME sniffing, no referrer.
import { ASSETS_PREFIX, EMBED_LOADER_PATH } from '../../shared/embed-paths.ts';

/**
 * What the pages load: their own hashed modules and styles (the embed page inlines one <style>), media through MSE
 * (blob:) or natively from any origin or edge (`&edges=`), playlists, parts and the tracker from any origin or edge,
 * and hls.js's worker from a blob:. Nothing else (no plugins, no <base>, forms post only here).
 */
const CSP_DIRECTIVES = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "media-src 'self' blob: http: https:",
  "connect-src 'self' http: https: ws: wss:",
  "worker-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
];

/** The iframe page any site may embed; every other page only frames itself (no clickjacking of Go live). */
const EMBED_FRAME_ANCESTORS = 'frame-ancestors *';
const PAGE_FRAME_ANCESTORS = "frame-ancestors 'self'";

const COMMON_HEADERS = {
  'x-content-type-options': 'nosniff',
  // Page URLs may carry a publish key (until the page removes it) or a playback token: none is sent on to anyone.
  'referrer-policy': 'no-referrer',
};

const EMBED_PAGE_HEADERS = { ...COMMON_HEADERS, 'content-security-policy': [...CSP_DIRECTIVES, EMBED_FRAME_ANCESTORS].join('; ') };
const PAGE_HEADERS = { ...COMMON_HEADERS, 'content-security-policy': [...CSP_DIRECTIVES, PAGE_FRAME_ANCESTORS].join('; ') };

/** The security headers of the static file at `pathname`; `embedPage` for the iframe page served at /embed/NAME. */
export function securityHeaders(pathname: string, embedPage: boolean): Record<string, string> {
  if (pathname.startsWith(ASSETS_PREFIX) || pathname === EMBED_LOADER_PATH) return COMMON_HEADERS;
  return embedPage ? EMBED_PAGE_HEADERS : PAGE_HEADERS;
}
