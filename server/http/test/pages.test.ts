// The pages and the embeddable player as both roles serve them, from a build of the test's own: cache headers per
// kind of file (hashed assets a year, embed.js five minutes, pages revalidated), CORS and CORP on what other sites
// load, 304s keeping those headers, the precompressed copy a client accepts, and /embed/NAME.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawGet } from '../../../e2e/support/live-hls.ts';
import { createApp, type App } from '../../app.ts';
import { DEFAULT_CONFIG, type ServerConfig } from '../../config.ts';

const LOADER = '(function(){import(new URL("./assets/player-abcd1234.js",document.currentScript.src).href)})();\n';
const MODULE = 'export class SwarmcastPlayerElement extends HTMLElement {}\n';
const EMBED_PAGE = '<!doctype html><title>embed</title><swarmcast-player></swarmcast-player>\n';

const apps: App[] = [];
let pagesDir = '';
const roles: { role: string; url: string }[] = [];

async function start(config: ServerConfig): Promise<string> {
  const app = createApp(config, pagesDir);
  apps.push(app);
  await new Promise<void>((done) => app.server.listen(0, '127.0.0.1', done));
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  pagesDir = await mkdtemp(join(tmpdir(), 'swarmcast-pages-'));
  await mkdir(join(pagesDir, 'assets'));
  await writeFile(join(pagesDir, 'index.html'), '<!doctype html><title>home</title>\n');
  await writeFile(join(pagesDir, 'embed.html'), EMBED_PAGE);
  await writeFile(join(pagesDir, 'embed.js'), LOADER);
  await writeFile(join(pagesDir, 'embed.js.gz'), gzipSync(LOADER));
  await writeFile(join(pagesDir, 'assets/player-abcd1234.js'), MODULE);
  const origin = await start({ ...structuredClone(DEFAULT_CONFIG), role: 'origin', port: 0 });
  const edge = await start({ ...structuredClone(DEFAULT_CONFIG), role: 'edge', port: 0, originUrls: [origin] });
  roles.push({ role: 'origin', url: origin }, { role: 'edge', url: edge });
});

afterAll(async () => {
  for (const app of apps.reverse()) await app.close();
  await rm(pagesDir, { recursive: true, force: true });
});

describe.each(['origin', 'edge'])('pages and embed at the %s', (role) => {
  const base = (): string => roles.find((r) => r.role === role)!.url;

  it('serves embed.js for five minutes and hashed assets for a year, both to any site, and 304s keep those headers', async () => {
    const cases = [
      { path: '/embed.js', cacheControl: 'public, max-age=300', body: LOADER },
      { path: '/assets/player-abcd1234.js', cacheControl: 'public, max-age=31536000, immutable', body: MODULE },
    ];
    for (const { path, cacheControl, body } of cases) {
      const answer = await rawGet(`${base()}${path}`, { headers: { Origin: 'https://embedder.example' } });
      expect(answer.status, path).toBe(200);
      expect(answer.body.toString()).toBe(body);
      expect(answer.headers['content-type']).toBe('text/javascript');
      expect(answer.headers['cache-control'], path).toBe(cacheControl);
      expect(answer.headers['access-control-allow-origin'], path).toBe('*');
      expect(answer.headers['cross-origin-resource-policy'], path).toBe('cross-origin');
      expect(answer.headers.etag, path).toMatch(/^W\/"/);
      const again = await rawGet(`${base()}${path}`, { headers: { 'If-None-Match': answer.headers.etag! } });
      expect(again.status, path).toBe(304);
      expect(again.headers['cache-control'], path).toBe(cacheControl);
      expect(again.headers['access-control-allow-origin'], path).toBe('*');
    }
  });

  it('sends the gzip copy of embed.js to a client that accepts gzip, varying on Accept-Encoding', async () => {
    const answer = await rawGet(`${base()}/embed.js`, { headers: { 'Accept-Encoding': 'gzip' } });
    expect(answer.headers['content-encoding']).toBe('gzip');
    expect(answer.headers.vary).toBe('Accept-Encoding');
    expect(answer.body.equals(gzipSync(LOADER))).toBe(true);
    expect(answer.headers['cache-control']).toBe('public, max-age=300');
  });

  it('revalidates pages on every load', async () => {
    const answer = await rawGet(`${base()}/`);
    expect(answer.status).toBe(200);
    expect(answer.headers['cache-control']).toBe('no-cache');
    expect(answer.headers.etag).toMatch(/^W\/"/);
  });

  it('answers /embed/NAME with the iframe page, its query kept for the page, and refuses an invalid name with the reason', async () => {
    for (const path of ['/embed/demo', '/embed/demo?muted&latency=low', '/embed/demo-2_b/']) {
      const page = await rawGet(`${base()}${path}`);
      expect(page.status, path).toBe(200);
      expect(page.body.toString(), path).toBe(EMBED_PAGE);
      expect(page.headers['content-type'], path).toBe('text/html;charset=utf-8');
      expect(page.headers['cache-control'], path).toBe('no-cache');
    }
    const head = await rawGet(`${base()}/embed/demo`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body.byteLength).toBe(0);
    for (const path of ['/embed/Bad%20Name', `/embed/${'x'.repeat(65)}`, '/embed/a.b']) {
      const refused = await rawGet(`${base()}${path}`);
      expect(refused.status, path).toBe(404);
      expect(refused.body.toString(), path).toMatch(/is not a valid stream name: use 1 to 64 of a-z, 0-9, _ and -/);
      expect(refused.headers['access-control-allow-origin'], path).toBe('*');
    }
    const posted = await rawGet(`${base()}/embed/demo`, { method: 'POST' });
    expect(posted.status).toBe(405);
  });

  it('answers a missing asset 404, never cached, with CORS', async () => {
    const missing = await rawGet(`${base()}/assets/player-00000000.js`);
    expect(missing.status).toBe(404);
    expect(missing.headers['cache-control']).toBe('no-store');
    expect(missing.headers['access-control-allow-origin']).toBe('*');
  });
});
