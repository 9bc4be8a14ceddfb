// Vite serving the repo's pages and test harnesses on loopback, alone or with one headless Debian Chromium.
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import type { Browser } from 'playwright-core';
import { createServer, type Plugin, type ViteDevServer } from 'vite';
import { launchChromium } from './browser.ts';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');

export interface ViteOptions {
  plugins?: Plugin[];
  /** Path prefix → target, e.g. `{ '/live': 'http://127.0.0.1:PORT' }`, as the real server would serve those paths. */
  proxy?: Record<string, string>;
  /** Dependencies to pre-bundle before the first page asks for them. */
  prebundle?: string[];
  /** Where Vite keeps its dependency cache (default: node_modules/.vite). */
  cacheDir?: string;
}

export interface RunningVite {
  server: ViteDevServer;
  /** http://127.0.0.1:PORT — a secure context, so WebCodecs is available. */
  url: string;
  close(): Promise<void>;
}

/** Vite dev server over the repo root on a free loopback port. */
export async function startVite(options: ViteOptions = {}): Promise<RunningVite> {
  const server = await createServer({
    root: REPO_ROOT,
    configFile: false,
    logLevel: 'error',
    clearScreen: false,
    plugins: options.plugins ?? [],
    // As vite.config.ts: bittorrent-tracker's client (p2p mode) tells browser from Node by `process.browser`.
    define: { 'process.browser': 'true' },
    ...(options.cacheDir && { cacheDir: options.cacheDir }),
    server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false, ...(options.proxy && { proxy: options.proxy }) },
    ...(options.prebundle && { optimizeDeps: { include: options.prebundle } }),
  });
  await server.listen();
  const address = server.httpServer?.address() as AddressInfo | null;
  if (!address) throw new Error('vite did not start listening');
  return { server, url: `http://127.0.0.1:${address.port}`, close: () => server.close() };
}

export interface BrowserFixture {
  server: ViteDevServer;
  browser: Browser;
  /** http://127.0.0.1:PORT — a secure context, so WebCodecs is available. */
  origin: string;
  close(): Promise<void>;
}

/** Vite (with `plugins`) and one Chromium, closed together. */
export async function startBrowserFixture(plugins: Plugin[] = []): Promise<BrowserFixture> {
  const vite = await startVite({ plugins });
  const browser = await launchChromium();
  return {
    server: vite.server,
    browser,
    origin: vite.url,
    async close() {
      await browser.close();
      await vite.close();
    },
  };
}
