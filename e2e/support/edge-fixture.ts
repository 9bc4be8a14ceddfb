// An origin with a built-in edge in front of it and a Chromium broadcast of the test source, for the suites that play through an edge.
import type { Browser } from 'playwright-core';
import { launchChromium } from './browser.ts';
import { goLiveWithTestSource } from './pages.ts';
import { startServer, type RunningServer } from './server.ts';

export interface LiveThroughEdge {
  origin: RunningServer;
  edge: RunningServer;
  browser: Browser;
  close(): Promise<void>;
}

/** Starts the origin (with `originEnv`), an edge process on it, Chromium, and goes live on `stream` at the origin. */
export async function liveThroughEdge(stream: string, originEnv: Record<string, string> = {}): Promise<LiveThroughEdge> {
  const origin = await startServer({ ROLE: 'origin', ...originEnv });
  const edge = await startServer({ ROLE: 'edge', ORIGIN_URL: origin.baseUrl });
  const browser = await launchChromium();
  const fixture: LiveThroughEdge = {
    origin,
    edge,
    browser,
    close: async () => {
      await browser.close();
      await edge.stop();
      await origin.stop();
    },
  };
  try {
    await goLiveWithTestSource(browser, origin.baseUrl, stream);
  } catch (err) {
    await fixture.close();
    throw err;
  }
  return fixture;
}
