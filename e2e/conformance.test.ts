// LL-HLS conformance against a live stream: a test-source broadcast in real Chromium, its media playlist walked for 30 s
// like a low-latency client, every snapshot checked against the spec's rules, every object fetched, parts decoded by ffprobe.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import HLS from 'hls-parser';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { multivariantPath } from '../shared/playback-path.ts';
import { checkLivePlaylists, formatViolations, type ConformanceReport } from './conformance/checker.ts';
import { fetchSnapshot, nextPart, playlistUrl, walkLivePlaylist, type WalkResult } from './conformance/live-walker.ts';
import { decodeVideo } from './conformance/media-probe.ts';
import type { MediaPlaylistModel, PlaylistSegment } from './conformance/media-playlist.ts';
import { launchChromium } from './support/browser.ts';
import { startServer, type RunningServer } from './support/server.ts';

const STREAM = 'conformance';
const WALK_MS = 30_000;
// Probing every part of a 30 s walk costs more than the file's time budget; three whole segments cover every part position.
const PROBED_SEGMENTS = 3;
const FRAME_RATE = 30;

let server: RunningServer;
let browser: Browser | undefined;
let tmp: string;
let mediaUrl: URL;
let otherRenditions: string[];
let walk: WalkResult;
let report: ConformanceReport;

async function waitForMultivariant(url: string, timeoutMs: number): Promise<HLS.types.MasterPlaylist> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(url);
    if (res.status === 200) return HLS.parse(await res.text()) as HLS.types.MasterPlaylist;
    await res.body?.cancel();
    if (Date.now() > deadline) throw new Error(`${url} still answers ${res.status} after ${timeoutMs} ms`);
    // The multivariant playlist appears with the first media; this poll only bounds how soon we notice.
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** `to` relative to `from`, as a playlist writes it (both under the same origin). */
function relativeUri(from: URL, to: URL): string {
  const fromDirs = from.pathname.split('/').slice(0, -1);
  const toParts = to.pathname.split('/');
  let common = 0;
  while (common < fromDirs.length && fromDirs[common] === toParts[common]) common++;
  return [...Array(fromDirs.length - common).fill('..'), ...toParts.slice(common)].join('/');
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'swarmcast-conformance-'));
  server = await startServer();
  browser = await launchChromium();
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${server.baseUrl}/broadcast?stream=${STREAM}&source=test&autostart=1`);
  await page.waitForSelector('body[data-state="live"]', { timeout: 20_000 });
  const multivariantUrl = `${server.baseUrl}${multivariantPath(STREAM)}`;
  const multivariant = await waitForMultivariant(multivariantUrl, 20_000);
  const renditionUrls = [
    ...multivariant.variants.map((v) => new URL(v.uri, multivariantUrl)),
    ...multivariant.variants.flatMap((v) => [...v.audio, ...v.video].filter((r) => r.uri).map((r) => new URL(r.uri!, multivariantUrl))),
  ];
  mediaUrl = renditionUrls[0]!;
  otherRenditions = [...new Set(renditionUrls.slice(1).map((u) => u.href))].filter((href) => href !== mediaUrl.href).map((href) => relativeUri(mediaUrl, new URL(href)));
  // The first segment must exist before blocking reloads can be aimed at the next part.
  await fetchSnapshot(mediaUrl, { msn: 0 });
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('LL-HLS conformance of a live stream', () => {
  it('keeps every MUST rule of the spec across 30 s of blocking reloads, full and delta', async () => {
    walk = await walkLivePlaylist(mediaUrl, WALK_MS);
    report = checkLivePlaylists(walk.snapshots, { otherRenditions });
    expect(walk.snapshots.length).toBeGreaterThan(100);
    expect(formatViolations(report.errors)).toBe('');
    if (report.warnings.length > 0) console.warn(`LL-HLS SHOULD rules not met:\n${formatViolations(report.warnings)}`);
  }, WALK_MS + 20_000);

  it('answers _HLS_skip=YES with delta updates that match the full playlist', () => {
    const deltas = walk.snapshots.filter((s) => s.playlist.skipTagCount > 0);
    expect(deltas.length).toBeGreaterThan(0);
    expect(report.deltaPairsCompared).toBeGreaterThan(0);
  });

  it('lists EXT-X-INDEPENDENT-SEGMENTS and starts every segment with an independent part', () => {
    const last = walk.snapshots.at(-1)!.playlist;
    expect(last.independentSegments).toBe(true);
    for (const { playlist } of walk.snapshots) {
      for (const segment of playlist.segments) {
        if (segment.parts.length > 0 && segment.uri !== null) expect(segment.parts[0]!.independent).toBe(true);
      }
    }
  });

  it('serves every init, part (but GAP=YES ones) and segment URI the playlists name with 200', () => {
    const failed = [...walk.objects].filter(([, o]) => o.status !== 200 || o.bytes.byteLength === 0).map(([url, o]) => `${o.status} ${url}`);
    expect(failed).toEqual([]);
    expect(walk.objects.size).toBeGreaterThan(100);
  });

  it('holds a request for the hinted part and serves it with the bytes later listed under that URI', () => {
    const listedLater = [...walk.hinted].filter(([url]) => walk.objects.has(url));
    expect(listedLater.length).toBeGreaterThan(50);
    for (const [url, held] of listedLater) {
      expect(held.status, url).toBe(200);
      expect(Buffer.from(held.bytes).equals(Buffer.from(walk.objects.get(url)!.bytes)), `${url}: same bytes as the listed part`).toBe(true);
    }
    // A hint the server did not publish after all (the segment was cut before it) is answered Not Found; the last hint of
    // the walk may simply not have been listed yet.
    const lastHints = new Set(walk.snapshots.at(-1)!.playlist.partHints.map((uri) => new URL(uri, mediaUrl).href));
    for (const [url, held] of walk.hinted) if (!walk.objects.has(url) && !lastHints.has(url)) expect(held.status, url).toBe(404);
  });

  it('holds a blocking reload until the requested part exists and answers as soon as it does', async () => {
    const partTargetMs = (walk.snapshots[0]!.playlist.partTargetS ?? 0) * 1000;
    const nextHeld = walk.snapshots.filter((s) => s.request && s.request.skip === undefined).map((s) => s.heldMs).sort((a, b) => a - b);
    const median = nextHeld[Math.floor(nextHeld.length / 2)]!;
    // Asking for the next part each time, a client waits about one part per reload: held, and not held for long.
    expect(median).toBeGreaterThan(0.25 * partTargetMs);
    expect(median).toBeLessThan(2 * partTargetMs);

    for (let attempt = 0; attempt < 3; attempt++) {
      const now = await fetchSnapshot(mediaUrl);
      const next = nextPart(now.playlist)!;
      const twoAhead = { msn: next.msn, part: next.part + 1 };
      const answer = await fetchSnapshot(mediaUrl, twoAhead);
      const edge = lastPartOf(answer.playlist);
      expect(answer.heldMs).toBeGreaterThan(0.5 * partTargetMs);
      expect(answer.heldMs).toBeLessThan(4 * partTargetMs + 500);
      // Answered right after the part appeared: the playlist ends at it (or at the first part of the next segment).
      const reached = edge.msn > twoAhead.msn || (edge.msn === twoAhead.msn && edge.index >= twoAhead.part);
      expect(reached).toBe(true);
      const partsPast = edge.msn === twoAhead.msn ? edge.index - twoAhead.part : edge.index;
      expect(partsPast).toBeLessThanOrEqual(1);
    }
  });

  it('answers _HLS_part without _HLS_msn, and an _HLS_msn far ahead, with 400', async () => {
    const bare = new URL(mediaUrl);
    bare.searchParams.set('_HLS_part', '0');
    expect((await fetch(bare)).status).toBe(400);
    const now = await fetchSnapshot(mediaUrl);
    const lastMsn = now.playlist.segments.at(-1)!.msn;
    const farAhead = await fetch(playlistUrl(mediaUrl, { msn: lastMsn + 10 }));
    expect(farAhead.status).toBe(400);
  });

  it('serves parts that ffprobe decodes, independent ones from a key frame, and segments of their EXTINF worth of frames', async () => {
    await browser?.close();
    browser = undefined;
    // From the middle of the walk, past the encoder's warm-up; GAP parts are unavailable by definition, so not these.
    const candidates = completeSegmentsWithParts(walk).filter((s) => s.parts.every((p) => !p.gap));
    const middle = Math.floor((candidates.length - PROBED_SEGMENTS) / 2);
    const segments = candidates.slice(middle, middle + PROBED_SEGMENTS);
    expect(segments.length).toBe(PROBED_SEGMENTS);
    const init = objectBytes(walk.snapshots[0]!.playlist.mapUri!);
    for (const segment of segments) {
      let chain: Uint8Array[] = [];
      let chainFrames = 0;
      for (const [index, part] of segment.parts.entries()) {
        const bytes = objectBytes(part.uri);
        if (part.independent) {
          chain = [];
          chainFrames = 0;
          const alone = await decodeVideo(tmp, [init, bytes]);
          expect(alone.errors, `${part.uri} alone`).toBe('');
          expect(alone.frames.length, `${part.uri} alone`).toBeGreaterThan(0);
          expect(alone.frames[0]!.keyFrame, `${part.uri} starts with a key frame`).toBe(true);
        }
        chain.push(bytes);
        // A part that is not independent decodes after the parts since the last independent one.
        const decoded = await decodeVideo(tmp, [init, ...chain]);
        expect(decoded.errors, `${segment.msn}.${index} after its independent part`).toBe('');
        expect(decoded.frames.length, `${segment.msn}.${index} adds frames`).toBeGreaterThan(chainFrames);
        chainFrames = decoded.frames.length;
      }
      const whole = await decodeVideo(tmp, [init, objectBytes(segment.uri!)]);
      expect(whole.errors, `segment ${segment.msn}`).toBe('');
      expect(whole.frames[0]?.keyFrame, `segment ${segment.msn} starts with a key frame`).toBe(true);
      const expectedFrames = Math.round(segment.durationS! * FRAME_RATE);
      expect(Math.abs(whole.frames.length - expectedFrames), `segment ${segment.msn}: ${whole.frames.length} frames for ${segment.durationS} s`).toBeLessThanOrEqual(3);
      const fromParts = await decodeVideo(tmp, [init, ...segment.parts.map((p) => objectBytes(p.uri))]);
      expect(fromParts.frames.length, `segment ${segment.msn}: its parts hold the same frames`).toBe(whole.frames.length);
    }
  }, 40_000);
});

function lastPartOf(playlist: MediaPlaylistModel): { msn: number; index: number } {
  const withParts = playlist.segments.filter((s) => s.parts.length > 0).at(-1)!;
  return { msn: withParts.msn, index: withParts.parts.length - 1 };
}

/** Completed segments seen with all their parts listed, oldest first, one entry per MSN. */
function completeSegmentsWithParts(result: WalkResult): PlaylistSegment[] {
  const byMsn = new Map<number, PlaylistSegment>();
  for (const { playlist } of result.snapshots) {
    for (const segment of playlist.segments) {
      if (segment.uri !== null && segment.parts.length > 0 && !byMsn.has(segment.msn)) byMsn.set(segment.msn, segment);
    }
  }
  return [...byMsn.values()].sort((a, b) => a.msn - b.msn);
}

function objectBytes(uri: string): Uint8Array {
  const object = walk.objects.get(new URL(uri, mediaUrl).href);
  if (!object || object.status !== 200) throw new Error(`${uri} was not fetched (${object?.status})`);
  return object.bytes;
}
