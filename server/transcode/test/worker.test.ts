// The ffmpeg worker's pipes failing under it (a real child; the read errors are raised on its real pipes): its stderr's
// is no crash, a rung output's is the worker's error and the child's end.
import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { pollUntil } from '../../../e2e/support/poll.ts';
import { rungFd } from '../ffmpeg-args.ts';
import { TranscodeWorker } from '../worker.ts';

const spawned = vi.hoisted(() => [] as ChildProcess[]);
vi.mock('node:child_process', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:child_process')>();
  return {
    ...actual,
    spawn: (...args: Parameters<typeof actual.spawn>) => {
      const child = actual.spawn(...args);
      spawned.push(child);
      return child;
    },
  };
});

// Baseline level 3.1, one SPS, one PPS: enough for the child to start and wait for frames.
const AVCC = Uint8Array.of(1, 0x42, 0, 0x1f, 0xff, 0xe1, 0, 4, 0x67, 0x42, 0, 0x1f, 1, 0, 4, 0x68, 0xce, 0x3c, 0x80);
const RUNGS = [{ rendition: '240p', height: 240, bitrate: 300_000, width: 426, trackId: 2 }];

describe('TranscodeWorker', () => {
  it('survives a read error on its stderr, and ends its child on a read error of a rung’s output', async () => {
    const worker = new TranscodeWorker('cam', RUNGS, AVCC, 'ffmpeg');
    const child = spawned.at(-1)!;
    const pid = worker.pid!;
    const errors: Error[] = [];
    let exit: string | undefined;
    worker.on('error', (err) => errors.push(err));
    worker.on('exit', (detail) => (exit = detail));
    try {
      expect(() => child.stderr!.emit('error', new Error('EIO'))).not.toThrow();
      expect(worker.pid).toBe(pid);
      (child.stdio[rungFd(0)] as Readable).emit('error', new Error('EIO'));
      expect(errors.map((e) => e.message)).toEqual(["rung 0's output: EIO"]);
      await pollUntil(async () => exit, (detail) => detail !== undefined, 5000, 'the child ended');
      expect(exit).toBe('killed by SIGKILL');
    } finally {
      worker.close();
    }
  });
});
