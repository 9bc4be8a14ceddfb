// Hardening against the real server: a slowloris (hundreds of sockets trickling header bytes) is cut by the header
// timeout while a viewer keeps getting every part; the pages carry their security headers; /metrics needs its token.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEADERS_TIMEOUT_MS } from '../server/http/listener.ts';
import { mediaPlaylistUrl, preloadHintOf } from './support/live-hls.ts';
import { startNodePublisher, type NodePublisher } from './support/node-publisher.ts';
import { startServer, type RunningServer } from './support/server.ts';

const METRICS_TOKEN = 'e2e-metrics-token-0001';
const STREAM = 'hardening';
/** Sockets the slowloris holds open at once. */
const SLOW_SOCKETS = 256;
/** How often each slow socket sends one more header line. */
const TRICKLE_INTERVAL_MS = 1_000;

let server: RunningServer;
let publisher: NodePublisher;

beforeAll(async () => {
  server = await startServer({ METRICS_TOKEN });
  publisher = await startNodePublisher({ baseUrl: server.baseUrl, stream: STREAM, width: 640, height: 360, rendition: '360p', videoBitrate: 600_000 });
});

afterAll(async () => {
  await publisher?.stop();
  await server?.stop();
});

interface SlowSocket {
  openedAtMs: number;
  /** When the server closed it, or undefined while open. */
  closedAtMs?: number;
  /** What the server wrote before closing. */
  answer: string;
}

/** Opens `count` sockets that send a request line and then one header line per interval, never ending the head. */
function slowloris(port: number, count: number): { sockets: SlowSocket[]; stop(): void } {
  const sockets: SlowSocket[] = [];
  const raw: net.Socket[] = [];
  for (let i = 0; i < count; i++) {
    const slow: SlowSocket = { openedAtMs: performance.now(), answer: '' };
    const socket = net.connect(port, '127.0.0.1', () => socket.write(`GET /live/${STREAM}/index.m3u8 HTTP/1.1\r\nHost: 127.0.0.1\r\n`));
    socket.setEncoding('latin1');
    socket.on('data', (text: string) => (slow.answer += text));
    socket.on('error', () => undefined);
    socket.on('close', () => (slow.closedAtMs = performance.now()));
    sockets.push(slow);
    raw.push(socket);
  }
  const timer = setInterval(() => {
    for (const socket of raw) if (!socket.destroyed) socket.write(`X-Trickle: ${Date.now()}\r\n`);
  }, TRICKLE_INTERVAL_MS);
  return {
    sockets,
    stop: () => {
      clearInterval(timer);
      for (const socket of raw) socket.destroy();
    },
  };
}

/**
 * A viewer's loop: a blocking reload for the preload-hinted part, then that part, until `untilMs`; returns when each
 * part's bytes arrived (performance.now()).
 */
async function followParts(playlistUrl: string, untilMs: number): Promise<number[]> {
  const arrivals: number[] = [];
  let hint = preloadHintOf(await (await fetch(playlistUrl)).text(), playlistUrl);
  while (hint && performance.now() < untilMs) {
    const blocking = new URL(playlistUrl);
    blocking.searchParams.set('_HLS_msn', String(hint.msn));
    blocking.searchParams.set('_HLS_part', String(hint.part));
    const playlist = await fetch(blocking);
    expect(playlist.status).toBe(200);
    const next = preloadHintOf(await playlist.text(), playlistUrl);
    const part = await fetch(hint.url);
    expect(part.status).toBe(200);
    expect((await part.arrayBuffer()).byteLength).toBeGreaterThan(0);
    arrivals.push(performance.now());
    hint = next;
  }
  return arrivals;
}

describe('slow clients', () => {
  it('cuts a slowloris at the header timeout while a viewer keeps getting every part', async () => {
    const playlistUrl = await mediaPlaylistUrl(server.baseUrl, STREAM);
    const port = Number(new URL(server.baseUrl).port);
    const attack = slowloris(port, SLOW_SOCKETS);
    try {
      // The viewer runs for as long as the slow sockets are held, and a little after.
      const arrivals = await followParts(playlistUrl, performance.now() + HEADERS_TIMEOUT_MS + 2_000);
      const gaps = arrivals.slice(1).map((at, i) => at - arrivals[i]!);
      expect(arrivals.length).toBeGreaterThan((HEADERS_TIMEOUT_MS / 1000) * 3);
      expect(Math.max(...gaps)).toBeLessThan(2_000);
      // Every slow socket was closed by the server (not by the test), each within the header timeout and Node's check interval.
      const deadline = performance.now() + 5_000;
      while (attack.sockets.some((s) => s.closedAtMs === undefined) && performance.now() < deadline) {
        await new Promise((done) => setTimeout(done, 100));
      }
      const held = attack.sockets.map((s) => (s.closedAtMs ?? Infinity) - s.openedAtMs);
      expect(Math.max(...held)).toBeLessThan(HEADERS_TIMEOUT_MS + 3_000);
      expect(Math.min(...held)).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 500);
      expect(attack.sockets.filter((s) => s.answer.startsWith('HTTP/1.1 408')).length).toBe(SLOW_SOCKETS);
    } finally {
      attack.stop();
    }
  });

  it('refuses a request head larger than 16 KiB with 431', async () => {
    const res = await fetch(`${server.baseUrl}/healthz`, { headers: { 'X-Large': 'x'.repeat(17 * 1024) } });
    expect(res.status).toBe(431);
  });
});

describe('security headers and metrics', () => {
  it('sends a CSP on every page: the embed page may be framed by any site, the others only by their own', async () => {
    for (const path of ['/', '/watch?stream=demo', '/broadcast?stream=demo', '/embed/demo']) {
      const res = await fetch(`${server.baseUrl}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(res.headers.get('referrer-policy'), path).toBe('no-referrer');
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp, path).toContain("script-src 'self'");
      expect(csp, path).toContain("object-src 'none'");
      expect(csp, path).toContain(path.startsWith('/embed/') ? 'frame-ancestors *' : "frame-ancestors 'self'");
    }
    const page = await (await fetch(`${server.baseUrl}/watch`)).text();
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(page)?.[1];
    expect(asset, 'the watch page loads a built script from /assets/').toBeDefined();
    const assetRes = await fetch(`${server.baseUrl}${asset}`);
    expect(assetRes.status).toBe(200);
    expect(assetRes.headers.get('content-type')).toMatch(/javascript/);
    expect(assetRes.headers.get('x-content-type-options')).toBe('nosniff');
    expect(assetRes.headers.get('content-security-policy')).toBeNull();
  });

  it('answers /metrics only with METRICS_TOKEN', async () => {
    const none = await fetch(`${server.baseUrl}/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="swarmcast"');
    expect((await fetch(`${server.baseUrl}/metrics`, { headers: { Authorization: 'Bearer wrong-metrics-token' } })).status).toBe(401);
    const ok = await fetch(`${server.baseUrl}/metrics`, { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('swarmcast_');
  });
});
