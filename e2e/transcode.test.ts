// Origin transcoding end to end: ffmpeg publishes ONE 720p H.264 + AAC rendition over RTMP, the origin's ffmpeg worker
// adds 480p and 240p rungs on the source's segment and part grid; ffprobe checks each rung, Chromium plays, a killed
// worker comes back while the source plays on, a throttled viewer switches down to a rung; the worker budget, and the
// publisher's choice of ladder on RTMP's stream key, SRT's streamid and WHIP's URL.
import { execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PeerConnection, Video } from 'node-datachannel';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { multivariantPath } from '../shared/playback-path.ts';
import { AbrViewer, type AbrSample } from './support/abr-trace.ts';
import { launchChromium } from './support/browser.ts';
import { killed, publishTestSignal } from './support/ffmpeg-hls.ts';
import { playlistAfterDiscontinuity, preloadHintOf, rawGet, segmentsOf } from './support/live-hls.ts';
import { readMetric } from './support/metrics.ts';
import { viewerStats, watchStreamFor } from './support/pages.ts';
import { pollUntil } from './support/poll.ts';
import { startServer, type RunningServer } from './support/server.ts';

const run = promisify(execFile);
const KEY = 'transcode-e2e-publish-key-01';
const STREAM = 'tc';
const LADDER = { '480p': 1_200_000, '240p': 400_000 } as const;
/** The viewer's download limit: below the source (~4 Mbit/s announced) and the 480p rung (1.2 Mbit/s + audio), above 240p. */
const THROTTLED_BPS = 1_000_000;
/** How long the viewer plays on under the limit after switching down. */
const HOLD_MS = 6000;
let server: RunningServer;
let browser: Browser;
let dir: string;
const publishers: ChildProcess[] = [];

interface Variant {
  uri: string;
  bandwidth: number;
  resolution: string;
}

/**
 * ffmpeg as a field encoder over RTMP: a test picture of `size` at 30 fps (2 B-frames, a keyframe every 2 s) + AAC.
 * x264 ultrafast keeps the publisher's own cost low on two shared cores; `-bf 2` keeps frames out of presentation order.
 */
const ENCODE = ['-c:v', 'libx264', '-preset', 'ultrafast', '-bf', '2', '-g', '60', '-pix_fmt', 'yuv420p', '-c:a', 'aac'];
function publish(stream: string, size: string, query = ''): ChildProcess {
  const child = publishTestSignal(size, ENCODE, ['-f', 'flv', `${server.rtmpBase}/live/${stream}?key=${KEY}${query}`]);
  publishers.push(child);
  return child;
}

function variants(stream: string): Promise<Variant[]> {
  return variantsOn(server, stream);
}

async function variantsOn(on: RunningServer, stream: string): Promise<Variant[]> {
  const res = await fetch(`${on.baseUrl}${multivariantPath(stream)}`);
  if (res.status !== 200) return [];
  const lines = (await res.text()).split('\n');
  return lines.flatMap((line, i) => {
    if (!line.startsWith('#EXT-X-STREAM-INF:')) return [];
    const uri = lines[i + 1]!.trim();
    return [{ uri: new URL(uri, `${on.baseUrl}${multivariantPath(stream)}`).href, bandwidth: Number(/[:,]BANDWIDTH=(\d+)/.exec(line)?.[1]), resolution: /RESOLUTION=(\d+x\d+)/.exec(line)?.[1] ?? '' }];
  });
}

type Status = { state: string; pid?: number; restarts: number; cpu?: number; reason?: string; rungs: { rendition: string; width: number; height: number; frames: number; lagMs?: number; maxLagMs?: number }[] };

/** The status API's answer; a stream it does not know is answered as plain text, kept as the body's `reason`. */
async function readStatus(res: Response): Promise<{ code: number; body: Status }> {
  return { code: res.status, body: (res.ok ? await res.json() : { state: 'unknown', restarts: 0, rungs: [], reason: await res.text() }) as Status };
}

async function status(stream: string): Promise<{ code: number; body: Status }> {
  return readStatus(await fetch(`${server.baseUrl}/api/streams/${stream}/transcode`));
}

const text = (url: string): Promise<string> => fetch(url).then((r) => r.text());

/** Per complete segment of a media playlist: its msn, EXTINF, PROGRAM-DATE-TIME and part durations. */
function segmentTable(playlist: string): Map<number, { extinf: string; pdt: string | undefined; parts: string[]; gap: boolean }> {
  const table = new Map<number, { extinf: string; pdt: string | undefined; parts: string[]; gap: boolean }>();
  let msn = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(playlist)?.[1]);
  let pdt: string | undefined;
  let parts: string[] = [];
  let gap = false;
  let extinf = '';
  for (const line of playlist.split('\n')) {
    if (line.startsWith('#EXT-X-PROGRAM-DATE-TIME:')) pdt = line.slice(25);
    else if (line.startsWith('#EXT-X-PART:')) {
      parts.push(/DURATION=([\d.]+)/.exec(line)![1]!);
      gap ||= line.includes('GAP=YES');
    } else if (line.startsWith('#EXTINF:')) extinf = line.slice(8);
    else if (line.startsWith('#EXT-X-GAP')) gap = true;
    else if (line && !line.startsWith('#')) {
      table.set(msn++, { extinf, pdt, parts, gap });
      pdt = undefined;
      parts = [];
      gap = false;
    }
  }
  return table;
}

beforeAll(async () => {
  server = await startServer({ PUBLISH_KEY: KEY, TRANSCODE_LADDER: '480p:1200k,240p:400k', TRANSCODE_MAX_STREAMS: '1' });
  browser = await launchChromium();
  dir = await mkdtemp(join(tmpdir(), 'swarmcast-transcode-'));
  publish(STREAM, '1280x720');
}, 60_000);

afterAll(async () => {
  for (const child of publishers) child.kill('SIGKILL');
  await browser?.close();
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('origin transcoding of an RTMP source', () => {
  let ladder: Variant[];

  it('lists the source and the rungs in the multivariant playlist, with their resolution and bandwidth', async () => {
    ladder = await pollUntil(() => variants(STREAM), (v) => v.length === 3, 30_000, 'three variants');
    expect(ladder.map((v) => v.resolution).sort()).toEqual(['1280x720', '426x240', '854x480']);
    const bandwidthOf = (resolution: string): number => ladder.find((v) => v.resolution === resolution)!.bandwidth;
    // A rung's BANDWIDTH is its target plus the audio's, and not above the source's.
    expect(bandwidthOf('854x480')).toBeGreaterThanOrEqual(LADDER['480p']);
    expect(bandwidthOf('854x480')).toBeLessThan(LADDER['480p'] + 300_000);
    expect(bandwidthOf('426x240')).toBeGreaterThanOrEqual(LADDER['240p']);
    expect(bandwidthOf('426x240')).toBeLessThan(bandwidthOf('854x480'));
    const { code, body } = await status(STREAM);
    expect(code).toBe(200);
    expect(body).toMatchObject({ state: 'running', restarts: 0 });
    expect(body.pid).toBeGreaterThan(0);
    expect(body.rungs.map((r) => [r.rendition, r.width, r.height])).toEqual([
      ['480p', 854, 480],
      ['240p', 426, 240],
    ]);
  }, 40_000);

  it('cuts every rendition on the same segments and parts: same EXTINF, PROGRAM-DATE-TIME and part durations per msn', async () => {
    // Segments with media in every rendition (one the worker missed, restarted for falling behind on a loaded machine,
    // has GAP parts there, cut where the leading rendition's parts are: not what is compared).
    const withMedia = (t: ReturnType<typeof segmentTable>[]): number[] =>
      [...t[0]!.keys()].filter((msn) => t.every((r) => r.has(msn) && r.get(msn)!.parts.length > 0 && !r.get(msn)!.gap));
    const tables = await pollUntil(
      async () => Promise.all(ladder.map(async (v) => segmentTable(await text(v.uri)))),
      (t) => withMedia(t).length >= 2,
      20_000,
      'two complete segments with media and parts in every rendition',
    );
    for (const msn of withMedia(tables)) {
      const rows = tables.map((t) => t.get(msn)!);
      expect(rows.map((r) => r.extinf), `EXTINF of msn ${msn}`).toEqual(rows.map(() => rows[0]!.extinf));
      expect(rows.map((r) => r.pdt), `PROGRAM-DATE-TIME of msn ${msn}`).toEqual(rows.map(() => rows[0]!.pdt));
      expect(rows.map((r) => r.parts.join(',')), `parts of msn ${msn}`).toEqual(rows.map(() => rows[0]!.parts.join(',')));
    }
    // Every complete segment, gaps included, has one EXTINF and PROGRAM-DATE-TIME in all renditions.
    const all = [...tables[0]!.keys()].filter((msn) => tables.every((t) => t.has(msn)));
    for (const msn of all) {
      const rows = tables.map((t) => t.get(msn)!);
      expect(rows.map((r) => [r.extinf, r.pdt]), `msn ${msn}`).toEqual(rows.map(() => [rows[0]!.extinf, rows[0]!.pdt]));
      expect(rows[0]!.pdt).toBeDefined();
    }
  }, 30_000);

  it("publishes each rung's parts shortly after the source's (the delay transcoding adds)", async () => {
    const source = ladder.find((v) => v.resolution === '1280x720')!;
    const rungs = ladder.filter((v) => v !== source);
    const lags: number[][] = rungs.map(() => []);
    for (let i = 0; i < 15; i++) {
      const hint = preloadHintOf(await text(source.uri), source.uri)!;
      const query = `?_HLS_msn=${hint.msn}&_HLS_part=${hint.part}`;
      const [sourceDone, ...rungDone] = await Promise.all([source, ...rungs].map((v) => rawGet(`${v.uri}${query}`).then((a) => a.doneAtMs)));
      rungDone.forEach((done, r) => lags[r]!.push(done! - sourceDone!));
    }
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const report = rungs.map((v, r) => `${v.resolution}: median ${Math.round(median(lags[r]!))} ms, max ${Math.round(Math.max(...lags[r]!))} ms`);
    const { body } = await status(STREAM);
    console.log(`rung part lag behind the source: ${report.join('; ')}; worker CPU ${body.cpu} cores; worker lag ${body.rungs.map((r) => `${r.rendition} ${r.lagMs}/${r.maxLagMs} ms`).join(', ')}`);
    // Well under the packager's pause (3 parts of 200 ms), past which a rung would show GAP parts.
    for (const r of rungs.keys()) expect(median(lags[r]!)).toBeLessThan(300);
    expect(body.cpu).toBeGreaterThan(0);
    expect(await readMetric(server.baseUrl, 'swarmcast_transcode_worker_cpu_cores', { stream: STREAM })).toBeGreaterThan(0);
    expect(await readMetric(server.baseUrl, 'swarmcast_transcode_lag_ms', { stream: STREAM, rendition: '480p' })).toBeGreaterThan(0);
  }, 60_000);

  it('makes rungs that ffprobe reads at their resolution and near their target bitrate', async () => {
    for (const variant of ladder.filter((v) => v.resolution !== '1280x720')) {
      const playlist = await text(variant.uri);
      const init = /#EXT-X-MAP:URI="([^"]+)"/.exec(playlist)![1]!;
      // The last three complete segments: past the encoder's start.
      const segments = segmentsOf(playlist).slice(-3);
      const parts = await Promise.all([init, ...segments].map(async (uri) => Buffer.from(await (await fetch(new URL(uri, variant.uri))).arrayBuffer())));
      const file = join(dir, `${variant.resolution}.mp4`);
      await writeFile(file, Buffer.concat(parts));
      const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v', '-show_entries', 'stream=width,height,codec_name:packet=size,dts_time', '-of', 'json', file]);
      const probe = JSON.parse(stdout) as { streams: { width: number; height: number; codec_name: string }[]; packets: { size: string; dts_time: string }[] };
      expect(`${probe.streams[0]!.width}x${probe.streams[0]!.height}`).toBe(variant.resolution);
      expect(probe.streams[0]!.codec_name).toBe('h264');
      const bytes = probe.packets.reduce((sum, p) => sum + Number(p.size), 0);
      const seconds = (Number(probe.packets.at(-1)!.dts_time) - Number(probe.packets[0]!.dts_time)) * (probe.packets.length / (probe.packets.length - 1));
      const bitrate = (bytes * 8) / seconds;
      const target = variant.resolution === '854x480' ? LADDER['480p'] : LADDER['240p'];
      console.log(`${variant.resolution}: ${Math.round(bitrate / 1000)} kbit/s for a target of ${target / 1000}`);
      expect(bitrate).toBeGreaterThan(target * 0.6);
      expect(bitrate).toBeLessThan(target * 1.3);
    }
  }, 30_000);

  it('plays in Chromium', async () => {
    const stretch = await watchStreamFor(browser, server.baseUrl, STREAM, 6);
    expect(stretch.last.stalls).toBe(0);
    expect(stretch.last.decodedFrames).toBeGreaterThan(stretch.first.decodedFrames);
  }, 60_000);

  it('lets a viewer throttled through CDP switch down to a transcoded rung, and play on it without a stall', async () => {
    const viewer = await AbrViewer.open(browser, server.baseUrl, STREAM, 'streamed');
    try {
      await viewer.waitFor({ rendition: '720p', latencyBelowMs: 1500 }, 30_000);
      await viewer.startSampling();
      await viewer.throttle(THROTTLED_BPS);
      const dropAtMs = Date.now();
      // Without a ladder (transcoding off or broken) the source is the only rendition: this never happens.
      await viewer.waitFor({ renditionNot: '720p' }, 15_000);
      const switchedAtMs = Date.now();
      const mediaAtSwitch = (await viewerStats(viewer.page)).currentTime;
      // A scripted hold of the limit, not a wait for a condition: the lower rung must play on through it.
      await viewer.page.waitForTimeout(HOLD_MS);
      const mediaPlayed = (await viewerStats(viewer.page)).currentTime - mediaAtSwitch;
      const samples: AbrSample[] = await viewer.samples();
      const down = samples.find((s) => s.atMs >= dropAtMs && s.rendition !== null && s.rendition !== '720p')!;
      const after = samples.filter((s) => s.atMs >= down.atMs);
      const last = samples.at(-1)!;
      const stallsBefore = down.stalls - samples[0]!.stalls;
      console.log(
        `[transcode abr] switched to ${down.rendition} ${down.atMs - dropAtMs} ms after the limit; at the end ${last.rendition}, ` +
          `estimate ${Math.round((last.bandwidthEstimateBps ?? 0) / 1000)} kbit/s, latency ${last.latencyMs} ms; ${mediaPlayed.toFixed(1)} s of media in the ${HOLD_MS / 1000} s hold; stalls before the switch ${stallsBefore}, after ${last.stalls - down.stalls}`,
      );
      expect(switchedAtMs - dropAtMs).toBeLessThan(15_000);
      // Ends on a transcoded rung that fits the limit (480p does not), having played on it: stalls counted by the
      // player from the first sample on the lower rung to the end of the hold, media time advancing all along.
      expect(last.rendition).toBe('240p');
      expect(after.every((s) => s.rendition !== '720p')).toBe(true);
      expect(last.stalls - down.stalls, 'stalls after the switch').toBe(0);
      expect(last.state).toBe('playing');
      expect(mediaPlayed).toBeGreaterThan((0.8 * HOLD_MS) / 1000);
    } finally {
      await viewer.close();
    }
  }, 90_000);

  it('keeps the source playing when the worker is killed, and restarts the worker', async () => {
    const before = (await status(STREAM)).body;
    const source = ladder.find((v) => v.resolution === '1280x720')!;
    const rung = ladder.find((v) => v.resolution === '426x240')!;
    const lastBefore = [...segmentTable(await text(source.uri)).keys()].at(-1)!;
    process.kill(before.pid!, 'SIGKILL');
    // The rung shows GAP parts for the outage (parts are listed while recent: watched from now on).
    await pollUntil(() => text(rung.uri), (playlist) => playlist.includes('GAP=YES'), 15_000, 'GAP parts in the rung');
    const back = await pollUntil(() => status(STREAM).then((s) => s.body), (s) => s.state === 'running' && s.restarts > before.restarts && s.pid !== before.pid, 15_000, 'the worker restarted');
    expect(back.pid).toBeGreaterThan(0);
    // The source went on through the outage, and the rung has media again after it.
    await pollUntil(async () => [...segmentTable(await text(source.uri)).keys()].at(-1)!, (msn) => msn >= lastBefore + 2, 15_000, 'two more source segments');
    await pollUntil(
      async () => segmentTable(await text(rung.uri)),
      (t) => [...t.entries()].some(([msn, row]) => msn > lastBefore + 1 && !row.gap && row.parts.length > 0),
      15_000,
      'a rung segment without GAP after the restart',
    );
    expect(await readMetric(server.baseUrl, 'swarmcast_transcode_restarts_total')).toBe(back.restarts);
  }, 60_000);
});

describe('per-stream choice and the worker budget', () => {
  it('publishes a second stream with its source alone when the budget is spent, saying why', async () => {
    const second = publish('second', '640x360');
    await server.waitForLog(/transcode\.refused stream=second/, 20_000);
    const { code, body } = await status('second');
    expect(code).toBe(200);
    expect(body).toMatchObject({ state: 'refused', reason: expect.stringContaining('TRANSCODE_MAX_STREAMS=1') });
    const list = await pollUntil(() => variants('second'), (v) => v.length > 0, 20_000, 'the second stream live');
    expect(list.map((v) => v.resolution)).toEqual(['640x360']);
    expect(await readMetric(server.baseUrl, 'swarmcast_transcode_refused_total')).toBe(1);
    await killed(second);
  }, 40_000);

  it('takes transcode=off from the stream key, and refuses a ladder it cannot read with the reason', async () => {
    const plain = publish('plain', '640x360', '&transcode=off');
    const list = await pollUntil(() => variants('plain'), (v) => v.length > 0, 20_000, 'the plain stream live');
    expect(list.map((v) => v.resolution)).toEqual(['640x360']);
    expect((await status('plain')).code).toBe(404);
    await killed(plain);
    const bad = publish('badladder', '640x360', '&transcode=480p');
    await server.waitForLog(/publish\.dropped stream=badladder .*not HEIGHTp:BITRATE/, 20_000);
    await killed(bad);
  }, 40_000);

  it('gives a publisher that comes back within the grace period its rungs again, after the discontinuity', async () => {
    const before = (await status(STREAM)).body;
    const rung = (await variants(STREAM)).find((v) => v.resolution === '854x480')!;
    const lastBefore = segmentsOf(await text(rung.uri)).at(-1)!;
    await killed(publishers[0]!);
    publish(STREAM, '1280x720');
    const after = await pollUntil(() => status(STREAM).then((s) => s.body), (s) => s.state === 'running' && s.pid !== before.pid, 20_000, 'a worker for the new session');
    expect(after.restarts).toBe(0);
    const playlist = await playlistAfterDiscontinuity(rung.uri, lastBefore);
    expect(segmentTable(playlist).size).toBeGreaterThan(0);
    // The old session's worker went with it.
    expect(() => process.kill(before.pid!, 0)).toThrow();
  }, 40_000);

  it('ends the worker with its stream: no ffmpeg is left behind', async () => {
    const { body } = await status(STREAM);
    const pid = body.pid!;
    await killed(publishers.find((p) => p.exitCode === null && p.signalCode === null)!);
    await pollUntil(async () => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    }, (alive) => !alive, 20_000, `worker ${pid} gone`);
    expect((await status(STREAM)).code).toBe(404);
  }, 40_000);
});

/** The budget of the server without a ladder: a 240p rung fits (estimated 0.07 core on 360p, 0.12 on 720p), 480p+240p on 720p (0.23) not. */
const CPU_BUDGET = 0.15;

describe('the transcoding choice on the SRT streamid and the WHIP URL, and the CPU budget, on a server without a ladder of its own', () => {
  let plain: RunningServer;

  beforeAll(async () => {
    plain = await startServer({ PUBLISH_KEY: KEY, SRT_PORT: '0', TRANSCODE_CPU_BUDGET: String(CPU_BUDGET), TRANSCODE_MAX_STREAMS: '10' });
  }, 30_000);

  afterAll(async () => {
    await plain?.stop();
  });

  const statusOn = async (stream: string): Promise<{ code: number; body: Status & { ladder?: string } }> => {
    const { code, body } = await readStatus(await fetch(`${plain.baseUrl}/api/streams/${stream}/transcode`));
    return { code, body: body as Status & { ladder?: string } };
  };

  it('an SRT publisher with publish:NAME:KEY?transcode=LADDER in its streamid gets that ladder', async () => {
    // Not percent-encoded: ffmpeg hands the streamid to libsrt as written in its URL.
    const streamId = `publish:srtladder:${KEY}?transcode=240p:300k`;
    const child = publishTestSignal('640x360', ENCODE, ['-f', 'mpegts', `${plain.srtBase}?streamid=${streamId}`]);
    publishers.push(child);
    try {
      const body = await pollUntil(() => statusOn('srtladder').then((s) => s.body), (s) => s.state === 'running', 30_000, 'the SRT stream transcoded');
      expect(body.ladder).toBe('240p:300k');
      expect(body.rungs.map((r) => [r.rendition, r.width, r.height])).toEqual([['240p', 426, 240]]);
      const list = await pollUntil(() => variantsOn(plain, 'srtladder'), (v) => v.length === 2, 20_000, 'source and rung listed');
      expect(list.map((v) => v.resolution).sort()).toEqual(['426x240', '640x360']);
    } finally {
      await killed(child);
    }
    // Its worker gone with it (the budget test below counts the running workers).
    await pollUntil(() => statusOn('srtladder'), (s) => s.code === 404, 20_000, 'the SRT stream ended');
  }, 60_000);

  it('a WHIP publisher with ?transcode=LADDER on its POST gets that ladder', async () => {
    const pc = new PeerConnection('whip-transcode', { iceServers: [], bindAddress: '127.0.0.1' });
    try {
      const video = new Video('0', 'SendOnly');
      video.addH264Codec(96);
      video.addSSRC(1234, 'test');
      const track = pc.addTrack(video);
      const gathered = new Promise<void>((done) => pc.onGatheringStateChange((state) => state === 'complete' && done()));
      pc.setLocalDescription();
      await gathered;
      const res = await fetch(`${plain.baseUrl}/api/whip/whipladder?transcode=${encodeURIComponent('360p:800k,180p:200k')}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/sdp', Authorization: `Bearer ${KEY}` },
        body: pc.localDescription()!.sdp,
      });
      expect(res.status).toBe(201);
      const opened = new Promise<void>((done) => track.onOpen(() => done()));
      pc.setRemoteDescription(await res.text(), 'answer');
      await opened;
      // Admitted (connected) and wrapped by the transcoder, which waits for the first frame to plan the rungs.
      const { body } = await pollUntil(() => statusOn('whipladder'), (s) => s.code === 200, 10_000, 'the WHIP stream at the transcoder');
      expect(body).toMatchObject({ stream: 'whipladder', state: 'starting', ladder: '360p:800k,180p:200k' });
    } finally {
      pc.close();
    }
    await pollUntil(() => statusOn('whipladder'), (s) => s.code === 404, 20_000, 'the WHIP stream ended');
  }, 30_000);

  it('refuses a ladder whose estimated CPU does not fit the budget, saying why, and takes one that fits', async () => {
    const rtmp = (stream: string, ladder: string): ChildProcess => {
      const child = publishTestSignal('1280x720', ENCODE, ['-f', 'flv', `${plain.rtmpBase}/live/${stream}?key=${KEY}&transcode=${ladder}`]);
      publishers.push(child);
      return child;
    };
    const refusedBefore = await readMetric(plain.baseUrl, 'swarmcast_transcode_refused_total');
    const big = rtmp('overbudget', '480p:1200k,240p:400k');
    try {
      await plain.waitForLog(/transcode\.refused stream=overbudget .*TRANSCODE_CPU_BUDGET=0\.15/, 20_000);
      const { body } = await statusOn('overbudget');
      expect(body).toMatchObject({ state: 'refused', ladder: '480p:1200k,240p:400k', reason: expect.stringContaining('needs about 0.23 cores') });
      const list = await pollUntil(() => variantsOn(plain, 'overbudget'), (v) => v.length > 0, 20_000, 'the refused stream live');
      expect(list.map((v) => v.resolution)).toEqual(['1280x720']);
      expect(await readMetric(plain.baseUrl, 'swarmcast_transcode_refused_total')).toBe(refusedBefore + 1);
    } finally {
      await killed(big);
    }
    const small = rtmp('inbudget', '240p:400k');
    try {
      const body = await pollUntil(() => statusOn('inbudget').then((s) => s.body), (s) => s.state === 'running' || s.state === 'refused', 30_000, 'the small ladder decided');
      expect(body).toMatchObject({ state: 'running', ladder: '240p:400k' });
    } finally {
      await killed(small);
    }
  }, 60_000);
});
