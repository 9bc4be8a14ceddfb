// Test fixture: Vite serving the repo root on loopback and one headless Debian Chromium, as the test machine runs them.
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import { createServer, type Plugin, type ViteDevServer } from 'vite';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--autoplay-policy=no-user-gesture-required',
];

export interface BrowserFixture {
  server: ViteDevServer;
  browser: Browser;
  /** http://127.0.0.1:PORT — a secure context, so WebCodecs is available. */
  origin: string;
  close(): Promise<void>;
}

export async function startBrowserFixture(plugins: Plugin[] = []): Promise<BrowserFixture> {
  const server = await createServer({
    root: new URL('../../..', import.meta.url).pathname,
    configFile: false,
    logLevel: 'error',
    plugins,
    server: { host: '127.0.0.1', port: 0, hmr: false },
  });
  await server.listen();
  const { port } = server.httpServer!.address() as AddressInfo;
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  return {
    server,
    browser,
    origin: `http://127.0.0.1:${port}`,
    async close() {
      await browser.close();
      await server.close();
    },
  };
}
