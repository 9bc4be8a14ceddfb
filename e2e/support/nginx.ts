// Starts Debian's nginx as a child process with the shipped edge config (server/edge/nginx) in front of an origin.
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const NGINX_TEMPLATE = resolve(import.meta.dirname, '../../server/edge/nginx/swarmcast-edge.conf.template');

export interface RunningNginx {
  baseUrl: string;
  /** Process id of the master process (its workers are its children). */
  pid: number;
  runDir: string;
  /** The access log so far, one request a line (`$msec "$request" $status $bytes cache=$upstream_cache_status …`). */
  accessLog(): Promise<string[]>;
  stop(): Promise<void>;
}

/** Fills the template's placeholders; pure, so docs and tests render the same file. */
export function renderNginxConfig(template: string, values: { listen: string; origin: string; runDir: string }): string {
  return template.replaceAll('{{LISTEN}}', values.listen).replaceAll('{{ORIGIN}}', values.origin).replaceAll('{{RUN_DIR}}', values.runDir);
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  await new Promise<void>((done) => server.close(() => done()));
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** `workers`: worker_processes instead of `auto`; `transform`: an edit of the rendered config (benches compare variants). */
export async function startNginx(originUrl: string, options: { workers?: number; transform?: (config: string, runDir: string) => string } = {}): Promise<RunningNginx> {
  const runDir = await mkdtemp(join(tmpdir(), 'swarmcast-nginx-'));
  const port = await freePort();
  let config = renderNginxConfig(await readFile(NGINX_TEMPLATE, 'utf8'), {
    listen: `127.0.0.1:${port}`,
    origin: new URL(originUrl).host,
    runDir,
  });
  if (options.workers) config = config.replace('worker_processes auto;', `worker_processes ${options.workers};`);
  if (options.transform) config = options.transform(config, runDir);
  const confPath = join(runDir, 'nginx.conf');
  await writeFile(confPath, config);
  // Running as root, nginx's workers become `nobody`, which must be able to write the run directory.
  await chmod(runDir, 0o777);
  const args = ['-p', runDir, '-c', confPath, '-e', join(runDir, 'error.log'), '-g', 'daemon off;'];
  const child = spawn('nginx', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) {
      const log = await readFile(join(runDir, 'error.log'), 'utf8').catch(() => '');
      throw new Error(`nginx exited with ${child.exitCode}: ${stderr}${log}`);
    }
    const up = await fetch(`${baseUrl}/healthz`).then(
      (res) => res.status === 200,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline) throw new Error(`nginx did not answer on ${baseUrl}: ${stderr}`);
    await new Promise((done) => setTimeout(done, 100));
  }
  return {
    baseUrl,
    pid: child.pid!,
    runDir,
    accessLog: async () => (await readFile(join(runDir, 'access.log'), 'utf8')).split('\n').filter(Boolean),
    async stop() {
      if (child.exitCode === null) child.kill('SIGQUIT');
      await exited;
      await rm(runDir, { recursive: true, force: true });
    },
  };
}
