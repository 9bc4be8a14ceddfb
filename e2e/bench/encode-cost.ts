// Bench part: what encoding a ladder costs in headless Chromium here: CPU of the browser's processes, dropped frames,
// encode latency and frame rate per rung for 1–4 H.264 rungs from one 720p30 source, for each way of scaling the frames.
import { readdirSync, readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { startBrowserFixture, type BrowserFixture } from '../support/vite.ts';
import { pollUntil } from '../support/poll.ts';
import type { EncodeRun, EncodeWindow, RungSpec, ScalePath } from './encode-cost-page.ts';

const R720: RungSpec = { label: '720p', codec: 'avc1.42001f', width: 1280, height: 720, bitrate: 2_500_000 };
const R480: RungSpec = { label: '480p', codec: 'avc1.42001e', width: 854, height: 480, bitrate: 1_200_000 };
const R360: RungSpec = { label: '360p', codec: 'avc1.42001e', width: 640, height: 360, bitrate: 800_000 };
const R240: RungSpec = { label: '240p', codec: 'avc1.42001e', width: 426, height: 240, bitrate: 400_000 };
/** Ladders of 1–4 rungs; the 3-rung one is issue 9's target (720p/480p/240p). */
const LADDERS: readonly RungSpec[][] = [[R720], [R720, R480], [R720, R480, R240], [R720, R480, R360, R240]];
const PATHS: readonly ScalePath[] = ['encoder', 'bitmap', 'canvas'];
/** For reference: AV1 in Chromium (libaom/SVT in software), one small rung. */
const AV1_RUNGS: readonly RungSpec[] = [
  { label: 'AV1 360p', codec: 'av01.0.01M.08', width: 640, height: 360, bitrate: 600_000 },
  { label: 'AV1 240p', codec: 'av01.0.01M.08', width: 426, height: 240, bitrate: 400_000 },
];

/** Every encoder must have produced this many chunks before the window opens (start-up is not measured). */
const WARM_UP_CHUNKS = 30;
const WARM_UP_TIMEOUT_MS = 20_000;
const CLOCK_TICKS_PER_S = 100;

export interface EncodeCostResult {
  run: EncodeRun;
  window: EncodeWindow;
  /** CPU of Chromium's processes over the window, % of one core. */
  browserCpu: number;
  /** CPU of everything else on the machine over the window (other helpers, this Node process), % of one core. */
  otherCpu: number;
}

/** utime + stime (clock ticks) of every Chromium process descended from this Node process. */
function chromiumTicks(): Map<number, number> {
  const stats = new Map<number, { ppid: number; ticks: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the parenthesised command name, which may itself hold spaces or parentheses.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      stats.set(Number(entry), { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) });
    } catch {
      // The process ended while the table was read.
    }
  }
  const ticks = new Map<number, number>();
  const isOurs = (pid: number): boolean => {
    for (let p = stats.get(pid)?.ppid; p !== undefined && p > 1; p = stats.get(p)?.ppid) if (p === process.pid) return true;
    return false;
  };
  for (const [pid, { ticks: t }] of stats) {
    if (!isOurs(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('chromium')) ticks.set(pid, t);
    } catch {
      // Ended meanwhile.
    }
  }
  return ticks;
}

/** Busy clock ticks of the whole machine (all cores), from /proc/stat. */
function machineBusyTicks(): number {
  const [, ...values] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = values.map(Number);
  return user + nice + system + irq + softirq + steal;
}

/** % of one core used by Chromium between two snapshots; a process that started in between counts from zero. */
function cpuPercent(before: Map<number, number>, after: Map<number, number>, seconds: number): number {
  let ticks = 0;
  for (const [pid, t] of after) ticks += t - (before.get(pid) ?? 0);
  return (100 * ticks) / CLOCK_TICKS_PER_S / seconds;
}

async function measure(fixture: BrowserFixture, run: EncodeRun, seconds: number): Promise<EncodeCostResult> {
  const page: Page = await (await fixture.browser.newContext()).newPage();
  page.on('pageerror', (err) => console.error('[encode-cost]', err));
  try {
    await page.goto(`${fixture.origin}/e2e/bench/encode-cost.html`);
    await page.waitForSelector('body[data-ready="yes"]', { state: 'attached' });
    await page.evaluate((r) => window.startEncode(r), run);
    await pollUntil(() => page.evaluate(() => window.encodedSoFar()), (n: number[]) => n.every((c) => c >= WARM_UP_CHUNKS), WARM_UP_TIMEOUT_MS, 'every encoder running');
    await page.evaluate(() => window.resetEncode());
    const cpuBefore = chromiumTicks();
    const busyBefore = machineBusyTicks();
    const startedAt = performance.now();
    // The measured window is a duration by definition, not a wait for a condition.
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    const cpuAfter = chromiumTicks();
    const busyAfter = machineBusyTicks();
    const wallS = (performance.now() - startedAt) / 1000;
    const measured = await page.evaluate(() => window.stopEncode());
    const browserCpu = cpuPercent(cpuBefore, cpuAfter, wallS);
    const machineCpu = (100 * (busyAfter - busyBefore)) / CLOCK_TICKS_PER_S / wallS;
    return { run, window: measured, browserCpu, otherCpu: Math.max(0, machineCpu - browserCpu) };
  } finally {
    await page.context().close();
  }
}

/** Source alone, then every ladder by every scaling path (one rung needs no scaling: measured once), then AV1. */
export async function benchEncodeCost(seconds: number): Promise<{ results: EncodeCostResult[]; chromium: string }> {
  const runs: EncodeRun[] = [{ rungs: [], path: 'encoder' }];
  for (const ladder of LADDERS) for (const path of ladder.length === 1 ? PATHS.slice(0, 1) : PATHS) runs.push({ rungs: ladder, path });
  for (const rung of AV1_RUNGS) runs.push({ rungs: [rung], path: 'encoder' });
  const fixture = await startBrowserFixture();
  try {
    const results: EncodeCostResult[] = [];
    for (const run of runs) {
      const result = await measure(fixture, run, seconds);
      results.push(result);
      console.log(`  measured ${run.rungs.map((r) => r.label).join('+') || 'source only'} (${run.path}): ${result.browserCpu.toFixed(0)} % CPU`);
    }
    return { results, chromium: fixture.browser.version() };
  } finally {
    await fixture.close();
  }
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))]!;
}

const PATH_NAMES: Record<ScalePath, string> = {
  encoder: 'encoder scales',
  bitmap: 'createImageBitmap resize',
  canvas: 'OffscreenCanvas drawImage',
};

const sustained = (r: EncodeCostResult): boolean => r.window.rungs.length > 0 && r.window.rungs.every((g) => g.dropped === 0 && g.error === null);

/** One row per run; per-rung cells list the rungs top first, separated by slashes. */
export function encodeCostTable(results: EncodeCostResult[]): { header: string[]; rows: string[][]; verdicts: string[]; failures: string[] } {
  const header = ['ladder', 'scaling', 'Chromium CPU (% of 1 core)', 'others CPU', 'source fps', 'dropped per rung', 'fps per rung', 'encode p50 per rung (ms)', 'encode p95 per rung (ms)', 'kbit/s per rung', 'real time'];
  const perRung = (r: EncodeCostResult, f: (g: EncodeWindow['rungs'][number]) => string): string => r.window.rungs.map(f).join(' / ') || '–';
  const rows = results.map((r) => [
    r.run.rungs.map((g) => g.label).join(' + ') || 'source only (no encoder)',
    r.run.rungs.length < 2 && r.run.rungs.every((g) => g.width === 1280) ? '–' : PATH_NAMES[r.run.path],
    `${r.browserCpu.toFixed(0)} %`,
    `${r.otherCpu.toFixed(0)} %`,
    (r.window.sourceFrames / r.window.seconds).toFixed(1),
    perRung(r, (g) => String(g.dropped)),
    perRung(r, (g) => (g.encoded / r.window.seconds).toFixed(1)),
    perRung(r, (g) => String(Math.round(quantile(g.latenciesMs, 0.5)))),
    perRung(r, (g) => String(Math.round(quantile(g.latenciesMs, 0.95)))),
    perRung(r, (g) => String(Math.round((g.bytes * 8) / r.window.seconds / 1000))),
    r.run.rungs.length === 0 ? '–' : sustained(r) ? 'yes' : 'no',
  ]);
  const h264 = results.filter((r) => r.run.rungs.length > 0 && r.run.rungs.every((g) => g.codec.startsWith('avc')));
  // The largest ladder such that it and every smaller one dropped nothing: one lucky row does not make a verdict.
  const verdicts = PATHS.map((path) => {
    const rows = h264.filter((r) => r.run.path === path || r.run.rungs.length === 1).sort((a, b) => a.run.rungs.length - b.run.rungs.length);
    const firstFailure = rows.findIndex((r) => !sustained(r));
    const best = rows[(firstFailure === -1 ? rows.length : firstFailure) - 1];
    return `${PATH_NAMES[path]}: ${best ? `${best.run.rungs.map((g) => g.label).join(' + ')} sustained in real time (0 dropped frames)` : 'no ladder sustained in real time'}`;
  });
  const failures = results.flatMap((r) =>
    r.window.rungs.flatMap((g) => [
      ...(g.error ? [`${g.label} (${r.run.path}): encoder error ${g.error}`] : []),
      ...(r.run.rungs.find((s) => s.label === g.label)?.width !== g.codedWidth
        ? [`${g.label} (${r.run.path}): encoded ${g.codedWidth ?? '?'}×${g.codedHeight ?? '?'}, not the configured size`]
        : []),
    ]),
  );
  return { header, rows, verdicts, failures };
}
