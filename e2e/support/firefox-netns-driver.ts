// Run inside a fresh network namespace (`unshare -n`): gives it lo and a veth pair on 10.77.0.1, starts the server and a
// stock Firefox there, publishes the test source, and prints one `RESULT {json}` line for e2e/firefox-stock.test.ts.
import type { Page } from 'puppeteer-core';
import { launchFirefox } from './firefox.ts';
import { VETH, VETH_ADDRESS, VETH_PEER, type CandidateStat, type NetnsResult, type NetnsScenario } from './firefox-netns.ts';
import { RECORD_PEER_CONNECTIONS, ip, linkNames, setUpSealedVeth } from './netns-links.ts';
import { startServer, type RunningServer } from './server.ts';

const STREAM = 'ff-stock';
const OUTCOME_TIMEOUT_MS = 40_000;
const SEGMENT_TIMEOUT_MS = 20_000;

const NOMINATED_PAIR = `(async () => {
  const pcs = window.__swarmcastPeerConnections ?? [];
  for (const pc of pcs) {
    if (pc.signalingState === 'closed') continue;
    const stats = [...(await pc.getStats()).values()];
    const pair = stats.find((s) => s.type === 'candidate-pair' && (s.selected || (s.nominated && s.state === 'succeeded')));
    if (!pair) continue;
    const pick = (id) => {
      const c = stats.find((s) => s.id === id);
      return c ? { address: c.address ?? null, port: c.port ?? null, candidateType: c.candidateType ?? null } : null;
    };
    return { local: pick(pair.localCandidateId), remote: pick(pair.remoteCandidateId) };
  }
  return { local: null, remote: null };
})()`;

async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Counts the segments of the first media playlist the multivariant playlist names, and fetches the first one. */
async function playlistSegments(httpBase: string): Promise<{ segments: number; segmentBytes: number }> {
  const multivariantUrl = new URL(`/live/${STREAM}/index.m3u8`, httpBase);
  const read = async (): Promise<{ segments: number; segmentBytes: number }> => {
    const multivariant = await fetch(multivariantUrl).catch(() => null);
    if (!multivariant?.ok) return { segments: 0, segmentBytes: 0 };
    const mediaUri = (await multivariant.text()).split('\n').find((line) => line.trim() && !line.startsWith('#'));
    if (!mediaUri) return { segments: 0, segmentBytes: 0 };
    const mediaUrl = new URL(mediaUri.trim(), multivariantUrl);
    const lines = (await (await fetch(mediaUrl)).text()).split('\n');
    const extinf = lines.findIndex((line) => line.startsWith('#EXTINF'));
    if (extinf < 0) return { segments: 0, segmentBytes: 0 };
    const segment = await fetch(new URL(lines[extinf + 1]!.trim(), mediaUrl));
    return { segments: lines.filter((line) => line.startsWith('#EXTINF')).length, segmentBytes: (await segment.arrayBuffer()).byteLength };
  };
  return waitFor(read, (v) => v.segments > 0 && v.segmentBytes > 0, SEGMENT_TIMEOUT_MS);
}

async function run(scenario: NetnsScenario): Promise<NetnsResult> {
  const linksBefore = linkNames();
  // Refuse to touch a namespace that is not fresh: run on the host by mistake, this would add links to the machine.
  if (linksBefore.join() !== 'lo') throw new Error(`not a fresh network namespace (links: ${linksBefore.join(', ')}); run me under unshare -n`);
  setUpSealedVeth(VETH, VETH_PEER, VETH_ADDRESS);
  const linksAfter = linkNames();
  const routes = ip('route', 'show', 'table', 'all').split('\n').filter(Boolean);

  // HTTP on 127.0.0.1 and the page at http://localhost: WebCodecs needs a secure context, which http://localhost is and
  // http://10.77.0.1 is not. Only the WebRTC leg goes to the veth address, through ICE_BIND_ADDRESS, as it would for a
  // broadcaster publishing to a server on its network address.
  const iceBind = scenario === 'veth' ? VETH_ADDRESS : '127.0.0.1';
  let server: RunningServer | undefined;
  const firefox = await launchFirefox({ loopbackIce: false });
  try {
    server = await startServer({ HOST: '127.0.0.1', ICE_BIND_ADDRESS: iceBind });
    const port = new URL(server.baseUrl).port;
    const page: Page = await (await firefox.createBrowserContext()).newPage({ type: 'window' });
    await page.evaluateOnNewDocument(RECORD_PEER_CONNECTIONS);
    const started = Date.now();
    await page.goto(`http://localhost:${port}/broadcast?stream=${STREAM}&source=test&autostart=1`);
    const state = await waitFor(
      () => page.evaluate(() => document.body.dataset.state ?? ''),
      (s) => s === 'live' || s === 'error',
      OUTCOME_TIMEOUT_MS,
    );
    const settledMs = Date.now() - started;
    const pair = (await page.evaluate(NOMINATED_PAIR)) as { local: CandidateStat | null; remote: CandidateStat | null };
    const playlist = state === 'live' ? await playlistSegments(server.baseUrl) : { segments: 0, segmentBytes: 0 };
    const stats = (await page.evaluate('window.swarmcast.stats()')) as {
      error: string | null;
      errorCode: string | null;
      bytesSent: number;
      connectionState: string;
    };
    const notice = await page.evaluate(() => {
      const el = document.getElementById('notice');
      return el && !el.hidden ? (el.textContent ?? '') : '';
    });
    return {
      scenario,
      linksBefore,
      linksAfter,
      routes,
      state,
      error: stats.error,
      errorCode: stats.errorCode,
      notice,
      settledMs,
      bytesSent: stats.bytesSent,
      connectionState: stats.connectionState,
      ...pair,
      ...playlist,
      serverLog: server.logLines.slice(-40),
    };
  } finally {
    await firefox.close();
    await server?.stop();
  }
}

const scenario = process.argv[2];
if (scenario !== 'veth' && scenario !== 'loopback') {
  process.stderr.write('usage: unshare -n -- node --import tsx e2e/support/firefox-netns-driver.ts veth|loopback\n');
  process.exit(2);
}
run(scenario).then(
  (result) => {
    process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
    process.exit(0);
  },
  (err: unknown) => {
    process.stderr.write(`firefox-netns-driver: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
