// Bench (not a test): simulated LL-HLS viewers against the built-in edge and against nginx, side by side.
// The stream comes from the Node publisher (a real WebRTC publisher replaying an ffmpeg-made H.264 + Opus file),
// so the two cores go to the origin, the edge and the load generator rather than to a browser's encoder.
// Each viewer behaves like hls.js in low-latency mode on one rendition: a blocking playlist reload for the hinted
// part (_HLS_msn/_HLS_part) and the hinted part itself, in parallel, then the next. A probe client does the same
// directly at the origin; the time its part request completes is when the part became available at the origin.
// Delay of a part to a viewer = the viewer's last-byte time − the probe's last-byte time, both performance.now()
// in this process. Origin requests are counted by the origin itself (swarmcast_http_responses_total{route="live"}),
// the probe's own requests subtracted.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { cpus, totalmem } from 'node:os';
import { multivariantPath, parsePlaybackPath } from '../../shared/playback-path.ts';
import { preloadHintOf, rawGet, type PreloadHint } from '../support/live-hls.ts';
import { metricIn, readMetric } from '../support/metrics.ts';
import { startNginx, type RunningNginx } from '../support/nginx.ts';
import { startNodePublisher } from '../support/node-publisher.ts';
import { startServer } from '../support/server.ts';

const STREAM = 'bench-edge';
const STEP_SECONDS = Number(process.env.BENCH_STEP_SECONDS ?? 20);
const WARMUP_SECONDS = 4;
const VIEWER_COUNTS = (process.env.BENCH_VIEWERS ?? '10,100,200,300,500,1000,2000').split(',').map(Number);
const REQUEST_TIMEOUT_MS = 10_000;
/** Which edges to load: `builtin`, `nginx` or both (the default). */
const TARGETS = (process.env.BENCH_TARGETS ?? 'builtin,nginx').split(',');

interface Sample {
  /** rendition/msn.part */
  part: string;
  doneAtMs: number;
}

interface StepResult {
  viewers: number;
  originRequestsPerPart: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  deliveries: number;
  errors: number;
  cpuPercent: number;
  rssMb: number;
  loadGenCpuPercent: number;
  /** Plain playlist requests in the window: viewers (re)starting from the live playlist after losing the thread. */
  plainPlaylists: number;
  /** Errors in the window by request kind and status / timeout. */
  errorKinds: Map<string, number>;
  /** nginx only: its access log in the window, requests by kind, status and cache status. */
  edgeLog: Map<string, number> | undefined;
}

/** What a viewer asks for: the plain (non-blocking) playlist it starts from, a blocking reload, or a part. */
type RequestKind = 'plain playlist' | 'blocking playlist' | 'part';

class RequestCounter {
  errors = 0;
  requests = 0;
  /** Errors by `kind status` (`status` is the HTTP status, `timeout` or `network`), for the breakdown. */
  readonly errorKinds = new Map<string, number>();
  /** Requests by kind: plain playlist requests beyond one per viewer are viewers starting over. */
  readonly requestKinds = new Map<RequestKind, number>();

  count(kind: RequestKind): void {
    this.requests++;
    this.requestKinds.set(kind, (this.requestKinds.get(kind) ?? 0) + 1);
  }

  error(kind: RequestKind, what: string): void {
    this.errors++;
    const key = `${kind} ${what}`;
    this.errorKinds.set(key, (this.errorKinds.get(key) ?? 0) + 1);
  }

  snapshot(): { errorKinds: Map<string, number>; requestKinds: Map<RequestKind, number> } {
    return { errorKinds: new Map(this.errorKinds), requestKinds: new Map(this.requestKinds) };
  }
}

/** GET with a deadline; a status other than 200 (or a hinted part the origin skipped, 404) counts as an error. */
function get(url: string, kind: RequestKind, agent: http.Agent, counter: RequestCounter): Promise<{ body: Buffer; doneAtMs: number } | null> {
  counter.count(kind);
  return new Promise((resolve) => {
    let settled = false;
    let timedOut = false;
    const fail = (what: string): void => {
      if (settled) return;
      settled = true;
      counter.error(kind, what);
      resolve(null);
    };
    const req = http.get(url, { agent, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        if (res.statusCode !== 200 && !(kind === 'part' && res.statusCode === 404)) return fail(String(res.statusCode));
        if (settled) return;
        settled = true;
        resolve(res.statusCode === 200 ? { body: Buffer.concat(chunks), doneAtMs: performance.now() } : null);
      });
      res.on('error', () => fail(timedOut ? 'timeout' : 'network'));
    });
    req.on('timeout', () => {
      timedOut = true;
      req.destroy(new Error('timeout'));
    });
    req.on('error', () => fail(timedOut ? 'timeout' : 'network'));
  });
}

/** One simulated hls.js viewer (or the probe) following `playlistUrl` until `stop()`. */
async function follow(playlistUrl: string, rendition: string, untilMs: () => boolean, counter: RequestCounter, samples: Sample[]): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
  try {
    let hint: PreloadHint | null = null;
    while (!hint && !untilMs()) {
      const first = await get(playlistUrl, 'plain playlist', agent, counter);
      hint = first ? preloadHintOf(first.body.toString(), playlistUrl) : null;
      if (!hint) await new Promise((done) => setTimeout(done, 200));
    }
    while (hint && !untilMs()) {
      const wanted: PreloadHint = hint;
      const [playlist, part] = await Promise.all([
        get(`${playlistUrl}?_HLS_msn=${wanted.msn}&_HLS_part=${wanted.part}`, 'blocking playlist', agent, counter),
        get(wanted.url, 'part', agent, counter),
      ]);
      if (part) samples.push({ part: `${rendition}/${wanted.msn}.${wanted.part}`, doneAtMs: part.doneAtMs });
      const next = playlist ? preloadHintOf(playlist.body.toString(), playlistUrl) : null;
      // Lost the thread (error or skipped ahead): start again from a plain playlist request, as hls.js would.
      hint = next ?? (await get(playlistUrl, 'plain playlist', agent, counter).then((r) => (r ? preloadHintOf(r.body.toString(), playlistUrl) : null)));
    }
  } finally {
    agent.destroy();
  }
}

async function renditionPlaylists(baseUrl: string): Promise<{ rendition: string; path: string }[]> {
  for (let i = 0; i < 100; i++) {
    const multivariant = `${baseUrl}${multivariantPath(STREAM)}`;
    const res = await fetch(multivariant);
    if (res.status === 200) {
      const uris = (await res.text()).split('\n').filter((l) => l && !l.startsWith('#'));
      return uris.map((uri) => ({ rendition: uri.split('/')[0]!, path: new URL(uri.trim(), multivariant).pathname }));
    }
    await new Promise((done) => setTimeout(done, 200));
  }
  throw new Error('stream never went live');
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

interface Target {
  name: string;
  baseUrl: string;
  /** CPU seconds and resident bytes of the edge process(es). */
  usage(): Promise<{ cpuS: number; rssBytes: number }>;
  /** Access log lines (nginx's format, `$msec` first) of the edge, when it keeps one. */
  accessLog?: () => Promise<string[]>;
}

function countDiff<K>(after: Map<K, number>, before: Map<K, number>): Map<K, number> {
  const diff = new Map<K, number>();
  for (const [key, n] of after) if (n - (before.get(key) ?? 0) > 0) diff.set(key, n - (before.get(key) ?? 0));
  return diff;
}

/** What an nginx access log line asked for, as `kind status cache=STATUS`. */
function classifyLogLine(line: string): string | null {
  const m = /^\S+ "GET (\S+) [^"]*" (\d+) \d+ cache=(\S+)/.exec(line);
  if (!m) return null;
  const [, target = '', status, cache] = m;
  const path = parsePlaybackPath(target);
  const kind =
    path?.kind === 'media-playlist'
      ? target.includes('_HLS_msn=') ? 'blocking playlist' : 'plain playlist'
      : path?.kind === 'object' && path.object.kind === 'part' ? 'part' : path?.kind === 'multivariant' ? 'multivariant' : 'other';
  return `${kind} ${status} cache=${cache}`;
}

async function edgeLogIn(target: Target, fromS: number, toS: number): Promise<Map<string, number> | undefined> {
  if (!target.accessLog) return undefined;
  const counts = new Map<string, number>();
  for (const line of await target.accessLog()) {
    const at = Number(line.slice(0, line.indexOf(' ')));
    if (at < fromS || at > toS) continue;
    const key = classifyLogLine(line);
    if (key) counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

function formatCounts(counts: Map<string, number>): string {
  return [...counts].sort((a, b) => b[1] - a[1]).map(([key, n]) => `${key} ×${n}`).join(', ') || '—';
}

async function runStep(target: Target, originUrl: string, renditions: { rendition: string; path: string }[], viewers: number): Promise<StepResult> {
  const stepEndMs = performance.now() + STEP_SECONDS * 1000;
  const stop = (): boolean => performance.now() > stepEndMs;
  const probeCounter = new RequestCounter();
  const probeSamples: Sample[] = [];
  const viewerCounter = new RequestCounter();
  const viewerSamples: Sample[] = [];
  const runs: Promise<void>[] = renditions.map((r) => follow(`${originUrl}${r.path}`, r.rendition, stop, probeCounter, probeSamples));
  for (let i = 0; i < viewers; i++) {
    const r = renditions[i % renditions.length]!;
    // Viewers join over the first second, as an audience does, not in one instant.
    const delayMs = (i / viewers) * 1000;
    runs.push(new Promise((done) => setTimeout(done, delayMs)).then(() => follow(`${target.baseUrl}${r.path}`, r.rendition, stop, viewerCounter, viewerSamples)));
  }
  await new Promise((done) => setTimeout(done, WARMUP_SECONDS * 1000));
  const windowStartMs = performance.now();
  const originBefore = await readMetric(originUrl, 'swarmcast_http_responses_total', { route: 'live' });
  const probeRequestsBefore = probeCounter.requests;
  const usageBefore = await target.usage();
  const loadGenBefore = process.cpuUsage();
  const viewerErrorsBefore = viewerCounter.errors;
  const viewerKindsBefore = viewerCounter.snapshot();
  const windowStartWallS = Date.now() / 1000;
  await new Promise((done) => setTimeout(done, Math.max(0, stepEndMs - performance.now() - 500)));
  const windowEndMs = performance.now();
  const originAfter = await readMetric(originUrl, 'swarmcast_http_responses_total', { route: 'live' });
  const probeRequests = probeCounter.requests - probeRequestsBefore;
  const usageAfter = await target.usage();
  const loadGen = process.cpuUsage(loadGenBefore);
  const errors = viewerCounter.errors - viewerErrorsBefore;
  const viewerKinds = viewerCounter.snapshot();
  const windowEndWallS = Date.now() / 1000;
  await Promise.all(runs);

  const available = new Map<string, number>();
  for (const s of probeSamples) available.set(s.part, s.doneAtMs);
  const inWindow = [...available.values()].filter((t) => t >= windowStartMs && t <= windowEndMs).length;
  const delays: number[] = [];
  for (const s of viewerSamples) {
    const at = available.get(s.part);
    if (at !== undefined && at >= windowStartMs && at <= windowEndMs - 1000) delays.push(s.doneAtMs - at);
  }
  delays.sort((a, b) => a - b);
  const windowS = (windowEndMs - windowStartMs) / 1000;
  return {
    viewers,
    originRequestsPerPart: (originAfter - originBefore - probeRequests) / Math.max(1, inWindow),
    p50Ms: quantile(delays, 0.5),
    p99Ms: quantile(delays, 0.99),
    maxMs: delays.at(-1) ?? Number.NaN,
    deliveries: delays.length,
    errors,
    cpuPercent: ((usageAfter.cpuS - usageBefore.cpuS) / windowS) * 100,
    rssMb: usageAfter.rssBytes / 1024 / 1024,
    loadGenCpuPercent: ((loadGen.user + loadGen.system) / 1e6 / windowS) * 100,
    plainPlaylists: (viewerKinds.requestKinds.get('plain playlist') ?? 0) - (viewerKindsBefore.requestKinds.get('plain playlist') ?? 0),
    errorKinds: countDiff(viewerKinds.errorKinds, viewerKindsBefore.errorKinds),
    edgeLog: await edgeLogIn(target, windowStartWallS, windowEndWallS),
  };
}

function procUsage(pids: number[]): { cpuS: number; rssBytes: number } {
  const ticks = 100;
  let cpuS = 0;
  let rssBytes = 0;
  for (const pid of pids) {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    cpuS += (Number(fields[11]) + Number(fields[12])) / ticks;
    rssBytes += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
  }
  return { cpuS, rssBytes };
}

function childrenOf(pid: number): number[] {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return children ? children.split(' ').map(Number) : [];
}

async function main(): Promise<void> {
  const origin = await startServer({ ROLE: 'origin', LOG_LEVEL: 'warn' });
  const edge = await startServer({ ROLE: 'edge', ORIGIN_URL: origin.baseUrl, LOG_LEVEL: 'warn' });
  const nginx: RunningNginx = await startNginx(origin.baseUrl, { workers: 1 });
  const publisher = await startNodePublisher({ baseUrl: origin.baseUrl, stream: STREAM });
  try {
    const renditions = await renditionPlaylists(origin.baseUrl);
    // Let the playlist fill a few segments before the first step.
    for (let i = 0; i < 60; i++) {
      const playlist = (await rawGet(`${origin.baseUrl}${renditions[0]!.path}`)).body.toString();
      if ((playlist.match(/^#EXTINF/gm)?.length ?? 0) >= 3) break;
      await new Promise((done) => setTimeout(done, 500));
    }

    const targets: (Target & { key: string })[] = [
      {
        key: 'builtin',
        name: 'built-in edge',
        baseUrl: edge.baseUrl,
        usage: async () => {
          const text = await (await fetch(`${edge.baseUrl}/metrics`)).text();
          return { cpuS: metricIn(text, 'swarmcast_process_process_cpu_seconds_total'), rssBytes: metricIn(text, 'swarmcast_process_process_resident_memory_bytes') };
        },
      },
      { key: 'nginx', name: 'nginx (1 worker)', baseUrl: nginx.baseUrl, usage: async () => procUsage([nginx.pid, ...childrenOf(nginx.pid)]), accessLog: nginx.accessLog },
    ];
    const results = new Map<string, StepResult[]>();
    for (const target of targets.filter((t) => TARGETS.includes(t.key))) {
      const rows: StepResult[] = [];
      for (const viewers of VIEWER_COUNTS) {
        const result = await runStep(target, origin.baseUrl, renditions, viewers);
        rows.push(result);
        process.stderr.write(`${target.name} ${viewers}: p50 ${result.p50Ms.toFixed(0)} p99 ${result.p99Ms.toFixed(0)} errors ${result.errors} (${formatCounts(result.errorKinds)})\n`);
        // Past the machine's limit the next, larger step only measures the overload again.
        if (result.errors > viewers || !(result.p99Ms <= 5000)) break;
      }
      results.set(target.name, rows);
    }
    printTable(results, renditions.length);
  } finally {
    await publisher.stop();
    await nginx.stop();
    await edge.stop();
    await origin.stop();
  }
}

function printTable(results: Map<string, StepResult[]>, renditionCount: number): void {
  const header = ['edge', 'viewers', 'origin req/part', 'p50 ms', 'p99 ms', 'max ms', 'deliveries', 'errors', 'edge CPU %', 'edge RSS MB', 'load-gen CPU %'];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const [name, rows] of results) {
    for (const r of rows) {
      lines.push(
        `| ${[name, r.viewers, r.originRequestsPerPart.toFixed(2), r.p50Ms.toFixed(0), r.p99Ms.toFixed(0), r.maxMs.toFixed(0), r.deliveries, r.errors, r.cpuPercent.toFixed(0), r.rssMb.toFixed(0), r.loadGenCpuPercent.toFixed(0)].join(' | ')} |`,
      );
    }
  }
  process.stdout.write(
    [
      `Edge load: ${STEP_SECONDS} s per step (first ${WARMUP_SECONDS} s not measured), ${renditionCount} rendition(s), viewers spread over them; ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB.`,
      'origin req/part: requests the origin answered under /live/ per part and rendition (ideal 2 per edge: one blocking playlist + one part).',
      'delay: viewer last byte − probe-at-origin last byte for the same part (same clock).',
      '',
      ...lines,
      '',
    ].join('\n'),
  );
  process.stdout.write('\nPer step: plain playlist requests (viewers starting over), errors by request and status, and the edge\'s own log.\n');
  for (const [name, rows] of results) {
    for (const r of rows) {
      process.stdout.write(`- ${name}, ${r.viewers} viewers: ${r.plainPlaylists} plain playlist requests; errors: ${formatCounts(r.errorKinds)}\n`);
      if (r.edgeLog) process.stdout.write(`  access log: ${formatCounts(r.edgeLog)}\n`);
    }
  }
  for (const [name, rows] of results) {
    const ok = rows.filter((r) => r.errors === 0 && r.p99Ms <= 200).map((r) => r.viewers);
    process.stdout.write(`${name}: largest viewer count with p99 ≤ 200 ms and zero errors: ${ok.length ? Math.max(...ok) : 'none of the steps'}\n`);
  }
}

await main();
