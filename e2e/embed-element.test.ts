// <swarmcast-player> in real Chromium on the iframe page (/embed.html): plays a three-rung live stream, starts by itself
// after "starting soon", shows "ended", obeys the keyboard, pins a rung from the quality menu and back to Auto, reloads on
// a new `stream`, survives removal and re-insertion, and passes axe-core with its controls showing. The watch page plays
// in the same element: its state, stats, latency mode, embed code and errors on top of it.
import axe from 'axe-core';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embedIframeCode, embedScriptCode } from '../shared/embed-code.ts';
import { ABR_LADDER } from './support/abr-trace.ts';
import { launchChromium, launchChromiumWithAutoplayPolicy } from './support/browser.ts';
import { startNodePublisher, type NodePublisher } from './support/node-publisher.ts';
import { pollUntil } from './support/poll.ts';
import { startServer, type RunningServer } from './support/server.ts';

const STREAM = 'embed';
const LATE_STREAM = 'embed-late';
const PLAYER = 'swarmcast-player';

let server: RunningServer;
let publisher: NodePublisher;
let browser: Browser;
/** One page on the live stream, shared by the tests that only look at it or control it. */
let page: Page;
const pageErrors: string[] = [];

/** What the tests read of the element, in the page. */
interface Seen {
  state: string | undefined;
  reason: string | undefined;
  screen: string | undefined;
  screenTitle: string | undefined;
  paused: boolean;
  muted: boolean;
  fullscreen: boolean;
  decodedFrames: number;
  rendition: string | null;
  latencyMode: string | null;
  /** The controls auto-hid (no pointer activity while playing). */
  controlsHidden: boolean;
}

function seen(on: Page, index = 0): Promise<Seen> {
  return on.evaluate(([selector, at]) => {
    const element = document.querySelectorAll(selector as string)[at as number] as HTMLElement & {
      stats(): { decodedFrames: number; rendition: string | null; latencyMode: string } | null;
    };
    const root = element.shadowRoot!;
    const video = root.querySelector('video')!;
    const screen = root.querySelector<HTMLElement>('.screen')!;
    const stats = element.stats();
    return {
      state: element.dataset['state'],
      reason: element.dataset['reason'],
      screen: screen.hidden ? undefined : screen.dataset['screen'],
      screenTitle: screen.hidden ? undefined : (root.querySelector('.title')?.textContent ?? undefined),
      paused: video.paused,
      muted: video.muted,
      fullscreen: document.fullscreenElement === element,
      decodedFrames: stats?.decodedFrames ?? 0,
      rendition: stats?.rendition ?? null,
      latencyMode: stats?.latencyMode ?? null,
      controlsHidden: root.querySelector('.root')!.classList.contains('idle'),
    };
  }, [PLAYER, index] as const);
}

function waitFor(on: Page, done: (s: Seen) => boolean, what: string, timeoutMs = 20_000, index = 0): Promise<Seen> {
  return pollUntil(() => seen(on, index), done, timeoutMs, what);
}

async function openEmbed(query: string): Promise<Page> {
  const opened = await browser.newPage();
  opened.on('pageerror', (err) => pageErrors.push(String(err)));
  opened.on('console', (message) => {
    // Chromium logs each 404 of a poll for a stream not live yet; those are the waiting, not errors.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) pageErrors.push(message.text());
  });
  await opened.goto(`${server.baseUrl}/embed.html?${query}`);
  return opened;
}

beforeAll(async () => {
  server = await startServer();
  [publisher, browser] = await Promise.all([
    startNodePublisher({ baseUrl: server.baseUrl, stream: STREAM, ladder: ABR_LADDER, sourceSeconds: 4 }),
    launchChromium(),
  ]);
  page = await openEmbed(`stream=${STREAM}&autoplay&muted`);
});

afterAll(async () => {
  await browser?.close();
  await publisher?.stop();
  await server?.stop();
});

describe('<swarmcast-player> on the iframe page', () => {
  it('plays the live stream muted: data-state playing, frames decoded, no screen over the video', async () => {
    await page.waitForSelector(`${PLAYER}[data-state="playing"]`, { timeout: 30_000 });
    const playing = await waitFor(page, (s) => s.decodedFrames > 30, '30 decoded frames');
    expect(playing).toMatchObject({ state: 'playing', reason: 'playing', screen: undefined, muted: true, paused: false });
    // Every rung of the ladder is in the quality menu's source.
    await expect.poll(() => page.locator(`${PLAYER} .quality-button`).isVisible()).toBe(true);
  });

  it('answers the keyboard: space pauses and plays, m unmutes and mutes, f goes full screen and back', async () => {
    await page.waitForSelector(`${PLAYER}[data-state="playing"]`, { timeout: 30_000 });
    await page.focus(PLAYER);
    await page.keyboard.press('Space');
    await waitFor(page, (s) => s.paused, 'paused by space');
    await page.keyboard.press('Space');
    await waitFor(page, (s) => !s.paused, 'playing again after space');
    await page.keyboard.press('m');
    await waitFor(page, (s) => !s.muted, 'unmuted by m');
    await page.keyboard.press('m');
    await waitFor(page, (s) => s.muted, 'muted again by m');
    await page.keyboard.press('f');
    await waitFor(page, (s) => s.fullscreen, 'full screen by f');
    await expect.poll(() => page.locator(`${PLAYER} .fullscreen`).getAttribute('aria-label')).toBe('Exit full screen');
    await page.keyboard.press('f');
    await waitFor(page, (s) => !s.fullscreen, 'out of full screen by f');
    await expect.poll(() => page.locator(`${PLAYER} .fullscreen`).getAttribute('aria-label')).toBe('Full screen');
  });

  it('pins a rung from the quality menu (stats follow, qualitychange fires) and Auto hands the choice back to the ABR', async () => {
    await page.evaluate((selector) => {
      const events: unknown[] = [];
      Object.assign(window, { qualityEvents: events });
      document.querySelector(selector)!.addEventListener('qualitychange', (event) => events.push((event as CustomEvent).detail));
    }, PLAYER);
    const button = page.locator(`${PLAYER} .quality-button`);
    await button.click();
    expect(await button.getAttribute('aria-expanded')).toBe('true');
    const items = page.locator(`${PLAYER} #quality-menu [role=menuitemradio]`);
    expect(await items.allTextContents()).toEqual(['Auto', ...ABR_LADDER.map((rung) => rung.rendition)]);
    await items.filter({ hasText: '240p' }).click();
    expect(await button.getAttribute('aria-expanded')).toBe('false');
    const pinned = await waitFor(page, (s) => s.rendition === '240p' && s.state === 'playing', 'playing 240p');
    expect(pinned.paused).toBe(false);
    const events = (await page.evaluate(() => (window as unknown as { qualityEvents: unknown[] }).qualityEvents)) as { auto: boolean; rendition: string | null }[];
    expect(events[0]?.auto).toBe(false);
    expect(events.at(-1)).toMatchObject({ auto: false, rendition: '240p' });
    // Pinned, the rung stays: the ABR would climb on this unthrottled link.
    await button.click();
    expect(await items.filter({ hasText: '240p' }).getAttribute('aria-checked')).toBe('true');
    await items.filter({ hasText: 'Auto' }).click();
    await waitFor(page, (s) => s.rendition === '720p', 'ABR back at the top rung after Auto', 30_000);
    expect(await button.textContent()).toBe('Auto (720p)');
  });

  it('has no axe-core violations while playing with its controls showing', async () => {
    await page.waitForSelector(`${PLAYER}[data-state="playing"]`, { timeout: 30_000 });
    // With the latency shown in the LIVE badge (its text and name change then).
    await expect.poll(() => page.locator(`${PLAYER} .live`).textContent(), { timeout: 10_000 }).toMatch(/^LIVE \d/);
    // Evaluated, not added as an inline <script>: the page's Content-Security-Policy rightly refuses inline scripts.
    await page.evaluate(axe.source);
    await page.hover(PLAYER);
    await page.locator(`${PLAYER} .play`).focus();
    const violations = await page.evaluate(async (selector) => {
      const axe = (window as unknown as { axe: { run(context: Element): Promise<{ violations: { id: string; nodes: { target: unknown }[] }[] }> } }).axe;
      const result = await axe.run(document.querySelector(selector)!);
      return result.violations.map((v) => ({ id: v.id, targets: v.nodes.map((n) => n.target) }));
    }, PLAYER);
    expect(violations).toEqual([]);
  });

  it('hides the controls after a while without pointer activity while playing, and shows them on movement', async () => {
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    const box = (await page.locator(PLAYER).boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await waitFor(page, (s) => !s.controlsHidden, 'controls shown on pointer movement');
    await waitFor(page, (s) => s.controlsHidden && !s.paused, 'controls hidden while playing', 10_000);
    await page.mouse.move(box.x + box.width / 3, box.y + box.height / 3);
    await waitFor(page, (s) => !s.controlsHidden, 'controls shown again on pointer movement');
  });

  it('runs two players on one page independently; the latency menu moves one of them to p2p', async () => {
    await page.evaluate(([selector, stream]) => {
      const second = document.createElement(selector!);
      second.setAttribute('stream', stream!);
      second.setAttribute('autoplay', '');
      second.setAttribute('muted', '');
      second.style.height = '50vh';
      document.querySelector('main')!.append(second);
    }, [PLAYER, STREAM]);
    try {
      await waitFor(page, (s) => s.state === 'playing' && s.decodedFrames > 0, 'second player playing', 30_000, 1);
      const second = page.locator(PLAYER).nth(1);
      await second.locator('.latency-button').click();
      await second.locator('#latency-menu [role=menuitemradio]', { hasText: 'Peer-to-peer' }).click();
      const p2p = await waitFor(page, (s) => s.latencyMode === 'p2p' && s.state === 'playing', 'second player playing in p2p', 30_000, 1);
      expect(p2p.paused).toBe(false);
      expect(await second.getAttribute('latency')).toBe('p2p');
      await page.evaluate((selector) => (document.querySelector(selector) as HTMLElement & { pause(): void }).pause(), PLAYER);
      await waitFor(page, (s) => s.paused, 'first player paused');
      expect(await seen(page, 0)).toMatchObject({ latencyMode: 'low', state: 'playing' });
      expect(await seen(page, 1)).toMatchObject({ latencyMode: 'p2p', paused: false });
      await page.keyboard.press('Escape');
    } finally {
      await page.evaluate((selector) => {
        document.querySelectorAll(selector)[1]?.remove();
        void (document.querySelector(selector) as HTMLElement & { play(): Promise<void> }).play();
      }, PLAYER);
    }
    await waitFor(page, (s) => !s.paused, 'first player playing again');
  });

  it('is 16:9 by default at its container\'s width, and sized by the page when it says so', async () => {
    const sizes = await page.evaluate((selector) => {
      const box = document.createElement('div');
      box.style.width = '640px';
      const element = document.createElement(selector);
      box.append(element);
      document.body.append(box);
      const natural = element.getBoundingClientRect();
      element.style.cssText = 'width: 300px; height: 300px';
      const sized = element.getBoundingClientRect();
      box.remove();
      return [natural.width, natural.height, sized.width, sized.height];
    }, PLAYER);
    expect(sizes).toEqual([640, 360, 300, 300]);
  });

  it('takes poster and controls at run time', async () => {
    const poster = `${server.baseUrl}/poster.png`;
    const read = () =>
      page.evaluate((selector) => {
        const root = document.querySelector(selector)!.shadowRoot!;
        return { poster: root.querySelector('video')!.poster, bar: getComputedStyle(root.querySelector('.bar')!).display };
      }, PLAYER);
    expect((await read()).bar).toBe('flex');
    await page.evaluate(([selector, url]) => {
      const element = document.querySelector(selector!)!;
      element.setAttribute('poster', url!);
      element.setAttribute('controls', 'false');
    }, [PLAYER, poster]);
    expect(await read()).toEqual({ poster, bar: 'none' });
    await page.evaluate((selector) => {
      const element = document.querySelector(selector)!;
      element.removeAttribute('poster');
      element.removeAttribute('controls');
    }, PLAYER);
    expect(await read()).toEqual({ poster: '', bar: 'flex' });
  });

  it('reloads on a new stream attribute, and stops on removal and plays again when put back', async () => {
    await page.evaluate((selector) => document.querySelector(selector)!.setAttribute('stream', 'nobody-here'), PLAYER);
    const waiting = await waitFor(page, (s) => s.screen === 'starting-soon', '"starting soon" for a stream not live');
    expect(waiting).toMatchObject({ state: 'connecting', reason: 'waiting-for-broadcast', screenTitle: 'Starting soon' });
    await page.evaluate(([selector, stream]) => document.querySelector(selector!)!.setAttribute('stream', stream!), [PLAYER, STREAM]);
    await waitFor(page, (s) => s.state === 'playing', 'playing again after switching back');

    await page.evaluate((selector) => {
      const element = document.querySelector(selector)!;
      Object.assign(window, { detached: element });
      element.remove();
    }, PLAYER);
    const detached = await page.evaluate(() => {
      const element = (window as unknown as { detached: HTMLElement & { stats(): { state: string } | null } }).detached;
      return { state: element.dataset['state'], reason: element.dataset['reason'], stats: element.stats() };
    });
    expect(detached).toEqual({ state: 'idle', reason: 'destroyed', stats: null });
    await page.evaluate(() => document.querySelector('main')!.append((window as unknown as { detached: HTMLElement }).detached));
    await waitFor(page, (s) => s.state === 'playing' && s.decodedFrames > 0, 'playing after re-insertion');
  });

  it('shows "starting soon" before the broadcast, plays by itself once it begins, and "ended" after it', async () => {
    const late = await openEmbed(`stream=${LATE_STREAM}&autoplay&muted`);
    let latePublisher: NodePublisher | undefined;
    try {
      const soon = await waitFor(late, (s) => s.screen === 'starting-soon', '"starting soon"');
      expect(soon).toMatchObject({ state: 'connecting', reason: 'waiting-for-broadcast', screenTitle: 'Starting soon' });
      latePublisher = await startNodePublisher({ baseUrl: server.baseUrl, stream: LATE_STREAM, width: 426, height: 240, rendition: '240p', videoBitrate: 300_000 });
      // Stopped within its first seconds: hls.js often leaves such a broadcast's last short part unappended, so the
      // video never fires `ended` and the player must see the end from the playlist's ENDLIST and the starved playhead.
      const playing = await waitFor(late, (s) => s.state === 'playing' && s.decodedFrames > 0, 'playing once live', 30_000);
      expect(playing.screen).toBeUndefined();
      await latePublisher.stop();
      latePublisher = undefined;
      const ended = await waitFor(late, (s) => s.screen === 'ended', '"ended"');
      expect(ended).toMatchObject({ state: 'idle', reason: 'ended', screenTitle: 'The broadcast has ended' });
    } finally {
      await latePublisher?.stop();
      await late.close();
    }
  });

  it('upgrades an element already in the page once the module loads, starting once with no error', async () => {
    // The built element module (the iframe page's script), loaded after the markup as the script-tag snippet does.
    const embedHtml = await (await fetch(`${server.baseUrl}/embed.html`)).text();
    const moduleSrc = /<script type="module"[^>]*src="([^"]+)"/.exec(embedHtml)?.[1];
    expect(moduleSrc).toBeDefined();
    const upgradePage = await browser.newPage();
    try {
      const pageUrl = `${server.baseUrl}/upgrade-test`;
      await upgradePage.route(pageUrl, (route) =>
        route.fulfill({
          contentType: 'text/html',
          body: `<!doctype html><html lang="en"><title>upgrade</title><main></main>
            <swarmcast-player autoplay muted stream="${STREAM}"></swarmcast-player>
            <script>
              window.seenStates = [];
              document.addEventListener('statechange', (e) => window.seenStates.push(e.detail.state + '/' + e.detail.reason));
            </script>
            <script type="module" src="${moduleSrc}"></script></html>`,
        }),
      );
      await upgradePage.goto(pageUrl);
      // The iframe page's own code appends a second, stream-less element into <main>, before this one in document order.
      await waitFor(upgradePage, (s) => s.state === 'playing' && s.decodedFrames > 0, 'upgraded element playing', 20_000, 1);
      const states = await upgradePage.evaluate(() => (window as unknown as { seenStates: string[] }).seenStates);
      expect(states.filter((state) => state.startsWith('error'))).toEqual([]);
      // One player: it connected once, not once per attribute.
      expect(states.filter((state) => state === 'connecting/loading')).toHaveLength(1);
    } finally {
      await upgradePage.close();
    }
  });

  it('falls back to muted autoplay where the browser requires it, with an Unmute prompt that unmutes', async () => {
    const strict = await launchChromiumWithAutoplayPolicy();
    try {
      const strictPage = await strict.newPage();
      await strictPage.goto(`${server.baseUrl}/embed.html?stream=${STREAM}&autoplay`);
      const muted = await waitFor(strictPage, (s) => s.state === 'playing' && s.decodedFrames > 0, 'muted autoplay', 30_000);
      expect(muted).toMatchObject({ muted: true, paused: false });
      const unmute = strictPage.locator(`${PLAYER} .unmute`);
      await expect.poll(() => unmute.isVisible()).toBe(true);
      await unmute.click();
      const unmuted = await waitFor(strictPage, (s) => !s.muted, 'unmuted by the prompt');
      expect(unmuted.paused).toBe(false);
      expect(await unmute.isVisible()).toBe(false);
    } finally {
      await strict.close();
    }
  });

  it('logged no page errors', () => {
    expect(pageErrors).toEqual([]);
  });
});

describe('the watch page, built on <swarmcast-player>', () => {
  /** What the tests read of /watch: the page's own state and stats beside its element's. */
  const watchSeen = (on: Page) =>
    on.evaluate((selector) => {
      const element = document.querySelector(selector) as (HTMLElement & { stats(): { decodedFrames: number } | null }) | null;
      const stats = (window as unknown as { swarmcast: { stats(): { state: string; latencyMode: string; decodedFrames: number } } }).swarmcast.stats();
      return {
        bodyState: document.body.dataset['state'],
        elementState: element?.dataset['state'],
        stats: { state: stats.state, latencyMode: stats.latencyMode, decodedFrames: stats.decodedFrames },
        sameAsElement: element?.stats()?.decodedFrames === stats.decodedFrames,
        lightVideos: document.querySelectorAll('video').length,
        shadowVideo: Boolean(element?.shadowRoot?.querySelector('video')),
        abr: element?.getAttribute('abr') ?? null,
        search: location.search,
        p2pNotice: !document.getElementById('p2p-notice')!.hidden,
      };
    }, PLAYER);

  it('plays the stream in the element, mirrors its state on <body>, and reports its stats', async () => {
    const watch = await browser.newPage();
    const errors: string[] = [];
    watch.on('pageerror', (err) => errors.push(String(err)));
    try {
      await watch.goto(`${server.baseUrl}/watch?stream=${STREAM}`);
      await watch.waitForSelector('body[data-state="playing"]', { timeout: 30_000 });
      const playing = await pollUntil(() => watchSeen(watch), (s) => s.stats.decodedFrames > 30, 20_000, 'the watch page decoding');
      expect(playing).toMatchObject({ bodyState: 'playing', elementState: 'playing', lightVideos: 0, shadowVideo: true, abr: null, search: `?stream=${STREAM}` });
      expect(playing.stats).toMatchObject({ state: 'playing', latencyMode: 'low' });
      // The stats panel is fed from the same stats.
      await expect.poll(() => watch.textContent('#stat-resolution'), { timeout: 5_000 }).toMatch(/^\d+x\d+$/);
      // The element's latency menu moves it to p2p; the page follows and keeps &latency= in its address.
      await watch.locator(`${PLAYER} .latency-button`).click();
      await watch.locator(`${PLAYER} #latency-menu [role=menuitemradio]`, { hasText: 'Peer-to-peer' }).click();
      const p2p = await pollUntil(() => watchSeen(watch), (s) => s.stats.latencyMode === 'p2p' && s.bodyState === 'playing', 30_000, 'the watch page playing p2p');
      expect(p2p).toMatchObject({ search: `?stream=${STREAM}&latency=p2p`, p2pNotice: true });
      expect(await watch.textContent('#latency-mode')).toBe('p2p');
      // The page's own switch moves it back.
      await watch.click('#mode-switch');
      const low = await pollUntil(() => watchSeen(watch), (s) => s.stats.latencyMode === 'low' && s.bodyState === 'playing', 30_000, 'back to low');
      expect(low).toMatchObject({ search: `?stream=${STREAM}&latency=low`, p2pNotice: false });
      expect(errors).toEqual([]);
    } finally {
      await watch.close();
    }
    // Three starts (low, p2p, low again) of up to 30 s each on a loaded machine.
  }, 100_000);

  it('opens in the latency mode and ABR of its address, passing &abr=hls.js to the element', async () => {
    const watch = await browser.newPage();
    try {
      await watch.goto(`${server.baseUrl}/watch?stream=${STREAM}&latency=p2p&abr=hls.js`);
      await watch.waitForSelector('body[data-state="playing"]', { timeout: 30_000 });
      expect(await watchSeen(watch)).toMatchObject({ abr: 'hls.js', stats: { latencyMode: 'p2p' }, p2pNotice: true });
    } finally {
      await watch.close();
    }
  });

  it('offers both forms of the embed code for its stream and copies the one chosen', async () => {
    const context = await browser.newContext({ permissions: ['clipboard-read', 'clipboard-write'] });
    try {
      const watch = await context.newPage();
      await watch.goto(`${server.baseUrl}/watch?stream=${STREAM}`);
      expect(await watch.inputValue('#embed-code')).toBe(embedScriptCode(server.baseUrl, STREAM));
      await watch.click('#copy-embed');
      await expect.poll(() => watch.evaluate(() => navigator.clipboard.readText())).toBe(embedScriptCode(server.baseUrl, STREAM));
      await watch.check('input[name="embed-form"][value="iframe"]');
      expect(await watch.inputValue('#embed-code')).toBe(embedIframeCode(server.baseUrl, STREAM));
      await watch.click('#copy-embed');
      await expect.poll(() => watch.evaluate(() => navigator.clipboard.readText())).toBe(embedIframeCode(server.baseUrl, STREAM));
      // The landing page shows the snippet for the name in its field.
      await watch.goto(`${server.baseUrl}/`);
      await watch.fill('#stream', 'my-show');
      expect(await watch.textContent('#embed-snippet')).toBe(embedScriptCode(server.baseUrl, 'my-show'));
      expect(await watch.textContent('#embed-iframe')).toBe(embedIframeCode(server.baseUrl, 'my-show'));
    } finally {
      await context.close();
    }
  });

  it('says what is wrong with a bad stream name, state error, without a player', async () => {
    const watch = await browser.newPage();
    try {
      await watch.goto(`${server.baseUrl}/watch?stream=Not%20Valid`);
      await watch.waitForSelector('body[data-state="error"]');
      expect(await watch.textContent('#message')).toMatch(/"Not Valid" is not a valid stream name.*\/watch\?stream=NAME/s);
      const seenThen = await watchSeen(watch);
      expect(seenThen).toMatchObject({ stats: { state: 'error' }, elementState: undefined });
    } finally {
      await watch.close();
    }
  });

  it('falls back to muted autoplay where the browser requires it, with the element\'s Unmute prompt', async () => {
    const strict = await launchChromiumWithAutoplayPolicy();
    try {
      const watch = await strict.newPage();
      await watch.goto(`${server.baseUrl}/watch?stream=${STREAM}`);
      await watch.waitForSelector('body[data-state="playing"]', { timeout: 30_000 });
      await expect.poll(() => watch.locator(`${PLAYER} .unmute`).isVisible()).toBe(true);
      expect(await watch.evaluate(() => (window as unknown as { swarmcast: { stats(): { muted: boolean } } }).swarmcast.stats().muted)).toBe(true);
    } finally {
      await strict.close();
    }
  });
});
