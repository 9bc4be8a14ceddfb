// The throttle proxy over real loopback sockets: transfer times follow the limit, lifting it restores speed, connections
// share one bucket, back-pressure reaches the server, and closing either side closes the other.
import { once } from 'node:events';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { pollUntil } from './poll.ts';
import { startThrottleProxy, type ThrottleProxy } from './throttle-proxy.ts';

/** Loose bounds around the ideal time: the suite shares 2 loaded cores with browsers and encoders. */
const SLOW = 0.6;
const FAST = 1.6;

let upstream: Server | null = null;
let proxy: ThrottleProxy | null = null;
const serverSockets: Socket[] = [];

afterEach(async () => {
  await proxy?.close();
  for (const socket of serverSockets.splice(0)) socket.destroy();
  if (upstream) await new Promise((resolve) => upstream!.close(resolve));
  upstream = proxy = null;
});

/** A server that sends `bytes` to each connection as fast as the socket takes them, then ends (null: holds it silent). */
async function startSender(bytes: number | null): Promise<string> {
  upstream = createServer((socket) => {
    serverSockets.push(socket);
    socket.on('error', () => undefined);
    if (bytes !== null) socket.end(Buffer.alloc(bytes, 7));
  });
  upstream.listen(0, '127.0.0.1');
  await once(upstream, 'listening');
  const address = upstream.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return `http://127.0.0.1:${address.port}`;
}

interface Download {
  socket: Socket;
  received: () => number;
  /** Resolves with the ms from connecting to the end of the data. */
  done: Promise<number>;
}

function download(baseUrl: string): Download {
  const { port } = new URL(baseUrl);
  const start = performance.now();
  const socket = createConnection({ host: '127.0.0.1', port: Number(port) });
  let received = 0;
  socket.on('data', (chunk: Buffer) => (received += chunk.length));
  const done = once(socket, 'end').then(() => performance.now() - start);
  return { socket, received: () => received, done };
}

const msAt = (bytes: number, bitsPerSecond: number): number => ((bytes * 8) / bitsPerSecond) * 1000;

describe('throttle proxy', () => {
  it('a transfer at N bit/s takes about size / N, all bytes delivered', async () => {
    const bytes = 400_000;
    const rate = 4_000_000;
    proxy = await startThrottleProxy(await startSender(bytes), { downstreamBps: rate });
    const transfer = download(proxy.baseUrl);
    const ms = await transfer.done;
    expect(transfer.received()).toBe(bytes);
    expect(proxy.bytesDown).toBe(bytes);
    expect(ms).toBeGreaterThan(SLOW * msAt(bytes, rate));
    expect(ms).toBeLessThan(FAST * msAt(bytes, rate));
  });

  it('lifting the limit mid-transfer restores full speed', async () => {
    const bytes = 4_000_000;
    const rate = 2_000_000;
    proxy = await startThrottleProxy(await startSender(bytes), { downstreamBps: rate });
    const transfer = download(proxy.baseUrl);
    await pollUntil(async () => transfer.received(), (n) => n >= 100_000, 5000, 'first 100 kB through the limit');
    proxy.setDownstreamRate(null);
    expect(proxy.downstreamBps).toBeNull();
    const ms = await transfer.done;
    expect(transfer.received()).toBe(bytes);
    // 16 s at the limit; the first 100 kB take 0.4 s, the rest goes at loopback speed.
    expect(ms).toBeLessThan(0.25 * msAt(bytes, rate));
  });

  it('many connections share one bucket, each getting its share', async () => {
    const bytes = 150_000;
    const connections = 4;
    const rate = 4_000_000;
    proxy = await startThrottleProxy(await startSender(bytes), { downstreamBps: rate });
    const transfers = Array.from({ length: connections }, () => download(proxy!.baseUrl));
    const times = await Promise.all(transfers.map((t) => t.done));
    const aggregateMs = msAt(bytes * connections, rate);
    expect(Math.max(...times)).toBeGreaterThan(SLOW * aggregateMs);
    expect(Math.max(...times)).toBeLessThan(FAST * aggregateMs);
    // Served in turn, not one after another: even the first to finish needed most of the aggregate time.
    expect(Math.min(...times)).toBeGreaterThan(SLOW * aggregateMs);
    for (const t of transfers) expect(t.received()).toBe(bytes);
  });

  it('a limited link pushes back on the server instead of buffering what it sends', async () => {
    const bytes = 24 * 1024 * 1024;
    proxy = await startThrottleProxy(await startSender(bytes), { downstreamBps: 1_000_000 });
    const transfer = download(proxy.baseUrl);
    await pollUntil(async () => transfer.received(), (n) => n >= 50_000, 5000, 'first 50 kB through the limit');
    // Unbounded buffering would have drained the server's 24 MB over loopback by now; the kernel holds a few MB at most.
    const [sender] = serverSockets;
    expect(sender!.writableLength).toBeGreaterThan(12 * 1024 * 1024);
    transfer.socket.destroy();
  });

  it('closing the client closes the server side, and closing the server side closes the client', async () => {
    proxy = await startThrottleProxy(await startSender(null), { downstreamBps: 1_000_000 });
    const first = download(proxy.baseUrl);
    await pollUntil(async () => serverSockets.length, (n) => n === 1, 5000, 'server accepted the first connection');
    const firstServerClosed = once(serverSockets[0]!, 'close');
    first.socket.destroy();
    await firstServerClosed;

    const second = download(proxy.baseUrl);
    const secondClientClosed = once(second.socket, 'close');
    await pollUntil(async () => serverSockets.length, (n) => n === 2, 5000, 'server accepted the second connection');
    serverSockets[1]!.destroy();
    await secondClientClosed;
  });

  it('a reset from the server closes the client at once, even with data still waiting for the limit', async () => {
    proxy = await startThrottleProxy(await startSender(10_000_000), { downstreamBps: 1_000_000 });
    const transfer = download(proxy.baseUrl);
    transfer.socket.on('error', () => undefined);
    await pollUntil(async () => transfer.received(), (n) => n > 0, 5000, 'first bytes through the limit');
    const start = performance.now();
    const clientClosed = once(transfer.socket, 'close');
    serverSockets[0]!.resetAndDestroy();
    await clientClosed;
    // Megabytes were still queued: draining them at 1 Mbit/s would take many seconds.
    expect(performance.now() - start).toBeLessThan(2000);
    expect(transfer.received()).toBeLessThan(1_000_000);
  });

  it('rejects a rate that is not a positive number', async () => {
    proxy = await startThrottleProxy(await startSender(1));
    expect(() => proxy!.setDownstreamRate(0)).toThrow(RangeError);
    expect(() => proxy!.setDownstreamRate(Number.NaN)).toThrow(RangeError);
  });
});
