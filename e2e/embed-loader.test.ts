// The embed snippet's serving path in a real browser: a page on another origin loads <script src=SERVER/embed.js async>,
// which imports the element's hashed module and its chunks from SERVER (module scripts need CORS), each fetched once,
// and <swarmcast-player> gets defined with no console errors.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './support/browser.ts';
import { startServer, type RunningServer } from './support/server.ts';
import { startStaticServer, type StaticServer } from './support/static-server.ts';

let server: RunningServer;
let embedder: StaticServer;
let embedderDir = '';
let browser: Browser;

beforeAll(async () => {
  server = await startServer({ LOG_LEVEL: 'warn' });
  embedderDir = await mkdtemp(join(tmpdir(), 'swarmcast-embedder-'));
  await writeFile(
    join(embedderDir, 'index.html'),
    `<!doctype html><html><head><title>Someone else's site</title><link rel="icon" href="data:,"></head><body><h1>News</h1>` +
      `<script src="${server.baseUrl}/embed.js" async></script></body></html>`,
  );
  embedder = await startStaticServer(embedderDir);
  browser = await launchChromium();
}, 30_000);

afterAll(async () => {
  await browser?.close();
  await embedder?.close();
  await server?.stop();
  await rm(embedderDir, { recursive: true, force: true });
});

describe('embed.js on another origin', () => {
  it('imports the element from the server that served embed.js, every module once, with no console errors', async () => {
    const page = await (await browser.newContext()).newPage();
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`page: ${error.message}`));
    page.on('requestfailed', (request) => problems.push(`failed: ${request.url()} ${request.failure()?.errorText}`));
    const fromServer: { url: string; status: number; cors: string | undefined }[] = [];
    page.on('response', (response) => {
      if (response.url().startsWith(server.baseUrl)) fromServer.push({ url: response.url(), status: response.status(), cors: response.headers()['access-control-allow-origin'] });
    });
    await page.goto(`${embedder.url}/`);
    await page.evaluate(() => customElements.whenDefined('swarmcast-player'));
    expect(new URL(page.url()).origin).not.toBe(server.baseUrl);
    expect(problems).toEqual([]);
    const paths = fromServer.map((r) => new URL(r.url).pathname);
    expect(paths[0]).toBe('/embed.js');
    const modules = paths.filter((path) => path.startsWith('/assets/'));
    expect(modules.some((path) => /^\/assets\/swarmcast-player-[\w-]+\.js$/.test(path)), paths.join(' ')).toBe(true);
    expect(modules.some((path) => /^\/assets\/hls-[\w-]+\.js$/.test(path)), paths.join(' ')).toBe(true);
    // The loader preloads the chunks the element imports; the import then finds them, so nothing is fetched twice.
    expect(new Set(modules).size).toBe(modules.length);
    for (const response of fromServer) {
      expect(response.status, response.url).toBe(200);
      expect(response.cors, response.url).toBe('*');
    }
  }, 30_000);
});
