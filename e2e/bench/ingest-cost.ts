// Bench part: what one publisher costs the origin per media second, by ingest path, beside ffmpeg's own remux of the
// same media to fMP4 HLS; and how many 2.5 Mbit/s publishers one origin process holds before media is late or lost.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Origin } from '../../server/origin/index.ts';
import { StreamPackager } from '../../server/packager/index.ts';
import { loadConfig } from '../../server/config.ts';
import { setLogLevel } from '../../server/log.ts';
import type { WireMessage } from '../../shared/protocol/index.ts';
import { launchChromium } from '../support/browser.ts';
import { mediaPlaylistUrl, playlistWithSegments } from '../support/live-hls.ts';
import { encodeRung, makeSource, startNodePublisher, type Rung, type SourceMedia } from '../support/node-publisher.ts';
import { pollUntil } from '../support/poll.ts';
import { startServer, type RunningServer } from '../support/server.ts';
import { startVite } from '../support/vite.ts';
import { openWhipPublisher, stopWhipPublisher, whipSendStats } from '../whip/publisher.ts';

const CLOCK_TICKS_PER_S = 100;
/** Length of the looped source files, s (a multiple of the 2 s GOP). */
const SOURCE_SECONDS = 6;
const GOP_SECONDS = 2;
/** Time a ramp step's publishers run before its window opens: connections set up, first segments cut. */
const WARM_UP_MS = 4_000;
const IDLE_SECONDS = 10;
/**
 * Segments (1 s each) a publisher's stream lists, or every ffmpeg remux has written, before its window opens: the
 * connection set up, probing and start-up behind it.
 */
const WARM_UP_SEGMENTS = 2;
/** The WHIP publisher's window opens once Chromium's encoder target has ramped up to this (its most is 2.5 Mbit/s)… */
const WHIP_RAMPED_TARGET_BPS = 2_400_000;
/** …which it reaches within seconds on loopback; longer, and the measurement would not be of the stream it says. */
const WHIP_RAMP_TIMEOUT_MS = 40_000;
/** How long the server runs before its idle CPU is measured, ms. */
const IDLE_SETTLE_MS = 8_000;

const RUNG_720P: Rung = { rendition: '720p', width: 1280, height: 720, videoBitrate: 2_500_000 };
/** The broadcaster's default ladder (client/broadcaster), as the ABR bench publishes it. */
const LADDER: readonly Rung[] = [
  RUNG_720P,
  { rendition: '480p', width: 854, height: 480, videoBitrate: 1_000_000 },
  { rendition: '240p', width: 426, height: 240, videoBitrate: 300_000 },
];

/** A running publisher of any path. */
interface RunningPublisher {
  stop(): Promise<void>;
  /** Video bytes sent so far and the picture height now, for a publisher whose media is known only by measuring it. */
  videoSent?(): Promise<{ bytes: number; atMs: number; height: number | undefined }>;
  /** Resolves once a publisher that adapts its rate sends at the rate it will keep. */
  rampedUp?(): Promise<void>;
}

/** The media files one bench run makes once and every path reads. */
interface Inputs {
  dir: string;
  /** The node publisher's demuxed ladders: one rung, and the default ladder. */
  oneRung: SourceMedia;
  ladder: SourceMedia;
  /** Files of the same media for ffmpeg: the node publisher's rung files (H.264 + Opus MP4), and H.264 + AAC FLV for RTMP. */
  rungFiles: Record<string, string>;
  flv: string;
}

/**
 * One ingest path: how to start a publisher of it against a running origin, and which files ffmpeg remuxes for the
 * same media. Only the origin process (and its children) is measured: a browser publisher's own CPU is not in it.
 */
interface IngestPath {
  name: string;
  /** What the publisher sends, for the table. */
  media: string;
  start(server: RunningServer, stream: string, inputs: Inputs): Promise<RunningPublisher>;
  /** The files with the same media, remuxed one ffmpeg each for the reference column (a ladder's rungs are summed). */
  remuxFiles(inputs: Inputs): string[];
  /** Messages fed to the packager without a transport, for the packaging-only figure; absent: not split. */
  packagerSource?(inputs: Inputs): SourceMedia;
}

const dataChannelPath = (name: string, ladder: 'one' | 'ladder'): IngestPath => ({
  name,
  media: ladder === 'one' ? '720p H.264 2.5 Mbit/s + Opus 64 kbit/s' : '720p/480p/240p H.264 2.5/1/0.3 Mbit/s + Opus',
  start: (server, stream, inputs) => startNodePublisher({ baseUrl: server.baseUrl, stream, source: ladder === 'one' ? inputs.oneRung : inputs.ladder }),
  remuxFiles: (inputs) => (ladder === 'one' ? [inputs.rungFiles['720p']!] : LADDER.map((r) => inputs.rungFiles[r.rendition]!)),
  packagerSource: (inputs) => (ladder === 'one' ? inputs.oneRung : inputs.ladder),
});

const rtmpPath: IngestPath = {
  name: 'RTMP (ffmpeg -c copy -f flv)',
  media: '720p H.264 2.5 Mbit/s + AAC 64 kbit/s',
  start: async (server, stream, inputs) => startRtmpPublisher(server, stream, inputs.flv),
  remuxFiles: (inputs) => [inputs.flv],
};

const srtPath: IngestPath = {
  name: 'SRT (ffmpeg -c copy -f mpegts)',
  media: '720p H.264 2.5 Mbit/s + AAC 64 kbit/s',
  start: async (server, stream, inputs) => startSrtPublisher(server, stream, inputs.flv),
  remuxFiles: (inputs) => [inputs.flv],
};

/** The WHIP publisher's picture: noise fills whatever the encoder is given, which for 1280x720 is Chromium's most, 2.5 Mbit/s. */
const WHIP_NOISE_PICTURE = { width: 1280, height: 720 };

const whipPath: IngestPath = {
  name: 'WHIP (Chromium, @eyevinn/whip-web-client)',
  media: 'H.264 (measured below) + Opus',
  start: (server, stream) => startWhipPublisher(server, stream),
  // ffmpeg has no file of what the browser sends: the reference is the same kind of media, the 2.5 Mbit/s 720p rung.
  remuxFiles: (inputs) => [inputs.rungFiles['720p']!],
};

/** The rows of the cost table, in order. */
const PATHS: readonly IngestPath[] = [dataChannelPath('data channel, one rung', 'one'), dataChannelPath('data channel, default ladder', 'ladder'), rtmpPath, srtPath, whipPath];

/** Paths the publishers-per-process ramp can use (BENCH_RAMP_PATH). */
const RAMP_PATHS: Record<string, IngestPath> = { rtmp: rtmpPath, srt: srtPath, datachannel: PATHS[0]! };

/** utime + stime of process `pid` (all its threads), seconds. */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S;
}

/** A process's CPU seconds by thread group: its JavaScript thread, Node's and V8's helper threads, and native threads (libdatachannel's, the SRT listener's process). */
interface ThreadCpu {
  main: number;
  helpers: number;
  native: number;
}

async function threadCpu(pid: number): Promise<ThreadCpu> {
  const cpu: ThreadCpu = { main: 0, helpers: 0, native: 0 };
  for (const tid of await readdir(`/proc/${pid}/task`)) {
    let stat: string;
    try {
      stat = await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // The thread ended while the table was read.
    }
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const seconds = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S;
    // Node names its own threads (V8 platform workers, libuv's pool) after the process; libraries name theirs.
    if (Number(tid) === pid) cpu.main += seconds;
    else if (comm === 'node' || comm.startsWith('libuv')) cpu.helpers += seconds;
    else cpu.native += seconds;
  }
  // The server's child processes (the SRT listener on libsrt) are its transport's native threads too.
  for (const child of await childPids(pid)) cpu.native += await cpuSeconds(child).catch(() => 0);
  return cpu;
}

/** The direct child processes of `pid` (Linux: /proc/PID/task/TID/children). */
async function childPids(pid: number): Promise<number[]> {
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  return text.split(' ').filter(Boolean).map(Number);
}

/** ms of CPU per wall second of each thread group of `pid` over a window of `seconds`. */
async function threadCpuOver(pid: number, seconds: number): Promise<ThreadCpu & { total: number }> {
  const before = await threadCpu(pid);
  const startedAt = performance.now();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const after = await threadCpu(pid);
  const wallS = (performance.now() - startedAt) / 1000;
  const rate = (key: keyof ThreadCpu): number => ((after[key] - before[key]) * 1000) / wallS;
  const cpu = { main: rate('main'), helpers: rate('helpers'), native: rate('native') };
  return { ...cpu, total: cpu.main + cpu.helpers + cpu.native };
}

/** CPU seconds `pid` used over a window of `seconds` (the window is a duration by definition, not a wait for a condition). */
async function cpuOver(pids: () => number[], seconds: number): Promise<{ cpuS: number; wallS: number }> {
  const before = await Promise.all(pids().map(cpuSeconds));
  const startedAt = performance.now();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const after = await Promise.all(pids().map(cpuSeconds));
  return { cpuS: after.reduce((a, b) => a + b, 0) - before.reduce((a, b) => a + b, 0), wallS: (performance.now() - startedAt) / 1000 };
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((done) => (child.exitCode !== null || child.signalCode !== null ? done() : child.once('exit', () => done())));
}

/** Loops `file` at real-time pace through ffmpeg with no re-encode, to `output` args. */
function ffmpegLoop(file: string, output: string[]): ChildProcess {
  const child = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-re', '-stream_loop', '-1', '-i', file, '-c', 'copy', ...output], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr!.setEncoding('utf8').on('data', (text: string) => process.stderr.write(`[ffmpeg] ${text}`));
  return child;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
  await exited(child);
}

function startRtmpPublisher(server: RunningServer, stream: string, flv: string): RunningPublisher {
  if (!server.rtmpBase) throw new Error('the server runs no RTMP ingest');
  const child = ffmpegLoop(flv, ['-f', 'flv', `${server.rtmpBase}/live/${stream}`]);
  return { stop: () => stopChild(child) };
}

/** The same FLV's media as MPEG-TS over SRT (the SRT listener's own threads are a child process: counted apart). */
function startSrtPublisher(server: RunningServer, stream: string, flv: string): RunningPublisher {
  if (!server.srtBase) throw new Error('the server runs no SRT ingest (libsrt-openssl-dev, gcc and pkg-config are needed)');
  const child = ffmpegLoop(flv, ['-f', 'mpegts', `${server.srtBase}?streamid=publish:${stream}`]);
  return { stop: () => stopChild(child) };
}

/**
 * Chromium publishing a 1280x720 noise picture and its fake microphone through @eyevinn/whip-web-client (the page
 * served by Vite in this process). The browser is a process of its own: the origin's figure does not include it.
 */
async function startWhipPublisher(server: RunningServer, stream: string): Promise<RunningPublisher> {
  const vite = await startVite({ prebundle: ['@eyevinn/whip-web-client'] });
  const browser = await launchChromium();
  const stop = async (): Promise<void> => {
    await browser.close();
    await vite.close();
  };
  try {
    const { page, result } = await openWhipPublisher(browser, vite.url, `${server.baseUrl}/api/whip/${stream}`, undefined, WHIP_NOISE_PICTURE);
    await result;
    return {
      stop: async () => {
        await stopWhipPublisher(page).catch((err: unknown) => console.warn(`  the WHIP publisher's DELETE failed: ${String(err)}`));
        await stop();
      },
      // Chromium starts its encoder low and raises the target as its bandwidth estimate grows.
      rampedUp: async () => {
        await pollUntil(() => whipSendStats(page), (s) => (s.videoTargetBitrate ?? 0) >= WHIP_RAMPED_TARGET_BPS, WHIP_RAMP_TIMEOUT_MS, 'the WHIP encoder target ramped up');
      },
      videoSent: async () => {
        const stats = await whipSendStats(page);
        return { bytes: stats.videoBytesSent, atMs: stats.timestampMs, height: stats.frameHeight };
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function makeInputs(): Promise<Inputs> {
  const dir = await mkdtemp(join(tmpdir(), 'swarmcast-ingest-cost-'));
  const rungFiles: Record<string, string> = {};
  // The node publisher's own encoder settings (encodeRung), written to files ffmpeg can remux.
  for (const rung of LADDER) {
    rungFiles[rung.rendition] = join(dir, `${rung.rendition}.mp4`);
    await encodeRung(rungFiles[rung.rendition]!, rung, SOURCE_SECONDS, GOP_SECONDS);
  }
  const flv = join(dir, 'rtmp.flv');
  await runFfmpeg([
    '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', String(SOURCE_SECONDS),
    '-c:v', 'libx264', '-profile:v', 'baseline', '-pix_fmt', 'yuv420p', '-preset', 'veryfast', '-b:v', '2500k', '-maxrate', '2500k', '-bufsize', '2500k',
    '-g', '60', '-keyint_min', '60', '-sc_threshold', '0', '-bf', '0', '-c:a', 'aac', '-b:a', '64k', '-ar', '48000', '-ac', '2', '-f', 'flv', flv,
  ]);
  // One after the other: makeSource names its files by rung index in the directory it is given.
  const oneRung = await makeSource(dir, [RUNG_720P], SOURCE_SECONDS, GOP_SECONDS);
  const ladder = await makeSource(dir, LADDER, SOURCE_SECONDS, GOP_SECONDS);
  return { dir, oneRung, ladder, rungFiles, flv };
}

async function runFfmpeg(args: string[]): Promise<void> {
  const child = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  await exited(child);
  if (child.exitCode !== 0) throw new Error(`ffmpeg ${args.join(' ')} exited with ${child.exitCode}`);
}

/** ffmpeg's CPU to remux `files` (one ffmpeg each, in parallel, real-time pace) to fMP4 HLS with 1 s segments, per media second. */
async function ffmpegRemuxCost(files: string[], seconds: number): Promise<number> {
  const out = await mkdtemp(join(tmpdir(), 'swarmcast-remux-'));
  const children = files.map((file, i) =>
    ffmpegLoop(file, ['-f', 'hls', '-hls_segment_type', 'fmp4', '-hls_time', '1', '-hls_list_size', '6', '-hls_flags', 'delete_segments', '-hls_fmp4_init_filename', `init-${i}.mp4`, '-hls_segment_filename', join(out, `r${i}-%d.m4s`), join(out, `r${i}.m3u8`)]),
  );
  try {
    // Start-up (probing the input) is not a per-second cost: the window opens once every ffmpeg has written segments.
    const playlists = files.map((_, i) => join(out, `r${i}.m3u8`));
    const segmentsWritten = (): Promise<number[]> =>
      Promise.all(playlists.map((playlist) => readFile(playlist, 'utf8').then((text) => text.split('#EXTINF').length - 1, () => 0)));
    await pollUntil(segmentsWritten, (counts) => counts.every((n) => n >= WARM_UP_SEGMENTS), 30_000, `${WARM_UP_SEGMENTS} segments from every ffmpeg remux`);
    const { cpuS, wallS } = await cpuOver(() => children.map((c) => c.pid!), seconds);
    return (cpuS * 1000) / wallS;
  } finally {
    await Promise.all(children.map(stopChild));
    await rm(out, { recursive: true, force: true });
  }
}

/** Media seconds each file is looped for the batch remux (its start-up is measured apart and subtracted). */
const BATCH_MEDIA_SECONDS = 120;

/** ffmpeg's own CPU (-benchmark's utime + stime) to remux `file` `loops` times over, as fast as it goes. */
async function ffmpegBatchCpuS(file: string, loops: number, out: string): Promise<number> {
  const child = spawn('ffmpeg', ['-hide_banner', '-nostats', '-v', 'info', '-benchmark', '-y', '-stream_loop', String(loops - 1), '-i', file, '-c', 'copy', '-f', 'hls', '-hls_segment_type', 'fmp4', '-hls_time', '1', '-hls_list_size', '6', '-hls_flags', 'delete_segments', '-hls_segment_filename', join(out, 'b-%d.m4s'), join(out, 'b.m3u8')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (err += text));
  await exited(child);
  const m = /bench: utime=([\d.]+)s stime=([\d.]+)s/.exec(err);
  if (!m) throw new Error(`ffmpeg -benchmark printed no times: ${err.slice(-500)}`);
  return Number(m[1]) + Number(m[2]);
}

/** ffmpeg's remux of `files` without -re, per media second: (cost of many loops − cost of one) / the media between. */
async function ffmpegBatchRemuxCost(files: string[]): Promise<number> {
  const out = await mkdtemp(join(tmpdir(), 'swarmcast-remux-'));
  try {
    const loops = BATCH_MEDIA_SECONDS / SOURCE_SECONDS;
    let ms = 0;
    for (const file of files) ms += ((await ffmpegBatchCpuS(file, loops, out)) - (await ffmpegBatchCpuS(file, 1, out))) * 1000 / (BATCH_MEDIA_SECONDS - SOURCE_SECONDS);
    return ms;
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

/**
 * The packager and the origin's timelines alone, in this process: `seconds` of the source's wire messages fed as fast
 * as they go (no transport, no timers, no viewers); CPU per media second.
 */
function packagerOnlyCost(source: SourceMedia, seconds: number): number {
  setLogLevel('warn');
  const config = loadConfig({});
  const origin = new Origin({ partTargetMs: config.media.partTargetMs, segmentTargetMs: config.media.segmentTargetMs, windowSegments: config.media.windowSegments });
  const feed = (stream: string, mediaSeconds: number): void => {
    const packager = new StreamPackager({ streamName: stream, partTargetUs: config.media.partTargetMs * 1000, segmentTargetUs: config.media.segmentTargetMs * 1000 });
    origin.attach(stream, packager);
    for (const message of wireMessages(source, mediaSeconds)) packager.push(message);
    packager.end();
  };
  feed('warm-up', 10);
  // The median of three feeds: on a shared machine one feed can lose its core for a while.
  const costs = [0, 1, 2].map((i) => {
    const before = process.cpuUsage();
    feed(`measured${i}`, seconds);
    const used = process.cpuUsage(before);
    return (used.user + used.system) / 1000 / seconds;
  });
  origin.close();
  return costs.sort((a, b) => a - b)[1]!;
}

/** What the node publisher sends for `seconds` of its looped source, as the packager receives it. */
function* wireMessages(source: SourceMedia, seconds: number): Generator<WireMessage> {
  const firstUs = 1_000_000;
  yield { type: 'clock', timestampUs: firstUs, wallClockMs: Date.now(), gridOriginUs: firstUs };
  yield* source.tracks;
  const endUs = seconds * 1_000_000;
  for (let loop = 0; loop * source.periodUs < endUs; loop++) {
    for (const s of source.samples) {
      const mediaUs = loop * source.periodUs + s.offsetUs;
      if (mediaUs >= endUs) return;
      yield { type: 'chunk', trackId: s.trackId, keyframe: s.keyframe, timestampUs: firstUs + mediaUs, durationUs: s.durationUs, data: s.data };
    }
  }
}

export interface IngestCostRow {
  path: IngestPath;
  /** What the publisher sent: the path's description, or what was measured over the window. */
  media: string;
  /** Origin CPU above idle, ms per media second. */
  originMs: number;
  /** originMs by thread group, each above its idle. */
  threads: ThreadCpu;
  packagerMs: number | undefined;
  /** ffmpeg at real-time pace (-re), as the origin runs. */
  ffmpegMs: number;
  /** ffmpeg as fast as it goes (no -re): the remux's own work. */
  ffmpegBatchMs: number;
}

/** Origin CPU per media second for every path, the idle baseline subtracted, beside ffmpeg's remux of the same media. */
export async function benchIngestCost(seconds: number): Promise<{ rows: IngestCostRow[]; idleMs: number }> {
  const inputs = await makeInputs();
  const server = await startServer({ LOG_LEVEL: 'warn', SRT_PORT: '0' });
  try {
    // The idle baseline after the start's own work has settled (module compilation, the SRT listener's start), and the
    // lower of two windows, so a collection in one does not inflate every row's baseline.
    await new Promise((resolve) => setTimeout(resolve, IDLE_SETTLE_MS));
    const idleWindows = [await threadCpuOver(server.pid, IDLE_SECONDS / 2), await threadCpuOver(server.pid, IDLE_SECONDS / 2)];
    const idle = idleWindows[0]!.total <= idleWindows[1]!.total ? idleWindows[0]! : idleWindows[1]!;
    const idleMs = idle.total;
    console.log(`  origin idle: ${idleMs.toFixed(1)} ms CPU per s`);
    const rows: IngestCostRow[] = [];
    for (const [index, path] of PATHS.entries()) {
      const stream = `cost${index}`;
      const publisher = await path.start(server, stream, inputs);
      try {
        await playlistWithSegments(await mediaPlaylistUrl(server.baseUrl, stream, 30_000), WARM_UP_SEGMENTS, 30_000);
        await publisher.rampedUp?.();
        const sentBefore = await publisher.videoSent?.();
        const cpu = await threadCpuOver(server.pid, seconds);
        const sentAfter = await publisher.videoSent?.();
        const media = sentBefore && sentAfter ? measuredMedia(sentBefore, sentAfter) : path.media;
        const originMs = cpu.total - idleMs;
        const threads = { main: cpu.main - idle.main, helpers: cpu.helpers - idle.helpers, native: cpu.native - idle.native };
        const packagerSource = path.packagerSource?.(inputs);
        const packagerMs = packagerSource && packagerOnlyCost(packagerSource, Math.max(60, seconds));
        const ffmpegMs = await ffmpegRemuxCost(path.remuxFiles(inputs), seconds);
        const ffmpegBatchMs = await ffmpegBatchRemuxCost(path.remuxFiles(inputs));
        rows.push({ path, media, originMs, threads, packagerMs, ffmpegMs, ffmpegBatchMs });
        console.log(`  measured ${path.name} (${media}): origin ${originMs.toFixed(1)} ms/s, ffmpeg remux ${ffmpegMs.toFixed(1)} ms/s`);
      } finally {
        await publisher.stop();
      }
    }
    return { rows, idleMs };
  } finally {
    await server.stop();
    await rm(inputs.dir, { recursive: true, force: true });
  }
}

/** The video a measured publisher sent over the window, as the table's media column says it. */
function measuredMedia(before: { bytes: number; atMs: number }, after: { bytes: number; atMs: number; height: number | undefined }): string {
  const mbps = ((after.bytes - before.bytes) * 8) / (after.atMs - before.atMs) / 1000;
  return `${after.height ?? '?'}p H.264 ${mbps.toFixed(2)} Mbit/s (measured) + Opus`;
}

const fixed = (value: number | undefined): string => (value === undefined || !Number.isFinite(value) ? '–' : value.toFixed(1));

export function ingestCostTable(rows: IngestCostRow[]): { header: string[]; rows: string[][] } {
  const header = [
    'ingest path', 'media', 'origin CPU ms / media s (above idle)', 'of which JS thread / V8+libuv helpers / native transport threads',
    'packaging + timelines alone (no transport)', 'transport (origin − packaging)', 'ffmpeg remux -re (real time)', 'ffmpeg remux (as fast as it goes)',
    'packaging ÷ ffmpeg (fast)',
  ];
  return {
    header,
    rows: [
      ...rows.map((r) => [
        r.path.name,
        r.media,
        fixed(r.originMs),
        `${fixed(r.threads.main)} / ${fixed(r.threads.helpers)} / ${fixed(r.threads.native)}`,
        fixed(r.packagerMs),
        fixed(r.packagerMs === undefined ? undefined : r.originMs - r.packagerMs),
        fixed(r.ffmpegMs),
        fixed(r.ffmpegBatchMs),
        r.packagerMs === undefined ? '–' : `${fixed(r.packagerMs / r.ffmpegBatchMs)}×`,
      ]),
    ],
  };
}

/** Where a stream's media playlist ends now, as the wall-clock time of its last part's end (PDT + durations). */
async function mediaEndMs(playlistUrl: string): Promise<{ endMs: number; gaps: number }> {
  const text = await (await fetch(playlistUrl)).text();
  const lines = text.split('\n');
  let endMs = Number.NaN;
  let gaps = 0;
  for (const line of lines) {
    if (line.startsWith('#EXT-X-PROGRAM-DATE-TIME:')) endMs = Date.parse(line.slice('#EXT-X-PROGRAM-DATE-TIME:'.length));
    else if (line.startsWith('#EXT-X-PART:')) {
      endMs += Number(/DURATION=([\d.]+)/.exec(line)?.[1]) * 1000;
      if (line.includes('GAP=YES')) gaps++;
    }
  }
  return { endMs, gaps };
}

export interface RampStep {
  publishers: number;
  /** Worst (now − live edge's media end) over every stream and poll, ms: how late the latest part is. */
  worstLagMs: number;
  /** Least media published per wall second over the window, over every stream (1 = real time). */
  slowestRate: number;
  /** Largest (wall time − media published) over the window, over every stream, ms: media that never came. */
  worstShortfallMs: number;
  gapParts: number;
  originCpuPercent: number;
  ok: boolean;
}

const RAMP_POLL_MS = 500;

/**
 * Adds publishers of `pathName` until a step drops media: a stream's playlist grows by more than `maxLagMs` less media
 * than the window's wall time, its latest part ends more than `maxLagMs` before now, a GAP part appears, or the origin
 * drops a publisher.
 */
export async function benchPublishersPerProcess(pathName: string, steps: number[], seconds: number, maxLagMs: number): Promise<RampStep[]> {
  const path = RAMP_PATHS[pathName];
  if (!path) throw new Error(`BENCH_RAMP_PATH ${pathName}: one of ${Object.keys(RAMP_PATHS).join(', ')}`);
  const inputs = await makeInputs();
  // The ramp opens many publishers within a minute from one address, which the default admission limits refuse.
  const server = await startServer({ LOG_LEVEL: 'warn', SRT_PORT: '0', MAX_PUBLISHES_PER_MINUTE: '1000000', MAX_STREAMS: '100000' });
  const publishers: RunningPublisher[] = [];
  const playlists: string[] = [];
  const results: RampStep[] = [];
  try {
    for (const count of steps) {
      while (publishers.length < count) {
        const stream = `ramp${publishers.length}`;
        publishers.push(await path.start(server, stream, inputs));
        playlists.push(await mediaPlaylistUrl(server.baseUrl, stream, 30_000));
      }
      await new Promise((resolve) => setTimeout(resolve, WARM_UP_MS));
      const cpuBefore = await cpuSeconds(server.pid);
      const first = await Promise.all(playlists.map(mediaEndMs));
      const startedAt = Date.now();
      let worstLagMs = 0;
      let gapParts = 0;
      let last = first;
      while (Date.now() - startedAt < seconds * 1000) {
        await new Promise((resolve) => setTimeout(resolve, RAMP_POLL_MS));
        const polledAt = Date.now();
        last = await Promise.all(playlists.map(mediaEndMs));
        for (const edge of last) worstLagMs = Math.max(worstLagMs, polledAt - edge.endMs);
      }
      const wallMs = Date.now() - startedAt;
      for (const [i, edge] of last.entries()) gapParts = Math.max(gapParts, edge.gaps - first[i]!.gaps);
      const slowestRate = Math.min(...last.map((edge, i) => (edge.endMs - first[i]!.endMs) / wallMs));
      // A playlist grows a part at a time, so a window's media is known to a part: a shortfall, not a ratio, is compared.
      const worstShortfallMs = Math.max(...last.map((edge, i) => wallMs - (edge.endMs - first[i]!.endMs)));
      const originCpuPercent = ((await cpuSeconds(server.pid)) - cpuBefore) * 100 / (wallMs / 1000);
      const metrics = await (await fetch(`${server.baseUrl}/metrics`)).text();
      const droppedPublishers = Number(/^swarmcast_publishers_dropped_total (\d+)/m.exec(metrics)?.[1] ?? 0);
      const ok = worstLagMs <= maxLagMs && worstShortfallMs <= maxLagMs && gapParts === 0 && droppedPublishers === 0 && Number.isFinite(slowestRate);
      results.push({ publishers: count, worstLagMs, slowestRate, worstShortfallMs, gapParts, originCpuPercent, ok });
      console.log(`  ${count} publishers: worst lag ${Math.round(worstLagMs)} ms, slowest ${slowestRate.toFixed(3)}× real time (${Math.round(worstShortfallMs)} ms short), ${gapParts} GAP parts, origin ${originCpuPercent.toFixed(0)} % CPU → ${ok ? 'ok' : 'drops media'}`);
      if (!ok) break;
    }
    return results;
  } finally {
    await Promise.all(publishers.map((p) => p.stop()));
    await server.stop();
    await rm(inputs.dir, { recursive: true, force: true });
  }
}

export function rampTable(steps: RampStep[]): { header: string[]; rows: string[][]; verdict: string } {
  const header = ['publishers', 'worst lag of the latest part (ms)', 'slowest stream (× real time)', 'worst media shortfall over the window (ms)', 'GAP parts', 'origin CPU (% of 1 core)', 'no dropped media'];
  const rows = steps.map((s) => [String(s.publishers), String(Math.round(s.worstLagMs)), s.slowestRate.toFixed(3), String(Math.round(s.worstShortfallMs)), String(s.gapParts), `${s.originCpuPercent.toFixed(0)} %`, s.ok ? 'yes' : 'no']);
  const held = steps.filter((s) => s.ok).at(-1);
  const failed = steps.find((s) => !s.ok);
  const verdict = held
    ? `One origin process held ${held.publishers} concurrent publishers with no dropped media${failed ? ` (${failed.publishers} dropped media)` : ' (the largest step tried)'}`
    : 'The first step already dropped media';
  return { header, rows, verdict };
}
