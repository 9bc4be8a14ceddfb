// `import 'swarmcast/player'` as an embedder's bundler sees it: an app outside this repo, with the package installed
// in its node_modules, is type-checked against the element's types and built by Vite, and the built page defines
// <swarmcast-player> and plays a live stream from the server its `server` attribute names.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type MatrixBrowser } from './support/browser-matrix.ts';
import { startNodePublisher, type NodePublisher } from './support/node-publisher.ts';
import { pollUntil } from './support/poll.ts';
import { startServer, type RunningServer } from './support/server.ts';
import { startStaticServer, type StaticServer } from './support/static-server.ts';

const ROOT = resolve(import.meta.dirname, '..');
const STREAM = 'embed-module';

/** The embedder's code: typed use of the element (a wrong event detail or method would fail the type check). */
const APP_SOURCE = `import { SwarmcastPlayerElement, type PlayerStats } from 'swarmcast/player';

const server = new URLSearchParams(location.search).get('server') ?? '';
const player = document.createElement('swarmcast-player');
const typed: SwarmcastPlayerElement = player;
player.setAttribute('server', server);
player.setAttribute('stream', '${STREAM}');
player.toggleAttribute('autoplay', true);
player.toggleAttribute('muted', true);
player.addEventListener('statechange', (event) => {
  const state: string = event.detail.state;
  document.body.dataset['playerState'] = state;
});
const stats = (): PlayerStats | null => typed.stats();
Object.assign(window, { stats });
document.body.append(player);
`;

let appDir: string;
let server: RunningServer;
let publisher: NodePublisher;
let site: StaticServer;
let browser: MatrixBrowser;

beforeAll(async () => {
  appDir = mkdtempSync(join(tmpdir(), 'swarmcast-embedder-app-'));
  mkdirSync(join(appDir, 'node_modules'));
  // As `npm install swarmcast` would leave it (a link, as `npm link` or a workspace does).
  symlinkSync(ROOT, join(appDir, 'node_modules', 'swarmcast'), 'dir');
  writeFileSync(join(appDir, 'main.ts'), APP_SOURCE);
  writeFileSync(join(appDir, 'index.html'), '<!doctype html><html lang="en"><title>app</title><script type="module" src="./main.ts"></script></html>');
  writeFileSync(
    join(appDir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'ESNext',
        moduleResolution: 'Bundler',
        lib: ['ES2023', 'DOM', 'DOM.Iterable'],
        types: [],
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        allowImportingTsExtensions: true,
        verbatimModuleSyntax: true,
      },
      files: ['main.ts'],
    }),
  );
  server = await startServer();
  [publisher, browser] = await Promise.all([
    startNodePublisher({ baseUrl: server.baseUrl, stream: STREAM, width: 426, height: 240, rendition: '240p', videoBitrate: 300_000, sourceSeconds: 4 }),
    launchBrowser('chromium'),
  ]);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await site?.close();
  await publisher?.stop();
  await server?.stop();
  if (appDir) rmSync(appDir, { recursive: true, force: true });
});

describe("import 'swarmcast/player'", () => {
  it('type-checks an embedder app against the element and its events', async () => {
    const tsc = resolve(ROOT, 'node_modules/.bin/tsc');
    const { stdout, stderr } = await promisify(execFile)(tsc, ['-p', join(appDir, 'tsconfig.json')]).catch((err: { stdout: string; stderr: string }) => err);
    expect(`${stdout}${stderr}`).toBe('');
  }, 60_000);

  it('builds with Vite and plays a live stream from the server the app names', async () => {
    await build({ root: appDir, logLevel: 'warn', configFile: false, build: { outDir: join(appDir, 'dist'), emptyOutDir: true } });
    site = await startStaticServer(join(appDir, 'dist'));
    const page = await browser.newPage();
    try {
      await page.goto(`${site.url}/index.html?server=${encodeURIComponent(server.baseUrl)}`);
      const stats = await pollUntil(
        () => page.evaluate<{ state: string; decodedFrames: number } | null>('window.stats ? window.stats() : null'),
        (s) => s !== null && s.state === 'playing' && s.decodedFrames > 0,
        30_000,
        'the app player playing',
      );
      expect(stats?.state).toBe('playing');
      expect(await page.evaluate<string>("document.body.dataset.playerState")).toBe('playing');
    } finally {
      await page.close();
    }
  }, 90_000);
});
