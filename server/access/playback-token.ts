// Playback tokens: JWT HS256 (HMAC-SHA256 under PLAYBACK_SECRET) over the stream, the expiry and optionally the
// viewer's IP/CIDR and country; minted by the token CLI, the /api/token endpoint and edges (for their own upstream
// requests), verified by the playback guard with a small cache of tokens already verified.
import { BlockList, isIP } from 'node:net';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { isValidStreamName } from '../../shared/stream-name.ts';
import { PlaybackAccessError } from './playback-errors.ts';

export interface PlaybackClaims {
  stream: string;
  /** Expiry, seconds since the epoch. */
  expiresAtS: number;
  /** The viewer's address or network (`203.0.113.7` or `203.0.113.0/24`), when the token is bound to one. */
  ip?: string;
  /** ISO 3166-1 alpha-2 country the viewer must be in, when the token is bound to one. */
  country?: string;
}

export interface MintOptions {
  stream: string;
  ttlS: number;
  ip?: string;
  country?: string;
  /** An edge's own upstream token: the origin skips geo rules for it (the edge applied them to its viewers). */
  service?: boolean;
  /** Wall clock, ms (tests mint expired tokens with it). */
  nowMs?: number;
}

/** Longest token life the minting paths accept: a day. Longer-lived links are a leaked link's lifetime. */
export const MAX_TOKEN_TTL_S = 86_400;

const ALGORITHM = 'HS256';

/** The secret as jose's HMAC key; refused when too short to resist guessing (HS256 wants at least 256 bits). */
export function playbackKey(secret: string): Uint8Array {
  const key = new TextEncoder().encode(secret);
  if (key.byteLength < 32) throw new PlaybackAccessError('bad-config', '*', 'PLAYBACK_SECRET must be at least 32 bytes');
  return key;
}

/** Checks mint options before signing; a typed error names what is wrong. */
export function checkMintOptions(options: MintOptions): void {
  const { stream, ttlS, ip, country } = options;
  if (!isValidStreamName(stream)) throw new PlaybackAccessError('bad-request', stream, 'invalid stream name');
  if (!Number.isInteger(ttlS) || ttlS < 1 || ttlS > MAX_TOKEN_TTL_S) throw new PlaybackAccessError('bad-request', stream, `ttl must be 1 to ${MAX_TOKEN_TTL_S} s`);
  if (ip !== undefined && parseNetwork(ip) === null) throw new PlaybackAccessError('bad-request', stream, 'ip must be an address or CIDR');
  if (country !== undefined && !/^[A-Z]{2}$/.test(country)) throw new PlaybackAccessError('bad-request', stream, 'country must be two capital letters');
}

export async function mintPlaybackToken(key: Uint8Array, options: MintOptions): Promise<string> {
  checkMintOptions(options);
  const nowS = Math.floor((options.nowMs ?? Date.now()) / 1000);
  const payload: Record<string, string | boolean> = {};
  if (options.service) payload.svc = true;
  if (options.ip !== undefined) payload.ip = options.ip;
  if (options.country !== undefined) payload.cc = options.country;
  return new SignJWT(payload)
    .setProtectedHeader({ alg: ALGORITHM })
    .setSubject(options.stream)
    .setIssuedAt(nowS)
    .setExpirationTime(nowS + options.ttlS)
    .sign(key);
}

/** A network as [address, prefix length, family], or null for anything else. */
export function parseNetwork(text: string): [string, number, 'ipv4' | 'ipv6'] | null {
  const [address = '', prefix, ...rest] = text.split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return null;
  const max = version === 4 ? 32 : 128;
  const bits = prefix === undefined ? max : /^\d{1,3}$/.test(prefix) ? Number(prefix) : NaN;
  if (!(bits >= 0 && bits <= max)) return null;
  return [address, bits, version === 4 ? 'ipv4' : 'ipv6'];
}

/** A BlockList of `networks` (addresses or CIDRs); throws on a malformed one, naming it. */
export function networkList(networks: readonly string[], what: string): BlockList {
  const list = new BlockList();
  for (const network of networks) {
    const parsed = parseNetwork(network);
    if (!parsed) throw new PlaybackAccessError('bad-config', '*', `${what}: ${JSON.stringify(network)} is not an address or CIDR`);
    list.addSubnet(...parsed);
  }
  return list;
}

/** Whether `address` (as client-address.ts normalises it) is in `list`. */
export function listHas(list: BlockList, address: string): boolean {
  const version = isIP(address);
  return version !== 0 && list.check(address, version === 4 ? 'ipv4' : 'ipv6');
}

export interface CachedClaims {
  claims: PlaybackClaims;
  /** The `ip` claim as a list, parsed once. */
  network: BlockList | undefined;
  /** An edge's upstream token. */
  service: boolean;
}

/**
 * Verifies tokens, remembering the claims of the last `capacity` good ones: a viewer sends its token with every
 * part (5 a second per rendition), and 1,000 viewers would otherwise cost 5,000 HMAC verifications a second. The
 * expiry is still checked on every use; a forged token is never remembered, so it is verified (and refused) each time.
 */
export class PlaybackTokenVerifier {
  #key: Uint8Array;
  #capacity: number;
  #verified = new Map<string, CachedClaims>();

  constructor(key: Uint8Array, capacity = 10_000) {
    this.#key = key;
    this.#capacity = capacity;
  }

  /** The token's claims if it is genuine and unexpired, else an PlaybackAccessError (`forbidden`) saying why. */
  async verify(token: string, nowMs = Date.now()): Promise<CachedClaims> {
    let entry = this.#verified.get(token);
    if (entry) {
      // Least recently used goes first: re-inserting moves the entry to the end.
      this.#verified.delete(token);
      this.#verified.set(token, entry);
    } else {
      entry = await this.#verifySignature(token, nowMs);
      this.#verified.set(token, entry);
      if (this.#verified.size > this.#capacity) this.#verified.delete(this.#verified.keys().next().value!);
    }
    if (entry.claims.expiresAtS * 1000 <= nowMs) throw new PlaybackAccessError('forbidden', entry.claims.stream, 'token expired');
    return entry;
  }

  /** Tokens remembered (for tests and metrics). */
  get size(): number {
    return this.#verified.size;
  }

  async #verifySignature(token: string, nowMs: number): Promise<CachedClaims> {
    let payload;
    try {
      ({ payload } = await jwtVerify(token, this.#key, { algorithms: [ALGORITHM], currentDate: new Date(nowMs), requiredClaims: ['sub', 'exp'] }));
    } catch (err) {
      const reason = err instanceof joseErrors.JWTExpired ? 'token expired' : 'invalid token';
      throw new PlaybackAccessError('forbidden', '*', reason);
    }
    const stream = payload.sub!;
    const ip = typeof payload.ip === 'string' ? payload.ip : undefined;
    const country = typeof payload.cc === 'string' ? payload.cc : undefined;
    const claims: PlaybackClaims = { stream, expiresAtS: payload.exp! };
    if (ip !== undefined) claims.ip = ip;
    if (country !== undefined) claims.country = country;
    let network: BlockList | undefined;
    if (ip !== undefined) {
      const parsed = parseNetwork(ip);
      if (!parsed) throw new PlaybackAccessError('forbidden', stream, 'invalid token');
      network = new BlockList();
      network.addSubnet(...parsed);
    }
    return { claims, network, service: payload.svc === true };
  }
}
