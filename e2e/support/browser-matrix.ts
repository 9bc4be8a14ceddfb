// One page interface over Playwright (Chromium), puppeteer-core (Firefox) and webdriverio (WebKitGTK), so a suite can pair any
// broadcaster with any viewer.
import type { Browser as PlaywrightBrowser } from 'playwright-core';
import type { KeyInput, Browser as PuppeteerBrowser } from 'puppeteer-core';
import { launchChromium } from './browser.ts';
import { launchFirefox } from './firefox.ts';
import { launchWebKit, type WebKitSession } from './webkit.ts';

export type BrowserKind = 'chromium' | 'firefox' | 'webkit';

/** Browsers that can broadcast: WebKitGTK on Debian is built without WebRTC (no RTCPeerConnection), so it only watches. */
export const BROADCASTER_KINDS = ['chromium', 'firefox'] as const satisfies readonly BrowserKind[];

const WEBKIT_POLL_MS = 100;

/** The part of a page the matrix drives: open a URL, wait for a selector, read a value. */
export interface MatrixPage {
  readonly kind: BrowserKind;
  goto(url: string): Promise<void>;
  waitForSelector(selector: string, timeoutMs: number): Promise<void>;
  /** Evaluates a JavaScript expression in the page (a string, so neither driver has to serialise a compiled function). */
  evaluate<T>(expression: string): Promise<T>;
  /** Evaluates an expression in the first frame whose URL contains `urlPart` (a cross-origin iframe too). */
  evaluateInFrame<T>(urlPart: string, expression: string): Promise<T>;
  /** Presses a key (a W3C key name such as `Space`, `m`, `ArrowLeft`) into whatever has focus. */
  press(key: string): Promise<void>;
  setViewportSize(width: number, height: number): Promise<void>;
  /** Saves a PNG of the viewport. */
  screenshot(path: string): Promise<void>;
  /** Console errors and uncaught exceptions of the page so far; null where the driver cannot see the console (WebKit). */
  readonly consoleErrors: readonly string[] | null;
  /** WebKit only: the end of what its driver, MiniBrowser and web processes printed (null in the other browsers). */
  browserOutput(): string | null;
  close(): Promise<void>;
}

/** The frame of `frames` whose URL contains `urlPart`, or an error naming the URLs there are. */
function frameWith<F extends { url(): string }>(frames: readonly F[], urlPart: string): F {
  const frame = frames.find((f) => f.url().includes(urlPart));
  if (!frame) throw new Error(`no frame with ${urlPart} in its URL (frames: ${frames.map((f) => f.url()).join(', ')})`);
  return frame;
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
      const consoleErrors: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error') consoleErrors.push(message.text());
      });
      page.on('pageerror', (error) => consoleErrors.push(String(error)));
      return {
        kind: 'chromium',
        goto: async (url) => void (await page.goto(url)),
        waitForSelector: async (selector, timeoutMs) => void (await page.waitForSelector(selector, { timeout: timeoutMs })),
        evaluate: (expression) => page.evaluate(expression),
        evaluateInFrame: (urlPart, expression) => frameWith(page.frames(), urlPart).evaluate(expression),
        press: (key) => page.keyboard.press(key === 'Space' ? ' ' : key),
        setViewportSize: (width, height) => page.setViewportSize({ width, height }),
        screenshot: async (path) => void (await page.screenshot({ path })),
        consoleErrors,
        browserOutput: () => null,
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
      const consoleErrors: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error') consoleErrors.push(message.text());
      });
      page.on('pageerror', (error) => consoleErrors.push(String(error)));
      return {
        kind: 'firefox',
        goto: async (url) => void (await page.goto(url)),
        waitForSelector: async (selector, timeoutMs) => void (await page.waitForSelector(selector, { timeout: timeoutMs })),
        evaluate: (expression) => page.evaluate(expression) as Promise<never>,
        evaluateInFrame: (urlPart, expression) => frameWith(page.frames(), urlPart).evaluate(expression) as Promise<never>,
        press: (key) => page.keyboard.press(key === 'Space' ? ' ' : (key as KeyInput)),
        setViewportSize: (width, height) => page.setViewport({ width, height }),
        screenshot: async (path) => void (await page.screenshot({ path: path as `${string}.png` })),
        consoleErrors,
        browserOutput: () => null,
        close: () => context.close(),
      };
    },
    close: () => browser.close(),
  };
}

function wrapWebKitSession(session: WebKitSession): MatrixPage {
  const { browser } = session;
  return {
    kind: 'webkit',
    goto: async (url) => void (await browser.url(url)),
    waitForSelector: async (selector, timeoutMs) =>
      void (await browser.waitUntil(() => browser.execute((s: string) => document.querySelector(s) !== null, selector), {
        timeout: timeoutMs,
        interval: WEBKIT_POLL_MS,
        timeoutMsg: `${selector} did not appear within ${timeoutMs} ms`,
      })),
    // Classic WebDriver runs a function body and awaits a promise it returns.
    evaluate: (expression) => browser.execute(`return (${expression});`) as Promise<never>,
    evaluateInFrame: async (urlPart, expression) => {
      const frames = await browser.$$('iframe').getElements();
      for (const frame of frames) {
        if (!(await frame.getAttribute('src'))?.includes(urlPart)) continue;
        await browser.switchFrame(frame);
        try {
          return (await browser.execute(`return (${expression});`)) as never;
        } finally {
          await browser.switchFrame(null);
        }
      }
      throw new Error(`no iframe with ${urlPart} in its src`);
    },
    press: (key) => browser.keys(key === 'Space' ? ' ' : key),
    setViewportSize: (width, height) => browser.setViewport({ width, height }),
    screenshot: async (path) => void (await browser.saveScreenshot(path)),
    consoleErrors: null,
    browserOutput: () => session.output(),
    close: () => session.close(),
  };
}

/**
 * A classic WebDriver session is one MiniBrowser with one window, so each page is a session of its own: its own
 * process and storage, which is what a context is in the other browsers.
 */
function webkitBrowser(): MatrixBrowser {
  const sessions = new Set<WebKitSession>();
  return {
    kind: 'webkit',
    async newPage() {
      const session = await launchWebKit();
      sessions.add(session);
      const page = wrapWebKitSession(session);
      return {
        ...page,
        close: async () => {
          sessions.delete(session);
          await page.close();
        },
      };
    },
    close: async () => {
      await Promise.all([...sessions].map((s) => s.close()));
      sessions.clear();
    },
  };
}

export async function launchBrowser(kind: BrowserKind): Promise<MatrixBrowser> {
  switch (kind) {
    case 'chromium':
      return wrapChromium(await launchChromium());
    case 'firefox':
      return wrapFirefox(await launchFirefox());
    case 'webkit':
      return webkitBrowser();
  }
}
