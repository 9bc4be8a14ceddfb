// Starts the real server (server/main.ts) as a child process on a free port, for end-to-end suites and benches.
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

export interface RunningServer {
  baseUrl: string;
  /** The server process's id (benches read its CPU time from /proc). */
  pid: number;
  /** `rtmp://HOST:PORT` of the origin's RTMP ingest (RTMP_PORT is 0 here: a free port), when it runs one. */
  rtmpBase: string | undefined;
  /** `srt://HOST:PORT` of the origin's SRT ingest, when the suite asked for one (`SRT_PORT: '0'`; off by default here). */
  srtBase: string | undefined;
  /** Everything the server wrote to stderr (its log), one entry a line. */
  logLines: string[];
  /** Resolves with the first log line matching `pattern`, waiting for it up to `timeoutMs`. */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
}

const ROOT = resolve(import.meta.dirname, '../..');

export function startServer(env: Record<string, string> = {}): Promise<RunningServer> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', RTMP_PORT: '0', SRT_PORT: 'off', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logLines: string[] = [];
  const logWaiters = new Set<{ pattern: RegExp; resolve: (line: string) => void }>();
  let pendingErr = '';
  child.stderr!.setEncoding('utf8').on('data', (text: string) => {
    pendingErr += text;
    const lines = pendingErr.split('\n');
    pendingErr = lines.pop() ?? '';
    for (const line of lines) {
      logLines.push(line);
      if (process.env.SWARMCAST_E2E_LOG) process.stderr.write(`[server] ${line}\n`);
      for (const waiter of logWaiters) {
        if (waiter.pattern.test(line)) {
          logWaiters.delete(waiter);
          waiter.resolve(line);
        }
      }
    }
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));

  return new Promise((resolveStart, rejectStart) => {
    let out = '';
    const timer = setTimeout(() => rejectStart(new Error(`server did not start: ${out}\n${logLines.join('\n')}`)), 30_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      rejectStart(new Error(`server exited with ${code}: ${logLines.join('\n')}`));
    });
    child.stdout!.setEncoding('utf8').on('data', (text: string) => {
      out += text;
      const match = /listening on (https?:\/\/[^\s]+)/.exec(out);
      // The whole banner comes in one write; its rtmp line names the RTMP port.
      if (!match || !/health:/.test(out)) return;
      clearTimeout(timer);
      resolveStart({
        baseUrl: match[1]!,
        pid: child.pid!,
        rtmpBase: /rtmp:\s+(rtmp:\/\/[^/\s]+)/.exec(out)?.[1],
        srtBase: /srt:\s+(srt:\/\/[^?\s]+)/.exec(out)?.[1],
        logLines,
        waitForLog(pattern, timeoutMs = 15_000) {
          const found = logLines.find((line) => pattern.test(line));
          if (found) return Promise.resolve(found);
          return new Promise((resolveLine, rejectLine) => {
            const waiter = { pattern, resolve: resolveLine };
            logWaiters.add(waiter);
            setTimeout(() => {
              if (logWaiters.delete(waiter)) rejectLine(new Error(`no log line matching ${pattern} within ${timeoutMs} ms`));
            }, timeoutMs);
          });
        },
        async stop() {
          if (child.exitCode === null) child.kill('SIGTERM');
          await exited;
        },
      });
    });
  });
}
