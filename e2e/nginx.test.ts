// nginx as the production edge: the shipped config in front of a real origin, a real viewer playing through it,
// nginx's cache answering hits and collapsing identical blocking reloads, CORS on every answer (nginx's own errors
// included), the embeddable player's loader and modules cached as the origin says, segment digests cached and the
// tracker's WebSocket passed to the origin.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import { gunzipSync } from 'node:zlib';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { launchChromium } from './support/browser.ts';
import { mediaPlaylistUrl, playlistText, playlistWithSegments, preloadHintOf, rawGet, segmentsOf } from './support/live-hls.ts';
import { readMetric } from './support/metrics.ts';
import { NGINX_TEMPLATE, startNginx, type RunningNginx } from './support/nginx.ts';
import { goLiveWithTestSource, watchFor } from './support/pages.ts';
import { startServer, type RunningServer } from './support/server.ts';
import { announce, libraryInfoHash } from './support/tracker-client.ts';

const STREAM = 'nginx-e2e';
let origin: RunningServer;
let nginx: RunningNginx;
let browser: Browser;

beforeAll(async () => {
  origin = await startServer({ ROLE: 'origin' });
  nginx = await startNginx(origin.baseUrl);
  browser = await launchChromium();
  await goLiveWithTestSource(browser, origin.baseUrl, STREAM);
}, 40_000);

afterAll(async () => {
  await browser?.close();
  await nginx?.stop();
  await origin?.stop();
});

/** GETs `url`: its body and when (performance.now()) its first body bytes arrived. */
function timedGet(url: string): Promise<{ body: Buffer; firstBytesAt: number }> {
  return new Promise((done, fail) => {
    http
      .get(url, (res) => {
        const chunks: Buffer[] = [];
        let firstBytesAt = 0;
        res.on('data', (chunk: Buffer) => {
          firstBytesAt ||= performance.now();
          chunks.push(chunk);
        });
        res.on('end', () => (res.statusCode === 200 ? done({ body: Buffer.concat(chunks), firstBytesAt }) : fail(new Error(`GET ${url}: ${res.statusCode}`))));
      })
      .on('error', fail);
  });
}

describe('nginx edge (server/edge/nginx)', () => {
  it('plays the stream through nginx for 10 s, the page and all /live/ requests served by nginx', async () => {
    const viewer: Page = await (await browser.newContext()).newPage();
    onTestFinished(() => viewer.context().close());
    const hosts = new Set<string>();
    viewer.on('request', (request) => hosts.add(new URL(request.url()).host));
    await viewer.goto(`${nginx.baseUrl}/watch?stream=${STREAM}`);
    await viewer.waitForSelector('body[data-state="playing"]', { timeout: 30_000 });
    const { first, last } = await watchFor(viewer, 10);
    expect(last.decodedFrames - first.decodedFrames).toBeGreaterThan(200);
    expect([...hosts]).toEqual([new URL(nginx.baseUrl).host]);
    const live = (await nginx.accessLog()).filter((line) => line.includes('"GET /live/'));
    expect(live.filter((line) => / 200 /.test(line) && /\.m4s /.test(line)).length).toBeGreaterThan(20);
  }, 60_000);

  it('answers a part again from its cache with the origin\'s bytes and one CORS header', async () => {
    const parts = (await nginx.accessLog())
      .map((line) => /"GET (\/live\/\S+\.\d+\.m4s) HTTP\/1\.1" 200 \d+ cache=MISS/.exec(line)?.[1])
      .filter((path): path is string => path !== undefined);
    expect(parts.length).toBeGreaterThan(0);
    const path = parts.at(-1)!;
    const again = await rawGet(`${nginx.baseUrl}${path}`);
    expect(again.status).toBe(200);
    expect(again.headers['x-cache-status']).toBe('HIT');
    expect(again.headers['access-control-allow-origin']).toBe('*');
    expect(again.headers['content-type']).toBe('video/mp4');
    const fromOrigin = await rawGet(`${origin.baseUrl}${path}`);
    expect(again.body.equals(fromOrigin.body)).toBe(true);
  });

  it('sends a held part to the origin once for 20 viewers asking for it at once, each getting the whole part', async () => {
    const playlistUrl = await mediaPlaylistUrl(origin.baseUrl, STREAM);
    const hint = preloadHintOf(await playlistText(playlistUrl), playlistUrl)!;
    const path = new URL(hint.url).pathname;
    const answers = await Promise.all(Array.from({ length: 20 }, () => rawGet(`${nginx.baseUrl}${path}`)));
    const fromOrigin = await rawGet(hint.url);
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(answer.body.equals(fromOrigin.body)).toBe(true);
    }
    // proxy_cache_lock (the parts location's default): one upstream request, the other viewers served from the cache.
    const log = (await nginx.accessLog()).filter((line) => line.includes(`"GET ${path} `));
    expect(log).toHaveLength(20);
    expect(log.filter((line) => !line.includes(' urt=- ')), log.join('\n')).toHaveLength(1);
  });

  it('with the parts lock switched off, streams a held part to viewers as it is produced, one upstream request each, then caches it', async () => {
    const config = await readFile(NGINX_TEMPLATE, 'utf8');
    const lockLine = /location ~ "\^\/live\/[^\n]*\.m4s\$" \{[^}]*\n( {6}proxy_cache_lock on;)\n {4}\}/.exec(config);
    expect(lockLine, 'the parts location ends with its proxy_cache_lock switch').not.toBeNull();
    const unlocked = await startNginx(origin.baseUrl, { transform: (text) => text.replace(lockLine![0], lockLine![0].replace(lockLine![1]!, '      proxy_cache_lock off;')) });
    onTestFinished(() => unlocked.stop());
    const playlistUrl = await mediaPlaylistUrl(origin.baseUrl, STREAM);
    // One request first, so the viewers find this nginx's playback check cached (its lock would hold them too).
    await playlistText(playlistUrl.replace(origin.baseUrl, unlocked.baseUrl));
    const hint = preloadHintOf(await playlistText(playlistUrl), playlistUrl)!;
    const path = new URL(hint.url).pathname;
    // The origin answers this blocking reload once the part is complete.
    const completed = playlistText(`${playlistUrl}?_HLS_msn=${hint.msn}&_HLS_part=${hint.part}`).then(() => performance.now());
    const viewers = await Promise.all(Array.from({ length: 20 }, () => timedGet(`${unlocked.baseUrl}${path}`)));
    const completedAt = await completed;
    const fromOrigin = await rawGet(hint.url);
    for (const viewer of viewers) expect(viewer.body.equals(fromOrigin.body)).toBe(true);
    // Streamed, not held for the whole part: most viewers have its first bytes before it is complete (with the lock on,
    // all but one would wait for the complete part). Not all: the broadcaster may send a part's frames in a burst
    // on a loaded machine, and a viewer whose upstream connection opens late then starts after the part's end.
    const lead = viewers.map((viewer) => Math.round(completedAt - viewer.firstBytesAt));
    expect(lead.filter((ms) => ms > 0).length, `ms from each viewer's first bytes to the part's completion: ${lead.join(' ')}`).toBeGreaterThanOrEqual(10);
    // Every viewer went upstream itself.
    const log = (await unlocked.accessLog()).filter((line) => line.includes(`"GET ${path} `));
    expect(log.filter((line) => line.includes('cache=MISS'))).toHaveLength(20);
    const again = await rawGet(`${unlocked.baseUrl}${path}`);
    expect(again.headers['x-cache-status']).toBe('HIT');
  });

  it('sends 10 identical blocking playlist requests to the origin once and answers the rest from its cache', async () => {
    const playlistUrl = await mediaPlaylistUrl(nginx.baseUrl, STREAM);
    const hint = preloadHintOf(await (await fetch(playlistUrl)).text(), playlistUrl);
    expect(hint).not.toBeNull();
    const blockingUrl = `${playlistUrl}?_HLS_msn=${hint!.msn}&_HLS_part=${hint!.part}`;
    const answers = await Promise.all(Array.from({ length: 10 }, () => rawGet(blockingUrl)));
    const statuses = answers.map((a) => a.headers['x-cache-status']);
    // The one upstream fetch may be a viewer's that got there first; every other answer comes from nginx's cache.
    expect(statuses.filter((s) => s === 'MISS').length).toBeLessThanOrEqual(1);
    expect(statuses.filter((s) => s === 'HIT').length).toBeGreaterThanOrEqual(9);
    const body = answers[0]!.body.toString();
    expect(body).toContain('#EXT-X-PRELOAD-HINT');
    for (const answer of answers) expect(answer.body.toString()).toBe(body);
    const requestPath = new URL(blockingUrl).pathname + new URL(blockingUrl).search;
    const log = (await nginx.accessLog()).filter((line) => line.includes(`"GET ${requestPath} `));
    expect(log.filter((line) => line.includes('cache=MISS')), log.join('\n')).toHaveLength(1);
  });

  it('sends 20 concurrent plain playlist requests to the origin once per 200 ms tick, answering them fresh and still no-cache', async () => {
    const playlistUrl = await mediaPlaylistUrl(nginx.baseUrl, STREAM);
    const requestPath = new URL(playlistUrl).pathname;
    const partsOf = (playlist: Buffer): string[] => [...playlist.toString().matchAll(/#EXT-X-PART:[^\n]*URI="([^"]+)"/g)].map((m) => m[1]!);
    const latestAtOrigin = partsOf((await rawGet(`${origin.baseUrl}${requestPath}`)).body).at(-1);
    const originBefore = await readMetric(origin.baseUrl, 'swarmcast_http_responses_total', { route: 'live' });
    const burstStartS = Date.now() / 1000;
    const answers = await Promise.all(Array.from({ length: 20 }, () => rawGet(playlistUrl)));
    const originAfter = await readMetric(origin.baseUrl, 'swarmcast_http_responses_total', { route: 'live' });
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(answer.headers['cache-control']).toBe('no-cache');
    }
    const log = (await nginx.accessLog()).filter((line) => Number(line.split(' ')[0]) >= burstStartS - 0.01 && line.includes(`"GET ${requestPath} `));
    expect(log).toHaveLength(20);
    // nginx caches a plain playlist under the 200 ms tick a request arrived in (logged as tick=…): one upstream
    // request per tick the burst touched, every other request answered from that tick's copy.
    const ticks = new Set(log.map((line) => / tick=(\S+)/.exec(line)?.[1]));
    expect(ticks.has(undefined)).toBe(false);
    expect(ticks.size).toBeLessThanOrEqual(2);
    // proxy_cache_lock holds back requests that arrive while the first one is upstream; a request that another worker
    // process takes in the instant between the first one's answer landing and its lock being freed goes upstream too
    // (nginx checks the cache file and takes the lock in two steps). So: one upstream request per tick, plus at most one
    // such race per other worker process, and every upstream request is one the origin counted.
    const misses = log.filter((line) => line.includes('cache=MISS')).length;
    expect(misses, log.join('\n')).toBeGreaterThanOrEqual(ticks.size);
    expect(misses, log.join('\n')).toBeLessThanOrEqual(ticks.size * os.availableParallelism());
    expect(log.filter((line) => line.includes('cache=HIT')).length).toBe(20 - misses);
    expect(originAfter - originBefore).toBe(misses);
    const bodies = new Set(answers.map((answer) => answer.body.toString()));
    expect(bodies.size).toBeLessThanOrEqual(misses);
    // Fresh: fetched from the origin during the burst, so it lists at least what the origin had just before it.
    expect(latestAtOrigin).toBeDefined();
    for (const answer of answers) expect(partsOf(answer.body)).toContain(latestAtOrigin);
  });

  it('gzips playlists for clients that accept it while fetching identity from the origin', async () => {
    const playlistUrl = await mediaPlaylistUrl(nginx.baseUrl, STREAM);
    const answer = await new Promise<http.IncomingMessage>((done, fail) =>
      http.get(playlistUrl, { headers: { 'Accept-Encoding': 'gzip' } }, (res) => (res.resume(), done(res))).on('error', fail),
    );
    expect(answer.statusCode).toBe(200);
    expect(answer.headers['content-encoding']).toBe('gzip');
    // A plain playlist is cached for one 200 ms tick, so this may be the earlier test's copy.
    expect(answer.headers['x-cache-status']).toMatch(/^(MISS|HIT)$/);
  });

  it('puts one CORS header on playlists, errors and preflights, whether nginx answers from its cache or not', async () => {
    const playlistUrl = await mediaPlaylistUrl(nginx.baseUrl, STREAM);
    const answers = {
      multivariant: await rawGet(`${nginx.baseUrl}/live/${STREAM}/index.m3u8`),
      playlist: await rawGet(playlistUrl),
      unknownStream: await rawGet(`${nginx.baseUrl}/live/no-such-stream/index.m3u8`),
      badName: await rawGet(`${nginx.baseUrl}/live/BAD%20NAME/index.m3u8`),
      beyondReach: await rawGet(`${playlistUrl}?_HLS_msn=999999`),
      preflight: await rawGet(playlistUrl, { method: 'OPTIONS', headers: { Origin: 'https://embedder.example', 'Access-Control-Request-Method': 'GET' } }),
    };
    expect(Object.fromEntries(Object.entries(answers).map(([name, a]) => [name, a.status]))).toEqual({
      multivariant: 200,
      playlist: 200,
      unknownStream: 404,
      badName: 404,
      beyondReach: 400,
      preflight: 204,
    });
    for (const [name, answer] of Object.entries(answers)) expect(answer.headers['access-control-allow-origin'], name).toBe('*');
    expect(answers.preflight.headers['access-control-allow-methods']).toBe('GET, HEAD');
  });

  it('caches embed.js for five minutes and the element module for a year, gzipped, with CORS and CORP', async () => {
    const first = await rawGet(`${nginx.baseUrl}/embed.js`);
    const again = await rawGet(`${nginx.baseUrl}/embed.js`, { headers: { 'Accept-Encoding': 'gzip' } });
    expect([first.status, again.status]).toEqual([200, 200]);
    expect(again.headers['x-cache-status']).toBe('HIT');
    expect(again.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(again.body).equals(first.body)).toBe(true);
    const modulePath = /import\(new URL\("\.(\/assets\/[\w.-]+\.js)"/.exec(first.body.toString())?.[1];
    expect(modulePath, first.body.toString()).toBeDefined();
    await rawGet(`${nginx.baseUrl}${modulePath}`);
    const module = await rawGet(`${nginx.baseUrl}${modulePath}`);
    expect(module.status).toBe(200);
    expect(module.headers['x-cache-status']).toBe('HIT');
    // The element's module (it may re-export the element from a chunk it shares with the iframe page).
    expect(module.body.toString()).toContain('SwarmcastPlayerElement');
    for (const [answer, cacheControl] of [[again, 'public, max-age=300'], [module, 'public, max-age=31536000, immutable']] as const) {
      expect(answer.headers['cache-control']).toBe(cacheControl);
      expect(answer.headers['access-control-allow-origin']).toBe('*');
      expect(answer.headers['cross-origin-resource-policy']).toBe('cross-origin');
    }
  });

  it("serves each rendition's digests.json from its cache for a second, with one CORS header and the segments' SHA-256", async () => {
    const playlistUrl = await mediaPlaylistUrl(nginx.baseUrl, STREAM);
    const segment = segmentsOf(await playlistWithSegments(playlistUrl, 1)).find((uri) => uri.endsWith('.m4s'))!;
    const digestsUrl = new URL('digests.json', playlistUrl).href;
    const first = await rawGet(digestsUrl);
    const again = await rawGet(digestsUrl);
    expect([first.status, again.status]).toEqual([200, 200]);
    expect(again.headers['x-cache-status']).toBe('HIT');
    expect(first.headers['access-control-allow-origin']).toBe('*');
    expect(first.headers['cache-control']).toBe('public, max-age=1');
    const { segments } = JSON.parse(first.body.toString()) as { segments: Record<string, string> };
    const bytes = (await rawGet(new URL(segment, playlistUrl).href)).body;
    expect(segments[segment]).toBe(createHash('sha256').update(bytes).digest('base64'));
  });

  it("passes the tracker's WebSocket to the origin: a stream's swarm is admitted, an unknown info hash refused", async () => {
    const trackerUrl = `${nginx.baseUrl.replace('http:', 'ws:')}/tracker`;
    const rendition = new URL(await mediaPlaylistUrl(nginx.baseUrl, STREAM)).pathname.split('/').at(-2)!;
    const admitted = await announce(trackerUrl, await libraryInfoHash(nginx.baseUrl, STREAM, rendition), '-SC0001-nginxnginx01');
    onTestFinished(admitted.close);
    expect(admitted.outcome).toEqual({ kind: 'update', complete: 0, incomplete: 1 });
    const refused = await announce(trackerUrl, 'u'.repeat(20), '-SC0001-nginxnginx02');
    onTestFinished(refused.close);
    expect(refused.outcome).toEqual({ kind: 'warning', message: 'unknown info hash: not a variant of a live stream' });
    expect(await readMetric(origin.baseUrl, 'swarmcast_tracker_peers')).toBe(1);
  });

  // Last: it stops the origin.
  it('puts CORS on its own errors when the origin is gone', async () => {
    await origin.stop();
    const failed = await rawGet(`${nginx.baseUrl}/live/gone/index.m3u8`);
    expect(failed.status).toBe(502);
    expect(failed.headers['access-control-allow-origin']).toBe('*');
  });
});
