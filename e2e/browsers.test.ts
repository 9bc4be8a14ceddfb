// The browser matrix: a test-source broadcast from Chromium or Firefox, watched in the other browser and in its own,
// each viewer decoding video and audio with its glass-to-glass latency reported; Firefox's encoder numbers recorded.
// WebKitGTK (the nearest stand-in for Safari) watches both; it cannot broadcast (Debian builds it without WebRTC).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, DEFAULT_LADDER, type Rung } from '../client/broadcaster/config.ts';
import { launchBrowser, type BrowserKind, type MatrixBrowser, type MatrixPage } from './support/browser-matrix.ts';
import { INSTALL_PLAYBACK_TAP, READ_PLAYBACK_TAP, type PlaybackTap } from './support/playback-tap.ts';
import { startServer, type RunningServer } from './support/server.ts';
import { pollUntil } from './support/poll.ts';

/** The viewer's `window.swarmcast.stats()` fields this suite reads, plus Firefox's own audio flag. */
interface ViewerSample {
  state: string;
  /** Why the player is in its state (e.g. `ended` when it read an EXT-X-ENDLIST). */
  reason: string;
  latencyMs: number | null;
  currentTime: number;
  decodedFrames: number;
  audioDecodedBytes: number | null;
  stalls: number;
  mozHasAudio: boolean | null;
  /** WebKit viewers only: frames presented and audio heard, from the test's tap. */
  tap: PlaybackTap | null;
}

interface BroadcasterSample {
  state: string;
  error: string | null;
  connectionState: string;
  videoCodec: string | null;
  audioCodec: string | null;
  encodeLatencyMs: number | null;
  bytesSent: number;
  timeLiveMs: number;
  renditions: string[];
  rungs: { rendition: string; state: string; bitrateKbps: number; level: string; levelReason: string | null }[];
  framesSent: number;
}

/** The configured rung (the default one or one of its fallbacks) the broadcaster says it encodes. */
function chosenRung(rendition: string | undefined): Rung | undefined {
  for (let rung: Rung | undefined = DEFAULT_LADDER[0]; rung; rung = rung.fallback) if (rung.rendition === rendition) return rung;
  return undefined;
}

/** The issue's goal for a broadcaster: encode latency at most this (median over the run)… */
const MAX_ENCODE_LATENCY_MS = 100;
/** …and what it sends within this fraction of what it asks of its encoders (video + audio). */
const BITRATE_TOLERANCE = 0.2;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const PLAYBACK_S = 8;
const LIVE_TIMEOUT_MS = 30_000;
/**
 * WebKitGTK paints in software under Xvfb: beside Firefox's AV1 encoders on two cores it once took over 30 s to start
 * in CI (cause unknown then; a failing WebKit case now prints the browser's own output), so it gets more room.
 */
const PLAYING_TIMEOUT_MS: Record<BrowserKind, number> = { chromium: 30_000, firefox: 30_000, webkit: 45_000 };

let server: RunningServer;
let attempts = 0;
const browsers = new Map<BrowserKind, MatrixBrowser>();

beforeAll(async () => {
  server = await startServer();
  const [chromium, firefox, webkit] = await Promise.all([launchBrowser('chromium'), launchBrowser('firefox'), launchBrowser('webkit')]);
  browsers.set('chromium', chromium);
  browsers.set('firefox', firefox);
  browsers.set('webkit', webkit);
}, 60_000);

afterAll(async () => {
  await Promise.all([...browsers.values()].map((b) => b.close()));
  await server?.stop();
});

function viewerSample(page: MatrixPage): Promise<ViewerSample> {
  return page.evaluate(`(() => {
    const s = window.swarmcast.stats();
    const video = document.querySelector('swarmcast-player')?.shadowRoot?.querySelector('video');
    return { state: s.state, reason: s.reason, latencyMs: s.latencyMs, currentTime: s.currentTime, decodedFrames: s.decodedFrames,
      audioDecodedBytes: s.audioDecodedBytes, stalls: s.stalls, mozHasAudio: video && 'mozHasAudio' in video ? video.mozHasAudio : null,
      tap: ${READ_PLAYBACK_TAP} };
  })()`);
}

/** Where a viewer is in its start-up: the page's state and reason, its milestones, and what the video element says. */
function viewerStartup(page: MatrixPage): Promise<{ state: string } & Record<string, unknown>> {
  return page.evaluate(`(() => {
    const s = window.swarmcast?.stats();
    const video = document.querySelector('swarmcast-player')?.shadowRoot?.querySelector('video');
    return { state: s ? s.state : document.body.dataset.state, reason: s?.reason, startup: s?.startup, rendition: s?.rendition,
      bufferMs: s?.bufferMs, currentTime: s?.currentTime, stalls: s?.stalls,
      video: video ? { readyState: video.readyState, paused: video.paused, networkState: video.networkState, error: video.error?.message ?? null } : null };
  })()`);
}

function broadcasterSample(page: MatrixPage): Promise<BroadcasterSample> {
  return page.evaluate('window.swarmcast.stats()');
}

const pairs: [BrowserKind, BrowserKind][] = [
  ['firefox', 'chromium'],
  ['chromium', 'firefox'],
  ['firefox', 'firefox'],
  ['chromium', 'webkit'],
  ['firefox', 'webkit'],
];

/**
 * Frames a viewer must show per second of media played. WebKitGTK paints video in software here (no GL video sink
 * under Xvfb; one viewer costs about 0.7 CPU-seconds a second) and, on this shared 2-core machine at load 13–17, showed
 * 20–26 frames a second of the 30 in steady play and 9–16 over runs that include its stalls (often 10 or more in the
 * first seconds). The floor says frames keep coming; stalls are reported, not asserted.
 */
const MIN_FPS: Record<BrowserKind, number> = { chromium: 20, firefox: 20, webkit: 6 };
/** Frames counted by the viewer: WebKit's totalVideoFrames restarts at every pipeline flush, so the tap counts there. */
const framesShown = (s: ViewerSample): number => s.tap?.presentedFrames ?? s.decodedFrames;

describe('browser matrix: broadcaster × viewer', () => {
  for (const [from, to] of pairs) {
    // WebKitGTK's MiniBrowser now and then dies mid-case on a loaded machine ("invalid session id"; a CI-like run at
    // load 7 lost both attempts of firefox → webkit, which passed alone at once): its cases get a second retry, and the
    // flaky reporter names every case that needed one.
    const retry = to === 'webkit' ? 2 : 1;
    it(`${from} broadcaster → ${to} viewer: video frames and audio decoded, latency reported`, { timeout: 120_000, retry }, async () => {
      // A name of its own per attempt: a retried case must not meet its first attempt's broadcast, still ending.
      const stream = `matrix-${from}-${to}-${++attempts}`;
      const broadcaster = await browsers.get(from)!.newPage();
      const viewer = await browsers.get(to)!.newPage();
      try {
        await broadcaster.goto(`${server.baseUrl}/broadcast?stream=${stream}&source=test&autostart=1`);
        await pollUntil(() => broadcasterSample(broadcaster), (s) => s.state === 'live' || s.state === 'error', LIVE_TIMEOUT_MS, 'broadcaster live');
        const started = await broadcasterSample(broadcaster);
        expect(started.state, `broadcaster: ${started.error}`).toBe('live');
        // Our ABR in every viewer: its late-part rule takes the page's own lag out (PageLag, client/player/throughput.ts), so
        // WebKit starved for CPU under Xvfb is not switched down by its own lateness.
        await viewer.goto(`${server.baseUrl}/watch?stream=${stream}`);
        // Polled on the player's stats rather than on the selector, so a viewer that fails or never starts says where it
        // stopped (state, reason, start-up milestones, the video element) instead of only that a selector did not appear.
        const viewerStarted = await pollUntil(() => viewerStartup(viewer), (s) => s.state === 'playing' || s.state === 'error', PLAYING_TIMEOUT_MS[to], 'viewer playing');
        expect(viewerStarted.state, JSON.stringify(viewerStarted)).toBe('playing');
        if (to === 'webkit') await viewer.evaluate(INSTALL_PLAYBACK_TAP);

        const sentBefore = await broadcasterSample(broadcaster);
        const first = await viewerSample(viewer);
        const latencies: number[] = [];
        const encodeLatencies: number[] = [];
        const last = await pollUntil(
          async () => {
            const sample = await viewerSample(viewer);
            expect(sample.state, JSON.stringify(sample)).toBe('playing');
            if (sample.latencyMs !== null) latencies.push(sample.latencyMs);
            const encodeLatency = (await broadcasterSample(broadcaster)).encodeLatencyMs;
            if (encodeLatency !== null) encodeLatencies.push(encodeLatency);
            return sample;
          },
          (s) => s.currentTime - first.currentTime >= PLAYBACK_S,
          PLAYBACK_S * 1000 + 15_000,
          `${PLAYBACK_S} s of playback`,
        );
        const sent = await broadcasterSample(broadcaster);

        if (to === 'chromium') expect(last.audioDecodedBytes ?? 0).toBeGreaterThan(first.audioDecodedBytes ?? 0);
        // Firefox counts no decoded audio bytes; mozHasAudio says its decoder found the Opus track in the media it plays.
        else if (to === 'firefox') expect(last.mozHasAudio).toBe(true);
        // WebKit has neither: the tap hears the test tone (amplitude 0.2) at the element's output for most of the run.
        else {
          const heard = last.tap!.audibleReads - first.tap!.audibleReads;
          expect(last.tap!.audioContext).toBe('running');
          expect(last.tap!.audioPeak).toBeGreaterThan(0.15);
          // A quarter of the reads, not half: WebKit renders in software under Xvfb, and beside a broadcaster on the same
          // two cores it stalls (and falls silent) several times in a run; a quarter still rules out a silent track.
          expect(heard).toBeGreaterThan((last.tap!.audioReads - first.tap!.audioReads) / 4);
        }
        expect(sent.audioCodec).toBe('opus');
        // Chromium encodes the default 720p H.264 rung in real time; Firefox's H.264 holds ~42 frames, so it takes the
        // rung's fallback, 360p AV1 (client/broadcaster/config.ts).
        const rung = chosenRung(sent.renditions[0]);
        expect(rung?.rendition).toBe(from === 'chromium' ? '720p' : '360p');
        expect(sent.videoCodec).toMatch(from === 'chromium' ? /^avc1\./ : /^av01\./);

        expect(latencies.length).toBeGreaterThan(PLAYBACK_S);
        const sorted = [...latencies].sort((a, b) => a - b);
        const p50 = sorted[Math.floor(sorted.length / 2)]!;
        const p95 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.95))]!;
        expect(sorted[0]).toBeGreaterThan(0);
        expect(p50).toBeLessThan(2500);
        const kbps = Math.round(((sent.bytesSent - sentBefore.bytesSent) * 8) / (sent.timeLiveMs - sentBefore.timeLiveMs));
        // Every rung it encodes (Chromium 720p/480p/240p, Firefox 360p/240p AV1) plus audio.
        const videoKbps = sent.rungs.filter((r) => r.state !== 'dropped').reduce((sum, r) => sum + r.bitrateKbps, 0);
        const askedKbps = videoKbps + DEFAULT_CONFIG.audio.bitrate / 1000;
        const encodeMs = median(encodeLatencies);
        console.log(
          `${from} → ${to}: glass-to-glass p50 ${p50} ms, p95 ${p95} ms, stalls ${last.stalls - first.stalls}; ` +
            `broadcaster ${sent.videoCodec} ${sent.renditions.join('+')}, encode ${encodeMs} ms (median), ${kbps} kbit/s sent of ${askedKbps} asked, ` +
            `${Math.round(((sent.framesSent - sentBefore.framesSent) * 1000) / (sent.timeLiveMs - sentBefore.timeLiveMs))} frames/s sent; ` +
            `viewer showed ${framesShown(last) - framesShown(first)} frames in ${(last.currentTime - first.currentTime).toFixed(1)} s`,
        );
        expect(framesShown(last) - framesShown(first)).toBeGreaterThan(PLAYBACK_S * MIN_FPS[to]);
        if (from === 'firefox') {
          expect(encodeLatencies.length).toBeGreaterThan(PLAYBACK_S);
          // The encode-time goal is held where the broadcaster has its share of the two cores; beside WebKit painting in
          // software it is reported, not asserted (measured there: medians of 57–129 ms at load 5–9).
          if (to !== 'webkit') expect(encodeMs).toBeLessThanOrEqual(MAX_ENCODE_LATENCY_MS);
          // Sent at the rate asked, unless adaptive publishing stepped a rung down during the window (a machine too busy
          // for the ladder, e.g. beside WebKit's software rendering): then it says so, and sends no more than asked.
          const stepped = [...sentBefore.rungs, ...sent.rungs].filter((r) => r.level !== 'full');
          if (stepped.length === 0) expect(Math.abs(kbps - askedKbps) / askedKbps).toBeLessThanOrEqual(BITRATE_TOLERANCE);
          else {
            console.log(`${from} → ${to}: adaptive publishing stepped ${stepped.map((r) => `${r.rendition} ${r.level} (${r.levelReason})`).join(', ')}`);
            for (const r of stepped) expect(r.levelReason).not.toBeNull();
            expect(kbps).toBeLessThanOrEqual(askedKbps * (1 + BITRATE_TOLERANCE));
          }
        }
      } catch (err) {
        // A WebKit session that died (MiniBrowser gone: "invalid session id") or froze says why only in its own output.
        const output = viewer.browserOutput();
        if (output) console.error(`${to} viewer's browser output (last lines):\n${output}`);
        throw err;
      } finally {
        await viewer.close();
        await broadcaster.close();
      }
    });
  }
});
