// Test fixture: Vite serving the repo root on loopback and one headless Debian Chromium, as the test machine runs them.
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { createServer, type Plugin, type ViteDevServer } from 'vite';
import { launchChromium } from '../../../e2e/support/browser.ts';


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
  const browser = await launchChromium();
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
