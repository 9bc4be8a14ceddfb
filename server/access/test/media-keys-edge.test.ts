// Media keys behind the built-in edge: a key is cached like a segment, so 200 viewers asking for it at once make one
// upstream request, and what the edge passes on is the origin's key and ciphertext, byte for byte.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { keyObjectName, partObjectName } from '../../../shared/playback-path.ts';
import { Edge } from '../../edge/index.ts';
import { attachLive, startOrigin, type OriginHarness } from '../../origin/test/http-harness.ts';
import { PARTS_PER_SEGMENT } from '../../origin/test/fake-packager.ts';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function edgeInFrontOf(origin: OriginHarness): Promise<{ url: string; edge: Edge }> {
  const edge = new Edge({ originUrls: [origin.baseUrl] });
  const server = http.createServer((req, res) => edge.handle(req, res));
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  closers.push(async () => {
    edge.close();
    server.closeAllConnections();
    await new Promise<void>((done) => server.close(() => done()));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, edge };
}

async function upstreamRequests(edge: Edge, kind: string): Promise<number> {
  const text = await edge.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`swarmcast_edge_upstream_requests_total{kind="${kind}"} `));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('media keys at the edge', () => {
  it('answers 200 simultaneous requests for a key with one upstream request and the origin bytes', async () => {
    const origin = await startOrigin({ encryption: { streams: ['cam'], rotationSegments: 2 } });
    closers.push(() => origin.close());
    const { stream, packager } = attachLive(origin);
    packager.sendInit();
    packager.sendParts(PARTS_PER_SEGMENT + 2);
    const { url, edge } = await edgeInFrontOf(origin);
    const keyPath = `/live/cam/v0/${keyObjectName(stream.epoch, 0)}`;
    const fromOrigin = Buffer.from(await (await fetch(`${origin.baseUrl}${keyPath}`)).arrayBuffer());
    const answers = await Promise.all(Array.from({ length: 200 }, async () => {
      const res = await fetch(`${url}${keyPath}`);
      return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
    }));
    expect(answers.every((a) => a.status === 200 && a.body.equals(fromOrigin))).toBe(true);
    expect(await upstreamRequests(edge, 'key')).toBe(1);
    const partPath = `/live/cam/v0/${partObjectName(stream.epoch, 1, 0)}`;
    const [viaEdge, direct] = await Promise.all([fetch(`${url}${partPath}`), fetch(`${origin.baseUrl}${partPath}`)].map(async (p) => Buffer.from(await (await p).arrayBuffer())));
    expect(viaEdge!.equals(direct!)).toBe(true);
    expect(direct!.equals(Buffer.from(packager.emitted.parts.at(-2)!.data))).toBe(false);
  });
});
