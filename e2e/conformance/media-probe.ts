// Decodes fMP4 media with ffprobe (an independent reader) and reports the video frames it got and any decoder complaints.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface DecodedVideo {
  /** One entry per decoded video frame, in presentation order as ffprobe lists them. */
  frames: { keyFrame: boolean; ptsS: number }[];
  /** What ffprobe printed at `-v error`; empty when the media decoded cleanly. */
  errors: string;
}

/** Writes `chunks` (an init segment followed by media) to one file in `dir` and decodes its video with ffprobe. */
export async function decodeVideo(dir: string, chunks: readonly Uint8Array[]): Promise<DecodedVideo> {
  const file = join(dir, `probe-${randomUUID()}.mp4`);
  await writeFile(file, Buffer.concat(chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength))));
  const { stdout, stderr } = await run(
    'ffprobe',
    ['-v', 'error', '-select_streams', 'v', '-show_frames', '-show_entries', 'frame=key_frame,pts_time', '-of', 'json', file],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  const parsed = JSON.parse(stdout) as { frames?: { key_frame?: number; pts_time?: string }[] };
  return {
    frames: (parsed.frames ?? []).map((f) => ({ keyFrame: f.key_frame === 1, ptsS: Number(f.pts_time) })),
    errors: stderr.trim(),
  };
}
