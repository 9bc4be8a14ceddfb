// The tracker over real WebSockets on 127.0.0.1, with the origin's own state behind it: bittorrent-tracker's Client and
// raw ws clients announce; admission, bounds, relaying, pruning and metrics are read from what they get back.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createApp, type App } from '../../app.ts';
import { loadConfig } from '../../config.ts';
import { Origin, registerOriginRoutes } from '../../origin/index.ts';
import { FakePackager, PARTS_PER_SEGMENT } from '../../origin/test/fake-packager.ts';
import { Tracker, TRACKER_PATH } from '../index.ts';
import { TRACKER_DEFAULTS, type TrackerConfig } from '../config.ts';
import findMyWay from 'find-my-way';
import { pollUntil } from '../../../e2e/support/poll.ts';
import { announce, libraryInfoHash, type AnnounceOutcome } from '../../../e2e/support/tracker-client.ts';

interface Harness {
  origin: Origin;
  tracker: Tracker;
  baseUrl: string;
  trackerUrl: string;
  packager: FakePackager;
  close(): Promise<void>;
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** An origin serving the fake stream `cam` over HTTP, with the tracker on its /tracker upgrade. */
async function startOrigin(config: Partial<TrackerConfig> = {}): Promise<Harness> {
  const origin = new Origin();
  const packager = new FakePackager('v0');
  origin.attach('cam', packager);
  packager.sendInit();
  packager.sendParts(PARTS_PER_SEGMENT + 1);
  const tracker = new Tracker({ directory: origin, ...config });
  const router = findMyWay();
  registerOriginRoutes(router, origin);
  const server = http.createServer((req, res) => router.lookup(req, res));
  server.on('upgrade', (req, socket, head) => tracker.handleUpgrade(req, socket, head));
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const harness: Harness = {
    origin,
    tracker,
    packager,
    baseUrl,
    trackerUrl: `${baseUrl.replace('http:', 'ws:')}${TRACKER_PATH}`,
    close: async () => {
      tracker.close();
      origin.close();
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
  cleanups.push(harness.close);
  return harness;
}

/** Announces with bittorrent-tracker's Client; it leaves when the test ends. */
async function announceWithClient(trackerUrl: string, infoHash: string, peerId = '-SC0001-' + 'a'.repeat(12)): Promise<AnnounceOutcome> {
  const announced = await announce(trackerUrl, infoHash, peerId);
  cleanups.push(announced.close);
  return announced.outcome;
}

/** A raw WebSocket to the tracker that collects the JSON messages it receives. */
async function openSocket(url: string): Promise<{ ws: WebSocket; messages: Array<Record<string, unknown>> }> {
  const ws = new WebSocket(url);
  cleanups.push(() => discard(ws));
  const messages: Array<Record<string, unknown>> = [];
  ws.on('message', (data) => messages.push(JSON.parse(String(data)) as Record<string, unknown>));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, messages };
}

/** Cuts a client socket in whatever state it is (one refused in its handshake reports that as an error, expected here). */
function discard(ws: WebSocket): void {
  ws.on('error', () => undefined);
  if (ws.readyState !== WebSocket.CLOSED) ws.terminate();
}

function announceMessage(infoHash: string, peerId: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ action: 'announce', info_hash: infoHash, peer_id: peerId, event: 'started', numwant: 0, left: 1, ...extra });
}

async function metric(tracker: Tracker, name: string, labels = ''): Promise<number> {
  const text = await tracker.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `) || (labels === '' && l.startsWith(`${name} `)));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('admission', () => {
  it("admits the info hash p2p-media-loader derives from the origin's multivariant playlist, and refuses an unknown one", async () => {
    const h = await startOrigin();
    const infoHash = await libraryInfoHash(h.baseUrl, 'cam', 'v0');
    expect(await announceWithClient(h.trackerUrl, infoHash)).toEqual({ kind: 'update', complete: 0, incomplete: 1 });
    expect(await announceWithClient(h.trackerUrl, 'x'.repeat(20), '-SC0001-' + 'b'.repeat(12))).toEqual({
      kind: 'warning',
      message: 'unknown info hash: not a variant of a live stream',
    });
    expect(await metric(h.tracker, 'swarmcast_tracker_announces_total')).toBe(1);
    expect(await metric(h.tracker, 'swarmcast_tracker_rejected_total', '{reason="unknown-swarm"}')).toBe(1);
    expect(await metric(h.tracker, 'swarmcast_tracker_swarms')).toBe(1);
    expect(await metric(h.tracker, 'swarmcast_tracker_peers')).toBe(1);
  });

  it('keeps admitting the swarm of an earlier BANDWIDTH after the origin republishes it, and none once the stream is gone', async () => {
    const h = await startOrigin();
    const packager = new FakePackager('v0');
    h.origin.attach('news', packager);
    packager.sendInit();
    packager.sendPart();
    // Before a segment completes the playlist states the declared rate; the first measurement is far from it.
    const declared = await libraryInfoHash(h.baseUrl, 'news', 'v0');
    packager.sendParts(PARTS_PER_SEGMENT);
    const measured = await libraryInfoHash(h.baseUrl, 'news', 'v0');
    expect(measured).not.toBe(declared);
    expect((await announceWithClient(h.trackerUrl, declared)).kind).toBe('update');
    expect((await announceWithClient(h.trackerUrl, measured, '-SC0001-' + 'e'.repeat(12))).kind).toBe('update');
    h.origin.detach('news');
    expect(await announceWithClient(h.trackerUrl, measured, '-SC0001-' + 'c'.repeat(12))).toMatchObject({ kind: 'warning', message: /unknown info hash/ });
  });
});

describe('one swarm per rendition', () => {
  it('puts viewers who read the BANDWIDTH declared at go-live and the one measured later in one swarm, each addressed by its own info hash', async () => {
    const h = await startOrigin();
    const packager = new FakePackager('v0');
    h.origin.attach('news', packager);
    packager.sendInit();
    packager.sendPart();
    // A waiting audience reads the multivariant playlist at go-live, with the publisher's declared rate ...
    const declared = await libraryInfoHash(h.baseUrl, 'news', 'v0');
    packager.sendParts(PARTS_PER_SEGMENT);
    // ... and a later viewer with the rate measured from the first segment: another info hash for the same media.
    const measured = await libraryInfoHash(h.baseUrl, 'news', 'v0');
    expect(measured).not.toBe(declared);
    const early = await openSocket(h.trackerUrl);
    early.ws.send(announceMessage(declared, 'a'.repeat(20)));
    await pollUntil(async () => early.messages.length, (n) => n === 1, 2_000, 'the early viewer joined');
    expect(early.messages[0]).toMatchObject({ action: 'announce', info_hash: declared, incomplete: 1 });
    const late = await openSocket(h.trackerUrl);
    const offer = { type: 'offer', sdp: 'v=0 (not used: no connection is made)' };
    late.ws.send(announceMessage(measured, 'b'.repeat(20), { numwant: 1, offers: [{ offer, offer_id: 'o'.repeat(20) }] }));
    await pollUntil(async () => late.messages.length, (n) => n === 1, 2_000, 'the late viewer joined');
    // The late viewer is told of two peers, under the hash it announced (its client drops a message for another hash) ...
    expect(late.messages[0]).toMatchObject({ action: 'announce', info_hash: measured, incomplete: 2 });
    // ... its offer reaches the early viewer under the early viewer's own hash, and the answer comes back under the late one's.
    await pollUntil(async () => early.messages.length, (n) => n === 2, 2_000, 'offer relayed to the early viewer');
    expect(early.messages[1]).toMatchObject({ offer, offer_id: 'o'.repeat(20), peer_id: 'b'.repeat(20), info_hash: declared });
    early.ws.send(JSON.stringify({ action: 'announce', info_hash: declared, peer_id: 'a'.repeat(20), to_peer_id: 'b'.repeat(20), answer: { type: 'answer', sdp: 'v=0' }, offer_id: 'o'.repeat(20) }));
    await pollUntil(async () => late.messages.find((m) => m.answer !== undefined), (m) => m !== undefined, 2_000, 'answer relayed to the late viewer');
    expect(late.messages.find((m) => m.answer !== undefined)).toMatchObject({ peer_id: 'a'.repeat(20), info_hash: measured });
    expect(await metric(h.tracker, 'swarmcast_tracker_swarms')).toBe(1);
    expect(await metric(h.tracker, 'swarmcast_tracker_peers')).toBe(2);
    // bittorrent-tracker's own client (what players run) announcing the declared hash is counted in the same swarm.
    expect(await announceWithClient(h.trackerUrl, declared, '-SC0001-' + 'f'.repeat(12))).toEqual({ kind: 'update', complete: 0, incomplete: 3 });
    // Another stream's rendition is a swarm of its own.
    expect(await announceWithClient(h.trackerUrl, await libraryInfoHash(h.baseUrl, 'cam', 'v0'), '-SC0001-' + 'g'.repeat(12))).toEqual({ kind: 'update', complete: 0, incomplete: 1 });
    expect(await metric(h.tracker, 'swarmcast_tracker_swarms')).toBe(2);
  });

  it('keeps a second info hash of the rendition on one connection (two players on a page) in a swarm of its own, each answered under its hash', async () => {
    const h = await startOrigin();
    const packager = new FakePackager('v0');
    h.origin.attach('news', packager);
    packager.sendInit();
    packager.sendPart();
    const declared = await libraryInfoHash(h.baseUrl, 'news', 'v0');
    packager.sendParts(PARTS_PER_SEGMENT);
    const measured = await libraryInfoHash(h.baseUrl, 'news', 'v0');
    const page = await openSocket(h.trackerUrl);
    page.ws.send(announceMessage(declared, 'a'.repeat(20)));
    await pollUntil(async () => page.messages.length, (n) => n === 1, 2_000, 'first player joined');
    page.ws.send(announceMessage(measured, 'b'.repeat(20)));
    await pollUntil(async () => page.messages.length, (n) => n === 2, 2_000, 'second player joined');
    // What the tracker sends this connection about the rendition's swarm could not say which player it is for.
    expect(page.messages.map((m) => [m.info_hash, m.incomplete])).toEqual([
      [declared, 1],
      [measured, 1],
    ]);
    expect(await metric(h.tracker, 'swarmcast_tracker_swarms')).toBe(2);
    // Once the first player left, the connection's next player of the rendition joins the rendition's swarm, where a
    // viewer on another connection who read the declared rate meets it.
    page.ws.send(announceMessage(declared, 'a'.repeat(20), { event: 'stopped' }));
    await pollUntil(async () => page.messages.length, (n) => n === 3, 2_000, 'first player left');
    page.ws.send(announceMessage(measured, 'd'.repeat(20)));
    await pollUntil(async () => page.messages.length, (n) => n === 4, 2_000, 'third player joined');
    const other = await openSocket(h.trackerUrl);
    other.ws.send(announceMessage(declared, 'c'.repeat(20)));
    await pollUntil(async () => other.messages.length, (n) => n === 1, 2_000, 'a viewer on another connection joined');
    expect(other.messages[0]).toMatchObject({ info_hash: declared, incomplete: 2 });
  });
});

describe('bounds', () => {
  it('closes a connection that sends a message over the size limit (1009)', async () => {
    const h = await startOrigin({ maxMessageBytes: 4_096 });
    const { ws } = await openSocket(h.trackerUrl);
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.send(announceMessage('x'.repeat(20), 'p'.repeat(20), { padding: 'z'.repeat(5_000) }));
    expect(await closed).toBe(1009);
    await pollUntil(() => metric(h.tracker, 'swarmcast_tracker_rejected_total', '{reason="oversize"}'), (n) => n === 1, 2_000, 'oversize counted');
  });

  it('answers announces beyond the rate with a failure reason', async () => {
    const h = await startOrigin({ announceBurst: 3, announcesPerSecond: 0.01 });
    const infoHash = await libraryInfoHash(h.baseUrl, 'cam', 'v0');
    const { ws, messages } = await openSocket(h.trackerUrl);
    for (let i = 0; i < 5; i++) ws.send(announceMessage(infoHash, 'p'.repeat(20), { event: i === 0 ? 'started' : 'update' }));
    await pollUntil(async () => messages.length, (n) => n === 5, 2_000, 'five answers');
    // Refusals are answered before the admitted announces (those wait on the admission check), so compare as sets.
    expect(messages.map((m) => m['failure reason'] ?? 'ok').sort()).toEqual(['ok', 'ok', 'ok', 'too many announces on this connection: slow down', 'too many announces on this connection: slow down']);
    expect(await metric(h.tracker, 'swarmcast_tracker_rejected_total', '{reason="rate-limited"}')).toBe(2);
  });

  it('refuses a new peer in a full swarm, and a connection in too many swarms', async () => {
    const h = await startOrigin({ maxPeersPerSwarm: 1, maxMembershipsPerConnection: 1 });
    const infoHash = await libraryInfoHash(h.baseUrl, 'cam', 'v0');
    const first = await openSocket(h.trackerUrl);
    first.ws.send(announceMessage(infoHash, 'p'.repeat(20)));
    await pollUntil(async () => first.messages.length, (n) => n === 1, 2_000, 'first answer');
    expect(first.messages[0]!['failure reason']).toBeUndefined();
    const second = await openSocket(h.trackerUrl);
    second.ws.send(announceMessage(infoHash, 'q'.repeat(20)));
    await pollUntil(async () => second.messages.length, (n) => n === 1, 2_000, 'second answer');
    expect(second.messages[0]!['failure reason']).toBe('swarm is full');
    // The same connection under a second peer id is a second membership.
    first.ws.send(announceMessage(infoHash, 'r'.repeat(20)));
    await pollUntil(async () => first.messages.length, (n) => n === 2, 2_000, 'third answer');
    expect(first.messages[1]!['failure reason']).toBe('this connection is in too many swarms');
  });

  it('answers an upgrade beyond the connection limit with 503, and a WebSocket elsewhere than /tracker is not taken', async () => {
    const h = await startOrigin({ maxConnections: 1 });
    await openSocket(h.trackerUrl);
    const refused = new WebSocket(h.trackerUrl);
    cleanups.push(() => discard(refused));
    const status = await new Promise<number | undefined>((resolve) => refused.once('unexpected-response', (_req, res) => resolve(res.statusCode)));
    expect(status).toBe(503);
    expect(await metric(h.tracker, 'swarmcast_tracker_rejected_total', '{reason="connections"}')).toBe(1);
  });
});

describe('relaying and pruning', () => {
  it('relays an offer to a peer of the swarm and its answer back, counts both, and prunes the swarm once empty', async () => {
    const h = await startOrigin();
    const infoHash = await libraryInfoHash(h.baseUrl, 'cam', 'v0');
    const a = await openSocket(h.trackerUrl);
    a.ws.send(announceMessage(infoHash, 'a'.repeat(20)));
    await pollUntil(async () => a.messages.length, (n) => n === 1, 2_000, 'a joined');
    // Players announce again (with fresh offers) every 10 s, not bittorrent-tracker's 2 minutes: a lost connection comes back soon.
    expect(a.messages[0]).toMatchObject({ action: 'announce', interval: TRACKER_DEFAULTS.announceIntervalMs / 1000 });
    const b = await openSocket(h.trackerUrl);
    const offer = { type: 'offer', sdp: 'v=0 (not used: no connection is made)' };
    b.ws.send(announceMessage(infoHash, 'b'.repeat(20), { numwant: 1, offers: [{ offer, offer_id: 'o'.repeat(20) }] }));
    await pollUntil(async () => a.messages.length, (n) => n === 2, 2_000, 'offer relayed to a');
    expect(a.messages[1]).toMatchObject({ offer, offer_id: 'o'.repeat(20), peer_id: 'b'.repeat(20) });
    a.ws.send(JSON.stringify({ action: 'announce', info_hash: infoHash, peer_id: 'a'.repeat(20), to_peer_id: 'b'.repeat(20), answer: { type: 'answer', sdp: 'v=0' }, offer_id: 'o'.repeat(20) }));
    await pollUntil(async () => b.messages.find((m) => m.answer !== undefined), (m) => m !== undefined, 2_000, 'answer relayed to b');
    expect(await metric(h.tracker, 'swarmcast_tracker_signals_relayed_total', '{kind="offer"}')).toBe(1);
    expect(await metric(h.tracker, 'swarmcast_tracker_signals_relayed_total', '{kind="answer"}')).toBe(1);

    expect(h.tracker.prune()).toBe(0);
    a.ws.close();
    b.ws.close();
    await pollUntil(() => metric(h.tracker, 'swarmcast_tracker_peers'), (n) => n === 0, 2_000, 'peers gone');
    expect(h.tracker.prune()).toBe(1);
    expect(await metric(h.tracker, 'swarmcast_tracker_swarms')).toBe(0);
    expect(await metric(h.tracker, 'swarmcast_tracker_swarms_pruned_total')).toBe(1);
  });
});

describe('in the server', () => {
  async function listen(app: App): Promise<string> {
    cleanups.push(() => app.close());
    await new Promise<void>((done) => app.server.listen(0, '127.0.0.1', done));
    return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  }

  it('origin role: /tracker takes WebSockets, /metrics counts them, /api/config gives the ICE servers, other upgrades get 404', async () => {
    const iceServers = [{ urls: 'stun:127.0.0.1:3478' }];
    const base = await listen(createApp(loadConfig({ ROLE: 'origin', ICE_SERVERS: JSON.stringify(iceServers) })));
    expect(await announceWithClient(`${base.replace('http:', 'ws:')}${TRACKER_PATH}`, 'x'.repeat(20))).toMatchObject({ kind: 'warning', message: /unknown info hash/ });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^swarmcast_tracker_rejected_total\{reason="unknown-swarm"\} 1$/m);
    expect(metrics).toMatch(/^swarmcast_tracker_swarms 0$/m);
    const config = await fetch(`${base}/api/config`);
    expect(config.headers.get('access-control-allow-origin')).toBe('*');
    expect(await config.json()).toEqual({ iceServers, whip: true });
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const elsewhere = new WebSocket(`${base.replace('http:', 'ws:')}/live/cam`);
    cleanups.push(() => discard(elsewhere));
    expect(await new Promise((resolve) => elsewhere.once('unexpected-response', (_req, res) => resolve(res.statusCode)))).toBe(404);
  });

  it("edge role: /tracker is relayed to the origin's tracker, where the viewer is admitted into the stream's swarm", async () => {
    const h = await startOrigin();
    const edgeBase = await listen(createApp(loadConfig({ ROLE: 'edge', ORIGIN_URL: h.baseUrl })));
    const infoHash = await libraryInfoHash(edgeBase, 'cam', 'v0');
    expect(await announceWithClient(`${edgeBase.replace('http:', 'ws:')}${TRACKER_PATH}`, infoHash)).toEqual({ kind: 'update', complete: 0, incomplete: 1 });
    expect(await announceWithClient(`${edgeBase.replace('http:', 'ws:')}${TRACKER_PATH}`, 'y'.repeat(20), '-SC0001-' + 'd'.repeat(12))).toMatchObject({ kind: 'warning' });
    expect(await metric(h.tracker, 'swarmcast_tracker_peers')).toBe(1);
    expect(await metric(h.tracker, 'swarmcast_tracker_swarms')).toBe(1);
    // bittorrent-tracker's clients share one socket per tracker URL.
    expect(await (await fetch(`${edgeBase}/metrics`)).text()).toMatch(/^swarmcast_edge_tracker_connections 1$/m);
  });

  it('edge role: digests.json is proxied with CORS and cached for its one-second lifetime', async () => {
    const h = await startOrigin();
    const edgeBase = await listen(createApp(loadConfig({ ROLE: 'edge', ORIGIN_URL: h.baseUrl })));
    const first = await fetch(`${edgeBase}/live/cam/v0/digests.json`);
    const second = await fetch(`${edgeBase}/live/cam/v0/digests.json`);
    expect(first.headers.get('access-control-allow-origin')).toBe('*');
    expect(first.headers.get('cache-control')).toBe('public, max-age=1');
    expect([first.headers.get('x-cache'), second.headers.get('x-cache')]).toEqual(['MISS', 'HIT']);
    const body = (await first.json()) as { segments: Record<string, string> };
    expect(await second.json()).toEqual(body);
    expect(body).toEqual(await (await fetch(`${h.baseUrl}/live/cam/v0/digests.json`)).json());
    expect(Object.keys(body.segments)).toHaveLength(1);
  });
});
