// What checking playback tokens costs the nginx edge per request: the same cached segment fetched over one keep-alive
// connection with no check, with auth_request to the origin answered from nginx's auth cache (the shipped config),
// with auth_request asking the origin every time, and with njs (libnginx-mod-http-js) verifying the HMAC in nginx.
// Prints mean latency and nginx worker CPU per request for each. Run: npm run build && npx tsx e2e/bench/playback-auth.ts
import http from 'node:http';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { mintPlaybackToken, playbackKey } from '../../server/access/playback-token.ts';
import { withPlaybackToken } from '../../shared/playback-path.ts';
import { mediaPlaylistUrl, playlistWithSegments, segmentsOf } from '../support/live-hls.ts';
import { startNginx } from '../support/nginx.ts';
import { startNodePublisher } from '../support/node-publisher.ts';
import { startServer } from '../support/server.ts';

const SECRET = 'bench-playback-secret-of-at-least-32-bytes';
const STREAM = 'authbench';
const REQUESTS = Number(process.env.REQUESTS ?? 3000);
const NJS_MODULE = '/usr/lib/nginx/modules/ngx_http_js_module.so';

/** HS256 check in njs: signature, expiry and stream only (the guard's IP, country and geo rules are not repeated). */
const NJS_SCRIPT = `
import crypto from 'crypto';
const SECRET = ${JSON.stringify(SECRET)};
function check(r) {
  const m = /^\\/t\\/([A-Za-z0-9_-]+)\\.([A-Za-z0-9_-]+)\\.([A-Za-z0-9_-]+)\\/live\\/([a-z0-9_-]+)\\//.exec(r.variables.request_uri);
  if (!m) return r.return(401);
  const signature = crypto.createHmac('sha256', SECRET).update(m[1] + '.' + m[2]).digest('base64url');
  if (signature !== m[3]) return r.return(403);
  const claims = JSON.parse(Buffer.from(m[2], 'base64url').toString());
  if (claims.sub !== m[4] || claims.exp * 1000 <= Date.now()) return r.return(403);
  r.return(204);
}
export default { check };
`;

type Variant = { name: string; transform: (config: string, runDir: string) => string };

const variants: Variant[] = [
  { name: 'no check', transform: (c) => c.replaceAll('      auth_request /_swarmcast_playback_auth;\n', '') },
  { name: 'auth_request, cached answers (shipped)', transform: (c) => c },
  {
    name: 'auth_request, no answer cache',
    transform: (c) => c.replace('      proxy_cache swarmcast_auth;\n', '      proxy_cache off;\n'),
  },
  {
    name: 'njs HMAC check',
    transform: (c, runDir) =>
      `load_module ${NJS_MODULE};\n${c}`
        .replace('http {\n', `http {\n  js_import swarmcast_auth from ${join(runDir, 'auth.js')};\n`)
        .replaceAll('auth_request /_swarmcast_playback_auth;', 'auth_request /_swarmcast_njs_auth;')
        .replace('    location = /_swarmcast_playback_auth {', '    location = /_swarmcast_njs_auth {\n      internal;\n      js_content swarmcast_auth.check;\n    }\n\n    location = /_swarmcast_playback_auth {'),
  },
];

/** utime + stime of the master's worker processes, ms. */
async function workerCpuMs(masterPid: number): Promise<number> {
  let ticks = 0;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[1]) !== masterPid) continue;
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks * 10;
}

async function measure(url: string): Promise<{ meanUs: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const get = (): Promise<number> =>
    new Promise((resolve, reject) => {
      http.get(url, { agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      }).on('error', reject);
    });
  for (let i = 0; i < 50; i++) await get();
  const started = performance.now();
  for (let i = 0; i < REQUESTS; i++) {
    const status = await get();
    if (status !== 200) throw new Error(`${url}: ${status}`);
  }
  const meanUs = ((performance.now() - started) * 1000) / REQUESTS;
  agent.destroy();
  return { meanUs };
}

const origin = await startServer({ ROLE: 'origin', PLAYBACK_SECRET: SECRET, TRUSTED_PROXIES: '127.0.0.1' });
const publisher = await startNodePublisher({ baseUrl: origin.baseUrl, stream: STREAM, width: 640, height: 360, rendition: '360p', videoBitrate: 600_000, sourceSeconds: 4 });
try {
  const token = await mintPlaybackToken(playbackKey(SECRET), { stream: STREAM, ttlS: 3600 });
  const playlistUrl = await mediaPlaylistUrl(`${origin.baseUrl}/t/${token}`, STREAM);
  const segment = new URL(segmentsOf(await playlistWithSegments(playlistUrl, 2))[0]!, playlistUrl).pathname.replace(`/t/${token}`, '');
  process.stdout.write(`${REQUESTS} sequential keep-alive GETs of one cached segment per variant (nginx, 1 worker)\n`);
  for (const variant of variants) {
    if (variant.name.startsWith('njs') && !existsSync(NJS_MODULE)) {
      process.stdout.write(`  ${variant.name.padEnd(42)} skipped: ${NJS_MODULE} missing (apt-get install libnginx-mod-http-js)\n`);
      continue;
    }
    const nginx = await startNginx(origin.baseUrl, {
      workers: 1,
      transform: (config, runDir) => {
        writeFileSync(join(runDir, 'auth.js'), NJS_SCRIPT);
        return variant.transform(config, runDir);
      },
    });
    try {
      const url = `${nginx.baseUrl}${withPlaybackToken(segment, token)}`;
      const cpuBefore = await workerCpuMs(nginx.pid);
      const { meanUs } = await measure(url);
      const cpuUs = ((await workerCpuMs(nginx.pid)) - cpuBefore) * 1000 / (REQUESTS + 50);
      process.stdout.write(`  ${variant.name.padEnd(42)} ${meanUs.toFixed(0).padStart(6)} µs/request   nginx CPU ${cpuUs.toFixed(1).padStart(6)} µs/request\n`);
    } finally {
      await nginx.stop();
    }
  }
} finally {
  await publisher.stop();
  await origin.stop();
}
