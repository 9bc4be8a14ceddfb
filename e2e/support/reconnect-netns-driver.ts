// Run inside a fresh network namespace (`unshare -n`, namespace A): a Chromium broadcaster in namespace B reaches the
// server in A through a router namespace R; the router's link towards A goes down (a network drop: nothing reaches
// either side) until the broadcaster notices, then comes back up. A Chromium viewer next to the server watches
// throughout. Prints one `RESULT {json}` line for e2e/broadcaster-reconnect.test.ts. With the argument `stop`, the
// broadcaster's Stop is pressed while it reconnects instead, and the link comes back once the server keeps the stream
// in its grace period: the stream must end then, not at the grace period's end.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page, Request } from 'playwright-core';
import type { BroadcasterStats } from '../../client/broadcaster/index.ts';
import { launchChromium } from './browser.ts';
import { mediaPlaylistUrl } from './live-hls.ts';
import { pollUntil } from './poll.ts';
import { holdNamespace, inNs, launchInB, link, linkNames } from './netns-topology.ts';
import type { ReconnectResult, StopResult } from './reconnect-netns.ts';
import { pageLog, recordPage } from './reconnect-viewer.ts';
import { startServer, type RunningServer } from './server.ts';
import { NAMESPACE_LINE, ROUTER_SERVER_VETH, SERVER_ADDRESS } from './uplink-netns.ts';

const STREAM = 'comeback';
const LIVE_TIMEOUT_MS = 30_000;
/** The broadcaster notices a dead link within its ICE checks plus DISCONNECTED_LOSS_MS (client/broadcaster/publisher.ts). */
const NOTICE_TIMEOUT_MS = 30_000;
/** The page renders its stats about once a second: its notice follows the stats within this. */
const NOTICE_SHOWN_MS = 3_000;
const RECONNECT_TIMEOUT_MS = 20_000;
/** The stop scenario's grace period: long enough that a stream ending by it is plainly not ended by the Stop. */
const STOP_GRACE_MS = 30_000;
/** Media the viewer must play after the broadcaster reconnected. */
const PLAY_AFTER_S = 4;

type Stats = Pick<BroadcasterStats, 'state' | 'reconnecting' | 'reconnects' | 'error'>;

const broadcasterStats = (page: Page): Promise<Stats> =>
  page.evaluate(() => (window as unknown as { swarmcast: { stats(): Stats } }).swarmcast.stats());
const viewerTime = (page: Page): Promise<{ state: string; currentTime: number }> =>
  page.evaluate(() => (window as unknown as { swarmcast: { stats(): { state: string; currentTime: number } } }).swarmcast.stats());

/** The scenario's world: the server, the broadcaster live on one rung, the router's pid to cut the link with. */
interface Setup {
  server: RunningServer;
  port: string;
  rPid: number;
  linksBefore: string[];
  broadcaster: Page;
  viewBrowser: Browser;
}

/** Sets up the namespaces, the server and a live broadcaster in B, runs `scenario`, and takes everything down. */
async function withBroadcaster<T>(env: Record<string, string>, scenario: (setup: Setup) => Promise<T>): Promise<T> {
  const linksBefore = linkNames();
  // Refuse to touch a namespace that is not fresh: run on the host by mistake, this would add links to the machine.
  if (linksBefore.join() !== 'lo') throw new Error(`not a fresh network namespace (links: ${linksBefore.join(', ')}); run me under unshare -n`);
  const holders = [await holdNamespace(), await holdNamespace()];
  const [rPid, bPid] = holders.map((h) => h.pid!) as [number, number];
  process.stdout.write(`${NAMESPACE_LINE}${rPid}\n${NAMESPACE_LINE}${bPid}\n`);
  const dir = mkdtempSync(join(tmpdir(), 'swarmcast-reconnect-'));
  let server: RunningServer | undefined;
  const browsers: Browser[] = [];
  try {
    link(rPid, bPid);
    server = await startServer({ HOST: '0.0.0.0', PUBLISH_AUTH: 'off', ICE_BIND_ADDRESS: SERVER_ADDRESS, ...env });
    const port = new URL(server.baseUrl).port;
    const origin = `http://${SERVER_ADDRESS}:${port}`;
    const castBrowser = await launchInB(bPid, dir, origin);
    browsers.push(castBrowser);
    const viewBrowser = await launchChromium();
    browsers.push(viewBrowser);

    const broadcaster = await (await castBrowser.newContext()).newPage();
    const startedAt = Date.now();
    broadcaster.on('console', (message) => {
      if (message.text().startsWith('swarmcast:')) process.stderr.write(`${Date.now() - startedAt} ms: ${message.text()}\n`);
    });
    // One rung keeps the machine's two cores for the viewer and the servers.
    await broadcaster.goto(`${origin}/broadcast?stream=${STREAM}&source=test&autostart=1&ladder=480p`);
    await broadcaster.waitForSelector('body[data-state="live"]', { timeout: LIVE_TIMEOUT_MS });
    return await scenario({ server, port, rPid, linksBefore, broadcaster, viewBrowser });
  } finally {
    for (const browser of browsers) await browser.close().catch((err: unknown) => process.stderr.write(`closing a browser failed: ${String(err)}\n`));
    await server?.stop();
    for (const holder of holders) holder.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

const setLink = (rPid: number, state: 'up' | 'down'): string => inNs(rPid, 'ip', 'link', 'set', ROUTER_SERVER_VETH, state);

/** The link drops while a viewer watches, comes back once the broadcaster noticed, and the broadcaster reconnects. */
function reconnect(): Promise<ReconnectResult> {
  return withBroadcaster({}, async ({ server, port, rPid, linksBefore, broadcaster, viewBrowser }) => {
    const viewer = await (await viewBrowser.newContext()).newPage();
    await viewer.goto(`http://localhost:${port}/watch?stream=${STREAM}`);
    await pollUntil(() => viewerTime(viewer), (v) => v.state === 'playing' && v.currentTime > 3, LIVE_TIMEOUT_MS, 'the viewer playing');
    const [broadcasterOrigin, viewerOrigin] = await Promise.all([recordPage(broadcaster, false), recordPage(viewer, true)]);

    setLink(rPid, 'down');
    const cutAt = Date.now();
    await pollUntil(() => broadcasterStats(broadcaster), (s) => s.reconnecting || s.state !== 'live', NOTICE_TIMEOUT_MS, 'the broadcaster noticing the drop');
    const noticedAfterMs = Date.now() - cutAt;
    // What the broadcaster reads meanwhile: the page's reconnecting notice.
    const noticeShown = await broadcaster.waitForSelector('#reconnecting', { state: 'visible', timeout: NOTICE_SHOWN_MS }).then(() => true, () => false);
    setLink(rPid, 'up');
    const restoredAt = Date.now();
    const back = await pollUntil(() => broadcasterStats(broadcaster), (s) => (s.reconnects >= 1 && !s.reconnecting) || s.state !== 'live', RECONNECT_TIMEOUT_MS, 'the broadcaster reconnected');
    const reconnectedAfterMs = Date.now() - restoredAt;
    const noticeAfter = await broadcaster.waitForSelector('#reconnecting', { state: 'hidden', timeout: NOTICE_SHOWN_MS }).then(() => false, () => true);
    const atReconnect = await viewerTime(viewer);
    await pollUntil(() => viewerTime(viewer), (v) => v.currentTime >= atReconnect.currentTime + PLAY_AFTER_S || v.state !== 'playing', (PLAY_AFTER_S / 0.5) * 1000 + 15_000, 'the viewer playing on');
    const playlistUrl = await mediaPlaylistUrl(`http://localhost:${port}`, STREAM);
    const playlist = await (await fetch(playlistUrl)).text();
    return {
      linksBefore,
      noticedAfterMs,
      reconnectedAfterMs,
      notice: { whileLost: noticeShown, afterReconnect: noticeAfter },
      broadcaster: { ...back, log: await pageLog(broadcaster), timeOriginBefore: broadcasterOrigin },
      viewer: { ...(await viewerTime(viewer)), atReconnect: atReconnect.currentTime, log: await pageLog(viewer), timeOriginBefore: viewerOrigin },
      playlist,
      serverLog: server.logLines.filter((line) => /publish\.|origin\./.test(line)),
    };
  });
}

/**
 * The link drops; the user presses Stop while the page reconnects, with the server out of reach; the link comes back
 * once the server keeps the stream in its grace period (it saw the drop). Nothing the page sent could arrive before.
 */
function stopWhileDown(): Promise<StopResult> {
  return withBroadcaster({ PUBLISH_GRACE_MS: String(STOP_GRACE_MS) }, async ({ server, port, rPid, broadcaster }) => {
    const playlistUrl = await mediaPlaylistUrl(`http://localhost:${port}`, STREAM, LIVE_TIMEOUT_MS);
    // The page's requests to the publish API, to tell what reached the server when.
    const requests: string[] = [];
    const startedAt = Date.now();
    const note = (what: string, request: Request): void => {
      if (request.url().includes('/api/publish/')) requests.push(`${Date.now() - startedAt} ms: ${what} ${request.method()} ${new URL(request.url()).pathname}${new URL(request.url()).search}`);
    };
    broadcaster.on('request', (request) => note('sent', request));
    broadcaster.on('requestfailed', (request) => note(`failed (${request.failure()?.errorText ?? ''})`, request));
    broadcaster.on('requestfinished', (request) => note('answered', request));
    setLink(rPid, 'down');
    requests.push(`${Date.now() - startedAt} ms: link down`);
    await pollUntil(() => broadcasterStats(broadcaster), (s) => s.reconnecting || s.state !== 'live', NOTICE_TIMEOUT_MS, 'the broadcaster noticing the drop');
    const pressedAt = Date.now();
    requests.push(`${Date.now() - startedAt} ms: Stop`);
    await broadcaster.click('#golive');
    await broadcaster.waitForSelector('body[data-state="idle"]', { timeout: NOTICE_SHOWN_MS });
    const idleAfterMs = Date.now() - pressedAt;
    await server.waitForLog(new RegExp(`publish\\.grace stream=${STREAM} `), NOTICE_TIMEOUT_MS);
    const graceAt = Date.now();
    const playlistWhileDown = await (await fetch(playlistUrl)).text();
    setLink(rPid, 'up');
    requests.push(`${Date.now() - startedAt} ms: link up`);
    const restoredAt = Date.now();
    const ended = await pollUntil(() => fetch(playlistUrl).then((r) => r.text()), (text) => text.includes('#EXT-X-ENDLIST'), STOP_GRACE_MS + 10_000, 'EXT-X-ENDLIST');
    return {
      idleAfterMs,
      endedWhileDown: playlistWhileDown.includes('#EXT-X-ENDLIST'),
      endedAfterLinkUpMs: Date.now() - restoredAt,
      endedAfterGraceBeganMs: Date.now() - graceAt,
      graceMs: STOP_GRACE_MS,
      requests,
      playlist: ended,
      serverLog: server.logLines.filter((line) => /publish\.|origin\./.test(line)),
    };
  });
}

const run = (): Promise<ReconnectResult | StopResult> => (process.argv[2] === 'stop' ? stopWhileDown() : reconnect());

run().then(
  (result) => {
    process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
    process.exit(0);
  },
  (err: unknown) => {
    process.stderr.write(`reconnect-netns-driver: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
