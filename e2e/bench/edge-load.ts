// Bench (not a test): simulated LL-HLS viewers against the built-in edge and against nginx, side by side.
// Each viewer behaves like hls.js in low-latency mode on one rendition: a blocking playlist reload for the hinted
// part (_HLS_msn/_HLS_part) and the hinted part itself, in parallel, then the next. A probe client does the same
// directly at the origin; the time its part request completes is when the part became available at the origin.
// Delay of a part to a viewer = the viewer's last-byte time − the probe's last-byte time, both performance.now()
// in this process. Origin requests are counted by the origin itself (swarmcast_http_responses_total{route="live"}),
// the probe's own requests subtracted.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { cpus, totalmem } from 'node:os';
import { launchChromium } from '../support/browser.ts';
import { preloadHintOf, rawGet, type PreloadHint } from '../support/live-hls.ts';
import { metricIn, readMetric } from '../support/metrics.ts';
import { startNginx } from '../support/nginx.ts';
import { startServer } from '../support/server.ts';

const STREAM = 'bench-edge';
const STEP_SECONDS = Number(process.env.BENCH_STEP_SECONDS ?? 20);
const WARMUP_SECONDS = 4;
const VIEWER_COUNTS = (process.env.BENCH_VIEWERS ?? '10,100,200,300,500,1000,2000').split(',').map(Number);
const REQUEST_TIMEOUT_MS = 10_000;

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
}

class RequestCounter {
  errors = 0;
  requests = 0;
}

/** GET with a deadline; a status other than 200 (or a hinted part the origin skipped, 404) counts as an error. */
function get(url: string, agent: http.Agent, counter: RequestCounter, allow404 = false): Promise<{ body: Buffer; doneAtMs: number } | null> {
  counter.requests++;
  return new Promise((resolve) => {
    const req = http.get(url, { agent, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        if (res.statusCode === 200) return resolve({ body: Buffer.concat(chunks), doneAtMs: performance.now() });
        if (!(allow404 && res.statusCode === 404)) counter.errors++;
        resolve(null);
      });
      res.on('error', () => (counter.errors++, resolve(null)));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => (counter.errors++, resolve(null)));
  });
}

/** One simulated hls.js viewer (or the probe) following `playlistUrl` until `stop()`. */
async function follow(playlistUrl: string, rendition: string, untilMs: () => boolean, counter: RequestCounter, samples: Sample[]): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
  try {
    let hint: PreloadHint | null = null;
    while (!hint && !untilMs()) {
      const first = await get(playlistUrl, agent, counter);
      hint = first ? preloadHintOf(first.body.toString(), playlistUrl) : null;
      if (!hint) await new Promise((done) => setTimeout(done, 200));
    }
    while (hint && !untilMs()) {
      const wanted: PreloadHint = hint;
      const [playlist, part] = await Promise.all([
        get(`${playlistUrl}?_HLS_msn=${wanted.msn}&_HLS_part=${wanted.part}`, agent, counter),
        get(wanted.url, agent, counter, true),
      ]);
      if (part) samples.push({ part: `${rendition}/${wanted.msn}.${wanted.part}`, doneAtMs: part.doneAtMs });
      const next = playlist ? preloadHintOf(playlist.body.toString(), playlistUrl) : null;
      // Lost the thread (error or skipped ahead): start again from a plain playlist request, as hls.js would.
      hint = next ?? (await get(playlistUrl, agent, counter).then((r) => (r ? preloadHintOf(r.body.toString(), playlistUrl) : null)));
    }
  } finally {
    agent.destroy();
  }
}

async function renditionPlaylists(baseUrl: string): Promise<{ rendition: string; path: string }[]> {
  for (let i = 0; i < 100; i++) {
    const res = await fetch(`${baseUrl}/live/${STREAM}/index.m3u8`);
    if (res.status === 200) {
      const uris = (await res.text()).split('\n').filter((l) => l && !l.startsWith('#'));
      return uris.map((uri) => ({ rendition: uri.split('/')[0]!, path: `/live/${STREAM}/${uri.trim()}` }));
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
  await new Promise((done) => setTimeout(done, Math.max(0, stepEndMs - performance.now() - 500)));
  const windowEndMs = performance.now();
  const originAfter = await readMetric(originUrl, 'swarmcast_http_responses_total', { route: 'live' });
  const probeRequests = probeCounter.requests - probeRequestsBefore;
  const usageAfter = await target.usage();
  const loadGen = process.cpuUsage(loadGenBefore);
  const errors = viewerCounter.errors - viewerErrorsBefore;
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
  const nginx = await startNginx(origin.baseUrl, { workers: 1 });
  const browser = await launchChromium();
  try {
    const broadcaster = await (await browser.newContext()).newPage();
    await broadcaster.goto(`${origin.baseUrl}/broadcast?stream=${STREAM}&source=test&autostart=1`);
    await broadcaster.waitForSelector('body[data-state="live"]', { timeout: 30_000 });
    const renditions = await renditionPlaylists(origin.baseUrl);
    // Let the playlist fill its window before the first step.
    await rawGet(`${origin.baseUrl}${renditions[0]!.path}?_HLS_msn=3&_HLS_part=0`);

    const targets: Target[] = [
      {
        name: 'built-in edge',
        baseUrl: edge.baseUrl,
        usage: async () => {
          const text = await (await fetch(`${edge.baseUrl}/metrics`)).text();
          return { cpuS: metricIn(text, 'swarmcast_process_process_cpu_seconds_total'), rssBytes: metricIn(text, 'swarmcast_process_process_resident_memory_bytes') };
        },
      },
      { name: 'nginx (1 worker)', baseUrl: nginx.baseUrl, usage: async () => procUsage([nginx.pid, ...childrenOf(nginx.pid)]) },
    ];
    const results = new Map<string, StepResult[]>();
    for (const target of targets) {
      const rows: StepResult[] = [];
      for (const viewers of VIEWER_COUNTS) {
        const result = await runStep(target, origin.baseUrl, renditions, viewers);
        rows.push(result);
        process.stderr.write(`${target.name} ${viewers}: p50 ${result.p50Ms.toFixed(0)} p99 ${result.p99Ms.toFixed(0)} errors ${result.errors}\n`);
        // Past the machine's limit the next, larger step only measures the overload again.
        if (result.errors > viewers || !(result.p99Ms <= 5000)) break;
      }
      results.set(target.name, rows);
    }
    printTable(results, renditions.length);
  } finally {
    await browser.close();
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
  for (const [name, rows] of results) {
    const ok = rows.filter((r) => r.errors === 0 && r.p99Ms <= 200).map((r) => r.viewers);
    process.stdout.write(`${name}: largest viewer count with p99 ≤ 200 ms and zero errors: ${ok.length ? Math.max(...ok) : 'none of the steps'}\n`);
  }
}

await main();
