// ffmpeg test media: a live-like fMP4 HLS stream (H.264 + Opus with PROGRAM-DATE-TIME), independent of the product; ffmpeg as a field encoder publishing a live test signal.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { MEDIA_PLAYLIST, MULTIVARIANT_PLAYLIST } from '../../shared/playback-path.ts';

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
    '-master_pl_name', MULTIVARIANT_PLAYLIST, MEDIA_PLAYLIST,
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

/** H.264 (x264 veryfast, B-frames on as by default, a keyframe every 2 s at 30 fps) + AAC: the field-encoder suites' usual encode. */
export const H264_AAC: readonly string[] = ['-c:v', 'libx264', '-preset', 'veryfast', '-g', '60', '-pix_fmt', 'yuv420p', '-c:a', 'aac'];

/**
 * ffmpeg as a field encoder: a live test picture (testsrc2, `size` at 30 fps) and a 440 Hz tone, paced in real time,
 * encoded with `encode`, then `output` (its options, format and URL). Its stderr is piped for the test to read.
 */
export function publishTestSignal(size: string, encode: readonly string[], output: readonly string[]): ChildProcess {
  return spawn('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-re',
    '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=30`, '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    ...encode, ...output,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Resolves with the child's exit code (null when a signal ended it), at once if it has exited already. */
export function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));
}

/** Kills the child with SIGKILL (a crashed or unplugged encoder) and resolves once it has exited. */
export function killed(child: ChildProcess): Promise<void> {
  const exited = exitOf(child);
  child.kill('SIGKILL');
  return exited.then(() => undefined);
}
