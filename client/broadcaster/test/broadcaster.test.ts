// The broadcaster in real Chromium: the wire messages its encode pipeline sends, and the page's behaviour on bad input.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PeerConnection, type DataChannel } from 'node-datachannel';
import type { Connect } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FRAGMENT_HEADER_BYTES, type ChunkMessage, type ClockMessage, type WireMessage } from '../../../shared/protocol/index.ts';
import { ChannelDemux } from '../../../server/ingest/channel-demux.ts';
import { startBrowserFixture, type BrowserFixture } from '../../../e2e/support/vite.ts';
import type { HarnessOptions, HarnessResult } from './harness.ts';

const SEGMENT_TARGET_MS = 1000;
const FRAME_US = 1_000_000 / 30;
/** The default ladder in Chromium: H.264 720p, 480p, 240p on tracks 0-2, then the audio track. */
const RUNGS = [
  { rendition: '720p', width: 1280, height: 720, bitrate: 2_500_000 },
  { rendition: '480p', width: 854, height: 480, bitrate: 1_200_000 },
  { rendition: '240p', width: 426, height: 240, bitrate: 400_000 },
];
const AUDIO = RUNGS.length;

let fixture: BrowserFixture;

/**
 * A minimal stand-in for the ingest on `/api/publish/rtc`: a real node-datachannel peer that records what arrives,
 * through the ingest's own channel rules (ChannelDemux).
 */
const rtcIngest = {
  messages: [] as WireMessage[],
  labels: [] as string[],
  /** Every channel sent its `end`. */
  ended: false,
  errors: [] as string[],
  offer: '',
  deleted: false,
  peer: undefined as PeerConnection | undefined,
  // node-datachannel closes a channel whose JS object is garbage-collected: keep them referenced.
  channels: [] as DataChannel[],
};

/** Replays the frames the harness recorded per channel through the ingest's channel rules, control channel first. */
function replay(result: HarnessResult): { messages: WireMessage[]; frames: Map<string, Uint8Array[]>; ended: boolean } {
  const demux = new ChannelDemux();
  const messages: WireMessage[] = [];
  const frames = new Map(result.channels.map(([label, b64s]) => [label, b64s.map((b64) => new Uint8Array(Buffer.from(b64, 'base64')))]));
  for (const label of frames.keys()) demux.attach(label);
  for (const [label, list] of frames) for (const frame of list) messages.push(...demux.push(label, frame));
  return { messages, frames, ended: demux.finished };
}

const answerOffer: Connect.NextHandleFunction = (req, res) => {
  if (req.method === 'DELETE' && req.url === '/session') {
    rtcIngest.deleted = true;
    res.statusCode = 204;
    res.end();
    return;
  }
  const body: Buffer[] = [];
  req.on('data', (b: Buffer) => body.push(b));
  req.on('end', () => {
    rtcIngest.offer = Buffer.concat(body).toString();
    const peer = new PeerConnection('test-ingest', { iceServers: [], bindAddress: '127.0.0.1', maxMessageSize: 256 * 1024 });
    rtcIngest.peer = peer;
    const demux = new ChannelDemux();
    peer.onDataChannel((dc) => {
      rtcIngest.channels.push(dc);
      const label = dc.getLabel();
      rtcIngest.labels.push(label);
      try {
        demux.attach(label);
      } catch (err) {
        rtcIngest.errors.push(String(err));
      }
      dc.onMessage((msg) => {
        if (typeof msg === 'string') return void rtcIngest.errors.push('text message');
        try {
          rtcIngest.messages.push(...demux.push(label, new Uint8Array(msg as ArrayBuffer)));
          rtcIngest.ended = demux.finished;
        } catch (err) {
          rtcIngest.errors.push(String(err));
        }
      });
    });
    peer.onGatheringStateChange((state) => {
      if (state !== 'complete') return;
      res.statusCode = 201;
      res.setHeader('Content-Type', 'application/sdp');
      res.setHeader('Location', '/api/publish/rtc/session');
      res.setHeader('X-Segment-Target-Ms', '1000');
      res.setHeader('X-Part-Target-Ms', '200');
      res.end(peer.localDescription()?.sdp ?? '');
    });
    peer.setRemoteDescription(rtcIngest.offer, 'offer');
  });
};

beforeAll(async () => {
  fixture = await startBrowserFixture([
    {
      name: 'fake-ingest',
      configureServer(server) {
        // Stands in for the ingest's answer when the name is taken, so the page's wording can be checked.
        server.middlewares.use('/api/publish/taken', (req, res) => {
          res.statusCode = req.method === 'POST' ? 409 : 405;
          res.setHeader('Content-Type', 'text/plain');
          res.end('stream is already live');
        });
        server.middlewares.use('/api/publish/rtc', answerOffer);
      },
    },
  ]);
});

afterAll(async () => {
  rtcIngest.peer?.close();
  await fixture?.close();
});

/** Runs the harness once in a page of its own: what it recorded, and the page errors seen meanwhile. */
async function runHarnessPage(opts: HarnessOptions): Promise<{ result: HarnessResult; errors: string[] }> {
  const page = await fixture.browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(String(err)));
  try {
    await page.goto(`${fixture.origin}/client/broadcaster/test/harness.html`);
    await page.waitForFunction(() => typeof window.runHarness === 'function');
    return { result: await page.evaluate((o) => window.runHarness(o), opts), errors };
  } finally {
    await page.close();
  }
}

describe('encode pipeline with the test source and the default ladder', () => {
  let result: HarnessResult;
  let messages: WireMessage[];
  let rawFrames: Map<string, Uint8Array[]>;
  let ended: boolean;
  let startedAtMs: number;
  let endedAtMs: number;

  beforeAll(async () => {
    const page = await fixture.browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(String(err)));
    await page.goto(`${fixture.origin}/client/broadcaster/test/harness.html`);
    await page.waitForFunction(() => typeof window.runHarness === 'function');
    startedAtMs = Date.now();
    result = await page.evaluate((opts) => window.runHarness(opts), { durationMs: 3000, segmentTargetMs: SEGMENT_TARGET_MS, source: 'test' as const });
    endedAtMs = Date.now();
    await page.close();
    expect(errors).toEqual([]);
    ({ messages, frames: rawFrames, ended } = replay(result));
  }, 60_000);

  const clockOf = (): ClockMessage => messages.find((m): m is ClockMessage => m.type === 'clock')!;

  const chunksOf = (trackId: number): ChunkMessage[] =>
    messages.filter((m): m is ChunkMessage => m.type === 'chunk' && m.trackId === trackId);

  it('sends a video track with its avcC per rung, the audio track, the clock that seals the header, chunks on their channels, then end on each', () => {
    expect([...rawFrames.keys()]).toEqual(['swarmcast', 'swarmcast/0', 'swarmcast/1', 'swarmcast/2', `swarmcast/${AUDIO}`]);
    RUNGS.forEach(({ rendition, width, height }, trackId) => {
      const video = messages[trackId];
      expect(video).toMatchObject({ type: 'track', kind: 'video', trackId, width, height, rendition });
      if (video?.type !== 'track') throw new Error('no video track');
      expect(video.codec).toMatch(/^avc1\.42/);
      expect(video.description?.[0]).toBe(1); // avcC configurationVersion
    });
    expect(messages[AUDIO]).toMatchObject({ type: 'track', kind: 'audio', trackId: AUDIO, codec: 'opus', sampleRate: 48_000, channels: 2 });
    expect(messages[AUDIO + 1]?.type).toBe('clock');
    const body = messages.slice(AUDIO + 2);
    expect(body.length).toBeGreaterThan(100);
    expect(body.every((m) => m.type === 'chunk')).toBe(true);
    expect(ended).toBe(true);
  });

  it('stamps the clock with the wall-clock time of its media timestamp', () => {
    const clock = clockOf();
    expect(clock.wallClockMs).toBeGreaterThanOrEqual(startedAtMs - 50);
    expect(clock.wallClockMs).toBeLessThanOrEqual(endedAtMs);
  });

  it('never sends a chunk before the clock origin, and keeps each track in timestamp order', () => {
    const clock = clockOf();
    for (const trackId of [0, 1, 2, AUDIO]) {
      const chunks = chunksOf(trackId);
      expect(chunks.length).toBeGreaterThan(0);
      expect(chunks[0]!.timestampUs).toBeGreaterThanOrEqual(clock.timestampUs);
      for (let i = 1; i < chunks.length; i++) expect(chunks[i]!.timestampUs).toBeGreaterThan(chunks[i - 1]!.timestampUs);
    }
  });

  it('forces a keyframe on the first frame at or after every segment boundary, counted from the grid origin it sends', () => {
    const clock = clockOf();
    const video = chunksOf(0);
    expect(video[0]!.keyframe).toBe(true);
    // The grid's zero point is the first frame, and the clock's timestamp is never after it.
    expect(clock.gridOriginUs).toBe(video[0]!.timestampUs);
    const gridOriginUs = clock.gridOriginUs!;
    expect(clock.timestampUs).toBeLessThanOrEqual(gridOriginUs);
    const lastSegment = Math.floor((video.at(-1)!.timestampUs - gridOriginUs) / (SEGMENT_TARGET_MS * 1000));
    expect(lastSegment).toBeGreaterThanOrEqual(2);
    for (let k = 1; k <= lastSegment; k++) {
      const first = video.find((c) => c.timestampUs >= gridOriginUs + k * SEGMENT_TARGET_MS * 1000);
      expect(first?.keyframe, `frame opening segment ${k}`).toBe(true);
    }
  });

  it('gives every rung every frame, with its keyframes at the same timestamps as every other rung', () => {
    // A frame dropped under load (back-pressure, a full encoder queue) is dropped for every rung alike.
    const timestamps = (trackId: number): number[] => chunksOf(trackId).map((c) => c.timestampUs);
    const keyTimestamps = (trackId: number): number[] => chunksOf(trackId).filter((c) => c.keyframe).map((c) => c.timestampUs);
    expect(keyTimestamps(0).length).toBeGreaterThanOrEqual(3);
    for (const trackId of [1, 2]) {
      expect(timestamps(trackId), `rung ${trackId}'s frames`).toEqual(timestamps(0));
      expect(keyTimestamps(trackId), `rung ${trackId}'s keyframes`).toEqual(keyTimestamps(0));
    }
  });

  it('sends about 30 frames per second on an exact 30 fps timestamp grid', () => {
    const video = chunksOf(0);
    const spanS = (video.at(-1)!.timestampUs - video[0]!.timestampUs) / 1e6;
    expect((video.length - 1) / spanS).toBeGreaterThan(27);
    expect((video.length - 1) / spanS).toBeLessThan(31);
    const origin = video[0]!.timestampUs;
    for (const c of video) {
      const n = Math.round((c.timestampUs - origin) / FRAME_US);
      expect(Math.abs(c.timestampUs - origin - n * FRAME_US)).toBeLessThanOrEqual(1);
    }
    expect(video.every((c) => c.durationUs >= 33_000 && c.durationUs <= 33_334)).toBe(true);
  });

  it('sends audio as 20 ms Opus packets covering the stream', () => {
    const audio = chunksOf(AUDIO);
    const video = chunksOf(0);
    const spanUs = audio.at(-1)!.timestampUs - audio[0]!.timestampUs;
    expect(audio.length).toBeGreaterThan(100);
    expect(Math.abs(spanUs - (video.at(-1)!.timestampUs - video[0]!.timestampUs))).toBeLessThan(200_000);
  });

  it('fragments every chunk above 16 KB on its track channel, and the fragments reassemble into whole chunks', () => {
    const keyframes = chunksOf(0).filter((c) => c.keyframe);
    // The test picture's detail band makes its keyframes as large as a camera's, above 64 KB.
    expect(keyframes.every((c) => c.data.byteLength > 64 * 1024)).toBe(true);
    for (const trackId of [0, 1, 2]) {
      const frames = rawFrames.get(`swarmcast/${trackId}`)!;
      const large = chunksOf(trackId).filter((m) => 16 + m.data.byteLength > 16 * 1024).length;
      const firstFragments = frames.filter((f) => f[1] === 5 && f[6] === 0 && f[7] === 0).length;
      expect(firstFragments).toBe(large);
      expect(frames.every((f) => f.byteLength <= 16 * 1024)).toBe(true);
    }
    expect(FRAGMENT_HEADER_BYTES).toBe(10);
  });

  it('produces H.264 that ffprobe decodes frame for frame at each rung\'s size', () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmcast-bc-'));
    try {
      RUNGS.forEach(({ width, height }, trackId) => {
        const video = messages[trackId];
        if (video?.type !== 'track' || !video.description) throw new Error('no avcC');
        const file = join(dir, `video${trackId}.h264`);
        writeFileSync(file, toAnnexB(video.description, chunksOf(trackId)));
        const out = execFileSync('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,width,height,nb_read_frames', '-of', 'json', file]);
        const stream = JSON.parse(out.toString()).streams[0];
        expect(stream).toMatchObject({ codec_name: 'h264', width, height });
        expect(Number(stream.nb_read_frames)).toBe(chunksOf(trackId).length);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports each rung: its codec, size, target and send rate, frames, drops and encode latency', () => {
    const rungs = result.statsWhileLive.rungs;
    expect(rungs.map((r) => ({ rendition: r.rendition, configured: r.configured, state: r.state, width: r.width, height: r.height, bitrateKbps: r.bitrateKbps }))).toEqual(
      RUNGS.map(({ rendition, width, height, bitrate }) => ({ rendition, configured: rendition, state: 'encoding', width, height, bitrateKbps: bitrate / 1000 })),
    );
    for (const rung of rungs) {
      expect(rung.codec).toMatch(/^avc1\.42/);
      expect(rung.framesEncoded).toBeGreaterThan(60);
      expect(rung.droppedFrames).toBe(result.statsWhileLive.droppedFrames);
      expect(rung.encodeLatencyMs).toBeGreaterThan(0);
      expect(rung.encodeLatencyMs!).toBeLessThan(1000);
      expect(rung.sendKbps).toBeGreaterThan(0);
    }
    // A rung at a sixth of the top's bitrate sends less than it.
    expect(rungs[2]!.sendKbps).toBeLessThan(rungs[0]!.sendKbps);
    expect(result.statsAfterStop.rungs.map((r) => r.framesEncoded)).toEqual(RUNGS.map((_, trackId) => chunksOf(trackId).length));
  });

  it('moves through connecting and live back to idle, with live stats', () => {
    expect(result.states).toEqual(['idle', 'connecting', 'live', 'idle']);
    const s = result.statsWhileLive;
    expect(s).toMatchObject({ state: 'live', source: 'test', connectionState: 'connected', audioCodec: 'opus', error: null, renditions: ['720p', '480p', '240p'], segmentTargetMs: 1000 });
    expect(s.videoCodec).toMatch(/^avc1\./);
    expect(s.fps).toBeGreaterThan(20);
    expect(s.bitrateKbps).toBeGreaterThan(100);
    expect(s.framesSent).toBeGreaterThan(60);
    expect(s.bytesSent).toBeGreaterThan(100_000);
    expect(s.timeLiveMs).toBeGreaterThanOrEqual(3000);
    // Capture → encoded output of the top rung: positive, and far below a frame queue's worth of seconds.
    expect(s.encodeLatencyMs).toBeGreaterThan(0);
    expect(s.encodeLatencyMs!).toBeLessThan(1000);
    expect(result.statsAfterStop.state).toBe('idle');
    expect(result.statsAfterStop.framesSent).toBe(chunksOf(0).length);
  });
});

describe('back-pressure', () => {
  it('drops the top rung while its channel is congested, keeps audio and the lowest rung flowing, and resumes on a keyframe', async () => {
    const ladder = [
      { rendition: '720p', width: 1280, height: 720, bitrate: 2_500_000, codec: 'avc1.42001f' },
      { rendition: '240p', width: 426, height: 240, bitrate: 300_000, codec: 'avc1.42001f' },
    ];
    // 720p (~300 KB/s) on a channel that carries 30 KB/s from 1 s to 3 s live: its queue passes the top tier
    // (150 KB of 300 KB with two rungs) within a second.
    const { result } = await runHarnessPage({
      durationMs: 5000,
      segmentTargetMs: 10_000,
      source: 'test',
      ladder,
      congest: { atMs: 1000, untilMs: 3000, trackId: 0, bytesPerSecond: 30_000 },
      maxBufferedBytes: 300_000,
      lowBufferedBytes: 100_000,
      // Back-pressure alone: adaptive publishing would keep 720p paused for its restore hold after the congestion.
      adaptation: { enabled: false },
    });
    const { messages, ended } = replay(result);
    expect(ended).toBe(true);
    const chunks = (trackId: number): ChunkMessage[] => messages.filter((m): m is ChunkMessage => m.type === 'chunk' && m.trackId === trackId);
    const gapsOf = (list: ChunkMessage[]): { after: ChunkMessage; gapUs: number }[] =>
      list.slice(1).map((c, i) => ({ after: c, gapUs: c.timestampUs - list[i]!.timestampUs }));

    // The top rung: one long gap, after which it comes back on a keyframe.
    const top = gapsOf(chunks(0)).filter((g) => g.gapUs > 100_000);
    expect(top.length).toBe(1);
    expect(top[0]!.after.keyframe).toBe(true);
    const droppedByGap = Math.round(top[0]!.gapUs / FRAME_US) - 1;
    expect(droppedByGap).toBeGreaterThan(10);
    expect(result.statsWhileLive.droppedFrames).toBeGreaterThanOrEqual(droppedByGap);
    // The lowest rung never pauses, and gets the same keyframe as the top rung when it resumes (aligned renditions).
    const lowest = chunks(1);
    expect(Math.max(...gapsOf(lowest).map((g) => g.gapUs))).toBeLessThan(100_000);
    expect(lowest.find((c) => c.timestampUs === top[0]!.after.timestampUs)?.keyframe).toBe(true);
    // Audio is never held back.
    const audio = chunks(2);
    expect(audio.length).toBeGreaterThan(200);
    expect(gapsOf(audio).every((g) => g.gapUs <= 20_001)).toBe(true);
    // The stats showed the paused rung and the queue on its channel.
    const congested = result.statsHistory.filter((s) => s.pausedRenditions.length > 0);
    expect(congested.length).toBeGreaterThan(0);
    expect(congested.every((s) => s.pausedRenditions.join() === '720p')).toBe(true);
    expect(Math.max(...congested.map((s) => s.channelBufferedBytes['720p'] ?? 0))).toBeGreaterThan(50_000);
    expect(result.statsHistory[0]!.channelBufferedBytes).toMatchObject({ control: 0, '720p': 0, '240p': 0, audio: 0 });
    // Each rung counts the frames it did not get: the paused top rung those of its gap, the lowest rung fewer.
    const [topStats, lowestStats] = result.statsWhileLive.rungs;
    expect(topStats!.droppedFrames).toBeGreaterThanOrEqual(droppedByGap);
    expect(lowestStats!.droppedFrames).toBeLessThan(droppedByGap);
  }, 30_000);
});

describe('frame rate', () => {
  it('encodes 720p at 60 fps on a 60 fps timestamp grid with the H.264 level that covers it (3.2), which ffprobe decodes', async () => {
    const { result, errors } = await runHarnessPage({
      durationMs: 2000, segmentTargetMs: SEGMENT_TARGET_MS, source: 'test', ladder: '720p', framerate: 60,
    });
    expect(errors).toEqual([]);
    const { messages } = replay(result);
    const track = messages.find((m) => m.type === 'track' && m.kind === 'video');
    if (track?.type !== 'track' || !track.description) throw new Error('no video track with an avcC');
    expect(track).toMatchObject({ codec: 'avc1.420020', framerate: 60, width: 1280, height: 720 });
    // avcC: configurationVersion, profile, constraints, level.
    expect([...track.description.subarray(1, 4)]).toEqual([0x42, 0xc0, 0x20]);
    const video = messages.filter((m): m is ChunkMessage => m.type === 'chunk' && m.trackId === 0);
    const origin = video[0]!.timestampUs;
    for (const c of video) expect(Math.abs(((c.timestampUs - origin) * 60) / 1e6 - Math.round(((c.timestampUs - origin) * 60) / 1e6))).toBeLessThan(0.001);
    const spanS = (video.at(-1)!.timestampUs - origin) / 1e6;
    expect((video.length - 1) / spanS).toBeGreaterThan(50);
    const dir = mkdtempSync(join(tmpdir(), 'swarmcast-fps-'));
    try {
      const file = join(dir, 'video.h264');
      writeFileSync(file, toAnnexB(track.description, video));
      const out = execFileSync('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=level,width,height,nb_read_frames', '-of', 'json', file]);
      expect(JSON.parse(out.toString()).streams[0]).toMatchObject({ level: 32, width: 1280, height: 720, nb_read_frames: String(video.length) });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('adaptive publishing', () => {
  it('lowers the top rung on a keyframe while its channel carries less than it sends, and restores it when it carries more', async () => {
    const ladder = [
      { rendition: '720p', width: 1280, height: 720, bitrate: 2_500_000, codec: 'avc1.42001f' },
      { rendition: '240p', width: 426, height: 240, bitrate: 300_000, codec: 'avc1.42001f' },
    ];
    // 720p (~2.3 Mbit/s of its 2.5 target) on a channel that carries 1.76 Mbit/s from 1 s to 7 s live: a little less
    // than it sends, more than it sends lowered to 1.5 Mbit/s. A short restore hold keeps the run short.
    const { result } = await runHarnessPage({
      durationMs: 12_000,
      segmentTargetMs: 2000,
      source: 'test',
      ladder,
      congest: { atMs: 1000, untilMs: 7000, trackId: 0, bytesPerSecond: 220_000 },
      adaptation: { restoreHoldMs: 1500 },
    });
    const { messages, ended } = replay(result);
    expect(ended).toBe(true);
    const top = messages.filter((m): m is ChunkMessage => m.type === 'chunk' && m.trackId === 0);
    const lowest = messages.filter((m): m is ChunkMessage => m.type === 'chunk' && m.trackId === 1);

    const levels = result.statsHistory.map((s) => s.rungs[0]!);
    const lowered = levels.filter((r) => r.level === 'lowered');
    expect(lowered.length).toBeGreaterThan(0);
    expect(lowered[0]).toMatchObject({ levelReason: 'uplink', bitrateKbps: 1500, configuredBitrateKbps: 2500 });
    // Never paused: lowering was enough; and back to full by the end.
    expect(levels.some((r) => r.level === 'paused')).toBe(false);
    expect(levels.at(-1)).toMatchObject({ level: 'full', levelReason: null, bitrateKbps: 2500 });
    expect(result.statsHistory.every((s) => s.rungs[1]!.level === 'full')).toBe(true);

    // The top rung never missed a frame (no pause), and its rate fell after a keyframe: bytes per second over each
    // segment (keyframe to keyframe) before the congestion and in the lowest segment after it.
    const gaps = top.slice(1).map((c, i) => c.timestampUs - top[i]!.timestampUs);
    expect(Math.max(...gaps)).toBeLessThan(100_000);
    const segments: { startUs: number; bytes: number; durationUs: number }[] = [];
    for (const chunk of top) {
      if (chunk.keyframe || segments.length === 0) segments.push({ startUs: chunk.timestampUs, bytes: 0, durationUs: 0 });
      const segment = segments.at(-1)!;
      segment.bytes += chunk.data.byteLength;
      segment.durationUs = chunk.timestampUs - segment.startUs + FRAME_US;
    }
    const rates = segments.filter((s) => s.durationUs > 500_000).map((s) => (s.bytes * 8) / (s.durationUs / 1e6));
    expect(Math.min(...rates)).toBeLessThan(0.8 * rates[1]!);
    // Every keyframe of the top rung is one the lowest rung has too: the grid stayed aligned through the changes.
    const lowestKeys = new Set(lowest.filter((c) => c.keyframe).map((c) => c.timestampUs));
    for (const key of top.filter((c) => c.keyframe)) expect(lowestKeys.has(key.timestampUs)).toBe(true);
  }, 40_000);
});

describe('still pictures', () => {
  it('repeats the last frame whenever the source sends none for 100 ms, so no part goes without video', async () => {
    const page = await fixture.browser.newPage();
    await page.goto(`${fixture.origin}/client/broadcaster/test/harness.html`);
    await page.waitForFunction(() => typeof window.runStillFrameFiller === 'function');
    const emitted = await page.evaluate(() => window.runStillFrameFiller());
    await page.close();
    // The real frames, a repeat at each 100 ms without one, nothing after close(), every frame a full picture.
    expect(emitted.map((f) => f.timestamp)).toEqual([1_000, 101_000, 201_500, 250_000, 351_000]);
    expect(emitted.every((f) => f.width === 320)).toBe(true);
  });
});

describe('stop while reconnecting', () => {
  it('aborts the reconnection attempt under way, makes no other, and stops the lost session once', async () => {
    const page = await fixture.browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(String(err)));
    try {
      await page.goto(`${fixture.origin}/client/broadcaster/test/harness.html`);
      await page.waitForFunction(() => typeof window.runStopWhileReconnecting === 'function');
      const result = await page.evaluate(() => window.runStopWhileReconnecting());
      expect(errors).toEqual([]);
      // Going live, then one attempt that names the lost session; its signal aborted by the stop.
      expect(result.replaces).toEqual([undefined, 'lost-session']);
      expect(result.abortedSignals).toEqual([false, true]);
      expect(result.stopLostCalls).toHaveLength(1);
      expect(result.states).toEqual(['idle', 'connecting', 'live', 'idle']);
    } finally {
      await page.close();
    }
  }, 30_000);
});

describe('camera capture', () => {
  it('maps camera and microphone timestamps onto the wall clock, so the clock message is honest (one rung, as `&ladder=720p`)', async () => {
    const page = await fixture.browser.newPage();
    await page.goto(`${fixture.origin}/client/broadcaster/test/harness.html`);
    await page.waitForFunction(() => typeof window.runHarness === 'function');
    const before = Date.now();
    const result = await page.evaluate((opts) => window.runHarness(opts), { durationMs: 1500, segmentTargetMs: 1000, source: 'camera' as const, ladder: '720p' });
    const after = Date.now();
    await page.close();
    const { messages } = replay(result);
    const clock = messages[2] as ClockMessage;
    expect(clock.type).toBe('clock');
    expect(clock.wallClockMs).toBeGreaterThanOrEqual(before);
    expect(clock.wallClockMs).toBeLessThanOrEqual(after);
    expect(messages[0]).toMatchObject({ kind: 'video', width: 1280, height: 720 });
    expect(messages[1]).toMatchObject({ kind: 'audio', codec: 'opus', sampleRate: 48_000 });
    const chunks = messages.filter((m): m is ChunkMessage => m.type === 'chunk');
    const lastWallMs = (c: ChunkMessage): number => clock.wallClockMs + (c.timestampUs - clock.timestampUs) / 1000;
    for (const trackId of [0, 1]) {
      const track = chunks.filter((c) => c.trackId === trackId);
      expect(track.length).toBeGreaterThan(10);
      expect(track[0]!.timestampUs).toBeGreaterThanOrEqual(clock.timestampUs);
      // Both tracks' timestamps fall within the run on the shared wall clock: audio and video are in sync.
      expect(lastWallMs(track.at(-1)!)).toBeLessThanOrEqual(after);
      expect(lastWallMs(track.at(-1)!)).toBeGreaterThan(after - 1500);
    }
  }, 30_000);
});

describe('broadcast page', () => {
  it('shows an error, without crashing, for a stream name that is not allowed', async () => {
    const page = await fixture.browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(String(err)));
    await page.goto(`${fixture.origin}/client/pages/broadcast.html?stream=Bad%20Name`);
    await page.waitForSelector('body[data-state="error"]');
    await expect.poll(() => page.textContent('#notice')).toContain('“Bad Name” can\'t be a stream name');
    expect(await page.isVisible('#notice')).toBe(true);
    const stats = await page.evaluate(() => window.swarmcast.stats());
    expect(stats).toMatchObject({ state: 'error', framesSent: 0 });
    expect(stats.error).toContain('Bad Name');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('takes the ladder and frame rate from the link, shows its rungs before going live, and refuses a bad one in words', async () => {
    const page = await fixture.browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(String(err)));
    await page.goto(`${fixture.origin}/client/pages/broadcast.html?stream=ladder&ladder=720p:2000k,240p`);
    await page.waitForSelector('body[data-state="idle"]');
    expect(await page.inputValue('#ladder')).toBe('720p:2000k,240p');
    expect(await page.$$eval('#rungs tr', (rows) => rows.map((r) => r.querySelector('td')?.textContent))).toEqual(['720p', '240p']);
    const idle = await page.evaluate(() => window.swarmcast.stats());
    expect(idle.rungs.map((r) => [r.rendition, r.state, r.bitrateKbps])).toEqual([['720p', 'idle', 2000], ['240p', 'idle', 400]]);

    await page.goto(`${fixture.origin}/client/pages/broadcast.html?stream=ladder&source=test&autostart=1&ladder=720p,480p,720p`);
    await page.waitForSelector('body[data-state="error"]');
    expect(await page.textContent('#notice')).toBe('Can\'t use the ladder “720p,480p,720p”: 720p appears twice.');
    expect(await page.evaluate(() => window.swarmcast.stats())).toMatchObject({ state: 'error', errorCode: 'invalid-ladder', framesSent: 0 });
    // Fixing it in the field clears the error.
    await page.fill('#ladder', '480p,240p');
    await page.waitForSelector('body[data-state="idle"]');
    expect(await page.isVisible('#notice')).toBe(false);
    expect(await page.$$eval('#rungs tr', (rows) => rows.map((r) => r.querySelector('td')?.textContent))).toEqual(['480p', '240p']);

    await page.goto(`${fixture.origin}/client/pages/broadcast.html?stream=ladder&fps=25`);
    await page.waitForSelector('body[data-state="idle"]');
    expect(await page.inputValue('#fps')).toBe('25');
    await page.goto(`${fixture.origin}/client/pages/broadcast.html?stream=ladder&source=test&autostart=1&fps=75`);
    await page.waitForSelector('body[data-state="error"]');
    expect(await page.textContent('#notice')).toBe('Can\'t use the frame rate “75”: use a whole number of frames per second from 1 to 60, e.g. 30.');
    expect(await page.evaluate(() => window.swarmcast.stats())).toMatchObject({ state: 'error', errorCode: 'invalid-framerate', framesSent: 0 });

    await page.goto(`${fixture.origin}/client/pages/broadcast.html?stream=ladder&ladder=900p`);
    await page.waitForSelector('body[data-state="error"]');
    expect(await page.textContent('#notice')).toContain('“900p” is not a rung; use 1080p, 720p, 480p, 360p, 240p');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('tells the broadcaster in words when someone else is live on the name', async () => {
    const page = await fixture.browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(String(err)));
    await page.goto(`${fixture.origin}/client/pages/broadcast.html?stream=taken&source=test&autostart=1`);
    await page.waitForSelector('body[data-state="error"]');
    expect(await page.textContent('#notice')).toBe('Someone is already live on “taken”. Pick another stream name or stop the other broadcast.');
    expect(await page.textContent('#badge')).toBe('Error');
    const stats = await page.evaluate(() => window.swarmcast.stats());
    expect(stats).toMatchObject({ state: 'error', errorCode: 'stream-taken' });
    expect(errors).toEqual([]);
    await page.close();
  });
});

describe('WebRTC publisher', () => {
  it('goes live over real data channels: one HTTP offer/answer, a channel per track, header first, end on each and DELETE on stop', async () => {
    const page = await fixture.browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(String(err)));
    await page.goto(`${fixture.origin}/client/pages/broadcast.html?stream=rtc&source=test&autostart=1`);
    await page.waitForSelector('body[data-state="live"]', { timeout: 20_000 });
    expect(rtcIngest.offer).toContain('a=sctp-port');
    expect(rtcIngest.offer).toContain('a=candidate:');
    await expect.poll(() => rtcIngest.messages.filter((m) => m.type === 'chunk' && m.keyframe && m.trackId === 0).length, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    const stats = await page.evaluate(() => window.swarmcast.stats());
    expect(stats).toMatchObject({ state: 'live', connectionState: 'connected', segmentTargetMs: 1000, error: null });
    expect(await page.textContent('#badge')).toBe('Live');
    // The ladder table: one row per rung with its state, codec, size and send rate.
    await expect.poll(() => page.$$eval('#rungs tr', (rows) => rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent))), { timeout: 5000 }).toEqual([
      ['720p', 'encoding', expect.stringMatching(/^avc1\.42/), '1280×720', expect.stringMatching(/^[1-9]\d* of 2500 kbit\/s$/), expect.stringMatching(/^\d+$/), expect.stringMatching(/^\d+ ms$/)],
      ['480p', 'encoding', expect.stringMatching(/^avc1\.42/), '854×480', expect.stringMatching(/^[1-9]\d* of 1200 kbit\/s$/), expect.stringMatching(/^\d+$/), expect.stringMatching(/^\d+ ms$/)],
      ['240p', 'encoding', expect.stringMatching(/^avc1\.42/), '426×240', expect.stringMatching(/^[1-9]\d* of 400 kbit\/s$/), expect.stringMatching(/^\d+$/), expect.stringMatching(/^\d+ ms$/)],
    ]);
    await page.click('#golive');
    await page.waitForSelector('body[data-state="idle"]');
    await expect.poll(() => rtcIngest.deleted).toBe(true);
    await expect.poll(() => rtcIngest.ended).toBe(true);
    expect(rtcIngest.errors).toEqual([]);
    expect(rtcIngest.labels).toEqual(['swarmcast', 'swarmcast/0', 'swarmcast/1', 'swarmcast/2', `swarmcast/${AUDIO}`]);
    expect(rtcIngest.messages.slice(0, 5).map((m) => (m.type !== 'track' ? m.type : m.kind === 'video' ? `video ${m.rendition}` : m.kind))).toEqual(['video 720p', 'video 480p', 'video 240p', 'audio', 'clock']);
    expect(errors).toEqual([]);
    await page.close();
  }, 40_000);
});

/** avcC + length-prefixed samples → an Annex B elementary stream ffprobe reads. */
function toAnnexB(avcC: Uint8Array, chunks: ChunkMessage[]): Uint8Array {
  const startCode = [0, 0, 0, 1];
  const out: number[] = [];
  const lengthSize = (avcC[4]! & 3) + 1;
  let p = 5;
  const numSps = avcC[p++]! & 0x1f;
  const params: Uint8Array[] = [];
  for (let i = 0; i < numSps; i++) {
    const len = (avcC[p]! << 8) | avcC[p + 1]!;
    params.push(avcC.subarray(p + 2, p + 2 + len));
    p += 2 + len;
  }
  const numPps = avcC[p++]!;
  for (let i = 0; i < numPps; i++) {
    const len = (avcC[p]! << 8) | avcC[p + 1]!;
    params.push(avcC.subarray(p + 2, p + 2 + len));
    p += 2 + len;
  }
  for (const c of chunks) {
    if (c.keyframe) for (const nal of params) out.push(...startCode, ...nal);
    let q = 0;
    while (q < c.data.byteLength) {
      let len = 0;
      for (let i = 0; i < lengthSize; i++) len = len * 256 + c.data[q + i]!;
      q += lengthSize;
      out.push(...startCode, ...c.data.subarray(q, q + len));
      q += len;
    }
  }
  return Uint8Array.from(out);
}
