// The edge proxy against real HTTP upstreams on loopback: collapsing, streamed fan-out, Cache-Control, failover, stale answers, bounds.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { Edge, upstreamWaitMs, type EdgeOptions } from '../index.ts';

type UpstreamHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

interface FakeOrigin {
  url: string;
  /** Requests received, by URL as sent. */
  requests: string[];
  close(): Promise<void>;
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

const closers: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function fakeOrigin(handler: UpstreamHandler): Promise<FakeOrigin> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    handler(req, res);
  });
  const url = await listen(server);
  const close = async (): Promise<void> => {
    server.closeAllConnections();
    await new Promise<void>((done) => server.close(() => done()));
  };
  closers.push(close);
  return { url, requests, close };
}

async function startEdge(options: EdgeOptions): Promise<{ url: string; edge: Edge }> {
  const edge = new Edge(options);
  const server = http.createServer((req, res) => edge.handle(req, res));
  const url = await listen(server);
  closers.push(async () => {
    edge.close();
    server.closeAllConnections();
    await new Promise<void>((done) => server.close(() => done()));
  });
  return { url, edge };
}

function get(url: string, headers: Record<string, string> = {}, onFirstChunk?: (chunk: Buffer) => void): Promise<Answer> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => {
          if (chunks.length === 0) onFirstChunk?.(chunk);
          chunks.push(chunk);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

async function metric(edge: Edge, name: string, labels = ''): Promise<number> {
  const text = await edge.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

const PLAYLIST = '#EXTM3U\n#EXT-X-VERSION:9\n' + '#EXT-X-PART:DURATION=0.2,URI="e-1.0.m4s"\n'.repeat(40);

describe('edge proxy', () => {
  it('answers 50 identical blocking playlist requests with one upstream request, whatever the parameter order', async () => {
    let release!: () => void;
    const held = new Promise<void>((done) => (release = done));
    const origin = await fakeOrigin((_req, res) => {
      void held.then(() => {
        res.writeHead(200, { 'Content-Type': 'application/vnd.apple.mpegurl', 'Cache-Control': 'public, max-age=6', 'Access-Control-Allow-Origin': '*' });
        res.end(PLAYLIST);
      });
    });
    const { url, edge } = await startEdge({ originUrls: [origin.url] });
    const answers = Array.from({ length: 50 }, (_, i) =>
      get(i % 2 ? `${url}/live/s/v0/media.m3u8?_HLS_msn=7&_HLS_part=2` : `${url}/live/s/v0/media.m3u8?_HLS_part=2&_HLS_msn=7`),
    );
    await expect.poll(() => metric(edge, 'swarmcast_edge_waiting_clients')).toBe(50);
    release();
    const all = await Promise.all(answers);
    expect(origin.requests).toHaveLength(1);
    for (const answer of all) {
      expect(answer.status).toBe(200);
      expect(answer.body.toString()).toBe(PLAYLIST);
      expect(answer.headers['content-type']).toBe('application/vnd.apple.mpegurl');
      expect(answer.headers['access-control-allow-origin']).toBe('*');
    }
    expect(await metric(edge, 'swarmcast_edge_collapsed_requests_total', 'kind="playlist"')).toBe(49);
    expect(await metric(edge, 'swarmcast_edge_upstream_requests_total', 'kind="playlist"')).toBe(1);
    const later = await get(`${url}/live/s/v0/media.m3u8?_HLS_msn=7&_HLS_part=2`);
    expect(later.headers['x-cache']).toBe('HIT');
    expect(origin.requests).toHaveLength(1);
  });

  it('streams a held part to every waiter as its bytes arrive, from one upstream request, then serves it from cache', async () => {
    const first = Buffer.alloc(3000, 1);
    const second = Buffer.alloc(5000, 2);
    let finish!: () => void;
    const finished = new Promise<void>((done) => (finish = done));
    const origin = await fakeOrigin((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'video/mp4', 'Cache-Control': 'public, max-age=31536000, immutable', ETag: '"e-3.1"' });
      res.write(first);
      void finished.then(() => res.end(second));
    });
    const { url } = await startEdge({ originUrls: [origin.url] });
    const firstChunks: Promise<Buffer>[] = [];
    const answers: Promise<Answer>[] = [];
    for (let i = 0; i < 8; i++) {
      let gotFirst!: (chunk: Buffer) => void;
      firstChunks.push(new Promise((done) => (gotFirst = done)));
      answers.push(get(`${url}/live/s/v0/e-3.1.m4s`, {}, gotFirst));
    }
    // Every waiter holds the first bytes while the upstream answer is still open.
    const early = await Promise.all(firstChunks);
    for (const chunk of early) expect(chunk.subarray(0, 10)).toEqual(first.subarray(0, 10));
    finish();
    const all = await Promise.all(answers);
    for (const answer of all) {
      expect(answer.status).toBe(200);
      expect(answer.body.equals(Buffer.concat([first, second]))).toBe(true);
      expect(answer.headers.etag).toBe('"e-3.1"');
    }
    expect(origin.requests).toHaveLength(1);
    const cached = await get(`${url}/live/s/v0/e-3.1.m4s`);
    expect(cached.headers['x-cache']).toBe('HIT');
    expect(cached.body.equals(Buffer.concat([first, second]))).toBe(true);
    const revalidated = await get(`${url}/live/s/v0/e-3.1.m4s`, { 'If-None-Match': '"e-3.1"' });
    expect(revalidated.status).toBe(304);
    expect(origin.requests).toHaveLength(1);
  });

  it('asks upstream again for no-cache and no-store answers and never stores 404s', async () => {
    const origin = await fakeOrigin((req, res) => {
      if (req.url === '/live/s/index.m3u8') res.writeHead(200, { 'Cache-Control': 'no-cache' }).end('#EXTM3U\n');
      else if (req.url === '/live/s/v0/nostore.m4s') res.writeHead(200, { 'Cache-Control': 'no-store' }).end('x');
      else res.writeHead(404, { 'Cache-Control': 'max-age=60' }).end('not here\n');
    });
    const { url } = await startEdge({ originUrls: [origin.url] });
    for (let i = 0; i < 2; i++) {
      expect((await get(`${url}/live/s/index.m3u8`)).status).toBe(200);
      expect((await get(`${url}/live/s/v0/nostore.m4s`)).status).toBe(200);
      expect((await get(`${url}/live/s/v0/e-9.m4s`)).status).toBe(404);
    }
    expect(origin.requests).toHaveLength(6);
  });

  it('compresses playlists at the edge for clients that accept gzip, from the same single upstream request', async () => {
    const origin = await fakeOrigin((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/vnd.apple.mpegurl', 'Cache-Control': 'public, max-age=6' }).end(PLAYLIST);
    });
    const { url } = await startEdge({ originUrls: [origin.url] });
    const [zipped, plain] = await Promise.all([
      get(`${url}/live/s/v0/media.m3u8?_HLS_msn=1`, { 'Accept-Encoding': 'gzip, deflate, br' }),
      get(`${url}/live/s/v0/media.m3u8?_HLS_msn=1`),
    ]);
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(zipped.headers.vary).toMatch(/Accept-Encoding/);
    expect(zipped.body.byteLength).toBeLessThan(PLAYLIST.length / 4);
    expect(gunzipSync(zipped.body).toString()).toBe(PLAYLIST);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body.toString()).toBe(PLAYLIST);
    expect(origin.requests).toHaveLength(1);
  });

  it('tags a gzip answer with the gzip representation\'s ETag and answers 304 to a client holding either representation', async () => {
    const origin = await fakeOrigin((req, res) => {
      // Blocking reloads may be kept a while; a plain reload must reach upstream every time.
      const cacheControl = req.url?.includes('_HLS_msn') ? 'public, max-age=6' : 'no-cache';
      res.writeHead(200, { 'Content-Type': 'application/vnd.apple.mpegurl', 'Cache-Control': cacheControl, ETag: '"pl-1"', Vary: 'Accept-Encoding' }).end(PLAYLIST);
    });
    const { url } = await startEdge({ originUrls: [origin.url] });
    for (const path of ['/live/s/v0/media.m3u8?_HLS_msn=3', '/live/s/v0/media.m3u8']) {
      const zipped = await get(`${url}${path}`, { 'Accept-Encoding': 'gzip' });
      const plain = await get(`${url}${path}`, { 'Accept-Encoding': 'gzip;q=0' });
      expect(zipped.headers['content-encoding']).toBe('gzip');
      expect(gunzipSync(zipped.body).toString()).toBe(PLAYLIST);
      expect(zipped.headers.etag).toBe('"pl-1-gzip"');
      expect(plain.headers['content-encoding']).toBeUndefined();
      expect(plain.headers.etag).toBe('"pl-1"');
      for (const answer of [zipped, plain]) {
        expect(answer.headers.vary).toBe('Accept-Encoding');
        expect(answer.headers['access-control-allow-origin']).toBe('*');
      }
      const zippedAgain = await get(`${url}${path}`, { 'Accept-Encoding': 'gzip', 'If-None-Match': '"pl-1-gzip"' });
      expect(zippedAgain.status).toBe(304);
      expect(zippedAgain.body.byteLength).toBe(0);
      expect(zippedAgain.headers.etag).toBe('"pl-1-gzip"');
      const plainAgain = await get(`${url}${path}`, { 'If-None-Match': '"pl-1"' });
      expect(plainAgain.status).toBe(304);
      expect(plainAgain.headers.etag).toBe('"pl-1"');
      // The identity tag does not validate the gzip body.
      expect((await get(`${url}${path}`, { 'Accept-Encoding': 'gzip', 'If-None-Match': '"pl-1"' })).status).toBe(200);
    }
    // The blocking reload came from upstream once and then from the cache; each plain reload went upstream.
    expect(origin.requests.filter((r) => r.includes('_HLS_msn'))).toHaveLength(1);
    expect(origin.requests.filter((r) => !r.includes('_HLS_msn'))).toHaveLength(5);
  });

  it('waits on upstream for 3 target durations plus a margin, from the EXT-X-TARGETDURATION of the last media playlist it passed', async () => {
    let targetDurationS = 10;
    const origin = await fakeOrigin((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/vnd.apple.mpegurl', 'Cache-Control': 'no-cache' });
      res.end(`#EXTM3U\n#EXT-X-TARGETDURATION:${targetDurationS}\n#EXT-X-VERSION:9\n`);
    });
    const { url, edge } = await startEdge({ originUrls: [origin.url] });
    const before = edge.upstreamWaitMs('/live/s/v0/media.m3u8?_HLS_msn=4');
    expect(before).toBe(upstreamWaitMs(undefined));
    expect(before).toBeGreaterThan(6_000);
    await get(`${url}/live/s/v0/media.m3u8`, { 'Accept-Encoding': 'gzip' });
    expect(edge.upstreamWaitMs('/live/s/v0/media.m3u8?_HLS_msn=4')).toBeGreaterThan(30_000);
    expect(edge.upstreamWaitMs('/live/s/v0/e-4.2.m4s')).toBeGreaterThan(30_000);
    // Other streams keep their own wait.
    expect(edge.upstreamWaitMs('/live/other/v0/media.m3u8?_HLS_msn=4')).toBe(before);
    targetDurationS = 2;
    await get(`${url}/live/s/v0/media.m3u8`);
    const afterShorter = edge.upstreamWaitMs('/live/s/v0/media.m3u8?_HLS_msn=4');
    expect(afterShorter).toBeGreaterThan(6_000);
    expect(afterShorter).toBeLessThan(30_000);
    const { edge: overridden } = await startEdge({ originUrls: [origin.url], upstreamTimeoutMs: 1_500 });
    expect(overridden.upstreamWaitMs('/live/s/v0/media.m3u8?_HLS_msn=4')).toBe(1_500);
  });

  it('keeps a blocking reload that the origin holds past the default wait, once a 10 s target duration has passed', async () => {
    // Past the wait the edge starts with (3 × the 2 s default + margin), well within 3 × 10 s.
    const holdMs = upstreamWaitMs(undefined) + 500;
    const playlist = '#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXT-X-VERSION:9\n';
    const origin = await fakeOrigin((req, res) => {
      const answer = (): void => {
        res.writeHead(200, { 'Content-Type': 'application/vnd.apple.mpegurl', 'Cache-Control': 'no-cache' }).end(playlist);
      };
      if (req.url?.includes('_HLS_msn')) setTimeout(answer, holdMs);
      else answer();
    });
    const { url } = await startEdge({ originUrls: [origin.url] });
    expect((await get(`${url}/live/s/v0/media.m3u8`)).status).toBe(200);
    const startedMs = Date.now();
    const held = await get(`${url}/live/s/v0/media.m3u8?_HLS_msn=2`);
    expect(held.status).toBe(200);
    expect(held.body.toString()).toBe(playlist);
    expect(Date.now() - startedMs).toBeGreaterThanOrEqual(holdMs - 50);
  }, 30_000);

  it('fails over to the next origin when the first refuses connections, and reports it in health', async () => {
    const dead = await fakeOrigin(() => undefined);
    await dead.close();
    const alive = await fakeOrigin((_req, res) => res.writeHead(200, { 'Cache-Control': 'no-cache' }).end('#EXTM3U\n'));
    const { url, edge } = await startEdge({ originUrls: [dead.url, alive.url] });
    const answer = await get(`${url}/live/s/index.m3u8`);
    expect(answer.status).toBe(200);
    expect(alive.requests).toHaveLength(1);
    const health = edge.health();
    expect(health.status).toBe('ok');
    expect(health.upstreams.map((u) => u.healthy)).toEqual([false, true]);
    expect(health.upstreams[0]!.lastError).toMatch(/ECONNREFUSED/);
  });

  it('fails over on a 5xx answer and passes the last origin\'s error on when every origin fails', async () => {
    const broken = await fakeOrigin((_req, res) => res.writeHead(500).end('boom'));
    const alive = await fakeOrigin((_req, res) => res.writeHead(200, { 'Cache-Control': 'no-cache' }).end('ok'));
    const { url } = await startEdge({ originUrls: [broken.url, alive.url] });
    expect((await get(`${url}/live/s/index.m3u8`)).body.toString()).toBe('ok');
    const { url: lonely } = await startEdge({ originUrls: [broken.url] });
    expect((await get(`${lonely}/live/s/index.m3u8`)).status).toBe(500);
  });

  it('answers with a stale cached segment when the origin fails, and 502 when it has none', async () => {
    let failing = false;
    const origin = await fakeOrigin((_req, res) => {
      if (failing) res.writeHead(503).end('down');
      else res.writeHead(200, { 'Content-Type': 'video/mp4', 'Cache-Control': 'public, max-age=10' }).end(Buffer.alloc(2000, 7));
    });
    let nowMs = 1_000_000;
    const { url, edge } = await startEdge({ originUrls: [origin.url], nowMs: () => nowMs });
    expect((await get(`${url}/live/s/v0/e-5.m4s`)).headers['x-cache']).toBe('MISS');
    failing = true;
    nowMs += 60_000;
    const stale = await get(`${url}/live/s/v0/e-5.m4s`);
    expect(stale.status).toBe(200);
    expect(stale.headers['x-cache']).toBe('STALE');
    expect(stale.body.equals(Buffer.alloc(2000, 7))).toBe(true);
    expect(await metric(edge, 'swarmcast_edge_stale_served_total', 'kind="segment"')).toBe(1);
    await origin.close();
    const failed = await get(`${url}/live/s/v0/e-6.m4s`);
    expect(failed.status).toBe(502);
    expect(failed.headers['access-control-allow-origin']).toBe('*');
  });

  it('cuts an upstream that stays silent after the timeout with 504, and turns away waiters beyond the bound', async () => {
    const origin = await fakeOrigin(() => undefined);
    const { url, edge } = await startEdge({ originUrls: [origin.url], upstreamTimeoutMs: 300, maxWaitersPerRequest: 2 });
    const startedMs = Date.now();
    const held = [get(`${url}/live/s/v0/media.m3u8?_HLS_msn=99`), get(`${url}/live/s/v0/media.m3u8?_HLS_msn=99`)];
    await expect.poll(() => metric(edge, 'swarmcast_edge_waiting_clients')).toBe(2);
    const third = await get(`${url}/live/s/v0/media.m3u8?_HLS_msn=99`);
    expect(third.status).toBe(503);
    expect(third.body.toString()).toMatch(/edge busy/);
    expect(third.headers['access-control-allow-origin']).toBe('*');
    for (const answer of await Promise.all(held)) {
      expect(answer.status).toBe(504);
      expect(answer.headers['access-control-allow-origin']).toBe('*');
    }
    expect(Date.now() - startedMs).toBeLessThan(3000);
    expect(await metric(edge, 'swarmcast_edge_upstream_errors_total', 'kind="playlist",reason="timeout"')).toBe(1);
    expect(await metric(edge, 'swarmcast_edge_waiting_clients')).toBe(0);
  });
});
