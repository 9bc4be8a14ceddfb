// The embed as an embedder uses it, in Chromium and Firefox: the one-tag snippet and the iframe form on a page of
// another origin, two players on one page, a player placed before its broadcast, keyboard control, the quality menu,
// axe-core, and screenshots at desktop and phone sizes (kept in test-results/ as artifacts). The element's finer
// behaviour (menus' ARIA states, auto-hide, run-time attributes, muted-autoplay fallback) is e2e/embed-element.test.ts.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import axe from 'axe-core';
import { ABR_LADDER } from './support/abr-trace.ts';
import { launchBrowser, type BrowserKind, type MatrixBrowser, type MatrixPage } from './support/browser-matrix.ts';
import { startNodePublisher, type NodePublisher } from './support/node-publisher.ts';
import { pollUntil } from './support/poll.ts';
import { startServer, type RunningServer } from './support/server.ts';
import { startStaticServer, type StaticServer } from './support/static-server.ts';

const LADDER_STREAM = 'embed-ladder';
const SECOND_STREAM = 'embed-second';
const LATE_STREAM_PREFIX = 'embed-late';
const PLAYING_TIMEOUT_MS = 30_000;
const ARTIFACTS = resolve(import.meta.dirname, '../test-results');
/** Chromium logs each 404 of the poll for a broadcast not live yet: that is the waiting, not an error. */
const isPollNotFound = (message: string): boolean => message.startsWith('Failed to load resource');

/** The element of the page (the n-th one), as a page-side expression. */
const el = (n = 0): string => `document.querySelectorAll('swarmcast-player')[${n}]`;

interface ElementSample {
  state: string | undefined;
  reason: string | undefined;
  /** The state screen over the video (`starting-soon`, `ended`, …), undefined when none shows. */
  screen: string | undefined;
  screenTitle: string | undefined;
  decodedFrames: number;
  rendition: string | null;
  stream: string | null;
  paused: boolean;
  muted: boolean;
  fullscreen: boolean;
}

/** What the tests read of the n-th element (null until the embed module has upgraded it). */
const SAMPLE = (n: number): string => `(() => {
  const e = ${el(n)};
  if (!e || !e.shadowRoot || typeof e.stats !== 'function') return null;
  const root = e.shadowRoot;
  const s = e.stats();
  const v = root.querySelector('video');
  const screen = root.querySelector('.screen');
  return { state: e.dataset.state, reason: e.dataset.reason,
    screen: screen.hidden ? undefined : screen.dataset.screen,
    screenTitle: screen.hidden ? undefined : root.querySelector('.title')?.textContent ?? undefined,
    decodedFrames: s ? s.decodedFrames : 0, rendition: s ? s.rendition : null, stream: e.getAttribute('stream'),
    paused: v.paused, muted: v.muted, fullscreen: document.fullscreenElement === e };
})()`;

function sample(page: MatrixPage, n = 0): Promise<ElementSample | null> {
  return page.evaluate(SAMPLE(n));
}

function waitFor(page: MatrixPage, done: (s: ElementSample) => boolean, what: string, timeoutMs = 20_000, n = 0): Promise<ElementSample> {
  return pollUntil(() => sample(page, n), (s): s is ElementSample => s !== null && done(s), timeoutMs, what) as Promise<ElementSample>;
}

function waitPlaying(page: MatrixPage, n = 0): Promise<ElementSample> {
  return waitFor(page, (s) => s.state === 'playing' && s.decodedFrames > 0, `player ${n} playing`, PLAYING_TIMEOUT_MS, n);
}

/** Clicks the button (or menu item) of the n-th element's shadow root matching `selector` and holding `text`. */
function click(page: MatrixPage, selector: string, text = '', n = 0): Promise<void> {
  return page.evaluate(`(() => {
    const found = [...${el(n)}.shadowRoot.querySelectorAll(${JSON.stringify(selector)})].find((b) => b.textContent.includes(${JSON.stringify(text)}));
    if (!found) throw new Error('no ${selector.replace(/'/g, '')} with ${text.replace(/'/g, '')}');
    found.click();
  })()`);
}

function errorsOf(page: MatrixPage): string[] {
  return (page.consoleErrors ?? []).filter((message) => !isPollNotFound(message));
}

/** Width and height from a PNG's IHDR chunk. */
function pngSize(path: string): { width: number; height: number } {
  const png = readFileSync(path);
  expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

let server: RunningServer;
let embedder: StaticServer;
let pagesDir: string;
const publishers: NodePublisher[] = [];

beforeAll(async () => {
  server = await startServer();
  pagesDir = mkdtempSync(join(tmpdir(), 'swarmcast-embedder-'));
  embedder = await startStaticServer(pagesDir);
  // One after the other: two node-datachannel peers negotiating at once in one process made libdatachannel refuse the
  // answers of one of them ("remote candidate without ICE transport") three offers in a row in a CI run.
  publishers.push(await startNodePublisher({ baseUrl: server.baseUrl, stream: LADDER_STREAM, ladder: ABR_LADDER, sourceSeconds: 4 }));
  publishers.push(
    await startNodePublisher({ baseUrl: server.baseUrl, stream: SECOND_STREAM, width: 640, height: 360, rendition: '360p', videoBitrate: 600_000, sourceSeconds: 4 }),
  );
  const snippet = (attrs: string): string => `<swarmcast-player ${attrs}></swarmcast-player>`;
  const page = (title: string, body: string): string =>
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<title>${title}</title><style>body{font-family:serif;margin:0;padding:16px}button{background:rgb(255,0,0)}video{display:none}</style>` +
    `<script src="${server.baseUrl}/embed.js" async></script></head><body><h1>${title}</h1><main style="max-width:960px">${body}</main></body></html>`;
  writeFileSync(join(pagesDir, 'snippet.html'), page('One player', snippet(`stream="${LADDER_STREAM}" autoplay muted`)));
  writeFileSync(
    join(pagesDir, 'two.html'),
    page('Two players', snippet(`stream="${LADDER_STREAM}" autoplay muted`) + snippet(`stream="${SECOND_STREAM}" autoplay muted`)),
  );
  writeFileSync(
    join(pagesDir, 'iframe.html'),
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Iframe</title></head><body>` +
      `<iframe title="Live stream" width="640" height="360" src="${server.baseUrl}/embed/${SECOND_STREAM}?autoplay&muted" allow="autoplay; fullscreen; picture-in-picture"></iframe></body></html>`,
  );
  for (const kind of ['chromium', 'firefox']) {
    writeFileSync(join(pagesDir, `late-${kind}.html`), page('Before the broadcast', snippet(`stream="${LATE_STREAM_PREFIX}-${kind}" autoplay muted`)));
  }
  mkdirSync(ARTIFACTS, { recursive: true });
}, 60_000);

afterAll(async () => {
  await Promise.all(publishers.map((p) => p.stop()));
  await embedder?.close();
  await server?.stop();
  if (pagesDir) rmSync(pagesDir, { recursive: true, force: true });
});

describe.each<BrowserKind>(['chromium', 'firefox'])('the embed in %s', (kind) => {
  let browser: MatrixBrowser;

  beforeAll(async () => {
    browser = await launchBrowser(kind);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
  });

  it('plays from the one-tag snippet on a page of another origin, with no console errors and no CSS leaking either way', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${embedder.url}/snippet.html`);
      const playing = await waitPlaying(page);
      expect(playing.decodedFrames).toBeGreaterThan(0);
      const isolation = await page.evaluate<{ open: boolean; videoInLightDom: boolean; shadowButtonBg: string; hostFont: string }>(`(() => {
        const e = ${el()};
        const button = e.shadowRoot.querySelector('button');
        return { open: e.shadowRoot !== null, videoInLightDom: document.querySelector('video') !== null,
          shadowButtonBg: button ? getComputedStyle(button).backgroundColor : 'no button',
          hostFont: getComputedStyle(document.querySelector('h1')).fontFamily };
      })()`);
      expect(isolation.open).toBe(true);
      expect(isolation.videoInLightDom).toBe(false);
      // The page's `button { background: red }` does not reach the player's buttons, nor the player's styles the page.
      expect(isolation.shadowButtonBg).not.toBe('rgb(255, 0, 0)');
      expect(isolation.shadowButtonBg).not.toBe('no button');
      expect(isolation.hostFont).toBe('serif');
      expect(errorsOf(page)).toEqual([]);
    } finally {
      await page.close();
    }
  }, 60_000);

  it('plays in the iframe form on a page of another origin', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${embedder.url}/iframe.html`);
      const framed = await pollUntil(
        () => page.evaluateInFrame<ElementSample | null>(`/embed/${SECOND_STREAM}`, SAMPLE(0)),
        (s) => s !== null && s.state === 'playing' && s.decodedFrames > 0,
        PLAYING_TIMEOUT_MS,
        'the iframe player playing',
      );
      expect(framed).toMatchObject({ stream: SECOND_STREAM, muted: true, paused: false });
      expect(errorsOf(page)).toEqual([]);
    } finally {
      await page.close();
    }
  }, 60_000);

  it('plays two streams in two players on one page, each paused on its own; keyboard, quality menu and axe-core on the first', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${embedder.url}/two.html`);
      await Promise.all([waitPlaying(page, 0), waitPlaying(page, 1)]);
      expect((await sample(page, 0))?.stream).toBe(LADDER_STREAM);
      expect((await sample(page, 1))?.stream).toBe(SECOND_STREAM);

      // Keyboard on the focused player only: space pauses and plays, m unmutes and mutes, f goes full screen and back.
      await page.evaluate(`${el(0)}.focus()`);
      await page.press('Space');
      await waitFor(page, (s) => s.paused, 'paused by space');
      expect((await sample(page, 1))?.paused).toBe(false);
      await page.press('Space');
      await waitFor(page, (s) => !s.paused, 'playing again after space');
      await page.press('m');
      await waitFor(page, (s) => !s.muted, 'unmuted by m');
      expect((await sample(page, 1))?.muted).toBe(true);
      await page.press('m');
      await waitFor(page, (s) => s.muted, 'muted again by m');
      await page.press('f');
      await waitFor(page, (s) => s.fullscreen, 'full screen by f');
      await page.press('f');
      await waitFor(page, (s) => !s.fullscreen, 'out of full screen by f');

      // The quality menu lists the ladder; pinning 240p plays 240p, Auto hands the choice back to the ABR.
      await click(page, '.quality-button');
      const items = await page.evaluate<string[]>(`[...${el(0)}.shadowRoot.querySelectorAll('#quality-menu [role=menuitemradio]')].map((i) => i.textContent)`);
      expect(items).toEqual(['Auto', ...ABR_LADDER.map((rung) => rung.rendition)]);
      await click(page, '#quality-menu [role=menuitemradio]', '240p');
      await waitFor(page, (s) => s.rendition === '240p' && s.state === 'playing', 'playing the pinned 240p', 30_000);
      await click(page, '.quality-button');
      await click(page, '#quality-menu [role=menuitemradio]', 'Auto');
      await waitFor(page, (s) => s.rendition === '720p', 'back at the top rung after Auto', 30_000);

      // axe-core (an independent accessibility checker) over both players with their controls showing.
      await page.evaluate(axe.source);
      const violations = await page.evaluate<{ id: string; targets: unknown[] }[]>(`(async () => {
        ${el(0)}.shadowRoot.querySelector('.play').focus();
        const result = await axe.run(document.querySelectorAll('swarmcast-player'));
        return result.violations.map((v) => ({ id: v.id, targets: v.nodes.map((n) => n.target) }));
      })()`);
      expect(violations).toEqual([]);
      expect(errorsOf(page)).toEqual([]);
    } finally {
      await page.close();
    }
  }, 120_000);

  it('shows "starting soon" before the broadcast, plays by itself once it begins, and "ended" after it', async () => {
    const stream = `${LATE_STREAM_PREFIX}-${kind}`;
    const page = await browser.newPage();
    let late: NodePublisher | undefined;
    try {
      await page.goto(`${embedder.url}/late-${kind}.html`);
      const soon = await waitFor(page, (s) => s.screen === 'starting-soon', '"starting soon"');
      expect(soon).toMatchObject({ state: 'connecting', reason: 'waiting-for-broadcast', screenTitle: 'Starting soon' });
      late = await startNodePublisher({ baseUrl: server.baseUrl, stream, width: 426, height: 240, rendition: '240p', videoBitrate: 300_000 });
      const playing = await waitPlaying(page);
      expect(playing.screen).toBeUndefined();
      await late.stop();
      late = undefined;
      const ended = await waitFor(page, (s) => s.screen === 'ended', '"ended"', 30_000);
      expect(ended).toMatchObject({ state: 'idle', reason: 'ended', screenTitle: 'The broadcast has ended' });
      expect(errorsOf(page)).toEqual([]);
    } finally {
      await late?.stop();
      await page.close();
    }
  }, 90_000);

  it('keeps screenshots at desktop and phone sizes', async () => {
    const page = await browser.newPage();
    try {
      for (const [name, width, height] of [['desktop', 1280, 720], ['phone', 390, 844]] as const) {
        await page.setViewportSize(width, height);
        await page.goto(`${embedder.url}/snippet.html`);
        await waitPlaying(page);
        // The player fits the phone's width (16:9 of the page's content box), not a fixed desktop size.
        const box = await page.evaluate<{ width: number; height: number }>(`${el()}.getBoundingClientRect().toJSON()`);
        expect(box.width).toBeLessThanOrEqual(width);
        expect(box.height).toBeCloseTo((box.width * 9) / 16, 0);
        const path = join(ARTIFACTS, `embed-${kind}-${name}.png`);
        await page.screenshot(path);
        expect(pngSize(path).width).toBe(width);
      }
    } finally {
      await page.close();
    }
  }, 90_000);
});
