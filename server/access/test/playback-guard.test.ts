// The playback guard over real HTTP from 127.0.0.1: 401 without a token, 403 for expired, forged, other stream's,
// other address's and other country's tokens, 451 for geo rules, X-Forwarded-For believed only from trusted proxies.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { GeoRules, openCountryDatabase } from '../geo.ts';
import { PlaybackGuard, type PlaybackGuardOptions } from '../playback-guard.ts';
import { mintPlaybackToken, playbackKey } from '../playback-token.ts';

const SECRET = 'a-test-secret-of-at-least-32-bytes!!';
const KEY = playbackKey(SECRET);
const US = '8.8.8.8';
const GB = '212.58.244.1';
const countries = openCountryDatabase();
const servers: http.Server[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) await new Promise((done) => server.close(done));
});

/** A real server whose every request for /STREAM is answered by the guard (200 "ok" when admitted). */
async function guarded(options: PlaybackGuardOptions): Promise<(stream: string, token?: string, xff?: string) => Promise<{ status: number; body: string; auth?: string }>> {
  const guard = new PlaybackGuard({ countries, ...options });
  const server = http.createServer((req, res) => {
    const [, stream = '', token] = (req.url ?? '').split('/');
    guard.admit(req, res, stream, token || undefined).then((ok) => ok && res.end('ok'));
  });
  servers.push(server);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return async (stream, token, xff) => {
    const res = await fetch(`http://127.0.0.1:${port}/${stream}/${token ?? ''}`, { headers: xff ? { 'x-forwarded-for': xff } : {} });
    return { status: res.status, body: (await res.text()).trim(), auth: res.headers.get('www-authenticate') ?? undefined };
  };
}

const mint = (stream: string, extra: { ip?: string; country?: string; ttlS?: number; nowMs?: number } = {}): Promise<string> =>
  mintPlaybackToken(KEY, { stream, ttlS: extra.ttlS ?? 60, ...extra });

describe('playback guard', () => {
  it('answers 401 without a token and 403 for expired, forged and other-stream tokens', async () => {
    const get = await guarded({ secret: SECRET });
    const forged = await mintPlaybackToken(playbackKey('someone-elses-secret-of-32-bytes!!!!'), { stream: 'demo', ttlS: 60 });
    const results = {
      none: await get('demo'),
      valid: await get('demo', await mint('demo')),
      expired: await get('demo', await mint('demo', { ttlS: 1, nowMs: Date.now() - 10_000 })),
      forged: await get('demo', forged),
      otherStream: await get('demo', await mint('other')),
    };
    expect(Object.fromEntries(Object.entries(results).map(([k, r]) => [k, `${r.status} ${r.body}`]))).toEqual({
      none: '401 a playback token is required',
      valid: '200 ok',
      expired: '403 token expired',
      forged: '403 invalid token',
      otherStream: '403 token is for another stream',
    });
    expect(results.none.auth).toBe('Bearer realm="swarmcast-playback"');
  });

  it('binds a token to an address or network, taking X-Forwarded-For only from a trusted proxy', async () => {
    const trusting = await guarded({ secret: SECRET, trustedProxies: ['127.0.0.0/8'] });
    const untrusting = await guarded({ secret: SECRET, trustedProxies: ['10.0.0.0/8'] });
    const loopback = await mint('demo', { ip: '127.0.0.1' });
    const network = await mint('demo', { ip: '203.0.113.0/24' });
    expect((await untrusting('demo', loopback)).status).toBe(200);
    expect((await untrusting('demo', await mint('demo', { ip: '10.0.0.0/8' }))).body).toBe('token is for another address');
    expect((await trusting('demo', network, '203.0.113.77')).status).toBe(200);
    // The rightmost untrusted hop is the client: a spoofed entry to its left changes nothing.
    expect((await trusting('demo', network, '198.51.100.1, 203.0.113.77')).status).toBe(200);
    expect((await trusting('demo', network, '203.0.113.77, 198.51.100.1')).status).toBe(403);
    // From an untrusted peer the header is ignored: the address is the socket's, 127.0.0.1.
    expect((await untrusting('demo', network, '203.0.113.77')).status).toBe(403);
  });

  it('binds a token to a country looked up from the client address', async () => {
    const get = await guarded({ secret: SECRET, trustedProxies: ['127.0.0.1'] });
    const british = await mint('demo', { country: 'GB' });
    expect([(await get('demo', british, GB)).status, (await get('demo', british, US)).status]).toEqual([200, 403]);
    expect((await get('demo', british, US)).body).toBe('token is for another country');
  });

  it('answers 451 to a blocked country through a trusted proxy, ignores the header from an untrusted peer, and skips geo for an edge token', async () => {
    const geoRules = new GeoRules({ '*': { denyCountries: ['US'] } }, countries);
    const trusting = await guarded({ geoRules, trustedProxies: ['127.0.0.1'] });
    const untrusting = await guarded({ geoRules, trustedProxies: ['192.0.2.0/24'] });
    expect(await trusting('demo', undefined, US)).toMatchObject({ status: 451, body: 'not available in your region' });
    expect((await trusting('demo', undefined, GB)).status).toBe(200);
    expect((await untrusting('demo', undefined, US)).status).toBe(200);
    const withTokens = new PlaybackGuard({ secret: SECRET, geoRules, countries, trustedProxies: ['127.0.0.1'] });
    const edgeToken = await withTokens.serviceToken('demo');
    expect(await withTokens.serviceToken('demo')).toBe(edgeToken);
    const get = await guarded({ secret: SECRET, geoRules, trustedProxies: ['127.0.0.1'] });
    expect([(await get('demo', edgeToken, US)).status, (await get('demo', await mint('demo'), US)).status]).toEqual([200, 451]);
  });
});
