// ffmpeg test media: a live-like fMP4 HLS stream (H.264 + Opus with PROGRAM-DATE-TIME), independent of the product.
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
