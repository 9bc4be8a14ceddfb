// Test fixtures: a live-like fMP4 HLS stream made by ffmpeg, a static CORS server for it, Vite for the pages.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import sirv from 'sirv';
import { createServer as createViteServer } from 'vite';
import type { ViteDevServer } from 'vite';

export const REPO_ROOT = resolve(import.meta.dirname, '../../..');

export interface HlsSource {
  /** Stops ffmpeg gracefully, which writes EXT-X-ENDLIST like a broadcaster going off air. */
  stop(): Promise<void>;
}

/**
 * Starts ffmpeg writing `dir/index.m3u8` (multivariant) → `media.m3u8` (1 s fMP4 segments, H.264 + Opus, with
 * PROGRAM-DATE-TIME). `realtime` paces it like a live encoder; otherwise it runs as fast as it can for `durationS`.
 */
export async function startHlsSource(dir: string, options: { realtime: boolean; durationS?: number }): Promise<HlsSource> {
  await mkdir(dir, { recursive: true });
  const args = [
    '-hide_banner', '-loglevel', 'error', '-nostdin',
    ...(options.realtime ? ['-re'] : []),
    '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    ...(options.durationS === undefined ? [] : ['-t', String(options.durationS)]),
    '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-g', '30', '-pix_fmt', 'yuv420p',
    '-c:a', 'libopus', '-b:a', '64k',
    '-f', 'hls', '-hls_time', '1', '-hls_segment_type', 'fmp4', '-hls_list_size', '6',
    '-hls_flags', `program_date_time+independent_segments+temp_file${options.realtime ? '+delete_segments' : ''}`,
    '-master_pl_name', 'index.m3u8', 'media.m3u8',
  ];
  const ffmpeg = spawn('ffmpeg', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  ffmpeg.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((done) => ffmpeg.once('exit', (code) => done(code)));
  if (!options.realtime) {
    const code = await exited;
    if (code !== 0) throw new Error(`ffmpeg exited with ${code}: ${stderr}`);
  }
  return { stop: () => stopProcess(ffmpeg, exited) };
}

async function stopProcess(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  await exited;
}

export interface StaticServer {
  url: string;
  close(): Promise<void>;
}

/** Serves `dir` without caching, with CORS open so a page on another origin can play it (as an embedded player would). */
export async function startStaticServer(dir: string): Promise<StaticServer> {
  const serve = sirv(dir, { dev: true, etag: false });
  const server = createHttpServer((req, res) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    serve(req, res, () => {
      res.statusCode = 404;
      res.end('not found');
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

/** Vite dev server over the repo, proxying `/live` to `liveTarget` as the real server would serve it. */
export async function startPages(liveTarget: string, cacheDir: string): Promise<{ url: string; server: ViteDevServer }> {
  const server = await createViteServer({
    configFile: false,
    root: REPO_ROOT,
    cacheDir: join(cacheDir, 'vite'),
    logLevel: 'error',
    clearScreen: false,
    server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false, proxy: { '/live': liveTarget } },
    optimizeDeps: { include: ['hls.js'] },
  });
  await server.listen();
  const address = server.httpServer?.address() as AddressInfo | null;
  if (!address) throw new Error('vite did not start listening');
  return { url: `http://127.0.0.1:${address.port}`, server };
}
