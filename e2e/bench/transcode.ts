// Bench part: what origin transcoding costs on this machine: the worker's CPU per rung of the default ladder, the delay it
// adds (rung parts behind the source's, the worker's frame delay), and how many transcoded streams one machine holds.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { multivariantPath } from '../../shared/playback-path.ts';
import { preloadHintOf, rawGet } from '../support/live-hls.ts';
import { pollUntil } from '../support/poll.ts';
import { startServer, type RunningServer } from '../support/server.ts';

const run = promisify(execFile);
const KEY = 'transcode-bench-publish-key';
const CLOCK_TICKS_PER_S = 100;
/** The looped source: 720p30 H.264 2.5 Mbit/s (2 B-frames, 2 s GOP) + AAC, encoded once; its length a multiple of the GOP. */
const SOURCE_SECONDS = 10;
/** A worker is past its start-up (rungs configured, CPU sampled) this long after its stream is live. */
const WARM_UP_MS = 4000;
const DEFAULT_LADDER = '480p:1200k,240p:400k';
/** The server's default TRANSCODE_MAX_LAG_MS: a worker lagging more is restarted, so a stream under it "holds". */
const MAX_LAG_MS = 2000;

interface Status {
  state: string;
  pid?: number;
  restarts: number;
  rungs: { rendition: string; lagMs?: number; maxLagMs?: number }[];
}

export interface TranscodeCostRow {
  ladder: string;
  /** The worker's CPU over the window, cores. */
  workerCores: number;
  /** The origin process's CPU over the window (ingest, packaging and serving of all renditions), cores. */
  originCores: number;
  /** Per rung: median and max of how much later its part is complete than the source's same part, ms. */
  partLag: { rendition: string; medianMs: number; maxMs: number }[];
  /** Per rung: the worker's frame delay (source frame in → rung frame out) at the end, and its max over 10 s, ms. */
  frameDelay: { rendition: string; lastMs: number; maxMs: number }[];
}

export interface CapacityStep {
  streams: number;
  holds: boolean;
  /** Sum of the workers' CPU over the window, cores. */
  workerCores: number;
  worstMaxLagMs: number;
  restarts: number;
  note: string;
}

function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S;
}

async function makeSource(dir: string): Promise<string> {
  const file = join(dir, 'src.flv');
  await run('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', `testsrc2=size=1280x720:rate=30:duration=${SOURCE_SECONDS}`,
    '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${SOURCE_SECONDS}`,
    '-c:v', 'libx264', '-preset', 'veryfast', '-b:v', '2500k', '-maxrate', '2500k', '-bufsize', '2500k', '-bf', '2', '-g', '60', '-keyint_min', '60', '-sc_threshold', '0',
    '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '64k', '-f', 'flv', file,
  ]);
  return file;
}

/** `ffmpeg -re -stream_loop -1 -i src.flv -c copy -f flv rtmp://…`: a publisher that costs next to nothing. */
function publish(server: RunningServer, source: string, stream: string): ChildProcess {
  return spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-re', '-stream_loop', '-1', '-i', source, '-c', 'copy', '-f', 'flv', `${server.rtmpBase}/live/${stream}?key=${KEY}`], { stdio: 'ignore' });
}

async function status(server: RunningServer, stream: string): Promise<Status | undefined> {
  const res = await fetch(`${server.baseUrl}/api/streams/${stream}/transcode`);
  return res.status === 200 ? ((await res.json()) as Status) : undefined;
}

async function running(server: RunningServer, stream: string): Promise<Status> {
  const s = await pollUntil(() => status(server, stream), (s) => s?.state === 'running' && s.pid !== undefined, 30_000, `${stream} transcoded`);
  return s!;
}

async function playlistUris(server: RunningServer, stream: string): Promise<string[]> {
  const url = `${server.baseUrl}${multivariantPath(stream)}`;
  const lines = (await (await fetch(url)).text()).split('\n');
  return lines.flatMap((line, i) => (line.startsWith('#EXT-X-STREAM-INF:') ? [new URL(lines[i + 1]!.trim(), url).href] : []));
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
const stopAll = async (children: ChildProcess[]): Promise<void> => {
  await Promise.all(children.map((c) => new Promise<void>((done) => (c.exitCode !== null || c.signalCode !== null ? done() : (c.once('exit', () => done()), c.kill('SIGKILL'))))));
};

/** One stream with `ladder`: CPU of the worker and the origin over `seconds`, then the rung parts' delay (`parts` parts). */
async function measureLadder(source: string, ladder: string, seconds: number, parts: number): Promise<TranscodeCostRow> {
  const server = await startServer({ PUBLISH_KEY: KEY, TRANSCODE_LADDER: ladder, LOG_LEVEL: 'warn' });
  const publisher = publish(server, source, 'cost');
  try {
    const first = await running(server, 'cost');
    await new Promise((done) => setTimeout(done, WARM_UP_MS));
    const workerPid = first.pid!;
    const [w0, o0, t0] = [cpuSecondsOf(workerPid), cpuSecondsOf(server.pid), performance.now()];
    await new Promise((done) => setTimeout(done, seconds * 1000));
    const [w1, o1, t1] = [cpuSecondsOf(workerPid), cpuSecondsOf(server.pid), performance.now()];
    const wallS = (t1 - t0) / 1000;
    const end = (await status(server, 'cost'))!;
    const uris = await playlistUris(server, 'cost');
    // The source is listed first (highest BANDWIDTH); each rung's part against the source's same part.
    const [sourceUri, ...rungUris] = uris;
    const lags: number[][] = rungUris.map(() => []);
    for (let i = 0; i < parts; i++) {
      const hint = preloadHintOf(await (await fetch(sourceUri!)).text(), sourceUri!)!;
      const query = `?_HLS_msn=${hint.msn}&_HLS_part=${hint.part}`;
      const [sourceDone, ...rungDone] = await Promise.all([sourceUri!, ...rungUris].map((u) => rawGet(`${u}${query}`).then((a) => a.doneAtMs)));
      rungDone.forEach((done, r) => lags[r]!.push(done - sourceDone!));
    }
    return {
      ladder,
      workerCores: (w1 - w0) / wallS,
      originCores: (o1 - o0) / wallS,
      partLag: end.rungs.map((r, i) => ({ rendition: r.rendition, medianMs: median(lags[i]!), maxMs: Math.max(...lags[i]!) })),
      frameDelay: end.rungs.map((r) => ({ rendition: r.rendition, lastMs: r.lagMs ?? Number.NaN, maxMs: r.maxLagMs ?? Number.NaN })),
    };
  } finally {
    await stopAll([publisher]);
    await server.stop();
  }
}

/** `streams` streams with the default ladder at once, for `seconds`: holds if every worker runs, never restarted, lag under MAX_LAG_MS. */
async function capacityStep(source: string, streams: number, seconds: number): Promise<CapacityStep> {
  const server = await startServer({ PUBLISH_KEY: KEY, TRANSCODE_LADDER: DEFAULT_LADDER, TRANSCODE_MAX_STREAMS: String(streams), TRANSCODE_MAX_LAG_MS: String(MAX_LAG_MS), LOG_LEVEL: 'warn' });
  const names = Array.from({ length: streams }, (_, i) => `cap${i}`);
  const publishers = names.map((name) => publish(server, source, name));
  try {
    let started: Status[];
    try {
      started = await Promise.all(names.map((name) => running(server, name)));
    } catch (err) {
      return { streams, holds: false, workerCores: Number.NaN, worstMaxLagMs: Number.NaN, restarts: Number.NaN, note: `not all workers ran: ${(err as Error).message}` };
    }
    await new Promise((done) => setTimeout(done, WARM_UP_MS));
    const pids = started.map((s) => s.pid!);
    const cpu = (): number => pids.reduce((sum, pid) => {
      try {
        return sum + cpuSecondsOf(pid);
      } catch {
        return sum;
      }
    }, 0);
    const [c0, t0] = [cpu(), performance.now()];
    let worst = 0;
    const deadline = performance.now() + seconds * 1000;
    let ends: (Status | undefined)[] = [];
    while (performance.now() < deadline) {
      ends = await Promise.all(names.map((name) => status(server, name)));
      for (const s of ends) for (const r of s?.rungs ?? []) worst = Math.max(worst, r.maxLagMs ?? 0);
      await new Promise((done) => setTimeout(done, 1000));
    }
    const restarts = ends.reduce((sum, s) => sum + (s?.restarts ?? 0), 0);
    // A restarted worker is a new process: the CPU of the ones sampled at the start no longer adds up to the window's.
    const workerCores = restarts === 0 ? (cpu() - c0) / ((performance.now() - t0) / 1000) : Number.NaN;
    const notRunning = ends.filter((s) => s?.state !== 'running').length;
    const holds = restarts === 0 && notRunning === 0 && worst < MAX_LAG_MS;
    const note = holds ? 'holds' : `${notRunning} not running, ${restarts} restarts, worst frame delay ${Math.round(worst)} ms`;
    return { streams, holds, workerCores, worstMaxLagMs: worst, restarts, note };
  } finally {
    await stopAll(publishers);
    await server.stop();
  }
}

/** The per-ladder rows (each rung alone and the default ladder) and the capacity ramp, stopping at the first step that fails. */
export async function benchTranscode(seconds: number, steps: readonly number[]): Promise<{ rows: TranscodeCostRow[]; capacity: CapacityStep[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'swarmcast-transcode-bench-'));
  try {
    const source = await makeSource(dir);
    const rows: TranscodeCostRow[] = [];
    for (const ladder of ['480p:1200k', '240p:400k', DEFAULT_LADDER]) rows.push(await measureLadder(source, ladder, seconds, 15));
    const capacity: CapacityStep[] = [];
    for (const streams of steps) {
      const step = await capacityStep(source, streams, seconds);
      capacity.push(step);
      if (!step.holds) break;
    }
    return { rows, capacity };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The markdown tables: cost per ladder (the decode share is both rungs alone minus the default ladder), and capacity;
 * `browserLadderMs` is the browser-ladder path's origin cost for its three rungs (ms of CPU per media second, the
 * ingest-cost bench's figures), for the side-by-side row.
 */
export function transcodeTables(rows: readonly TranscodeCostRow[], capacity: readonly CapacityStep[], browserLadder: { totalMsPerS: number; packagingMsPerS: number }): string[] {
  const f = (n: number, d = 2): string => (Number.isFinite(n) ? (Math.abs(n) < 0.5 * 10 ** -d ? 0 : n).toFixed(d) : '–');
  const byLadder = (ladder: string): TranscodeCostRow | undefined => rows.find((r) => r.ladder === ladder);
  const r480 = byLadder('480p:1200k');
  const r240 = byLadder('240p:400k');
  const both = byLadder(DEFAULT_LADDER);
  const decode = r480 && r240 && both ? r480.workerCores + r240.workerCores - both.workerCores : Number.NaN;
  const cost = [
    '| stream (720p30 H.264 2.5 Mbit/s + AAC over RTMP) | worker CPU, cores | of which decode (est.) | rungs\' encode | origin process CPU, cores (ms/s) | rung part after the source\'s, median / max ms | worker frame delay, last / max 10 s, ms |',
    '|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ladder ${r.ladder} | ${f(r.workerCores)} | ${f(decode)} | ${f(r.workerCores - decode)} | ${f(r.originCores, 3)} (${f(r.originCores * 1000, 1)}) | ${r.partLag.map((p) => `${p.rendition} ${f(p.medianMs, 0)} / ${f(p.maxMs, 0)}`).join('; ')} | ${r.frameDelay.map((p) => `${p.rendition} ${f(p.lastMs, 0)} / ${f(p.maxMs, 0)}`).join('; ')} |`),
    `| browser ladder (720p/480p/240p encoded by the broadcaster; ingest-cost bench, data channel) | 0 (no worker) | – | – | ${f(browserLadder.totalMsPerS / 1000, 3)} (${f(browserLadder.totalMsPerS, 1)}; packaging alone ${f(browserLadder.packagingMsPerS, 1)}) | – | – |`,
  ];
  const cap = [
    '| transcoded streams at once (default ladder) | workers\' CPU, cores | worst frame delay, ms | restarts | holds in real time |',
    '|---|---|---|---|---|',
    ...capacity.map((c) => `| ${c.streams} | ${f(c.workerCores)} | ${f(c.worstMaxLagMs, 0)} | ${Number.isFinite(c.restarts) ? c.restarts : '–'} | ${c.holds ? 'yes' : `no: ${c.note}`} |`),
  ];
  return [cost.join('\n'), cap.join('\n')];
}
