// One page interface over Playwright (Chromium) and puppeteer-core (Firefox), so a suite can pair any broadcaster with any viewer.
import type { Browser as PlaywrightBrowser } from 'playwright-core';
import type { Browser as PuppeteerBrowser } from 'puppeteer-core';
import { launchChromium } from './browser.ts';
import { launchFirefox } from './firefox.ts';

export type BrowserKind = 'chromium' | 'firefox';

/** The part of a page the matrix drives: open a URL, wait for a selector, read a value. */
export interface MatrixPage {
  readonly kind: BrowserKind;
  goto(url: string): Promise<void>;
  waitForSelector(selector: string, timeoutMs: number): Promise<void>;
  /** Evaluates a JavaScript expression in the page (a string, so neither driver has to serialise a compiled function). */
  evaluate<T>(expression: string): Promise<T>;
  close(): Promise<void>;
}

export interface MatrixBrowser {
  readonly kind: BrowserKind;
  /** A page in a context of its own (no shared storage or connections with other pages). */
  newPage(): Promise<MatrixPage>;
  close(): Promise<void>;
}

function wrapChromium(browser: PlaywrightBrowser): MatrixBrowser {
  return {
    kind: 'chromium',
    async newPage() {
      const context = await browser.newContext();
      const page = await context.newPage();
      return {
        kind: 'chromium',
        goto: async (url) => void (await page.goto(url)),
        waitForSelector: async (selector, timeoutMs) => void (await page.waitForSelector(selector, { timeout: timeoutMs })),
        evaluate: (expression) => page.evaluate(expression),
        close: () => context.close(),
      };
    },
    close: () => browser.close(),
  };
}

function wrapFirefox(browser: PuppeteerBrowser): MatrixBrowser {
  return {
    kind: 'firefox',
    async newPage() {
      const context = await browser.createBrowserContext();
      // A window of its own: a Firefox page in a background tab is throttled (its broadcast stalls, it may not connect).
      const page = await context.newPage({ type: 'window' });
      return {
        kind: 'firefox',
        goto: async (url) => void (await page.goto(url)),
        waitForSelector: async (selector, timeoutMs) => void (await page.waitForSelector(selector, { timeout: timeoutMs })),
        evaluate: (expression) => page.evaluate(expression) as Promise<never>,
        close: () => context.close(),
      };
    },
    close: () => browser.close(),
  };
}

export async function launchBrowser(kind: BrowserKind): Promise<MatrixBrowser> {
  return kind === 'chromium' ? wrapChromium(await launchChromium()) : wrapFirefox(await launchFirefox());
}
