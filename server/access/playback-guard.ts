// The one access check of /live/ requests, used by the origin's routes and the edge's: the playback token (when
// PLAYBACK_SECRET is set) and the stream's geo rules (when GEO_RULES_FILE is set). 401 no token; 403 a bad, expired,
// other stream's or other address's or country's token; 451 geo-blocked.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BlockList } from 'node:net';
import { parsePlaybackPath, splitPlaybackToken } from '../../shared/playback-path.ts';
import { sendText } from '../http/index.ts';
import { clientAddressOf } from './client-address.ts';
import { GeoRules, openCountryDatabase, type CountryLookup } from './geo.ts';
import { PlaybackAccessError } from './playback-errors.ts';
import { listHas, mintPlaybackToken, networkList, playbackKey, PlaybackTokenVerifier } from './playback-token.ts';

/** The settings of ServerConfig.access.playback. */
export interface PlaybackAccessConfig {
  /** PLAYBACK_SECRET: HMAC key of playback tokens, shared by the origin and its edges; unset, /live/ is open. */
  secret: string | undefined;
  /** GEO_RULES_FILE: per-stream country and CIDR rules; unset, no geo rules. */
  geoRulesFile: string | undefined;
  /** TRUSTED_PROXIES: networks whose X-Forwarded-For names the client. */
  trustedProxies: string[];
  /** TOKEN_API_KEY: the bearer key of POST /api/token; unset, that endpoint is off. */
  tokenApiKey: string | undefined;
}

export const PLAYBACK_ACCESS_DEFAULTS: PlaybackAccessConfig = { secret: undefined, geoRulesFile: undefined, trustedProxies: [], tokenApiKey: undefined };

/** What is wrong with the geo rules file or the trusted proxies, checked at start (the database is not opened here). */
export function checkPlaybackAccessConfig(config: PlaybackAccessConfig): { key: string; value: string; expected: string } | null {
  try {
    networkList(config.trustedProxies, 'TRUSTED_PROXIES');
  } catch (err) {
    return { key: 'TRUSTED_PROXIES', value: config.trustedProxies.join(','), expected: `comma-separated addresses or CIDRs (${(err as Error).message})` };
  }
  if (config.geoRulesFile === undefined) return null;
  try {
    GeoRules.fromFile(config.geoRulesFile, { countryOf: () => undefined });
  } catch (err) {
    return { key: 'GEO_RULES_FILE', value: config.geoRulesFile, expected: `a readable JSON rules file (${(err as PlaybackAccessError).reason ?? (err as Error).message})` };
  }
  return null;
}

export interface PlaybackGuardOptions {
  secret?: string | undefined;
  geoRules?: GeoRules | undefined;
  trustedProxies?: string[];
  /** Country lookup for tokens bound to a country; the shipped database, opened on first need, when absent. */
  countries?: CountryLookup;
}

/** The path of nginx's auth_request subrequests (server/edge/nginx). */
export const PLAYBACK_AUTH_PATH = '/api/playback-auth';
/** How long nginx may keep an auth answer, s: a revoked geo rule or an expired token is honoured within this. */
const AUTH_ANSWER_MAX_AGE_S = 10;

/** Life of an edge's own upstream tokens, s: short, as one leaked from a log is a key to the stream. */
const SERVICE_TOKEN_TTL_S = 300;
/** An edge mints a new upstream token once its current one has less than this left, s. */
const SERVICE_TOKEN_RENEW_S = 60;

export class PlaybackGuard {
  #verifier: PlaybackTokenVerifier | undefined;
  #key: Uint8Array | undefined;
  #geo: GeoRules | undefined;
  #trusted: BlockList | undefined;
  #countries: CountryLookup | undefined;
  #serviceTokens = new Map<string, { token: Promise<string>; renewAtMs: number }>();

  constructor(options: PlaybackGuardOptions) {
    if (options.secret !== undefined) {
      this.#key = playbackKey(options.secret);
      this.#verifier = new PlaybackTokenVerifier(this.#key);
    }
    this.#geo = options.geoRules;
    this.#countries = options.countries ?? options.geoRules;
    if (options.trustedProxies && options.trustedProxies.length > 0) this.#trusted = networkList(options.trustedProxies, 'TRUSTED_PROXIES');
  }

  /** The guard of a server's configuration; the country database is opened here, once, when geo rules need it. */
  static fromConfig(config: PlaybackAccessConfig): PlaybackGuard {
    const geoRules = config.geoRulesFile === undefined ? undefined : GeoRules.fromFile(config.geoRulesFile, openCountryDatabase());
    return new PlaybackGuard({ secret: config.secret, geoRules, trustedProxies: config.trustedProxies });
  }

  /** Whether /live/ needs a token (PLAYBACK_SECRET is set): then only the /t/TOKEN/live/… form is served. */
  get tokensRequired(): boolean {
    return this.#verifier !== undefined;
  }

  /** The viewer's address: the socket's, or X-Forwarded-For's when the socket is a TRUSTED_PROXIES proxy. */
  clientAddress(req: IncomingMessage): string {
    return clientAddressOf(req, this.#trusted);
  }

  /**
   * Resolves when `req` may have `stream`'s objects with `token` (from its /t/TOKEN prefix), with the token's expiry
   * (s since the epoch; undefined without tokens); rejects with a PlaybackAccessError.
   */
  async check(req: IncomingMessage, stream: string, token: string | undefined): Promise<number | undefined> {
    // Without tokens or geo rules every request may pass: no address to work out on each part request.
    if (!this.#verifier && !this.#geo) return undefined;
    const address = this.clientAddress(req);
    let service = false;
    let expiresAtS: number | undefined;
    if (this.#verifier) {
      if (token === undefined) throw new PlaybackAccessError('unauthorized', stream, 'a playback token is required');
      const { claims, network, service: isService } = await this.#verifier.verify(token);
      if (claims.stream !== stream) throw new PlaybackAccessError('forbidden', stream, 'token is for another stream');
      if (network && !listHas(network, address)) throw new PlaybackAccessError('forbidden', stream, 'token is for another address');
      if (claims.country !== undefined && this.#countryOf(address) !== claims.country) {
        throw new PlaybackAccessError('forbidden', stream, 'token is for another country');
      }
      service = isService;
      expiresAtS = claims.expiresAtS;
    }
    // An edge's own token: the edge checked its viewers' rules itself, and here the address is the edge's.
    if (!service) this.#geo?.check(stream, address);
    return expiresAtS;
  }

  /**
   * Answers nginx's auth_request subrequest (GET PLAYBACK_AUTH_PATH, the viewer's request line in X-Original-URI,
   * the viewer's address in X-Forwarded-For, believed when nginx is in TRUSTED_PROXIES): 204 admitted, 401 or 403
   * refused. auth_request passes only 2xx, 401 and 403 on, so a geo refusal is a 403 marked X-Swarmcast-Refusal: 451,
   * which the nginx config turns back into 451. Every answer may be cached for a few seconds (never past the
   * token's expiry), so nginx asks once per viewer, token and stream, not once per part.
   */
  async answerAuthRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const original = req.headers['x-original-uri'];
    const split = typeof original === 'string' ? splitPlaybackToken(original) : null;
    const stream = split ? parsePlaybackPath(split.path)?.stream : undefined;
    const cache = (seconds: number): Record<string, string> => ({ 'Cache-Control': `max-age=${Math.max(0, Math.floor(seconds))}` });
    if (!split || stream === undefined) {
      // Not a playback path: without tokens the origin answers it (its 404); with tokens nothing is served for it.
      if (this.tokensRequired) return sendText(res, 403, 'not a playback path', { ...cache(AUTH_ANSWER_MAX_AGE_S), 'X-Swarmcast-Reason': 'not a playback path' });
      res.writeHead(204, cache(AUTH_ANSWER_MAX_AGE_S)).end();
      return;
    }
    try {
      const expiresAtS = await this.check(req, stream, split.token);
      const left = expiresAtS === undefined ? AUTH_ANSWER_MAX_AGE_S : Math.min(AUTH_ANSWER_MAX_AGE_S, expiresAtS - Date.now() / 1000);
      res.writeHead(204, cache(left)).end();
    } catch (err) {
      if (!(err instanceof PlaybackAccessError)) throw err;
      const headers: Record<string, string> = { ...cache(AUTH_ANSWER_MAX_AGE_S), 'X-Swarmcast-Reason': err.reason };
      if (err.status === 401) headers['WWW-Authenticate'] = 'Bearer realm="swarmcast-playback"';
      if (err.status === 451) headers['X-Swarmcast-Refusal'] = '451';
      sendText(res, err.status === 451 ? 403 : err.status, err.reason, headers);
    }
  }

  /**
   * Checks `req` and answers the refusal itself: resolves true when the request may go on, false when it was
   * answered (401 carries a WWW-Authenticate naming the path-token scheme).
   */
  async admit(req: IncomingMessage, res: ServerResponse, stream: string, token: string | undefined): Promise<boolean> {
    try {
      await this.check(req, stream, token);
      return true;
    } catch (err) {
      if (!(err instanceof PlaybackAccessError)) throw err;
      const headers: Record<string, string> = err.status === 401 ? { 'WWW-Authenticate': 'Bearer realm="swarmcast-playback"' } : {};
      sendText(res, err.status, err.reason, headers);
      return false;
    }
  }

  /**
   * An edge's token for its upstream requests of `stream` (undefined without PLAYBACK_SECRET): one per stream,
   * renewed before it expires, so upstream requests collapse whatever token each viewer brought.
   */
  async serviceToken(stream: string, nowMs = Date.now()): Promise<string | undefined> {
    if (!this.#key) return undefined;
    const held = this.#serviceTokens.get(stream);
    if (held && held.renewAtMs > nowMs) return held.token;
    const token = mintPlaybackToken(this.#key, { stream, ttlS: SERVICE_TOKEN_TTL_S, service: true, nowMs });
    this.#serviceTokens.set(stream, { token, renewAtMs: nowMs + (SERVICE_TOKEN_TTL_S - SERVICE_TOKEN_RENEW_S) * 1000 });
    token.catch(() => this.#serviceTokens.delete(stream));
    return token;
  }

  /** Mints a viewer's token under this server's secret (the /api/token endpoint). */
  async mint(options: { stream: string; ttlS: number; ip?: string; country?: string }): Promise<string> {
    if (!this.#key) throw new PlaybackAccessError('bad-config', options.stream, 'PLAYBACK_SECRET is not set');
    return mintPlaybackToken(this.#key, options);
  }

  /**
   * The stream a tracker connection's token (from `?token=` on the announce URL) admits it to, after the same
   * address, country and geo checks as a /live/ request; rejects with a PlaybackAccessError.
   */
  async trackerStream(req: IncomingMessage, token: string | undefined): Promise<string> {
    if (!this.#verifier) throw new PlaybackAccessError('bad-config', '*', 'PLAYBACK_SECRET is not set');
    if (token === undefined) throw new PlaybackAccessError('unauthorized', '*', 'a playback token is required');
    const { claims } = await this.#verifier.verify(token);
    await this.check(req, claims.stream, token);
    return claims.stream;
  }

  #countryOf(address: string): string | undefined {
    this.#countries ??= openCountryDatabase();
    return this.#countries.countryOf(address);
  }
}
