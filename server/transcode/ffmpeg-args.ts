// The ffmpeg command line of a stream's transcoding worker: H.264 in FLV on stdin, decoded once, scaled and encoded
// once per rung, each rung out as FLV on its own pipe (fd 3, 4, …) with its keyframes exactly where the source has them.
import type { Rung } from './ladder.ts';

/** The file descriptor of rung `index`'s output in the worker. */
export function rungFd(index: number): number {
  return 3 + index;
}

/**
 * Input: a tiny probe (the FLV sequence header says all), one decoding thread (frame threads would hold frames back).
 * Filters: one `split`, then bilinear `scale` and 4:2:0 per rung. Encoders: libx264 veryfast with zerolatency (no
 * lookahead, no B-frames: output order is input order), a keyframe only where the source frame is one (no GOP or
 * scene-cut keyframes of its own), every frame passed through (output frame k is input frame k) and written at once.
 */
export function transcodeArgs(rungs: readonly Rung[]): string[] {
  const labels = rungs.map((_, i) => `s${i}`);
  const split = rungs.length === 1 ? `[0:v]null[s0]` : `[0:v]split=${rungs.length}${labels.map((l) => `[${l}]`).join('')}`;
  const scales = rungs.map((rung, i) => `[s${i}]scale=${rung.width}:${rung.height}:flags=bilinear,setsar=1,format=yuv420p[o${i}]`);
  const args = ['-hide_banner', '-loglevel', 'error', '-threads', '1', '-probesize', '32', '-analyzeduration', '0', '-f', 'flv', '-i', 'pipe:0'];
  args.push('-an', '-sn', '-dn', '-filter_complex', [split, ...scales].join(';'));
  rungs.forEach((rung, i) => {
    const kbps = `${Math.round(rung.bitrate / 1000)}k`;
    args.push(
      '-map', `[o${i}]`,
      '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-bf', '0',
      '-b:v', kbps, '-maxrate', kbps, '-bufsize', kbps,
      '-force_key_frames', 'source', '-forced-idr', '1', '-x264-params', 'keyint=infinite:scenecut=0',
      '-fps_mode', 'passthrough', '-flush_packets', '1', '-flvflags', 'no_duration_filesize',
      '-f', 'flv', `pipe:${rungFd(i)}`,
    );
  });
  return args;
}
