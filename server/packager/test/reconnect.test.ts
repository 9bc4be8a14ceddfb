// A stream that outlives its publisher's reconnect: the packager's rebased timeline, continued numbering and
// discontinuity, as the origin serves them (real StreamPackager into a real Origin), and the grace period's rules.
import { describe, expect, it } from 'vitest';
import type { ChunkMessage, TrackConfigMessage, WireMessage } from '../../../shared/protocol/index.ts';
import { TypedEmitter } from '../../../shared/events.ts';
import { Ingest, INGEST_DEFAULTS, IngestError } from '../../ingest/index.ts';
import { Origin } from '../../origin/index.ts';
import { renderMediaPlaylist } from '../../origin/playlist/render-media.ts';
import type { PublishedStreamEvents, PublishEndReason } from '../../ingest/published-stream.ts';
import { packageIngest, ReconnectGrace, StreamPackager, type Part } from '../index.ts';
import { readPart } from '../../../e2e/support/mp4-probe.ts';

const FRAME_US = 1_000_000 / 30;
const AUDIO_PACKET_US = 20_000;
const PART_TARGET_US = 200_000;
const SEGMENT_TARGET_US = 2_000_000;
const WALL_CLOCK_MS = 1_700_000_000_000;
// Plausible avcC records: Baseline level 3.1, one SPS, one PPS; the second one's SPS differs (new codec parameters).
const AVCC = Uint8Array.of(1, 0x42, 0, 0x1f, 0xff, 0xe1, 0, 4, 0x67, 0x42, 0, 0x1f, 1, 0, 4, 0x68, 0xce, 0x3c, 0x80);
const OTHER_AVCC = Uint8Array.of(1, 0x42, 0, 0x1f, 0xff, 0xe1, 0, 4, 0x67, 0x42, 0, 0x28, 1, 0, 4, 0x68, 0xce, 0x3c, 0x80);

interface Session {
  /** The publisher's first timestamp (the clock's origin and the grid's zero point). */
  originUs: number;
  wallClockMs: number;
  seconds: number;
  renditions?: string[];
  avcC?: Uint8Array;
}

/** One publish session's messages: clock, tracks, 30 fps video (a keyframe every 2 s) per rendition and 20 ms Opus. */
function session({ originUs, wallClockMs, seconds, renditions = ['r0'], avcC = AVCC }: Session): WireMessage[] {
  const messages: WireMessage[] = [{ type: 'clock', timestampUs: originUs, wallClockMs, gridOriginUs: originUs }];
  renditions.forEach((rendition, n) =>
    messages.push({ type: 'track', kind: 'video', trackId: n, codec: 'avc1.42001f', description: avcC, width: 640, height: 360, framerate: 30, bitrate: 1_000_000, rendition } as TrackConfigMessage),
  );
  messages.push({ type: 'track', kind: 'audio', trackId: 9, codec: 'opus', sampleRate: 48000, channels: 2, bitrate: 64_000 });
  const chunks: ChunkMessage[] = [];
  for (let i = 0; i < seconds * 30; i++) {
    for (let n = 0; n < renditions.length; n++) {
      const keyframe = i % 60 === 0;
      chunks.push({ type: 'chunk', trackId: n, keyframe, timestampUs: originUs + Math.round(i * FRAME_US), durationUs: 0, data: Uint8Array.of(0, 0, 0, 2, keyframe ? 0x65 : 0x41, i & 0xff) });
    }
  }
  for (let j = 0; j < (seconds * 1_000_000) / AUDIO_PACKET_US; j++) {
    chunks.push({ type: 'chunk', trackId: 9, keyframe: true, timestampUs: originUs + j * AUDIO_PACKET_US, durationUs: AUDIO_PACKET_US, data: Uint8Array.of(0xfc, j & 0xff, 0) });
  }
  chunks.sort((a, b) => a.timestampUs - b.timestampUs);
  return [...messages, ...chunks];
}

/** The media playlist's sequence, discontinuity and segment lines, without the rendition prefix of segment names. */
function sequenceListing(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => line === '#EXT-X-DISCONTINUITY' || line.startsWith('#EXT-X-MEDIA-SEQUENCE') || /^[^#].*\.m4s$/.test(line))
    .map((line) => line.replace(/^[a-z0-9]+-/, ''));
}

/** The summed duration of some parts, µs. */
const span = (list: Part[]): number => list.reduce((sum, p) => sum + p.durationUs, 0);

function served(windowSegments = 12): { origin: Origin; packager: StreamPackager; parts: Part[]; playlist(rendition?: string): string } {
  const origin = new Origin({ partTargetMs: PART_TARGET_US / 1000, segmentTargetMs: SEGMENT_TARGET_US / 1000, windowSegments, keepSegments: 0 });
  const packager = new StreamPackager({ streamName: 'show', partTargetUs: PART_TARGET_US, segmentTargetUs: SEGMENT_TARGET_US });
  const parts: Part[] = [];
  packager.on('part', (part) => parts.push(part));
  const stream = origin.attach('show', packager);
  return {
    origin,
    packager,
    parts,
    playlist: (rendition = 'r0') => renderMediaPlaylist(stream.rendition(rendition)!.snapshot()),
  };
}

/** The first video decode time of a part, µs (the video timescale). */
function videoStartUs(part: Part): number {
  return readPart(part.data).runs.find((run) => run.trackId === 1)!.baseMediaDecodeTime;
}

describe('a publisher that reconnects', () => {
  it('continues the stream: msn and parts go on, a discontinuity, the new session rebased after the old, its own clock', () => {
    const { packager, parts, playlist, origin } = served();
    for (const message of session({ originUs: 50_000_000, wallClockMs: WALL_CLOCK_MS, seconds: 6 })) packager.push(message);
    packager.interrupt();
    const before = parts.filter((p) => p.rendition === 'r0');
    const last = before.at(-1)!;
    const endUs = videoStartUs(before.find((p) => p.msn === last.msn && p.partIndex === 0)!) + before.filter((p) => p.msn === last.msn).reduce((sum, p) => sum + p.durationUs, 0);
    expect(playlist()).not.toContain('#EXT-X-ENDLIST');
    expect(playlist()).toContain(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="${origin.get('show')!.epoch}-${last.msn + 1}.0.m4s"`);

    // The new publisher restarts its timestamps at 0, 9 s later on the wall clock.
    packager.resume();
    for (const message of session({ originUs: 0, wallClockMs: WALL_CLOCK_MS + 9_000, seconds: 4 })) packager.push(message);
    const after = parts.slice(before.length);
    const first = after[0]!;
    expect(first).toMatchObject({ msn: last.msn + 1, partIndex: 0, independent: true, discontinuity: true, programDateTimeMs: WALL_CLOCK_MS + 9_000 });
    expect(after.filter((p) => p.discontinuity)).toHaveLength(1);
    // One timeline that keeps increasing: the new session starts where the old one's media ended.
    expect(videoStartUs(first)).toBe(endUs);
    const starts = after.filter((p) => !p.gap).map(videoStartUs);
    expect(starts).toEqual([...starts].sort((a, b) => a - b));
    // The moof sequence numbers go on too.
    expect(readPart(first.data).sequenceNumbers[0]).toBeGreaterThan(readPart(last.data).sequenceNumbers.at(-1)!);

    const text = playlist();
    const lines = text.split('\n');
    const discontinuity = lines.indexOf('#EXT-X-DISCONTINUITY');
    expect(discontinuity).toBeGreaterThan(0);
    expect(lines[discontinuity + 1]).toBe(`#EXT-X-PROGRAM-DATE-TIME:${new Date(WALL_CLOCK_MS + 9_000).toISOString()}`);
    expect(text).not.toContain('#EXT-X-DISCONTINUITY-SEQUENCE');
    expect(text).not.toContain('#EXT-X-ENDLIST');
    // Same codec parameters: one init segment for the whole stream.
    expect(text.match(/#EXT-X-MAP/g)).toHaveLength(1);

    packager.end();
    expect(playlist()).toContain('#EXT-X-ENDLIST');
  });

  it('counts the discontinuity in EXT-X-DISCONTINUITY-SEQUENCE once its segment left the window', () => {
    const { packager, playlist } = served(3);
    for (const message of session({ originUs: 50_000_000, wallClockMs: WALL_CLOCK_MS, seconds: 4 })) packager.push(message);
    packager.interrupt();
    packager.resume();
    for (const message of session({ originUs: 0, wallClockMs: WALL_CLOCK_MS + 5_000, seconds: 4.2 })) packager.push(message);
    // Segments 0..1 before, 2..3 after (4 starting): the window of 3 holds 1, 2, 3.
    expect(playlist()).toMatch(/#EXT-X-MEDIA-SEQUENCE:1\n(?![\s\S]*DISCONTINUITY-SEQUENCE)[\s\S]*#EXT-X-DISCONTINUITY\n/);
    for (const message of session({ originUs: 0, wallClockMs: WALL_CLOCK_MS + 5_000, seconds: 8.2 }).filter((m) => m.type === 'chunk' && m.timestampUs >= 4_200_000)) {
      packager.push(message);
    }
    const text = playlist();
    expect(text).toContain('#EXT-X-DISCONTINUITY-SEQUENCE:1');
    expect(text).not.toContain('#EXT-X-DISCONTINUITY\n');
  });

  it('serves a new init segment after the discontinuity when the codec parameters changed', () => {
    const { packager, playlist, origin } = served();
    for (const message of session({ originUs: 50_000_000, wallClockMs: WALL_CLOCK_MS, seconds: 4 })) packager.push(message);
    packager.interrupt();
    packager.resume();
    for (const message of session({ originUs: 0, wallClockMs: WALL_CLOCK_MS + 5_000, seconds: 2, avcC: OTHER_AVCC })) packager.push(message);
    const stream = origin.get('show')!;
    const lines = playlist().split('\n');
    expect(lines.filter((line) => line.startsWith('#EXT-X-MAP'))).toEqual([`#EXT-X-MAP:URI="init-${stream.epoch}.mp4"`, `#EXT-X-MAP:URI="init-${stream.epoch}-1.mp4"`]);
    expect(lines.indexOf(`#EXT-X-MAP:URI="init-${stream.epoch}-1.mp4"`)).toBe(lines.indexOf('#EXT-X-DISCONTINUITY') + 1);
    const timeline = stream.rendition('r0')!;
    expect(timeline.initVersion(0)!.data).not.toEqual(timeline.initVersion(1)!.data);
    expect(timeline.init).toBe(timeline.initVersion(1));
  });

  it('keeps a rendition the new publisher does not send in step with GAP parts, and takes one it adds', () => {
    const { packager, parts, playlist } = served();
    for (const message of session({ originUs: 50_000_000, wallClockMs: WALL_CLOCK_MS, seconds: 4, renditions: ['r0', 'r1'] })) packager.push(message);
    packager.interrupt();
    const count = parts.length;
    packager.resume();
    for (const message of session({ originUs: 0, wallClockMs: WALL_CLOCK_MS + 5_000, seconds: 4.1, renditions: ['r0', 'r2'] })) packager.push(message);
    const after = parts.slice(count);
    const r0 = after.filter((p) => p.rendition === 'r0');
    const r1 = after.filter((p) => p.rendition === 'r1');
    expect(r1.length).toBeGreaterThan(0);
    expect(r1.every((p) => p.gap)).toBe(true);
    expect(r1[0]).toMatchObject({ msn: r0[0]!.msn, partIndex: 0, discontinuity: true });
    // Same segments on both: the paused rendition follows the grid of the one with media.
    expect(new Set(r1.map((p) => p.msn))).toEqual(new Set(r0.filter((p) => p.msn <= r1.at(-1)!.msn).map((p) => p.msn)));
    expect(playlist('r1')).toContain('GAP=YES');
    expect(playlist('r2')).toContain('#EXT-X-DISCONTINUITY');
    expect(after.some((p) => p.rendition === 'r2' && !p.gap)).toBe(true);
  });
  it('drops the video a dropped publisher sent beyond its audio, with a segment holding nothing else, so a muxed buffer reaches the last segment', () => {
    const { packager, parts, playlist } = served();
    // The keyframe at 2 s (and a frame after it) arrived; the audio stopped at 1.94 s.
    const dropped = session({ originUs: 50_000_000, wallClockMs: WALL_CLOCK_MS, seconds: 2.04 }).filter(
      (m) => !(m.type === 'chunk' && m.trackId === 9 && m.timestampUs >= 51_920_000),
    );
    for (const message of dropped) packager.push(message);
    packager.interrupt();
    // Segment 0 only: no segment of video alone after the audio's end.
    expect(new Set(parts.map((p) => p.msn))).toEqual(new Set([0]));
    const last = readPart(parts.at(-1)!.data);
    const lastVideoUs = Math.max(...last.runs.filter((run) => run.trackId === 1).map((run) => run.baseMediaDecodeTime));
    expect(lastVideoUs).toBeLessThan(1_940_000);
    const count = parts.length;

    packager.resume();
    for (const message of session({ originUs: 0, wallClockMs: WALL_CLOCK_MS + 5_000, seconds: 2.1 })) packager.push(message);
    expect(parts[count]).toMatchObject({ msn: 1, partIndex: 0, discontinuity: true });
    expect(playlist()).toMatch(/-0\.m4s\n#EXT-X-DISCONTINUITY\n#EXT-X-PROGRAM-DATE-TIME:[^\n]+\n[\s\S]*-1\.0\.m4s/);
  });

  it('continues every rendition on one media sequence number when the publisher dropped as they straddled a segment boundary', () => {
    const { packager, parts, playlist } = served();
    // r0 got the keyframe at 2 s that opens segment 1 (and a frame more); r1's copy of it never arrived.
    const straddling = session({ originUs: 50_000_000, wallClockMs: WALL_CLOCK_MS, seconds: 2.04, renditions: ['r0', 'r1'] }).filter(
      (m) => !(m.type === 'chunk' && m.trackId === 1 && m.timestampUs >= 52_000_000),
    );
    for (const message of straddling) packager.push(message);
    packager.interrupt();
    const before = (rendition: string): Part[] => parts.filter((p) => p.rendition === rendition);
    expect(Math.max(...before('r0').map((p) => p.msn))).toBe(1);
    // r1 is brought level with a GAP segment over the time of r0's segment 1.
    const padding = before('r1').filter((p) => p.msn === 1);
    expect(padding.length).toBeGreaterThan(0);
    expect(padding.every((p) => p.gap)).toBe(true);
    expect(span(padding)).toBe(span(before('r0').filter((p) => p.msn === 1)));
    const count = parts.length;

    packager.resume();
    for (const message of session({ originUs: 0, wallClockMs: WALL_CLOCK_MS + 5_000, seconds: 4.1, renditions: ['r0', 'r1'] })) packager.push(message);
    const after = parts.slice(count);
    const firstOf = (rendition: string): Part => after.find((p) => p.rendition === rendition)!;
    expect(firstOf('r0')).toMatchObject({ msn: 2, partIndex: 0, discontinuity: true });
    expect(firstOf('r1')).toMatchObject({ msn: 2, partIndex: 0, discontinuity: true });
    expect(firstOf('r1').gap).toBeUndefined();
    for (const msn of [2, 3]) {
      expect(span(after.filter((p) => p.rendition === 'r1' && p.msn === msn))).toBe(span(after.filter((p) => p.rendition === 'r0' && p.msn === msn)));
    }

    // Both playlists list the same media sequence numbers, with the discontinuity before the same one.
    const listing = (rendition: string): string[] => sequenceListing(playlist(rendition));
    expect(listing('r1')).toEqual(listing('r0'));
    expect(listing('r0')).toEqual(['#EXT-X-MEDIA-SEQUENCE:0', '0.m4s', '1.m4s', '#EXT-X-DISCONTINUITY', '2.m4s', '3.m4s']);
  });

  it('levels a rendition behind with a GAP segment even when its media reaches past the end of the one ahead', () => {
    const { packager, parts, playlist } = served();
    // r0 got the keyframe at 2 s (segment 1) and one frame more; r1 lost that keyframe but got the frames after it up
    // to 2.1 s, which its segment 0 takes: r1 is a segment number behind and yet ends later than r0.
    const straddling = session({ originUs: 50_000_000, wallClockMs: WALL_CLOCK_MS, seconds: 2.1, renditions: ['r0', 'r1'] }).filter(
      (m) => !(m.type === 'chunk' && ((m.trackId === 0 && m.timestampUs >= 52_040_000) || (m.trackId === 1 && m.timestampUs === 52_000_000))),
    );
    for (const message of straddling) packager.push(message);
    packager.interrupt();
    const of = (rendition: string, msn: number): Part[] => parts.filter((p) => p.rendition === rendition && p.msn === msn);
    expect(span(of('r1', 0))).toBeGreaterThan(span(of('r0', 0)) + span(of('r0', 1)));
    const padding = of('r1', 1);
    expect(padding.length).toBeGreaterThan(0);
    expect(padding.every((p) => p.gap)).toBe(true);
    expect(span(padding)).toBeGreaterThan(0);
    const count = parts.length;

    packager.resume();
    for (const message of session({ originUs: 0, wallClockMs: WALL_CLOCK_MS + 5_000, seconds: 2.1, renditions: ['r0', 'r1'] })) packager.push(message);
    const after = parts.slice(count);
    for (const rendition of ['r0', 'r1']) expect(after.find((p) => p.rendition === rendition)).toMatchObject({ msn: 2, partIndex: 0, discontinuity: true });
    const listing = (rendition: string): string[] => sequenceListing(playlist(rendition));
    expect(listing('r1')).toEqual(listing('r0'));
    expect(listing('r0')).toEqual(['#EXT-X-MEDIA-SEQUENCE:0', '0.m4s', '1.m4s', '#EXT-X-DISCONTINUITY', '2.m4s']);
  });
});

class FakePublishedStream extends TypedEmitter<PublishedStreamEvents> {
  readonly failures: string[] = [];
  readonly stats = { bytesReceived: 0 };
  constructor(
    readonly streamName: string,
    readonly id = 'session-1',
  ) {
    super();
  }
  fail(detail: string): void {
    this.failures.push(detail);
    this.emit('end', 'protocol-error', detail);
  }
  close(reason: PublishEndReason): void {
    this.end(reason);
  }
  publish(messages: WireMessage[]): void {
    for (const message of messages) if (message.type !== 'end') this.emit('message', message);
  }
  end(reason: PublishEndReason): void {
    this.emit('end', reason, undefined);
  }
}

describe('the grace period', () => {
  const options = { partTargetUs: PART_TARGET_US, segmentTargetUs: SEGMENT_TARGET_US };

  it('hands a publisher that comes back after a drop the same stream, and a new stream after a deliberate stop', () => {
    const grace = new ReconnectGrace({ ...options, graceMs: 60_000 });
    const first = new FakePublishedStream('show');
    const packager = grace.package(first)!;
    let ended = false;
    packager.on('end', () => (ended = true));
    first.publish(session({ originUs: 50_000_000, wallClockMs: WALL_CLOCK_MS, seconds: 2.5 }));
    first.end('disconnected');
    expect(ended).toBe(false);
    const second = new FakePublishedStream('show');
    expect(grace.package(second)).toBeUndefined();
    second.publish(session({ originUs: 0, wallClockMs: WALL_CLOCK_MS + 4_000, seconds: 2.5 }));
    expect(second.failures).toEqual([]);
    second.end('stopped');
    expect(ended).toBe(true);
    const third = new FakePublishedStream('show');
    const next = grace.package(third);
    expect(next).toBeInstanceOf(StreamPackager);
    expect(next).not.toBe(packager);
    grace.close();
  });

  it('ends the stream when no publisher came back within the grace period, and at once when it is off', async () => {
    const grace = new ReconnectGrace({ ...options, graceMs: 100 });
    const published = new FakePublishedStream('show');
    const packager = grace.package(published)!;
    let endedAt: number | undefined;
    const ended = new Promise<void>((resolve) =>
      packager.on('end', () => {
        endedAt = performance.now();
        resolve();
      }),
    );
    published.publish(session({ originUs: 50_000_000, wallClockMs: WALL_CLOCK_MS, seconds: 1 }));
    const droppedAt = performance.now();
    published.end('idle-timeout');
    expect(endedAt).toBeUndefined();
    await ended;
    expect(endedAt! - droppedAt).toBeGreaterThanOrEqual(90);
    grace.close();

    const off = new ReconnectGrace({ ...options, graceMs: 0 });
    const again = new FakePublishedStream('show');
    let endedNow = false;
    off.package(again)!.on('end', () => (endedNow = true));
    again.end('disconnected');
    expect(endedNow).toBe(true);
    off.close();
  });

  it('ends a stream waiting for its publisher at once when that publisher stops its lost session (DELETE), as the server wires it', () => {
    const grace = new ReconnectGrace({ ...options, graceMs: 60_000 });
    const ingest = new Ingest({ ...INGEST_DEFAULTS, publishGraceMs: 60_000 }, { partTargetMs: PART_TARGET_US / 1000, segmentTargetMs: SEGMENT_TARGET_US / 1000 });
    const packagers: StreamPackager[] = [];
    packageIngest(ingest, grace, (_name, packager) => packagers.push(packager));
    let ended = 0;

    const lost = new FakePublishedStream('show', 'lost');
    ingest.admit(lost, '127.0.0.1', 'rtmp');
    packagers[0]!.on('end', () => ended++);
    lost.publish(session({ originUs: 50_000_000, wallClockMs: WALL_CLOCK_MS, seconds: 2.5 }));
    lost.end('disconnected');
    expect(ended).toBe(0);
    // Another session's id is not this publisher's to stop.
    expect(() => ingest.stop('show', 'other')).toThrow(IngestError);
    ingest.stop('show', 'lost');
    expect(ended).toBe(1);
    // A stream that came back is no longer stoppable through the lost session.
    const again = new FakePublishedStream('show', 'again');
    ingest.admit(again, '127.0.0.1', 'rtmp');
    again.end('disconnected');
    const back = new FakePublishedStream('show', 'back');
    ingest.admit(back, '127.0.0.1', 'rtmp');
    expect(() => ingest.stop('show', 'again')).toThrow(IngestError);
    expect(packagers).toHaveLength(2);
    ingest.close();
    grace.close();
  });
});
