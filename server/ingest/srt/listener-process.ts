// Runs srt-listener as a child process: starts it, reads its frames, restarts it (a bounded number of times) when it dies, stops it.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { TypedEmitter } from '../../../shared/events.ts';
import { log } from '../../log.ts';
import { FrameReader, ListenerProtocolError, type ListenerFrame } from './frames.ts';

/** Restarts allowed within RESTART_WINDOW_MS before the origin gives up on SRT (a listener that keeps dying). */
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 60_000;
/** First restart delay, doubled per recent restart: a crash loop does not spin a core. */
const RESTART_DELAY_MS = 100;
/** The tail of the child's stderr kept for the message when it fails to start. */
const STDERR_TAIL_BYTES = 2048;

type Child = ChildProcessByStdio<Writable, Readable, Readable>;

export type ListenerProcessEvents = {
  frame: [ListenerFrame];
  /** The child died; every connection it had is gone. `restarting` is false once the origin gave up. */
  down: [detail: string, restarting: boolean];
};

export class ListenerProcess extends TypedEmitter<ListenerProcessEvents> {
  readonly #binary: string;
  readonly #host: string;
  #port = 0;
  #child: Child | undefined;
  #restarts: number[] = [];
  #restartTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(binary: string, host: string) {
    super();
    this.#binary = binary;
    this.#host = host;
  }

  /** The process id of the running child, for tests that kill it. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Starts the child on `port` (0: a free one); resolves with the UDP port it bound, which restarts reuse. */
  async start(port: number): Promise<number> {
    this.#port = await this.#spawn(port);
    return this.#port;
  }

  /** Writes one command line to the child; dropped while it is down (its connections are gone with it). */
  send(command: string): void {
    const stdin = this.#child?.stdin;
    if (stdin && !stdin.destroyed) stdin.write(command);
  }

  /** Stops the child (closing its stdin tells it to close every connection and exit). Idempotent. */
  close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#restartTimer);
    const child = this.#child;
    this.#child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const kill = setTimeout(() => child.kill('SIGKILL'), 2000);
      child.once('close', () => {
        clearTimeout(kill);
        resolve();
      });
      child.stdin.end();
    });
  }

  #spawn(port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const child: Child = spawn(this.#binary, [this.#host, String(port)], { stdio: ['pipe', 'pipe', 'pipe'] });
      this.#child = child;
      const reader = new FrameReader();
      let stderr = '';
      let ready = false;
      child.stdin.on('error', () => {
        // EPIPE while it exits: its exit event reports it.
      });
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (text: string) => {
        stderr = (stderr + text).slice(-STDERR_TAIL_BYTES);
      });
      child.stdout.on('data', (chunk: Buffer) => {
        try {
          for (const frame of reader.push(chunk)) {
            if (frame.type === 'ready' && !ready) {
              ready = true;
              resolve(Number(new TextDecoder().decode(frame.payload)));
            } else this.emit('frame', frame);
          }
        } catch (err) {
          if (!(err instanceof ListenerProtocolError)) throw err;
          log('error', 'srt.listener-protocol-error', { reason: err.message, pid: child.pid });
          child.kill('SIGKILL');
        }
      });
      child.on('error', (err) => {
        if (!ready) reject(err);
      });
      child.on('close', (code, signal) => {
        const detail = signal ? `killed by ${signal}` : `exited with ${code}`;
        if (!ready) {
          reject(new Error(`the SRT listener ${detail}: ${stderr.trim() || 'no message'}`));
          return;
        }
        if (this.#child === child) this.#onDown(detail, stderr.trim());
      });
    });
  }

  #onDown(detail: string, stderr: string): void {
    this.#child = undefined;
    if (this.#closed) return;
    const now = Date.now();
    this.#restarts = this.#restarts.filter((t) => t > now - RESTART_WINDOW_MS);
    const restarting = this.#restarts.length < MAX_RESTARTS;
    log(restarting ? 'warn' : 'error', restarting ? 'srt.listener-died' : 'srt.listener-gave-up', {
      detail,
      stderr: stderr || undefined,
      restartsInLastMinute: this.#restarts.length,
    });
    this.emit('down', detail, restarting);
    if (!restarting) return;
    this.#restarts.push(now);
    const delay = RESTART_DELAY_MS * 2 ** (this.#restarts.length - 1);
    this.#restartTimer = setTimeout(() => {
      if (this.#closed) return;
      this.#spawn(this.#port).then(
        (port) => log('info', 'srt.listener-restarted', { port, pid: this.#child?.pid }),
        (err: Error) => this.#onDown(`restart failed: ${err.message}`, ''),
      );
    }, delay);
  }
}
