// The built-in edge in front of a real origin: a real broadcaster publishes to the origin, a real viewer plays through
// the edge, and identical blocking playlist and hinted part requests reach the origin once.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { liveThroughEdge, type LiveThroughEdge } from './support/edge-fixture.ts';
import { mediaPlaylistUrl, preloadHintOf, rawGet } from './support/live-hls.ts';
import { readMetric } from './support/metrics.ts';
import { watchFor } from './support/pages.ts';
import type { RunningServer } from './support/server.ts';

const STREAM = 'edge-e2e';
let origin: RunningServer;
let edge: RunningServer;
let browser: Browser;
let live: LiveThroughEdge | undefined;

beforeAll(async () => {
  live = await liveThroughEdge(STREAM);
  ({ origin, edge, browser } = live);
}, 40_000);

afterAll(async () => {
  await live?.close();
});

const upstreamCount = (kind: string): Promise<number> => readMetric(edge.baseUrl, 'swarmcast_edge_upstream_requests_total', { kind });

describe('built-in edge (ROLE=edge)', () => {
  it('answers /healthz as an edge with a healthy upstream and refuses publishing with a reason', async () => {
    const health = (await (await fetch(`${edge.baseUrl}/healthz`)).json()) as { role: string; status: string; upstreams: { url: string; healthy: boolean }[] };
    expect(health.role).toBe('edge');
    expect(health.status).toBe('ok');
    expect(health.upstreams).toEqual([expect.objectContaining({ url: origin.baseUrl, healthy: true })]);
    const publish = await fetch(`${edge.baseUrl}/api/publish/${STREAM}`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: 'v=0\r\n' });
    expect(publish.status).toBe(404);
    expect(await publish.text()).toMatch(/publish to the origin/);
  });

  it('plays the stream through the edge for 10 s, every /live/ request served by the edge from its cache or one upstream fetch', async () => {
    const viewer: Page = await (await browser.newContext()).newPage();
    onTestFinished(() => viewer.context().close());
    const liveHosts = new Set<string>();
    viewer.on('request', (request) => {
      const url = new URL(request.url());
      if (url.pathname.startsWith('/live/')) liveHosts.add(url.host);
    });
    await viewer.goto(`${edge.baseUrl}/watch?stream=${STREAM}`);
    await viewer.waitForSelector('body[data-state="playing"]', { timeout: 30_000 });
    const { first, last } = await watchFor(viewer, 10);
    expect(last.decodedFrames - first.decodedFrames).toBeGreaterThan(200);
    expect([...liveHosts]).toEqual([new URL(edge.baseUrl).host]);
    expect(await upstreamCount('part')).toBeGreaterThan(20);
    expect(await readMetric(edge.baseUrl, 'swarmcast_edge_bytes_out_total')).toBeGreaterThan(100_000);
  }, 60_000);

  it('sends 40 concurrent identical blocking playlist requests upstream once and answers all of them alike', async () => {
    const playlistUrl = await mediaPlaylistUrl(edge.baseUrl, STREAM);
    const current = preloadHintOf(await (await fetch(playlistUrl)).text(), playlistUrl);
    expect(current).not.toBeNull();
    // The closed viewer may already have asked for the current hint; the part after it is new to the edge.
    const next = await rawGet(`${playlistUrl}?_HLS_msn=${current!.msn}&_HLS_part=${current!.part}`);
    const hint = preloadHintOf(next.body.toString(), playlistUrl);
    expect(hint).not.toBeNull();
    const before = await upstreamCount('playlist');
    const blockingUrl = `${playlistUrl}?_HLS_msn=${hint!.msn}&_HLS_part=${hint!.part}`;
    const answers = await Promise.all(Array.from({ length: 40 }, () => rawGet(blockingUrl)));
    expect(await upstreamCount('playlist')).toBe(before + 1);
    const body = answers[0]!.body.toString();
    expect(body).toContain(hint!.url.slice(hint!.url.lastIndexOf('/') + 1));
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(answer.body.toString()).toBe(body);
    }
  });

  it('shares one upstream request among 20 concurrent requests for the hinted part, all getting the origin\'s bytes', async () => {
    const playlistUrl = await mediaPlaylistUrl(edge.baseUrl, STREAM);
    const current = preloadHintOf(await (await fetch(playlistUrl)).text(), playlistUrl);
    expect(current).not.toBeNull();
    // The playlist that arrives when the current hint lands hints a part the origin has not produced yet, so it is held.
    const blockingUrl = `${playlistUrl}?_HLS_msn=${current!.msn}&_HLS_part=${current!.part}`;
    const hint = preloadHintOf((await rawGet(blockingUrl)).body.toString(), playlistUrl);
    expect(hint).not.toBeNull();
    const count = (name: string): Promise<number> => readMetric(edge.baseUrl, name, { kind: 'part' });
    const before = await upstreamCount('part');
    const collapsedBefore = await count('swarmcast_edge_collapsed_requests_total');
    const hitsBefore = await count('swarmcast_edge_cache_hits_total');
    const answers = await Promise.all(Array.from({ length: 20 }, () => rawGet(hint!.url)));
    expect(await upstreamCount('part')).toBe(before + 1);
    const collapsed = (await count('swarmcast_edge_collapsed_requests_total')) - collapsedBefore;
    const hits = (await count('swarmcast_edge_cache_hits_total')) - hitsBefore;
    expect(collapsed + hits).toBe(19);
    expect(collapsed).toBeGreaterThanOrEqual(10);
    const fromOrigin = await rawGet(hint!.url.replace(edge.baseUrl, origin.baseUrl));
    expect(fromOrigin.status).toBe(200);
    expect(fromOrigin.body.byteLength).toBeGreaterThan(100);
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(answer.headers['content-type']).toBe('video/mp4');
      expect(answer.body.equals(fromOrigin.body)).toBe(true);
    }
  });
});
