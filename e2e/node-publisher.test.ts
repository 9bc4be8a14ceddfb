// The benches' Node publisher is a real publisher: a real server takes its WebRTC session and serves playable
// H.264 + Opus segments, across the loop point of the replayed file.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mediaPlaylistPath, multivariantPath } from '../shared/playback-path.ts';
import { mediaPlaylistUrl, playlistWithSegments, rawGet, segmentsOf } from './support/live-hls.ts';
import { startNodePublisher, type NodePublisher } from './support/node-publisher.ts';
import { startServer, type RunningServer } from './support/server.ts';

const run = promisify(execFile);
const STREAM = 'node-publisher-e2e';
let server: RunningServer;
let publisher: NodePublisher;
let dir = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'swarmcast-node-publisher-e2e-'));
  server = await startServer();
  // A 2 s file (one GOP) loops twice within the first three segments.
  publisher = await startNodePublisher({ baseUrl: server.baseUrl, stream: STREAM, width: 640, height: 360, rendition: '360p', videoBitrate: 800_000, sourceSeconds: 2 });
}, 60_000);

afterAll(async () => {
  await publisher?.stop();
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface ProbeStream {
  codec_name: string;
  codec_type: string;
  nb_read_frames?: string;
  width?: number;
  height?: number;
}

describe('Node publisher (e2e/support/node-publisher.ts)', () => {
  it('goes live: the multivariant playlist lists its rendition', async () => {
    const playlistUrl = await mediaPlaylistUrl(server.baseUrl, STREAM);
    expect(new URL(playlistUrl).pathname).toBe(mediaPlaylistPath(STREAM, '360p'));
    const multivariant = await (await fetch(`${server.baseUrl}${multivariantPath(STREAM)}`)).text();
    expect(multivariant).toMatch(/CODECS="avc1\.42[0-9a-f]{4},opus"/);
  });

  it('its first three segments, across two loops of the file, decode in ffmpeg as 6 s of H.264 + Opus', async () => {
    const playlistUrl = await mediaPlaylistUrl(server.baseUrl, STREAM);
    const playlist = await playlistWithSegments(playlistUrl, 3);
    const init = /#EXT-X-MAP:URI="([^"]+)"/.exec(playlist)?.[1];
    const segments = segmentsOf(playlist);
    expect(init).toBeDefined();
    const bodies = await Promise.all([init!, ...segments.slice(0, 3)].map((uri) => rawGet(new URL(uri, playlistUrl).href)));
    for (const body of bodies) expect(body.status).toBe(200);
    const path = join(dir, 'first-segments.mp4');
    await writeFile(path, Buffer.concat(bodies.map((b) => b.body)));

    const { stderr } = await run('ffmpeg', ['-v', 'error', '-i', path, '-f', 'null', '-']);
    expect(stderr).toBe('');
    const { stdout } = await run('ffprobe', ['-v', 'error', '-count_frames', '-show_streams', '-show_format', '-of', 'json', path]);
    const probe = JSON.parse(stdout) as { streams: ProbeStream[]; format: { duration: string } };
    const video = probe.streams.find((s) => s.codec_type === 'video');
    const audio = probe.streams.find((s) => s.codec_type === 'audio');
    expect(video?.codec_name).toBe('h264');
    expect([video?.width, video?.height]).toEqual([640, 360]);
    // Rebased timestamps: 3 × 60 frames in 6 s; timestamps going back at a loop would shorten or break the file.
    expect(Math.abs(Number(video?.nb_read_frames) - 180)).toBeLessThanOrEqual(1);
    expect(audio?.codec_name).toBe('opus');
    expect(Math.abs(Number(probe.format.duration) - 6)).toBeLessThan(0.1);
    expect(publisher.stats.loops).toBeGreaterThanOrEqual(2);
  }, 30_000);
});
