// One run of a stream's transcoding worker: the ffmpeg child, its input written as FLV, each rung's FLV output read
// back into decoder configurations and frames, its CPU time read from /proc.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { TypedEmitter, type ErrorContext } from '../../shared/events.ts';
import { log } from '../log.ts';
import { transcodeArgs, rungFd } from './ffmpeg-args.ts';
import { avcConfigTag, avcFrameTag, flvHeader, FlvTagReader, readAvcTag } from './flv.ts';
import type { Rung } from './ladder.ts';

export type TranscodeWorkerEvents = {
  /** Rung `rung`'s decoder configuration record (avcC), before its first frame. */
  config: [rung: number, avcC: Uint8Array];
  /** Rung `rung`'s next frame, in output order: NAL units behind 4-byte lengths. */
  frame: [rung: number, keyframe: boolean, data: Uint8Array];
  /** The child is gone (once): `detail` says how (what it printed goes to the log only). */
  exit: [detail: string];
  error: [Error];
};

/** Clock ticks per second of /proc/PID/stat's times (USER_HZ, 100 on Linux's mainstream architectures). */
const CLOCK_TICKS_PER_S = 100;
/** How much of the child's stderr is kept for the exit's log line (never in the status API: paths, versions). */
const STDERR_TAIL_CHARS = 600;
/** Input bytes queued for a child that reads no more: past it, the worker counts as stuck (behind real time). */
const MAX_QUEUED_INPUT_BYTES = 8 * 1024 * 1024;

/**
 * Added to every input frame's composition time: an ingest path's offsets may be negative (RTMP's shift keyframes to
 * be shown at their decode time), which FLV and ffmpeg take for broken timestamps. Output timestamps are not read.
 */
const INPUT_COMPOSITION_SHIFT_MS = 1000;

export class TranscodeWorker extends TypedEmitter<TranscodeWorkerEvents> {
  readonly streamName: string;
  #child: ChildProcess;
  #stdin: Writable;
  #stderrTail = '';
  #exited = false;
  /** The decode time that is the FLV input's zero, µs: the first frame fed. */
  #baseUs: number | undefined;

  constructor(streamName: string, rungs: readonly Rung[], avcC: Uint8Array, ffmpegPath: string) {
    super();
    this.streamName = streamName;
    const stdio: ('pipe' | 'ignore')[] = ['pipe', 'ignore', 'pipe', ...rungs.map(() => 'pipe' as const)];
    // Throws for some errnos (the caller counts that as the worker's exit); others come as the child's `error`.
    this.#child = spawn(ffmpegPath, transcodeArgs(rungs), { stdio });
    this.#child.on('error', (err) => this.#exit(`could not run ${ffmpegPath}: ${err.message}`));
    this.#child.on('exit', (code, signal) => this.#exit(signal ? `killed by ${signal}` : `exited with code ${code}`));
    const { stdin, stderr } = this.#child;
    if (!stdin || !stderr) {
      // Out of file descriptors (EMFILE, ENFILE): the child never started and its pipes were not made.
      this.#exited = true;
      throw new Error(`could not run ${ffmpegPath}: its pipes could not be opened`);
    }
    this.#stdin = stdin;
    // A child that died mid-write: its exit says why; the broken pipe itself is not news.
    this.#stdin.on('error', () => {});
    // Its stderr is only read for the log: a read error there loses a log line, nothing else.
    stderr.on('error', () => {});
    stderr.setEncoding('utf8');
    stderr.on('data', (text: string) => (this.#stderrTail = (this.#stderrTail + text).slice(-STDERR_TAIL_CHARS)));
    rungs.forEach((_, i) => this.#readRung(i, this.#child.stdio[rungFd(i)] as Readable));
    this.#stdin.write(flvHeader());
    this.#stdin.write(avcConfigTag(avcC));
  }

  get pid(): number | undefined {
    return this.#exited ? undefined : this.#child.pid;
  }

  /** Whether the child stopped reading its input (what is queued for it is past a bound). */
  get stuck(): boolean {
    return this.#stdin.writableLength > MAX_QUEUED_INPUT_BYTES;
  }

  /**
   * Writes one source access unit (length-prefixed NAL units, as the source's avcC says): `decodeUs` its decode time,
   * `compositionUs` its presentation minus decode time.
   */
  feed(decodeUs: number, compositionUs: number, keyframe: boolean, data: Uint8Array): void {
    if (this.#exited) return;
    this.#baseUs ??= decodeUs;
    const compositionMs = Math.max(0, Math.round(compositionUs / 1000) + INPUT_COMPOSITION_SHIFT_MS);
    this.#stdin.write(avcFrameTag((decodeUs - this.#baseUs) / 1000, compositionMs, keyframe, data));
  }

  /** CPU time the child has used so far (user + system), s; undefined once it is gone or /proc cannot tell. */
  cpuSeconds(): number | undefined {
    const pid = this.pid;
    if (pid === undefined) return undefined;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces), from field 3: utime and stime are fields 14 and 15.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S;
    } catch {
      return undefined;
    }
  }

  /** Kills the child (SIGKILL: what it still holds is of no use). Idempotent. */
  close(): void {
    if (!this.#exited) this.#child.kill('SIGKILL');
    this.#exited = true;
    this.removeAllListeners();
  }

  #readRung(index: number, output: Readable): void {
    const reader = new FlvTagReader();
    output.on('error', (err) => this.#broken(new Error(`rung ${index}'s output: ${err.message}`)));
    output.on('data', (bytes: Buffer) => {
      if (this.#exited) return;
      try {
        for (const tag of reader.push(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength))) {
          if (tag.type !== 9) continue;
          const body = readAvcTag(tag.body);
          if (body.kind === 'config') this.emit('config', index, body.avcC);
          else if (body.kind === 'frame') this.emit('frame', index, body.keyframe, body.data);
        }
      } catch (err) {
        this.#broken(err as Error);
      }
    });
  }

  /** A rung's output cannot be read on: the child is of no more use. */
  #broken(err: Error): void {
    if (this.#exited) return;
    this.emit('error', err);
    this.#child.kill('SIGKILL');
  }

  #exit(detail: string): void {
    if (this.#exited) return;
    this.#exited = true;
    const tail = this.#stderrTail.trim();
    log('warn', 'transcode.worker-exit', { stream: this.streamName, detail, ...(tail && { stderr: tail }) });
    this.emit('exit', detail);
    this.removeAllListeners();
  }

  protected override errorContext(): ErrorContext {
    return { stream: this.streamName, worker: 'ffmpeg' };
  }
}
