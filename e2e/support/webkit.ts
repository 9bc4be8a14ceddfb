// Launches Debian's WebKitGTK (MiniBrowser) under its own Xvfb display, driven over classic WebDriver by webdriverio.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { remote } from 'webdriverio';

/** WebKitGTK's MiniBrowser as Debian installs it with libwebkit2gtk-4.1-0 (pulled in by webkit2gtk-driver). */
export const MINIBROWSER_PATH = process.env.MINIBROWSER_PATH ?? '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';

const START_TIMEOUT_MS = 15_000;
/** Lines of the browser's own output a failing test prints. */
const OUTPUT_TAIL_LINES = 40;

/** A running WebKit session: its webdriverio browser, and a close() that ends the session, the driver and the display. */
export interface WebKitSession {
  browser: WebdriverIO.Browser;
  /** The last lines the driver, MiniBrowser and its web processes wrote (why a session died, when it did). */
  output(): string;
  close(): Promise<void>;
}

/**
 * WebKitGTK has no headless mode, so it gets an Xvfb display of its own; it speaks no WebDriver BiDi, so webdriverio
 * is held to classic WebDriver. `--automation` must be passed whenever the binary is named, or the session hangs.
 */
export async function launchWebKit(): Promise<WebKitSession> {
  const children: ChildProcess[] = [];
  const stopAll = (): void => {
    for (const child of children.reverse()) child.kill('SIGKILL');
  };
  try {
    const xvfb = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', '1280x800x24', '-nolisten', 'tcp'], {
      stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
    });
    children.push(xvfb);
    const display = await firstLine(xvfb, 3, 'Xvfb did not report its display');
    const port = await freePort();
    // MiniBrowser and its web processes inherit the driver's stderr: kept in a file, so a browser that dies says why.
    const logPath = join(tmpdir(), `swarmcast-webkit-${process.pid}-${port}.log`);
    const logFd = openSync(logPath, 'w');
    const driver = spawn('WebKitWebDriver', [`--port=${port}`], { env: { ...process.env, DISPLAY: `:${display}` }, stdio: ['ignore', logFd, logFd] });
    closeSync(logFd);
    children.push(driver);
    await waitForDriver(port, driver);
    const browser = await remote({
      hostname: '127.0.0.1',
      port,
      path: '/',
      logLevel: 'error',
      // webdriverio's types do not know WebKitGTK's vendor capability.
      capabilities: {
        browserName: 'MiniBrowser',
        'wdio:enforceWebDriverClassic': true,
        'webkitgtk:browserOptions': {
          binary: MINIBROWSER_PATH,
          args: ['--automation', '--autoplay-policy=allow', '--enable-mediasource=true'],
        },
      } as WebdriverIO.Capabilities,
    });
    let closed = false;
    return {
      browser,
      output: () => readFileSync(logPath, 'utf8').split('\n').slice(-OUTPUT_TAIL_LINES).join('\n'),
      close: async () => {
        if (closed) return;
        closed = true;
        await browser.deleteSession().catch(() => undefined);
        stopAll();
        rmSync(logPath, { force: true });
      },
    };
  } catch (err) {
    stopAll();
    throw err;
  }
}

function firstLine(child: ChildProcess, fd: number, failure: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stream = child.stdio[fd] as NodeJS.ReadableStream | null;
    const timer = setTimeout(() => reject(new Error(`${failure} within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${failure}: it exited with ${code}`));
    });
    stream?.setEncoding('utf8');
    stream?.once('data', (text: string) => {
      clearTimeout(timer);
      resolve(text.trim());
    });
  });
}

async function waitForDriver(port: number, driver: ChildProcess): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (driver.exitCode !== null) throw new Error(`WebKitWebDriver exited with ${driver.exitCode}`);
    const ready = await fetch(`http://127.0.0.1:${port}/status`).then(
      (res) => res.ok,
      () => false,
    );
    if (ready) return;
    await new Promise((done) => setTimeout(done, 50));
  }
  throw new Error(`WebKitWebDriver did not answer on port ${port} within ${START_TIMEOUT_MS} ms`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
