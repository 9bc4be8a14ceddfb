// POST /api/token: mints a viewer's playback token for a site's backend, guarded by the TOKEN_API_KEY bearer key.
// Body {"stream", "ttl", "ip"?, "country"?} → {"token", "playbackPath"}, as `npm run token` prints.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody } from '../http/body.ts';
import { sendJson, sendText } from '../http/index.ts';
import { multivariantPath, withPlaybackToken } from '../../shared/playback-path.ts';
import { BEARER_CHALLENGE, bearerCredentials, matchesSecret } from './bearer.ts';
import { PlaybackAccessError } from './playback-errors.ts';
import type { PlaybackGuard } from './playback-guard.ts';

export const TOKEN_API_PATH = '/api/token';
const MAX_BODY_BYTES = 4096;

/** `apiKeyDigest`: TOKEN_API_KEY's `secretDigest`, made once; the presented key is compared in constant time (bearer.ts). */
export async function serveTokenApi(req: IncomingMessage, res: ServerResponse, guard: Pick<PlaybackGuard, 'mint'>, apiKeyDigest: Buffer): Promise<void> {
  if (!matchesSecret(bearerCredentials(req.headers.authorization), apiKeyDigest)) {
    return sendText(res, 401, 'a valid bearer key is required', { 'WWW-Authenticate': BEARER_CHALLENGE });
  }
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
