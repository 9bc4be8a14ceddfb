// Test harness: a real HTTP server on 127.0.0.1 with a find-my-way router carrying the origin's routes.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Router from 'find-my-way';
import { Origin } from '../origin.ts';
import * as HLS from 'hls-parser';
import { afterEach } from 'vitest';
import type { OriginConfig } from '../config.ts';
import { registerOriginRoutes } from '../http.ts';
import type { LiveStream } from '../live-stream.ts';
import { FakePackager } from './fake-packager.ts';

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

export interface LiveFixture {
  packager: FakePackager;
  stream: LiveStream;
  /** URL of `path` under the stream's /live/NAME/. */
  url: (path: string) => string;
}

/** Attaches a fake packager as stream `cam` (one rendition, `v0`) to the harness's origin. */
export function attachLive(harness: OriginHarness): LiveFixture {
  const packager = new FakePackager('v0');
  const stream = harness.origin.attach('cam', packager);
  return { packager, stream, url: (path) => `${harness.baseUrl}/live/cam/${path}` };
}

/** Parses with hls-parser (the independent reader the tests trust) and insists on a media playlist. */
export function parseMedia(text: string): HLS.types.MediaPlaylist {
  const playlist = HLS.parse(text);
  if (playlist.isMasterPlaylist) throw new Error('expected a media playlist');
  return playlist;
}

export interface OriginsPerTest {
  /** A fresh origin for this test, closed after it. */
  start(config?: Partial<OriginConfig>): Promise<OriginHarness>;
  /** A fresh origin with the fake stream `cam` attached. */
  live(config?: Partial<OriginConfig>): Promise<LiveFixture & { h: OriginHarness }>;
}

/** Call once per test file: every origin a test starts is closed when that test ends. */
export function originsPerTest(): OriginsPerTest {
  let current: OriginHarness | undefined;
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });
  const start = async (config: Partial<OriginConfig> = {}): Promise<OriginHarness> => {
    current = await startOrigin(config);
    return current;
  };
  return {
    start,
    live: async (config = {}) => {
      const h = await start(config);
      return { h, ...attachLive(h) };
    },
  };
}
