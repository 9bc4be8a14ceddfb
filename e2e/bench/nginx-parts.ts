// nginx and held parts: how late a hinted part's first and last bytes reach viewers through nginx, and how many
// origin requests a part costs with N viewers asking for it at once, per nginx configuration (issue 15's trade).
// Run: npx tsx e2e/bench/nginx-parts.ts [viewers=20] [parts=12]
import http from 'node:http';
import { loadavg } from 'node:os';
import { mediaPlaylistUrl, playlistText, preloadHintOf } from '../support/live-hls.ts';
import { startNginx, type RunningNginx } from '../support/nginx.ts';
import { startNodePublisher } from '../support/node-publisher.ts';
import { startServer } from '../support/server.ts';

const VIEWERS = Number(process.argv[2] ?? 20);
const PARTS = Number(process.argv[3] ?? 12);
const STREAM = 'nginxparts';

/** When a GET's first and last body bytes arrived (ms since the epoch, fractional), and its cache status. */
interface Timed {
  firstMs: number;
  lastMs: number;
  bytes: number;
  cache: string;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function timedGet(url: string): Promise<Timed> {
  return new Promise((done, fail) => {
    http
      .get(url, { agent }, (res) => {
        let firstMs = 0;
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          if (!firstMs) firstMs = performance.timeOrigin + performance.now();
          bytes += chunk.length;
        });
        res.on('end', () => {
          if (res.statusCode !== 200) fail(new Error(`GET ${url}: ${res.statusCode}`));
          else done({ firstMs, lastMs: performance.timeOrigin + performance.now(), bytes, cache: String(res.headers['x-cache-status'] ?? '-') });
        });
        res.on('error', fail);
      })
      .on('error', fail);
  });
}

const quantile = (values: number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
};

interface Variant {
  name: string;
  transform?: (config: string) => string;
}

/** The parts location's switch (server/edge/nginx: the proxy_cache_lock line of the parts location). */
const PARTS_LOCK = '      proxy_cache_lock on;\n    }';

const VARIANTS: Variant[] = [
  { name: 'shipped: parts cached, lock on' },
  { name: 'parts cached, lock off', transform: (config) => config.replace(PARTS_LOCK, '      proxy_cache_lock off;\n    }') },
  { name: 'parts uncached, proxy_buffering off', transform: (config) => config.replace(PARTS_LOCK, '      proxy_buffering off;\n      proxy_cache off;\n    }') },
  // What X-Accel-Buffering: no from the origin on held parts would give: unbuffered, so uncacheable, under the lock.
  { name: 'parts: buffering off, lock on', transform: (config) => config.replace(PARTS_LOCK, '      proxy_buffering off;\n      proxy_cache_lock on;\n    }') },
];

async function measure(nginx: RunningNginx, originPlaylist: string): Promise<void> {
  const firsts: number[] = [];
  const lasts: number[] = [];
  const perPart: number[] = [];
  let lastMsn = -1;
  // Warm nginx's cached playback check, so the first part does not measure its lock.
  await playlistText(originPlaylist.replace(new URL(originPlaylist).origin, nginx.baseUrl));
  for (let i = 0; i < PARTS; ) {
    // Follow the origin's live edge with blocking reloads, then ask for the hinted part the way players do.
    const hint = preloadHintOf(await playlistText(originPlaylist), originPlaylist)!;
    const key = hint.msn * 1000 + hint.part;
    if (key === lastMsn) continue;
    lastMsn = key;
    const reference = timedGet(hint.url);
    const edgeUrl = hint.url.replace(new URL(hint.url).origin, nginx.baseUrl);
    const viewers = await Promise.all(Array.from({ length: VIEWERS }, () => timedGet(edgeUrl)));
    const origin = await reference;
    for (const v of viewers) {
      firsts.push(v.firstMs - origin.firstMs);
      lasts.push(v.lastMs - origin.lastMs);
    }
    const path = new URL(edgeUrl).pathname;
    const lines = (await nginx.accessLog()).filter((line) => line.includes(`"GET ${path} `));
    perPart.push(lines.filter((line) => !/ urt=- /.test(line)).length);
    i += 1;
    // Wait for the next hint so each part is asked for while still held.
    await playlistText(`${originPlaylist}?_HLS_msn=${hint.msn}&_HLS_part=${hint.part}`);
  }
  const f = (n: number): string => n.toFixed(0).padStart(5);
  console.log(
    `first byte after origin: p50 ${f(quantile(firsts, 0.5))} p95 ${f(quantile(firsts, 0.95))} max ${f(Math.max(...firsts))} ms | ` +
      `last byte: p50 ${f(quantile(lasts, 0.5))} p95 ${f(quantile(lasts, 0.95))} max ${f(Math.max(...lasts))} ms | ` +
      `origin requests per part: mean ${(perPart.reduce((a, b) => a + b, 0) / perPart.length).toFixed(2)} max ${Math.max(...perPart)}`,
  );
}

const origin = await startServer({ ROLE: 'origin' });
const publisher = await startNodePublisher({ baseUrl: origin.baseUrl, stream: STREAM });
try {
  const playlist = await mediaPlaylistUrl(origin.baseUrl, STREAM);
  console.log(`${VIEWERS} viewers per part, ${PARTS} parts per variant, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  for (const variant of VARIANTS) {
    const nginx = await startNginx(origin.baseUrl, { transform: variant.transform });
    if (variant.transform && variant.transform(PARTS_LOCK) === PARTS_LOCK) throw new Error(`${variant.name}: the switch was not found`);
    try {
      process.stdout.write(`${variant.name.padEnd(36)} `);
      await measure(nginx, playlist);
    } finally {
      await nginx.stop();
    }
  }
  console.log(`load after ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
} finally {
  await publisher.stop();
  await origin.stop();
  agent.destroy();
}
