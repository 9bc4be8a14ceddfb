// HTTPS with a certificate from a private CA the suite makes: Chromium and Firefox go live from the broadcaster page (key
// from `&key=`, then gone from the address) and viewers in both play over HTTP/2; a Node HTTP/2 client's blocking
// playlist request is held and answered and a part streams; the tracker's WebSocket upgrades over HTTP/1.1; slow TLS,
// HTTP/1.1 and HTTP/2 clients are cut while an HTTP/2 viewer keeps getting parts. An edge process in front of the HTTPS
// origin (trusting the CA through NODE_EXTRA_CA_CERTS) serves the same, and one not trusting it answers 502. The
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
import type { Browser as PuppeteerBrowser, Page as PuppeteerPage } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { multivariantPath } from '../shared/playback-path.ts';
import { HEADERS_TIMEOUT_MS } from '../server/http/listener.ts';
import { launchChromium } from './support/browser.ts';
import { launchFirefox } from './support/firefox.ts';
import { mediaPlaylistUrl, preloadHintOf } from './support/live-hls.ts';
import { pollUntil } from './support/poll.ts';
import { freePort } from './support/nginx.ts';
import { startNodePublisher, type NodePublisher } from './support/node-publisher.ts';
import { watchFor } from './support/pages.ts';
import { openRawHttp2, type RawHttp2Connection } from './support/raw-http2.ts';
import { startServer, type RunningServer } from './support/server.ts';

const run = promisify(execFile);
const PUBLISH_KEY = 'e2e-tls-publish-key-0001';
const STREAM = 'secure';
/** The TLS handshake timeout of server/http/listener.ts. */
const HANDSHAKE_TIMEOUT_MS = 10_000;

let dir: string;
/** The suite's CA certificate (PEM), which signed the server's. */
let caPath: string;
let ca: Buffer;
let server: RunningServer;
let browser: Browser;
let broadcaster: Page;
const slowClients: { name: string; openedAtMs: number; closedAtMs?: number; answer: string }[] = [];

/**
 * A private CA and a certificate it signs for 127.0.0.1 and localhost (the README's LAN quick start makes a self-signed
 * one instead; clients trust either the same way, by the PEM file).
 */
async function makeCertificates(into: string): Promise<{ caCert: string; cert: string; key: string }> {
  const [caCert, caKey, csr, ext, cert, key] = ['ca.pem', 'ca-key.pem', 'cert.csr', 'cert.ext', 'cert.pem', 'key.pem'].map((name) => join(into, name)) as [string, string, string, string, string, string];
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run('openssl', ['req', '-x509', ...ec, '-days', '1', '-subj', '/CN=Swarmcast e2e CA', '-keyout', caKey, '-out', caCert]);
  await run('openssl', ['req', ...ec, '-subj', '/CN=127.0.0.1', '-keyout', key, '-out', csr]);
  await writeFile(ext, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n');
  await run('openssl', ['x509', '-req', '-in', csr, '-CA', caCert, '-CAkey', caKey, '-CAcreateserial', '-days', '1', '-extfile', ext, '-out', cert]);
  return { caCert, cert, key };
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
  const { caCert, cert, key } = await makeCertificates(dir);
  caPath = caCert;
  ca = await readFile(caCert);
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

/** The path of the first variant's media playlist of `stream`, read over `session`. */
async function mediaPathOver(session: http2.ClientHttp2Session, stream: string): Promise<string> {
  const multivariant = await h2Get(session, multivariantPath(stream));
  expect(multivariant.status).toBe(200);
  const mediaUri = multivariant.body.toString().split('\n').find((line) => line && !line.startsWith('#'))!.trim();
  return new URL(mediaUri, `https://127.0.0.1${multivariantPath(stream)}`).pathname;
}

/**
 * An HTTP/2 viewer at `baseUrl` following the live edge part by part (each hinted part fetched while a blocking reload
 * waits for it) until `done()`; resolves with the time each part arrived.
 */
async function followParts(baseUrl: string, stream: string, done: () => boolean): Promise<number[]> {
  const session = http2.connect(baseUrl, { ca });
  try {
    const mediaPath = await mediaPathOver(session, stream);
    const playlistUrl = `${baseUrl}${mediaPath}`;
    let playlist = (await h2Get(session, mediaPath)).body.toString();
    const arrivals: number[] = [];
    while (!done()) {
      const hint = preloadHintOf(playlist, playlistUrl);
      expect(hint).not.toBeNull();
      const [part, next] = await Promise.all([
        h2Get(session, new URL(hint!.url).pathname),
        h2Get(session, `${mediaPath}?_HLS_msn=${hint!.msn}&_HLS_part=${hint!.part}`),
      ]);
      expect(part.status).toBe(200);
      expect(part.body.byteLength).toBeGreaterThan(0);
      arrivals.push(performance.now());
      playlist = next.body.toString();
    }
    return arrivals;
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

  it('closes HTTP/2 sessions that never send a request, or trickle a header block, at the head timeout; an HTTP/2 viewer keeps getting parts', async () => {
    const port = Number(new URL(server.baseUrl).port);
    const SESSIONS = 20;
    // Preface and SETTINGS, then a PING a second: every frame resets Node's idle timeout, none is a request.
    const silent = await Promise.all(Array.from({ length: SESSIONS }, () => openRawHttp2(port, ca)));
    // One answered request, then a HEADERS frame without END_HEADERS and a CONTINUATION every 2 s that never ends it
    // (nghttp2 itself cuts a header block at its 9th CONTINUATION, but with no bound on the time between them).
    const trickling = await Promise.all(Array.from({ length: SESSIONS }, () => openRawHttp2(port, ca)));
    for (const session of trickling) session.get(1, '/healthz');
    await pollUntilAnswered(trickling);
    const begunAtMs = performance.now();
    for (const session of trickling) session.beginHeaders(3);
    let tick = 0;
    const trickle = setInterval(() => {
      for (const session of silent) session.ping();
      if (++tick % 2 === 0) for (const session of trickling) session.continueHeaders(3);
    }, 1_000);
    const all: RawHttp2Connection[] = [...silent, ...trickling];
    const deadlineMs = performance.now() + HEADERS_TIMEOUT_MS + 5_000;
    try {
      const arrivals = await followParts(server.baseUrl, STREAM, () => all.every((c) => c.closedAtMs !== undefined) || performance.now() > deadlineMs);
      const gaps = arrivals.slice(1).map((at, i) => at - arrivals[i]!);
      console.log(`HTTP/2 viewer: ${arrivals.length} parts while ${all.length} slow sessions were open, longest gap ${Math.round(Math.max(...gaps))} ms`);
      expect(arrivals.length).toBeGreaterThan(15);
      expect(Math.max(...gaps)).toBeLessThan(2_000);
    } finally {
      clearInterval(trickle);
      for (const session of all) session.destroy();
    }
    for (const session of silent) {
      expect(session.closedAtMs! - session.openedAtMs).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 500);
      expect(session.closedAtMs! - session.openedAtMs).toBeLessThan(HEADERS_TIMEOUT_MS + 3_000);
      expect(session.goawayCode).toBe(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
    }
    for (const session of trickling) {
      expect(session.closedAtMs! - begunAtMs).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 500);
      expect(session.closedAtMs! - begunAtMs).toBeLessThan(HEADERS_TIMEOUT_MS + 3_000);
      expect(session.answeredStreams.has(3)).toBe(false);
      expect(session.goawayCode).toBe(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
    }
  });
});

/** Waits until every session has its stream 1 answered. */
async function pollUntilAnswered(sessions: RawHttp2Connection[]): Promise<void> {
  await pollUntil(async () => sessions.every((s) => s.answeredStreams.has(1)), Boolean, 5_000, 'answers to the raw HTTP/2 sessions\' first request');
}

/** A page of its own window in a context of its own (a background Firefox tab is throttled). */
async function firefoxPage(firefox: PuppeteerBrowser): Promise<PuppeteerPage> {
  return (await firefox.createBrowserContext()).newPage({ type: 'window' });
}

describe('Firefox over HTTPS', () => {
  const FIREFOX_STREAM = 'secure-firefox';
  let firefox: PuppeteerBrowser;

  beforeAll(async () => {
    // The suite's CA is not in Firefox's store: accept its certificate as a user clicking through the warning would.
    firefox = await launchFirefox({ acceptInsecureCerts: true });
  });

  afterAll(async () => {
    await firefox?.close();
  });

  it('goes live from the broadcaster page with the key from &key=, which leaves the address bar', async () => {
    const page = await firefoxPage(firefox);
    await page.goto(`${server.baseUrl}/broadcast?stream=${FIREFOX_STREAM}&source=test&key=${PUBLISH_KEY}&autostart=1`);
    await page.waitForSelector('body[data-state="live"]', { timeout: 60_000 });
    expect(page.url()).toBe(`${server.baseUrl}/broadcast?stream=${FIREFOX_STREAM}&source=test&autostart=1`);
    expect(await page.evaluate(() => location.href)).not.toContain(PUBLISH_KEY);
  }, 90_000);

  it('plays that broadcast to a Firefox viewer over HTTP/2', async () => {
    const page = await firefoxPage(firefox);
    await page.goto(`${server.baseUrl}/watch?stream=${FIREFOX_STREAM}`);
    await page.waitForSelector('body[data-state="playing"]', { timeout: 60_000 });
    const before = await page.evaluate('window.swarmcast.stats().decodedFrames');
    await page.waitForFunction(`window.swarmcast.stats().decodedFrames > ${before} + 30`, { timeout: 40_000, polling: 200 });
    const protocols = await page.evaluate(() =>
      performance.getEntriesByType('resource').filter((e) => e.name.includes('/live/')).map((e) => (e as PerformanceResourceTiming).nextHopProtocol),
    );
    const named = protocols.filter(Boolean);
    expect(named.length).toBeGreaterThan(5);
    expect(new Set(named)).toEqual(new Set(['h2']));
    await page.browserContext().close();
  }, 90_000);
});

describe('an edge in front of the HTTPS origin', () => {
  let edge: RunningServer;
  let untrusting: RunningServer;

  beforeAll(async () => {
    const [cert, key] = [join(dir, 'cert.pem'), join(dir, 'key.pem')];
    // The edge serves HTTPS too (the same certificate), and trusts the origin's through Node's own NODE_EXTRA_CA_CERTS.
    edge = await startServer({ ROLE: 'edge', ORIGIN_URL: server.baseUrl, NODE_EXTRA_CA_CERTS: caPath, TLS_CERT: cert, TLS_KEY: key });
    untrusting = await startServer({ ROLE: 'edge', ORIGIN_URL: server.baseUrl, NODE_EXTRA_CA_CERTS: '' });
  });

  afterAll(async () => {
    await edge?.stop();
    await untrusting?.stop();
  });

  it('holds a blocking playlist request through the edge until the origin has the part, and streams a part', async () => {
    await expectBlockingReloadOverHttp2(edge.baseUrl, STREAM);
  });

  it('plays to ffprobe through the edge', async () => {
    const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_type', '-of', 'csv=p=0', `${edge.baseUrl}${multivariantPath(STREAM)}`], { timeout: 50_000 });
    expect(stdout.split('\n')).toContain('video');
  }, 60_000);

  it("relays the tracker's WebSocket to the origin over wss", async () => {
    await expectTrackerWebSocket(edge.baseUrl);
  });

  it('answers 502 when it does not trust the origin certificate', async () => {
    const res = await fetch(`${untrusting.baseUrl}${multivariantPath(STREAM)}`);
    expect(res.status).toBe(502);
    expect(untrusting.logLines.join('\n')).toMatch(/certificate/i);
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
