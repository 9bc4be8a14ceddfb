// Signed playback and geo-blocking end to end (issue 12, points 3, 4 and 7): a real origin and a real built-in edge
// with PLAYBACK_SECRET and GEO_RULES_FILE, a Node publisher over a real data channel, tokens from `npm run token`,
// POST /api/token and the signer itself; every refusal with its status, 1,000 viewers' distinct tokens collapsing to
// one upstream request per object, X-Forwarded-For believed only from a trusted proxy, the tracker closed to the
// stream's token holders, ffmpeg playing the encrypted stream with token-guarded keys, and Chromium, Firefox and
// WebKit viewers playing through the edge and explaining a refused link.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintPlaybackToken, playbackKey } from '../server/access/playback-token.ts';
import { multivariantPath, withPlaybackToken } from '../shared/playback-path.ts';
import { launchBrowser, type BrowserKind } from './support/browser-matrix.ts';
import { mediaPlaylistUrl, playlistWithSegments, rawGet, segmentsOf } from './support/live-hls.ts';
import { readMetric } from './support/metrics.ts';
import { startNginx, type RunningNginx } from './support/nginx.ts';
import { startNodePublisher, type NodePublisher } from './support/node-publisher.ts';
import { pollUntil } from './support/poll.ts';
import { startServer, type RunningServer } from './support/server.ts';
import { announce, libraryInfoHash } from './support/tracker-client.ts';

const run = promisify(execFile);
const SECRET = 'e2e-playback-secret-of-at-least-32-bytes';
const KEY = playbackKey(SECRET);
const API_KEY = 'e2e-token-api-key-0123456789';
const STREAM = 'secure';
const OTHER = 'secure-other';
// Addresses the shipped country database places in the US (denied for STREAM) and in GB.
const US = '8.8.8.8';
const GB = '212.58.244.1';
const VIEWERS = 1000;

let dir: string;
let origin: RunningServer;
let edge: RunningServer;
let publisher: NodePublisher;
let nginx: RunningNginx;

const mint = (stream: string, extra: { ttlS?: number; ip?: string; nowMs?: number } = {}): Promise<string> =>
  mintPlaybackToken(KEY, { stream, ttlS: extra.ttlS ?? 600, ...extra });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'swarmcast-security-'));
  const rules = join(dir, 'geo-rules.json');
  await writeFile(rules, JSON.stringify({ [STREAM]: { denyCountries: ['US'] } }));
  const access = { PLAYBACK_SECRET: SECRET, GEO_RULES_FILE: rules };
  // The origin trusts X-Forwarded-For from 127.0.0.1 (as from an nginx in front of it); the edge trusts nobody.
  // STREAM is encrypted too, so its key objects are among what the token guards.
  origin = await startServer({ ROLE: 'origin', ...access, TRUSTED_PROXIES: '127.0.0.1', TOKEN_API_KEY: API_KEY, ENCRYPTED_STREAMS: STREAM });
  edge = await startServer({ ROLE: 'edge', ORIGIN_URL: origin.baseUrl, ...access });
  nginx = await startNginx(origin.baseUrl);
  publisher = await startNodePublisher({ baseUrl: origin.baseUrl, stream: STREAM, width: 640, height: 360, rendition: '360p', videoBitrate: 600_000, sourceSeconds: 4 });
}, 60_000);

afterAll(async () => {
  await publisher?.stop();
  await nginx?.stop();
  await edge?.stop();
  await origin?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/**
 * The media playlist, a completed segment (the oldest listed, or the newest) and part and the init segment of STREAM,
 * as paths under `/live/`.
 */
async function objectsOf(token: string, newest = false): Promise<{ playlist: string; init: string; segment: string; part: string; key: string }> {
  const playlistUrl = await mediaPlaylistUrl(`${origin.baseUrl}/t/${token}`, STREAM);
  const playlist = await playlistWithSegments(playlistUrl, 2);
  const init = /#EXT-X-MAP:URI="([^"]+)"/.exec(playlist)![1]!;
  const key = /#EXT-X-KEY:METHOD=AES-128,URI="([^"]+)"/.exec(playlist)![1]!;
  const segments = segmentsOf(playlist).filter((uri) => uri.endsWith('.m4s'));
  const segment = newest ? segments.at(-1)! : segments[0]!;
  const part = [...playlist.matchAll(/#EXT-X-PART:[^\n]*URI="([^"]+)"/g)].map((m) => m[1]!)[0]!;
  const plain = (name: string): string => new URL(name, playlistUrl).pathname.replace(`/t/${token}`, '');
  return { playlist: plain('media.m3u8'), init: plain(init), segment: plain(segment), part: plain(part), key: plain(key) };
}

/** Every token case the guard tells apart (none, expired, forged, another stream's, another address's, own address, valid) and the status each gets, with STREAM's objects. */
async function refusalCases(): Promise<{ objects: Awaited<ReturnType<typeof objectsOf>>; tokens: Record<string, string | undefined>; expected: Record<string, number>; valid: string }> {
  const valid = await mint(STREAM);
  const objects = await objectsOf(valid);
  const tokens = {
    none: undefined,
    expired: await mint(STREAM, { ttlS: 5, nowMs: Date.now() - 60_000 }),
    forged: await mintPlaybackToken(playbackKey('not-the-server-secret-but-32-bytes-long'), { stream: STREAM, ttlS: 600 }),
    otherStream: await mint(OTHER),
    otherAddress: await mint(STREAM, { ip: '10.0.0.0/8' }),
    ownAddress: await mint(STREAM, { ip: '127.0.0.1/32' }),
    valid,
  };
  const expected = { none: 401, expired: 403, forged: 403, otherStream: 403, otherAddress: 403, ownAddress: 200, valid: 200 };
  return { objects, tokens, expected, valid };
}

describe('signed playback at the origin and the built-in edge', () => {
  it('mints with `npm run token` and POST /api/token (bearer TOKEN_API_KEY), and those tokens play', async () => {
    const { stdout } = await run('npm', ['run', '--silent', 'token', '--', '--stream', STREAM, '--ttl', '60'], {
      cwd: resolve(import.meta.dirname, '..'),
      env: { ...process.env, PLAYBACK_SECRET: SECRET },
    });
    const printed = JSON.parse(stdout) as { token: string; playbackPath: string };
    expect(printed.playbackPath).toBe(withPlaybackToken(multivariantPath(STREAM), printed.token));
    const api = (auth: string | undefined, body: unknown): Promise<Response> =>
      fetch(`${origin.baseUrl}/api/token`, { method: 'POST', headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) }, body: JSON.stringify(body) });
    expect((await api(undefined, { stream: STREAM, ttl: 60 })).status).toBe(401);
    expect((await api('Bearer wrong-key-wrong-key-wrong', { stream: STREAM, ttl: 60 })).status).toBe(401);
    expect((await api(`Bearer ${API_KEY}`, { stream: 'BAD NAME', ttl: 60 })).status).toBe(400);
    expect((await api(`Bearer ${API_KEY}`, { stream: STREAM, ttl: 10 ** 9 })).status).toBe(400);
    const minted = await api(`Bearer ${API_KEY}`, { stream: STREAM, ttl: 60, ip: '127.0.0.1' });
    expect(minted.status).toBe(200);
    const fromApi = (await minted.json()) as { token: string; playbackPath: string };
    await mediaPlaylistUrl(`${origin.baseUrl}/t/${printed.token}`, STREAM);
    for (const { playbackPath } of [printed, fromApi]) {
      for (const base of [origin.baseUrl, edge.baseUrl]) expect((await rawGet(`${base}${playbackPath}`)).status, `${base}${playbackPath}`).toBe(200);
    }
    // The edge has no token API (TOKEN_API_KEY is the origin's here): POST /api/token is not routed there.
    expect([404, 405]).toContain((await rawGet(`${edge.baseUrl}/api/token`, { method: 'POST' })).status);
  }, 60_000);

  it("ffmpeg's HLS demuxer plays the encrypted stream through the edge with a token, fetching each key under it", async () => {
    const token = await mint(STREAM);
    await objectsOf(token);
    const url = `${edge.baseUrl}${withPlaybackToken(multivariantPath(STREAM), token)}`;
    const { stdout, stderr } = await run(
      'ffmpeg',
      ['-hide_banner', '-nostdin', '-v', 'info', '-i', url, '-t', '3', '-map', '0:v', '-f', 'null', '-progress', 'pipe:1', '-'],
      { timeout: 60_000 },
    );
    const frames = Math.max(...[...stdout.matchAll(/^frame=(\d+)$/gm)].map((m) => Number(m[1])));
    const keyUrls = [...stderr.matchAll(/Opening '([^']+\.key)' for reading/g)].map((m) => m[1]!);
    expect(stderr).not.toMatch(/error|invalid|corrupt/i);
    expect(frames).toBeGreaterThanOrEqual(3 * 30 - 2);
    expect(keyUrls.length).toBeGreaterThanOrEqual(1);
    for (const keyUrl of keyUrls) expect(new URL(keyUrl).pathname.startsWith(`/t/${token}/live/${STREAM}/`), keyUrl).toBe(true);
    // The same stream without a token: the multivariant playlist is refused, so ffmpeg opens nothing.
    await expect(run('ffmpeg', ['-hide_banner', '-nostdin', '-i', `${edge.baseUrl}${multivariantPath(STREAM)}`, '-t', '1', '-f', 'null', '-'], { timeout: 30_000 })).rejects.toThrow(/401/);
  }, 90_000);

  it(`makes one upstream request per object for ${VIEWERS} viewers with ${VIEWERS} distinct tokens`, async () => {
    const objects = await objectsOf(await mint(STREAM));
    const tokens = await Promise.all(Array.from({ length: VIEWERS }, (_, i) => mint(STREAM, { ttlS: 600 + i })));
    expect(new Set(tokens).size).toBe(VIEWERS);
    for (const kind of ['init', 'segment', 'part', 'key'] as const) {
      const path = objects[kind];
      const edgeBefore = await readMetric(edge.baseUrl, 'swarmcast_edge_upstream_requests_total', { kind });
      const originBefore = await readMetric(origin.baseUrl, 'swarmcast_http_responses_total', { route: 'live', status: '200' });
      const answers = await Promise.all(tokens.map((token) => fetch(`${edge.baseUrl}${withPlaybackToken(path, token)}`).then(async (res) => ({ status: res.status, cache: res.headers.get('x-cache'), bytes: Buffer.from(await res.arrayBuffer()) }))));
      const edgeAfter = await readMetric(edge.baseUrl, 'swarmcast_edge_upstream_requests_total', { kind });
      const originAfter = await readMetric(origin.baseUrl, 'swarmcast_http_responses_total', { route: 'live', status: '200' });
      expect(answers.map((a) => a.status).filter((s) => s !== 200), kind).toEqual([]);
      expect(new Set(answers.map((a) => a.bytes.toString('base64'))).size, kind).toBe(1);
      expect([edgeAfter - edgeBefore, originAfter - originBefore], kind).toEqual([1, 1]);
      expect(answers.filter((a) => a.cache === 'MISS').length, kind).toBeLessThanOrEqual(1);
    }
  }, 120_000);

  it('answers 401 without a token and 403 for expired, forged, other-stream and other-address tokens, for playlists, media and keys', async () => {
    const { objects, tokens, expected, valid } = await refusalCases();
    for (const base of [origin.baseUrl, edge.baseUrl]) {
      for (const path of [multivariantPath(STREAM), objects.playlist, objects.init, objects.segment, objects.part, objects.key]) {
        const statuses: Record<string, number> = {};
        for (const [name, token] of Object.entries(tokens)) statuses[name] = (await rawGet(`${base}${withPlaybackToken(path, token)}`)).status;
        expect(statuses, `${base}${path}`).toEqual(expected);
      }
      const refused = await rawGet(`${base}${multivariantPath(STREAM)}`);
      expect(refused.headers['www-authenticate']).toBe('Bearer realm="swarmcast-playback"');
      expect(refused.headers['access-control-allow-origin']).toBe('*');
      expect(refused.body.toString().trim()).toBe('a playback token is required');
      expect((await rawGet(`${base}${withPlaybackToken(objects.segment, tokens.expired)}`)).body.toString().trim()).toBe('token expired');
    }
    // No token, key or secret in either server's log.
    for (const line of [...origin.logLines, ...edge.logLines]) {
      expect(line).not.toContain(valid);
      expect(line).not.toContain(SECRET);
    }
  }, 60_000);

  it('answers 451 to a blocked country through a trusted proxy and ignores X-Forwarded-For from an untrusted peer', async () => {
    const token = await mint(STREAM);
    const path = withPlaybackToken(multivariantPath(STREAM), token);
    const at = async (base: string, xff: string): Promise<string> => {
      const answer = await rawGet(`${base}${path}`, { headers: { 'x-forwarded-for': xff } });
      return `${answer.status} ${answer.status === 200 ? '' : answer.body.toString().trim()}`.trim();
    };
    // The origin trusts 127.0.0.1: the header names the viewer.
    expect(await at(origin.baseUrl, US)).toBe('451 not available in your region');
    expect(await at(origin.baseUrl, GB)).toBe('200');
    expect(await at(origin.baseUrl, `${GB}, ${US}`)).toBe('451 not available in your region');
    // The edge trusts nobody: the same header is ignored and the viewer is 127.0.0.1, of no country.
    expect(await at(edge.baseUrl, US)).toBe('200');
    // An IP-bound token is checked against the proxied address too.
    const bound = withPlaybackToken(multivariantPath(STREAM), await mint(STREAM, { ip: `${GB}/32` }));
    expect((await rawGet(`${origin.baseUrl}${bound}`, { headers: { 'x-forwarded-for': GB } })).status).toBe(200);
    expect((await rawGet(`${edge.baseUrl}${bound}`, { headers: { 'x-forwarded-for': GB } })).status).toBe(403);
  });

  it("admits a tracker connection only with the stream's token, at the origin and through the edge", async () => {
    const token = await mint(STREAM);
    const rendition = '360p';
    const infoHash = await libraryInfoHash(`${origin.baseUrl}/t/${token}`, STREAM, rendition);
    for (const [where, base] of [['origin', origin.baseUrl], ['edge00', edge.baseUrl]] as const) {
      const tracker = `${base.replace('http:', 'ws:')}/tracker`;
      const refused = await rawGet(`${base}/tracker`, { headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' } });
      expect([refused.status, refused.body.toString().trim()], base).toEqual([401, 'a playback token is required']);
      const admitted = await announce(`${tracker}?token=${token}`, infoHash, `-SC0001-sec${where}001`);
      expect(admitted.outcome, base).toEqual({ kind: 'update', complete: 0, incomplete: expect.any(Number) });
      await admitted.close();
      const other = await announce(`${tracker}?token=${await mint(OTHER)}`, infoHash, `-SC0001-sec${where}002`);
      expect(other.outcome, base).toEqual({ kind: 'warning', message: "this connection's playback token is for another stream" });
      await other.close();
    }
  }, 60_000);
});

describe('signed playback at the nginx edge (auth_request to the origin, cached answers)', () => {
  it('answers 401, 403 and 451 as the origin does, and strips the token from its cache key', async () => {
    const { objects, tokens, expected, valid } = await refusalCases();
    for (const path of [multivariantPath(STREAM), objects.playlist, objects.init, objects.segment, objects.part, objects.key]) {
      const statuses: Record<string, number> = {};
      for (const [name, token] of Object.entries(tokens)) statuses[name] = (await rawGet(`${nginx.baseUrl}${withPlaybackToken(path, token)}`)).status;
      expect(statuses, path).toEqual(expected);
    }
    const expired = await rawGet(`${nginx.baseUrl}${withPlaybackToken(objects.segment, tokens.expired)}`);
    expect([expired.body.toString().trim(), expired.headers['access-control-allow-origin']]).toEqual(['token expired', '*']);
    // nginx adds the viewer's address to X-Forwarded-For and the origin trusts nginx (127.0.0.1): a US viewer is refused.
    const blocked = await rawGet(`${nginx.baseUrl}${withPlaybackToken(objects.segment, valid)}`, { headers: { 'x-forwarded-for': US } });
    expect([blocked.status, blocked.body.toString().trim()]).toEqual([451, 'not available in your region']);
    expect((await rawGet(`${nginx.baseUrl}/api/playback-auth`)).status).toBe(404);
    // A fresh segment for 50 viewers with 50 distinct tokens: one upstream request (plus at most one per other worker
    // racing the first), every other answer from nginx's cache.
    const fresh = (await objectsOf(valid, true)).segment;
    expect(fresh).not.toBe(objects.segment);
    const viewers = await Promise.all(Array.from({ length: 50 }, (_, i) => mint(STREAM, { ttlS: 900 + i })));
    const answers = await Promise.all(viewers.map((token) => rawGet(`${nginx.baseUrl}${withPlaybackToken(fresh, token)}`)));
    expect(answers.map((a) => a.status).filter((s) => s !== 200)).toEqual([]);
    const misses = answers.filter((a) => a.headers['x-cache-status'] === 'MISS').length;
    expect(misses).toBeGreaterThanOrEqual(1);
    expect(misses).toBeLessThanOrEqual(2);
    expect(answers.filter((a) => a.headers['x-cache-status'] === 'HIT').length).toBe(50 - misses);
  }, 60_000);

  it('asks the origin once per token, stream and address, not once per request', async () => {
    const objects = await objectsOf(await mint(STREAM));
    const token = await mint(STREAM, { ttlS: 1234 });
    const before = await readMetric(origin.baseUrl, 'swarmcast_http_responses_total', { route: 'api', status: '204' });
    for (let i = 0; i < 20; i++) expect((await rawGet(`${nginx.baseUrl}${withPlaybackToken(objects.segment, token)}`)).status).toBe(200);
    const after = await readMetric(origin.baseUrl, 'swarmcast_http_responses_total', { route: 'api', status: '204' });
    expect(after - before).toBe(1);
  });
});

describe('token-protected playback in the browser matrix', () => {
  for (const kind of ['chromium', 'firefox', 'webkit'] as const satisfies readonly BrowserKind[]) {
    it(`${kind} plays a token-protected stream through the edge and explains a refused link`, async () => {
      const browser = await launchBrowser(kind);
      try {
        const viewer = await browser.newPage();
        await viewer.goto(`${edge.baseUrl}/watch?stream=${STREAM}&token=${await mint(STREAM)}`);
        const playing = await pollUntil(
          () => viewer.evaluate<{ state: string; decodedFrames: number }>('(() => { const s = window.swarmcast.stats(); return { state: s.state, decodedFrames: s.decodedFrames }; })()'),
          (s) => s.state === 'playing' && s.decodedFrames > 30,
          30_000,
          `${kind} viewer playing`,
        );
        expect(playing.decodedFrames).toBeGreaterThan(30);
        const refused = await browser.newPage();
        const readScreen = '(() => ({ state: window.swarmcast.stats().state, text: document.querySelector("swarmcast-player")?.shadowRoot?.textContent ?? "" }))()';
        await refused.goto(`${edge.baseUrl}/watch?stream=${STREAM}&token=${await mint(OTHER)}`);
        const screen = await pollUntil(() => refused.evaluate<{ state: string; text: string }>(readScreen), (s) => s.state === 'error', 20_000, `${kind} refusal shown`);
        expect(screen.text).toContain('This broadcast needs a valid link');
        const missing = await browser.newPage();
        await missing.goto(`${edge.baseUrl}/watch?stream=${STREAM}`);
        const noToken = await pollUntil(() => missing.evaluate<{ state: string; text: string }>(readScreen), (s) => s.state === 'error', 20_000, `${kind} missing token shown`);
        expect(noToken.text).toContain('This broadcast needs a valid link');
      } finally {
        await browser.close();
      }
    }, 90_000);
  }
});
