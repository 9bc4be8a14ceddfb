// POST /api/token: mints a viewer's playback token for a site's backend, guarded by the TOKEN_API_KEY bearer key.
// Body {"stream", "ttl", "ip"?, "country"?} → {"token", "playbackPath"}, as `npm run token` prints.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody } from '../http/body.ts';
import { sendJson, sendText } from '../http/index.ts';
import { multivariantPath, withPlaybackToken } from '../../shared/playback-path.ts';
import { PlaybackAccessError } from './playback-errors.ts';
import type { PlaybackGuard } from './playback-guard.ts';

export const TOKEN_API_PATH = '/api/token';
const MAX_BODY_BYTES = 4096;

/** Whether the request carries `Authorization: Bearer KEY`, compared in constant time (digests make the lengths equal). */
function hasBearer(req: IncomingMessage, key: string): boolean {
  const match = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
  const digest = (text: string): Buffer => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(match?.[1] ?? ''), digest(key)) && match !== null;
}

export async function serveTokenApi(req: IncomingMessage, res: ServerResponse, guard: Pick<PlaybackGuard, 'mint'>, apiKey: string): Promise<void> {
  if (!hasBearer(req, apiKey)) return sendText(res, 401, 'a valid bearer key is required', { 'WWW-Authenticate': 'Bearer realm="swarmcast-token-api"' });
  let body: unknown;
  try {
    body = JSON.parse(await readBody(req, MAX_BODY_BYTES));
  } catch {
    return sendText(res, 400, 'expected a JSON body {"stream", "ttl", "ip"?, "country"?} under 4 KiB');
  }
  const { stream, ttl, ip, country } = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  if (typeof stream !== 'string' || typeof ttl !== 'number' || (ip !== undefined && typeof ip !== 'string') || (country !== undefined && typeof country !== 'string')) {
    return sendText(res, 400, 'expected {"stream": string, "ttl": seconds, "ip"?: address or CIDR, "country"?: 2-letter code}');
  }
  try {
    const token = await guard.mint({ stream, ttlS: ttl, ...(ip === undefined ? {} : { ip }), ...(country === undefined ? {} : { country }) });
    sendJson(res, 200, { token, playbackPath: withPlaybackToken(multivariantPath(stream), token) });
  } catch (err) {
    if (err instanceof PlaybackAccessError) return sendText(res, err.status, err.reason);
    throw err;
  }
}
