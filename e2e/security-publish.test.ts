// Publish authorization against the real server: each refusal with its status and headers (no key, wrong key, another
// stream's key, expired or other-stream publish token, DELETE without the key), a real publish with a per-stream key
// and with a publish token, the failed-attempt limit, the start refusal on a non-loopback HOST, and no key in the log.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintPublishToken } from '../server/access/index.ts';
import { MAX_FAILED_PUBLISH_ATTEMPTS } from '../server/access/publish-auth.ts';
import { mediaPlaylistUrl } from './support/live-hls.ts';
import { startNodePublisher, type NodePublisher } from './support/node-publisher.ts';
import { startServer, type RunningServer } from './support/server.ts';

const SECRET = 'e2e-publish-secret-of-32-chars-or-more';
const STREAM_KEYS = { alpha: 'alpha-stream-key-0001', beta: 'beta-stream-key-00002' };

let server: RunningServer;
let dir: string;
const publishers: NodePublisher[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'swarmcast-publish-auth-'));
  await writeFile(join(dir, 'keys.json'), JSON.stringify(STREAM_KEYS));
  server = await startServer({ PUBLISH_KEYS_FILE: join(dir, 'keys.json'), PUBLISH_SECRET: SECRET });
});

afterAll(async () => {
  for (const publisher of publishers) await publisher.stop();
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** POSTs an offer-shaped body to the publish API with `key` as the bearer credentials (none when undefined). */
function post(stream: string, key: string | undefined): Promise<Response> {
  return fetch(`${server.baseUrl}/api/publish/${stream}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/sdp', ...(key === undefined ? {} : { Authorization: `Bearer ${key}` }) },
    body: 'v=0\r\n',
  });
}

const nowS = (): number => Math.floor(Date.now() / 1000);

describe('publish authorization', () => {
  it('answers 401 with WWW-Authenticate without a key or with a wrong one', async () => {
    const missing = await post('alpha', undefined);
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer realm="swarmcast"');
    const wrong = await post('alpha', 'not-a-key-of-this-server');
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Bearer realm="swarmcast", error="invalid_token"/);
  });

  it("answers 403 to another stream's key and to another stream's publish token", async () => {
    expect((await post('alpha', STREAM_KEYS.beta)).status).toBe(403);
    expect((await post('alpha', await mintPublishToken(SECRET, 'beta', 60))).status).toBe(403);
  });

  it('answers 401 invalid_token to an expired publish token', async () => {
    const expired = await mintPublishToken(SECRET, 'alpha', 60, nowS() - 120);
    const res = await post('alpha', expired);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
    expect(await res.text()).toMatch(/expired/);
  });

  it("publishes with the stream's own key and with a publish token; stopping needs the key too", async () => {
    const alpha = await startNodePublisher({ baseUrl: server.baseUrl, stream: 'alpha', publishKey: STREAM_KEYS.alpha });
    publishers.push(alpha);
    const gamma = await startNodePublisher({ baseUrl: server.baseUrl, stream: 'gamma', publishKey: await mintPublishToken(SECRET, 'gamma', 300) });
    publishers.push(gamma);
    await mediaPlaylistUrl(server.baseUrl, 'alpha');
    await mediaPlaylistUrl(server.baseUrl, 'gamma');
    const session = new URL(alpha.location!, server.baseUrl);
    expect((await fetch(session, { method: 'DELETE' })).status).toBe(401);
    expect((await fetch(session, { method: 'DELETE', headers: { Authorization: `Bearer ${STREAM_KEYS.beta}` } })).status).toBe(403);
    expect((await fetch(session, { method: 'DELETE', headers: { Authorization: `Bearer ${STREAM_KEYS.alpha}` } })).status).toBe(204);
  });

  it('never writes a key or token into the log', () => {
    const log = server.logLines.join('\n');
    expect(log).toMatch(/publish\.unauthorized stream=alpha reason=other-stream/);
    for (const secret of [...Object.values(STREAM_KEYS), SECRET, 'not-a-key-of-this-server', 'eyJ']) expect(log).not.toContain(secret);
  });

  it('refuses every attempt with 429 and Retry-After once an address made too many failed ones', async () => {
    let status = 0;
    let attempts = 0;
    // The attempts above already count; the limit is reached within MAX_FAILED_PUBLISH_ATTEMPTS more.
    while (attempts <= MAX_FAILED_PUBLISH_ATTEMPTS && status !== 429) {
      status = (await post('beta', `wrong-key-attempt-${attempts++}`)).status;
    }
    expect(status).toBe(429);
    const withRightKey = await post('beta', STREAM_KEYS.beta);
    expect(withRightKey.status).toBe(429);
    expect(Number(withRightKey.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

describe('publish limits behind a trusted proxy', () => {
  it("counts each publisher's X-Forwarded-For address when the proxy is in TRUSTED_PROXIES", async () => {
    const proxied = await startServer({ PUBLISH_KEY: 'proxied-publish-key-01', TRUSTED_PROXIES: '127.0.0.1' });
    try {
      const attempt = (forwardedFor: string, key: string): Promise<Response> =>
        fetch(`${proxied.baseUrl}/api/publish/gamma`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/sdp', Authorization: `Bearer ${key}`, 'X-Forwarded-For': forwardedFor },
          body: 'v=0\r\n',
        });
      let status = 0;
      for (let attempts = 0; attempts <= MAX_FAILED_PUBLISH_ATTEMPTS && status !== 429; attempts++) {
        status = (await attempt('203.0.113.7', `wrong-key-${attempts}`)).status;
      }
      expect(status).toBe(429);
      // Another publisher behind the same proxy still has its own budget.
      expect((await attempt('203.0.113.8', 'wrong-key-other')).status).toBe(401);
      expect((await attempt('203.0.113.7', 'proxied-publish-key-01')).status).toBe(429);
    } finally {
      await proxied.stop();
    }
  });
});

describe('start on a non-loopback HOST', () => {
  it('refuses to start without publish keys (exit 2, saying what to set), and starts with PUBLISH_AUTH=off', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
      cwd: resolve(import.meta.dirname, '..'),
      env: { ...process.env, HOST: '0.0.0.0', PORT: '0', PUBLISH_KEY: '', PUBLISH_KEYS_FILE: '', PUBLISH_SECRET: '', PUBLISH_AUTH: '' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const code = await new Promise<number | null>((done) => child.once('exit', done));
    expect(code).toBe(2);
    expect(stderr).toMatch(/HOST="0.0.0.0".*PUBLISH_KEY, PUBLISH_KEYS_FILE or PUBLISH_SECRET, or PUBLISH_AUTH=off/);

    const open = await startServer({ HOST: '0.0.0.0', PUBLISH_AUTH: 'off' });
    try {
      expect(open.baseUrl).toMatch(/^http:\/\/localhost:\d+$/);
      expect(await open.waitForLog(/WARN publish\.open/)).toBeTruthy();
    } finally {
      await open.stop();
    }
  });
});
