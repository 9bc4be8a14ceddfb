// Test harness: a real HTTP server on 127.0.0.1 with a find-my-way router carrying the origin's routes.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Router from 'find-my-way';
import { Origin } from '../origin.ts';
import type { OriginConfig } from '../config.ts';
import { registerOriginRoutes } from '../http.ts';

export interface OriginHarness {
  origin: Origin;
  baseUrl: string;
  close(): Promise<void>;
}

export async function startOrigin(config: Partial<OriginConfig> = {}): Promise<OriginHarness> {
  const origin = new Origin(config);
  const router = Router({
    defaultRoute: (_req, res) => {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found\n');
    },
  });
  registerOriginRoutes(router, origin);
  const server = createServer((req, res) => router.lookup(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin,
    baseUrl: `http://127.0.0.1:${port}`,
    close: async () => {
      origin.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Waits for a condition by polling the event loop; fails after `timeoutMs`. */
export async function until(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
