// Who may publish: bearer keys (one for every stream, or per stream) and HMAC-signed publish tokens (a stream until a
// time), compared in constant time, failed attempts rate-limited per client address. Every ingest path calls it.
import { timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import type { IncomingMessage } from 'node:http';
import { isValidStreamName } from '../../shared/stream-name.ts';
import { log } from '../log.ts';
import { BEARER_CHALLENGE, bearerCredentials, secretDigest } from './bearer.ts';

export interface PublishAuthConfig {
  /** PUBLISH_KEY: a key that may publish every stream. */
  key: string | undefined;
  /** PUBLISH_KEYS_FILE, read at start: stream name → the key that may publish it. */
  streamKeys: Record<string, string>;
  /** PUBLISH_SECRET: the HMAC key of publish tokens. */
  secret: string | undefined;
  /** PUBLISH_AUTH: `auto` checks keys when any is set; `off` publishes openly whatever is set. */
  mode: 'auto' | 'off';
}

export const PUBLISH_AUTH_DEFAULTS: PublishAuthConfig = { key: undefined, streamKeys: {}, secret: undefined, mode: 'auto' };

/** Shortest key or secret accepted: a shorter one could be guessed within the failed-attempt limit's lifetime. */
export const MIN_PUBLISH_KEY_CHARS = 16;
/** Failed attempts a client address may make per window before every attempt from it is refused with 429. */
export const MAX_FAILED_PUBLISH_ATTEMPTS = 10;
export const FAILED_PUBLISH_WINDOW_MS = 60_000;
/** Addresses remembered before the ones whose failures all fell out of the window are forgotten. */
const MAX_TRACKED_ADDRESSES = 10_000;
/** The `aud` of a publish token, so a token signed for another purpose with the same secret does not publish. */
const PUBLISH_TOKEN_AUDIENCE = 'swarmcast:publish';
/** Longest publish token lifetime `mintPublishToken` signs: 30 days. */
export const MAX_PUBLISH_TOKEN_TTL_S = 30 * 24 * 3600;

export type PublishAuthReason = 'missing-key' | 'wrong-key' | 'expired-token' | 'other-stream' | 'too-many-failures';

/** A refused publish attempt: the stream, why, and the HTTP status it answers (401, 403 or 429). */
export class PublishAuthError extends Error {
  override name = 'PublishAuthError';
  constructor(
    readonly streamName: string,
    readonly reason: PublishAuthReason,
    message: string,
    /** For `too-many-failures`: when the client may try again, s. */
    readonly retryAfterS?: number,
  ) {
    super(message);
  }

  get status(): 401 | 403 | 429 {
    if (this.reason === 'other-stream') return 403;
    if (this.reason === 'too-many-failures') return 429;
    return 401;
  }
}

/** A problem with the publish key settings, found at start. */
export class PublishKeysError extends Error {
  override name = 'PublishKeysError';
}

/** Reads PUBLISH_KEYS_FILE: a JSON object of stream name → key, each a valid name and a key long enough. */
export function readPublishKeysFile(path: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new PublishKeysError(`cannot read ${path} as JSON (${(err as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new PublishKeysError(`${path} must hold a JSON object {"stream": "key", …}`);
  }
  const keys: Record<string, string> = {};
  for (const [stream, key] of Object.entries(parsed)) {
    if (!isValidStreamName(stream)) throw new PublishKeysError(`${path}: "${stream}" is not a valid stream name`);
    // The key itself never goes into a message.
    if (typeof key !== 'string' || key.length < MIN_PUBLISH_KEY_CHARS) {
      throw new PublishKeysError(`${path}: the key of "${stream}" must be a string of at least ${MIN_PUBLISH_KEY_CHARS} characters`);
    }
    keys[stream] = key;
  }
  return keys;
}

/** Whether `config` sets any key, file or secret, that is, whether publishing can be checked at all. */
export function hasPublishKeys(config: PublishAuthConfig): boolean {
  return config.key !== undefined || Object.keys(config.streamKeys).length > 0 || config.secret !== undefined;
}

/** Signs a publish token for `streamName`, valid `ttlS` seconds from `nowS`. */
export async function mintPublishToken(secret: string, streamName: string, ttlS: number, nowS = Math.floor(Date.now() / 1000)): Promise<string> {
  if (!isValidStreamName(streamName)) throw new PublishKeysError(`"${streamName}" is not a valid stream name`);
  if (!Number.isInteger(ttlS) || ttlS < 1 || ttlS > MAX_PUBLISH_TOKEN_TTL_S) {
    throw new PublishKeysError(`the token lifetime must be a whole number of seconds from 1 to ${MAX_PUBLISH_TOKEN_TTL_S}`);
  }
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(streamName)
    .setAudience(PUBLISH_TOKEN_AUDIENCE)
    .setIssuedAt(nowS)
    .setExpirationTime(nowS + ttlS)
    .sign(new TextEncoder().encode(secret));
}


const sameKey = (presented: Buffer, expected: Buffer): boolean => timingSafeEqual(presented, expected);

export interface PublishAuthorizerOptions {
  /** The clock, for tests: ms since the epoch. */
  nowMs?: () => number;
}

/** Decides every publish attempt, whatever the ingest path (WebRTC today; RTMP, SRT, WHIP later). */
export class PublishAuthorizer {
  readonly #config: PublishAuthConfig;
  readonly #keyDigest: Buffer | undefined;
  readonly #streamKeyDigests: Map<string, Buffer>;
  readonly #secret: Uint8Array | undefined;
  readonly #nowMs: () => number;
  /** Failure times per client address, within the window. */
  readonly #failures = new Map<string, number[]>();

  constructor(config: PublishAuthConfig, options: PublishAuthorizerOptions = {}) {
    this.#config = config;
    this.#keyDigest = config.key === undefined ? undefined : secretDigest(config.key);
    this.#streamKeyDigests = new Map(Object.entries(config.streamKeys).map(([stream, key]) => [stream, secretDigest(key)]));
    this.#secret = config.secret === undefined ? undefined : new TextEncoder().encode(config.secret);
    this.#nowMs = options.nowMs ?? Date.now;
  }

  /** True when anyone may publish: no key is set, or PUBLISH_AUTH=off. */
  get open(): boolean {
    return this.#config.mode === 'off' || !hasPublishKeys(this.#config);
  }

  /**
   * Resolves when `presentedKey` (a key or a publish token; undefined when none came) may publish `streamName` from
   * `clientAddress`; otherwise rejects with a PublishAuthError and counts the failure against the address.
   */
  async authorize(streamName: string, presentedKey: string | undefined, clientAddress: string): Promise<void> {
    if (this.open) return;
    const now = this.#nowMs();
    const retryAfterS = this.#blockedForS(clientAddress, now);
    if (retryAfterS > 0) {
      throw new PublishAuthError(streamName, 'too-many-failures', `too many failed publish attempts: try again in ${retryAfterS} s`, retryAfterS);
    }
    const failure = await this.#check(streamName, presentedKey);
    if (failure) {
      this.#recordFailure(clientAddress, now);
      throw failure;
    }
  }

  /** The refusal for `presentedKey`, or null when it may publish `streamName`. */
  async #check(streamName: string, presentedKey: string | undefined): Promise<PublishAuthError | null> {
    if (presentedKey === undefined || presentedKey === '') {
      return new PublishAuthError(streamName, 'missing-key', 'publishing needs a key: send Authorization: Bearer KEY');
    }
    const presented = secretDigest(presentedKey);
    // Every configured key is compared, so the time taken does not tell which one (if any) came close.
    let matchesThis = this.#keyDigest !== undefined && sameKey(presented, this.#keyDigest);
    let matchesOther = false;
    for (const [stream, expected] of this.#streamKeyDigests) {
      const same = sameKey(presented, expected);
      if (stream === streamName) matchesThis ||= same;
      else matchesOther ||= same;
    }
    if (matchesThis) return null;
    if (matchesOther) return new PublishAuthError(streamName, 'other-stream', `this key may not publish "${streamName}"`);
    if (this.#secret !== undefined && presentedKey.split('.').length === 3) return this.#checkToken(streamName, presentedKey, this.#secret);
    return new PublishAuthError(streamName, 'wrong-key', 'the publish key is not valid');
  }

  async #checkToken(streamName: string, token: string, secret: Uint8Array): Promise<PublishAuthError | null> {
    try {
      // jose compares HMAC signatures with timingSafeEqual.
      const { payload } = await jwtVerify(token, secret, {
        algorithms: ['HS256'],
        audience: PUBLISH_TOKEN_AUDIENCE,
        requiredClaims: ['sub', 'exp'],
        currentDate: new Date(this.#nowMs()),
      });
      if (payload.sub === streamName) return null;
      return new PublishAuthError(streamName, 'other-stream', `this publish token may not publish "${streamName}"`);
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) return new PublishAuthError(streamName, 'expired-token', 'the publish token has expired');
      if (err instanceof joseErrors.JOSEError) return new PublishAuthError(streamName, 'wrong-key', 'the publish key is not valid');
      throw err;
    }
  }

  /** Seconds until `address` may try again; 0 when it is within the limit. */
  #blockedForS(address: string, now: number): number {
    const recent = this.#recent(address, now);
    if (recent.length < MAX_FAILED_PUBLISH_ATTEMPTS) return 0;
    return Math.max(1, Math.ceil((recent[0]! + FAILED_PUBLISH_WINDOW_MS - now) / 1000));
  }

  #recordFailure(address: string, now: number): void {
    const recent = this.#recent(address, now);
    recent.push(now);
    this.#failures.set(address, recent);
    if (this.#failures.size > MAX_TRACKED_ADDRESSES) {
      for (const known of this.#failures.keys()) {
        if (this.#recent(known, now).length === 0) this.#failures.delete(known);
      }
    }
  }

  #recent(address: string, now: number): number[] {
    const since = now - FAILED_PUBLISH_WINDOW_MS;
    return (this.#failures.get(address) ?? []).filter((t) => t > since);
  }
}

/** What an HTTP ingest answers for a refusal: the status, a short reason, and the RFC 6750 / RFC 6585 headers. */
export function publishAuthReply(err: PublishAuthError): { status: number; text: string; headers: Record<string, string> } {
  const realm = BEARER_CHALLENGE;
  const headers: Record<string, string> = {};
  if (err.reason === 'missing-key') headers['www-authenticate'] = realm;
  else if (err.reason === 'wrong-key' || err.reason === 'expired-token') {
    headers['www-authenticate'] = `${realm}, error="invalid_token", error_description="${err.message}"`;
  } else if (err.reason === 'other-stream') headers['www-authenticate'] = `${realm}, error="insufficient_scope"`;
  else if (err.retryAfterS !== undefined) headers['retry-after'] = String(err.retryAfterS);
  return { status: err.status, text: err.message, headers };
}

const socketAddress = (req: IncomingMessage): string => req.socket.remoteAddress ?? 'unknown';

/**
 * The HTTP ingest's gate: the bearer credentials of `req` checked for `streamName` from the client's address (the
 * socket's, unless `addressOf` knows better, e.g. from a trusted proxy's X-Forwarded-For); null to go ahead, or the
 * reply to send. Refusals are logged with the stream, reason and address, never the key.
 */
export function publishGate(authorizer: PublishAuthorizer, addressOf: (req: IncomingMessage) => string = socketAddress) {
  return async (req: IncomingMessage, streamName: string): Promise<ReturnType<typeof publishAuthReply> | null> => {
    const clientAddress = addressOf(req);
    try {
      await authorizer.authorize(streamName, bearerCredentials(req.headers.authorization), clientAddress);
      return null;
    } catch (err) {
      if (!(err instanceof PublishAuthError)) throw err;
      log('info', 'publish.unauthorized', { stream: streamName, reason: err.reason, client: clientAddress });
      return publishAuthReply(err);
    }
  };
}
