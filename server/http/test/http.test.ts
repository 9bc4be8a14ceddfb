// The shared HTTP reply rules on a real loopback server: Accept-Encoding negotiation, one ETag per content-coding,
// 304s for either coding, and CORS on every reply, errors and preflight included.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { rawGet } from '../../../e2e/support/live-hls.ts';
import { answerPreflight, codingEtag, etagOf, gzip, negotiateCoding, sendEntity, sendText } from '../index.ts';

const closers: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function serve(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  closers.push(async () => {
    server.closeAllConnections();
    await new Promise<void>((done) => server.close(() => done()));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const TEXT = '#EXTM3U\n' + '#EXT-X-PART:DURATION=0.2,URI="e-1.0.m4s"\n'.repeat(30);

/** A server answering every request with one compressible entity. */
function entityServer(): Promise<string> {
  const body = Buffer.from(TEXT);
  return serve((req, res) => {
    sendEntity(req, res, {
      status: 200,
      headers: { 'content-type': 'application/vnd.apple.mpegurl', 'cache-control': 'no-cache' },
      body,
      etag: etagOf(body),
      gzipped: () => gzip(body),
    });
  });
}

describe('Accept-Encoding negotiation', () => {
  it('picks gzip when the client rates it above zero and identity otherwise, honouring q-values', () => {
    const coding = (acceptEncoding?: string): string => negotiateCoding(acceptEncoding === undefined ? {} : { 'accept-encoding': acceptEncoding });
    expect(coding()).toBe('identity');
    expect(coding('')).toBe('identity');
    expect(coding('gzip')).toBe('gzip');
    expect(coding('gzip, deflate, br')).toBe('gzip');
    expect(coding('br;q=1, gzip;q=0.8')).toBe('gzip');
    expect(coding('gzip;q=0')).toBe('identity');
    expect(coding('gzip;q=0.000, deflate')).toBe('identity');
    expect(coding('identity;q=1, gzip;q=0.5')).toBe('identity');
    expect(coding('gzip;q=0.5, identity;q=0')).toBe('gzip');
    expect(coding('*;q=0, identity')).toBe('identity');
    expect(coding('br')).toBe('identity');
    expect(coding('GZIP;Q=0.9')).toBe('gzip');
  });
});

describe('ETags per content-coding', () => {
  it('names the gzip representation with a tag of its own, derived from the identity tag', () => {
    const identity = etagOf('#EXTM3U\n');
    expect(identity).toMatch(/^"[^"]+"$/);
    expect(codingEtag(identity, 'identity')).toBe(identity);
    expect(codingEtag(identity, 'gzip')).not.toBe(identity);
    expect(codingEtag(identity, 'gzip')).toBe(`${identity.slice(0, -1)}-gzip"`);
    expect(codingEtag('W/"abc"', 'gzip')).toBe('W/"abc-gzip"');
    expect(etagOf('#EXTM3U\n#EXT-X-VERSION:9\n')).not.toBe(identity);
  });

  it('answers gzip and identity with different ETags, Vary on both, and the same text once inflated', async () => {
    const url = await entityServer();
    const zipped = await rawGet(url, { headers: { 'Accept-Encoding': 'gzip' } });
    const plain = await rawGet(url, { headers: { 'Accept-Encoding': 'gzip;q=0' } });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(gunzipSync(zipped.body).toString()).toBe(TEXT);
    expect(plain.body.toString()).toBe(TEXT);
    expect(Number(zipped.headers['content-length'])).toBe(zipped.body.byteLength);
    expect(zipped.headers.etag).toBe(codingEtag(String(plain.headers.etag), 'gzip'));
    expect(zipped.headers.etag).not.toBe(plain.headers.etag);
    for (const answer of [zipped, plain]) expect(answer.headers.vary).toBe('Accept-Encoding');
  });

  it('answers 304 to a client holding the representation it would get, for either coding, and 200 otherwise', async () => {
    const url = await entityServer();
    const zipped = await rawGet(url, { headers: { 'Accept-Encoding': 'gzip' } });
    const plain = await rawGet(url);
    const zippedAgain = await rawGet(url, { headers: { 'Accept-Encoding': 'gzip', 'If-None-Match': String(zipped.headers.etag) } });
    expect(zippedAgain.status).toBe(304);
    expect(zippedAgain.body.byteLength).toBe(0);
    expect(zippedAgain.headers.etag).toBe(zipped.headers.etag);
    expect(zippedAgain.headers['access-control-allow-origin']).toBe('*');
    const plainAgain = await rawGet(url, { headers: { 'If-None-Match': String(plain.headers.etag) } });
    expect(plainAgain.status).toBe(304);
    expect(plainAgain.headers.etag).toBe(plain.headers.etag);
    // A tag names one representation: the identity tag does not validate the gzip body, nor the other way round.
    expect((await rawGet(url, { headers: { 'Accept-Encoding': 'gzip', 'If-None-Match': String(plain.headers.etag) } })).status).toBe(200);
    expect((await rawGet(url, { headers: { 'If-None-Match': String(zipped.headers.etag) } })).status).toBe(200);
    // fetch() adds Cache-Control: no-cache to conditional requests; the server holds the current bytes, so still a 304.
    expect((await rawGet(url, { headers: { 'If-None-Match': String(plain.headers.etag), 'Cache-Control': 'no-cache' } })).status).toBe(304);
  });

  it('answers HEAD with the headers of the GET and no body', async () => {
    const url = await entityServer();
    const get = await rawGet(url, { headers: { 'Accept-Encoding': 'gzip' } });
    const head = await rawGet(url, { headers: { 'Accept-Encoding': 'gzip' }, method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body.byteLength).toBe(0);
    expect(head.headers.etag).toBe(get.headers.etag);
    expect(head.headers['content-length']).toBe(get.headers['content-length']);
  });
});

describe('CORS', () => {
  it('puts CORS headers on error replies, so a player on another site can read why', async () => {
    const url = await serve((_req, res) => sendText(res, 404, 'unknown stream nope', { 'Retry-After': '1' }));
    const answer = await rawGet(url, { headers: { Origin: 'https://player.example' } });
    expect(answer.status).toBe(404);
    expect(answer.body.toString()).toBe('unknown stream nope\n');
    expect(answer.headers['access-control-allow-origin']).toBe('*');
    expect(answer.headers['access-control-expose-headers']).toMatch(/\bETag\b/);
    expect(answer.headers['access-control-expose-headers']).toMatch(/\bAge\b/);
    expect(answer.headers['cache-control']).toBe('no-store');
    expect(answer.headers['retry-after']).toBe('1');
  });

  it('answers a preflight with the methods a player uses', async () => {
    const url = await serve((_req, res) => answerPreflight(res));
    const answer = await rawGet(url, { headers: { Origin: 'https://player.example', 'Access-Control-Request-Method': 'GET' }, method: 'OPTIONS' });
    expect(answer.status).toBe(204);
    expect(answer.headers['access-control-allow-origin']).toBe('*');
    expect(answer.headers['access-control-allow-methods']).toBe('GET, HEAD');
    expect(answer.headers['access-control-max-age']).toBe('86400');
  });
});
