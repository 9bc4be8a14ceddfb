// HTTPS with a self-signed certificate the suite makes: Chromium goes live from the broadcaster page (key from `&key=`,
// then gone from the address) and a viewer plays over HTTP/2; a Node HTTP/2 client's blocking playlist request is held
// and answered and a part streams; the tracker's WebSocket upgrades over HTTP/1.1; slow TLS clients are cut. The
// README's nginx block, terminating TLS in front of a plain server, passes `nginx -t` and carries the same.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http2 from 'node:http2';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { multivariantPath } from '../shared/playback-path.ts';
import { HEADERS_TIMEOUT_MS } from '../server/http/listener.ts';
import { launchChromium } from './support/browser.ts';
import { mediaPlaylistUrl, preloadHintOf } from './support/live-hls.ts';
import { freePort } from './support/nginx.ts';
import { startNodePublisher, type NodePublisher } from './support/node-publisher.ts';
import { watchFor } from './support/pages.ts';
import { startServer, type RunningServer } from './support/server.ts';

const run = promisify(execFile);
const PUBLISH_KEY = 'e2e-tls-publish-key-0001';
const STREAM = 'secure';
/** The TLS handshake timeout of server/http/listener.ts. */
const HANDSHAKE_TIMEOUT_MS = 10_000;

let dir: string;
let ca: Buffer;
let server: RunningServer;
let browser: Browser;
let broadcaster: Page;
const slowClients: { name: string; openedAtMs: number; closedAtMs?: number; answer: string }[] = [];

/** A self-signed certificate for 127.0.0.1 and localhost, as the README's LAN quick start makes one. */
async function makeCertificate(into: string): Promise<{ cert: string; key: string }> {
  const cert = join(into, 'cert.pem');
  const key = join(into, 'key.pem');
  await run('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', key, '-out', cert,
  ]);
  return { cert, key };
}

/** Connects a client that never finishes what it started (`tcp`: no TLS handshake; `http1`: a request head trickled over TLS). */
function startSlowClient(name: 'tcp' | 'http1', port: number): void {
  const slow: (typeof slowClients)[number] = { name, openedAtMs: performance.now(), answer: '' };
  slowClients.push(slow);
  const socket =
    name === 'tcp'
      ? net.connect(port, '127.0.0.1')
      : tls.connect({ port, host: '127.0.0.1', ca, ALPNProtocols: ['http/1.1'] }, () => socket.write('GET /watch HTTP/1.1\r\nHost: 127.0.0.1\r\n'));
  socket.setEncoding('latin1');
  socket.on('data', (text: string) => (slow.answer += text));
  socket.on('error', () => undefined);
  const trickle = setInterval(() => name === 'http1' && socket.write('X-Trickle: 1\r\n'), 1_000);
  socket.on('close', () => {
    clearInterval(trickle);
    slow.closedAtMs = performance.now();
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'swarmcast-tls-'));
  const { cert, key } = await makeCertificate(dir);
  ca = await readFile(cert);
  server = await startServer({ TLS_CERT: cert, TLS_KEY: key, PUBLISH_KEY });
  const port = Number(new URL(server.baseUrl).port);
  startSlowClient('tcp', port);
  startSlowClient('http1', port);
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** One HTTP/2 GET on `session`; resolves with the status, the body, and how long the answer took. */
function h2Get(session: http2.ClientHttp2Session, path: string): Promise<{ status: number; body: Buffer; elapsedMs: number }> {
  const startedMs = performance.now();
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':path': path });
    const chunks: Buffer[] = [];
    let status = 0;
    stream.on('response', (headers) => (status = Number(headers[':status'])));
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve({ status, body: Buffer.concat(chunks), elapsedMs: performance.now() - startedMs }));
    stream.on('error', reject);
    stream.end();
  });
}

/** Over HTTP/2 at `baseUrl`: a blocking reload for the next segment's first part is held, then answered with it; a part streams. */
async function expectBlockingReloadOverHttp2(baseUrl: string, stream: string): Promise<void> {
  const session = http2.connect(baseUrl, { ca });
  try {
    const multivariant = await h2Get(session, multivariantPath(stream));
    expect(multivariant.status).toBe(200);
    expect(session.alpnProtocol).toBe('h2');
    const mediaUri = multivariant.body.toString().split('\n').find((line) => line && !line.startsWith('#'))!.trim();
    const mediaPath = new URL(mediaUri, `${baseUrl}${multivariantPath(stream)}`).pathname;
    const playlistUrl = `${baseUrl}${mediaPath}`;
    const current = preloadHintOf((await h2Get(session, mediaPath)).body.toString(), playlistUrl);
    expect(current).not.toBeNull();
    // The first part of the next segment: at least a few parts away, so the request must be held.
    const wantedMsn = current!.msn + 1;
    const [held, streamedPart] = await Promise.all([
      h2Get(session, `${mediaPath}?_HLS_msn=${wantedMsn}&_HLS_part=0`),
      h2Get(session, new URL(current!.url).pathname),
    ]);
    expect(held.status).toBe(200);
    expect(held.elapsedMs).toBeGreaterThan(100);
    const after = preloadHintOf(held.body.toString(), playlistUrl);
    expect(after!.msn > wantedMsn || (after!.msn === wantedMsn && after!.part > 0)).toBe(true);
    expect(streamedPart.status).toBe(200);
    expect(streamedPart.body.byteLength).toBeGreaterThan(0);
  } finally {
    session.close();
  }
}

/** The tracker's WebSocket at `baseUrl` (https) opens. */
async function expectTrackerWebSocket(baseUrl: string): Promise<void> {
  const socket = new WebSocket(`${baseUrl.replace('https:', 'wss:')}/tracker`, { ca });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  socket.close();
}

describe('HTTPS', () => {
  it('prints https URLs', () => {
    expect(server.baseUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it('serves the broadcaster page over HTTP/2; it goes live with the key from &key=, which leaves the address bar', async () => {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    broadcaster = await context.newPage();
    await broadcaster.goto(`${server.baseUrl}/broadcast?stream=${STREAM}&source=test&key=${PUBLISH_KEY}&autostart=1`);
    await broadcaster.waitForSelector('body[data-state="live"]', { timeout: 30_000 });
    expect(broadcaster.url()).toBe(`${server.baseUrl}/broadcast?stream=${STREAM}&source=test&autostart=1`);
    expect(await broadcaster.evaluate(() => location.href)).not.toContain(PUBLISH_KEY);
    expect(await broadcaster.evaluate(() => (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).nextHopProtocol)).toBe('h2');
  });

  it('plays to a Chromium viewer over HTTP/2', async () => {
    const viewer = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
    await viewer.goto(`${server.baseUrl}/watch?stream=${STREAM}`);
    await viewer.waitForSelector('body[data-state="playing"]', { timeout: 30_000 });
    const { last } = await watchFor(viewer, 3);
    expect(last.decodedFrames).toBeGreaterThan(0);
    const protocols = await viewer.evaluate(() =>
      performance.getEntriesByType('resource').filter((e) => e.name.includes('/live/')).map((e) => (e as PerformanceResourceTiming).nextHopProtocol),
    );
    // A request the player aborted (a superseded blocking reload) reports no protocol.
    const named = protocols.filter(Boolean);
    expect(named.length).toBeGreaterThan(5);
    expect(new Set(named)).toEqual(new Set(['h2']));
    await viewer.context().close();
  });

  it('holds an HTTP/2 blocking playlist request until the part it asks for exists, and streams a part', async () => {
    await expectBlockingReloadOverHttp2(server.baseUrl, STREAM);
  });

  it("upgrades the tracker's WebSocket over HTTPS (HTTP/1.1)", async () => {
    await expectTrackerWebSocket(server.baseUrl);
  });

  it('refuses to publish over HTTPS without the key', async () => {
    const session = http2.connect(server.baseUrl, { ca });
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const stream = session.request({ ':method': 'POST', ':path': `/api/publish/other`, 'content-type': 'application/sdp' });
        stream.on('response', (headers) => resolve(Number(headers[':status'])));
        stream.on('error', reject);
        stream.end('v=0\r\n');
      });
      expect(status).toBe(401);
    } finally {
      session.close();
    }
  });

  it('closes a client that never finishes its TLS handshake, and one that trickles an HTTP/1.1 head, at their timeouts', async () => {
    const deadline = performance.now() + HANDSHAKE_TIMEOUT_MS + 5_000;
    while (slowClients.some((c) => c.closedAtMs === undefined) && performance.now() < deadline) await new Promise((done) => setTimeout(done, 100));
    const heldMs = (name: string): number => {
      const client = slowClients.find((c) => c.name === name)!;
      return (client.closedAtMs ?? Infinity) - client.openedAtMs;
    };
    expect(heldMs('tcp')).toBeLessThan(HANDSHAKE_TIMEOUT_MS + 3_000);
    expect(heldMs('http1')).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 500);
    expect(heldMs('http1')).toBeLessThan(HEADERS_TIMEOUT_MS + 3_000);
    expect(slowClients.find((c) => c.name === 'http1')!.answer).toMatch(/^HTTP\/1\.1 408/);
  });
});

/** The README's nginx block (after `<!-- nginx-tls -->`), with this suite's port, certificate and upstream. */
async function readmeNginxBlock(values: { listen: string; cert: string; key: string; upstream: string }): Promise<string> {
  const readme = await readFile(resolve(import.meta.dirname, '../README.md'), 'utf8');
  const block = /<!-- nginx-tls -->\n```nginx\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!block) throw new Error('README.md has no nginx-tls block');
  const replaced = block
    .replace('listen 443 ssl http2;', `listen ${values.listen} ssl http2;`)
    .replace('/etc/ssl/swarmcast/cert.pem', values.cert)
    .replace('/etc/ssl/swarmcast/key.pem', values.key)
    .replace('http://127.0.0.1:8080', values.upstream);
  expect(replaced).not.toContain('8080');
  return replaced;
}

describe('behind nginx terminating TLS (the README block)', () => {
  let origin: RunningServer;
  let publisher: NodePublisher;
  let nginx: ChildProcess;
  let nginxUrl: string;

  beforeAll(async () => {
    origin = await startServer({ PUBLISH_KEY });
    publisher = await startNodePublisher({ baseUrl: origin.baseUrl, stream: STREAM, publishKey: PUBLISH_KEY, width: 640, height: 360, rendition: '360p', videoBitrate: 600_000 });
    const runDir = join(dir, 'nginx');
    await mkdir(runDir);
    // Running as root, nginx's workers become `nobody`, which must be able to write the run directory.
    await chmod(runDir, 0o777);
    const port = await freePort();
    const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `${kind}_temp_path ${runDir}/${kind};`).join(' ');
    const server = await readmeNginxBlock({ listen: `127.0.0.1:${port}`, cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem'), upstream: origin.baseUrl });
    const conf = join(runDir, 'nginx.conf');
    await writeFile(conf, `worker_processes 1;\npid ${runDir}/nginx.pid;\nevents {}\nhttp {\naccess_log off;\n${temp}\n${server}\n}\n`);
    const args = ['-p', runDir, '-c', conf, '-e', join(runDir, 'error.log')];
    const checked = await run('nginx', [...args, '-t']);
    expect(checked.stderr).toMatch(/syntax is ok/);
    nginx = spawn('nginx', [...args, '-g', 'daemon off;'], { stdio: 'ignore' });
    nginxUrl = `https://127.0.0.1:${port}`;
    await mediaPlaylistUrl(origin.baseUrl, STREAM);
    for (const deadline = Date.now() + 10_000; ; ) {
      const connected = await new Promise<boolean>((done) => net.connect(port, '127.0.0.1').once('connect', function (this: net.Socket) { this.destroy(); done(true); }).once('error', () => done(false)));
      if (connected) break;
      if (Date.now() > deadline) throw new Error('nginx did not start');
      await new Promise((done) => setTimeout(done, 100));
    }
  });

  afterAll(async () => {
    if (nginx && nginx.exitCode === null) {
      const exited = new Promise((done) => nginx.once('exit', done));
      nginx.kill('SIGQUIT');
      await exited;
    }
    await publisher?.stop();
    await origin?.stop();
  });

  it('holds a blocking playlist request over HTTP/2 through nginx and streams a part', async () => {
    await expectBlockingReloadOverHttp2(nginxUrl, STREAM);
  });

  it("passes the tracker's WebSocket and the pages' headers through", async () => {
    await expectTrackerWebSocket(nginxUrl);
    const session = http2.connect(nginxUrl, { ca });
    try {
      const headers = await new Promise<http2.IncomingHttpHeaders>((done, reject) => {
        const stream = session.request({ ':path': '/broadcast' });
        stream.on('response', done).on('error', reject);
        stream.resume();
        stream.end();
      });
      expect(headers[':status']).toBe(200);
      expect(headers['content-security-policy']).toContain("frame-ancestors 'self'");
    } finally {
      session.close();
    }
  });
});
