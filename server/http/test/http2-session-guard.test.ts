// The HTTP/2 session guard on a real TLS HTTP/2 server with short limits: a session that never asks, one that trickles a
// header block and one that only pings are cut; one that keeps asking is not.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../../../e2e/support/poll.ts';
import { openRawHttp2, type RawHttp2Connection } from '../../../e2e/support/raw-http2.ts';
import { guardSession, judgeSession, type SessionActivity } from '../http2-session-guard.ts';

const LIMITS = { headersTimeoutMs: 600, idleTimeoutMs: 1_500, checkIntervalMs: 50 };
const run = promisify(execFile);

let dir: string;
let ca: Buffer;
let server: http2.Http2SecureServer;
let port: number;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'swarmcast-h2guard-'));
  const [cert, key] = [join(dir, 'cert.pem'), join(dir, 'key.pem')];
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert]);
  ca = await readFile(cert);
  server = http2.createSecureServer({ cert: ca, key: await readFile(key) });
  server.on('session', (session) => guardSession(session, LIMITS));
  server.on('stream', (stream) => {
    stream.respond({ ':status': 200 });
    stream.end('ok');
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((done) => server?.close(done));
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Calls `act` every `everyMs` until the connection closes or `forMs` pass; resolves with how long it stayed open. */
async function keepDoing(connection: RawHttp2Connection, everyMs: number, forMs: number, act: () => void): Promise<number> {
  const timer = setInterval(act, everyMs);
  await Promise.race([connection.closed, new Promise((done) => setTimeout(done, forMs))]);
  clearInterval(timer);
  return (connection.closedAtMs ?? performance.now()) - connection.openedAtMs;
}

describe('judgeSession', () => {
  const base: SessionActivity = { connectedAtMs: 0, lastCompletedStreamId: 1, lastBegunStreamId: 1, headersPendingSinceMs: null, openStreams: 1, idleSinceMs: 0 };
  it('names each reason, and lets a busy session be', () => {
    expect(judgeSession(base, 10_000, LIMITS)).toBe('ok');
    expect(judgeSession({ ...base, lastCompletedStreamId: 0 }, 601, LIMITS)).toBe('first-request-too-slow');
    expect(judgeSession({ ...base, lastCompletedStreamId: 0 }, 599, LIMITS)).toBe('ok');
    expect(judgeSession({ ...base, headersPendingSinceMs: 1_000 }, 1_601, LIMITS)).toBe('headers-too-slow');
    expect(judgeSession({ ...base, openStreams: 0, idleSinceMs: 1_000 }, 2_501, LIMITS)).toBe('idle');
    expect(judgeSession({ ...base, openStreams: 0, idleSinceMs: 1_000 }, 2_400, LIMITS)).toBe('ok');
  });
});

describe('guardSession on a real HTTP/2 server', () => {
  it('cuts a session that sends its preface and settings, then only PINGs, at the head timeout, with GOAWAY ENHANCE_YOUR_CALM', async () => {
    const pinger = await openRawHttp2(port, ca);
    const openMs = await keepDoing(pinger, 100, 5_000, () => pinger.ping());
    expect(openMs).toBeGreaterThanOrEqual(LIMITS.headersTimeoutMs - 50);
    expect(openMs).toBeLessThan(LIMITS.headersTimeoutMs + 500);
    expect(pinger.goawayCode).toBe(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
  });

  it('cuts a session trickling a header block, while one asking every 100 ms stays open', async () => {
    const [slow, busy] = await Promise.all([openRawHttp2(port, ca), openRawHttp2(port, ca)]);
    slow.get(1, '/');
    let busyStream = 1;
    busy.get(busyStream, '/');
    const busyTimer = setInterval(() => busy.get((busyStream += 2), '/'), 100);
    await pollUntil(async () => slow.answeredStreams.has(1), Boolean, 2_000, 'stream 1 answered');
    expect(slow.answeredStreams.has(1)).toBe(true);
    const begunMs = performance.now();
    slow.beginHeaders(3);
    await keepDoing(slow, 100, 5_000, () => slow.continueHeaders(3));
    clearInterval(busyTimer);
    const slowMs = slow.closedAtMs! - begunMs;
    expect(slowMs).toBeGreaterThanOrEqual(LIMITS.headersTimeoutMs - 50);
    expect(slowMs).toBeLessThan(LIMITS.headersTimeoutMs + 500);
    expect(slow.answeredStreams.has(3)).toBe(false);
    expect(busy.closedAtMs).toBeUndefined();
    expect(busy.answeredStreams.size).toBeGreaterThan(5);
    busy.destroy();
  });

  it('cuts a session that answered requests once and now only PINGs, at the idle timeout', async () => {
    const idle = await openRawHttp2(port, ca);
    idle.get(1, '/');
    const openMs = await keepDoing(idle, 100, 5_000, () => idle.ping());
    expect(idle.answeredStreams.has(1)).toBe(true);
    expect(openMs).toBeGreaterThanOrEqual(LIMITS.idleTimeoutMs - 50);
    expect(openMs).toBeLessThan(LIMITS.idleTimeoutMs + 600);
  });
});
