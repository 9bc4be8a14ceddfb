// Runs an e2e driver script in a fresh network namespace of its own (`unshare -n`) and reads back its RESULT line.
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..', '..');
// `ip`, `tc`, `nft` and `nsenter` live in /usr/sbin and /usr/bin, which a non-login PATH may lack.
const PATH = `${process.env.PATH ?? ''}:/usr/sbin:/sbin`;

/** Throws, saying which Debian package gives it, for the first of `tools` not on the PATH. */
export function requireNetworkTools(tools: readonly ('unshare' | 'nsenter' | 'ip' | 'tc' | 'nft')[]): void {
  for (const tool of tools) {
    const found = spawnSync('sh', ['-c', `command -v ${tool}`], { env: { ...process.env, PATH } }).status === 0;
    const from = tool === 'unshare' || tool === 'nsenter' ? 'util-linux' : tool === 'nft' ? 'nftables' : 'iproute2';
    if (!found) throw new Error(`${tool} is missing (${from} gives it): run scripts/ensure-system-deps.sh as root`);
  }
}

export interface NamespaceRun {
  /** The driver, relative to the repository root. */
  driver: string;
  args?: readonly string[];
  /** Named in errors. */
  name: string;
  timeoutMs: number;
  /** Lines of the driver's stdout that start with this name the pid of a process holding another namespace it made. */
  namespaceLine?: string;
}

/**
 * Runs `node --import tsx DRIVER ARGS` under `unshare -n`: a fresh network namespace with only lo, gone when its last
 * process exits, so there is nothing to clean up and no link of the host's is ever touched. The driver prints
 * `RESULT <json>`; that JSON is the answer. At the deadline every process in the driver's namespace (and in any the
 * driver named with `namespaceLine`) is killed, so a stuck browser fails the test instead of hanging it.
 */
export function runInNetworkNamespace<T>({ driver, args = [], name, timeoutMs, namespaceLine }: NamespaceRun): Promise<T> {
  return new Promise((resolveRun, rejectRun) => {
    const child = spawn('unshare', ['-n', '--', process.execPath, '--import', 'tsx', driver, ...args], {
      cwd: ROOT,
      env: { ...process.env, PATH },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (out += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (err += text));
    const timer = setTimeout(() => {
      if (namespaceLine) for (const line of out.split('\n').filter((l) => l.startsWith(namespaceLine))) killNamespaceOf(Number(line.slice(namespaceLine.length)));
      killNamespaceOf(child.pid!);
      rejectRun(new Error(`the ${name} driver did not finish within ${timeoutMs} ms\n${err}`));
    }, timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      rejectRun(new Error(`could not run unshare: ${e.message}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (code === 0 && line) resolveRun(JSON.parse(line.slice('RESULT '.length)) as T);
      else rejectRun(new Error(`the ${name} driver exited with ${code}:\n${err}${out}`));
    });
  });
}

/**
 * Kills every process in `pid`'s network namespace by id, unless that is still the host's (then only `pid`). Browsers
 * start in process groups of their own, so a group kill would miss them; the namespace holds them, and only the
 * test's own processes are in it.
 */
function killNamespaceOf(pid: number): void {
  let ns: string;
  try {
    ns = readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return;
  }
  if (ns === readlinkSync('/proc/self/ns/net')) {
    process.kill(pid, 'SIGKILL');
    return;
  }
  for (const entry of readdirSync('/proc')) {
    const other = Number(entry);
    if (!Number.isInteger(other) || other === process.pid) continue;
    try {
      if (readlinkSync(`/proc/${other}/ns/net`) === ns) process.kill(other, 'SIGKILL');
    } catch {
      // Gone already, or not ours to read.
    }
  }
}
