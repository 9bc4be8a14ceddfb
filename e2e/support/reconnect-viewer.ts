// What the reconnect suites record in a page while its publisher drops and comes back: every data-state the page's
// body takes, the stalls of a viewer's video, what the viewer fetched meanwhile, and the document's identity (a reload
// makes a new document, with a new performance.timeOrigin).
import type { Page } from 'playwright-core';

/** One thing a viewer did, on the page's performance clock: a fetch (playlist or part, when it ended) or a video event. */
export interface ViewerEvent {
  atMs: number;
  what: string;
}

export interface PageLog {
  /** Every data-state the page's body took after recording began, in order. */
  states: string[];
  /** Stalls of the viewer's video ('waiting' to 'playing'), on the page's performance clock, ms. */
  stalls: { startMs: number; endMs?: number }[];
  /** The viewer's fetches and video events (empty for a page without video). */
  events: ViewerEvent[];
  /** performance.timeOrigin of the document now: another than at recording's start means the page was reloaded. */
  timeOrigin: number;
}

/** Starts recording in `page` (on a viewer page, `video`: its player's video too); resolves to the document's timeOrigin. */
export function recordPage(page: Page, video: boolean): Promise<number> {
  return page.evaluate((withVideo) => {
    const log = { states: [] as string[], stalls: [] as { startMs: number; endMs?: number }[], events: [] as { atMs: number; what: string }[] };
    Object.assign(window, { reconnectLog: log });
    new MutationObserver(() => log.states.push(document.body.dataset['state'] ?? '')).observe(document.body, { attributes: true, attributeFilter: ['data-state'] });
    if (!withVideo) return performance.timeOrigin;
    const element = document.querySelector('swarmcast-player')!.shadowRoot!.querySelector('video')!;
    // Inline callbacks only: a named function here would carry tsx's `__name` helper, which the page does not have.
    for (const name of ['waiting', 'playing', 'seeking', 'seeked']) {
      element.addEventListener(name, () => {
        log.events.push({ atMs: Math.round(performance.now()), what: `${name} t=${element.currentTime.toFixed(2)}` });
        const last = log.stalls.at(-1);
        if (name === 'waiting' && (last === undefined || last.endMs !== undefined)) log.stalls.push({ startMs: performance.now() });
        if (name === 'playing' && last && last.endMs === undefined) last.endMs = performance.now();
      });
    }
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries() as PerformanceResourceTiming[]) {
        const path = new URL(entry.name).pathname.split('/').pop() ?? entry.name;
        if (/\.(m3u8|m4s|mp4)$/.test(path)) log.events.push({ atMs: Math.round(entry.responseEnd), what: `got ${path}${new URL(entry.name).search} in ${Math.round(entry.duration)} ms` });
      }
    }).observe({ type: 'resource' });
    return performance.timeOrigin;
  }, video);
}

/** The log recorded since recordPage; its states and stalls are empty when the page was reloaded meanwhile. */
export function pageLog(page: Page): Promise<PageLog> {
  return page.evaluate(() => {
    const log = (window as unknown as { reconnectLog?: Omit<PageLog, 'timeOrigin'> }).reconnectLog ?? { states: [], stalls: [], events: [] };
    return { ...log, events: [...log.events].sort((a, b) => a.atMs - b.atMs), timeOrigin: performance.timeOrigin };
  });
}

/** Each stall's length, ms; null for one still under way. */
export const stallLengths = (log: PageLog): (number | null)[] => log.stalls.map((s) => (s.endMs === undefined ? null : Math.round(s.endMs - s.startMs)));

/** What the viewer did from `fromMs` to `toMs` (page clock), one line each: for a report when a stall is too long. */
export function eventsBetween(log: PageLog, fromMs: number, toMs: number): string {
  return log.events
    .filter((e) => e.atMs >= fromMs && e.atMs <= toMs)
    .map((e) => `${e.atMs} ms: ${e.what}`)
    .join('\n');
}
