// Cutting rules of StreamPackager on synthetic samples: part and segment boundaries, numbering, timing, errors.
import { describe, expect, it } from 'vitest';
import type { ChunkMessage, TrackConfigMessage, WireMessage } from '../../../shared/protocol/index.ts';
import { PackagerError, StreamPackager, type Part, type PartChunk, type RenditionInit, type SegmentInfo } from '../index.ts';
import { readChunk, readPart } from '../../../e2e/support/mp4-probe.ts';

const ORIGIN_US = 5_000_000;
/** Video decode times are microseconds on the stream's timeline (the publisher's unit). */
const VIDEO_TICKS_PER_S = 1_000_000;
const WALL_CLOCK_MS = 1_700_000_000_000;
const FRAME_US = 1_000_000 / 30;
const AUDIO_PACKET_US = 20_000;
const PART_TARGET_US = 200_000;
const SEGMENT_TARGET_US = 2_000_000;
// A plausible avcC: version 1, Baseline level 3.1, 4-byte lengths, one SPS, one PPS.
const AVCC = Uint8Array.of(1, 0x42, 0, 0x1f, 0xff, 0xe1, 0, 4, 0x67, 0x42, 0, 0x1f, 1, 0, 4, 0x68, 0xce, 0x3c, 0x80);

type Event =
  | { type: 'init'; init: RenditionInit }
  | { type: 'part'; part: Part }
  | { type: 'segment'; segment: SegmentInfo }
  | { type: 'end' };

function videoTrack(trackId = 0, rendition = '360p', extra: Partial<TrackConfigMessage> = {}): TrackConfigMessage {
  return { type: 'track', kind: 'video', trackId, codec: 'avc1.42001f', description: AVCC, width: 640, height: 360, framerate: 30, bitrate: 1_000_000, rendition, ...extra } as TrackConfigMessage;
}

function opusTrack(trackId = 9): TrackConfigMessage {
  return { type: 'track', kind: 'audio', trackId, codec: 'opus', sampleRate: 48000, channels: 2, bitrate: 64_000 };
}

function frameTimeUs(i: number): number {
  return ORIGIN_US + Math.round(i * FRAME_US);
}

function videoChunk(trackId: number, i: number, keyframe: boolean): ChunkMessage {
  // A 4-byte length-prefixed NAL whose type matches the keyframe flag, and the frame number for identification.
  return { type: 'chunk', trackId, keyframe, timestampUs: frameTimeUs(i), durationUs: 0, data: Uint8Array.of(0, 0, 0, 2, keyframe ? 0x65 : 0x41, i & 0xff) };
}

function audioChunk(trackId: number, j: number): ChunkMessage {
  return { type: 'chunk', trackId, keyframe: true, timestampUs: ORIGIN_US + j * AUDIO_PACKET_US, durationUs: AUDIO_PACKET_US, data: Uint8Array.of(0xfc, j & 0xff, 0) };
}

interface SyntheticStream {
  seconds: number;
  isKeyframe?: (frame: number) => boolean;
  videoTrackIds?: number[];
  audio?: boolean;
  /** The segment grid's zero point the clock message carries; none unless given. */
  gridOriginUs?: number;
}

/** clock + tracks + video (30 fps, keyframe every 2 s unless told) and Opus (20 ms) chunks in timestamp order. */
function synthetic({ seconds, isKeyframe = (i) => i % 60 === 0, videoTrackIds = [0], audio = true, gridOriginUs }: SyntheticStream): WireMessage[] {
  const messages: WireMessage[] = [{ type: 'clock', timestampUs: ORIGIN_US, wallClockMs: WALL_CLOCK_MS, ...(gridOriginUs !== undefined && { gridOriginUs }) }];
  videoTrackIds.forEach((id, n) => messages.push(videoTrack(id, `r${n}`)));
  if (audio) messages.push(opusTrack());
  const chunks: ChunkMessage[] = [];
  for (let i = 0; i < seconds * 30; i++) for (const id of videoTrackIds) chunks.push(videoChunk(id, i, isKeyframe(i)));
  if (audio) for (let j = 0; j < (seconds * 1_000_000) / AUDIO_PACKET_US; j++) chunks.push(audioChunk(9, j));
  chunks.sort((a, b) => a.timestampUs - b.timestampUs);
  return [...messages, ...chunks];
}

function newPackager(): StreamPackager {
  return new StreamPackager({ streamName: 'test', partTargetUs: PART_TARGET_US, segmentTargetUs: SEGMENT_TARGET_US });
}

function record(packager: StreamPackager): Event[] {
  const events: Event[] = [];
  packager.on('init', (init) => events.push({ type: 'init', init }));
  packager.on('part', (part) => events.push({ type: 'part', part }));
  packager.on('segment', (segment) => events.push({ type: 'segment', segment }));
  packager.on('end', () => events.push({ type: 'end' }));
  return events;
}

function run(messages: WireMessage[], end = true): Event[] {
  const packager = newPackager();
  const events = record(packager);
  for (const message of messages) packager.push(message);
  if (end) packager.end();
  return events;
}

const parts = (events: Event[]): Part[] => events.flatMap((e) => (e.type === 'part' ? [e.part] : []));
const segments = (events: Event[]): SegmentInfo[] => events.flatMap((e) => (e.type === 'segment' ? [e.segment] : []));

function expectPackagerError(messages: WireMessage[], code: PackagerError['code']): void {
  const packager = newPackager();
  let thrown: unknown;
  try {
    for (const message of messages) packager.push(message);
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(PackagerError);
  expect((thrown as PackagerError).code).toBe(code);
  expect((thrown as PackagerError).streamName).toBe('test');
}

describe('StreamPackager cutting', () => {
  it('cuts 30 fps video into 6-frame parts of at most the part target, 10 parts per 2 s segment', () => {
    const events = run(synthetic({ seconds: 6 }));
    const all = parts(events);
    expect(all).toHaveLength(30);
    for (const part of all) {
      expect(part.durationUs).toBeLessThanOrEqual(PART_TARGET_US);
      const video = readPart(part.data).runs.find((r) => r.trackId === 1);
      expect(video?.samples).toHaveLength(6);
      expect(video?.samples.every((s) => Math.abs(s.duration - FRAME_US) <= 1)).toBe(true);
    }
    const segs = segments(events);
    expect(segs.map((s) => s.partCount)).toEqual([10, 10, 10]);
    for (const seg of segs) expect(Math.abs(seg.durationUs - SEGMENT_TARGET_US)).toBeLessThanOrEqual(1);
  });

  it('numbers segments from 0 and parts from 0 within each segment, emitting init first and the segment after its last part', () => {
    const events = run(synthetic({ seconds: 4 }));
    expect(events[0]?.type).toBe('init');
    expect(events.filter((e) => e.type === 'init')).toHaveLength(1);
    expect(events.at(-1)?.type).toBe('end');
    const order = events.filter((e) => e.type === 'part' || e.type === 'segment').map((e) =>
      e.type === 'part' ? `p${e.part.msn}.${e.part.partIndex}` : e.type === 'segment' ? `s${e.segment.msn}` : '',
    );
    const expected = [0, 1].flatMap((msn) => [...Array.from({ length: 10 }, (_, i) => `p${msn}.${i}`), `s${msn}`]);
    expect(order).toEqual(expected);
    const sequenceNumbers = parts(events).flatMap((p) => readPart(p.data).sequenceNumbers);
    expect(sequenceNumbers).toEqual(sequenceNumbers.map((_, i) => i + 1));
  });

  it('starts every segment with an independent part whose first sample is a sync keyframe; other parts are not independent', () => {
    const all = parts(run(synthetic({ seconds: 4 })));
    for (const part of all) {
      const first = readPart(part.data).runs.find((r) => r.trackId === 1)?.samples[0];
      expect(part.independent).toBe(part.partIndex === 0);
      expect(first?.flags.isNonSyncSample).toBe(part.partIndex === 0 ? 0 : 1);
    }
  });

  it('derives program date time and decode times from the clock message', () => {
    const events = run(synthetic({ seconds: 4 }));
    for (const part of parts(events)) {
      const frame = part.msn * 60 + part.partIndex * 6;
      expect(part.programDateTimeMs).toBeCloseTo(WALL_CLOCK_MS + (frameTimeUs(frame) - ORIGIN_US) / 1000, 3);
      const video = readPart(part.data).runs.find((r) => r.trackId === 1);
      expect(video?.baseMediaDecodeTime).toBe(frameTimeUs(frame) - ORIGIN_US);
    }
    const segs = segments(events);
    expect(segs[1]?.programDateTimeMs).toBeCloseTo(WALL_CLOCK_MS + 2000, 3);
  });

  it('keeps segment boundaries on the 2 s grid after a boundary keyframe came one frame late', () => {
    // The encoder dropped the forced keyframe at frame 60 and the broadcaster forced the next frame instead; the
    // keyframe at frame 120 is on time again and must end that shortened segment, not be skipped as too early.
    const events = run(synthetic({ seconds: 8, isKeyframe: (i) => i % 60 === 0 ? i !== 60 : i === 61 }));
    const segs = segments(events);
    expect(segs.map((s) => Math.round(s.durationUs / 1000))).toEqual([2033, 1967, 2000, 2000]);
    for (const seg of segs) expect(seg.durationUs).toBeLessThanOrEqual(SEGMENT_TARGET_US + FRAME_US);
  });

  it('cuts a first segment of two parts when the publisher forces a keyframe there, then segments on the 2 s grid', () => {
    const events = run(synthetic({ seconds: 6, isKeyframe: (i) => i % 60 === 0 || i === 12 }));
    const segs = segments(events);
    expect(segs.map((s) => s.partCount)).toEqual([2, 8, 10, 10]);
    expect(segs.map((s) => Math.round(s.durationUs / 1000))).toEqual([400, 1600, 2000, 2000]);
  });

  it('keeps a full first segment when no keyframe comes with the first boundary, in every rendition alike', () => {
    // Rendition r1's encoder inserted a keyframe of its own at 0.67 s: neither rendition cuts there.
    const messages = synthetic({ seconds: 4, videoTrackIds: [0, 1] }).map((m) =>
      m.type === 'chunk' && m.trackId === 1 && m.timestampUs === frameTimeUs(20) ? { ...m, keyframe: true } : m,
    );
    const packager = newPackager();
    const byRendition = new Map<string, number[]>();
    packager.on('segment', (s) => byRendition.set(s.rendition, [...(byRendition.get(s.rendition) ?? []), s.partCount]));
    for (const message of messages) packager.push(message);
    packager.end();
    expect(byRendition.get('r0')).toEqual([10, 10]);
    expect(byRendition.get('r1')).toEqual([10, 10]);
  });

  it('does not cut a segment on an encoder-inserted keyframe, but marks the part it starts independent', () => {
    const events = run(synthetic({ seconds: 4, isKeyframe: (i) => i % 60 === 0 || i === 30 || i === 93 }));
    expect(segments(events).map((s) => s.partCount)).toEqual([10, 10]);
    const independent = parts(events).filter((p) => p.independent).map((p) => `${p.msn}.${p.partIndex}`);
    // Frame 30 starts part 0.5; frame 93 is inside part 1.5 (frames 90..95), so that part stays dependent.
    expect(independent).toEqual(['0.0', '0.5', '1.0']);
  });

  it('muxes every audio packet exactly once, each part taking the audio that starts before its end', () => {
    const events = run(synthetic({ seconds: 4 }));
    const audioRuns = parts(events).flatMap((p) => readPart(p.data).runs.filter((r) => r.trackId === 2));
    const count = audioRuns.reduce((n, r) => n + r.samples.length, 0);
    expect(count).toBe(200);
    let expectedTime = 0;
    for (const run of audioRuns) {
      expect(run.baseMediaDecodeTime).toBe(expectedTime);
      expect(run.samples.every((s) => s.duration === 960 && s.flags.isNonSyncSample === 0)).toBe(true);
      expectedTime += run.samples.length * 960;
    }
  });

  it('puts audio that arrives after its part was emitted into the next part', () => {
    const messages = synthetic({ seconds: 1 }).filter((m) => !(m.type === 'chunk' && m.trackId === 9));
    // The audio of the first 0.3 s arrives later than the packager waits for it (0.2 s), after part 0 was cut.
    const late = Array.from({ length: 15 }, (_, j) => audioChunk(9, j));
    const frame14 = messages.findIndex((m) => m.type === 'chunk' && m.timestampUs === frameTimeUs(14));
    messages.splice(frame14, 0, ...late);
    const all = parts(run(messages));
    expect(readPart(all[0]!.data).runs.map((r) => r.trackId)).toEqual([1]);
    const audio = readPart(all[1]!.data).runs.find((r) => r.trackId === 2);
    expect(audio?.baseMediaDecodeTime).toBe(0);
    expect(audio?.samples).toHaveLength(14);
  });

  it('drops video before the first keyframe and starts the first part on it', () => {
    const messages = synthetic({ seconds: 3, isKeyframe: (i) => i === 10 || i === 70 });
    const all = parts(run(messages));
    const first = readPart(all[0]!.data);
    expect(all[0]?.independent).toBe(true);
    expect(first.runs.find((r) => r.trackId === 1)?.baseMediaDecodeTime).toBe(frameTimeUs(10) - ORIGIN_US);
    // Audio from before the first keyframe has no part to go in.
    expect(first.runs.find((r) => r.trackId === 2)?.baseMediaDecodeTime).toBeGreaterThanOrEqual(Math.floor(((frameTimeUs(10) - ORIGIN_US) * 48000) / VIDEO_TICKS_PER_S));
    expect(all[0]?.programDateTimeMs).toBeCloseTo(WALL_CLOCK_MS + (frameTimeUs(10) - ORIGIN_US) / 1000, 3);
  });

  it('flushes the pending part and segment on end(), then emits end once', () => {
    const packager = newPackager();
    const events = record(packager);
    for (const message of synthetic({ seconds: 2.5 })) packager.push(message);
    expect(segments(events)).toHaveLength(1);
    packager.end();
    packager.end();
    const segs = segments(events);
    expect(segs).toHaveLength(2);
    expect(Math.abs((segs[1]?.durationUs ?? 0) - 500_000)).toBeLessThanOrEqual(1);
    expect(segs[1]?.partCount).toBe(3);
    expect(events.filter((e) => e.type === 'end')).toHaveLength(1);
    expect(events.at(-1)?.type).toBe('end');
    const lastPart = parts(events).at(-1)!;
    expect(readPart(lastPart.data).runs.find((r) => r.trackId === 1)?.samples.at(-1)?.duration).toBeCloseTo(FRAME_US, -1);
    expect(() => packager.push(videoChunk(0, 100, false))).toThrow(PackagerError);
  });

  it('ends the stream on an end message', () => {
    const events = run([...synthetic({ seconds: 1 }), { type: 'end' }], false);
    expect(events.at(-1)?.type).toBe('end');
    expect(segments(events)).toHaveLength(1);
  });

  it('emits nothing after close()', () => {
    const packager = newPackager();
    const events = record(packager);
    const messages = synthetic({ seconds: 1 });
    for (const message of messages.slice(0, 20)) packager.push(message);
    const before = events.length;
    packager.close();
    packager.close();
    for (const message of messages.slice(20)) packager.push(message);
    packager.end();
    expect(events).toHaveLength(before);
    expect(packager.listenerCount('part')).toBe(0);
  });

  it('keeps identical segment boundaries in every rendition and muxes the audio into each', () => {
    const events = run(synthetic({ seconds: 4, videoTrackIds: [0, 1] }));
    const inits = events.flatMap((e) => (e.type === 'init' ? [e.init] : []));
    expect(inits.map((i) => i.rendition)).toEqual(['r0', 'r1']);
    const byRendition = (r: string) => parts(events).filter((p) => p.rendition === r);
    const summary = (r: string) => byRendition(r).map((p) => [p.msn, p.partIndex, p.durationUs, p.independent, p.programDateTimeMs]);
    expect(summary('r1')).toEqual(summary('r0'));
    for (const r of ['r0', 'r1']) {
      const audioCount = byRendition(r).reduce((n, p) => n + (readPart(p.data).runs.find((x) => x.trackId === 2)?.samples.length ?? 0), 0);
      expect(audioCount).toBe(200);
    }
  });

  it('describes each rendition for the multivariant playlist: codecs, size, frame rate, bandwidth', () => {
    const events = run(synthetic({ seconds: 1 }));
    const init = events.find((e) => e.type === 'init');
    expect(init?.type === 'init' && { ...init.init, data: undefined }).toEqual({
      rendition: 'r0',
      data: undefined,
      codecs: 'avc1.42001f,opus',
      width: 640,
      height: 360,
      frameRate: 30,
      bandwidth: 1_064_000,
    });
  });

  it('ignores a repeated identical track message after the stream started', () => {
    const messages = synthetic({ seconds: 1 });
    messages.splice(40, 0, videoTrack(0, 'r0'), opusTrack());
    expect(segments(run(messages))).toHaveLength(1);
  });
});

describe('StreamPackager segment grid from the clock message', () => {
  /** A publisher that keys frame 0, the end of the two-part first segment (frame 12) and every 2 s. */
  const onGrid = (i: number): boolean => i % 60 === 0 || i === 12;

  /** Each rendition's segments as [msn, start ms, end ms] on the stream's timeline. */
  function segmentsByRendition(messages: WireMessage[]): Map<string, [number, number, number][]> {
    const byRendition = new Map<string, [number, number, number][]>();
    for (const { segment } of run(messages).filter((e): e is Extract<Event, { type: 'segment' }> => e.type === 'segment')) {
      const startMs = segment.programDateTimeMs - WALL_CLOCK_MS;
      const list = byRendition.get(segment.rendition) ?? [];
      list.push([segment.msn, Math.round(startMs), Math.round(startMs + segment.durationUs / 1000)]);
      byRendition.set(segment.rendition, list);
    }
    return byRendition;
  }

  const ON_GRID: [number, number, number][] = [[0, 0, 400], [1, 400, 2000], [2, 2000, 4000], [3, 4000, 6000]];

  it('cuts a rung whose first frames never arrived on the grid of the other rung: same boundaries, same numbers', () => {
    // Rung r1's encoder dropped frames 0-2: its first output is frame 3, a keyframe 100 ms into the grid.
    const messages = synthetic({ seconds: 6, videoTrackIds: [0, 1], isKeyframe: onGrid, gridOriginUs: ORIGIN_US })
      .filter((m) => !(m.type === 'chunk' && m.trackId === 1 && m.timestampUs < frameTimeUs(3)))
      .map((m) => (m.type === 'chunk' && m.trackId === 1 && m.timestampUs === frameTimeUs(3) ? { ...m, keyframe: true } : m));
    const byRendition = segmentsByRendition(messages);
    expect(byRendition.get('r0')).toEqual(ON_GRID);
    expect(byRendition.get('r1')).toEqual([[0, 100, 400], ...ON_GRID.slice(1)]);
  });

  it('cuts a rung whose first chunk is a delta frame on the grid: it starts at its first keyframe, in that grid cell', () => {
    // Rung r1's first keyframe was lost: its frames before the keyframe at 0.4 s cannot be decoded and are skipped.
    const messages = synthetic({ seconds: 6, videoTrackIds: [0, 1], isKeyframe: onGrid, gridOriginUs: ORIGIN_US }).map((m) =>
      m.type === 'chunk' && m.trackId === 1 && m.timestampUs === frameTimeUs(0) ? { ...m, keyframe: false } : m,
    );
    const byRendition = segmentsByRendition(messages);
    expect(byRendition.get('r0')).toEqual(ON_GRID);
    expect(byRendition.get('r1')).toEqual(ON_GRID.slice(1));
  });

  it('counts the grid from each rendition\'s first keyframe when the clock carries no grid origin', () => {
    const messages = synthetic({ seconds: 6, videoTrackIds: [0, 1], isKeyframe: onGrid }).map((m) =>
      m.type === 'chunk' && m.trackId === 1 && m.timestampUs === frameTimeUs(0) ? { ...m, keyframe: false } : m,
    );
    const byRendition = segmentsByRendition(messages);
    expect(byRendition.get('r0')).toEqual(ON_GRID);
    // r1's grid starts at 0.4 s, where no keyframe of its next boundaries falls: it cuts at 4 s only.
    expect(byRendition.get('r1')).toEqual([[0, 400, 4000], [1, 4000, 6000]]);
  });

  it('counts from a grid origin after the clock origin, as a publisher whose audio starts first sends it', () => {
    // The clock is 50 ms before the first frame: boundaries fall at 0.45 s and 2.05 s of the timeline.
    const gridOriginUs = ORIGIN_US + 50_000;
    const messages = synthetic({ seconds: 4, isKeyframe: () => false, gridOriginUs }).map((m) => {
      if (m.type !== 'chunk' || m.trackId !== 0) return m;
      const frame = Math.round((m.timestampUs - ORIGIN_US) / FRAME_US);
      return { ...m, timestampUs: m.timestampUs + 50_000, keyframe: onGrid(frame) };
    });
    expect(segmentsByRendition(messages).get('r0')).toEqual([[0, 50, 450], [1, 450, 2050], [2, 2050, 4050]]);
  });
});

describe('StreamPackager chunks (parts streamed while produced)', () => {
  function chunked(messages: WireMessage[]): { log: string[]; chunks: PartChunk[]; events: Event[]; packager: StreamPackager } {
    const packager = newPackager();
    const events = record(packager);
    const chunks: PartChunk[] = [];
    const log: string[] = [];
    packager.on('chunk', (chunk) => {
      chunks.push(chunk);
      log.push(`c${chunk.msn}.${chunk.partIndex}.${chunk.chunkIndex}`);
    });
    packager.on('part', (part) => log.push(`p${part.msn}.${part.partIndex}`));
    for (const message of messages) packager.push(message);
    return { log, chunks, events, packager };
  }

  it('waits for the audio that plays with a frame, so each chunk carries the audio that starts during its frame', () => {
    const { chunks, events } = chunked(synthetic({ seconds: 4 }));
    for (const chunk of chunks) {
      const { runs } = readChunk(chunk.data);
      const video = runs.find((r) => r.trackId === 1)!;
      const audio = runs.find((r) => r.trackId === 2);
      const videoStart = video.baseMediaDecodeTime / VIDEO_TICKS_PER_S;
      const videoEnd = videoStart + video.samples[0]!.duration / VIDEO_TICKS_PER_S;
      if (!audio) continue;
      const audioStart = audio.baseMediaDecodeTime / 48_000;
      // Every audio packet in the chunk starts before the frame ends, and none is left over from earlier frames.
      expect(audioStart + (audio.samples.length - 1) * 0.02).toBeLessThan(videoEnd);
      expect(audioStart).toBeGreaterThanOrEqual(videoStart - 0.02 - 1e-9);
    }
    // So a segment's audio reaches its end: nothing of it is left for the next segment.
    const all = parts(events);
    const secondSegment = all.find((p) => p.msn === 1 && p.partIndex === 0)!;
    const audio = readPart(secondSegment.data).runs.find((r) => r.trackId === 2)!;
    expect(audio.baseMediaDecodeTime / 48_000).toBeGreaterThanOrEqual(2 - 1e-9);
  });

  it('stops waiting for audio that lags more than 200 ms behind the video', () => {
    const messages = synthetic({ seconds: 2 }).filter((m) => !(m.type === 'chunk' && m.trackId === 9));
    const packager = newPackager();
    const chunks: PartChunk[] = [];
    packager.on('chunk', (chunk) => chunks.push(chunk));
    let framesPushed = 0;
    for (const message of messages) {
      packager.push(message);
      if (message.type === 'chunk' && message.trackId === 0) framesPushed++;
    }
    // 60 frames in, no audio: all but the frames of the last 200 ms (and the one whose duration is unknown) are out.
    expect(framesPushed).toBe(60);
    expect(chunks.length).toBeGreaterThanOrEqual(60 - 1 - 7);
    expect(chunks.length).toBeLessThanOrEqual(60 - 1 - 5);
  });

  it('emits each video frame as a chunk as soon as the next frame arrives, one frame of delay (no audio to wait for)', () => {
    const messages = synthetic({ seconds: 1, audio: false });
    const packager = newPackager();
    const chunks: PartChunk[] = [];
    packager.on('chunk', (chunk) => chunks.push(chunk));
    let framesPushed = 0;
    for (const message of messages) {
      packager.push(message);
      if (message.type !== 'chunk' || message.trackId !== 0) continue;
      framesPushed++;
      // Frame n's duration is known once frame n + 1 is in: n chunks out after n + 1 frames.
      expect(chunks).toHaveLength(framesPushed - 1);
      const last = chunks.at(-1);
      if (last) expect(readChunk(last.data).runs.find((r) => r.trackId === 1)?.samples).toHaveLength(1);
    }
  });

  it('makes every part exactly the concatenation of its chunks, emitted after them, chunk 0 carrying independent', () => {
    const { log, chunks, events } = chunked(synthetic({ seconds: 4, isKeyframe: (i) => i % 60 === 0 || i === 30 }));
    const all = parts(events);
    expect(all).toHaveLength(19);
    for (const part of all) {
      const own = chunks.filter((c) => c.msn === part.msn && c.partIndex === part.partIndex);
      expect(own.map((c) => c.chunkIndex)).toEqual([0, 1, 2, 3, 4, 5]);
      expect(own[0]?.independent).toBe(part.independent);
      expect(Buffer.compare(Buffer.concat(own.map((c) => c.data)), part.data)).toBe(0);
      // The part event comes right after its last chunk.
      expect(log.indexOf(`p${part.msn}.${part.partIndex}`)).toBe(log.indexOf(`c${part.msn}.${part.partIndex}.5`) + 1);
    }
    expect(all.filter((p) => p.independent).map((p) => `${p.msn}.${p.partIndex}`)).toEqual(['0.0', '0.5', '1.0']);
  });

  it('gives each chunk the audio received up to its frame\'s end', () => {
    const { chunks } = chunked(synthetic({ seconds: 1 }));
    // Audio packets end 20 ms apart; a packet is complete once the next one arrives, so it rides in the chunk of the frame it starts in or the next.
    for (const chunk of chunks.slice(0, 20)) {
      const runs = readChunk(chunk.data).runs;
      const video = runs.find((r) => r.trackId === 1)!;
      const audio = runs.find((r) => r.trackId === 2);
      if (!audio) continue;
      const frameEndS = (video.baseMediaDecodeTime + video.samples[0]!.duration) / VIDEO_TICKS_PER_S;
      expect(audio.baseMediaDecodeTime / 48_000).toBeLessThan(frameEndS);
    }
    const audioTotal = chunks.reduce((n, c) => n + (readChunk(c.data).runs.find((r) => r.trackId === 2)?.samples.length ?? 0), 0);
    expect(audioTotal).toBeGreaterThan(40);
  });

  it('covers a video pause longer than a part target with GAP parts of at most the part target and no bytes', () => {
    // Frames 20..44 (about 0.83 s) never arrive.
    const messages = synthetic({ seconds: 4 }).filter((m) => !(m.type === 'chunk' && m.trackId === 0 && m.timestampUs >= frameTimeUs(20) && m.timestampUs < frameTimeUs(45)));
    const events = run(messages);
    const all = parts(events);
    const gaps = all.filter((p) => p.gap);
    expect(gaps.length).toBeGreaterThanOrEqual(4);
    for (const gap of gaps) {
      expect(gap.data.byteLength).toBe(0);
      expect(gap.independent).toBe(false);
    }
    for (const part of all) expect(part.durationUs).toBeLessThanOrEqual(PART_TARGET_US);
    // The timeline stays whole: parts follow each other and sum to their segment.
    const segs = segments(events);
    for (const seg of segs) {
      const own = all.filter((p) => p.msn === seg.msn);
      expect(own.map((p) => p.partIndex)).toEqual(own.map((_, i) => i));
      expect(Math.abs(own.reduce((sum, p) => sum + p.durationUs, 0) - seg.durationUs)).toBeLessThanOrEqual(own.length);
    }
    expect(segs.map((s) => Math.round(s.durationUs / 1000))).toEqual([2000, 2000]);
    const afterGap = all[all.indexOf(gaps.at(-1)!) + 1]!;
    expect(afterGap.programDateTimeMs).toBeCloseTo(WALL_CLOCK_MS + (frameTimeUs(45) - ORIGIN_US) / 1000, 0);
  });

  it('keeps every part within the part target when single frames are missing (jitter, encoder drops)', () => {
    // Every 7th frame is lost: the part that should have ended on it would otherwise run a frame past the target.
    const messages = synthetic({ seconds: 6 }).filter((m) => !(m.type === 'chunk' && m.trackId === 0 && m.timestampUs % 7 === 3));
    const dropped = synthetic({ seconds: 6 }).length - messages.length;
    expect(dropped).toBeGreaterThan(10);
    const events = run(messages);
    const all = parts(events);
    for (const part of all) expect(part.durationUs).toBeLessThanOrEqual(PART_TARGET_US);
    const segs = segments(events);
    expect(segs.length).toBe(3);
    for (const seg of segs) {
      const own = all.filter((p) => p.msn === seg.msn);
      // Parts tile the segment: a shortened frame's remainder belongs to the next part.
      expect(Math.abs(own.reduce((sum, p) => sum + p.durationUs, 0) - seg.durationUs)).toBeLessThanOrEqual(own.length);
      for (let i = 1; i < own.length; i++) {
        expect(own[i]!.programDateTimeMs).toBeCloseTo(own[i - 1]!.programDateTimeMs + own[i - 1]!.durationUs / 1000, 0);
      }
    }
  });
});

describe('StreamPackager: a rung that pauses while the others go on', () => {
  // Three rungs with a short first segment (a keyframe at 0.4 s) and keyframes every 2 s; rung r0 (the top one, as the
  // publisher would drop it) gets no video from 3 s to 7 s, resumes with frames that are not keyframes (dropped), then
  // with a keyframe at 7.5 s.
  const PAUSE_START_US = ORIGIN_US + 3_000_000;
  const PAUSE_END_US = ORIGIN_US + 7_000_000;
  const RESUME_FRAME = 225;
  function pausedLadder(): Event[] {
    const messages = synthetic({ seconds: 10, videoTrackIds: [0, 1, 2], gridOriginUs: ORIGIN_US, isKeyframe: (i) => i % 60 === 0 || i === 12 || i === RESUME_FRAME }).filter(
      (m) => !(m.type === 'chunk' && m.trackId === 0 && m.timestampUs >= PAUSE_START_US && m.timestampUs < PAUSE_END_US),
    );
    return run(messages);
  }
  const of = (events: Event[], rendition: string): Event[] =>
    events.filter((e) => (e.type === 'part' && e.part.rendition === rendition) || (e.type === 'segment' && e.segment.rendition === rendition));
  const startUs = (part: Part): number => (part.programDateTimeMs - WALL_CLOCK_MS) * 1000;

  it('keeps the paused rung\'s segments in step with the others: same numbers, same boundaries, parts within the target', () => {
    const events = pausedLadder();
    const [r0, r1, r2] = ['r0', 'r1', 'r2'].map((r) => segments(of(events, r)));
    expect(r0!.map((s) => s.msn)).toEqual([0, 1, 2, 3, 4, 5]);
    for (const other of [r1!, r2!]) {
      expect(other.map((s) => s.msn)).toEqual(r0!.map((s) => s.msn));
      other.forEach((seg, i) => {
        expect(Math.abs(seg.durationUs - r0![i]!.durationUs)).toBeLessThanOrEqual(1);
        expect(seg.programDateTimeMs).toBeCloseTo(r0![i]!.programDateTimeMs, 0);
      });
    }
    const all = parts(of(events, 'r0'));
    for (const part of all) expect(part.durationUs).toBeLessThanOrEqual(PART_TARGET_US);
    for (const seg of r0!) {
      const own = all.filter((p) => p.msn === seg.msn);
      expect(own.map((p) => p.partIndex)).toEqual(own.map((_, i) => i));
      expect(Math.abs(own.reduce((sum, p) => sum + p.durationUs, 0) - seg.durationUs)).toBeLessThanOrEqual(own.length);
    }
    // GAP parts exactly where no video was (from the end of the last frame before the pause to the resuming keyframe).
    const gaps = all.filter((p) => p.gap);
    expect(Math.round(startUs(gaps[0]!))).toBe(frameTimeUs(90) - ORIGIN_US);
    expect(all.filter((p) => p.msn === 3).every((p) => p.gap)).toBe(true);
    const resumed = all[all.indexOf(gaps.at(-1)!) + 1]!;
    expect(resumed).toMatchObject({ msn: 4, independent: true });
    expect(resumed.gap).toBeUndefined();
    expect(Math.round(startUs(resumed))).toBe(frameTimeUs(RESUME_FRAME) - ORIGIN_US);
    expect(readPart(resumed.data).runs.find((r) => r.trackId === 1)?.baseMediaDecodeTime).toBe(frameTimeUs(RESUME_FRAME) - ORIGIN_US);
    for (const gap of gaps) expect(gap.data.byteLength).toBe(0);
  });

  it('keeps the paused rung\'s playlist live: it reaches as far as the others within the pause threshold, part by part', () => {
    const events = pausedLadder();
    let r0EndUs = 0;
    let r1EndUs = 0;
    let worstLagUs = 0;
    for (const event of events) {
      if (event.type !== 'part') continue;
      const endUs = startUs(event.part) + event.part.durationUs;
      if (event.part.rendition === 'r0') r0EndUs = Math.max(r0EndUs, endUs);
      if (event.part.rendition === 'r1') {
        r1EndUs = endUs;
        continue;
      }
      // Measured when the next r1 part is due: before r1 moves on, r0 has caught up with it.
      if (event.part.rendition === 'r2') worstLagUs = Math.max(worstLagUs, r1EndUs - r0EndUs);
    }
    expect(worstLagUs).toBeLessThanOrEqual(3 * PART_TARGET_US + PART_TARGET_US);
    expect(r0EndUs).toBeGreaterThanOrEqual(9_900_000);
  });
});

describe('StreamPackager errors', () => {
  const clock: WireMessage = { type: 'clock', timestampUs: ORIGIN_US, wallClockMs: WALL_CLOCK_MS };

  it('no-clock: a chunk before any clock message', () => {
    expectPackagerError([videoTrack(), videoChunk(0, 0, true)], 'no-clock');
  });
  it('no-video: the first chunk arrives with only an audio track', () => {
    expectPackagerError([clock, opusTrack(), audioChunk(9, 0)], 'no-video');
  });
  it('track-change: a different configuration after the first chunk', () => {
    expectPackagerError([clock, videoTrack(), videoChunk(0, 0, true), videoTrack(0, '360p', { width: 1280 })], 'track-change');
  });
  it('track-change: a new track after the first chunk', () => {
    expectPackagerError([clock, videoTrack(), videoChunk(0, 0, true), opusTrack()], 'track-change');
  });
  it('unknown-track: a chunk for a track never configured', () => {
    expectPackagerError([clock, videoTrack(), videoChunk(3, 0, true)], 'unknown-track');
  });
  it('timestamp-before-origin: a chunk earlier than the clock reference', () => {
    expectPackagerError([clock, videoTrack(), { ...videoChunk(0, 0, true), timestampUs: ORIGIN_US - 1 }], 'timestamp-before-origin');
  });
  it('invalid-grid-origin: a segment grid origin before the clock origin', () => {
    expectPackagerError([{ ...clock, gridOriginUs: ORIGIN_US - 1 }], 'invalid-grid-origin');
    expectPackagerError([{ ...clock, gridOriginUs: Number.NaN }], 'invalid-grid-origin');
  });
  it('timestamp-before-origin: video earlier than the segment grid origin (audio may be)', () => {
    const gridClock: WireMessage = { ...clock, gridOriginUs: frameTimeUs(3) };
    expectPackagerError([gridClock, videoTrack(), videoChunk(0, 2, true)], 'timestamp-before-origin');
    const packager = newPackager();
    for (const message of [gridClock, videoTrack(), opusTrack(), audioChunk(9, 0), videoChunk(0, 3, true)]) packager.push(message);
  });
  it('timestamp-regression: a chunk earlier than the previous chunk of its track', () => {
    expectPackagerError([clock, videoTrack(), videoChunk(0, 5, true), videoChunk(0, 4, false)], 'timestamp-regression');
  });
  it('unsupported-codec: video that is neither H.264, H.265, VP9 nor AV1, a malformed VP9 string, audio that is neither Opus nor AAC-LC', () => {
    expectPackagerError([videoTrack(0, '360p', { codec: 'vvc1.1.L51.CQA' })], 'unsupported-codec');
    expectPackagerError([videoTrack(0, '360p', { codec: 'vp09.00.99.08', description: undefined })], 'unsupported-codec');
    expectPackagerError([{ ...opusTrack(), codec: 'mp4a.40.5' } as TrackConfigMessage], 'unsupported-codec');
  });
  it('missing-description / invalid-description: H.265 without an hvcC record (an avcC is not one)', () => {
    expectPackagerError([videoTrack(0, '360p', { codec: 'hvc1.1.6.L93.B0', description: undefined })], 'missing-description');
    expectPackagerError([videoTrack(0, '360p', { codec: 'hvc1.1.6.L93.B0' })], 'invalid-description');
  });
  it('missing-description / invalid-description: H.264 without an avcC record', () => {
    expectPackagerError([videoTrack(0, '360p', { description: undefined })], 'missing-description');
    expectPackagerError([videoTrack(0, '360p', { description: Uint8Array.of(0, 0, 0, 1, 0x67, 0, 0) })], 'invalid-description');
  });
  it('too-many-audio-tracks and duplicate-rendition', () => {
    expectPackagerError([opusTrack(8), opusTrack(9)], 'too-many-audio-tracks');
    expectPackagerError([videoTrack(0, 'a'), videoTrack(1, 'a')], 'duplicate-rendition');
  });
});
