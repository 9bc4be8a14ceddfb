// Node side of the WHIP publisher page (publisher-page.ts): opens it in a browser and drives it with data, never code strings (the pages' CSP).
import type { Browser, Page } from 'playwright-core';
import type { PublisherSendStats, WhipPublisher } from './publisher-page.ts';

/**
 * A page of its own (fake camera and microphone, or a noise picture of `noise`'s size) whose WHIP client publishes to
 * `endpoint`; `result` resolves with the resource URL or rejects with the refusal.
 */
export async function openWhipPublisher(
  browser: Browser,
  viteUrl: string,
  endpoint: string,
  key: string | undefined,
  noise?: { width: number; height: number },
): Promise<{ page: Page; result: Promise<string> }> {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${viteUrl}/e2e/whip/publisher.html`);
  await page.waitForFunction(() => 'whip' in window);
  const result = page.evaluate(
    ([endpoint, bearer, picture]) => (window as unknown as { whip: WhipPublisher }).whip.start(endpoint, bearer ?? undefined, picture ?? undefined),
    [endpoint, key ?? null, noise ?? null] as const,
  );
  return { page, result };
}

export function whipSendStats(page: Page): Promise<PublisherSendStats> {
  return page.evaluate(() => (window as unknown as { whip: WhipPublisher }).whip.sendStats());
}

/** The client's DELETE of its resource. */
export function stopWhipPublisher(page: Page): Promise<void> {
  return page.evaluate(() => (window as unknown as { whip: WhipPublisher }).whip.stop());
}
