// Both roles answer CORS the same way from server/http: the preflight under /live/, and every reply (health, metrics,
// errors) carries the headers a player on another site needs.
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../app.ts';
import { DEFAULT_CONFIG, type ServerConfig } from '../../config.ts';

const apps: App[] = [];
let originUrl = '';
let edgeUrl = '';

async function start(config: ServerConfig): Promise<string> {
  const app = createApp(config);
  apps.push(app);
  await new Promise<void>((done) => app.server.listen(0, '127.0.0.1', done));
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  originUrl = await start({ ...structuredClone(DEFAULT_CONFIG), role: 'origin', port: 0 });
  edgeUrl = await start({ ...structuredClone(DEFAULT_CONFIG), role: 'edge', port: 0, originUrls: [originUrl] });
});

afterAll(async () => {
  for (const app of apps.reverse()) await app.close();
});

const CORS = ['access-control-allow-origin', 'access-control-expose-headers'];

function corsOf(res: Response): Record<string, string | null> {
  return Object.fromEntries(CORS.map((name) => [name, res.headers.get(name)]));
}

describe('CORS at origin and edge', () => {
  it('answers a /live/ preflight identically at origin and edge', async () => {
    const preflight = (base: string): Promise<Response> =>
      fetch(`${base}/live/demo/v0/media.m3u8`, { method: 'OPTIONS', headers: { Origin: 'https://player.example', 'Access-Control-Request-Method': 'GET' } });
    const [atOrigin, atEdge] = await Promise.all([preflight(originUrl), preflight(edgeUrl)]);
    for (const res of [atOrigin, atEdge]) {
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      expect(res.headers.get('access-control-allow-methods')).toBe('GET, HEAD');
    }
    expect(corsOf(atEdge)).toEqual(corsOf(atOrigin));
  });

  it('puts CORS on health, metrics and error replies of both roles', async () => {
    for (const base of [originUrl, edgeUrl]) {
      const replies = [
        await fetch(`${base}/healthz`),
        await fetch(`${base}/metrics`),
        await fetch(`${base}/live/nope/index.m3u8`),
        await fetch(`${base}/no-such-page`),
        await fetch(`${base}/no-such-page`, { method: 'DELETE' }),
      ];
      expect(replies.map((r) => r.status)).toEqual([200, 200, 404, 404, 405]);
      for (const res of replies) {
        expect(res.headers.get('access-control-allow-origin'), `${base} ${res.url}`).toBe('*');
        expect(res.headers.get('access-control-expose-headers'), `${base} ${res.url}`).toMatch(/\bETag\b/);
      }
    }
  });

  it('lets a publisher on another site preflight, read the publish answer and its Location, and see refusals', async () => {
    const preflight = await fetch(`${originUrl}/api/publish/demo`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://studio.example', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type, authorization' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
    expect(preflight.headers.get('access-control-allow-methods')).toBe('POST, DELETE');
    expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toBe('authorization, content-type');
    expect(preflight.headers.get('access-control-expose-headers')).toMatch(/\bLocation\b/);
    const refused = [
      await fetch(`${originUrl}/api/publish/demo`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: 'x' }),
      await fetch(`${originUrl}/api/publish/BAD NAME`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: 'v=0' }),
      await fetch(`${originUrl}/api/publish/demo/nosession`, { method: 'DELETE' }),
    ];
    expect(refused.map((r) => r.status)).toEqual([415, 400, 404]);
    for (const res of refused) expect(res.headers.get('access-control-allow-origin'), res.url).toBe('*');
  });
});
