// The delay proxy over real loopback sockets: every chunk held within delay … delay + jitter and the spread really
// used, bytes kept in order and intact both ways under jitter and back-pressure, HTTP requests counted, ends passed on,
// and closing either side (or the proxy) leaves no connection behind.
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startDelayProxy, type DelayProxy } from './delay-proxy.ts';
import { pollUntil } from './poll.ts';

/** Timers fire up to about a millisecond off, and the suite shares 2 loaded cores: slack on the upper bound only. */
const EARLY_MS = 1.5;
const LATE_MS = 25;

let target: Server | null = null;
let proxy: DelayProxy | null = null;
const serverSockets: Socket[] = [];

afterEach(async () => {
  await proxy?.close();
  for (const socket of serverSockets.splice(0)) socket.destroy();
  if (target) await new Promise((resolve) => target!.close(resolve));
  target = proxy = null;
});

async function startTarget(onSocket: (socket: Socket) => void): Promise<string> {
  target = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    serverSockets.push(socket);
    socket.on('error', () => undefined);
    onSocket(socket);
  });
  target.listen(0, '127.0.0.1');
  await once(target, 'listening');
  const address = target.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return `http://127.0.0.1:${address.port}`;
}

function connect(baseUrl: string): Socket {
  return createConnection({ host: '127.0.0.1', port: Number(new URL(baseUrl).port), noDelay: true, allowHalfOpen: true });
}

/** A fixed-seed generator (mulberry32), so the jitter's draws and thus the spread asserted are the same every run. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('delay proxy', () => {
  it('holds each downstream message delay … delay + jitter, spread over the jitter, and says so in its own measure', async () => {
    const delayMs = 40;
    const jitterMs = 30;
    const messages = 40;
    // The target stamps each 8-byte message with its send time (same process, same clock) every 15 ms.
    const baseUrl = await startTarget((socket) => {
      let sent = 0;
      const timer = setInterval(() => {
        const message = Buffer.alloc(8);
        message.writeDoubleLE(performance.now());
        socket.write(message);
        if (++sent === messages) {
          clearInterval(timer);
          socket.end();
        }
      }, 15);
      socket.on('close', () => clearInterval(timer));
    });
    proxy = await startDelayProxy(baseUrl, { downstream: { delayMs, jitterMs }, random: seeded(7) });
    const client = connect(proxy.baseUrl);
    const delays: number[] = [];
    let pending = Buffer.alloc(0);
    client.on('data', (chunk: Buffer) => {
      const now = performance.now();
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 8) {
        delays.push(now - pending.readDoubleLE(0));
        pending = pending.subarray(8);
      }
    });
    await once(client, 'end');
    client.destroy();

    expect(delays).toHaveLength(messages);
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(delayMs - EARLY_MS);
    expect(Math.max(...delays)).toBeLessThanOrEqual(delayMs + jitterMs + LATE_MS);
    // The jitter is really applied: 40 draws of a uniform 0–30 ms spread over more than half of it.
    expect(Math.max(...delays) - Math.min(...delays)).toBeGreaterThan(jitterMs / 2);
    const { downstream, upstream } = proxy.delays();
    expect(downstream.bytes).toBe(messages * 8);
    expect(downstream.minMs).toBeGreaterThanOrEqual(delayMs - EARLY_MS);
    expect(downstream.maxMs).toBeLessThanOrEqual(delayMs + jitterMs + LATE_MS);
    expect(downstream.maxMs - downstream.minMs).toBeGreaterThan(jitterMs / 2);
    expect(downstream.maxLateMs).toBeGreaterThanOrEqual(0);
    expect(downstream.maxLateMs).toBeLessThanOrEqual(LATE_MS);
    expect(upstream.bytes).toBe(0);
  });

  it('keeps 3 MB each way in order and intact through jitter on both directions, a slow reader pushing back', async () => {
    // An echo target: what goes up comes back down, so both directions' order and content are checked at once.
    const baseUrl = await startTarget((socket) => socket.pipe(socket));
    proxy = await startDelayProxy(baseUrl, { upstream: { delayMs: 1, jitterMs: 4 }, downstream: { delayMs: 2, jitterMs: 6 }, random: seeded(11) });
    const data = randomBytes(3 * 1024 * 1024);
    const client = connect(proxy.baseUrl);
    const received: Buffer[] = [];
    let receivedBytes = 0;
    // Reads paused now and then, so the proxy's hold and the sockets' buffers fill and back-pressure is exercised.
    client.on('data', (chunk: Buffer) => {
      received.push(chunk);
      receivedBytes += chunk.length;
      if (received.length % 50 === 0) {
        client.pause();
        setTimeout(() => client.resume(), 20);
      }
    });
    for (let offset = 0; offset < data.length; ) {
      const size = 1 + Math.floor(Math.random() * 64 * 1024);
      if (!client.write(data.subarray(offset, offset + size))) await once(client, 'drain');
      offset += size;
    }
    await pollUntil(async () => receivedBytes, (bytes) => bytes >= data.length, 30_000, 'the echoed data');
    const echoed = Buffer.concat(received);
    expect(echoed.length).toBe(data.length);
    expect(createHash('sha256').update(echoed).digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
    const { upstream, downstream } = proxy.delays();
    expect(upstream.bytes).toBe(data.length);
    expect(downstream.bytes).toBe(data.length);
    expect(upstream.minMs).toBeGreaterThanOrEqual(1 - EARLY_MS);
    client.destroy();
  });

  it('counts the HTTP/1.1 request lines going upstream by kind, several in one chunk too', async () => {
    const baseUrl = await startTarget(() => undefined);
    proxy = await startDelayProxy(baseUrl);
    const client = connect(proxy.baseUrl);
    await once(client, 'connect');
    client.write('GET /live/s/720p.m3u8?_HLS_msn=3&_HLS_part=1 HTTP/1.1\r\nHost: x\r\n\r\nGET /live/s/720p/3.1.m4s HTTP/1.1\r\nHost: x\r\n\r\n');
    client.write('GET /watch?stream=s HTTP/1.1\r\nHost: x\r\n\r\n');
    // A body that merely mentions a request line mid-line is not a request.
    client.write('POST /api/x HTTP/1.1\r\nContent-Length: 30\r\n\r\nnot GET /a.m4s HTTP/1.1\r\n here');
    const counts = await pollUntil(async () => proxy!.requests(), (c) => c.total >= 4, 5000, 'the counted requests');
    expect(counts).toEqual({ total: 4, playlists: 1, media: 1, other: 2 });
    client.destroy();
  });

  it('passes an end on after the held bytes, and forgets a connection once either side closes', async () => {
    const baseUrl = await startTarget((socket) => socket.end('bye'));
    proxy = await startDelayProxy(baseUrl, { downstream: { delayMs: 30, jitterMs: 0 } });
    const client = connect(proxy.baseUrl);
    let text = '';
    client.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
    await once(client, 'end');
    expect(text).toBe('bye');
    client.end();
    await pollUntil(async () => proxy!.connections, (n) => n === 0, 5000, 'the proxy to forget the connection');

    const second = connect(proxy.baseUrl);
    second.on('error', () => undefined);
    await pollUntil(async () => proxy!.connections, (n) => n === 1, 5000, 'the second connection');
    second.destroy();
    await pollUntil(async () => proxy!.connections, (n) => n === 0, 5000, 'the proxy to drop a reset connection');
  });

  it('close() closes held connections at once on both sides, drops what it holds, and is idempotent', async () => {
    let serverSide: Socket | null = null;
    const baseUrl = await startTarget((socket) => {
      serverSide = socket;
      socket.write('late');
    });
    proxy = await startDelayProxy(baseUrl, { downstream: { delayMs: 5000, jitterMs: 0 } });
    const client = connect(proxy.baseUrl);
    client.on('error', () => undefined);
    let received = 0;
    client.on('data', (chunk: Buffer) => (received += chunk.length));
    await pollUntil(async () => serverSide, (s) => s !== null, 5000, 'the target connection');
    // Both peers are half-open sockets: the proxy's side closing shows as an end on each.
    const clientEnded = once(client, 'end');
    const serverEnded = once(serverSide!, 'end');
    await Promise.all([proxy.close(), proxy.close()]);
    await Promise.all([clientEnded, serverEnded]);
    expect(received).toBe(0);
    expect(proxy.connections).toBe(0);
  });

  it('refuses a negative or non-numeric delay with a RangeError', async () => {
    await expect(startDelayProxy('http://127.0.0.1:1', { downstream: { delayMs: 0, jitterMs: -5 } })).rejects.toThrow(RangeError);
    await expect(startDelayProxy('http://127.0.0.1:1', { upstream: { delayMs: Number.NaN, jitterMs: 0 } })).rejects.toThrow(/upstream\.delayMs/);
  });
});
