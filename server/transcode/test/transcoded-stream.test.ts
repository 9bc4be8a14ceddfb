// The decorator with a real ffmpeg worker: an RTMP-shaped source (ffmpeg's own FLV through the RTMP ingest's FlvToWire)
// comes out with rung tracks before the first chunk and rung frames on the source's exact timestamps and keyframes.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../../../e2e/support/poll.ts';
import { TypedEmitter } from '../../../shared/events.ts';
import type { ChunkMessage, TrackConfigMessage, VideoTrackConfig, WireMessage } from '../../../shared/protocol/index.ts';
import { avcPictureSize, parseAvcC } from '../../../shared/codecs/h264.ts';
import type { PublishedStream, PublishedStreamEvents, PublishEndReason } from '../../ingest/index.ts';
import { FlvToWire } from '../../ingest/rtmp/flv-to-wire.ts';
import { FlvTagReader } from '../flv.ts';
import { parseLadder } from '../ladder.ts';
import { MAX_HOLD_MS, MAX_UNSTABLE_RESTARTS, TranscodedStream } from '../transcoded-stream.ts';

type SourceMessage = Exclude<WireMessage, { type: 'end' }>;

/** A field encoder's session as the ingest hands it out: messages pushed in, an end. */
class SourceSession extends TypedEmitter<PublishedStreamEvents> implements PublishedStream {
  readonly streamName = 'cam1';
  failed: string | undefined;
  push(message: SourceMessage): void {
    this.emit('message', message);
  }
  end(reason: PublishEndReason): void {
    this.emit('end', reason, undefined);
  }
  fail(detail: string): void {
    this.failed = detail;
  }
}

const dir = mkdtempSync(join(tmpdir(), 'transcode-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** 3 s of 640×360 at 30 fps with B-frames and a keyframe every 30 frames + AAC, as an RTMP publisher's wire messages. */
function sourceMessages(): SourceMessage[] {
  const file = join(dir, 'source.flv');
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '3', '-c:v', 'libx264', '-preset', 'ultrafast', '-bf', '2', '-g', '30', '-keyint_min', '30', '-sc_threshold', '0', '-c:a', 'aac', file]);
  const flv = new FlvToWire(() => 1_700_000_000_000);
  const messages: SourceMessage[] = [];
  for (const tag of new FlvTagReader().push(new Uint8Array(readFileSync(file)))) {
    if (tag.type === 9) messages.push(...(flv.video(tag.timestampMs, tag.body) as SourceMessage[]));
    if (tag.type === 8) messages.push(...(flv.audio(tag.timestampMs, tag.body) as SourceMessage[]));
  }
  return messages;
}


/** A source session wrapped in a TranscodedStream for `ladder`, and every message the stream passes on. */
function transcoding(ladder: string, maxLagMs: number, ffmpegPath: string): { source: SourceSession; stream: TranscodedStream; out: WireMessage[] } {
  const source = new SourceSession();
  const stream = new TranscodedStream(source, { ladder: parseLadder(ladder), maxLagMs, ffmpegPath });
  const out: WireMessage[] = [];
  stream.on('message', (m) => out.push(m));
  return { source, stream, out };
}

describe('TranscodedStream', () => {
  it('adds each rung as a track before the first chunk, its frames on the source frames’ presentation times', async () => {
    const messages = sourceMessages();
    const sourceFrames = messages.filter((m): m is ChunkMessage => m.type === 'chunk');
    const videoFrames = sourceFrames.filter((c) => c.trackId === 0);
    const presentation = videoFrames.map((c) => c.timestampUs + (c.compositionOffsetUs ?? 0)).sort((a, b) => a - b);
    const keyTimes = videoFrames.filter((c) => c.keyframe).map((c) => c.timestampUs + (c.compositionOffsetUs ?? 0));
    expect(videoFrames.some((c) => (c.compositionOffsetUs ?? 0) !== 0)).toBe(true);
    expect(sourceFrames.some((c) => c.trackId === 1)).toBe(true);
    expect(keyTimes).toHaveLength(3);

    const { source, stream, out } = transcoding('240p:300k,180p:150k', 30_000, 'ffmpeg');
    for (const message of messages) source.push(message);
    // The decoder keeps its B-frame reorder delay (a couple of frames) until more input comes.
    const rungChunks = (trackId: number): ChunkMessage[] => out.filter((m): m is ChunkMessage => m.type === 'chunk' && m.trackId === trackId);
    await pollUntil(async () => [rungChunks(2).length, rungChunks(3).length], (n) => n.every((x) => x >= presentation.length - 3), 20_000, 'rung frames');

    const firstChunk = out.findIndex((m) => m.type === 'chunk');
    // The rungs take trackIds the source's audio (1, configured after its video) does not have.
    expect(out.slice(0, firstChunk).filter((m) => m.type === 'track').map((m) => (m as TrackConfigMessage).trackId)).toEqual([0, 1, 2, 3]);
    const tracks = out.slice(0, firstChunk).filter((m): m is VideoTrackConfig => m.type === 'track' && m.kind === 'video');
    expect(tracks.map((t) => [t.trackId, t.rendition, t.width, t.height, t.bitrate])).toEqual([
      [0, '360p', 640, 360, undefined],
      [2, '240p', 426, 240, 300_000],
      [3, '180p', 320, 180, 150_000],
    ]);
    for (const track of tracks.slice(1)) {
      expect(track.codec).toMatch(/^avc1\./);
      expect(avcPictureSize(parseAvcC(track.description!).sps[0]!)).toEqual({ width: track.width, height: track.height });
    }
    for (const trackId of [2, 3]) {
      const chunks = rungChunks(trackId);
      // Decoded when the source's k-th frame is, shown when its k-th in presentation order is: cut where the source is.
      expect(chunks.map((c) => c.timestampUs)).toEqual(videoFrames.slice(0, chunks.length).map((c) => c.timestampUs));
      expect(chunks.map((c) => c.timestampUs + (c.compositionOffsetUs ?? 0))).toEqual(presentation.slice(0, chunks.length));
      expect(chunks.filter((c) => c.keyframe).map((c) => c.timestampUs)).toEqual(keyTimes);
    }
    // The source's own messages pass unchanged and in order.
    expect(out.filter((m) => m.type === 'chunk' && m.trackId < 2)).toEqual(sourceFrames);

    const status = stream.status();
    expect(status.state).toBe('running');
    expect(status.rungs.map((r) => r.frames)).toEqual([rungChunks(2).length, rungChunks(3).length]);
    const pid = status.pid!;
    expect(() => process.kill(pid, 0)).not.toThrow();
    let ended = false;
    stream.on('end', () => (ended = true));
    source.end('publisher-ended');
    expect(ended).toBe(true);
    expect(stream.status().state).toBe('ended');
    await pollUntil(async () => { try { process.kill(pid, 0); return true; } catch { return false; } }, (alive) => !alive, 5000, 'the worker gone');
    expect(source.failed).toBeUndefined();
  });

  it('goes on without rungs, the source untouched, when the worker cannot run', async () => {
    const { source, stream, out } = transcoding('240p:300k', 2000, join(dir, 'no-such-ffmpeg'));
    const messages = sourceMessages().slice(0, 40);
    for (const message of messages) source.push(message);
    await pollUntil(async () => stream.status(), (s) => s.state === 'failed', 5000, 'the rungs given up');
    expect(stream.status().reason).toMatch(/could not run .*no-such-ffmpeg/);
    expect(out).toEqual(messages);
    source.end('publisher-ended');
  });

  it('keeps what the worker printed out of its status (the log has it)', async () => {
    const chatty = join(dir, 'chatty-ffmpeg');
    writeFileSync(chatty, '#!/bin/sh\necho "ffmpeg version 9.9 /opt/secret/path" >&2\nexit 3\n');
    chmodSync(chatty, 0o755);
    const lines: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((chunk: string | Uint8Array) => (lines.push(String(chunk)), true)) as typeof process.stderr.write;
    const source = new SourceSession();
    try {
      const stream = new TranscodedStream(source, { ladder: parseLadder('240p:300k'), maxLagMs: 2000, ffmpegPath: chatty });
      for (const message of sourceMessages().slice(0, 40)) source.push(message);
      const failed = await pollUntil(async () => stream.status(), (s) => s.state === 'failed', 5000, 'the rungs given up');
      expect(failed.reason).toMatch(/exited with code 3/);
      expect(failed.reason).not.toMatch(/secret/);
      expect(lines.some((line) => /transcode\.worker-exit .*secret\/path/.test(line))).toBe(true);
    } finally {
      process.stderr.write = write;
      source.end('publisher-ended');
    }
  });

  it('goes on without rungs, the source in order, when the worker cannot even be spawned', () => {
    const source = new SourceSession();
    // spawn() throws at once for this path (a NUL byte), as it does for some errnos.
    const stream = new TranscodedStream(source, { ladder: parseLadder('240p:300k'), maxLagMs: 2000, ffmpegPath: 'ffmpeg\0' });
    const out: WireMessage[] = [];
    stream.on('message', (m) => out.push(m));
    const messages = sourceMessages().slice(0, 40);
    for (const message of messages) source.push(message);
    expect(stream.status()).toMatchObject({ state: 'failed', reason: expect.stringContaining('did not start') });
    expect(out).toEqual(messages);
    source.end('publisher-ended');
  });

  it('restarts, without crashing, a worker whose restart cannot be spawned, and gives up after MAX_UNSTABLE_RESTARTS', async () => {
    const source = new SourceSession();
    const options = { ladder: parseLadder('240p:300k'), maxLagMs: 30_000, ffmpegPath: 'ffmpeg' };
    const stream = new TranscodedStream(source, options);
    const out: WireMessage[] = [];
    stream.on('message', (m) => out.push(m));
    const messages = sourceMessages();
    for (const message of messages) source.push(message);
    const running = await pollUntil(async () => stream.status(), (s) => s.state === 'running', 20_000, 'the worker running');
    options.ffmpegPath = 'ffmpeg\0';
    process.kill(running.pid!, 'SIGKILL');
    const failing = await pollUntil(async () => stream.status(), (s) => s.restarts >= 2, 10_000, 'restarts that cannot spawn');
    expect(failing).toMatchObject({ state: 'restarting', reason: expect.stringContaining('did not start') });
    // The back-off doubles from 250 ms: 250 + 500 + 1000 + 2000 + 4000 ms of restarts, then the rungs are given up.
    const failed = await pollUntil(async () => stream.status(), (s) => s.state !== 'restarting', 15_000, 'the rungs given up');
    expect(failed).toMatchObject({ state: 'failed', restarts: MAX_UNSTABLE_RESTARTS, reason: expect.stringContaining(`restarted ${MAX_UNSTABLE_RESTARTS} times`) });
    expect(failed.pid).toBeUndefined();
    // The source still passes.
    const before = out.length;
    source.push(messages[messages.length - 1]!);
    expect(out.length).toBe(before + 1);
    source.end('publisher-ended');
  }, 40_000);

  it('does not restart a worker for a publisher’s pause, but does when it falls behind input that keeps coming', async () => {
    const maxLagMs = 500;
    const source = new SourceSession();
    const stream = new TranscodedStream(source, { ladder: parseLadder('240p:300k'), maxLagMs, ffmpegPath: 'ffmpeg' });
    const messages = sourceMessages();
    const videoFrames = messages.filter((m) => m.type === 'chunk' && m.trackId === 0).length;
    for (const message of messages) source.push(message);
    await pollUntil(async () => stream.status(), (s) => s.state === 'running' && s.rungs[0]!.frames >= videoFrames - 3, 20_000, 'the rung caught up');
    // The publisher pauses: the B-frame decoder keeps its last frames until more input comes. The pause is the case.
    await new Promise((resolve) => setTimeout(resolve, maxLagMs * 4));
    expect(stream.status()).toMatchObject({ state: 'running', restarts: 0 });

    // A worker that reads on but encodes nothing (stopped) while the publisher goes on in real time.
    const pid = stream.status().pid!;
    process.kill(pid, 'SIGSTOP');
    try {
      const later = messages.flatMap((m) => (m.type === 'chunk' && m.trackId === 0 ? [{ ...m, timestampUs: m.timestampUs + 3_000_000 }] : []));
      let next = 0;
      const publisher = setInterval(() => source.push(later[next++ % later.length]!), 1000 / 30);
      try {
        const restarted = await pollUntil(async () => stream.status(), (s) => s.restarts >= 1 || s.state === 'restarting', 10_000, 'the worker restarted');
        expect(restarted.reason).toMatch(/behind later input/);
      } finally {
        clearInterval(publisher);
      }
    } finally {
      // The restart killed it already unless the test failed before.
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
    source.end('publisher-ended');
  }, 40_000);

  it('holds the source at most MAX_HOLD_MS for a worker that configures no rung, then releases it and kills the worker', async () => {
    // A worker that starts and then says nothing.
    const silent = join(dir, 'silent-ffmpeg');
    writeFileSync(silent, '#!/bin/sh\nexec sleep 60\n');
    chmodSync(silent, 0o755);
    const { source, stream, out } = transcoding('240p:300k', 30_000, silent);
    const messages = sourceMessages().slice(0, 40);
    const startedMs = Date.now();
    for (const message of messages) source.push(message);
    const pid = stream.status().pid!;
    expect(pid).toBeGreaterThan(0);
    expect(out).toEqual([]);
    await pollUntil(async () => out.length, (n) => n === messages.length, MAX_HOLD_MS + 3000, 'the held messages released');
    expect(Date.now() - startedMs).toBeGreaterThanOrEqual(MAX_HOLD_MS - 50);
    expect(out).toEqual(messages);
    expect(stream.status()).toMatchObject({ state: 'failed', reason: expect.stringContaining(`within ${MAX_HOLD_MS} ms`) });
    await pollUntil(async () => { try { process.kill(pid, 0); return true; } catch { return false; } }, (alive) => !alive, 5000, 'the silent worker gone');
    source.end('publisher-ended');
  }, 15_000);

  it('on close() releases the held source, passes what follows, and ends only with its source', async () => {
    const silent = join(dir, 'silent-ffmpeg-2');
    writeFileSync(silent, '#!/bin/sh\nexec sleep 60\n');
    chmodSync(silent, 0o755);
    const { source, stream, out } = transcoding('240p:300k', 30_000, silent);
    let ended = false;
    stream.on('end', () => (ended = true));
    const messages = sourceMessages().slice(0, 41);
    for (const message of messages.slice(0, 40)) source.push(message);
    const pid = stream.status().pid!;
    expect(out).toEqual([]);
    stream.close();
    expect(out).toEqual(messages.slice(0, 40));
    source.push(messages[40]!);
    expect(out).toEqual(messages);
    expect(stream.status()).toMatchObject({ state: 'off', reason: expect.stringContaining('closing') });
    expect(ended).toBe(false);
    source.end('server-closing');
    expect(ended).toBe(true);
    expect(stream.status().state).toBe('ended');
    await pollUntil(async () => { try { process.kill(pid, 0); return true; } catch { return false; } }, (alive) => !alive, 5000, 'the worker gone');
  });

  it('does not start rungs once it went on without them before the first chunk', () => {
    const { source, stream, out } = transcoding('240p:300k', 30_000, 'ffmpeg');
    const messages = sourceMessages();
    const firstChunk = messages.findIndex((m) => m.type === 'chunk');
    const before = messages.slice(0, firstChunk);
    // More messages than are held before any chunk (a publisher repeating its clock).
    const clock = before.find((m) => m.type === 'clock')!;
    const sent = [...before, ...Array.from({ length: 1000 }, () => clock), ...messages.slice(firstChunk, firstChunk + 40)];
    for (const message of sent) source.push(message);
    expect(stream.status()).toMatchObject({ state: 'failed', reason: expect.stringContaining('source messages') });
    expect(stream.status().pid).toBeUndefined();
    expect(out).toEqual(sent);
    source.end('publisher-ended');
  });

  it('passes a source with no rung below it through untouched, with the reason', () => {
    const { source, stream, out } = transcoding('480p:1M', 2000, 'ffmpeg');
    const messages = sourceMessages().slice(0, 10);
    for (const message of messages) source.push(message);
    expect(out).toEqual(messages);
    expect(stream.status()).toMatchObject({ state: 'off', reason: expect.stringContaining('640×360') });
    expect(stream.status().pid).toBeUndefined();
    source.end('publisher-ended');
  });
});
