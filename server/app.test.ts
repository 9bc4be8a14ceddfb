// The origin role's wiring, in process: a published stream reaches the origin through a packager, and a message the packager refuses drops only that publisher.
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { connectPeer, type PublisherPeer } from '../e2e/support/datachannel-peer.ts';
import { createApp, type App } from './app.ts';
import { loadConfig } from './config.ts';

let app: App;
let baseUrl: string;
let logLines: string[];
const peers: PublisherPeer[] = [];
/** Publish requests answered 201, offers made again included. */
let admitted = 0;

beforeEach(async () => {
  logLines = [];
  admitted = 0;
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    logLines.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  });
  app = createApp(loadConfig({ HOST: '127.0.0.1', PORT: '0' }));
  await new Promise<void>((done) => app.server.listen(0, '127.0.0.1', done));
  baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  for (const peer of peers.splice(0)) peer.close();
  await app.close();
  vi.restoreAllMocks();
});

async function publish(name: string): Promise<PublisherPeer> {
  const peer = await connectPeer(`app-test-${name}`, async (offerSdp) => {
    const res = await fetch(`${baseUrl}/api/publish/${name}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/sdp' },
      body: offerSdp,
    });
    const answerSdp = await res.text();
    expect(res.status, answerSdp).toBe(201);
    admitted++;
    return {
      answerSdp,
      release: async () => {
        await fetch(new URL(res.headers.get('Location')!, baseUrl), { method: 'DELETE' });
      },
    };
  });
  peers.push(peer);
  return peer;
}

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line?.split(' ')[1]);
}

describe('ingest → packager → origin', () => {
  it('drops a publisher whose messages the packager refuses, with the packager’s reason, and keeps the other stream live', async () => {
    const good = await publish('steady');
    const bad = await publish('chunkfirst');
    good.send({ type: 'clock', timestampUs: 0, wallClockMs: Date.now() });
    bad.send({ type: 'chunk', trackId: 0, keyframe: true, timestampUs: 0, durationUs: 0, data: new Uint8Array(4) });
    await bad.closed;
    const dropped = logLines.find((line) => /WARN publish\.dropped stream=chunkfirst .*reason=protocol-error/.test(line));
    expect(dropped).toMatch(/detail=.*no-clock/);
    expect(await metric('swarmcast_publishers_dropped_total')).toBe(1);
    expect(await metric('swarmcast_live_streams')).toBe(1);
    expect(good.channel.isOpen()).toBe(true);
  });

  it('attaches each published stream to the origin and ends it when the publisher sends end', async () => {
    const peer = await publish('short');
    const playlist = await fetch(`${baseUrl}/live/short/index.m3u8`);
    expect(playlist.status).toBe(404);
    expect(await playlist.text()).toMatch(/^stream short has no media yet/);
    peer.send({ type: 'end' });
    await peer.closed;
    await vi.waitFor(() => expect(logLines.some((line) => /INFO publish\.ended stream=short .*reason=publisher-ended/.test(line))).toBe(true));
    expect(await metric('swarmcast_live_streams')).toBe(0);
    expect(await metric('swarmcast_publishes_total')).toBe(admitted);
  });
});

describe('the transcoding status API', () => {
  it('answers only METRICS_TOKEN, like /metrics, and a stream it does not know as short plain text', async () => {
    const token = 'operator-token-0123456789';
    const guarded = createApp(loadConfig({ HOST: '127.0.0.1', PORT: '0', METRICS_TOKEN: token }));
    await new Promise<void>((done) => guarded.server.listen(0, '127.0.0.1', done));
    try {
      const url = `http://127.0.0.1:${(guarded.server.address() as AddressInfo).port}/api/streams/cam/transcode`;
      const refused = await fetch(url);
      expect(refused.status).toBe(401);
      expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(await refused.text()).toMatch(/METRICS_TOKEN/);
      expect((await fetch(url, { headers: { authorization: 'Bearer not-the-token-0123456' } })).status).toBe(401);
      const unknown = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
      expect(unknown.status).toBe(404);
      expect(unknown.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(await unknown.text()).toMatch(/^stream not transcoded/);
    } finally {
      await guarded.close();
    }
  });
});
