// Builds srt-listener.c against Debian's libsrt once per source version, into a cache outside the clone.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, constants, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { log } from '../../log.ts';

const run = promisify(execFile);
const SOURCE = fileURLToPath(new URL('./srt-listener.c', import.meta.url));
/** Where builds go unless SrtServer is told otherwise: per user, shared by every clone and worktree. */
export const DEFAULT_SRT_CACHE_DIR = join(homedir(), '.cache', 'swarmcast');

/** The SRT listener cannot be built or run here (no libsrt, no C compiler): the origin runs without SRT. */
export class SrtUnavailableError extends Error {
  override name = 'SrtUnavailableError';
}

/** The path of the listener binary for the current source, compiled first if no build of it is cached. */
export async function srtListenerBinary(cacheDir: string): Promise<string> {
  const source = await readFile(SOURCE);
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 16);
  const binary = join(cacheDir, `srt-listener-${hash}`);
  try {
    await access(binary, constants.X_OK);
    return binary;
  } catch {
    // Not built yet for this source.
  }
  const flags = await pkgConfigSrt();
  await mkdir(cacheDir, { recursive: true });
  // Built under a unique name and renamed, so two origins starting at once never run a half-written file.
  const partial = `${binary}.${process.pid}.partial`;
  const args = ['-O2', '-Wall', '-o', partial, SOURCE, ...flags, '-lpthread'];
  log('info', 'srt.listener-build', { command: `gcc ${args.join(' ')}` });
  try {
    await run('gcc', args);
  } catch (err) {
    await rm(partial, { force: true });
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new SrtUnavailableError('gcc is not installed (Debian: apt-get install gcc libc6-dev)');
    const detail = (err as { stderr?: string }).stderr?.trim() || (err as Error).message;
    throw new SrtUnavailableError(`compiling ${SOURCE} failed (Debian: apt-get install gcc libc6-dev libsrt-openssl-dev): ${detail}`);
  }
  await rename(partial, binary);
  return binary;
}

async function pkgConfigSrt(): Promise<string[]> {
  try {
    const { stdout } = await run('pkg-config', ['--cflags', '--libs', 'srt']);
    return stdout.trim().split(/\s+/).filter(Boolean);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new SrtUnavailableError('pkg-config is not installed (Debian: apt-get install pkg-config libsrt-openssl-dev)');
    throw new SrtUnavailableError('libsrt is not installed (Debian: apt-get install libsrt-openssl-dev)');
  }
}
